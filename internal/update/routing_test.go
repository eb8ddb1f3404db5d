package update

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/pfx2as"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func entries(t *testing.T, s string) []pfx2as.Entry {
	t.Helper()
	es, err := pfx2as.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func sp(first, last string, asn uint32) span {
	return span{netip.MustParseAddr(first), netip.MustParseAddr(last), asn}
}

func TestFlatten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []span
	}{
		{name: "empty"},
		{
			name: "nested",
			in:   "10.0.0.0\t8\t1\n10.1.0.0\t16\t2\n10.1.2.0\t24\t3\n10.200.0.0\t16\t1\n",
			want: []span{
				sp("10.0.0.0", "10.0.255.255", 1),
				sp("10.1.0.0", "10.1.1.255", 2),
				sp("10.1.2.0", "10.1.2.255", 3),
				sp("10.1.3.0", "10.1.255.255", 2),
				sp("10.2.0.0", "10.255.255.255", 1), // 10.200/16 has the same origin: merged
			},
		},
		{
			name: "same start, repeated prefix: the later line wins",
			in:   "10.0.0.0\t16\t1\n10.0.0.0\t24\t2\n10.0.0.0\t24\t3\n",
			want: []span{sp("10.0.0.0", "10.0.0.255", 3), sp("10.0.1.0", "10.0.255.255", 1)},
		},
		{
			name: "adjacent, same origin",
			in:   "10.0.0.0\t24\t7\n10.0.1.0\t24\t7\n10.0.3.0\t24\t7\n",
			want: []span{sp("10.0.0.0", "10.0.1.255", 7), sp("10.0.3.0", "10.0.3.255", 7)},
		},
		{
			name: "ends of the address space and both families",
			in:   "0.0.0.0\t0\t9\n255.255.255.0\t24\t8\n::\t0\t9\nffff::\t16\t8\n",
			want: []span{
				sp("0.0.0.0", "255.255.254.255", 9),
				sp("255.255.255.0", "255.255.255.255", 8),
				sp("::", "fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 9),
				sp("ffff::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 8),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := flatten(entries(t, tt.in))
			if diff := cmp.Diff(tt.want, got, addrCmp, cmp.AllowUnexported(span{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("flatten mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFlattenReference compares flatten with a longest-prefix match over
// random nested prefixes, address by address.
func TestFlattenReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		var es []pfx2as.Entry
		for range 1 + rng.IntN(40) {
			bits := 16 + rng.IntN(9) // inside 10.0.0.0/16..24, so that they nest often
			a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), 0})
			p, _ := a.Prefix(bits)
			if bits < 16 || rng.IntN(10) == 0 {
				p = netip.MustParsePrefix("10.0.0.0/14")
			}
			es = append(es, pfx2as.Entry{Prefix: p, Origins: []uint32{uint32(1 + rng.IntN(3))}, Line: len(es) + 1})
		}
		spans := flatten(es)
		for i := 1; i < len(spans); i++ {
			if !spans[i-1].last.Less(spans[i].first) {
				t.Fatalf("round %d: spans overlap or are out of order: %v %v", round, spans[i-1], spans[i])
			}
		}
		for x := 0; x < 4*65536; x += 1 + rng.IntN(97) {
			a := netip.AddrFrom4([4]byte{10, byte(x >> 16), byte(x >> 8), byte(x)})
			want, bestBits := uint32(0), -1
			for _, e := range es {
				if e.Prefix.Contains(a) && e.Prefix.Bits() >= bestBits {
					want, bestBits = e.Origin(), e.Prefix.Bits()
				}
			}
			got := uint32(0)
			for _, s := range spans {
				if !a.Less(s.first) && !s.last.Less(a) {
					got = s.asn
				}
			}
			if got != want {
				t.Fatalf("round %d: %s: flatten gives AS%d, longest match AS%d\nprefixes %v", round, a, got, want, es)
			}
		}
	}
}

func TestLastAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"10.0.0.0/8":        "10.255.255.255",
		"1.2.3.4/32":        "1.2.3.4",
		"0.0.0.0/0":         "255.255.255.255",
		"2001:db8::/32":     "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		"2001:db8::1/128":   "2001:db8::1",
		"2001:db8:0:1::/63": "2001:db8:0:1:ffff:ffff:ffff:ffff",
	} {
		if got := lastAddr(netip.MustParsePrefix(in)); got.String() != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDropUnplaced(t *testing.T) {
	t.Parallel()
	p := netip.MustParsePrefix
	in := []attribution.FeedRange{
		{Prefix: p("4.145.74.52/30"), Service: "ActionGroup"},                   // global tag, regional below: dropped
		{Prefix: p("4.145.74.52/30"), Region: "eastus", Service: "AzureCloud"},  //
		{Prefix: p("4.145.74.52/30"), Region: "eastus", Service: "ActionGroup"}, //
		{Prefix: p("20.0.0.0/24"), Service: "AzureFrontDoor.Frontend"},          // only global: kept
		{Prefix: p("20.0.0.0/16"), Region: "westeurope", Service: "AzureCloud"}, // another prefix
		{Prefix: p("2600:3c03::/32"), Country: "US", Area: "US-NJ", City: "Cedar Knolls"},
		{Prefix: p("2600:3c03::/32")}, // a geofeed line with no place: dropped
	}
	want := []attribution.FeedRange{in[1], in[2], in[3], in[4], in[5]}
	if diff := cmp.Diff(want, dropUnplaced(in), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("dropUnplaced mismatch (-want +got):\n%s", diff)
	}
}
