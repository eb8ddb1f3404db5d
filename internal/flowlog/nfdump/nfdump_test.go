package nfdump

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// TestFlowsColumn reads the flows column of aggregated output, as "nfdump
// -o csv:...%fl" names it ("flows") and as a header written for "-o fmt:"
// output names it ("fl").
func TestFlowsColumn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []uint64
	}{
		{"csv format", "firstSeen,lastSeen,srcAddr,dstAddr,srcPort,dstPort,proto,inPackets,inBytes,outPackets,outBytes,flows\n" +
			"2026-06-01 12:00:00.578,2026-06-01 12:00:01.638,10.0.0.5,47.88.1.1,40000,443,TCP,60,10170,60,76170,2\n" +
			"2026-06-01 12:00:00.578,2026-06-01 12:00:01.638,10.0.0.6,47.88.1.1,40000,443,TCP,1,40,0,0,1\n", []uint64{2, 1}},
		{"fmt output", "ts,te,sa,da,sp,dp,pr,ipkt,ibyt,opkt,obyt,fl\n" +
			"2026-06-01 12:00:00.578,2026-06-01 12:00:00.718,          10.0.0.5,  0.0.0.0,     0,     0,0    ,      80,   12360,       0,       0,    7\n", []uint64{7}},
		{"1.7.5 default csv", "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n" +
			"2026-06-01 12:00:00.578,0.140,UDP,10.0.0.5,5353,13.32.0.1,53,80,12360,3\n", []uint64{3}},
		{"no column", defaultHeader + "\n" + line1 + "\n", []uint64{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := flowtest.ParseAll(t, NewParser(), tt.text)
			if len(errs) != 0 {
				t.Fatalf("errors %+v", errs)
			}
			var got []uint64
			for _, r := range recs {
				got = append(got, r.Flows)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("flows mismatch (-want +got):\n%s", diff)
			}
		})
	}
	recs, errs := flowtest.ParseAll(t, NewParser(), "sa,da,fl\n10.0.0.1,10.0.0.2,many\n")
	if len(recs) != 0 || len(errs) != 1 || errs[0].Reason != flowlog.ReasonNumber {
		t.Errorf("bad flows column: records %+v, errors %+v; want one %q", recs, errs, flowlog.ReasonNumber)
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

// aggregatedCSV prints an nfcapd file with nfdump, aggregated by the given
// flags, as CSV with a flows column: with "-o csv:FORMAT" where nfdump has
// it (1.7.5 and later), else with "-o fmt:FORMAT" under a header line of
// ours, as docs/flows.md shows.
func aggregatedCSV(t *testing.T, bin, file string, agg ...string) string {
	t.Helper()
	const format = "%ts,%te,%sa,%da,%sp,%dp,%pr,%ipkt,%ibyt,%opkt,%obyt,%fl"
	args := append([]string{"-r", file, "-o", "csv:" + format}, agg...)
	if out, err := exec.Command(bin, args...).Output(); err == nil {
		return string(out)
	}
	args = append([]string{"-r", file, "-q", "-N", "-6", "-o", "fmt:" + format}, agg...)
	return "ts,te,sa,da,sp,dp,pr,ipkt,ibyt,opkt,obyt,fl\n" + string(flowtest.Run(t, bin, args...))
}

// TestRealNfdumpAggregated aggregates a real nfcapd file with nfdump (-a,
// -b, -A srcip, -A proto): the flows column of the rows must add up to the
// flows of the file, and the counters to its totals.
func TestRealNfdumpAggregated(t *testing.T) {
	bin := flowtest.LookPath(t, "nfdump")[0]
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	file := flowtest.NfcapdFile(t, flowtest.WritePcapFile(t, pkts))
	raw, errs := flowtest.ParseAll(t, NewParser(), string(flowtest.Run(t, bin, "-r", file, "-o", "csv")))
	if len(errs) != 0 || len(raw) == 0 {
		t.Fatalf("nfdump -o csv: %d records, errors %+v", len(raw), errs)
	}
	want := flowtest.Sum(pkts, true)
	for _, agg := range [][]string{{"-a"}, {"-b"}, {"-A", "srcip"}, {"-A", "proto"}} {
		t.Run(strings.Join(agg, " "), func(t *testing.T) {
			out := aggregatedCSV(t, bin, file, agg...)
			recs, errs := flowtest.ParseAll(t, NewParser(), out)
			if len(errs) != 0 {
				t.Fatalf("errors %+v\n%s", errs, out)
			}
			var flows uint64
			var got flowtest.Totals
			for _, r := range recs {
				flows += max(r.Flows, 1)
				got.Bytes += r.Bytes()
				got.Packets += r.Packets()
			}
			if flows != uint64(len(raw)) || got != want {
				t.Errorf("%d rows standing for %d flows, totals %+v; want %d flows, %+v\n%s", len(recs), flows, got, len(raw), want, out)
			}
			if len(agg) == 2 && agg[1] == "proto" && len(recs) != 2 {
				t.Errorf("%d rows, want one for TCP and one for UDP", len(recs))
			}
		})
	}
}

// startNfcapd runs nfcapd on a free loopback port, writing to dir, and
// returns the port and a function that stops nfcapd (so that it writes its
// file) and returns the file.
func startNfcapd(t *testing.T, bin, dir string) (int, func() string) {
	t.Helper()
	for range 5 {
		// The port can be taken between FreeUDPPort and nfcapd's bind:
		// start again on another one when nfcapd does not hold it.
		port := flowtest.FreeUDPPort(t)
		c := exec.Command(bin, "-b", "127.0.0.1", "-p", strconv.Itoa(port), "-w", dir, "-t", "3600")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { c.Wait(); close(exited) }()
		t.Cleanup(func() { c.Process.Kill(); <-exited })
		for range 150 {
			time.Sleep(20 * time.Millisecond)
			l, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil { // nfcapd holds the port
				return port, func() string {
					c.Process.Signal(syscall.SIGTERM)
					select {
					case <-exited:
					case <-time.After(5 * time.Second):
						t.Fatal("nfcapd did not stop")
					}
					files, _ := filepath.Glob(filepath.Join(dir, "nfcapd.*"))
					if len(files) != 1 {
						t.Fatalf("nfcapd wrote %q, want one file", files)
					}
					return files[0]
				}
			}
			l.Close()
		}
		c.Process.Kill()
		<-exited
	}
	t.Fatal("nfcapd did not bind a port in 5 attempts")
	return 0, nil
}

// TestRealNfcapdSampling has softflowd sample one packet in 4 and export it
// as NetFlow v5, whose header says so, to a real nfcapd: nfdump's CSV then
// holds counters nfcapd already multiplied by 4, which "sovmap flows" must
// not scale again (docs/flows.md).
func TestRealNfcapdSampling(t *testing.T) {
	bins := flowtest.LookPath(t, "nfcapd", "softflowd", "nfdump")
	const rate = 4
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	pcap := flowtest.WritePcapFile(t, pkts)
	port, stop := startNfcapd(t, bins[0], t.TempDir())
	flowtest.Run(t, bins[1], "-d", "-r", pcap, "-n", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "-v", "5",
		"-c", "none", "-s", strconv.Itoa(rate), "-p", filepath.Join(t.TempDir(), "softflowd.pid"))
	time.Sleep(200 * time.Millisecond) // let nfcapd read the datagram
	out := string(flowtest.Run(t, bins[2], "-r", stop(), "-o", "csv"))
	recs, errs := flowtest.ParseAll(t, NewParser(), out)
	if len(errs) != 0 {
		t.Fatalf("errors %+v", errs)
	}
	var got flowtest.Totals
	for _, r := range recs {
		got.Bytes += r.Bytes()
		got.Packets += r.Packets()
	}
	sampled := flowtest.Sum(flowtest.SampledBySoftflowd(pkts, rate, false), false)
	want := flowtest.Totals{Bytes: rate * sampled.Bytes, Packets: rate * sampled.Packets}
	if got != want {
		t.Errorf("nfdump CSV totals %+v, want %+v (%d times the %d sampled packets)\n%s", got, want, rate, sampled.Packets, out)
	}
}

func FuzzParser(f *testing.F) {
	f.Add(defaultHeader + "\n" + line1 + "\nSummary\n1,2,3")
	f.Add("sa,da,ibyt\n1.2.3.4,::1,5\nsa,da\n")
	f.Add("sa,da,fl\n1.2.3.4,5.6.7.8,3\n")
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
