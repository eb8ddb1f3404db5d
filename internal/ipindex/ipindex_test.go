package ipindex_test

import (
	"bufio"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/ipindex"
)

// The differential tests build tables from lists of ranges and check every
// answer of the index against a deliberately naive reference.
//
// Both families are handled as 128-bit numbers; an IPv4 address a is
// U128{Lo: a}. A range is inclusive. Where ranges overlap the smaller one
// wins (longest-prefix match for CIDR blocks), and between ranges of equal
// size the one listed first wins.

// rng is one input range of a differential test.
type rng struct {
	first, last ipindex.U128
	val         uint32
}

var (
	max4 = ipindex.U128{Lo: 1<<32 - 1}
	max6 = ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
)

func sub(a, b ipindex.U128) ipindex.U128 {
	lo, borrow := bits.Sub64(a.Lo, b.Lo, 0)
	hi, _ := bits.Sub64(a.Hi, b.Hi, borrow)
	return ipindex.U128{Hi: hi, Lo: lo}
}

func contains(r rng, a ipindex.U128) bool { return !a.Less(r.first) && !r.last.Less(a) }

// naiveLookup is the reference: a linear scan for the smallest range that
// holds a, the first listed among equals. It returns 0 where no range does.
func naiveLookup(rs []rng, a ipindex.U128) uint32 {
	best := -1
	for i, r := range rs {
		if !contains(r, a) {
			continue
		}
		if best < 0 || sub(r.last, r.first).Less(sub(rs[best].last, rs[best].first)) {
			best = i
		}
	}
	if best < 0 {
		return 0
	}
	return rs[best].val
}

// naiveFlatten turns ranges into a segment table by evaluating naiveLookup
// at every point where its answer can change.
func naiveFlatten(rs []rng, max ipindex.U128) (starts []ipindex.U128, vals []uint32) {
	pts := []ipindex.U128{{}}
	for _, r := range rs {
		pts = append(pts, r.first)
		if r.last != max {
			pts = append(pts, r.last.Add(1))
		}
	}
	ipindex.SortU128(pts)
	pts = slices.Compact(pts)
	for _, p := range pts {
		v := naiveLookup(rs, p)
		if len(vals) > 0 && vals[len(vals)-1] == v {
			continue
		}
		starts, vals = append(starts, p), append(vals, v)
	}
	return starts, vals
}

// paint is a second reference for inputs too large for naiveFlatten: the
// painter's algorithm over the compressed coordinates of the ranges, largest
// range first, so that smaller ranges overwrite larger ones. It returns the
// elementary intervals (points) and the value of each, unmerged.
func paint(rs []rng, max ipindex.U128) (pts []ipindex.U128, vals []uint32) {
	pts = []ipindex.U128{{}}
	for _, r := range rs {
		pts = append(pts, r.first)
		if r.last != max {
			pts = append(pts, r.last.Add(1))
		}
	}
	ipindex.SortU128(pts)
	pts = slices.Compact(pts)
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	// Largest first; among equal sizes the later listed first, so the
	// earlier one is painted last and wins.
	sort.SliceStable(order, func(i, j int) bool {
		a, b := rs[order[i]], rs[order[j]]
		sa, sb := sub(a.last, a.first), sub(b.last, b.first)
		if sa != sb {
			return sb.Less(sa)
		}
		return order[i] > order[j]
	})
	vals = make([]uint32, len(pts))
	for _, i := range order {
		r := rs[i]
		k := sort.Search(len(pts), func(k int) bool { return !pts[k].Less(r.first) })
		for ; k < len(pts) && !r.last.Less(pts[k]); k++ {
			vals[k] = r.val
		}
	}
	return pts, vals
}

// merge drops points whose value equals the previous one.
func merge(pts []ipindex.U128, vals []uint32) ([]ipindex.U128, []uint32) {
	var s []ipindex.U128
	var v []uint32
	for i := range pts {
		if len(v) > 0 && v[len(v)-1] == vals[i] {
			continue
		}
		s, v = append(s, pts[i]), append(v, vals[i])
	}
	return s, v
}

// painted looks an address up in the output of paint.
func painted(pts []ipindex.U128, vals []uint32, a ipindex.U128) uint32 {
	k := sort.Search(len(pts), func(k int) bool { return a.Less(pts[k]) })
	return vals[k-1]
}

// prefixRange returns a CIDR block of the family as a range.
func prefixRange(first ipindex.U128, nbits, width int) (lo, hi ipindex.U128) {
	// width is 32 or 128; the block is /nbits of a width-bit space.
	host := width - nbits
	switch {
	case host == 0:
		return first, first
	case host < 64:
		m := uint64(1)<<host - 1
		lo = ipindex.U128{Hi: first.Hi, Lo: first.Lo &^ m}
		return lo, ipindex.U128{Hi: lo.Hi, Lo: lo.Lo | m}
	case host == 64:
		return ipindex.U128{Hi: first.Hi}, ipindex.U128{Hi: first.Hi, Lo: ^uint64(0)}
	case host < 128:
		m := uint64(1)<<(host-64) - 1
		return ipindex.U128{Hi: first.Hi &^ m}, ipindex.U128{Hi: first.Hi | m, Lo: ^uint64(0)}
	default:
		return ipindex.U128{}, max6
	}
}

