package snapshot_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
	"github.com/sovmap/sovmap/internal/snapshot"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func routeEq(a, b attribution.Route) bool { return cmp.Equal(a, b, prefixCmp) }

// encode returns the file of a table.
func encode(t testing.TB, tb *snapshot.Table) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := tb.Encode(&buf); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// decode decodes a file, failing the test on error.
func decode(t testing.TB, b []byte) *snapshot.Table {
	t.Helper()
	tb, err := snapshot.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return tb
}

// modes returns the ways to look up in a table: fresh from its file
// (lazy, block by block) and decoded whole.
func modes(file []byte) map[string]func(testing.TB) *snapshot.Table {
	return map[string]func(testing.TB) *snapshot.Table{
		"lazy": func(t testing.TB) *snapshot.Table { return decode(t, file) },
		"expanded": func(t testing.TB) *snapshot.Table {
			tb := decode(t, file)
			if err := tb.Expand(); err != nil {
				t.Fatalf("Expand: %v", err)
			}
			return tb
		},
	}
}

func lookupTable(t testing.TB) *snapshot.Table {
	tb, _ := build(t,
		asn4(lines(
			"1.0.0.0,1.0.255.255,100,Outer",
			"1.0.16.0,1.0.16.255,200,Inner",
			"8.8.8.0,8.8.8.255,15169,Google LLC",
			"8.8.9.0,8.8.9.255,15169,Google LLC",
			"9.255.255.0,11.0.0.255,300,Span",
			"4.0.0.0,4.0.0.255,700,Seven",
			"4.0.1.0,4.0.1.255,700,Seven Renamed",
		)),
		reg4(lines(
			"1.0.0.0,1.0.255.255,AU",
			"8.8.8.0,8.8.9.255,US",
			"3.0.0.0,3.0.0.255,GB",
			"3.0.1.0,3.0.1.255,FR",
		)),
		loc4(lines(
			"8.8.8.0,8.8.8.127,US",
			"8.8.8.128,8.8.9.255,CA",
		)),
		asn6(lines("2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC")),
		loc6(lines("2a00:1450:4001::,2a00:1450:4001:ffff:ffff:ffff:ffff:ffff,IE")),
	)
	return tb
}

