package ipindex_test

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/gaissmai/bart"

	"github.com/sovmap/sovmap/internal/ipindex"
)

// The benchmarks run over tables of about 600,000 segments flattened from
// random prefixes of realistic lengths (mostly /24 for IPv4, /32 to /48 for
// IPv6) with about a third of them nested in larger ones: the size of the
// embedded snapshot's IPv4 table. The IPv6 prefixes crowd into a hundred
// /16s, as real IPv6 allocations do. BenchmarkBartLookup looks the same
// addresses up in a bart.Table holding the same prefixes, for comparison.
//
// The cold rings hold 1<<20 random addresses inside the prefixes, far more
// than fit in cache together with the table; the hot rings hold 1,024.

const (
	benchPrefixes = 320_000
	coldRing      = 1 << 20
	hotRing       = 1 << 10
)

type benchFixture struct {
	v4         *ipindex.V4
	v6         *ipindex.V6
	bart       *bart.Table[uint32]
	ring4      []uint32
	ring6      []ipindex.U128
	addr4      []netip.Addr // ring4 as addresses
	addr6      []netip.Addr // ring6 as addresses
	prefixes46 [2]int
}

var benchData = sync.OnceValue(func() *benchFixture {
	f := &benchFixture{bart: new(bart.Table[uint32])}
	r := rand.New(rand.NewPCG(42, 42))
	for _, width := range []int{32, 128} {
		rs, nbits := benchPrefixList(r, width, benchPrefixes)
		maxA := max4
		if width == 128 {
			maxA = max6
		}
		starts, vals := merge(paint(rs, maxA))
		for i, x := range rs {
			var a netip.Addr
			if width == 32 {
				a = ipindex.U32Addr(uint32(x.first.Lo))
			} else {
				a = ipindex.U128Addr(x.first)
			}
			f.bart.Insert(netip.PrefixFrom(a, nbits[i]), x.val)
		}
		ring := make([]ipindex.U128, coldRing)
		for i := range ring {
			x := rs[r.IntN(len(rs))]
			ring[i] = randIn(r, x.first, x.last)
		}
		if width == 32 {
			s4 := make([]uint32, len(starts))
			for i, s := range starts {
				s4[i] = uint32(s.Lo)
			}
			t, err := ipindex.NewV4(s4, vals)
			if err != nil {
				panic(err)
			}
			f.v4 = t
			f.ring4 = make([]uint32, coldRing)
			f.addr4 = make([]netip.Addr, coldRing)
			for i, a := range ring {
				f.ring4[i] = uint32(a.Lo)
				f.addr4[i] = ipindex.U32Addr(uint32(a.Lo))
			}
			f.prefixes46[0] = len(rs)
		} else {
			t, err := ipindex.NewV6(starts, vals)
			if err != nil {
				panic(err)
			}
			f.v6 = t
			f.ring6 = ring
			f.addr6 = make([]netip.Addr, coldRing)
			for i, a := range ring {
				f.addr6[i] = ipindex.U128Addr(a)
			}
			f.prefixes46[1] = len(rs)
		}
	}
	return f
})

// benchPrefixList returns n distinct random prefixes of a family with
// non-zero values, and their lengths.
func benchPrefixList(r *rand.Rand, width, n int) ([]rng, []int) {
	type key struct {
		first ipindex.U128
		nbits int
	}
	seen := make(map[key]bool, n)
	rs := make([]rng, 0, n)
	nbits := make([]int, 0, n)
	for len(rs) < n {
		var a ipindex.U128
		var nb int
		if width == 32 {
			a = ipindex.U128{Lo: uint64(r.Uint32())}
			lens := []int{8, 12, 14, 16, 16, 17, 18, 19, 20, 20, 21, 22, 22, 22, 23, 23, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24}
			nb = lens[r.IntN(len(lens))]
		} else {
			// Like the real table: a hundred /16s of the RIR blocks, a few
			// of them crowded (the embedded snapshot has 347k IPv6 segments
			// in 126 /16s, up to 45k in one).
			top := v6Tops[min(r.IntN(len(v6Tops)), r.IntN(len(v6Tops)), r.IntN(len(v6Tops)))]
			a = ipindex.U128{Hi: top<<48 | r.Uint64()>>16, Lo: r.Uint64()}
			lens := []int{19, 20, 24, 28, 29, 32, 32, 32, 32, 36, 40, 40, 44, 44, 46, 47, 48, 48, 48, 48, 48, 48, 56, 64}
			nb = lens[r.IntN(len(lens))]
		}
		lo, hi := prefixRange(a, nb, width)
		if seen[key{lo, nb}] {
			continue
		}
		seen[key{lo, nb}] = true
		rs = append(rs, rng{lo, hi, r.Uint32N(100_000) + 1})
		nbits = append(nbits, nb)
	}
	return rs, nbits
}