// randPrefixes returns a realistic random prefix list of a family: blocks of
// many lengths, some nested several deep, some adjacent (siblings and the
// next block up), blocks on first-level bucket edges, and the edges of the
// space (/0 when withDefault, the first and last host, the two halves).
func randPrefixes(r *rand.Rand, width, n int, withDefault bool) []rng {
	type key struct {
		first ipindex.U128
		nbits int
	}
	seen := map[key]bool{}
	var out []rng
	add := func(a ipindex.U128, nbits int) {
		lo, hi := prefixRange(a, nbits, width)
		if seen[key{lo, nbits}] {
			return
		}
		seen[key{lo, nbits}] = true
		v := r.Uint32N(1000) + 1
		if r.IntN(20) == 0 {
			v = 0 // a more specific block that says "nothing known"
		}
		out = append(out, rng{lo, hi, v})
	}
	randAddr := func() ipindex.U128 {
		if width == 32 {
			return ipindex.U128{Lo: uint64(r.Uint32())}
		}
		// Mostly inside a few /16 regions, so that blocks nest and
		// first-level buckets hold many segments.
		hi := r.Uint64()
		if r.IntN(4) != 0 {
			regions := []uint64{0x2001, 0x2400, 0x2a00, 0x2a0f, 0xfe00}
			hi = regions[r.IntN(len(regions))]<<48 | hi>>16
		}
		return ipindex.U128{Hi: hi, Lo: r.Uint64()}
	}
	randLen := func() int {
		if width == 32 {
			lens := []int{8, 12, 16, 16, 18, 20, 22, 23, 24, 24, 24, 24, 28, 31, 32}
			return lens[r.IntN(len(lens))]
		}
		lens := []int{16, 19, 24, 29, 32, 32, 36, 40, 44, 48, 48, 48, 56, 63, 64, 65, 96, 112, 127, 128}
		return lens[r.IntN(len(lens))]
	}
	maxA := max4
	if width == 128 {
		maxA = max6
	}
	if withDefault {
		add(ipindex.U128{}, 0)
	}
	add(ipindex.U128{}, width)
	add(maxA, width)
	add(ipindex.U128{}, 1)
	add(maxA, 1)
	add(ipindex.U128{}, width/2)
	add(maxA, width-1)
	for len(out) < n {
		a, nbits := randAddr(), randLen()
		add(a, nbits)
		lo, hi := prefixRange(a, nbits, width)
		switch r.IntN(6) {
		case 0, 1: // nested, up to three deep
			for d, nb := 0, nbits; d < 3 && nb < width; d++ {
				nb += 1 + r.IntN(min(8, width-nb))
				inner := ipindex.U128{Hi: lo.Hi | r.Uint64()&sub(hi, lo).Hi, Lo: lo.Lo | r.Uint64()&sub(hi, lo).Lo}
				add(inner, nb)
				lo, hi = prefixRange(inner, nb, width)
			}
		case 2: // the sibling block
			if nbits > 0 {
				sib := lo
				if host := width - nbits; host < 64 {
					sib.Lo ^= 1 << host
				} else {
					sib.Hi ^= 1 << (host - 64)
				}
				add(sib, nbits)
			}
		case 3: // the next block up, and the block just below
			if hi != maxA {
				add(hi.Add(1), nbits)
			}
			if lo != (ipindex.U128{}) {
				add(lo.Sub1(), nbits)
			}
		case 4: // blocks at a first-level bucket edge (16 leading bits)
			e := lo
			if width == 32 {
				e.Lo = e.Lo &^ (1<<16 - 1)
			} else {
				e = ipindex.U128{Hi: e.Hi &^ (1<<48 - 1)}
			}
			add(e, width)
			if e != (ipindex.U128{}) {
				add(e.Sub1(), width)
				add(e.Sub1(), width-3)
			}
			add(e, 17)
		}
	}
	return out
}

// randIn returns a random number in [first, last].
func randIn(r *rand.Rand, first, last ipindex.U128) ipindex.U128 {
	size := sub(last, first)
	if size.Hi == 0 {
		if size.Lo == ^uint64(0) {
			return first.Add(r.Uint64())
		}
		return first.Add(r.Uint64N(size.Lo + 1))
	}
	hi := r.Uint64()
	if size.Hi != ^uint64(0) {
		hi = first.Hi + r.Uint64N(size.Hi+1)
	}
	a := ipindex.U128{Hi: hi, Lo: r.Uint64()}
	if a.Less(first) {
		return first
	}
	if last.Less(a) {
		return last
	}
	return a
}

// table is a built index of either family.
type table interface {
	Len() int
	find(a ipindex.U128) int
	start(i int) ipindex.U128
	lookup(a ipindex.U128) uint32
}

type v4Table struct{ *ipindex.V4 }

func (t v4Table) find(a ipindex.U128) int { return t.Find(uint32(a.Lo)) }
func (t v4Table) start(i int) ipindex.U128 {
	s, _ := t.Segment(i)
	return ipindex.U128{Lo: uint64(s)}
}
func (t v4Table) lookup(a ipindex.U128) uint32 { return t.Lookup(uint32(a.Lo)) }

type v6Table struct{ *ipindex.V6 }

