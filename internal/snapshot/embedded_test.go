package snapshot_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
	"github.com/sovmap/sovmap/internal/snapshot"
)

func TestEmbedded(t *testing.T) {
	t.Parallel()
	tb, err := snapshot.Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	if again, _ := snapshot.Embedded(); again != tb {
		t.Errorf("Embedded() returned two tables; want one, decoded once")
	}
	if got := tb.Size(); got != len(snapshot.EmbeddedBytes) {
		t.Errorf("Embedded().Size() = %d, want %d", got, len(snapshot.EmbeddedBytes))
	}
	var buf bytes.Buffer
	if err := tb.Encode(&buf); err != nil || !bytes.Equal(buf.Bytes(), snapshot.EmbeddedBytes) {
		t.Errorf("Encode(Embedded()) = %d bytes, %v; want the embedded file", buf.Len(), err)
	}

	m := tb.Meta()
	if m.Format != snapshot.FormatVersion || m.Name != "embedded" || m.Built != "2026-06-17" {
		t.Errorf("Meta() = format %d, name %q, built %q; want %d, embedded, 2026-06-17", m.Format, m.Name, m.Built, snapshot.FormatVersion)
	}
	type src struct{ Dataset, Name, Version, Date string }
	var got []src
	for _, s := range m.Sources {
		got = append(got, src{s.Dataset, s.Name, s.Version, s.Date})
		if len(s.Files) != 2 || s.License == "" || s.Attribution == "" || s.Integrity == "" {
			t.Errorf("source %s: %d files, license %q, attribution %q, integrity %q; want 2 files and all set",
				s.Name, len(s.Files), s.License, s.Attribution, s.Integrity)
		}
	}
	want := []src{
		{"asn", "@ip-location-db/asn", "2.3.2026061719", "2026-06-17"},
		{"registration", "@ip-location-db/asn-country", "2.3.2026061719", "2026-06-17"},
		{"location", "@ip-location-db/geo-whois-asn-country", "2.3.2026061719", "2026-06-17"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Meta().Sources mismatch (-want +got):\n%s", diff)
	}
	v4, v6 := tb.Segments()
	if c := m.Counts; c.IPv4Segments != v4 || c.IPv6Segments != v6 || c.Tuples != tb.Keys() || v4 < 100_000 || v6 < 100_000 {
		t.Errorf("Meta().Counts = %+v; Segments() = %d, %d; Keys() = %d", c, v4, v6, tb.Keys())
	}
	if got := m.Label(snapshot.ASNData); got != "ip-location-db asn 2026-06-17" {
		t.Errorf("Meta().Label(ASNData) = %q", got)
	}

	tests := []struct {
		in                string
		asn               uint32
		registration      string
		ok                bool
		wantPrefixHolding bool
	}{
		{"47.88.1.1", 45102, "US", true, true},
		{"8.8.8.8", 15169, "US", true, true},
		{"2a00:1450:4001::1", 15169, "", true, true},
		{"::ffff:8.8.8.8", 15169, "US", true, true},
		{"10.1.1.1", 0, "", false, false},
		{"192.168.1.1", 0, "", false, false},
		{"fe80::1", 0, "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a := netip.MustParseAddr(tc.in)
			r, key, ok := tb.Lookup(a)
			if ok != tc.ok || r.ASN != tc.asn || (tc.registration != "" && r.Registration != tc.registration) {
				t.Errorf("Lookup(%s) = %+v, %v; want AS%d registered %q, %v", tc.in, r, ok, tc.asn, tc.registration, tc.ok)
			}
			if ok && (!r.Prefix.Contains(a.Unmap()) || key < 1 || key >= tb.Keys() || r.ASName == "") {
				t.Errorf("Lookup(%s) = %+v, key %d: want a named route whose prefix holds the address, key in [1, %d)", tc.in, r, key, tb.Keys())
			}
			if !ok && (!routeEq(r, attribution.Route{}) || key != 0) {
				t.Errorf("Lookup(%s) = %+v, %d, false; want the zero route and key", tc.in, r, key)
			}
		})
	}
}

// TestEmbeddedLazyMatchesExpanded compares the lazy and expanded lookup
// paths on the real data.
func TestEmbeddedLazyMatchesExpanded(t *testing.T) {
	t.Parallel()
	n := 4000
	if testing.Short() {
		n = 500
	}
	compareModes(t, snapshot.EmbeddedBytes, newRand(11), n)
}