// v6Tops are the leading 16 bits of the benchmark's IPv6 prefixes, the
// most crowded first.
var v6Tops = func() []uint64 {
	var out []uint64
	for _, base := range []uint64{0x2a00, 0x2600, 0x2400, 0x2001, 0x2800, 0x2c00, 0x2a10} {
		for i := range uint64(16) {
			out = append(out, base+i)
		}
	}
	return out
}()

var sink uint32

func BenchmarkV4Find(b *testing.B) {
	f := benchData()
	b.Logf("%d prefixes, %d segments", f.prefixes46[0], f.v4.Len())
	for _, bc := range []struct {
		name string
		n    int
	}{{"cold", coldRing}, {"hot", hotRing}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ring, mask := f.ring4[:bc.n], bc.n-1
			var s uint32
			i := 0
			for b.Loop() {
				s += uint32(f.v4.Find(ring[i&mask]))
				i++
			}
			sink = s
		})
	}
}

func BenchmarkV6Find(b *testing.B) {
	f := benchData()
	b.Logf("%d prefixes, %d segments", f.prefixes46[1], f.v6.Len())
	for _, bc := range []struct {
		name string
		n    int
	}{{"cold", coldRing}, {"hot", hotRing}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ring, mask := f.ring6[:bc.n], bc.n-1
			var s uint32
			i := 0
			for b.Loop() {
				s += uint32(f.v6.Find(ring[i&mask]))
				i++
			}
			sink = s
		})
	}
}

// BenchmarkLookupAddr measures what a caller holding a netip.Addr pays: the
// conversion to a number, Find and the value load.
func BenchmarkLookupAddr(b *testing.B) {
	f := benchData()
	for _, bc := range []struct {
		name string
		n    int
	}{{"v4/cold", coldRing}, {"v4/hot", hotRing}, {"v6/cold", coldRing}, {"v6/hot", hotRing}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ring, mask := f.addr4[:bc.n], bc.n-1
			v6 := bc.name[:2] == "v6"
			if v6 {
				ring = f.addr6[:bc.n]
			}
			var s uint32
			i := 0
			for b.Loop() {
				a := ring[i&mask]
				if v6 {
					s += f.v6.Lookup(ipindex.AddrU128(a))
				} else {
					s += f.v4.Lookup(ipindex.AddrU32(a))
				}
				i++
			}
			sink = s
		})
	}
}

// BenchmarkBartLookup looks the rings up in a bart.Table of the same
// prefixes, for comparison with BenchmarkLookupAddr.
func BenchmarkBartLookup(b *testing.B) {
	f := benchData()
	b.Logf("bart: %d IPv4 and %d IPv6 prefixes", f.bart.Size4(), f.bart.Size6())
	for _, bc := range []struct {
		name string
		n    int
	}{{"v4/cold", coldRing}, {"v4/hot", hotRing}, {"v6/cold", coldRing}, {"v6/hot", hotRing}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ring, mask := f.addr4[:bc.n], bc.n-1
			if bc.name[:2] == "v6" {
				ring = f.addr6[:bc.n]
			}
			var s uint32
			i := 0
			for b.Loop() {
				v, _ := f.bart.Lookup(ring[i&mask])
				s += v
				i++
			}
			sink = s
		})
	}
}

// TestBenchFixture checks that the benchmark tables agree with bart on the
// ring addresses, so that the benchmarks compare equal work.
func TestBenchFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the benchmark tables")
	}
	f := benchData()
	for i := 0; i < coldRing; i += 97 {
		want, ok := f.bart.Lookup(f.addr4[i])
		if got := f.v4.Lookup(f.ring4[i]); !ok || got != want {
			t.Fatalf("V4.Lookup(%v) = %d, bart says %d, %v", f.addr4[i], got, want, ok)
		}
		want, ok = f.bart.Lookup(f.addr6[i])
		if got := f.v6.Lookup(f.ring6[i]); !ok || got != want {
			t.Fatalf("V6.Lookup(%v) = %d, bart says %d, %v", f.addr6[i], got, want, ok)
		}
	}
}