func (t v6Table) find(a ipindex.U128) int { return t.Find(a) }
func (t v6Table) start(i int) ipindex.U128 {
	s, _ := t.Segment(i)
	return s
}
func (t v6Table) lookup(a ipindex.U128) uint32 { return t.Lookup(a) }

func newTable(t testing.TB, width int, starts []ipindex.U128, vals []uint32) table {
	t.Helper()
	if width == 32 {
		s4 := make([]uint32, len(starts))
		for i, s := range starts {
			s4[i] = uint32(s.Lo)
		}
		v4, err := ipindex.NewV4(s4, vals)
		if err != nil {
			t.Fatalf("NewV4: %v", err)
		}
		return v4Table{v4}
	}
	v6, err := ipindex.NewV6(starts, vals)
	if err != nil {
		t.Fatalf("NewV6: %v", err)
	}
	return v6Table{v6}
}

func addrString(width int, a ipindex.U128) string {
	if width == 32 {
		return ipindex.U32Addr(uint32(a.Lo)).String()
	}
	return ipindex.U128Addr(a).String()
}

// queries returns the addresses to check: both sides of every segment
// start, the edges and an inner address of every range, first-level bucket
// edges, and random addresses.
func queries(r *rand.Rand, width int, tb table, rs []rng, nRandom int) []ipindex.U128 {
	maxA := max4
	if width == 128 {
		maxA = max6
	}
	var q []ipindex.U128
	for i := range tb.Len() {
		s := tb.start(i)
		q = append(q, s)
		if s != (ipindex.U128{}) {
			q = append(q, s.Sub1())
		}
		if s != maxA {
			q = append(q, s.Add(1))
		}
	}
	for _, x := range rs {
		q = append(q, x.first, x.last, randIn(r, x.first, x.last))
	}
	for range 1000 {
		h := r.Uint64N(1 << 16)
		e := ipindex.U128{Lo: h << 16}
		if width == 128 {
			e = ipindex.U128{Hi: h << 48}
		}
		q = append(q, e, e.Sub1(), e.Add(1))
	}
	for range nRandom {
		if width == 32 {
			q = append(q, ipindex.U128{Lo: uint64(r.Uint32())})
		} else {
			q = append(q, ipindex.U128{Hi: r.Uint64(), Lo: r.Uint64()})
		}
	}
	q = append(q, ipindex.U128{}, maxA)
	for i, a := range q {
		if maxA.Less(a) { // Sub1 of 0 on IPv4
			q[i] = maxA
		}
	}
	return q
}

// check compares the index with want at every query, and checks that Find
// returns the segment whose span holds the address.
func check(t *testing.T, width int, tb table, q []ipindex.U128, want func(ipindex.U128) uint32) {
	t.Helper()
	bad := 0
	for _, a := range q {
		got, w := tb.lookup(a), want(a)
		i := tb.find(a)
		inSpan := i >= 0 && i < tb.Len() && !a.Less(tb.start(i)) && (i+1 == tb.Len() || a.Less(tb.start(i+1)))
		if got != w || !inSpan {
			bad++
			t.Errorf("Lookup(%s) = %d (segment %d, in span %v), want %d", addrString(width, a), got, i, inSpan, w)
			if bad >= 20 {
				t.Fatal("too many mismatches")
			}
		}
	}
}

func TestDifferentialRandom(t *testing.T) {
	t.Parallel()
	n := 2000
	if testing.Short() {
		n = 500
	}
	for _, width := range []int{32, 128} {
		for _, withDefault := range []bool{false, true} {
			for seed := range uint64(2) {
				name := fmt.Sprintf("width=%d/default=%v/seed=%d", width, withDefault, seed)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					r := rand.New(rand.NewPCG(seed, uint64(width)))
					rs := randPrefixes(r, width, n, withDefault)
					maxA := max4
					if width == 128 {
						maxA = max6
					}
					starts, vals := naiveFlatten(rs, maxA)
					// paint is the reference of the real-data test: it must
					// agree with naiveFlatten.
					ps, pv := merge(paint(rs, maxA))
					if diff := cmp.Diff(starts, ps); diff != "" {
						t.Fatalf("paint starts mismatch (-naive +paint):\n%s", diff)
					}
					if diff := cmp.Diff(vals, pv); diff != "" {
						t.Fatalf("paint values mismatch (-naive +paint):\n%s", diff)
					}
					tb := newTable(t, width, starts, vals)
					q := queries(r, width, tb, rs, 5000)
					check(t, width, tb, q, func(a ipindex.U128) uint32 { return naiveLookup(rs, a) })
				})
			}
		}
	}
}

