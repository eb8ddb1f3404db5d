package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/cli"
)

// result is what one run of sovmap gave.
type result struct {
	code           int
	stdout, stderr string
}

// run runs sovmap in process with the real embedded snapshot and catalog.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, clip(r.stdout), clip(r.stderr))
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// lines splits output into lines, without the final newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// record mirrors the JSON contract of DESIGN §6. It is written out here,
// not taken from package attribution, so that a renamed field fails.
type record struct {
	IP       string `json:"ip"`
	Prefix   string `json:"prefix"`
	ASN      uint32 `json:"asn"`
	ASName   string `json:"as_name"`
	Provider *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"provider"`
	Operator *ref `json:"operator"`
	Parent   *ref `json:"parent"`
	Control  *struct {
		Country string `json:"country"`
		Basis   string `json:"basis"`
	} `json:"control"`
	Registration *struct {
		Country string `json:"country"`
		Source  string `json:"source"`
	} `json:"registration"`
	Location *struct {
		Country string `json:"country"`
		Region  string `json:"region"`
		Source  string `json:"source"`
	} `json:"location"`
	Evidence []struct {
		Method string `json:"method"`
		Detail string `json:"detail"`
		Source string `json:"source"`
	} `json:"evidence"`
	Confidence string `json:"confidence"`

	// Error records.
	Input string `json:"input"`
	Error string `json:"error"`
	Line  int    `json:"line"`
}

type ref struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Country string `json:"country"`
}

func decode(t *testing.T, line string) record {
	t.Helper()
	var r record
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", clip(line), err)
	}
	return r
}

// topKeys returns the keys of a JSON object in the order they appear.
func topKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not a JSON object (%v, %v)", clip(line), tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", clip(line), err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%s: %v", clip(line), err)
		}
	}
	return keys
}

func TestIPJSON(t *testing.T) {
	t.Parallel()
	res := run(t, "", "ip", "--json", "47.88.1.1")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("sovmap ip --json 47.88.1.1: %s", res)
	}
	ls := lines(res.stdout)
	if len(ls) != 1 || !strings.HasSuffix(res.stdout, "}\n") {
		t.Fatalf("sovmap ip --json 47.88.1.1 gave %d lines, want exactly one:\n%s", len(ls), res.stdout)
	}
	want := []string{"ip", "prefix", "asn", "as_name", "provider", "operator", "parent", "control", "registration", "location", "evidence", "confidence"}
	if got := topKeys(t, ls[0]); !slices.Equal(got, want) {
		t.Errorf("sovmap ip --json 47.88.1.1 keys = %q, want %q", got, want)
	}
	r := decode(t, ls[0])
	checks := []struct {
		what      string
		got, want any
	}{
		{"ip", r.IP, "47.88.1.1"},
		{"asn", r.ASN, uint32(45102)},
		{"provider.id", r.Provider.ID, "alibaba-cloud"},
		{"provider.kind", r.Provider.Kind, "cloud"},
		{"operator.id", r.Operator.ID, "alibaba-us"},
		{"operator.country", r.Operator.Country, "US"},
		{"parent.id", r.Parent.ID, "alibaba-group"},
		{"parent.country", r.Parent.Country, "CN"},
		{"control.country", r.Control.Country, "CN"},
		{"registration.country", r.Registration.Country, "US"},
		{"evidence[0].method", r.Evidence[0].Method, "asn"},
		{"confidence", r.Confidence, "high"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("sovmap ip --json 47.88.1.1: %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if !strings.Contains(r.ASName, "Alibaba") {
		t.Errorf("as_name = %q, want Alibaba's", r.ASName)
	}
	if !strings.HasPrefix(r.Prefix, "47.8") || !strings.Contains(r.Prefix, "/") {
		t.Errorf("prefix = %q, want a 47.88.x.x prefix", r.Prefix)
	}
	if r.Location == nil || len(r.Location.Country) != 2 || r.Location.Source == "" {
		t.Errorf("location = %+v, want a country and a source", r.Location)
	}
	if !strings.Contains(r.Control.Basis, "Alibaba Group") {
		t.Errorf("control.basis = %q, want the ultimate parent named", r.Control.Basis)
	}
	if !strings.Contains(r.Evidence[0].Detail, "AS45102") || r.Evidence[0].Source == "" {
		t.Errorf("evidence[0] = %+v, want AS45102 and a source", r.Evidence[0])
	}
}

// TestIPJSONUnknown checks an address no catalog entry claims: no provider
// or control, but registration and location.
func TestIPJSONUnknown(t *testing.T) {
	t.Parallel()
	res := run(t, "", "ip", "--json", "1.1.1.1", "192.0.2.1")
	ls := lines(res.stdout)
	if res.code != 0 || len(ls) != 2 {
		t.Fatalf("sovmap ip --json 1.1.1.1 192.0.2.1: %s", res)
	}
	r := decode(t, ls[0])
	if r.ASN != 13335 || r.Registration == nil || r.Location == nil {
		t.Errorf("1.1.1.1 = %s, want AS13335 with registration and location", ls[0])
	}
	// 192.0.2.0/24 is documentation space: nothing is known.
	if got, want := ls[1], `{"ip":"192.0.2.1","confidence":"none"}`; got != want {
		t.Errorf("192.0.2.1 = %s, want %s", got, want)
	}
}

// streamInput is a stdin of every kind of line, with the record each
// non-skipped line must give ("ip:X" for an address record with ip X,
// "error:N" for an error record of line N).
func streamInput() (string, []string) {
	long := strings.Repeat("9", 100*1024)
	in := []struct{ line, want string }{
		{"47.88.1.1", "ip:47.88.1.1"},
		{"", ""},
		{"   ", ""},
		{"# a comment", ""},
		{"  # an indented comment", ""},
		{"2a00:1450:4001::1", "ip:2a00:1450:4001::1"},
		{"1.2.3.4:443", "ip:1.2.3.4"},
		{"[2001:db8::1]:53", "ip:2001:db8::1"},
		{"[2001:db8::2]", "ip:2001:db8::2"},
		{"not an address", "error"},
		{long, "error"},
		{"  8.8.8.8  ", "ip:8.8.8.8"},
		{"8.8.4.4\r", "ip:8.8.4.4"},
		{"::ffff:47.88.1.1", "ip:47.88.1.1"},
		{"10.0.0.0/8", "error"},
		{"fe80::1%eth0", "error"},
		{"01.2.3.4", "error"},
		{"256.1.1.1", "error"},
		{"1.2.3", "error"},
		{"\xff\xfe", "error"},
		{"<script>", "error"},
		{"1.1.1.1", "ip:1.1.1.1"}, // last line, no newline
	}
	var b strings.Builder
	var want []string
	for i, l := range in {
		b.WriteString(l.line)
		if i < len(in)-1 {
			b.WriteByte('\n')
		}
		switch l.want {
		case "":
		case "error":
			want = append(want, fmt.Sprintf("error:%d", i+1))
		default:
			want = append(want, l.want)
		}
	}
	return b.String(), want
}

func TestIPStreamJSON(t *testing.T) {
	t.Parallel()
	stdin, want := streamInput()
	for _, args := range [][]string{{"ip", "--json"}, {"ip", "--json", "-"}, {"ip", "-", "--json"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			res := run(t, stdin, args...)
			if res.code != 1 {
				t.Errorf("sovmap %s: exit %d, want 1 (some inputs invalid)", strings.Join(args, " "), res.code)
			}
			if !strings.HasPrefix(res.stderr, "sovmap: ") || !strings.Contains(res.stderr, "were not IP addresses") {
				t.Errorf("stderr = %q, want a sovmap: line counting invalid inputs", res.stderr)
			}
			ls := lines(res.stdout)
			var got []string
			for _, l := range ls {
				r := decode(t, l)
				switch {
				case r.Error != "":
					got = append(got, fmt.Sprintf("error:%d", r.Line))
					if r.IP != "" || r.Input == "" {
						t.Errorf("error record %s, want input and error only", clip(l))
					}
					if keys := topKeys(t, l); !slices.Equal(keys, []string{"input", "error", "line"}) {
						t.Errorf("error record keys = %q, want input, error, line", keys)
					}
				default:
					got = append(got, "ip:"+r.IP)
					if r.Confidence == "" {
						t.Errorf("record %s has no confidence", clip(l))
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("sovmap %s: records\n%q\nwant\n%q", strings.Join(args, " "), got, want)
			}
			// The 100 KB line is echoed whole in its error record.
			for _, l := range ls {
				if r := decode(t, l); r.Line == 11 && len(r.Input) != 100*1024 {
					t.Errorf("error record of line 11 has input of %d bytes, want %d", len(r.Input), 100*1024)
				}
			}
			// Invalid UTF-8 and HTML are escaped, never passed through raw.
			for _, l := range ls {
				if strings.Contains(l, "<script>") || strings.Contains(l, "\xff") {
					t.Errorf("record not escaped: %s", l)
				}
			}
		})
	}
}

func TestIPStreamCounts(t *testing.T) {
	t.Parallel()
	stdin, want := streamInput()
	invalid := 0
	for _, w := range want {
		if strings.HasPrefix(w, "error:") {
			invalid++
		}
	}
	res := run(t, stdin, "ip", "--json")
	if msg := fmt.Sprintf("sovmap: ip: %d of %d inputs were not IP addresses\n", invalid, len(want)); res.stderr != msg {
		t.Errorf("stderr = %q, want %q", res.stderr, msg)
	}
}

// TestIPStreamTooLong feeds a line longer than the read buffer: it gives one
// error record and the lines after it are still read.
func TestIPStreamTooLong(t *testing.T) {
	t.Parallel()
	stdin := "8.8.8.8\n" + strings.Repeat("x", 600*1024) + "\n1.1.1.1\n" + strings.Repeat("y", 300*1024)
	res := run(t, stdin, "ip", "--json")
	ls := lines(res.stdout)
	if res.code != 1 || len(ls) != 4 {
		t.Fatalf("sovmap ip --json with overlong lines: %s", res)
	}
	if r := decode(t, ls[1]); r.Line != 2 || !strings.Contains(r.Error, "too long") {
		t.Errorf("record 2 = %s, want a too-long error for line 2", ls[1])
	}
	if r := decode(t, ls[2]); r.IP != "1.1.1.1" {
		t.Errorf("record 3 = %s, want 1.1.1.1", ls[2])
	}
	if r := decode(t, ls[3]); r.Line != 4 || r.Error == "" {
		t.Errorf("record 4 = %s, want an error for line 4", ls[3])
	}
	for _, l := range ls {
		if len(l) > 1000 {
			t.Errorf("record of %d bytes: an overlong line must not be echoed", len(l))
		}
	}
	// Two of four inputs were not addresses.
	if want := "sovmap: ip: 2 of 4 inputs were not IP addresses\n"; res.stderr != want {
		t.Errorf("stderr = %q, want %q", res.stderr, want)
	}
}

func TestIPStreamValid(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "47.88.%d.%d\n", i/256, i%256)
		if i%100 == 0 {
			b.WriteString("# checkpoint\n\n")
		}
	}
	res := run(t, b.String(), "ip", "--json")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("sovmap ip --json on 1000 valid lines: %s", res)
	}
	ls := lines(res.stdout)
	if len(ls) != 1000 {
		t.Fatalf("sovmap ip --json on 1000 lines gave %d records", len(ls))
	}
	for i, l := range ls {
		if r := decode(t, l); r.IP != fmt.Sprintf("47.88.%d.%d", i/256, i%256) {
			t.Fatalf("record %d = %s, out of order", i, clip(l))
		}
	}
}

func TestIPStreamEmpty(t *testing.T) {
	t.Parallel()
	for _, stdin := range []string{"", "\n\n", "# only comments\n#\n"} {
		res := run(t, stdin, "ip", "--json")
		if res.code != 0 || res.stdout != "" || res.stderr != "" {
			t.Errorf("sovmap ip --json < %q: %s, want exit 0 and no output", stdin, res)
		}
	}
}

// TestIPArgsDoNotReadStdin checks that stdin is read only without
// addresses or with "-".
func TestIPArgsDoNotReadStdin(t *testing.T) {
	t.Parallel()
	res := run(t, "1.1.1.1\n", "ip", "--json", "8.8.8.8")
	ls := lines(res.stdout)
	if res.code != 0 || len(ls) != 1 || decode(t, ls[0]).IP != "8.8.8.8" {
		t.Errorf("sovmap ip --json 8.8.8.8 < 1.1.1.1: %s, want only 8.8.8.8", res)
	}
	res = run(t, "1.1.1.1\n", "ip", "--json", "8.8.8.8", "-")
	ls = lines(res.stdout)
	if res.code != 0 || len(ls) != 2 || decode(t, ls[0]).IP != "8.8.8.8" || decode(t, ls[1]).IP != "1.1.1.1" {
		t.Errorf("sovmap ip --json 8.8.8.8 - < 1.1.1.1: %s, want 8.8.8.8 then 1.1.1.1", res)
	}
}

// TestIPArgErrors checks error records for arguments: no line number.
func TestIPArgErrors(t *testing.T) {
	t.Parallel()
	res := run(t, "", "ip", "--json", "bogus", "8.8.8.8")
	ls := lines(res.stdout)
	if res.code != 1 || len(ls) != 2 {
		t.Fatalf("sovmap ip --json bogus 8.8.8.8: %s", res)
	}
	if got, want := ls[0], `{"input":"bogus","error":"not an IP address"}`; got != want {
		t.Errorf("record 1 = %s, want %s", got, want)
	}
	if want := "sovmap: ip: 1 of 2 inputs were not IP addresses\n"; res.stderr != want {
		t.Errorf("stderr = %q, want %q", res.stderr, want)
	}
}

func TestIPText(t *testing.T) {
	t.Parallel()
	stdin, want := streamInput()
	res := run(t, stdin, "ip")
	if res.code != 1 {
		t.Errorf("sovmap ip: exit %d, want 1", res.code)
	}
	blocks := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n\n")
	if len(blocks) != len(want) {
		t.Fatalf("sovmap ip gave %d blocks, want %d:\n%s", len(blocks), len(want), clip(res.stdout))
	}
	for i, b := range blocks {
		head, rest, _ := strings.Cut(b, "\n")
		if ip, ok := strings.CutPrefix(want[i], "ip:"); ok {
			if head != ip {
				t.Errorf("block %d starts %q, want %q", i, head, ip)
			}
			for _, k := range []string{"  provider ", "  control ", "  confidence "} {
				if !strings.Contains(rest, k) {
					t.Errorf("block %d (%s) lacks %q:\n%s", i, ip, k, b)
				}
			}
		} else {
			line := strings.TrimPrefix(want[i], "error:")
			if !strings.Contains(rest, "  error ") || !strings.Contains(rest, "(line "+line+")") {
				t.Errorf("block %d = %q, want an error for line %s", i, clip(b), line)
			}
		}
	}
	for _, b := range blocks {
		if strings.Contains(b, "\xff") || len(b) > 2000 {
			t.Errorf("text block not sanitised: %q", clip(b))
		}
	}
	first := blocks[0]
	for _, w := range []string{
		"47.88.1.1\n",
		"  provider      Alibaba Cloud (alibaba-cloud, cloud)\n",
		"  operator      Alibaba (US) Technology Co., Ltd. [US]\n",
		"  parent        Alibaba Group Holding Limited [CN]\n",
		"  control       CN: ultimate parent Alibaba Group Holding Limited",
		"  registration  US (rir)\n",
		"  confidence    high\n",
		"  evidence      asn: origin AS45102 listed for alibaba-cloud",
	} {
		if !strings.Contains(first, w) {
			t.Errorf("block for 47.88.1.1 lacks %q:\n%s", w, first)
		}
	}
}

func TestIPBrief(t *testing.T) {
	t.Parallel()
	stdin, want := streamInput()
	res := run(t, stdin, "ip", "--brief")
	if res.code != 1 {
		t.Errorf("sovmap ip --brief: exit %d, want 1", res.code)
	}
	ls := lines(res.stdout)
	if len(ls) != len(want) {
		t.Fatalf("sovmap ip --brief gave %d lines, want %d:\n%s", len(ls), len(want), clip(res.stdout))
	}
	for i, l := range ls {
		f := strings.Split(l, "\t")
		if ip, ok := strings.CutPrefix(want[i], "ip:"); ok {
			if len(f) != 7 || f[0] != ip {
				t.Errorf("line %d = %q, want 7 fields for %s", i, l, ip)
			}
			continue
		}
		if len(f) != 2 || !strings.HasPrefix(f[1], "error: ") {
			t.Errorf("line %d = %q, want input<TAB>error: …", i, clip(l))
		}
	}
	if got, want := ls[0], "47.88.1.1\talibaba-cloud\tCN\tUS\t"; !strings.HasPrefix(got, want) {
		t.Errorf("first line = %q, want prefix %q", got, want)
	}
	if f := strings.Split(ls[0], "\t"); len(f) == 7 && (f[5] != "AS45102" || !strings.Contains(f[6], "Alibaba")) {
		t.Errorf("first line = %q, want AS45102 and its name", ls[0])
	}
}

func TestIPBriefUnknown(t *testing.T) {
	t.Parallel()
	res := run(t, "", "ip", "--brief", "192.0.2.1")
	if got, want := res.stdout, "192.0.2.1\t-\t-\t-\t-\t-\t-\n"; res.code != 0 || got != want {
		t.Errorf("sovmap ip --brief 192.0.2.1 = %q (exit %d), want %q", got, res.code, want)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string // in the sovmap: line
	}{
		{[]string{"ip", "--nope", "1.1.1.1"}, "flag provided but not defined"},
		{[]string{"ip", "--json", "--brief", "1.1.1.1"}, "--json and --brief exclude each other"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"data"}, "want a subcommand"},
		{[]string{"data", "nope"}, `unknown subcommand "nope"`},
		{[]string{"data", "info", "extra"}, "takes no arguments"},
		{[]string{"catalog"}, "want a subcommand"},
		{[]string{"catalog", "list", "--kind", "isp"}, `unknown kind "isp"`},
		{[]string{"catalog", "show"}, "one ID"},
		{[]string{"catalog", "show", "nonexistent"}, `"nonexistent"`},
		{[]string{"help", "nope"}, `unknown command "nope"`},
	}
	for _, test := range tests {
		name := strings.Join(test.args, " ")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := run(t, "1.1.1.1\n", test.args...)
			if res.code != 2 {
				t.Errorf("sovmap %s: exit %d, want 2\n%s", name, res.code, res)
			}
			if res.stdout != "" {
				t.Errorf("sovmap %s: stdout = %q, want nothing", name, res.stdout)
			}
			first, _, _ := strings.Cut(res.stderr, "\n")
			if !strings.HasPrefix(first, "sovmap: ") || !strings.Contains(first, test.want) {
				t.Errorf("sovmap %s: stderr = %q, want a sovmap: line with %q", name, res.stderr, test.want)
			}
			if name != "help nope" && !strings.Contains(res.stderr, "\nhint: ") {
				t.Errorf("sovmap %s: stderr = %q, want a hint: line", name, res.stderr)
			}
		})
	}
}

func TestNoArguments(t *testing.T) {
	t.Parallel()
	res := run(t, "")
	if res.code != 2 || res.stdout != "" || !strings.Contains(res.stderr, "Usage:") {
		t.Errorf("sovmap with no arguments: %s, want exit 2 and usage on stderr", res)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Commands:"},
		{[]string{"--help"}, "Commands:"},
		{[]string{"-h"}, "Commands:"},
		{[]string{"help", "ip"}, "Usage: sovmap ip"},
		{[]string{"ip", "--help"}, "Usage: sovmap ip"},
		{[]string{"ip", "-h"}, "Usage: sovmap ip"},
		{[]string{"help", "data"}, "sovmap data info"},
		{[]string{"data", "--help"}, "sovmap data info"},
		{[]string{"data", "info", "--help"}, "sovmap data info"},
		{[]string{"help", "catalog"}, "sovmap catalog list"},
		{[]string{"catalog", "--help"}, "sovmap catalog list"},
		{[]string{"catalog", "show", "-h"}, "sovmap catalog show"},
	}
	for _, test := range tests {
		name := strings.Join(test.args, " ")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := run(t, "", test.args...)
			if res.code != 0 || res.stderr != "" {
				t.Errorf("sovmap %s: %s, want exit 0 and nothing on stderr", name, res)
			}
			if !strings.Contains(res.stdout, "Examples") || !strings.Contains(res.stdout, test.want) {
				t.Errorf("sovmap %s: stdout = %q, want usage text with Examples and %q", name, clip(res.stdout), test.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		res := run(t, "", args...)
		if res.code != 0 || !strings.HasPrefix(res.stdout, "sovmap ") {
			t.Errorf("sovmap %s: %s", strings.Join(args, " "), res)
		}
	}
}

func TestDataInfo(t *testing.T) {
	t.Parallel()
	const version = "2.3.2026061719"
	res := run(t, "", "data", "info")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("sovmap data info: %s", res)
	}
	for _, w := range []string{"@ip-location-db/asn ", "@ip-location-db/asn-country ", "@ip-location-db/geo-whois-asn-country ", "CC BY 4.0", "embedded"} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("sovmap data info lacks %q:\n%s", w, res.stdout)
		}
	}
	if n := strings.Count(res.stdout, version); n != 3 {
		t.Errorf("sovmap data info names version %s %d times, want 3 (one per source):\n%s", version, n, res.stdout)
	}

	res = run(t, "", "data", "info", "--json")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("sovmap data info --json: %s", res)
	}
	var info struct {
		Path    string `json:"path"`
		Name    string `json:"name"`
		Built   string `json:"built"`
		Sources []struct {
			Dataset string `json:"dataset"`
			Name    string `json:"name"`
			Version string `json:"version"`
			Date    string `json:"date"`
			License string `json:"license"`
		} `json:"sources"`
		Counts struct {
			Ranges []int `json:"ranges"`
		} `json:"counts"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &info); err != nil {
		t.Fatalf("sovmap data info --json: %v\n%s", err, clip(res.stdout))
	}
	if len(info.Sources) != 3 {
		t.Fatalf("sovmap data info --json: %d sources, want 3", len(info.Sources))
	}
	var datasets []string
	for _, s := range info.Sources {
		datasets = append(datasets, s.Dataset)
		if s.Version != version || s.Date == "" || s.License == "" || !strings.HasPrefix(s.Name, "@ip-location-db/") {
			t.Errorf("source %+v, want version %s, a date, a license", s, version)
		}
	}
	if want := []string{"asn", "registration", "location"}; !slices.Equal(datasets, want) {
		t.Errorf("datasets = %q, want %q", datasets, want)
	}
	if info.Name != "embedded" || info.Built == "" || info.Path == "" {
		t.Errorf("data info --json = name %q built %q path %q, want embedded with a date", info.Name, info.Built, info.Path)
	}
	for i, n := range info.Counts.Ranges {
		if n == 0 {
			t.Errorf("counts.ranges[%d] = 0, want ranges from every source", i)
		}
	}
}

