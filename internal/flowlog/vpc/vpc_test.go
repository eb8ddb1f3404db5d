package vpc

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// TestDefault reads the default (version 2) format, as AWS documents it.
func TestDefault(t *testing.T) {
	t.Parallel()
	text := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 47.88.1.1 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK\n" +
		"2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100::1 2a00:1450:4001::1 34892 22 6 54 8855 1477913708 1477913820 REJECT OK\n" +
		"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n" +
		"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA\n"
	recs, errs := flowtest.ParseAll(t, NewParser(), text)
	want := flowlog.Record{
		Src: netip.MustParseAddrPort("172.31.16.139:20641"), Dst: netip.MustParseAddrPort("47.88.1.1:443"), Proto: 6,
		SrcBytes: 4249, SrcPackets: 20, Start: time.Unix(1418530010, 0).UTC(), End: time.Unix(1418530070, 0).UTC(),
		Extra: flowlog.Extra{Action: "ACCEPT", Interface: "eni-1235b8ca123456789"},
	}
	if len(recs) != 2 || recs[0] != want || recs[1].Extra.Action != "REJECT" || !recs[1].Src.Addr().Is6() {
		t.Errorf("records = %+v\nwant first %+v", recs, want)
	}
	if len(errs) != 2 || !errs[0].Ignored || errs[0].Reason != "NODATA record" || errs[1].Reason != "SKIPDATA record" {
		t.Errorf("errors = %+v, want NODATA and SKIPDATA ignored", errs)
	}
}

// TestCustom reads custom formats by their header, also when a second
// header changes the order in the middle (concatenated files), and the v5
// field order without a header.
func TestCustom(t *testing.T) {
	t.Parallel()
	text := "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status\n" +
		"3 vpc-1 subnet-1 i-1 eni-1 123 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK\n" +
		"3 vpc-1 subnet-1 i-1 eni-1 123 - - - - - - - - - - 1566848875 1566848933 - - SKIPDATA\n" +
		"dstaddr srcaddr bytes flow-direction\n" +
		"13.32.0.1 10.0.0.9 77 egress\n" +
		"13.32.0.1 10.0.0.9 77\n"
	recs, errs := flowtest.ParseAll(t, NewParser(), text)
	if len(recs) != 2 {
		t.Fatalf("records = %+v", recs)
	}
	if r := recs[0]; r.Src.String() != "52.213.180.42:43416" || r.Dst.String() != "10.0.0.62:5001" || r.SrcBytes != 568 || r.SrcPackets != 8 || r.Extra.Interface != "eni-1" {
		t.Errorf("record 0 = %+v", r)
	}
	if r := recs[1]; r.Src.Addr().String() != "10.0.0.9" || r.Dst.Addr().String() != "13.32.0.1" || r.SrcBytes != 77 || r.Extra.Direction != "egress" {
		t.Errorf("record 1 = %+v", r)
	}
	if len(errs) != 2 || errs[0].Reason != "SKIPDATA record" || errs[1].Reason != flowlog.ReasonFieldCount {
		t.Errorf("errors = %+v", errs)
	}
	// Version 5 with all fields and no header.
	v5 := "5 64111117617 eni-0698 89.160.20.156 10.200.0.0 50041 33004 17 52 1 1640000066 1640000297 REJECT OK vpc-09 subnet-02 i-0a 1 IPv4 89.160.20.156 10.200.0.80 us-east-1 use1-az5 - - AMAZON CLOUDFRONT ingress 1"
	recs, errs = flowtest.ParseAll(t, NewParser(), v5)
	if len(recs) != 1 || len(errs) != 0 || recs[0].Extra.Direction != "ingress" || recs[0].SrcBytes != 1 || recs[0].SrcPackets != 52 {
		t.Errorf("v5: records %+v, errors %+v", recs, errs)
	}
}

func TestBad(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, reason string }{
		{"truncated", "2 123456789010 eni-1 172.31.16.139 47.88.1.1 20641", flowlog.ReasonFieldCount},
		{"bad src", "2 1 eni-1 172.31.16 47.88.1.1 1 2 6 20 4249 1418530010 1418530070 ACCEPT OK", flowlog.ReasonAddr},
		{"missing dst", "2 1 eni-1 172.31.16.1 - 1 2 6 20 4249 1418530010 1418530070 ACCEPT OK", flowlog.ReasonMissing},
		{"bad port", "2 1 eni-1 172.31.16.1 47.88.1.1 99999 2 6 20 4249 1418530010 1418530070 ACCEPT OK", flowlog.ReasonPort},
		{"bad bytes", "2 1 eni-1 172.31.16.1 47.88.1.1 1 2 6 20 lots 1418530010 1418530070 ACCEPT OK", flowlog.ReasonNumber},
		{"bad start", "2 1 eni-1 172.31.16.1 47.88.1.1 1 2 6 20 4249 soon 1418530070 ACCEPT OK", flowlog.ReasonTime},
		{"bad proto", "2 1 eni-1 172.31.16.1 47.88.1.1 1 2 666 20 4249 1418530010 1418530070 ACCEPT OK", flowlog.ReasonProto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := flowtest.ParseAll(t, NewParser(), tt.line)
			if len(recs) != 0 || len(errs) != 1 || errs[0].Reason != tt.reason {
				t.Errorf("records %+v, errors %+v; want one %q", recs, errs, tt.reason)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	yes := []string{
		"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
		"2 123456789010 eni-1 172.31.16.139 47.88.1.1 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK\n",
		"version account-id srcaddr dstaddr bytes\n",
		"srcaddr dstaddr\n",
	}
	no := []string{"", "#fields\tts", "ts,te,sa,da", "1 2 3", "2 1 eni-1 x y 1 2 6 20 4249 1 2 ACCEPT OK", "version account-id\n"}
	for _, s := range yes {
		if !Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = false", s)
		}
	}
	for _, s := range no {
		if Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = true", s)
		}
	}
}

func FuzzParser(f *testing.F) {
	f.Add("2 123456789010 eni-1 172.31.16.139 47.88.1.1 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK\n2 1 eni-1 - - - - - - - 1 2 - NODATA")
	f.Add("dstaddr srcaddr bytes\n13.32.0.1 10.0.0.9 77\nsrcaddr dstaddr\n::1 1.1.1.1")
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