// TestEmbeddedPrefixes checks on the real data that every route's prefix
// holds the address and lies within one AS: every segment it overlaps
// has the route's ASN.
func TestEmbeddedPrefixes(t *testing.T) {
	t.Parallel()
	tb := decode(t, snapshot.EmbeddedBytes)
	v4, _, err := tb.Index()
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(12)
	for range 2000 {
		a := ipindex.U32Addr(r.Uint32())
		rt, _, ok := tb.Lookup(a)
		if !ok {
			continue
		}
		if !rt.Prefix.Contains(a) {
			t.Fatalf("Lookup(%s).Prefix = %v does not hold the address", a, rt.Prefix)
		}
		if rt.ASN == 0 {
			continue // a prefix without ASN is its segment alone
		}
		first := ipindex.AddrU32(rt.Prefix.Addr())
		last := first | (1<<(32-rt.Prefix.Bits()) - 1)
		for i := v4.Find(first); i < v4.Len(); i++ {
			s, _ := v4.Segment(i)
			if s > last {
				break
			}
			in := ipindex.U32Addr(max(s, first))
			if pr, _, pok := tb.Lookup(in); !pok || pr.ASN != rt.ASN {
				t.Fatalf("Lookup(%s).Prefix = %v (AS%d), but %s in it is AS%d (%v)", a, rt.Prefix, rt.ASN, in, pr.ASN, pok)
			}
		}
	}
}

// The benchmarks below run on the embedded snapshot.

func BenchmarkDecodeEmbedded(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(snapshot.EmbeddedBytes)))
	for b.Loop() {
		if _, err := snapshot.Decode(snapshot.EmbeddedBytes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeExpandEmbedded adds the decoding of both families whole,
// which a table does after its first few thousand lookups.
func BenchmarkDecodeExpandEmbedded(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tb, err := snapshot.Decode(snapshot.EmbeddedBytes)
		if err != nil {
			b.Fatal(err)
		}
		if err := tb.Expand(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstLookup is what a one-shot "sovmap ip X" pays for its data:
// decoding the file and one lazy lookup.
func BenchmarkFirstLookup(b *testing.B) {
	b.ReportAllocs()
	a := netip.MustParseAddr("47.88.1.1")
	for b.Loop() {
		tb, err := snapshot.Decode(snapshot.EmbeddedBytes)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, ok := tb.Lookup(a); !ok {
			b.Fatal("not found")
		}
	}
}

const coldRing = 1 << 20

// ringOf returns coldRing random addresses of a family drawn from the
// table's own segments that hold data.
func ringOf(b *testing.B, tb *snapshot.Table, fam int) []netip.Addr {
	v4, v6, err := tb.Index()
	if err != nil {
		b.Fatal(err)
	}
	r := newRand(uint64(fam) + 1)
	ring := make([]netip.Addr, 0, coldRing)
	for len(ring) < coldRing {
		if fam == 0 {
			i := r.IntN(v4.Len())
			s, key := v4.Segment(i)
			if key == 0 {
				continue
			}
			e := uint32(1<<32 - 1)
			if i+1 < v4.Len() {
				ns, _ := v4.Segment(i + 1)
				e = ns - 1
			}
			ring = append(ring, ipindex.U32Addr(s+uint32(r.Uint64N(uint64(e-s)+1))))
			continue
		}
		i := r.IntN(v6.Len())
		s, key := v6.Segment(i)
		if key == 0 {
			continue
		}
		a := s.Add(r.Uint64())
		if i+1 < v6.Len() {
			if ns, _ := v6.Segment(i + 1); !a.Less(ns) {
				a = s
			}
		}
		ring = append(ring, ipindex.U128Addr(a))
	}
	return ring
}

// BenchmarkLookupCold looks up a ring of a million random in-table
// addresses: the table's segments and the ring do not fit in cache.
// "expanded" is the steady state of a long-running process; "lazy" is the
// block-by-block path of a process's first few thousand lookups.
func BenchmarkLookupCold(b *testing.B) {
	expanded := decode(b, snapshot.EmbeddedBytes)
	lazy := decode(b, snapshot.EmbeddedBytes)
	lazy.NoAutoExpand()
	for _, fam := range []struct {
		name string
		n    int
	}{{"v4", 0}, {"v6", 1}} {
		ring := ringOf(b, expanded, fam.n)
		for _, mode := range []struct {
			name string
			tb   *snapshot.Table
		}{{"expanded", expanded}, {"lazy", lazy}} {
			b.Run(fam.name+"/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, _, ok := mode.tb.Lookup(ring[i&(coldRing-1)]); !ok {
						b.Fatal("not found")
					}
					i++
				}
			})
		}
	}
	if lazy.Expanded(0) || lazy.Expanded(1) {
		b.Errorf("the lazy table expanded")
	}
}