// TestDifferentialArbitrary checks Find on tables that are not built from
// prefixes: random starts, crowded around first-level bucket edges, with
// the segment index as value.
func TestDifferentialArbitrary(t *testing.T) {
	t.Parallel()
	for _, width := range []int{32, 128} {
		for _, n := range []int{1, 2, 3, 100, 5000} {
			t.Run(fmt.Sprintf("width=%d/n=%d", width, n), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(n), uint64(width)))
				maxA := max4
				if width == 128 {
					maxA = max6
				}
				set := map[ipindex.U128]bool{{}: true}
				for len(set) < n {
					var a ipindex.U128
					switch r.IntN(4) {
					case 0:
						a = maxA
					case 1: // near a bucket edge
						h := r.Uint64N(1 << 16)
						if width == 32 {
							a = ipindex.U128{Lo: h << 16}.Add(r.Uint64N(3))
						} else {
							a = ipindex.U128{Hi: h << 48}.Add(r.Uint64N(3))
						}
						a = a.Sub1()
						if maxA.Less(a) {
							a = maxA
						}
					default:
						a = ipindex.U128{Lo: uint64(r.Uint32())}
						if width == 128 {
							a = ipindex.U128{Hi: r.Uint64(), Lo: r.Uint64()}
						}
					}
					set[a] = true
				}
				var starts []ipindex.U128
				for a := range set {
					starts = append(starts, a)
				}
				ipindex.SortU128(starts)
				vals := make([]uint32, len(starts))
				for i := range vals {
					vals[i] = uint32(i)
				}
				tb := newTable(t, width, starts, vals)
				q := queries(r, width, tb, nil, 5000)
				check(t, width, tb, q, func(a ipindex.U128) uint32 {
					// The last start at or below a, by linear scan.
					i := 0
					for i+1 < len(starts) && !a.Less(starts[i+1]) {
						i++
					}
					return uint32(i)
				})
			})
		}
	}
}

// TestDifferentialRealSample runs the differential test on a sample of the
// ip-location-db ASN files, when they have been fetched into .cache (see
// scripts/fetch-ipdb.sh). Overlapping upstream ranges are resolved as the
// snapshot builder does: the smaller range wins.
func TestDifferentialRealSample(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file  string
		width int
	}{
		{"asn-ipv4.csv", 32},
		{"asn-ipv6.csv", 128},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := "../../.cache/ipdb/asn/" + tc.file
			if _, err := os.Stat(path); err != nil {
				t.Skipf("no %s (run scripts/fetch-ipdb.sh): %v", path, err)
			}
			if testing.Short() {
				t.Skip("slow: reads the upstream file")
			}
			rs := readSample(t, path, tc.width, 20000, 1)
			maxA := max4
			if tc.width == 128 {
				maxA = max6
			}
			pts, pv := paint(rs, maxA)
			starts, vals := merge(pts, pv)
			tb := newTable(t, tc.width, starts, vals)
			r := rand.New(rand.NewPCG(2, 3))
			q := queries(r, tc.width, tb, rs, 20000)
			check(t, tc.width, tb, q, func(a ipindex.U128) uint32 { return painted(pts, pv, a) })
			// And a share of the queries against the linear scan itself.
			spot := make([]ipindex.U128, 0, 2000)
			for range cap(spot) {
				spot = append(spot, q[r.IntN(len(q))])
			}
			check(t, tc.width, tb, spot, func(a ipindex.U128) uint32 { return naiveLookup(rs, a) })
		})
	}
}

// readSample reads a seeded random sample of about n ranges of an
// ip-location-db ASN file (start,end,asn,name), in file order, with the ASN
// as value.
func readSample(t *testing.T, path string, width, n int, seed uint64) []rng {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 0))
	var out []rng
	for i, line := range lines {
		if r.IntN(len(lines)) >= n {
			continue
		}
		fs := strings.SplitN(line, ",", 4)
		if len(fs) < 3 {
			t.Fatalf("%s:%d: %q: too few fields", path, i+1, line)
		}
		first, err1 := netip.ParseAddr(fs[0])
		last, err2 := netip.ParseAddr(fs[1])
		asn, err3 := strconv.ParseUint(fs[2], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || first.Is4() != (width == 32) || last.Is4() != first.Is4() {
			t.Fatalf("%s:%d: %q: not a range of the family", path, i+1, line)
		}
		x := rng{ipindex.AddrU128(first), ipindex.AddrU128(last), uint32(asn)}
		if width == 32 {
			x.first, x.last = ipindex.U128{Lo: uint64(ipindex.AddrU32(first))}, ipindex.U128{Lo: uint64(ipindex.AddrU32(last))}
		}
		if x.last.Less(x.first) {
			continue // reversed upstream range; the builder drops these too
		}
		out = append(out, x)
	}
	t.Logf("%s: %d of %d ranges", path, len(out), len(lines))
	return out
}

func TestNewV4Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		starts []uint32
		vals   []uint32
	}{
		{"empty", nil, nil},
		{"no values", []uint32{0}, nil},
		{"more values", []uint32{0}, []uint32{1, 2}},
		{"not from zero", []uint32{1, 5}, []uint32{1, 2}},
		{"unsorted", []uint32{0, 9, 5}, []uint32{1, 2, 3}},
		{"repeated start", []uint32{0, 5, 5}, []uint32{1, 2, 3}},
		{"zero twice", []uint32{0, 0}, []uint32{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := ipindex.NewV4(tc.starts, tc.vals)
			if err == nil || tb != nil {
				t.Errorf("NewV4(%v, %v) = %v, %v; want nil, error", tc.starts, tc.vals, tb, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "ipindex: ") {
				t.Errorf("NewV4(%v, %v) error %q lacks the package prefix", tc.starts, tc.vals, err)
			}
		})
	}
}

