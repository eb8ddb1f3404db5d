package collector

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowagg"
	"github.com/sovmap/sovmap/internal/flowlog"
)

// flowsPerPacket is what a typical exporter packs in a 1,500-byte packet
// with the test template (45 bytes a record).
const flowsPerPacket = 30

// BenchmarkDecodeIPFIX measures decoding alone: IPFIX packets of 30 flows
// with a known template, on one goroutine.
func BenchmarkDecodeIPFIX(b *testing.B) {
	e := newExporter(netip.MustParseAddrPort("127.0.0.1:9"), 0)
	var flows int
	d := decoder{sink: func(_ int, _ netip.AddrPort, f []flowlog.Record) { flows += len(f) }}
	d.decode(e, ipfixPacket(1, 256, true, nil))
	pkt := ipfixPacket(1, 256, false, testFlows(flowsPerPacket))
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		d.decode(e, pkt)
	}
	b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkCollectorRate sends IPFIX over loopback to a collector that
// aggregates as "sovmap collect" does, at rising rates, and reports the
// highest rate at which
// every flow sent was decoded: no packet dropped by the collector's queues
// nor lost in the kernel's socket buffer. The rate rises by half each step,
// from 1,000 packets/s, 300 ms a step. Run with -benchtime 1x.
func BenchmarkCollectorRate(b *testing.B) {
	for b.Loop() {
		best := rampRate(b)
		b.ReportMetric(float64(best*flowsPerPacket), "flows/s-before-drop")
		b.ReportMetric(float64(best), "packets/s-before-drop")
	}
}

func rampRate(b *testing.B) int {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	shards := flowagg.NewShards(1, flowagg.NewLocal(flowagg.DefaultLocal()))
	var decoded atomic.Int64
	c := &Collector{Conn: conn, Sink: func(w int, _ netip.AddrPort, f []flowlog.Record) {
		shards.Add(w, f)
		decoded.Add(int64(len(f)))
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	out, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	out.Write(ipfixPacket(1, 256, true, nil))
	pkt := ipfixPacket(1, 256, false, testFlows(flowsPerPacket))
	best := 0
	for rate := 1000; rate <= 1<<20; rate = rate * 3 / 2 {
		before := decoded.Load()
		sent := 0
		const step = 300 * time.Millisecond
		start := time.Now()
		tick := time.NewTicker(time.Millisecond)
		for time.Since(start) < step {
			<-tick.C
			due := int(float64(rate) * time.Since(start).Seconds())
			for ; sent < due; sent++ {
				out.Write(pkt)
			}
		}
		tick.Stop()
		elapsed := time.Since(start)
		// Let the decoders finish, then count.
		deadline := time.Now().Add(2 * time.Second)
		for decoded.Load()-before < int64(sent*flowsPerPacket) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		got := decoded.Load() - before
		shards.Take()
		if got < int64(sent*flowsPerPacket) {
			b.Logf("%d packets/s: %d of %d flows (%d dropped by the collector)", rate, got, sent*flowsPerPacket, c.Stats().Dropped)
			break
		}
		best = int(float64(sent) / elapsed.Seconds())
		b.Logf("%d packets/s target: all %d flows decoded", rate, got)
	}
	return best
}
