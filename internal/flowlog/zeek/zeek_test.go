package zeek

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// connHeader is the header of a Zeek conn.log (Zeek 3 to 6 layout).
const connHeader = "#separator \\x09\n" +
	"#set_separator\t,\n" +
	"#empty_field\t(empty)\n" +
	"#unset_field\t-\n" +
	"#path\tconn\n" +
	"#open\t2026-06-01-12-00-00\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"

func TestTSV(t *testing.T) {
	t.Parallel()
	text := connHeader +
		"1521911720.865716\tC1\t10.0.0.5\t40000\t47.88.1.1\t443\ttcp\tssl\t1.500000\t900\t4800\tSF\tT\tF\t0\tShADadFf\t10\t1420\t12\t5424\t-\n" +
		"1521911721.000000\tC2\t2a00:1450:4001::1\t53\tfd00::5\t5353\tudp\tdns\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t80\t0\t0\t(empty)\n"
	recs, errs := flowtest.ParseAll(t, NewTSV(), text)
	if len(errs) != 0 {
		t.Fatalf("errors %+v", errs)
	}
	start := time.Unix(1521911720, 865716000).UTC()
	want := []flowlog.Record{
		{Src: netip.MustParseAddrPort("10.0.0.5:40000"), Dst: netip.MustParseAddrPort("47.88.1.1:443"), Proto: 6,
			SrcBytes: 1420, DstBytes: 5424, SrcPackets: 10, DstPackets: 12, Start: start, End: start.Add(1500 * time.Millisecond),
			Extra: flowlog.Extra{Service: "ssl", State: "SF"}},
		{Src: netip.MustParseAddrPort("[2a00:1450:4001::1]:53"), Dst: netip.MustParseAddrPort("[fd00::5]:5353"), Proto: 17,
			SrcBytes: 80, SrcPackets: 1, Start: time.Unix(1521911721, 0).UTC(), End: time.Unix(1521911721, 0).UTC(),
			Extra: flowlog.Extra{Service: "dns", State: "S0"}},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v\nwant %+v", i, recs[i], want[i])
		}
	}
}

// TestTSVHeader follows headers: another separator (escaped), other unset
// and empty markers, payload bytes when IP bytes are absent, and a second
// header in the same input.
func TestTSVHeader(t *testing.T) {
	t.Parallel()
	text := "#separator \\x2c\n" +
		"#unset_field,none\n" +
		"#empty_field,EMPTY\n" +
		"#fields,ts,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,orig_bytes,resp_bytes\n" +
		"1,10.0.0.5,1,47.88.1.1,443,tcp,none,100,200\n" +
		"#fields,id.resp_h,id.orig_h,orig_bytes\n" +
		"13.32.0.1,10.0.0.7,5\n" +
		"13.32.0.1,10.0.0.7,5,6\n"
	recs, errs := flowtest.ParseAll(t, NewTSV(), text)
	if len(recs) != 2 || recs[0].SrcBytes != 100 || recs[0].DstBytes != 200 || recs[0].Extra.Service != "" ||
		recs[1].Src.Addr().String() != "10.0.0.7" || recs[1].Dst.Addr().String() != "13.32.0.1" || recs[1].SrcBytes != 5 {
		t.Errorf("records = %+v", recs)
	}
	if len(errs) != 1 || errs[0].Reason != flowlog.ReasonFieldCount {
		t.Errorf("errors = %+v, want one wrong field count", errs)
	}
}