func TestNewV6Errors(t *testing.T) {
	t.Parallel()
	u := func(hi, lo uint64) ipindex.U128 { return ipindex.U128{Hi: hi, Lo: lo} }
	tests := []struct {
		name   string
		starts []ipindex.U128
		vals   []uint32
	}{
		{"empty", nil, nil},
		{"no values", []ipindex.U128{{}}, nil},
		{"more values", []ipindex.U128{{}}, []uint32{1, 2}},
		{"not from zero", []ipindex.U128{u(0, 1)}, []uint32{1}},
		{"not from zero high", []ipindex.U128{u(1, 0)}, []uint32{1}},
		{"unsorted low", []ipindex.U128{{}, u(0, 9), u(0, 5)}, []uint32{1, 2, 3}},
		{"unsorted high", []ipindex.U128{{}, u(2, 0), u(1, ^uint64(0))}, []uint32{1, 2, 3}},
		{"repeated start", []ipindex.U128{{}, u(3, 3), u(3, 3)}, []uint32{1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := ipindex.NewV6(tc.starts, tc.vals)
			if err == nil || tb != nil {
				t.Errorf("NewV6(%v, %v) = %v, %v; want nil, error", tc.starts, tc.vals, tb, err)
			}
		})
	}
}

func TestSingleSegment(t *testing.T) {
	t.Parallel()
	v4, err := ipindex.NewV4([]uint32{0}, []uint32{7})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []uint32{0, 1, 1 << 16, 1<<32 - 1} {
		if got := v4.Find(a); got != 0 {
			t.Errorf("V4.Find(%d) = %d, want 0", a, got)
		}
		if got := v4.Lookup(a); got != 7 {
			t.Errorf("V4.Lookup(%d) = %d, want 7", a, got)
		}
	}
	v6, err := ipindex.NewV6([]ipindex.U128{{}}, []uint32{7})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []ipindex.U128{{}, {Lo: 1}, {Hi: 1 << 48}, max6} {
		if got := v6.Lookup(a); got != 7 {
			t.Errorf("V6.Lookup(%v) = %d, want 7", a, got)
		}
	}
	if v4.Len() != 1 || v6.Len() != 1 {
		t.Errorf("Len() = %d, %d; want 1, 1", v4.Len(), v6.Len())
	}
}

