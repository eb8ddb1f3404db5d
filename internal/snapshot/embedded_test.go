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

// TestEmbeddedFeeds checks the embedded snapshot's provider feeds
// (scripts/build-embedded.sh: the feeds of 2025-07 in
// ../shared/data/femueller-cloud-ip-ranges) and a few addresses of each
// kind: one no routing data announces, a region operated by another
// provider, a geofeed's city, an anycast range.
func TestEmbeddedFeeds(t *testing.T) {
	t.Parallel()
	tb, err := snapshot.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if !tb.HasFeeds() {
		t.Fatal("the embedded snapshot has no feeds")
	}
	type feed struct {
		Name, Provider, Date string
		Ranges               int
	}
	var got []feed
	total := 0
	for _, f := range tb.Meta().Feeds {
		got = append(got, feed{f.Name, f.Provider, f.Date, f.Stats.Ranges})
		total += f.Stats.Ranges
		if len(f.SHA256) != 64 || f.Status != "" {
			t.Errorf("feed %s: sha256 %q, status %q; want a SHA-256 and no update status", f.Name, f.SHA256, f.Status)
		}
		if n := len(tb.FeedRanges(f.Name)); n != f.Stats.Ranges {
			t.Errorf("FeedRanges(%s) = %d ranges, want %d", f.Name, n, f.Stats.Ranges)
		}
	}
	want := []feed{
		{"github", "github", "2025-07-25", 5959},
		{"aws", "aws", "2025-07-24", 9066},
		{"google-cloud", "google-cloud", "2025-07-24", 782},
		{"azure", "azure", "2025-07-25", 52386},
		{"oracle-cloud", "oracle-cloud", "2025-07-21", 896},
		{"cloudflare-v4", "cloudflare", "2025-07-25", 15},
		{"cloudflare-v6", "cloudflare", "2025-07-25", 7},
		{"fastly", "fastly", "2025-07-25", 21},
		{"akamai-v4", "akamai", "2025-07-25", 19},
		{"akamai-v6", "akamai", "2025-07-25", 3},
		{"linode", "linode", "2025-07-24", 4552},
		{"digitalocean", "digitalocean", "2025-07-25", 1182},
		{"zscaler", "zscaler", "2025-07-25", 80},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Meta().Feeds mismatch (-want +got):\n%s", diff)
	}
	if n := tb.Meta().Counts.FeedEntries; n != total || n != 74968 {
		t.Errorf("Meta().Counts.FeedEntries = %d, want 74968, the feeds' ranges (%d)", n, total)
	}

	tests := []struct {
		in  string
		asn uint32
		hit attribution.FeedHit // one of the address's hits; the first names the same provider
	}{
		// No routing data announces it: the feed alone knows it.
		{"15.230.221.10", 0, attribution.FeedHit{Feed: "aws", Label: "aws 2025-07-24", Provider: "aws", Region: "us-east-1", Service: "AMAZON", Prefix: netip.MustParsePrefix("15.230.221.0/24")}},
		// AWS lists its China regions, which other companies operate.
		{"54.222.88.1", 0, attribution.FeedHit{Feed: "aws", Label: "aws 2025-07-24", Provider: "aws-china", Region: "cn-north-1", Service: "EC2", Prefix: netip.MustParsePrefix("54.222.88.0/24")}},
		{"4.175.0.1", 0, attribution.FeedHit{Feed: "azure", Label: "azure 2025-07-25", Provider: "azure", Region: "westeurope", Service: "AzureCloud.westeurope", Prefix: netip.MustParsePrefix("4.175.0.0/16")}},
		{"104.16.1.1", 13335, attribution.FeedHit{Feed: "cloudflare-v4", Label: "cloudflare-v4 2025-07-25", Provider: "cloudflare", Prefix: netip.MustParsePrefix("104.16.0.0/13")}},
		{"2600:3c00::1", 63949, attribution.FeedHit{Feed: "linode", Label: "linode 2025-07-24", Provider: "linode", Country: "US", Area: "US-TX", City: "Richardson", Prefix: netip.MustParsePrefix("2600:3c00::/32")}},
		{"24.144.64.1", 14061, attribution.FeedHit{Feed: "digitalocean", Label: "digitalocean 2025-07-25", Provider: "digitalocean", Country: "US", Area: "US-NJ", City: "North Bergen", Prefix: netip.MustParsePrefix("24.144.64.0/22")}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, key, ok := tb.Lookup(netip.MustParseAddr(tc.in))
			if !ok || key < tb.Keys() || len(r.Feeds) == 0 || r.Feeds[0].Provider != tc.hit.Provider || (tc.asn != 0 && r.ASN != tc.asn) {
				t.Fatalf("Lookup(%s) = AS%d, %d feed hits, key %d, %v; want AS%d, a first hit of %s, a key of %d or more", tc.in, r.ASN, len(r.Feeds), key, ok, tc.asn, tc.hit.Provider, tb.Keys())
			}
			for _, h := range r.Feeds {
				if h == tc.hit {
					return
				}
			}
			t.Errorf("Lookup(%s).Feeds = %+v, want among them %+v", tc.in, r.Feeds, tc.hit)
		})
	}
	// Google's own services are not Google Cloud's: no feed lists them.
	if r, _, _ := tb.Lookup(netip.MustParseAddr("8.8.8.8")); len(r.Feeds) != 0 {
		t.Errorf("Lookup(8.8.8.8).Feeds = %+v, want none", r.Feeds)
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