func TestLookup(t *testing.T) {
	t.Parallel()
	p := netip.MustParsePrefix
	tests := []struct {
		in   string
		want attribution.Route
		ok   bool
	}{
		{"1.0.16.5", attribution.Route{Prefix: p("1.0.16.0/24"), ASN: 200, ASName: "Inner", Registration: "AU"}, true},
		{"1.0.0.1", attribution.Route{Prefix: p("1.0.0.0/20"), ASN: 100, ASName: "Outer", Registration: "AU"}, true},
		{"1.0.15.255", attribution.Route{Prefix: p("1.0.0.0/20"), ASN: 100, ASName: "Outer", Registration: "AU"}, true},
		{"1.0.17.1", attribution.Route{Prefix: p("1.0.17.0/24"), ASN: 100, ASName: "Outer", Registration: "AU"}, true},
		{"1.0.18.1", attribution.Route{Prefix: p("1.0.18.0/23"), ASN: 100, ASName: "Outer", Registration: "AU"}, true},
		{"1.0.200.1", attribution.Route{Prefix: p("1.0.128.0/17"), ASN: 100, ASName: "Outer", Registration: "AU"}, true},
		// One AS across a change of location: the prefix spans both.
		{"8.8.8.8", attribution.Route{Prefix: p("8.8.8.0/23"), ASN: 15169, ASName: "Google LLC", Registration: "US", Location: "US"}, true},
		{"8.8.9.200", attribution.Route{Prefix: p("8.8.8.0/23"), ASN: 15169, ASName: "Google LLC", Registration: "US", Location: "CA"}, true},
		{"::ffff:8.8.8.8", attribution.Route{Prefix: p("8.8.8.0/23"), ASN: 15169, ASName: "Google LLC", Registration: "US", Location: "US"}, true},
		// One AS across a change of name.
		{"4.0.1.1", attribution.Route{Prefix: p("4.0.0.0/23"), ASN: 700, ASName: "Seven Renamed"}, true},
		// No ASN: the prefix is that of the segment alone.
		{"3.0.0.1", attribution.Route{Prefix: p("3.0.0.0/24"), Registration: "GB"}, true},
		{"3.0.1.1", attribution.Route{Prefix: p("3.0.1.0/24"), Registration: "FR"}, true},
		// Special-use space cut out of a range.
		{"9.255.255.1", attribution.Route{Prefix: p("9.255.255.0/24"), ASN: 300, ASName: "Span"}, true},
		{"10.0.0.1", attribution.Route{}, false},
		{"11.0.0.255", attribution.Route{Prefix: p("11.0.0.0/24"), ASN: 300, ASName: "Span"}, true},
		// Gaps and edges.
		{"0.0.0.0", attribution.Route{}, false},
		{"1.1.0.0", attribution.Route{}, false},
		{"255.255.255.255", attribution.Route{}, false},
		{"2a00:1450:4001::1", attribution.Route{Prefix: p("2a00:1450::/32"), ASN: 15169, ASName: "Google LLC", Location: "IE"}, true},
		{"2a00:1450::1", attribution.Route{Prefix: p("2a00:1450::/32"), ASN: 15169, ASName: "Google LLC"}, true},
		{"2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff", attribution.Route{Prefix: p("2a00:1450::/32"), ASN: 15169, ASName: "Google LLC"}, true},
		{"2a00:1450::1%eth0", attribution.Route{Prefix: p("2a00:1450::/32"), ASN: 15169, ASName: "Google LLC"}, true},
		{"2a00:1451::", attribution.Route{}, false},
		{"::", attribution.Route{}, false},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", attribution.Route{}, false},
	}
	file := encode(t, lookupTable(t))
	for mode, newTable := range modes(file) {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			tb := newTable(t)
			for _, tc := range tests {
				t.Run(tc.in, func(t *testing.T) {
					got, key, ok := tb.Lookup(netip.MustParseAddr(tc.in))
					if diff := cmp.Diff(tc.want, got, prefixCmp); diff != "" || ok != tc.ok {
						t.Errorf("Lookup(%s) = %v, %v; want %v\n(-want +got):\n%s", tc.in, got, ok, tc.ok, diff)
					}
					if ok && (key < 1 || key >= tb.Keys()) {
						t.Errorf("Lookup(%s) key = %d, want in [1, %d)", tc.in, key, tb.Keys())
					}
					if !ok && key != 0 {
						t.Errorf("Lookup(%s) key = %d with ok false, want 0", tc.in, key)
					}
				})
			}
			if mode == "lazy" && (tb.Expanded(0) || tb.Expanded(1)) {
				t.Errorf("a few lookups expanded the table")
			}
		})
	}
	t.Run("invalid address", func(t *testing.T) {
		for mode, newTable := range modes(file) {
			if r, k, ok := newTable(t).Lookup(netip.Addr{}); ok || k != 0 || !routeEq(r, attribution.Route{}) {
				t.Errorf("%s: Lookup(invalid) = %v, %d, %v; want nothing", mode, r, k, ok)
			}
		}
	})
}

// TestLookupKeys checks that a key names one set of facts: equal keys give
// equal routes other than the prefix, different keys different facts, and
// a table's keys survive encoding and expansion.
func TestLookupKeys(t *testing.T) {
	t.Parallel()
	file := encode(t, lookupTable(t))
	lazy, expanded := decode(t, file), decode(t, file)
	if err := expanded.Expand(); err != nil {
		t.Fatal(err)
	}
	type facts struct {
		ASN            uint32
		Name, Reg, Loc string
	}
	byKey := map[int]facts{}
	addrs := []string{"1.0.16.5", "1.0.0.1", "1.0.17.1", "1.0.200.1", "8.8.8.8", "8.8.8.127", "8.8.8.128", "8.8.9.200",
		"4.0.0.1", "4.0.1.1", "3.0.0.1", "3.0.1.1", "9.255.255.1", "11.0.0.1", "2a00:1450:4001::1", "2a00:1450::1"}
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		r, k, ok := lazy.Lookup(a)
		r2, k2, ok2 := expanded.Lookup(a)
		if !ok || !ok2 || k != k2 || !routeEq(r, r2) {
			t.Errorf("Lookup(%s) = %v, %d, %v lazily and %v, %d, %v expanded; want equal and found", s, r, k, ok, r2, k2, ok2)
		}
		for _, tb := range []*snapshot.Table{lazy, expanded} {
			_, k3, ok3 := tb.LookupKey(a)
			k4, ok4 := tb.RouteKey(a)
			if k3 != k || k4 != k || !ok3 || !ok4 {
				t.Errorf("%s: LookupKey key %d %v, RouteKey %d %v; Lookup gives %d", s, k3, ok3, k4, ok4, k)
			}
		}
		f := facts{r.ASN, r.ASName, r.Registration, r.Location}
		if prev, seen := byKey[k]; seen && prev != f {
			t.Errorf("key %d gives %v and %v", k, prev, f)
		}
		byKey[k] = f
	}
	seen := map[facts]int{}
	for k, f := range byKey {
		if k2, dup := seen[f]; dup {
			t.Errorf("keys %d and %d give the same facts %v", k, k2, f)
		}
		seen[f] = k
	}
	// 1.0.0.1 and 1.0.200.1 share facts (and so a key); so do 8.8.8.8 and
	// 8.8.8.127.
	for _, pair := range [][2]string{{"1.0.0.1", "1.0.200.1"}, {"8.8.8.8", "8.8.8.127"}, {"8.8.8.128", "8.8.9.200"}} {
		_, k1, _ := lazy.Lookup(netip.MustParseAddr(pair[0]))
		_, k2, _ := lazy.Lookup(netip.MustParseAddr(pair[1]))
		if k1 != k2 {
			t.Errorf("Lookup(%s) key %d != Lookup(%s) key %d", pair[0], k1, pair[1], k2)
		}
	}
	if want := len(byKey) + 1; lazy.Keys() < want {
		t.Errorf("Keys() = %d, want at least %d", lazy.Keys(), want)
	}
}