func TestSegment(t *testing.T) {
	t.Parallel()
	v4, err := ipindex.NewV4([]uint32{0, 10, 1<<32 - 1}, []uint32{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	type seg4 struct{ Start, Val uint32 }
	var got4 []seg4
	for i := range v4.Len() {
		s, v := v4.Segment(i)
		got4 = append(got4, seg4{s, v})
	}
	if diff := cmp.Diff([]seg4{{0, 0}, {10, 1}, {1<<32 - 1, 2}}, got4); diff != "" {
		t.Errorf("V4 segments mismatch (-want +got):\n%s", diff)
	}
	if got := v4.Lookup(1<<32 - 1); got != 2 {
		t.Errorf("V4.Lookup(255.255.255.255) = %d, want 2", got)
	}
	if got := v4.Lookup(1<<32 - 2); got != 1 {
		t.Errorf("V4.Lookup(255.255.255.254) = %d, want 1", got)
	}

	starts := []ipindex.U128{{}, {Lo: 10}, {Hi: 1}, max6}
	v6, err := ipindex.NewV6(starts, []uint32{0, 1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	type seg6 struct {
		Start ipindex.U128
		Val   uint32
	}
	var got6 []seg6
	for i := range v6.Len() {
		s, v := v6.Segment(i)
		got6 = append(got6, seg6{s, v})
	}
	if diff := cmp.Diff([]seg6{{ipindex.U128{}, 0}, {ipindex.U128{Lo: 10}, 1}, {ipindex.U128{Hi: 1}, 2}, {max6, 3}}, got6); diff != "" {
		t.Errorf("V6 segments mismatch (-want +got):\n%s", diff)
	}
	// NewV6 copies the starts.
	starts[1] = ipindex.U128{Lo: 11}
	if s, _ := v6.Segment(1); s != (ipindex.U128{Lo: 10}) {
		t.Errorf("V6.Segment(1) = %v after changing the caller's slice, want {0 10}", s)
	}
}

func TestLargestPrefix4(t *testing.T) {
	t.Parallel()
	a := func(s string) uint32 { return ipindex.AddrU32(netip.MustParseAddr(s)) }
	tests := []struct {
		addr, first, last string
		want              string
	}{
		{"1.2.3.4", "1.2.3.4", "1.2.3.4", "1.2.3.4/32"},
		{"1.2.3.4", "1.2.3.0", "1.2.3.255", "1.2.3.0/24"},
		{"1.2.3.4", "1.2.0.0", "1.2.3.255", "1.2.0.0/22"},
		{"1.2.3.4", "1.2.3.1", "1.2.3.255", "1.2.3.4/30"},
		{"1.2.3.200", "1.2.3.1", "1.2.3.255", "1.2.3.128/25"},
		{"1.2.3.1", "1.2.3.1", "1.2.3.255", "1.2.3.1/32"},
		{"1.2.3.2", "1.2.3.1", "1.2.3.255", "1.2.3.2/31"},
		{"1.2.3.254", "1.2.3.0", "1.2.3.254", "1.2.3.254/32"},
		{"1.2.3.4", "0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
		{"200.0.0.1", "0.0.0.1", "255.255.255.255", "128.0.0.0/1"},
		{"0.0.0.0", "0.0.0.0", "127.255.255.255", "0.0.0.0/1"},
		{"255.255.255.255", "255.255.255.255", "255.255.255.255", "255.255.255.255/32"},
		{"255.255.255.255", "255.255.255.0", "255.255.255.255", "255.255.255.0/24"},
		{"0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0/32"},
		{"10.0.0.5", "9.255.255.0", "11.0.0.255", "10.0.0.0/8"},
	}
	for _, tc := range tests {
		t.Run(tc.addr+"_in_"+tc.first+"-"+tc.last, func(t *testing.T) {
			got := ipindex.LargestPrefix4(a(tc.addr), a(tc.first), a(tc.last))
			if want := netip.MustParsePrefix(tc.want); got != want {
				t.Errorf("LargestPrefix4(%s, %s, %s) = %v, want %v", tc.addr, tc.first, tc.last, got, want)
			}
		})
	}
}

// TestLargestPrefix4Random checks LargestPrefix4 against trying every
// prefix length, on random ranges, some of them narrow.
func TestLargestPrefix4Random(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 4))
	for range 200_000 {
		first, last := rng.Uint32(), rng.Uint32()
		if rng.IntN(2) == 0 {
			last = first + rng.Uint32N(1<<rng.IntN(20))
		}
		if last < first {
			first, last = last, first
		}
		a := first + rng.Uint32N(last-first+1)
		if last-first == math.MaxUint32 {
			a = rng.Uint32()
		}
		want := netip.PrefixFrom(ipindex.U32Addr(a), 32)
		for n := 0; n <= 32; n++ {
			mask := uint32(0xffffffff) << (32 - n)
			if n == 0 {
				mask = 0
			}
			if lo := a & mask; lo >= first && lo|^mask <= last {
				want = netip.PrefixFrom(ipindex.U32Addr(lo), n)
				break
			}
		}
		if got := ipindex.LargestPrefix4(a, first, last); got != want {
			t.Fatalf("LargestPrefix4(%v, %v, %v) = %v, want %v", ipindex.U32Addr(a), ipindex.U32Addr(first), ipindex.U32Addr(last), got, want)
		}
	}
}

func TestLargestPrefix6(t *testing.T) {
	t.Parallel()
	a := func(s string) ipindex.U128 { return ipindex.AddrU128(netip.MustParseAddr(s)) }
	tests := []struct {
		addr, first, last string
		want              string
	}{
		{"2001:db8::1", "2001:db8::1", "2001:db8::1", "2001:db8::1/128"},
		{"2001:db8::1", "2001:db8::", "2001:db8::ffff", "2001:db8::/112"},
		{"2001:db8::1", "2001:db8::", "2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8::/64"},
		{"2001:db8::1", "2001:db8::", "2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:db8::/63"},
		{"2001:db8::1", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", "2001:db8::/33"},
		{"2001:db8:8000::1", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", "2001:db8:8000::/34"},
		{"2001:db8::8000:0:0:1", "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8::8000:0:0:0/65"},
		{"2001:db8::", "2001:db8::", "2001:db8::", "2001:db8::/128"},
		{"2001:db8::", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
		{"::", "::", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/1"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::/1"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
	}
	for _, tc := range tests {
		t.Run(tc.addr+"_in_"+tc.first+"-"+tc.last, func(t *testing.T) {
			got := ipindex.LargestPrefix6(a(tc.addr), a(tc.first), a(tc.last))
			if want := netip.MustParsePrefix(tc.want); got != want {
				t.Errorf("LargestPrefix6(%s, %s, %s) = %v, want %v", tc.addr, tc.first, tc.last, got, want)
			}
		})
	}
}

// TestLargestPrefixRandom checks LargestPrefix4 and LargestPrefix6 against
// their definition: of the blocks that hold a, the shortest whose first and
// last address lie in [first, last].
func TestLargestPrefixRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 6))
	for range 20000 {
		for _, width := range []int{32, 128} {
			var first, last, a ipindex.U128
			if width == 32 {
				x, y := r.Uint32(), r.Uint32()>>r.IntN(33)
				first, last = ipindex.U128{Lo: uint64(x)}, ipindex.U128{Lo: uint64(x) + uint64(y)}
				if max4.Less(last) {
					last = max4
				}
			} else {
				first = ipindex.U128{Hi: r.Uint64(), Lo: r.Uint64()}
				sh := r.IntN(129)
				span := ipindex.U128{Hi: r.Uint64(), Lo: r.Uint64()}
				switch {
				case sh >= 128:
					span = ipindex.U128{}
				case sh >= 64:
					span = ipindex.U128{Lo: span.Hi >> (sh - 64)}
				case sh > 0:
					span = ipindex.U128{Hi: span.Hi >> sh, Lo: span.Lo>>sh | span.Hi<<(64-sh)}
				}
				lo, c := bits.Add64(first.Lo, span.Lo, 0)
				hi, c := bits.Add64(first.Hi, span.Hi, c)
				last = ipindex.U128{Hi: hi, Lo: lo}
				if c != 0 {
					last = max6
				}
			}
			a = randIn(r, first, last)
			want := -1
			for n := 0; n <= width; n++ {
				lo, hi := prefixRange(a, n, width)
				if !lo.Less(first) && !last.Less(hi) {
					want = n
					break
				}
			}
			var got netip.Prefix
			var wantP netip.Prefix
			if width == 32 {
				got = ipindex.LargestPrefix4(uint32(a.Lo), uint32(first.Lo), uint32(last.Lo))
				wantP = netip.PrefixFrom(ipindex.U32Addr(uint32(a.Lo)), want).Masked()
			} else {
				got = ipindex.LargestPrefix6(a, first, last)
				wantP = netip.PrefixFrom(ipindex.U128Addr(a), want).Masked()
			}
			if got != wantP {
				t.Fatalf("LargestPrefix(%s, %s, %s) = %v, want %v", addrString(width, a), addrString(width, first), addrString(width, last), got, wantP)
			}
		}
	}
}

func TestAddrU128RoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want ipindex.U128
	}{
		{"::", ipindex.U128{}},
		{"::1", ipindex.U128{Lo: 1}},
		{"::ffff:ffff:ffff:ffff", ipindex.U128{Lo: ^uint64(0)}},
		{"0:0:0:1::", ipindex.U128{Hi: 1}},
		{"2001:db8::8a2e:370:7334", ipindex.U128{Hi: 0x20010db800000000, Lo: 0x00008a2e03707334}},
		{"0102:0304:0506:0708:090a:0b0c:0d0e:0f10", ipindex.U128{Hi: 0x0102030405060708, Lo: 0x090a0b0c0d0e0f10}},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", max6},
		{"::ffff:1.2.3.4", ipindex.U128{Lo: 0xffff01020304}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a := netip.MustParseAddr(tc.in)
			got := ipindex.AddrU128(a)
			if got != tc.want {
				t.Errorf("AddrU128(%s) = %#v, want %#v", tc.in, got, tc.want)
			}
			if back := ipindex.U128Addr(got); back != a {
				t.Errorf("U128Addr(%#v) = %v, want %v", got, back, a)
			}
		})
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		u := ipindex.U128{Hi: r.Uint64(), Lo: r.Uint64()}
		if got := ipindex.AddrU128(ipindex.U128Addr(u)); got != u {
			t.Fatalf("AddrU128(U128Addr(%#v)) = %#v", u, got)
		}
	}
}

func TestAddrU32RoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want uint32
	}{
		{"0.0.0.0", 0},
		{"0.0.0.1", 1},
		{"1.2.3.4", 0x01020304},
		{"128.0.0.0", 1 << 31},
		{"255.255.255.255", 1<<32 - 1},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a := netip.MustParseAddr(tc.in)
			if got := ipindex.AddrU32(a); got != tc.want {
				t.Errorf("AddrU32(%s) = %#x, want %#x", tc.in, got, tc.want)
			}
			if back := ipindex.U32Addr(tc.want); back != a {
				t.Errorf("U32Addr(%#x) = %v, want %v", tc.want, back, a)
			}
		})
	}
}

