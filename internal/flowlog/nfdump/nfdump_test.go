package nfdump

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// A line as nfdump 1.7 writes it, with its 48 columns.
const line1 = "2026-06-01 12:00:00,2026-06-01 12:00:01,1.000,10.0.0.5,47.88.1.1,40000,443,TCP,...AP...,0,0,60,10050,55,70000,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,127.0.0.1,0/0,1,2026-06-01 12:00:05.464"

func TestParser(t *testing.T) {
	t.Parallel()
	icmp := strings.Replace(strings.Replace(line1, "40000,443,TCP", "0,8.0,ICMP", 1), "10.0.0.5,47.88.1.1", "fd00::1,2a00:1450:4001::1", 1)
	text := defaultHeader + "\n" + line1 + "\n" + icmp + "\nSummary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n2,20100,120,0,0,167\n"
	recs, errs := flowtest.ParseAll(t, NewParser(), text)
	if len(errs) != 0 || len(recs) != 2 {
		t.Fatalf("records %+v, errors %+v", recs, errs)
	}
	r := recs[0]
	if r.Src.String() != "10.0.0.5:40000" || r.Dst.String() != "47.88.1.1:443" || r.Proto != 6 ||
		r.SrcPackets != 60 || r.SrcBytes != 10050 || r.DstPackets != 55 || r.DstBytes != 70000 ||
		!r.Start.Equal(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)) || !r.End.Equal(time.Date(2026, 6, 1, 12, 0, 1, 0, time.UTC)) {
		t.Errorf("record 0 = %+v", r)
	}
	if r := recs[1]; r.Proto != 1 || r.Dst.Port() != 8<<8 || !r.Src.Addr().Is6() {
		t.Errorf("record 1 = %+v", r)
	}
	// Output made with -q: no header, no summary.
	recs, errs = flowtest.ParseAll(t, NewParser(), line1)
	if len(recs) != 1 || len(errs) != 0 {
		t.Errorf("-q output: records %+v, errors %+v", recs, errs)
	}
}

func TestBad(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, reason string }{
		{"truncated", line1[:60], flowlog.ReasonFieldCount},
		{"bad address", strings.Replace(line1, "47.88.1.1", "47.88.1", 1), flowlog.ReasonAddr},
		{"bad port", strings.Replace(line1, ",40000,", ",4x,", 1), flowlog.ReasonPort},
		{"bad count", strings.Replace(line1, ",10050,", ",10k,", 1), flowlog.ReasonNumber},
		{"bad time", strings.Replace(line1, "2026-06-01 12:00:00,", "yesterday,", 1), flowlog.ReasonTime},
		{"bad proto", strings.Replace(line1, ",TCP,", ",PIGEON,", 1), flowlog.ReasonProto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := flowtest.ParseAll(t, NewParser(), defaultHeader+"\n"+tt.line)
			if len(recs) != 0 || len(errs) != 1 || errs[0].Reason != tt.reason {
				t.Errorf("records %+v, errors %+v; want one %q", recs, errs, tt.reason)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	for _, s := range []string{defaultHeader + "\n", line1 + "\n", "sa,da\n"} {
		if !Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = false", s)
		}
	}
	for _, s := range []string{"", "StartTime,Dur,Proto,SrcAddr", "#fields\tts", "1,2,3"} {
		if Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = true", s)
		}
	}
}

// TestRealNfdump has softflowd export a capture to a real nfcapd, prints
// the file with "nfdump -o csv" (with and without -q), and reads the CSV:
// the totals must be the capture's.
func TestRealNfdump(t *testing.T) {
	bin := flowtest.LookPath(t, "nfdump")[0]
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	file := flowtest.NfcapdFile(t, flowtest.WritePcapFile(t, pkts))
	want := flowtest.Sum(pkts, true)
	for _, args := range [][]string{{"-r", file, "-o", "csv"}, {"-q", "-r", file, "-o", "csv"}} {
		out := string(flowtest.Run(t, bin, args...))
		recs, errs := flowtest.ParseAll(t, NewParser(), out)
		if len(errs) != 0 {
			t.Errorf("nfdump %v: errors %+v\n%s", args, errs, out)
		}
		var got flowtest.Totals
		for _, r := range recs {
			got.Bytes += r.Bytes()
			got.Packets += r.Packets()
		}
		if got != want {
			t.Errorf("nfdump %v: totals %+v, want %+v\n%s", args, got, want, out)
		}
		if !Sniff([]byte(out)) {
			t.Errorf("nfdump %v: Sniff = false", args)
		}
	}
}

func FuzzParser(f *testing.F) {
	f.Add(defaultHeader + "\n" + line1 + "\nSummary\n1,2,3")
	f.Add("sa,da,ibyt\n1.2.3.4,::1,5\nsa,da\n")
	f.Fuzz(func(t *testing.T, text string) {
		p := NewParser()
		for line := range strings.SplitSeq(text, "\n") {
			var rec flowlog.Record
			ok, err := p.Parse([]byte(line), &rec)
			var le *flowlog.LineError
			switch {
			case ok && (err != nil || !rec.Src.Addr().IsValid() || !rec.Dst.Addr().IsValid()):
				t.Fatalf("Parse(%q) = %+v, %v", line, rec, err)
			case !ok && err != nil && (!errors.As(err, &le) || le.Reason == ""):
				t.Fatalf("Parse(%q): %v is not a *LineError", line, err)
			}
		}
	})
}