// TestLookupLongRun checks the prefix of an AS whose range is split into
// many segments (by location here), across several blocks of the file.
func TestLookupLongRun(t *testing.T) {
	t.Parallel()
	var loc []string
	for i := range 256 {
		cc := []string{"US", "CA", "MX"}[i%3]
		loc = append(loc, fmt.Sprintf("1.0.%d.0,1.0.%d.255,%s", i, i, cc))
	}
	file := encode(t, buildT(t,
		asn4(lines("1.0.0.0,1.0.255.255,100,Long", "1.1.0.0,1.1.0.255,101,Next", "0.255.255.0,0.255.255.255,99,Prev")),
		loc4(lines(loc...)),
		asn6(lines("2a00::,2a00:0:ffff:ffff:ffff:ffff:ffff:ffff,100,Long")),
		loc6(lines(v6LocLines(300)...)),
	))
	p := netip.MustParsePrefix
	tests := []struct {
		in   string
		want netip.Prefix
	}{
		{"1.0.0.0", p("1.0.0.0/16")},
		{"1.0.128.1", p("1.0.0.0/16")},
		{"1.0.255.255", p("1.0.0.0/16")},
		{"1.1.0.1", p("1.1.0.0/24")},
		{"2a00::1", p("2a00::/32")},
		{"2a00:0:8000::1", p("2a00::/32")},
		{"2a00:0:ffff:ffff:ffff:ffff:ffff:ffff", p("2a00::/32")},
	}
	for mode, newTable := range modes(file) {
		tb := newTable(t)
		if v4, v6 := tb.Segments(); v4 < 3*snapshot.BlockSize || v6 < 3*snapshot.BlockSize {
			t.Fatalf("Segments() = %d, %d; want several blocks of each family", v4, v6)
		}
		for _, tc := range tests {
			r, _, ok := tb.Lookup(netip.MustParseAddr(tc.in))
			if !ok || r.Prefix != tc.want {
				t.Errorf("%s: Lookup(%s).Prefix = %v, %v; want %v", mode, tc.in, r.Prefix, ok, tc.want)
			}
		}
	}
}

// v6LocLines returns n adjacent /48 location ranges from 2a00::/48 on.
func v6LocLines(n int) []string {
	var out []string
	for i := range n {
		cc := []string{"DE", "FR"}[i%2]
		out = append(out, fmt.Sprintf("2a00:0:%x::,2a00:0:%x:ffff:ffff:ffff:ffff:ffff,%s", i, i, cc))
	}
	return out
}

func buildT(t testing.TB, in ...input) *snapshot.Table {
	t.Helper()
	tb, _ := build(t, in...)
	return tb
}