func TestTSVBad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, reason string
	}{
		{"truncated", "1521911720.865716\tC1\t10.0.0.5\t40000\t47.88.1", flowlog.ReasonFieldCount},
		{"extra field", "1\tC1\t10.0.0.5\t1\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t1\t1\t1\t-\textra", flowlog.ReasonFieldCount},
		{"bad orig", "1\tC1\t10.0.0.500\t1\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t1\t1\t1\t-", flowlog.ReasonAddr},
		{"bad resp", "1\tC1\t10.0.0.5\t1\t-\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t1\t1\t1\t-", flowlog.ReasonAddr},
		{"bad port", "1\tC1\t10.0.0.5\t70000\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t1\t1\t1\t-", flowlog.ReasonPort},
		{"bad count", "1\tC1\t10.0.0.5\t1\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t-12\t1\t1\t-", flowlog.ReasonNumber},
		{"bad ts", "yesterday\tC1\t10.0.0.5\t1\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t1\t1\t1\t-", flowlog.ReasonTime},
		{"bad proto", "1\tC1\t10.0.0.5\t1\t47.88.1.1\t443\tpigeon\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t1\t1\t1\t-", flowlog.ReasonProto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := flowtest.ParseAll(t, NewTSV(), connHeader+tt.line)
			if len(recs) != 0 || len(errs) != 1 || errs[0].Reason != tt.reason {
				t.Errorf("records %+v, errors %+v; want one %q", recs, errs, tt.reason)
			}
		})
	}
	// Data before any header.
	_, errs := flowtest.ParseAll(t, NewTSV(), "1\tC1\t10.0.0.5\t1\t47.88.1.1\t443\n")
	if len(errs) != 1 || errs[0].Reason != flowlog.ReasonNoHeader {
		t.Errorf("data before header: errors %+v", errs)
	}
	// A log without connection ends is ignored, not skipped.
	_, errs = flowtest.ParseAll(t, NewTSV(), "#separator \\x09\n#path\tknown_hosts\n#fields\tts\thost\n1\t10.0.0.1\n")
	if len(errs) != 1 || !errs[0].Ignored {
		t.Errorf("known_hosts log: errors %+v, want one ignored line", errs)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	text := `{"_path":"conn","ts":1521911720.865716,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":40000,"id.resp_h":"47.88.1.1","id.resp_p":443,"proto":"tcp","service":"ssl","duration":1.5,"orig_bytes":900,"resp_bytes":4800,"conn_state":"SF","local_orig":true,"missed_bytes":0,"history":"ShADadFf","orig_pkts":10,"orig_ip_bytes":1420,"resp_pkts":12,"resp_ip_bytes":5424,"tunnel_parents":["a","b\"}"],"nested":{"x":[1,{"y":"}"}]}}
  { "ts" : "2018-03-24T17:15:20.615923Z" , "id.orig_h" : "2a00:1450:4001::1", "id.resp_h":"fd00::5","proto":null,"service":"d\u006es","note":"tab\there \\ \" done"}

{"ts":1.5e9,"id.orig_h":"10.0.0.1","id.resp_h":"1.1.1.1"}
{"_path":"dns","ts":1,"query":"example.com"}
`
	recs, errs := flowtest.ParseAll(t, NewJSON(), text)
	if len(errs) != 1 || !errs[0].Ignored {
		t.Fatalf("errors %+v, want one ignored line (a log line without ends)", errs)
	}
	if len(recs) != 3 {
		t.Fatalf("records %+v, want 3", recs)
	}
	start := time.Unix(1521911720, 865716000).UTC()
	want0 := flowlog.Record{Src: netip.MustParseAddrPort("10.0.0.5:40000"), Dst: netip.MustParseAddrPort("47.88.1.1:443"), Proto: 6,
		SrcBytes: 1420, DstBytes: 5424, SrcPackets: 10, DstPackets: 12, Start: start, End: start.Add(1500 * time.Millisecond),
		Extra: flowlog.Extra{Service: "ssl", State: "SF"}}
	if recs[0] != want0 {
		t.Errorf("record 0 = %+v\nwant %+v", recs[0], want0)
	}
	if got := recs[1]; got.Src.Addr().String() != "2a00:1450:4001::1" || got.Start.Format(time.RFC3339Nano) != "2018-03-24T17:15:20.615923Z" || got.Extra.Service != "dns" {
		t.Errorf("record 1 = %+v", got)
	}
	if got := recs[2].Start; !got.Equal(time.Unix(1.5e9, 0)) {
		t.Errorf("record 2 starts %v, want 1.5e9", got)
	}
}

