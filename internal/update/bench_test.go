package update

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// peakHeap samples the live heap while it runs and returns a function that
// stops it and gives the peak in bytes.
func peakHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); wg.Wait(); return peak.Load() }
}

// BenchmarkRunFromSharedFeeds builds a snapshot as 'sovmap data update
// --from' does over the real feeds of the shared data: 13 feeds, 113,000
// ranges, over the embedded snapshot's routing data, which is kept.
//
//	go test ./internal/update -run '^$' -bench RunFromSharedFeeds -benchmem -benchtime 5x
func BenchmarkRunFromSharedFeeds(b *testing.B) {
	feeds := sharedFeeds(b)
	dir := b.TempDir()
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		os.Remove(SnapshotPath(dir)) // start from the embedded snapshot each time
		stop := peakHeap()
		rep, err := Run(context.Background(), Options{DataDir: dir, From: feeds})
		peak = max(peak, stop())
		if err != nil || !rep.OK() {
			b.Fatalf("Run: %v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkRunFullRouting builds a snapshot from a folder with full-size
// routing files as well: synthetic prefix-to-AS files of 1,000,000 IPv4 and
// 200,000 IPv6 prefixes (the size of RouteViews' tables in 2026) and RIR
// statistics of 500,000 records, which replace the origin AS and
// registration datasets; the location dataset is kept from the embedded
// snapshot.
//
//	go test ./internal/update -run '^$' -bench RunFullRouting -benchmem -benchtime 3x
func BenchmarkRunFullRouting(b *testing.B) {
	from := b.TempDir()
	writeSyntheticRouting(b, from)
	dir := b.TempDir()
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		os.Remove(SnapshotPath(dir))
		stop := peakHeap()
		rep, err := Run(context.Background(), Options{DataDir: dir, From: from})
		peak = max(peak, stop())
		// The directory holds routing files only: the embedded feeds
		// "disappear" from it, as they would, and are kept.
		if err != nil || slices.ContainsFunc(rep.Sources, func(s SourceReport) bool { return s.Failed && s.Kind == Routing.String() }) {
			b.Fatalf("Run: %v\n%s", err, dump(rep))
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// writeSyntheticRouting writes prefix-to-AS and delegated files of a real
// table's size into dir.
func writeSyntheticRouting(b *testing.B, dir string) {
	rng := rand.New(rand.NewPCG(5, 6))
	write := func(name string, fn func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fn(w)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	asn := func() uint32 { return 1 + uint32(rng.IntN(80000)) }
	write("routeviews-prefix2as-ipv4.txt", func(w *bufio.Writer) {
		for range 1_000_000 {
			bits := 16 + rng.IntN(9)
			a := rng.Uint32N(223<<24) + 1<<24
			a &^= 1<<(32-bits) - 1
			fmt.Fprintf(w, "%d.%d.%d.%d\t%d\t%d\n", a>>24, a>>16&255, a>>8&255, a&255, bits, asn())
		}
	})
	write("routeviews-prefix2as-ipv6.txt", func(w *bufio.Writer) {
		for range 200_000 {
			bits := 32 + rng.IntN(17)
			hi := 0x2000<<48 | rng.Uint64N(1<<61)
			hi &^= 1<<(64-bits) - 1
			fmt.Fprintf(w, "%x:%x:%x::\t%d\t%d\n", hi>>48, hi>>32&0xffff, hi>>16&0xffff, bits, asn())
		}
	})
	ccs := []string{"US", "CN", "DE", "BR", "JP", "FR", "GB", "IN", "ZA", "NL"}
	for i, rir := range []string{"afrinic", "apnic", "arin", "lacnic", "ripencc"} {
		write("delegated-"+rir+"-extended-latest", func(w *bufio.Writer) {
			const n = 100_000
			fmt.Fprintf(w, "2.3|%s|20260801|%d|19830101|20260731|+0000\n", rir, n)
			// Disjoint blocks: each registry its own /8s.
			next := uint32(10+40*i) << 24
			for k := range n {
				if k%5 == 4 {
					fmt.Fprintf(w, "%s|%s|ipv6|2%03x:%x::|32|20100101|allocated|x\n", rir, ccs[rng.IntN(len(ccs))], 0x400+i, k)
					continue
				}
				size := uint32(256) << rng.IntN(6)
				fmt.Fprintf(w, "%s|%s|ipv4|%d.%d.%d.%d|%d|20100101|allocated|x\n", rir, ccs[rng.IntN(len(ccs))],
					next>>24, next>>16&255, next>>8&255, next&255, size)
				next += size
			}
		})
	}
}
