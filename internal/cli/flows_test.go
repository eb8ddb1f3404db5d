package cli_test

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// flowSummary mirrors the JSON summary of "sovmap flows --json" (docs/flows.md),
// written out here so that a renamed field fails.
type flowSummary struct {
	Start   string   `json:"start"`
	Local   []string `json:"local"`
	ShareOf string   `json:"share_of"`
	Remote  counters `json:"remote"`
	Unattr  counters `json:"unattributed"`
	Share   float64  `json:"unattributed_share"`
	Remotes int      `json:"remotes"`
	Intern  counters `json:"internal"`
	Transit counters `json:"transit"`
	Groups  []struct {
		By    string    `json:"by"`
		Count int       `json:"count"`
		Rows  []flowRow `json:"rows"`
		Other *flowRow  `json:"other"`
	} `json:"groups"`
	Input struct {
		Lines   int64 `json:"lines"`
		Records int64 `json:"records"`
		Skipped int64 `json:"skipped"`
		Ignored int64 `json:"ignored"`
		Files   []struct {
			Name   string `json:"name"`
			Format string `json:"format"`
		} `json:"files"`
		Skips []struct {
			Reason string `json:"reason"`
			Count  int64  `json:"count"`
			First  []struct {
				File   string `json:"file"`
				Line   int64  `json:"line"`
				Detail string `json:"detail"`
			} `json:"first"`
		} `json:"skips"`
	} `json:"input"`
}

type counters struct {
	Bytes      uint64 `json:"bytes"`
	BytesOut   uint64 `json:"bytes_out"`
	BytesIn    uint64 `json:"bytes_in"`
	Packets    uint64 `json:"packets"`
	PacketsOut uint64 `json:"packets_out"`
	PacketsIn  uint64 `json:"packets_in"`
	Flows      uint64 `json:"flows"`
	FlowsOut   uint64 `json:"flows_out"`
	FlowsIn    uint64 `json:"flows_in"`
}

type flowRow struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Control  string `json:"control"`
	Provider string `json:"provider"`
	Location string `json:"location"`
	ASN      uint32 `json:"asn"`
	counters
	Remotes int     `json:"remotes"`
	Share   float64 `json:"share"`
}

func (s *flowSummary) group(by string) map[string]flowRow {
	for _, g := range s.Groups {
		if g.By == by {
			m := map[string]flowRow{}
			for _, r := range g.Rows {
				m[r.Key] = r
			}
			return m
		}
	}
	return nil
}

func decodeSummary(t *testing.T, out string) flowSummary {
	t.Helper()
	var s flowSummary
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("summary: %v\n%s", err, clip(out))
	}
	if dec.More() {
		t.Fatalf("--json wrote more than one object:\n%s", clip(out))
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, clip(out))
	}
	return s
}

// connLog is a conn.log written here: Alibaba Cloud (47.88.1.1, control
// CN), CloudFront (13.32.0.1, control US), an address no route knows
// (3fff::1), internal and transit traffic.
const connLog = flowtest.ConnLogHeader +
	"1780000000.000000\tC1\t10.0.0.5\t40000\t47.88.1.1\t443\ttcp\tssl\t1.0\t900\t4800\tSF\tT\tF\t0\tS\t10\t1000\t12\t5000\t-\n" +
	"1780000001.000000\tC2\t47.88.1.1\t51000\t10.0.0.9\t22\ttcp\tssh\t1.0\t100\t200\tSF\tT\tF\t0\tS\t3\t300\t4\t400\t-\n" +
	"1780000002.000000\tC3\t192.168.1.9\t5353\t13.32.0.1\t53\tudp\tdns\t0.1\t50\t100\tSF\tT\tF\t0\tD\t1\t100\t1\t200\t-\n" +
	"1780000003.000000\tC4\tfd00::5\t40002\t3fff::1\t443\ttcp\t-\t0.1\t0\t0\tS0\tT\tF\t0\tS\t1\t60\t0\t0\t-\n" +
	"1780000004.000000\tC5\t10.0.0.5\t1\t10.0.0.6\t22\ttcp\tssh\t0.1\t1\t1\tSF\tT\tT\t0\tS\t1\t70\t1\t70\t-\n" +
	"1780000005.000000\tC6\t8.8.8.8\t53\t1.1.1.1\t53\tudp\tdns\t0.1\t1\t1\tSF\tF\tF\t0\tD\t1\t80\t1\t80\t-\n"

// TestFlowsFormats reads the same connections in every format, gzipped
// and plain, from files and from standard input.
func TestFlowsFormats(t *testing.T) {
	t.Parallel()
	inputs := map[string]string{
		"zeek-json": `{"ts":1780000000,"id.orig_h":"10.0.0.5","id.orig_p":40000,"id.resp_h":"47.88.1.1","id.resp_p":443,"proto":"tcp","orig_pkts":10,"orig_ip_bytes":1000,"resp_pkts":12,"resp_ip_bytes":5000}` + "\n",
		"vpc": "version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
			"2 10.0.0.5 47.88.1.1 40000 443 6 10 1000 1780000000 1780000001 ACCEPT OK\n" +
			"2 47.88.1.1 10.0.0.5 443 40000 6 12 5000 1780000000 1780000001 ACCEPT OK\n",
		"nfdump": "ts,te,td,sa,da,sp,dp,pr,ipkt,ibyt,opkt,obyt\n2026-06-01 12:00:00,2026-06-01 12:00:01,1.0,10.0.0.5,47.88.1.1,40000,443,TCP,10,1000,12,5000\n",
		"argus":  "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes,SrcBytes,SrcPkts\n2026/06/01 12:00:00.000000,1.0,tcp,10.0.0.5,40000,   ->,47.88.1.1,443,CON,22,6000,1000,10\n",
	}
	for format, text := range inputs {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			plain := writeFile(t, "log", text)
			packed := filepath.Join(t.TempDir(), "log.gz")
			f, _ := os.Create(packed)
			zw := gzip.NewWriter(f)
			zw.Write([]byte(text))
			zw.Close()
			f.Close()
			res := run(t, text, "flows", "--json", "--by", "control", plain, packed, "-")
			if res.code != 0 {
				t.Fatalf("sovmap flows: %s", res)
			}
			s := decodeSummary(t, res.stdout)
			type row struct{ Bytes, BytesOut, Packets uint64 }
			cn := s.group("control")["CN"]
			if diff := cmp.Diff(row{3 * 6000, 3 * 1000, 3 * 22}, row{cn.Bytes, cn.BytesOut, cn.Packets}); diff != "" {
				t.Errorf("sovmap flows: the CN row of three copies mismatch (-want +got):\n%s", diff)
			}
			for _, f := range s.Input.Files {
				if f.Format != format {
					t.Errorf("%s read as %q", f.Name, f.Format)
				}
			}
		})
	}
}

