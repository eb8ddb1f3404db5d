package argus

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

const testHeader = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,SrcPkts,Label"

func TestParser(t *testing.T) {
	t.Parallel()
	text := testHeader + "\n" +
		"2019/04/04 16:23:00.325010,0.027947,udp,10.8.0.69,48427,  <->,8.8.8.8,53,CON,0,0,2,142,63,1,\n" +
		"2019/04/04 16:24:47.672448,63.822830,tcp,10.8.0.69,56101,   ->,47.88.1.1,443,S0,0,0,31,8764,1887,15,flow=From-Botnet\n" +
		"2019/04/04 16:25:00.000000,1.0,icmp,10.8.0.69,0x0008,   ->,1.1.1.1,0x0000,ECO,0,0,2,196,98,1,\n"
	recs, errs := flowtest.ParseAll(t, NewParser(), text)
	if len(errs) != 0 || len(recs) != 3 {
		t.Fatalf("records %+v, errors %+v", recs, errs)
	}
	start := time.Date(2019, 4, 4, 16, 23, 0, 325010000, time.UTC)
	r := recs[0]
	if r.Src.String() != "10.8.0.69:48427" || r.Dst.String() != "8.8.8.8:53" || r.Proto != 17 ||
		r.SrcBytes != 63 || r.DstBytes != 79 || r.SrcPackets != 1 || r.DstPackets != 1 ||
		!r.Start.Equal(start) || !r.End.Equal(start.Add(27947*time.Microsecond)) || r.Extra.Direction != "<->" || r.Extra.State != "CON" {
		t.Errorf("record 0 = %+v", r)
	}
	if r := recs[2]; r.Proto != 1 || r.Src.Port() != 8 {
		t.Errorf("record 2 = %+v", r)
	}
}

// TestTabsAndColumns reads a tab-separated file without SrcPkts, whose
// packets are unsplit, and ignores non-IP records.
func TestTabsAndColumns(t *testing.T) {
	t.Parallel()
	text := "StartTime\tDur\tProto\tSrcAddr\tSport\tDir\tDstAddr\tDport\tState\tTotPkts\tTotBytes\tSrcBytes\n" +
		"2018/05/10 10:52:47.283479\t0.045010\tman\t0\t0\t\t0\t0\tSTA\t0\t0\t0\n" +
		"1970/01/01 01:00:00.000000\t0.000000\tllc\t00:00:00:00:00:00\t0\t   ->\t00:00:00:00:00:00\t0\tINT\t1\t60\t60\n" +
		"1970/01/01 01:00:08.156845\t3554.205811\tarp\t10.0.2.15\t\t  who\t10.0.2.2\t\tCON\t22\t924\t462\n" +
		"2018/05/10 10:52:48.000000\t1.0\ttcp\t10.0.2.15\t50000\t   ->\t47.88.1.1\t443\tSF\t10\t5000\t1000\n"
	recs, errs := flowtest.ParseAll(t, NewParser(), text)
	if len(recs) != 1 || recs[0].SrcBytes != 1000 || recs[0].DstBytes != 4000 || recs[0].UnsplitPackets != 10 || recs[0].Packets() != 10 {
		t.Errorf("records = %+v", recs)
	}
	if len(errs) != 3 {
		t.Fatalf("errors = %+v, want 3 ignored", errs)
	}
	for _, e := range errs {
		if !e.Ignored {
			t.Errorf("error %+v is not ignored", e)
		}
	}
}

func TestBad(t *testing.T) {
	t.Parallel()
	good := "2019/04/04 16:23:00.325010,0.027947,udp,10.8.0.69,48427,  <->,8.8.8.8,53,CON,0,0,2,142,63,1,"
	tests := []struct{ name, line, reason string }{
		{"truncated", good[:40], flowlog.ReasonFieldCount},
		{"bad address", strings.Replace(good, "8.8.8.8", "8.8.8.888", 1), flowlog.ReasonAddr},
		{"bad port", strings.Replace(good, ",48427,", ",0xzz,", 1), flowlog.ReasonPort},
		{"bad count", strings.Replace(good, ",142,", ",1e2,", 1), flowlog.ReasonNumber},
		{"src over total", strings.Replace(good, ",142,63,", ",142,300,", 1), flowlog.ReasonNumber},
		{"bad time", strings.Replace(good, "2019/04/04", "2019/44/04", 1), flowlog.ReasonTime},
		{"bad proto", strings.Replace(good, ",udp,", ",pigeon,", 1), flowlog.ReasonProto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := flowtest.ParseAll(t, NewParser(), testHeader+"\n"+tt.line)
			if len(recs) != 0 || len(errs) != 1 || errs[0].Reason != tt.reason {
				t.Errorf("records %+v, errors %+v; want one %q", recs, errs, tt.reason)
			}
		})
	}
	if _, errs := flowtest.ParseAll(t, NewParser(), good); len(errs) != 1 || errs[0].Reason != flowlog.ReasonNoHeader {
		t.Errorf("data before header: errors %+v", errs)
	}
}

func FuzzParser(f *testing.F) {
	f.Add(testHeader + "\n2019/04/04 16:23:00.325010,0.027947,udp,10.8.0.69,48427,  <->,8.8.8.8,53,CON,0,0,2,142,63,1,")
	f.Add("SrcAddr\tDstAddr\tTotBytes\n::1\t1.1.1.1\t5\n")
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