func TestDataInfoMissingSnapshot(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "none.snap")
	res := run(t, "", "data", "info", "--snapshot", path)
	if res.code != 3 || res.stdout != "" || !strings.HasPrefix(res.stderr, "sovmap: ") || !strings.Contains(res.stderr, "none.snap") {
		t.Errorf("sovmap data info --snapshot %s: %s, want exit 3 naming the file", path, res)
	}
}

func TestCatalogList(t *testing.T) {
	t.Parallel()
	res := run(t, "", "catalog", "list")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("sovmap catalog list: %s", res)
	}
	ls := lines(res.stdout)
	if len(ls) < 3 || !strings.HasPrefix(ls[0], "ID ") || !strings.Contains(ls[0], "CONTROL") {
		t.Fatalf("sovmap catalog list: want a header and rows:\n%s", res.stdout)
	}
	var alibaba string
	for _, l := range ls {
		if strings.HasPrefix(l, "alibaba-cloud ") {
			alibaba = l
		}
	}
	if f := strings.Fields(alibaba); len(f) < 4 || !strings.Contains(alibaba, " CN ") {
		t.Errorf("sovmap catalog list: alibaba-cloud row = %q, want control CN", alibaba)
	}
	if !strings.Contains(res.stdout, "\ngoogle-cloud ") {
		t.Errorf("sovmap catalog list lacks google-cloud:\n%s", res.stdout)
	}
}

