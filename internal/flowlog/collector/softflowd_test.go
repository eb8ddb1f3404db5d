package collector

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// received gathers what a collector's sink was given.
type received struct {
	mu        sync.Mutex
	totals    flowtest.Totals
	flows     int
	exporters map[netip.AddrPort]int
	recs      []flowlog.Record
}

func (r *received) sink(_ int, exp netip.AddrPort, flows []flowlog.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exporters == nil {
		r.exporters = make(map[netip.AddrPort]int)
	}
	for _, f := range flows {
		r.totals.Bytes += f.Bytes()
		r.totals.Packets += f.Packets()
		r.flows++
		r.exporters[exp]++
		r.recs = append(r.recs, f)
	}
}

func (r *received) get() (flowtest.Totals, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals, r.flows
}

// startCollector runs a collector on a loopback port until the test ends.
func startCollector(t *testing.T, r *received) (*Collector, string) {
	t.Helper()
	return startCollectorWith(t, r, func(*Collector) {})
}

// startCollectorWith is startCollector with a collector set up by setup.
func startCollectorWith(t *testing.T, r *received, setup func(*Collector)) (*Collector, string) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := &Collector{Conn: conn, Sink: r.sink, Workers: 2}
	setup(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c, conn.LocalAddr().String()
}

// waitFor polls until the collector has decoded what it should, or times
// out.
func waitFor(t *testing.T, r *received, want flowtest.Totals) (flowtest.Totals, int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, n := r.get()
		if got == want || time.Now().After(deadline) {
			return got, n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSoftflowd has softflowd read a capture the test writes and export
// its flows to the collector as NetFlow v5, v9 and IPFIX; the collector
// must report exactly the bytes and packets of the capture.
func TestSoftflowd(t *testing.T) {
	flowtest.LookPath(t, "softflowd")
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	pcap := flowtest.WritePcapFile(t, pkts)
	for _, version := range []string{"5", "9", "10"} {
		t.Run("v"+version, func(t *testing.T) {
			var r received
			c, addr := startCollector(t, &r)
			flowtest.Softflowd(t, pcap, addr, version)
			want := flowtest.Sum(pkts, version != "5")
			got, n := waitFor(t, &r, want)
			if got != want {
				t.Errorf("collector totals = %+v, want %+v (from the capture)", got, want)
			}
			st := c.Stats()
			t.Logf("%d flows; stats %+v", n, st)
			if st.Dropped != 0 || st.Errors != 0 || st.Misses != 0 {
				t.Errorf("stats = %+v, want no drops, decode errors or template misses", st)
			}
			if len(st.Exporters) != 1 || st.Exporters[0].Flows != uint64(n) || fmt.Sprint(st.Exporters[0].Version) != version {
				t.Errorf("exporters = %+v, want one of version %s with %d flows", st.Exporters, version, n)
			}
			// Every flow is between the capture's addresses, in one of
			// its directions, with its times.
			ends := make(map[[2]netip.AddrPort]bool)
			for _, p := range pkts {
				ends[[2]netip.AddrPort{p.Src, p.Dst}] = true
			}
			for _, rec := range r.recs {
				if !ends[[2]netip.AddrPort{rec.Src, rec.Dst}] {
					t.Errorf("flow %v -> %v is not in the capture", rec.Src, rec.Dst)
				}
				if rec.Start.IsZero() || rec.End.IsZero() || rec.End.Before(rec.Start) {
					t.Errorf("flow %v -> %v has times %v to %v", rec.Src, rec.Dst, rec.Start, rec.End)
				}
			}
		})
	}
}

// TestSoftflowdExporters has three softflowd exporters (v5, v9, IPFIX)
// send to one collector at once: each is counted apart, with its own
// templates.
func TestSoftflowdExporters(t *testing.T) {
	flowtest.LookPath(t, "softflowd")
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	pcap := flowtest.WritePcapFile(t, pkts)
	var r received
	c, addr := startCollector(t, &r)
	var wg sync.WaitGroup
	for _, v := range []string{"5", "9", "10"} {
		wg.Go(func() { flowtest.Softflowd(t, pcap, addr, v) })
	}
	wg.Wait()
	v4, all := flowtest.Sum(pkts, false), flowtest.Sum(pkts, true)
	want := flowtest.Totals{Bytes: v4.Bytes + 2*all.Bytes, Packets: v4.Packets + 2*all.Packets}
	if got, _ := waitFor(t, &r, want); got != want {
		t.Errorf("collector totals = %+v, want %+v", got, want)
	}
	st := c.Stats()
	if len(st.Exporters) != 3 || len(st.Versions) != 3 {
		t.Errorf("stats = %+v, want 3 exporters of versions 5, 9, 10", st)
	}
}

// TestNfreplay replays a real nfcapd file (written by nfcapd from
// softflowd's export) to the collector as NetFlow v5 and v9 with nfreplay;
// the collector must count what nfdump reads in the file.
func TestNfreplay(t *testing.T) {
	bins := flowtest.LookPath(t, "nfreplay", "nfdump")
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	file := flowtest.NfcapdFile(t, flowtest.WritePcapFile(t, pkts))
	for _, version := range []string{"5", "9"} {
		t.Run("v"+version, func(t *testing.T) {
			var r received
			c, addr := startCollector(t, &r)
			host, port, _ := net.SplitHostPort(addr)
			flowtest.Run(t, bins[0], "-r", file, "-H", host, "-p", port, "-v", version)
			want := flowtest.Sum(pkts, version == "9")
			if got, _ := waitFor(t, &r, want); got != want {
				t.Errorf("collector totals = %+v, want %+v", got, want)
			}
			if st := c.Stats(); st.Errors != 0 || st.Dropped != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// softflowdSampled has softflowd export the capture at pcap to addr with
// the export version, sampling one packet in rate ("-s").
func softflowdSampled(t *testing.T, pcap, addr, version string, rate int) {
	t.Helper()
	bin := flowtest.LookPath(t, "softflowd")[0]
	args := []string{"-d", "-r", pcap, "-n", addr, "-v", version, "-c", "none", "-s", fmt.Sprint(rate),
		"-p", filepath.Join(t.TempDir(), "softflowd.pid")}
	if version != "5" {
		args = append(args, "-6")
	}
	flowtest.Run(t, bin, args...)
}

// TestSoftflowdSampling has softflowd sample one packet in 4 and export as
// NetFlow v5 (rate in the header), v9 (an options record with
// samplingInterval) and IPFIX (PSAMP samplingPacketInterval 1 and
// samplingPacketSpace 3). The collector must report 4 times the bytes and
// packets of the packets softflowd sampled, which for the packet count is
// the capture's, and the rate it applied; with NoSamplingScale, the
// sampled counts as they are.
func TestSoftflowdSampling(t *testing.T) {
	flowtest.LookPath(t, "softflowd")
	const rate = 4
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	pcap := flowtest.WritePcapFile(t, pkts)
	for _, version := range []string{"5", "9", "10"} {
		for _, noScale := range []bool{false, true} {
			t.Run(fmt.Sprintf("v%s/noScale=%v", version, noScale), func(t *testing.T) {
				var r received
				c, addr := startCollectorWith(t, &r, func(c *Collector) { c.NoSamplingScale = noScale })
				softflowdSampled(t, pcap, addr, version, rate)
				sampled := flowtest.Sum(flowtest.SampledBySoftflowd(pkts, rate, version != "5"), true)
				want, applied := sampled, uint32(1)
				if !noScale {
					want, applied = flowtest.Totals{Bytes: rate * sampled.Bytes, Packets: rate * sampled.Packets}, rate
					if capture := flowtest.Sum(pkts, version != "5"); want.Packets != capture.Packets {
						t.Errorf("scaled packets %d, want the capture's %d", want.Packets, capture.Packets)
					}
				}
				if got, _ := waitFor(t, &r, want); got != want {
					t.Errorf("collector totals = %+v, want %+v (%d sampled packets of %d)", got, want, sampled.Packets, len(pkts))
				}
				st := c.Stats()
				if len(st.Exporters) != 1 {
					t.Fatalf("stats %+v, want one exporter", st)
				}
				if x := st.Exporters[0]; x.SamplingRate != applied || x.AnnouncedSamplingRate != rate {
					t.Errorf("exporter rates applied %d, announced %d; want %d, %d", x.SamplingRate, x.AnnouncedSamplingRate, applied, rate)
				}
			})
		}
	}
}

// TestSoftflowdDefaultRate checks Collector.SamplingRate: it applies to
// an exporter that announces no rate (softflowd's v5 without -s leaves the
// header field zero), not to one that announces it does not sample
// (softflowd's IPFIX says interval 1, space 0).
func TestSoftflowdDefaultRate(t *testing.T) {
	flowtest.LookPath(t, "softflowd")
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	pcap := flowtest.WritePcapFile(t, pkts)
	for _, tt := range []struct {
		version       string
		scale         uint64
		applied, anno uint32
	}{
		{"5", 10, 10, 0},
		{"10", 1, 1, 1},
	} {
		t.Run("v"+tt.version, func(t *testing.T) {
			var r received
			c, addr := startCollectorWith(t, &r, func(c *Collector) { c.SamplingRate = 10 })
			flowtest.Softflowd(t, pcap, addr, tt.version)
			sum := flowtest.Sum(pkts, tt.version != "5")
			want := flowtest.Totals{Bytes: tt.scale * sum.Bytes, Packets: tt.scale * sum.Packets}
			if got, _ := waitFor(t, &r, want); got != want {
				t.Errorf("collector totals = %+v, want %+v", got, want)
			}
			if x := c.Stats().Exporters[0]; x.SamplingRate != tt.applied || x.AnnouncedSamplingRate != tt.anno {
				t.Errorf("exporter rates applied %d, announced %d; want %d, %d", x.SamplingRate, x.AnnouncedSamplingRate, tt.applied, tt.anno)
			}
		})
	}
}