// TestLookupLazyMatchesExpanded compares the two lookup paths on a random
// table at every segment edge and at random addresses.
func TestLookupLazyMatchesExpanded(t *testing.T) {
	t.Parallel()
	r := newRand(3)
	var asn, loc []string
	for range 400 {
		first := uint32(r.IntN(4)+1)<<24 | uint32(r.IntN(1<<16))<<8
		last := first + uint32(r.IntN(1<<12))
		asn = append(asn, fmt.Sprintf("%s,%s,%d,N%d", ipindex.U32Addr(first), ipindex.U32Addr(last), r.IntN(20)+1, r.IntN(2)))
		first = uint32(r.IntN(4)+1)<<24 | uint32(r.IntN(1<<16))<<8
		last = first + uint32(r.IntN(1<<14))
		loc = append(loc, fmt.Sprintf("%s,%s,%s", ipindex.U32Addr(first), ipindex.U32Addr(last), []string{"US", "DE", "JP"}[r.IntN(3)]))
	}
	var asn6l []string
	for range 300 {
		hi := uint64(0x2a00)<<48 | r.Uint64N(1<<20)<<16
		first := ipindex.U128{Hi: hi}
		last := ipindex.U128{Hi: hi + r.Uint64N(1<<12), Lo: ^uint64(0)}
		asn6l = append(asn6l, fmt.Sprintf("%s,%s,%d,X", ipindex.U128Addr(first), ipindex.U128Addr(last), r.IntN(20)+1))
	}
	file := encode(t, buildT(t, asn4(lines(asn...)), loc4(lines(loc...)), asn6(lines(asn6l...)), loc6(lines(v6LocLines(50)...))))
	compareModes(t, file, r, 3000)
}

// compareModes looks up n addresses per family (segment edges first, then
// random ones inside segments) in a lazy and an expanded table of the same
// file and compares the answers.
func compareModes(t *testing.T, file []byte, r *rand.Rand, n int) {
	t.Helper()
	expanded := decode(t, file)
	v4, v6, err := expanded.Index()
	if err != nil {
		t.Fatal(err)
	}
	var q []netip.Addr
	for i := range v4.Len() {
		if len(q) >= n {
			break
		}
		s, _ := v4.Segment(i)
		q = append(q, ipindex.U32Addr(s), ipindex.U32Addr(s-1))
	}
	for len(q) < n {
		i := r.IntN(v4.Len())
		s, _ := v4.Segment(i)
		e := uint32(1<<32 - 1)
		if i+1 < v4.Len() {
			ns, _ := v4.Segment(i + 1)
			e = ns - 1
		}
		q = append(q, ipindex.U32Addr(s+uint32(r.Uint64N(uint64(e-s)+1))))
	}
	m := len(q)
	for i := range v6.Len() {
		if len(q)-m >= n {
			break
		}
		s, _ := v6.Segment(i)
		q = append(q, ipindex.U128Addr(s), ipindex.U128Addr(s.Sub1()))
	}
	for len(q)-m < n {
		i := r.IntN(v6.Len())
		s, _ := v6.Segment(i)
		q = append(q, ipindex.U128Addr(s.Add(r.Uint64N(1<<20))))
	}
	lazy := decode(t, file)
	lazy.NoAutoExpand()
	bad := 0
	for _, a := range q {
		r1, k1, ok1 := lazy.Lookup(a)
		r2, k2, ok2 := expanded.Lookup(a)
		if !routeEq(r1, r2) || k1 != k2 || ok1 != ok2 {
			t.Errorf("Lookup(%s) = %v, %d, %v lazily; %v, %d, %v expanded", a, r1, k1, ok1, r2, k2, ok2)
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
	if lazy.Expanded(0) || lazy.Expanded(1) {
		t.Errorf("the lazy table expanded during the comparison")
	}
}

// TestLookupConcurrentExpand looks up from many goroutines in a fresh table
// while it expands itself (run with -race).
func TestLookupConcurrentExpand(t *testing.T) {
	t.Parallel()
	file := encode(t, lookupTable(t))
	want := decode(t, file)
	if err := want.Expand(); err != nil {
		t.Fatal(err)
	}
	tb := decode(t, file)
	addrs := []netip.Addr{
		netip.MustParseAddr("1.0.16.5"), netip.MustParseAddr("8.8.9.200"), netip.MustParseAddr("10.0.0.1"),
		netip.MustParseAddr("2a00:1450:4001::1"), netip.MustParseAddr("2a00:1451::"),
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 2 * snapshot.AutoExpand {
				a := addrs[(g+i)%len(addrs)]
				r1, k1, ok1 := tb.Lookup(a)
				r2, k2, ok2 := want.Lookup(a)
				if !routeEq(r1, r2) || k1 != k2 || ok1 != ok2 {
					errs <- fmt.Sprintf("Lookup(%s) = %v, %d, %v; want %v, %d, %v", a, r1, k1, ok1, r2, k2, ok2)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if !tb.Expanded(0) || !tb.Expanded(1) {
		t.Errorf("Expanded() = %v, %v after %d lookups per family; want true, true", tb.Expanded(0), tb.Expanded(1), 8*snapshot.AutoExpand)
	}
}