type providerRow struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Kinds    []string `json:"kinds"`
	Operator string   `json:"operator"`
	Control  string   `json:"control"`
	ASNs     int      `json:"asns"`
}

func TestCatalogListControl(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"CN", "cn"} {
		res := run(t, "", "catalog", "list", "--control", cc, "--json")
		if res.code != 0 || res.stderr != "" {
			t.Fatalf("sovmap catalog list --control %s --json: %s", cc, res)
		}
		var rows []providerRow
		if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil {
			t.Fatalf("sovmap catalog list --control %s --json: %v", cc, err)
		}
		ids := map[string]bool{}
		for _, r := range rows {
			ids[r.ID] = true
			if r.Control != "CN" {
				t.Errorf("--control %s: row %+v, want control CN", cc, r)
			}
		}
		if !ids["alibaba-cloud"] {
			t.Errorf("--control %s lacks alibaba-cloud: %v", cc, ids)
		}
		if ids["google-cloud"] {
			t.Errorf("--control %s lists google-cloud", cc)
		}
	}
}

func TestCatalogListKinds(t *testing.T) {
	t.Parallel()
	res := run(t, "", "catalog", "list", "--kind", "dns", "--json")
	var rows []providerRow
	if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil || res.code != 0 {
		t.Fatalf("sovmap catalog list --kind dns --json: %v\n%s", err, res)
	}
	for _, r := range rows {
		if !strings.Contains(strings.Join(r.Kinds, ","), "dns") {
			t.Errorf("--kind dns: row %+v lacks kind dns", r)
		}
	}
	for _, flag := range []string{"--companies", "--groups", "--traps"} {
		res := run(t, "", "catalog", "list", flag)
		if res.code != 0 || len(lines(res.stdout)) < 2 {
			t.Errorf("sovmap catalog list %s: %s", flag, res)
		}
		res = run(t, "", "catalog", "list", flag, "--json")
		if res.code != 0 || !json.Valid([]byte(res.stdout)) {
			t.Errorf("sovmap catalog list %s --json: %s", flag, res)
		}
	}
	res = run(t, "", "catalog", "list", "--traps")
	if !strings.Contains(res.stdout, "AS34947") {
		t.Errorf("sovmap catalog list --traps lacks AS34947 (Alibaba Travel):\n%s", res.stdout)
	}
}