func TestU128Arithmetic(t *testing.T) {
	t.Parallel()
	m := ^uint64(0)
	addTests := []struct {
		u    ipindex.U128
		v    uint64
		want ipindex.U128
	}{
		{ipindex.U128{}, 0, ipindex.U128{}},
		{ipindex.U128{}, 1, ipindex.U128{Lo: 1}},
		{ipindex.U128{Lo: m}, 1, ipindex.U128{Hi: 1}},
		{ipindex.U128{Hi: 5, Lo: m - 1}, 3, ipindex.U128{Hi: 6, Lo: 1}},
		{ipindex.U128{Lo: 1}, m, ipindex.U128{Hi: 1}},
		{max6, 1, ipindex.U128{}},
		{max6, 2, ipindex.U128{Lo: 1}},
		{ipindex.U128{Hi: m, Lo: 0}, m, max6},
	}
	for _, tc := range addTests {
		if got := tc.u.Add(tc.v); got != tc.want {
			t.Errorf("%#v.Add(%d) = %#v, want %#v", tc.u, tc.v, got, tc.want)
		}
	}
	subTests := []struct {
		u, want ipindex.U128
	}{
		{ipindex.U128{Lo: 1}, ipindex.U128{}},
		{ipindex.U128{Hi: 1}, ipindex.U128{Lo: m}},
		{ipindex.U128{}, max6},
		{max6, ipindex.U128{Hi: m, Lo: m - 1}},
		{ipindex.U128{Hi: 7, Lo: 9}, ipindex.U128{Hi: 7, Lo: 8}},
	}
	for _, tc := range subTests {
		if got := tc.u.Sub1(); got != tc.want {
			t.Errorf("%#v.Sub1() = %#v, want %#v", tc.u, got, tc.want)
		}
		if got := tc.u.Sub1().Add(1); got != tc.u {
			t.Errorf("%#v.Sub1().Add(1) = %#v, want %#v", tc.u, got, tc.u)
		}
	}
	lessTests := []struct {
		u, v ipindex.U128
		want bool
	}{
		{ipindex.U128{}, ipindex.U128{}, false},
		{ipindex.U128{}, ipindex.U128{Lo: 1}, true},
		{ipindex.U128{Lo: 1}, ipindex.U128{}, false},
		{ipindex.U128{Lo: m}, ipindex.U128{Hi: 1}, true},
		{ipindex.U128{Hi: 1}, ipindex.U128{Lo: m}, false},
		{ipindex.U128{Hi: 1, Lo: 2}, ipindex.U128{Hi: 1, Lo: 3}, true},
		{max6, max6, false},
	}
	for _, tc := range lessTests {
		if got := tc.u.Less(tc.v); got != tc.want {
			t.Errorf("%#v.Less(%#v) = %v, want %v", tc.u, tc.v, got, tc.want)
		}
	}
}