func TestJSONBad(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, reason string }{
		{"truncated", `{"ts":1,"id.orig_h":"10.0.0.5","id.resp_h":"47.88`, flowlog.ReasonSyntax},
		{"truncated after key", `{"ts":1,"id.orig_h"`, flowlog.ReasonSyntax},
		{"truncated nested", `{"ts":1,"x":[1,2`, flowlog.ReasonSyntax},
		{"not an object", `["ts",1]`, flowlog.ReasonSyntax},
		{"trailing", `{"id.orig_h":"10.0.0.5","id.resp_h":"1.1.1.1"} x`, flowlog.ReasonSyntax},
		{"missing colon", `{"id.orig_h" "10.0.0.5"}`, flowlog.ReasonSyntax},
		{"bad literal", `{"a":nul,"id.orig_h":"10.0.0.5","id.resp_h":"1.1.1.1"}`, flowlog.ReasonSyntax},
		{"bad address", `{"id.orig_h":"10.0.0.5","id.resp_h":"1.1.1"}`, flowlog.ReasonAddr},
		{"number address", `{"id.orig_h":"10.0.0.5","id.resp_h":17}`, flowlog.ReasonAddr},
		{"bad bytes", `{"id.orig_h":"10.0.0.5","id.resp_h":"1.1.1.1","orig_ip_bytes":-5}`, flowlog.ReasonNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := flowtest.ParseAll(t, NewJSON(), tt.line)
			if len(recs) != 0 || len(errs) != 1 || errs[0].Reason != tt.reason {
				t.Errorf("records %+v, errors %+v; want one %q", recs, errs, tt.reason)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	if !SniffTSV([]byte(connHeader)) || SniffTSV([]byte("{}")) {
		t.Error("SniffTSV")
	}
	for _, s := range []string{`{"_path":"conn"}`, `{"ts":1,"uid":"C1"}`, `{"id.orig_h":"1.2.3.4"}`, "\n  {\"ts\":1,\"id\":\"F\"}"} {
		if !SniffJSON([]byte(s)) {
			t.Errorf("SniffJSON(%q) = false", s)
		}
	}
	for _, s := range []string{`{"src_ip":"1.2.3.4"}`, `[1]`, ``} {
		if SniffJSON([]byte(s)) {
			t.Errorf("SniffJSON(%q) = true", s)
		}
	}
}

func FuzzTSV(f *testing.F) {
	f.Add(connHeader + "1521911720.865716\tC1\t10.0.0.5\t40000\t47.88.1.1\t443\ttcp\tssl\t1.5\t900\t4800\tSF\tT\tF\t0\tS\t10\t1420\t12\t5424\t-\n")
	f.Add("#separator \\x2c\n#fields,id.orig_h,id.resp_h\n1.2.3.4,::1\n")
	f.Add("#separator x\n#fields\n\n#fields\t\t\n\t\n")
	f.Fuzz(func(t *testing.T, text string) {
		p := NewTSV()
		for line := range strings.SplitSeq(text, "\n") {
			var rec flowlog.Record
			ok, err := p.Parse([]byte(line), &rec)
			checkResult(t, line, &rec, ok, err)
		}
	})
}

// FuzzJSON checks that the scanner never calls valid JSON malformed, and
// that the records it gives hold the addresses encoding/json reads.
func FuzzJSON(f *testing.F) {
	f.Add(`{"ts":1521911720.865716,"id.orig_h":"10.0.0.5","id.orig_p":40000,"id.resp_h":"47.88.1.1","id.resp_p":443,"proto":"tcp","orig_ip_bytes":1420}`)
	f.Add(`{"ts":"2018-03-24T17:15:20.615923Z","id.orig_h":"::1","id.resp_h":"1.1.1.1","x":{"y":["}",{"z":"\"]"}]}}`)
	f.Add(`{"id.orig_h":"1.2.3.\u0034","id.resp_h":"1.1.1.1"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			return
		}
		var rec flowlog.Record
		ok, err := NewJSON().Parse([]byte(line), &rec)
		checkResult(t, line, &rec, ok, err)
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			return
		}
		var le *flowlog.LineError
		if errors.As(err, &le) && le.Reason == flowlog.ReasonSyntax {
			t.Fatalf("Parse(%q) = %v, but encoding/json reads it", line, err)
		}
		if ok {
			for key, got := range map[string]netip.Addr{"id.orig_h": rec.Src.Addr(), "id.resp_h": rec.Dst.Addr()} {
				s, _ := m[key].(string)
				want, perr := netip.ParseAddr(s)
				if perr != nil || want.Unmap() != got {
					t.Fatalf("Parse(%q): %s = %v, encoding/json reads %q", line, key, got, s)
				}
			}
		}
	})
}

func checkResult(t *testing.T, line string, rec *flowlog.Record, ok bool, err error) {
	t.Helper()
	if ok {
		if err != nil || !rec.Src.Addr().IsValid() || !rec.Dst.Addr().IsValid() {
			t.Fatalf("Parse(%q) = record %+v, error %v", line, rec, err)
		}
		return
	}
	var le *flowlog.LineError
	if err != nil && (!errors.As(err, &le) || le.Reason == "") {
		t.Fatalf("Parse(%q) error %v is not a *LineError with a reason", line, err)
	}
}
