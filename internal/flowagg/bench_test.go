package flowagg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/flowagg"
	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowfile"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// engine returns the engine "sovmap flows" uses: the embedded snapshot and
// catalog.
func engine(b testing.TB) *attribution.Engine {
	b.Helper()
	t, err := snapshot.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	c, err := catalog.Load()
	if err != nil {
		b.Fatal(err)
	}
	return attribution.NewEngine(t, c, attribution.SourceLabels{})
}

// fresh returns a new engine over the tables of e: its verdicts are not
// cached yet, as in a new process.
func fresh(e *attribution.Engine) *attribution.Engine {
	return attribution.NewEngine(e.Routes(), e.Catalog(), attribution.SourceLabels{})
}

// benchFlows measures what "sovmap flows FILE" does on one core: read a
// synthetic conn.log from a file (in the page cache), parse, aggregate, and
// attribute each of its distinct remote addresses (spread over the whole
// routing table) once, with a new engine each time, whose verdicts are not
// yet cached, as in a new process. What a process does once (load the
// catalog and the snapshot) is not counted. Run with -cpu 1.
//
// Two spreads of the remote addresses: "uniform", 500,000 connections to
// 100,000 remotes drawn evenly, the hard case, where aggregation and
// attribution cost about as much as parsing; and "zipf", the same number of
// connections to remotes drawn from a pool of 100,000 with Zipf's law
// (s = 1.1), as traffic concentrates on few services, which leaves about
// 36,000 distinct remotes.
func benchFlows(b *testing.B, asJSON bool) {
	b.Run("uniform", func(b *testing.B) { benchFlowsOn(b, asJSON, flowtest.RemoteAddrs(100_000, 7)) })
	b.Run("zipf", func(b *testing.B) {
		pool := flowtest.RemoteAddrs(100_000, 7)
		z := rand.NewZipf(rand.New(rand.NewPCG(7, 7)), 1.1, 1, uint64(len(pool)-1))
		draws := make([]netip.Addr, 500_000)
		for i := range draws {
			draws[i] = pool[z.Uint64()]
		}
		benchFlowsOn(b, asJSON, draws)
	})
}

func benchFlowsOn(b *testing.B, asJSON bool, remotes []netip.Addr) {
	const lines = 500_000
	data := flowtest.ConnLog(lines, remotes, 7, asJSON)
	path := filepath.Join(b.TempDir(), "conn.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	base := engine(b) // the snapshot decoded, the catalog loaded, once
	base.Attribute(netip.MustParseAddr("8.8.8.8"))
	if t, ok := base.Routes().(*snapshot.Table); ok {
		t.Expand()
	}
	local := flowagg.NewLocal(flowagg.DefaultLocal())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var records int64
	cpu0 := flowtest.CPUTime()
	for b.Loop() {
		eng := fresh(base)
		var tally flowlog.Tally
		agg := flowagg.New(local)
		r := flowfile.Reader{Tally: &tally, Fields: flowagg.Fields}
		if err := r.Read(context.Background(), path, agg.Add); err != nil {
			b.Fatal(err)
		}
		s := agg.Summarize(eng, flowagg.Options{Top: 10})
		a := tally.Accounting()
		if a.Skipped != 0 || s.Remote.Flows == 0 {
			b.Fatalf("accounting %+v", a)
		}
		records += a.Records
		b.ReportMetric(float64(s.Remotes), "remotes")
	}
	flowtest.ReportRates(b, cpu0, records, int64(len(data)))
}

// BenchmarkFlowsZeekTSV is "sovmap flows" on a Zeek TSV conn.log.
func BenchmarkFlowsZeekTSV(b *testing.B) { benchFlows(b, false) }

// BenchmarkFlowsZeekJSON is "sovmap flows" on Zeek JSON lines.
func BenchmarkFlowsZeekJSON(b *testing.B) { benchFlows(b, true) }

// BenchmarkAggregate measures Aggregator.Add alone.
func BenchmarkAggregate(b *testing.B) {
	addrs := flowtest.RemoteAddrs(100_000, 3)
	recs := make([]flowlog.Record, 1<<16)
	for i := range recs {
		r := &recs[i]
		r.Src = netip.MustParseAddrPort("10.0.0.5:40000")
		r.Dst = netip.AddrPortFrom(addrs[i%len(addrs)], 443)
		r.Proto, r.SrcBytes, r.DstBytes, r.SrcPackets, r.DstPackets = 6, 500, 5000, 5, 6
	}
	agg := flowagg.New(flowagg.NewLocal(flowagg.DefaultLocal()))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		agg.Add(&recs[i&(len(recs)-1)])
		i++
	}
}

// BenchmarkMemory reports the heap an aggregator holds for N distinct
// remote addresses, after 1 and after 10 records per remote: memory follows
// the remotes, not the records.
func BenchmarkMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		for _, per := range []int{1, 10} {
			if n*per > 2_000_000 {
				continue // 1M remotes once: the 100k case shows records do not add memory
			}
			b.Run(fmt.Sprintf("remotes=%d/records=%d", n, n*per), func(b *testing.B) {
				addrs := flowtest.RemoteAddrs(n, 5)
				src := netip.MustParseAddrPort("10.0.0.5:40000")
				var perRemote float64
				for b.Loop() {
					runtime.GC()
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					agg := flowagg.New(flowagg.NewLocal(flowagg.DefaultLocal()))
					var r flowlog.Record
					for k := 0; k < per; k++ {
						for _, a := range addrs {
							r.Src, r.Dst, r.Proto, r.SrcBytes = src, netip.AddrPortFrom(a, 443), 6, 100
							agg.Add(&r)
						}
					}
					runtime.GC()
					runtime.ReadMemStats(&after)
					perRemote = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
					runtime.KeepAlive(agg)
				}
				b.ReportMetric(perRemote, "B/remote")
			})
		}
	}
}

// BenchmarkSummarize measures Summarize alone on 100,000 remotes spread
// over the whole routing table, with the engine's caches cold (a new
// engine each time, as each "sovmap flows" run has) and warm.
func BenchmarkSummarize(b *testing.B) {
	agg := flowagg.New(flowagg.NewLocal(flowagg.DefaultLocal()))
	src := netip.MustParseAddrPort("10.1.2.3:50000")
	rng := rand.New(rand.NewPCG(5, 5))
	for _, a := range flowtest.RemoteAddrs(100_000, 5) {
		r := flowlog.Record{Src: src, Dst: netip.AddrPortFrom(a, 443), Proto: 6, SrcBytes: rng.Uint64N(100_000), DstBytes: 1000}
		agg.Add(&r)
	}
	for _, cold := range []bool{true, false} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			eng := engine(b)
			agg.Summarize(eng, flowagg.Options{Top: 10})
			b.ReportAllocs()
			for b.Loop() {
				if cold {
					eng = fresh(eng)
				}
				agg.Summarize(eng, flowagg.Options{Top: 10})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/remote")
		})
	}
}