func TestSortU128(t *testing.T) {
	t.Parallel()
	s := []ipindex.U128{{Hi: 1}, {Lo: 3}, max6, {}, {Hi: 1, Lo: 1}, {Lo: 3}}
	ipindex.SortU128(s)
	want := []ipindex.U128{{}, {Lo: 3}, {Lo: 3}, {Hi: 1}, {Hi: 1, Lo: 1}, max6}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("SortU128 mismatch (-want +got):\n%s", diff)
	}
}

// TestFindMany checks V4.FindMany against Find on random tables, including
// buckets crowded with segments, and inputs of every length around the
// group size.
func TestFindMany(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	for _, nseg := range []int{1, 10, 5000, 200_000} {
		set := map[uint32]bool{0: true}
		for len(set) < nseg {
			v := rng.Uint32()
			if rng.IntN(3) == 0 {
				v = 0x0a000000 | rng.Uint32N(1<<12) // crowded: many segments in one bucket
			}
			set[v] = true
		}
		starts := make([]uint32, 0, len(set))
		for s := range set {
			starts = append(starts, s)
		}
		slices.Sort(starts)
		vals := make([]uint32, len(starts))
		for i := range vals {
			vals[i] = uint32(i + 1)
		}
		v4, err := ipindex.NewV4(starts, vals)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 63, 64, 65, 200} {
			as := make([]uint32, n)
			for i := range as {
				as[i] = rng.Uint32()
				if i%4 == 0 && len(starts) > 0 {
					as[i] = starts[rng.IntN(len(starts))] + rng.Uint32N(2) // on and just past a start
				}
			}
			got := make([]int32, n)
			v4.FindMany(as, got)
			for i, a := range as {
				if want := v4.Find(a); int(got[i]) != want {
					t.Fatalf("%d segments: FindMany(%d)[%d] = %d, Find = %d", nseg, a, i, got[i], want)
				}
			}
		}
	}
}

// TestLargestPrefix6Random checks LargestPrefix6 against trying every
// prefix length, on random ranges, narrow and wide, across the 64-bit
// halves.
func TestLargestPrefix6Random(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(6, 6))
	u := func(a netip.Addr) ipindex.U128 { return ipindex.AddrU128(a) }
	for range 50_000 {
		var first, last ipindex.U128
		switch rng.IntN(4) {
		case 0: // narrow, in the low half
			first = ipindex.U128{Hi: rng.Uint64(), Lo: rng.Uint64()}
			last = first
			last.Lo += rng.Uint64N(1 << rng.IntN(40))
			if last.Lo < first.Lo {
				last.Lo = ^uint64(0)
			}
		case 1: // wide, in the high half
			first = ipindex.U128{Hi: rng.Uint64()}
			last = ipindex.U128{Hi: first.Hi + rng.Uint64N(1<<rng.IntN(40)), Lo: ^uint64(0)}
			if last.Hi < first.Hi {
				last.Hi = ^uint64(0)
			}
		case 2: // from zero, or to the end
			first, last = ipindex.U128{}, ipindex.U128{Hi: rng.Uint64(), Lo: rng.Uint64()}
			if rng.IntN(2) == 0 {
				first, last = last, ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
			}
		default:
			first = ipindex.U128{Hi: rng.Uint64(), Lo: rng.Uint64()}
			last = ipindex.U128{Hi: rng.Uint64(), Lo: rng.Uint64()}
			if last.Less(first) {
				first, last = last, first
			}
		}
		// An address in the range: first, last, or in between.
		a := first
		switch rng.IntN(3) {
		case 1:
			a = last
		case 2:
			if d := last.Lo - first.Lo; first.Hi == last.Hi && d == ^uint64(0) {
				a.Lo = rng.Uint64()
			} else if first.Hi == last.Hi {
				a.Lo = first.Lo + rng.Uint64N(d+1)
			} else if first.Hi+1 < last.Hi {
				a = ipindex.U128{Hi: first.Hi + 1 + rng.Uint64N(last.Hi-first.Hi-1), Lo: rng.Uint64()}
			}
		}
		var want netip.Prefix
		for n := 0; n <= 128; n++ {
			p := netip.PrefixFrom(ipindex.U128Addr(a), n).Masked()
			lo := u(p.Addr())
			hi := lo
			if n < 64 {
				hi = ipindex.U128{Hi: lo.Hi | ^uint64(0)>>n, Lo: ^uint64(0)}
			} else {
				hi.Lo |= ^uint64(0) >> (n - 64)
				if n == 128 {
					hi.Lo = lo.Lo
				}
			}
			if !lo.Less(first) && !last.Less(hi) {
				want = p
				break
			}
		}
		if got := ipindex.LargestPrefix6(a, first, last); got != want {
			t.Fatalf("LargestPrefix6(%v, %v, %v) = %v, want %v", ipindex.U128Addr(a), ipindex.U128Addr(first), ipindex.U128Addr(last), got, want)
		}
	}
}