func TestCatalogShow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want []string
	}{
		{"alibaba-cloud", []string{
			"provider  Alibaba Cloud (alibaba-cloud)\n",
			"control chain (operator first):",
			"=> control CN: ultimate parent Alibaba Group Holding Limited",
			"AS45102",
			"operated by alibaba-us",
			"hostname suffixes:",
			"https://",
		}},
		{"alibaba-group", []string{
			"company       Alibaba Group Holding Limited (alibaba-group)\n",
			"headquarters  CN Hangzhou\n",
			"incorporated  KY\n",
			"parent chain:",
			"=> control CN",
		}},
		{"alibaba-us", []string{
			"headquarters  US",
			"Alibaba Group Holding Limited (alibaba-group), headquarters CN",
			"=> control CN: ultimate parent Alibaba Group Holding Limited",
			"providers: alibaba-cloud",
		}},
	}
	for _, test := range tests {
		t.Run(test.id, func(t *testing.T) {
			t.Parallel()
			res := run(t, "", "catalog", "show", test.id)
			if res.code != 0 || res.stderr != "" {
				t.Fatalf("sovmap catalog show %s: %s", test.id, res)
			}
			for _, w := range test.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("sovmap catalog show %s lacks %q:\n%s", test.id, w, res.stdout)
				}
			}
			res = run(t, "", "catalog", "show", test.id, "--json")
			var v struct {
				ID    string `json:"id"`
				Chain []struct {
					ID string `json:"id"`
				} `json:"chain"`
				Cited []struct {
					URL string `json:"url"`
				} `json:"cited"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &v); err != nil || res.code != 0 {
				t.Fatalf("sovmap catalog show %s --json: %v\n%s", test.id, err, res)
			}
			if v.ID != test.id || len(v.Chain) == 0 || v.Chain[len(v.Chain)-1].ID != "alibaba-group" || len(v.Cited) == 0 {
				t.Errorf("sovmap catalog show %s --json = %s, want its chain to alibaba-group and cited sources", test.id, clip(res.stdout))
			}
		})
	}
}

func TestCatalogShowNonexistent(t *testing.T) {
	t.Parallel()
	res := run(t, "", "catalog", "show", "nonexistent")
	if res.code != 2 || res.stdout != "" || !strings.Contains(res.stderr, "sovmap: catalog: ") || !strings.Contains(res.stderr, "hint: ") {
		t.Errorf("sovmap catalog show nonexistent: %s, want exit 2 with a message and a hint", res)
	}
}

func TestCatalogShowGroup(t *testing.T) {
	t.Parallel()
	res := run(t, "", "catalog", "list", "--groups", "--json")
	var groups []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &groups); err != nil || len(groups) == 0 {
		t.Skipf("no jurisdiction groups in the catalog: %v", err)
	}
	res = run(t, "", "catalog", "show", groups[0].ID)
	if res.code != 0 || !strings.Contains(res.stdout, "group ") || !strings.Contains(res.stdout, "countries ") {
		t.Errorf("sovmap catalog show %s: %s", groups[0].ID, res)
	}
}

// userCatalog is a catalog file that claims AS13335 (Cloudflare, which
// 1.1.1.1 belongs to) for a test provider controlled from New Zealand.
const userCatalog = `# a user's own catalog entries
sources:
  - id: test-src
    url: https://example.com/test
    date: 2026-01-01
companies:
  - id: test-parent
    name: Test Parent Ltd
    headquarters: NZ
    city: Wellington
    sources: [test-src]
  - id: test-co
    name: Test Company
    headquarters: AU
    parent: test-parent
    sources: [test-src]
providers:
  - id: aaa-test-provider
    name: Test Provider
    kinds: [cdn]
    operator: test-co
    asns:
      - {asn: 13335, source: test-src}
    sources: [test-src]
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUserCatalog(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "ours.yaml", userCatalog)
	res := run(t, "", "ip", "--json", "--catalog", path, "1.1.1.1")
	ls := lines(res.stdout)
	if res.code != 0 || res.stderr != "" || len(ls) != 1 {
		t.Fatalf("sovmap ip --json --catalog %s 1.1.1.1: %s", path, res)
	}
	r := decode(t, ls[0])
	if r.Provider == nil || r.Provider.ID != "aaa-test-provider" {
		t.Fatalf("provider = %+v, want aaa-test-provider from the user's file", r.Provider)
	}
	if r.Operator.ID != "test-co" || r.Operator.Country != "AU" || r.Parent.ID != "test-parent" || r.Control.Country != "NZ" {
		t.Errorf("record %s, want operator test-co (AU), parent test-parent, control NZ", ls[0])
	}
	if !strings.Contains(r.Control.Basis, "Wellington") {
		t.Errorf("control.basis = %q, want Wellington", r.Control.Basis)
	}
	// Another catalog entry may claim AS13335 too: then the verdict is
	// medium and the evidence lists both.
	found := false
	for _, e := range r.Evidence {
		found = found || strings.Contains(e.Detail, "aaa-test-provider")
	}
	if !found {
		t.Errorf("evidence = %+v, want the user's claim", r.Evidence)
	}
	if want := map[bool]string{true: "high", false: "medium"}[len(r.Evidence) == 1]; r.Confidence != want {
		t.Errorf("confidence = %q with %d evidence entries, want %q", r.Confidence, len(r.Evidence), want)
	}

	// The same file works for catalog commands.
	res = run(t, "", "catalog", "show", "--catalog", path, "aaa-test-provider")
	if res.code != 0 || !strings.Contains(res.stdout, "=> control NZ") {
		t.Errorf("sovmap catalog show --catalog %s aaa-test-provider: %s", path, res)
	}
	// Without the file, the provider is unknown.
	res = run(t, "", "catalog", "show", "aaa-test-provider")
	if res.code != 2 {
		t.Errorf("sovmap catalog show aaa-test-provider without --catalog: exit %d, want 2", res.code)
	}
}

// TestUserCatalogOverride overrides an embedded company: Alibaba Group moved
// to Singapore in this user's world.
func TestUserCatalogOverride(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "override.yaml", `
sources:
  - {id: mine, url: "https://example.com/mine", date: "2026-02-03"}
companies:
  - id: alibaba-group
    name: Alibaba Group (moved)
    headquarters: SG
    sources: [mine]
`)
	res := run(t, "", "ip", "--json", "--catalog", path, "47.88.1.1")
	if res.code != 0 {
		t.Fatalf("sovmap ip --json --catalog %s 47.88.1.1: %s", path, res)
	}
	r := decode(t, lines(res.stdout)[0])
	if r.Control == nil || r.Control.Country != "SG" || r.Parent.Name != "Alibaba Group (moved)" || r.Registration.Country != "US" {
		t.Errorf("record %s, want control SG from the override and registration US still", res.stdout)
	}
}

