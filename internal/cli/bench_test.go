package cli

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// benchAddrs returns n addresses spread over the routed address space of
// the embedded snapshot: random addresses, kept when the snapshot knows
// them, so that lookups land all over the table (cache-cold). A fifth are
// IPv6.
func benchAddrs(tb testing.TB, t *snapshot.Table, n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		var a netip.Addr
		if rng.IntN(5) == 0 {
			// Global unicast space that is densely routed.
			hi := uint64(0x2000+rng.IntN(0xc00))<<48 | rng.Uint64()>>16
			a = ipindex.U128Addr(ipindex.U128{Hi: hi, Lo: rng.Uint64()})
		} else {
			a = ipindex.U32Addr(rng.Uint32())
		}
		if _, _, ok := t.Lookup(a); ok {
			out = append(out, a)
		}
	}
	return out
}

func benchEngine(b *testing.B) (*attribution.Engine, *snapshot.Table) {
	var df dataFlags
	eng, t, err := df.engine(nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := t.Expand(); err != nil {
		b.Fatal(err)
	}
	return eng, t
}

// BenchmarkAttribute measures in-process attribution of cache-cold
// addresses over the full IPv4+IPv6 table: lookup, route, verdict.
func BenchmarkAttribute(b *testing.B) {
	eng, t := benchEngine(b)
	addrs := benchAddrs(b, t, 1<<20)
	for _, a := range addrs[:1<<16] { // warm the verdict cache, not the CPU cache
		eng.Attribute(a)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := eng.Attribute(addrs[i&(1<<20-1)])
		if r.Confidence == "" {
			b.Fatal("empty record")
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Maddr/s")
}

// BenchmarkRouteLookup measures the snapshot lookup alone.
func BenchmarkRouteLookup(b *testing.B) {
	_, t := benchEngine(b)
	addrs := benchAddrs(b, t, 1<<20)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t.Lookup(addrs[i&(1<<20-1)])
		i++
	}
}

// BenchmarkAppendJSON measures the JSON fast path of "ip --json".
func BenchmarkAppendJSON(b *testing.B) {
	eng, t := benchEngine(b)
	addrs := benchAddrs(b, t, 1<<20)
	buf := make([]byte, 0, 4096)
	for _, a := range addrs {
		eng.AppendJSON(buf[:0], a)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = eng.AppendJSON(buf[:0], addrs[i&(1<<20-1)])
		i++
	}
}

// BenchmarkIPJSONStream measures "sovmap ip --json" end to end on a million
// addresses from standard input: read, parse, attribute, encode, write. The
// engine and snapshot are loaded once outside the timer, as in a long run.
func BenchmarkIPJSONStream(b *testing.B) {
	_, t := benchEngine(b)
	addrs := benchAddrs(b, t, 1_000_000)
	var in bytes.Buffer
	for _, a := range addrs {
		in.WriteString(a.String())
		in.WriteByte('\n')
	}
	ctx := context.Background()
	b.SetBytes(int64(in.Len()))
	b.ResetTimer()
	for b.Loop() {
		if code := Run(ctx, []string{"ip", "--json"}, bytes.NewReader(in.Bytes()), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(len(addrs))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Maddr/s")
}

// BenchmarkLoadEngine measures what a fresh "sovmap ip X" process does
// before its first lookup: read and open the snapshot (checksum, directory),
// load the catalog, and look one address up. The snapshot is the embedded
// file, read from disk as a data-directory snapshot is.
func BenchmarkLoadEngine(b *testing.B) {
	t, err := snapshot.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "sovmap.snap")
	var raw bytes.Buffer
	if err := t.Encode(&raw); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, raw.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		df := dataFlags{snapshot: path}
		eng, _, err := df.engine(nil)
		if err != nil {
			b.Fatal(err)
		}
		eng.Attribute(netip.MustParseAddr("47.88.1.1"))
	}
}

// BenchmarkExpandedMemory reports the heap the fully expanded table and a
// warm verdict cache take.
func BenchmarkExpandedMemory(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		raw, _ := snapshot.Embedded()
		var buf bytes.Buffer
		raw.Encode(&buf)
		t, err := snapshot.Decode(buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		if err := t.Expand(); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap")
		runtime.KeepAlive(t)
	}
}

// TestAttributeMany checks AttributeMany against Attribute on the embedded
// table, lazily decoded and expanded, over addresses spread across IPv4 and
// IPv6, IPv4-mapped ones, and addresses without a route.
func TestAttributeMany(t *testing.T) {
	var df dataFlags
	eng, tb, err := df.engine(nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var addrs []netip.Addr
	for range 5000 {
		switch rng.IntN(6) {
		case 0:
			hi := uint64(0x2000+rng.IntN(0xc00))<<48 | rng.Uint64()>>16
			addrs = append(addrs, ipindex.U128Addr(ipindex.U128{Hi: hi, Lo: rng.Uint64()}))
		case 1:
			addrs = append(addrs, netip.AddrFrom16(ipindex.U32Addr(rng.Uint32()).As16()))
		default:
			addrs = append(addrs, ipindex.U32Addr(rng.Uint32()))
		}
	}
	addrs = append(addrs, netip.MustParseAddr("47.88.1.1"), netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("0.0.0.1"), netip.MustParseAddr("::1"))
	check := func(stage string) {
		got := make([]attribution.Record, len(addrs))
		eng.AttributeMany(addrs, got)
		for i, a := range addrs {
			want := eng.Attribute(a)
			if string(got[i].AppendJSON(nil)) != string(want.AppendJSON(nil)) {
				t.Fatalf("%s: AttributeMany(%s) =\n%s\nAttribute gives\n%s", stage, a, got[i].AppendJSON(nil), want.AppendJSON(nil))
			}
		}
		ends, keys := make([]int, len(addrs)), make([]int, len(addrs))
		b := eng.AppendJSONMany(nil, addrs, ends, keys)
		start := 0
		for i, a := range addrs {
			want, wantKey := eng.AppendJSONKey(nil, a)
			if got := b[start:ends[i]]; string(got) != string(want) || keys[i] != wantKey {
				t.Fatalf("%s: AppendJSONMany(%s) = %s, key %d\nAppendJSONKey gives %s, key %d", stage, a, got, keys[i], want, wantKey)
			}
			start = ends[i]
		}
	}
	check("lazy") // the first look-ups decode blocks; the rest expand the table
	if err := tb.Expand(); err != nil {
		t.Fatal(err)
	}
	check("expanded")
	fresh := attribution.NewEngine(tb, eng.Catalog(), attribution.SourceLabels{})
	eng = fresh
	check("expanded, verdicts not cached") // AttributeMany first
	eng = attribution.NewEngine(tb, eng.Catalog(), attribution.SourceLabels{})
	ends, keys := make([]int, len(addrs)), make([]int, len(addrs))
	eng.AppendJSONMany(nil, addrs, ends, keys)
	check("expanded, verdicts made by AppendJSONMany")
}

// BenchmarkAttributeMany is BenchmarkAttribute through AttributeMany, 64
// addresses a call.
func BenchmarkAttributeMany(b *testing.B) {
	eng, t := benchEngine(b)
	addrs := benchAddrs(b, t, 1<<20)
	out := make([]attribution.Record, 64)
	for i := 0; i < 1<<16; i += 64 {
		eng.AttributeMany(addrs[i:i+64], out)
	}
	b.ReportAllocs()
	i := 0
	n := 0
	for b.Loop() {
		eng.AttributeMany(addrs[i:i+64], out)
		i = (i + 64) & (1<<20 - 1)
		n += 64
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/addr")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "Maddr/s")
}

// TestIPJSONBatches checks that "ip --json", which attributes addresses in
// batches, writes one record per input line in input order, error records
// in place, with and without a policy, across batch boundaries.
func TestIPJSONBatches(t *testing.T) {
	var df dataFlags
	eng, _, err := df.engine(nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var in bytes.Buffer
	var want []string
	for i := range 1000 {
		if i%97 == 0 {
			in.WriteString("not-an-address\n")
			want = append(want, "error")
			continue
		}
		a := ipindex.U32Addr(rng.Uint32())
		if i%5 == 0 {
			a = ipindex.U128Addr(ipindex.U128{Hi: uint64(0x2000+rng.IntN(0xc00))<<48 | rng.Uint64()>>16, Lo: rng.Uint64()})
		}
		in.WriteString(a.String() + "\n")
		rec, _ := eng.AppendJSONKey(nil, a)
		want = append(want, string(rec))
	}
	for _, args := range [][]string{{"ip", "--json"}, {"ip", "--json", "--policy", "us-icts"}} {
		var stdout, stderr bytes.Buffer
		Run(context.Background(), args, bytes.NewReader(in.Bytes()), &stdout, &stderr)
		lines := bytes.Split(bytes.TrimSuffix(stdout.Bytes(), []byte("\n")), []byte("\n"))
		if len(lines) != len(want) {
			t.Fatalf("%v: %d lines, want %d", args, len(lines), len(want))
		}
		for i, l := range lines {
			switch {
			case want[i] == "error":
				if !bytes.Contains(l, []byte(`"error":`)) {
					t.Fatalf("%v: line %d = %s, want an error record", args, i+1, l)
				}
			case len(args) == 2:
				if string(l) != want[i] {
					t.Fatalf("%v: line %d = %s, want %s", args, i+1, l, want[i])
				}
			default: // with findings: the record, then its findings
				if !bytes.HasPrefix(l, []byte(want[i][:len(want[i])-1])) {
					t.Fatalf("%v: line %d = %s, want it to start with %s", args, i+1, l, want[i])
				}
			}
		}
	}
}