// TestFlowsRealLog reads a real Zeek conn.log of the shared data set.
func TestFlowsRealLog(t *testing.T) {
	t.Parallel()
	path := "../../../shared/data/stratosphere-slips-dataset/test18-malicious-ctu-sme-11-win/conn.log.labeled.gz"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared data not present: %v", err)
	}
	res := run(t, "", "flows", "--json", path)
	if res.code != 0 {
		t.Fatalf("sovmap flows: %s", res)
	}
	s := decodeSummary(t, res.stdout)
	if s.Input.Skipped != 0 || s.Input.Records == 0 || s.Remote.Flows == 0 || s.Remotes == 0 {
		t.Errorf("summary %+v", s)
	}
}

// TestFlowsLongLine puts a 3 MiB line in a conn.log: it is skipped as one
// line too long, and the lines after it are read.
func TestFlowsLongLine(t *testing.T) {
	t.Parallel()
	lines := strings.SplitAfter(connLog, "\n")
	text := strings.Join(lines[:10], "") + strings.Repeat("x", 3<<20) + "\n" + strings.Join(lines[10:], "")
	res := run(t, text, "flows", "--json", "-")
	if res.code != 1 {
		t.Fatalf("sovmap flows: %s, want exit 1", res)
	}
	s := decodeSummary(t, res.stdout)
	type skip struct {
		Reason string
		Count  int64
		File   string
		Line   int64
	}
	type input struct {
		Records, Skipped int64
		Skips            []skip
	}
	got := input{Records: s.Input.Records, Skipped: s.Input.Skipped}
	for _, r := range s.Input.Skips {
		for _, p := range r.First {
			got.Skips = append(got.Skips, skip{r.Reason, r.Count, p.File, p.Line})
		}
	}
	want := input{Records: 6, Skipped: 1, Skips: []skip{{"line too long", 1, "stdin", 11}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sovmap flows with a line of 3 MiB: input mismatch (-want +got):\n%s", diff)
	}
}

// TestFlowsMaxRemotes reads a log of 5,000 remotes with a bound of 200,
// in one piece and in parts: the totals and the groups but remote-ip are
// those of the unbounded run, and the output says what was folded.
func TestFlowsMaxRemotes(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "conn.log", string(flowtest.ConnLog(20000, flowtest.RemoteAddrs(5000, 3), 7, false)))
	full := run(t, "", "flows", "--json", "--by", "control,provider,asn", "--top", "0", "--max-remotes", "0", path)
	if full.code != 0 {
		t.Fatalf("unbounded: %s", full)
	}
	want := decodeSummary(t, full.stdout)
	for _, parallel := range []string{"1", "3"} {
		res := run(t, "", "flows", "--json", "--by", "control,provider,asn", "--top", "0", "--max-remotes", "200", "--parallel", parallel, path)
		if res.code != 0 {
			t.Fatalf("--max-remotes 200 --parallel %s: %s", parallel, res)
		}
		got := decodeSummary(t, res.stdout)
		if got.Remote != want.Remote || got.Unattr != want.Unattr {
			t.Errorf("--parallel %s: remote %+v unattributed %+v, want %+v and %+v", parallel, got.Remote, got.Unattr, want.Remote, want.Unattr)
		}
		for _, by := range []string{"control", "provider", "asn"} {
			w, g := want.group(by), got.group(by)
			if len(w) != len(g) {
				t.Errorf("--parallel %s: by %s has %d rows, want %d", parallel, by, len(g), len(w))
			}
			for k, wr := range w {
				if gr := g[k]; gr.counters != wr.counters {
					t.Errorf("--parallel %s: by %s %q: %+v, want %+v", parallel, by, k, gr.counters, wr.counters)
				}
			}
		}
		var folded struct {
			Folded struct {
				Remotes    int `json:"remotes"`
				MaxRemotes int `json:"max_remotes"`
			} `json:"folded"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &folded); err != nil || folded.Folded.Remotes == 0 || folded.Folded.MaxRemotes != 200 {
			t.Errorf("--parallel %s: folded %+v (%v)", parallel, folded.Folded, err)
		}
	}
	text := run(t, "", "flows", "--max-remotes", "200", path)
	if !strings.Contains(text.stdout, "folded into their groups past --max-remotes 200") {
		t.Errorf("the text output does not say what was folded:\n%s", clip(text.stdout))
	}
	if strings.Contains(full.stdout, `"folded"`) {
		t.Errorf("an unbounded run says something was folded")
	}
	if res := run(t, "", "flows", "--max-remotes", "-1", path); res.code != 2 {
		t.Errorf("--max-remotes -1: %s", res)
	}
}