func TestUserCatalogBroken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // name of the file; "" for a missing one
		content string
	}{
		{"syntax", "syntax.yaml", "providers: [\n"},
		{"unknown field", "field.yaml", "providers:\n  - id: x\n    nmae: X\n"},
		{"missing", "", ""},
		// The file parses, but its provider cites a source and an operator
		// that no file defines.
		{"unknown references", "refs.yaml", "providers:\n  - id: x\n    name: X\n    kinds: [cdn]\n    operator: nobody\n    sources: [nothing]\n"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			var path string
			if test.file == "" {
				path = filepath.Join(t.TempDir(), "missing.yaml")
			} else {
				path = writeFile(t, test.file, test.content)
			}
			for _, args := range [][]string{
				{"ip", "--catalog", path, "1.1.1.1"},
				{"catalog", "list", "--catalog", path},
			} {
				res := run(t, "", args...)
				if res.code != 3 || res.stdout != "" {
					t.Errorf("sovmap %s: %s, want exit 3 and nothing on stdout", strings.Join(args, " "), res)
				}
				if !strings.HasPrefix(res.stderr, "sovmap: ") || !strings.Contains(res.stderr, filepath.Base(path)) {
					t.Errorf("sovmap %s: stderr = %q, want a sovmap: message naming %s", strings.Join(args, " "), res.stderr, filepath.Base(path))
				}
			}
		})
	}
}

// TestStderrLinesPrefixed checks that every line of stderr carries the
// "sovmap:" prefix (STYLE §5 habit 7), also when an error holds several
// lines (a YAML decoder error, or several catalog problems joined).
func TestStderrLinesPrefixed(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, content string }{
		{"unknown field", "providers:\n  - id: x\n    nmae: X\n"},
		{"two problems", "providers:\n  - id: x\n    name: X\n    kinds: [cdn]\n    operator: nobody\n    sources: [nothing]\n"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "bad.yaml", test.content)
			res := run(t, "", "ip", "--catalog", path, "1.1.1.1")
			if res.code != 3 {
				t.Fatalf("sovmap ip --catalog %s: %s, want exit 3", path, res)
			}
			for _, l := range lines(res.stderr) {
				if !strings.HasPrefix(l, "sovmap: ") && !strings.HasPrefix(l, "hint: ") {
					t.Errorf("sovmap ip --catalog %s: stderr line %q lacks the sovmap: prefix", path, l)
				}
			}
		})
	}
}

// TestReadme checks that the commands the README gives a newcomer still
// exist, and that its example output is what sovmap prints.
func TestReadme(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	blocks := codeBlocks(readme)
	if len(blocks) == 0 {
		t.Fatalf("README.md has no code block")
	}
	first := blocks[0]
	for _, w := range []string{"go run ./cmd/sovmap ip", "go test ./..."} {
		if !strings.Contains(first.body, w) {
			t.Errorf("README.md's first code block lacks %q:\n%s", w, first.body)
		}
	}
	// Run the go run line's arguments in process.
	for _, l := range lines(first.body) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "go run ./cmd/sovmap ")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "#")
		args := strings.Fields(rest)
		if res := run(t, "", args...); res.code != 0 || res.stderr != "" {
			t.Errorf("README: sovmap %s: %s", strings.Join(args, " "), res)
		}
	}
	// Every "$ sovmap …" example in a console block prints what follows it.
	for _, bl := range blocks {
		if bl.lang != "console" {
			continue
		}
		cmd, want, ok := strings.Cut(bl.body, "\n")
		args, isCmd := strings.CutPrefix(cmd, "$ sovmap ")
		if !ok || !isCmd {
			continue
		}
		res := run(t, "", strings.Fields(args)...)
		if res.code != 0 || res.stdout != want {
			t.Errorf("README: sovmap %s printed\n%s\nREADME shows\n%s", args, res.stdout, want)
		}
	}
	// Every command of the "sh" examples parses (exit 0, 1 or 3, never 2),
	// except those that need files the reader does not have.
	for _, bl := range blocks[1:] {
		if bl.lang != "sh" {
			continue
		}
		for _, l := range lines(bl.body) {
			cmd, _, _ := strings.Cut(l, "#")
			args, ok := strings.CutPrefix(strings.TrimSpace(cmd), "sovmap ")
			if !ok || strings.ContainsAny(args, "<>|") || strings.Contains(args, ".yaml") {
				continue
			}
			// A collector runs until stopped, and an update goes online:
			// neither belongs in a unit test (they have their own tests).
			if strings.HasPrefix(args, "collect") || strings.HasPrefix(args, "data update") {
				continue
			}
			if res := run(t, "", strings.Fields(args)...); res.code == 2 {
				t.Errorf("README: sovmap %s: usage error\n%s", args, res)
			}
		}
	}
}

type codeBlock struct{ lang, body string }

// codeBlocks returns the fenced code blocks of a Markdown text.
func codeBlocks(md string) []codeBlock {
	var out []codeBlock
	var cur *codeBlock
	var body strings.Builder
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			if cur == nil {
				cur = &codeBlock{lang: strings.TrimSpace(strings.TrimPrefix(l, "```"))}
				body.Reset()
			} else {
				cur.body = body.String()
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			body.WriteString(l)
			body.WriteByte('\n')
		}
	}
	return out
}

// TestRunCancelled checks that a cancelled context stops reading stdin.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, []string{"ip", "--json"}, strings.NewReader("1.1.1.1\n"), &stdout, &stderr)
	if code == 0 {
		t.Errorf("sovmap ip --json with a cancelled context: exit 0, want a failure\nstdout %q\nstderr %q", stdout.String(), stderr.String())
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestIPWriteError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"ip", "--json", "1.1.1.1"}, strings.NewReader(""), errWriter{}, &stderr)
	if code != 3 || !strings.HasPrefix(stderr.String(), "sovmap: ") {
		t.Errorf("sovmap ip --json to a failing stdout: exit %d, stderr %q, want exit 3 and a message", code, stderr.String())
	}
}
