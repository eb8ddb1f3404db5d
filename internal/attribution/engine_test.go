package attribution_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
)

// fakeRoutes is a RouteTable over a few routes, searched linearly: the
// longest prefix that holds the address wins. A route's key is its index.
type fakeRoutes struct {
	routes []attribution.Route
}

func (f *fakeRoutes) Lookup(addr netip.Addr) (attribution.Route, int, bool) {
	best, bits := -1, -1
	for i, r := range f.routes {
		if r.Prefix.Contains(addr) && r.Prefix.Bits() > bits {
			best, bits = i, r.Prefix.Bits()
		}
	}
	if best < 0 {
		return attribution.Route{}, 0, false
	}
	return f.routes[best], best, true
}

func (f *fakeRoutes) Keys() int { return len(f.routes) }

func testRoutes() *fakeRoutes {
	return &fakeRoutes{routes: []attribution.Route{
		// AS100: acme-cloud, operated by acme-us (US), parent acme-group (CN).
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), ASN: 100, ASName: "ACME-US Acme (US) Technology", Registration: "US", Location: "SG"},
		// AS200: claimed by acme-cloud and beta-net.
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), ASN: 200, ASName: "SHARED-AS", Registration: "DE", Location: "DE"},
		// AS666: a trap whose name matches acme-cloud's pattern.
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), ASN: 666, ASName: "Acme Cloud Travel Agency", Registration: "IR", Location: "IR"},
		// AS300: no claim, but the AS name matches two providers' patterns.
		{Prefix: netip.MustParsePrefix("2001:db8:1::/48"), ASN: 300, ASName: "Acme Cloud Services Ltd", Registration: "HK", Location: "JP"},
		// AS400: nothing in the catalog.
		{Prefix: netip.MustParsePrefix("2001:db8:2::/48"), ASN: 400, ASName: "Unrelated Networks", Registration: "FR", Location: "BE"},
		// No origin AS, only a location.
		{Prefix: netip.MustParsePrefix("2001:db8:3::/48"), Location: "JP"},
		// AS500 inside AS100's block: a more specific route, no countries.
		{Prefix: netip.MustParsePrefix("192.0.2.128/25"), ASN: 500, ASName: "Beta Networks <Ops> & \"Co\""},
		// AS200 again, with other countries: a route key of its own.
		{Prefix: netip.MustParsePrefix("100.64.0.0/10"), ASN: 200, ASName: "SHARED-AS", Registration: "US"},
	}}
}

// addrComparers lets cmp compare netip values, whose fields are unexported.
var addrComparers = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

var testLabels = attribution.SourceLabels{ASN: "test-asn 2026-06-17"}

func testEngine(t testing.TB) *attribution.Engine {
	t.Helper()
	return attribution.NewEngine(testRoutes(), mustCatalog(t, testData()), testLabels)
}

func TestEngineAttribute(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	acmeCloud := &attribution.Ref{ID: "acme-cloud", Name: "Acme Cloud", Kind: "cloud"}
	acmeGroup := &attribution.Ref{ID: "acme-group", Name: "Acme Group Holding", Country: "CN"}
	acmeControl := &attribution.Control{Country: "CN", Basis: "ultimate parent Acme Group Holding, headquartered in Hangzhou", Source: "catalog"}
	tests := []struct {
		in   string
		want attribution.Record
	}{
		{
			// Three countries kept apart: operator US, control CN,
			// registration US, location SG.
			in: "192.0.2.7",
			want: attribution.Record{
				IP: netip.MustParseAddr("192.0.2.7"), Prefix: netip.MustParsePrefix("192.0.2.0/24"),
				ASN: 100, ASName: "ACME-US Acme (US) Technology",
				Provider:     acmeCloud,
				Operator:     &attribution.Ref{ID: "acme-us", Name: "Acme (US) Technology", Country: "US"},
				Parent:       acmeGroup,
				Control:      acmeControl,
				Registration: &attribution.Registration{Country: "US", Source: "rir"},
				Location:     &attribution.Location{Country: "SG", Source: "registry-geo"},
				Evidence: []attribution.Evidence{
					{Method: "asn", Detail: "origin AS100 listed for acme-cloud", Source: "test-asn 2026-06-17", Provider: "acme-cloud"},
				},
				Confidence: "high",
			},
		},
		{
			// Two claims: both in evidence, the first by provider ID wins,
			// confidence medium.
			in: "198.51.100.1",
			want: attribution.Record{
				IP: netip.MustParseAddr("198.51.100.1"), Prefix: netip.MustParsePrefix("198.51.100.0/24"),
				ASN: 200, ASName: "SHARED-AS",
				Provider:     acmeCloud,
				Operator:     &attribution.Ref{ID: "acme-cloud-co", Name: "Acme Cloud Computing", Country: "CN"},
				Parent:       acmeGroup,
				Control:      acmeControl,
				Registration: &attribution.Registration{Country: "DE", Source: "rir"},
				Location:     &attribution.Location{Country: "DE", Source: "registry-geo"},
				Evidence: []attribution.Evidence{
					{Method: "asn", Detail: "origin AS200 listed for acme-cloud", Source: "test-asn 2026-06-17", Provider: "acme-cloud"},
					{Method: "asn", Detail: "origin AS200 listed for beta-net", Source: "test-asn 2026-06-17", Provider: "beta-net"},
				},
				Confidence: "medium",
			},
		},
		{
			// A trap: not the catalog's provider, the evidence says why;
			// control comes from the registry, as for any network the
			// catalog does not know.
			in: "203.0.113.9",
			want: attribution.Record{
				IP: netip.MustParseAddr("203.0.113.9"), Prefix: netip.MustParsePrefix("203.0.113.0/24"),
				ASN: 666, ASName: "Acme Cloud Travel Agency",
				Operator:     &attribution.Ref{ID: "AS666", Name: "Acme Cloud Travel Agency", Country: "IR"},
				Control:      &attribution.Control{Country: "IR", Basis: "holder of AS666 registered in IR; no parent known", Source: "registry"},
				Registration: &attribution.Registration{Country: "IR", Source: "rir"},
				Location:     &attribution.Location{Country: "IR", Source: "registry-geo"},
				Evidence: []attribution.Evidence{
					{Method: "as-name", Detail: `AS666 "Acme Cloud Travel Agency" is a known name trap: travel agency, unrelated to Acme`, Source: "catalog"},
					{Method: "registry", Detail: `AS666 "Acme Cloud Travel Agency" is not in the catalog; the RIRs register it in IR`, Source: "rir"},
				},
				Confidence: "low",
			},
		},
		{
			// AS name match: low confidence, longest pattern first.
			in: "2001:db8:1::5",
			want: attribution.Record{
				IP: netip.MustParseAddr("2001:db8:1::5"), Prefix: netip.MustParsePrefix("2001:db8:1::/48"),
				ASN: 300, ASName: "Acme Cloud Services Ltd",
				Provider:     &attribution.Ref{ID: "gamma-host", Name: "Gamma Hosting", Kind: "hosting"},
				Operator:     &attribution.Ref{ID: "gamma-state", Name: "Gamma State Holding", Country: "CN"},
				Parent:       &attribution.Ref{ID: "gamma-state", Name: "Gamma State Holding", Country: "CN"},
				Control:      &attribution.Control{Country: "CN", Basis: "operator Gamma State Holding, headquartered in CN (state-owned)", Source: "catalog"},
				Registration: &attribution.Registration{Country: "HK", Source: "rir"},
				Location:     &attribution.Location{Country: "JP", Source: "registry-geo"},
				Evidence: []attribution.Evidence{
					{Method: "as-name", Detail: `AS name "Acme Cloud Services Ltd" contains "acme cloud services"`, Source: "test-asn 2026-06-17", Provider: "gamma-host"},
					{Method: "as-name", Detail: `AS name "Acme Cloud Services Ltd" contains "acme cloud"`, Source: "test-asn 2026-06-17", Provider: "acme-cloud"},
				},
				Confidence: "low",
			},
		},
		{
			// No catalog match: no provider; the AS holder operates it,
			// and control is its registration country, at low confidence.
			in: "2001:db8:2::1",
			want: attribution.Record{
				IP: netip.MustParseAddr("2001:db8:2::1"), Prefix: netip.MustParsePrefix("2001:db8:2::/48"),
				ASN: 400, ASName: "Unrelated Networks",
				Operator:     &attribution.Ref{ID: "AS400", Name: "Unrelated Networks", Country: "FR"},
				Control:      &attribution.Control{Country: "FR", Basis: "holder of AS400 registered in FR; no parent known", Source: "registry"},
				Registration: &attribution.Registration{Country: "FR", Source: "rir"},
				Location:     &attribution.Location{Country: "BE", Source: "registry-geo"},
				Evidence: []attribution.Evidence{
					{Method: "registry", Detail: `AS400 "Unrelated Networks" is not in the catalog; the RIRs register it in FR`, Source: "rir"},
				},
				Confidence: "low",
			},
		},
		{
			in: "2001:db8:3::1",
			want: attribution.Record{
				IP: netip.MustParseAddr("2001:db8:3::1"), Prefix: netip.MustParsePrefix("2001:db8:3::/48"),
				Location:   &attribution.Location{Country: "JP", Source: "registry-geo"},
				Confidence: "none",
			},
		},
		{
			// A more specific route by name, without countries.
			in: "192.0.2.200",
			want: attribution.Record{
				IP: netip.MustParseAddr("192.0.2.200"), Prefix: netip.MustParsePrefix("192.0.2.128/25"),
				ASN: 500, ASName: `Beta Networks <Ops> & "Co"`,
				Provider: &attribution.Ref{ID: "beta-net", Name: "Beta Net", Kind: "network"},
				Operator: &attribution.Ref{ID: "beta-inc", Name: "Beta, Inc.", Country: "US"},
				Parent:   &attribution.Ref{ID: "beta-inc", Name: "Beta, Inc.", Country: "US"},
				Control:  &attribution.Control{Country: "US", Basis: "operator Beta, Inc., headquartered in Seattle", Source: "catalog"},
				Evidence: []attribution.Evidence{
					{Method: "as-name", Detail: `AS name "Beta Networks <Ops> & \"Co\"" contains "beta networks"`, Source: "test-asn 2026-06-17", Provider: "beta-net"},
				},
				Confidence: "low",
			},
		},
		{
			in: "100.64.1.1",
			want: attribution.Record{
				IP: netip.MustParseAddr("100.64.1.1"), Prefix: netip.MustParsePrefix("100.64.0.0/10"),
				ASN: 200, ASName: "SHARED-AS",
				Provider:     acmeCloud,
				Operator:     &attribution.Ref{ID: "acme-cloud-co", Name: "Acme Cloud Computing", Country: "CN"},
				Parent:       acmeGroup,
				Control:      acmeControl,
				Registration: &attribution.Registration{Country: "US", Source: "rir"},
				Evidence: []attribution.Evidence{
					{Method: "asn", Detail: "origin AS200 listed for acme-cloud", Source: "test-asn 2026-06-17", Provider: "acme-cloud"},
					{Method: "asn", Detail: "origin AS200 listed for beta-net", Source: "test-asn 2026-06-17", Provider: "beta-net"},
				},
				Confidence: "medium",
			},
		},
		{
			// Not found: only the address and confidence none.
			in:   "8.8.8.8",
			want: attribution.Record{IP: netip.MustParseAddr("8.8.8.8"), Confidence: "none"},
		},
		{
			// IPv4-mapped IPv6 is unmapped before the lookup.
			in: "::ffff:192.0.2.7",
			want: attribution.Record{
				IP: netip.MustParseAddr("192.0.2.7"), Prefix: netip.MustParsePrefix("192.0.2.0/24"),
				ASN: 100, ASName: "ACME-US Acme (US) Technology",
				Provider:     acmeCloud,
				Operator:     &attribution.Ref{ID: "acme-us", Name: "Acme (US) Technology", Country: "US"},
				Parent:       acmeGroup,
				Control:      acmeControl,
				Registration: &attribution.Registration{Country: "US", Source: "rir"},
				Location:     &attribution.Location{Country: "SG", Source: "registry-geo"},
				Evidence: []attribution.Evidence{
					{Method: "asn", Detail: "origin AS100 listed for acme-cloud", Source: "test-asn 2026-06-17", Provider: "acme-cloud"},
				},
				Confidence: "high",
			},
		},
		{
			in:   "::ffff:8.8.8.8",
			want: attribution.Record{IP: netip.MustParseAddr("8.8.8.8"), Confidence: "none"},
		},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			addr := netip.MustParseAddr(test.in)
			got := e.Attribute(addr)
			if diff := cmp.Diff(test.want, got, addrComparers); diff != "" {
				t.Errorf("Attribute(%s) mismatch (-want +got):\n%s", test.in, diff)
			}
			// The second call hits the cache and must agree.
			if diff := cmp.Diff(test.want, e.Attribute(addr), addrComparers); diff != "" {
				t.Errorf("Attribute(%s) second call mismatch (-want +got):\n%s", test.in, diff)
			}
		})
	}
}

// TestEngineDeterministic checks that the choice among several claims does
// not depend on the order of the catalog files or of the providers.
func TestEngineDeterministic(t *testing.T) {
	t.Parallel()
	d := testData()
	d.Providers[0], d.Providers[1] = d.Providers[1], d.Providers[0]
	split := attribution.CatalogData{Providers: []attribution.Provider{d.Providers[0]}}
	d.Providers = d.Providers[1:]
	for name, c := range map[string]*attribution.Catalog{
		"reordered": mustCatalog(t, testData(), attribution.CatalogData{Providers: []attribution.Provider{testData().Providers[1], testData().Providers[0]}}),
		"split":     mustCatalog(t, d, split),
	} {
		e := attribution.NewEngine(testRoutes(), c, testLabels)
		for range 10 {
			r := e.Attribute(netip.MustParseAddr("198.51.100.1"))
			if r.Provider == nil || r.Provider.ID != "acme-cloud" || r.Confidence != "medium" || len(r.Evidence) != 2 {
				t.Fatalf("%s: Attribute(198.51.100.1) = %s, want acme-cloud, medium, two evidence entries", name, js(r))
			}
		}
	}
}

func TestEngineLabels(t *testing.T) {
	t.Parallel()
	e := attribution.NewEngine(testRoutes(), mustCatalog(t, testData()), attribution.SourceLabels{ASN: "a", Registration: "delegated", Location: "geofeed"})
	r := e.Attribute(netip.MustParseAddr("192.0.2.1"))
	if r.Registration.Source != "delegated" || r.Location.Source != "geofeed" || r.Evidence[0].Source != "a" {
		t.Errorf("Attribute(192.0.2.1) sources = %q, %q, %q, want delegated, geofeed, a", r.Registration.Source, r.Location.Source, r.Evidence[0].Source)
	}
}

func TestEngineNilParts(t *testing.T) {
	t.Parallel()
	addr := netip.MustParseAddr("192.0.2.7")
	t.Run("no routes", func(t *testing.T) {
		t.Parallel()
		e := attribution.NewEngine(nil, mustCatalog(t, testData()), testLabels)
		want := attribution.Record{IP: addr, Confidence: "none"}
		if diff := cmp.Diff(want, e.Attribute(addr), addrComparers); diff != "" {
			t.Errorf("Attribute(%s) mismatch (-want +got):\n%s", addr, diff)
		}
		if got, want := string(e.AppendJSON(nil, addr)), `{"ip":"192.0.2.7","confidence":"none"}`; got != want {
			t.Errorf("AppendJSON(%s) = %s, want %s", addr, got, want)
		}
	})
	t.Run("no catalog", func(t *testing.T) {
		t.Parallel()
		e := attribution.NewEngine(testRoutes(), nil, testLabels)
		want := attribution.Record{
			IP: addr, Prefix: netip.MustParsePrefix("192.0.2.0/24"), ASN: 100, ASName: "ACME-US Acme (US) Technology",
			Registration: &attribution.Registration{Country: "US", Source: "rir"},
			Location:     &attribution.Location{Country: "SG", Source: "registry-geo"},
			Confidence:   "none",
		}
		if diff := cmp.Diff(want, e.Attribute(addr), addrComparers); diff != "" {
			t.Errorf("Attribute(%s) mismatch (-want +got):\n%s", addr, diff)
		}
		if e.Catalog() != nil {
			t.Errorf("Catalog() = %p, want nil", e.Catalog())
		}
	})
}

func TestEngineConcurrent(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	addrs := []string{"192.0.2.7", "198.51.100.1", "203.0.113.9", "2001:db8:1::5", "2001:db8:2::1", "8.8.8.8", "192.0.2.200"}
	want := map[string]string{}
	ref := testEngine(t)
	for _, a := range addrs {
		r := ref.Attribute(netip.MustParseAddr(a))
		want[a] = string(r.AppendJSON(nil))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(addrs))
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				a := addrs[(g+i)%len(addrs)]
				got := string(e.AppendJSON(nil, netip.MustParseAddr(a)))
				if got != want[a] {
					errs <- fmt.Sprintf("AppendJSON(%s) = %s, want %s", a, got, want[a])
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
}

func TestControlBasis(t *testing.T) {
	t.Parallel()
	group := &attribution.Company{ID: "g", Name: "Acme Group", Headquarters: "CN", City: "Hangzhou"}
	sub := &attribution.Company{ID: "s", Name: "Acme US", Headquarters: "US", Parent: "g"}
	state := &attribution.Company{ID: "st", Name: "State Holding", Headquarters: "CN", StateOwned: true}
	stateCity := &attribution.Company{ID: "sc", Name: "SASAC Co", Headquarters: "CN", City: "Beijing", StateOwned: true}
	tests := []struct {
		name  string
		chain []*attribution.Company
		want  string
	}{
		{"empty", nil, ""},
		{"operator alone", []*attribution.Company{group}, "operator Acme Group, headquartered in Hangzhou"},
		{"operator and parent", []*attribution.Company{sub, group}, "ultimate parent Acme Group, headquartered in Hangzhou"},
		{"no city", []*attribution.Company{sub}, "operator Acme US, headquartered in US"},
		{"state-owned without city", []*attribution.Company{sub, state}, "ultimate parent State Holding, headquartered in CN (state-owned)"},
		{"state-owned with city", []*attribution.Company{stateCity}, "operator SASAC Co, headquartered in Beijing (state-owned)"},
		{"three levels", []*attribution.Company{sub, state, group}, "ultimate parent Acme Group, headquartered in Hangzhou"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			if got := attribution.ControlBasis(test.chain); got != test.want {
				t.Errorf("ControlBasis(%s) = %q, want %q", test.name, got, test.want)
			}
		})
	}
}

func TestAttributeHost(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	tests := []struct {
		host       string
		layer      attribution.Layer
		ok         bool
		provider   string
		operator   string
		parent     string
		control    string
		evidence   []string // provider of each evidence entry
		detail0    string
		confidence string
	}{
		{host: "oss.acmecloud.com", layer: attribution.LayerWeb, ok: true, provider: "acme-cloud", operator: "acme-cloud-co", parent: "acme-group", control: "CN",
			evidence: []string{"acme-cloud"}, detail0: "oss.acmecloud.com matches web suffix acmecloud.com of acme-cloud", confidence: "medium"},
		{host: "OSS.AcmeCloud.com.", layer: "", ok: true, provider: "acme-cloud", operator: "acme-cloud-co", parent: "acme-group", control: "CN",
			evidence: []string{"acme-cloud"}, detail0: "oss.acmecloud.com matches web suffix acmecloud.com of acme-cloud", confidence: "medium"},
		// Longest suffix wins without a layer, or when the layer agrees.
		{host: "mx1.mx.acmecloud.com", layer: "", ok: true, provider: "acme-cloud", operator: "acme-cloud-co", parent: "acme-group", control: "CN",
			evidence: []string{"acme-cloud", "acme-cloud"}, detail0: "mx1.mx.acmecloud.com matches mail suffix mx.acmecloud.com of acme-cloud", confidence: "medium"},
		// The preferred layer wins over a longer suffix of another layer.
		{host: "edge.cdn.acmecloud.com", layer: attribution.LayerWeb, ok: true, provider: "beta-net", operator: "beta-inc", parent: "beta-inc", control: "US",
			evidence: []string{"beta-net", "acme-cloud"}, detail0: "edge.cdn.acmecloud.com matches web suffix cdn.acmecloud.com of beta-net", confidence: "medium"},
		{host: "x.dns.acmedns.com", layer: attribution.LayerDNS, ok: true, provider: "acme-cloud", operator: "acme-us", parent: "acme-group", control: "CN",
			evidence: []string{"acme-cloud"}, detail0: "x.dns.acmedns.com matches dns suffix acmedns.com of acme-cloud", confidence: "medium"},
		// A layer no suffix has: fall back to the longest suffix.
		{host: "ns1.acmedns.com", layer: attribution.LayerMail, ok: true, provider: "acme-cloud", operator: "acme-us", parent: "acme-group", control: "CN",
			evidence: []string{"acme-cloud"}, detail0: "ns1.acmedns.com matches dns suffix acmedns.com of acme-cloud", confidence: "medium"},
		{host: "evilacmecloud.com", layer: attribution.LayerWeb, ok: false},
		{host: "example.com", ok: false},
		{host: "", ok: false},
	}
	for _, test := range tests {
		t.Run(test.host+"/"+string(test.layer), func(t *testing.T) {
			t.Parallel()
			m, ok := e.AttributeHost(test.host, test.layer)
			if ok != test.ok {
				t.Fatalf("AttributeHost(%q, %q) ok = %v, want %v", test.host, test.layer, ok, test.ok)
			}
			if !ok {
				if diff := cmp.Diff(attribution.HostMatch{}, m); diff != "" {
					t.Errorf("AttributeHost(%q, %q) not zero (-want +got):\n%s", test.host, test.layer, diff)
				}
				return
			}
			var ev []string
			for _, x := range m.Evidence {
				ev = append(ev, x.Provider)
				if x.Method != "hostname" || x.Source != "catalog" {
					t.Errorf("AttributeHost(%q) evidence %s, want method hostname, source catalog", test.host, js(x))
				}
			}
			got := fmt.Sprintf("%s %s %s %s %q %s", m.Provider.ID, m.Operator.ID, m.Parent.ID, m.Control.Country, ev, m.Confidence)
			want := fmt.Sprintf("%s %s %s %s %q %s", test.provider, test.operator, test.parent, test.control, test.evidence, test.confidence)
			if got != want {
				t.Errorf("AttributeHost(%q, %q) = %s, want %s", test.host, test.layer, got, want)
			}
			if m.Evidence[0].Detail != test.detail0 {
				t.Errorf("AttributeHost(%q, %q) evidence[0].detail = %q, want %q", test.host, test.layer, m.Evidence[0].Detail, test.detail0)
			}
			if !strings.HasPrefix(m.Control.Basis, "ultimate parent ") && !strings.HasPrefix(m.Control.Basis, "operator ") {
				t.Errorf("AttributeHost(%q) control basis = %q", test.host, m.Control.Basis)
			}
		})
	}
}

func TestAttributeHostNoCatalog(t *testing.T) {
	t.Parallel()
	e := attribution.NewEngine(nil, nil, testLabels)
	if m, ok := e.AttributeHost("oss.acmecloud.com", attribution.LayerWeb); ok {
		t.Errorf("AttributeHost without a catalog = %s, true, want false", js(m))
	}
}

// sparseRoutes is a fakeRoutes that declares fewer keys than it gives, as a
// table whose keys past Keys() combine routing facts with feed hits.
type sparseRoutes struct {
	fakeRoutes
	keys int
}

func (s *sparseRoutes) Keys() int { return s.keys }

func TestEngineFeeds(t *testing.T) {
	t.Parallel()
	pfx := netip.MustParsePrefix
	routes := &sparseRoutes{keys: 2, fakeRoutes: fakeRoutes{routes: []attribution.Route{
		// 0: the feed agrees with the ASN claim; the claim's operator is kept.
		{Prefix: pfx("192.0.2.0/24"), ASN: 100, ASName: "ACME-US", Registration: "US", Location: "US", Feeds: []attribution.FeedHit{
			{Feed: "acme", Label: "acme feed 2026-06-01", Provider: "acme-cloud", Prefix: pfx("192.0.2.0/25"), Region: "cn-hangzhou", Service: "EC2"},
		}},
		// 1: the feed names another provider than the ASN claim: the feed wins.
		{Prefix: pfx("198.51.100.0/24"), ASN: 100, ASName: "ACME-US", Registration: "US", Location: "DE", Feeds: []attribution.FeedHit{
			{Feed: "beta", Label: "beta feed", Provider: "beta-net", Prefix: pfx("198.51.100.0/24")},
		}},
		// 2: a geofeed states country, area and city; no ASN.
		{Prefix: pfx("203.0.113.0/24"), Location: "US", Feeds: []attribution.FeedHit{
			{Feed: "gamma-geofeed", Label: "gamma geofeed", Provider: "gamma-host", Prefix: pfx("203.0.113.0/26"), Country: "JP", Area: "JP-13", City: "Tokyo"},
		}},
		// 3: a feed of a provider the catalog does not know, then one it
		// knows, whose region is unknown and which states no country.
		{Prefix: pfx("2001:db8:1::/48"), ASN: 400, ASName: "Unrelated", Location: "FR", Feeds: []attribution.FeedHit{
			{Feed: "x", Label: "x feed", Provider: "nobody", Prefix: pfx("2001:db8:1::/64")},
			{Feed: "acme", Label: "acme feed", Provider: "acme-cloud", Prefix: pfx("2001:db8:1::/56"), Region: "mars-1"},
		}},
		// 4: only an unknown provider's feed: evidence, no verdict.
		{Prefix: pfx("2001:db8:2::/48"), ASN: 400, ASName: "Unrelated", Feeds: []attribution.FeedHit{
			{Feed: "x", Label: "x feed", Provider: "nobody", Prefix: pfx("2001:db8:2::/48"), Region: "r9", Country: "NL"},
		}},
	}}}
	e := attribution.NewEngine(routes, mustCatalog(t, testData()), testLabels)
	acmeGroup := &attribution.Ref{ID: "acme-group", Name: "Acme Group Holding", Country: "CN"}
	acmeControl := &attribution.Control{Country: "CN", Basis: "ultimate parent Acme Group Holding, headquartered in Hangzhou", Source: "catalog"}
	tests := []struct {
		in   string
		want attribution.Record
	}{
		{"192.0.2.1", attribution.Record{
			IP: netip.MustParseAddr("192.0.2.1"), Prefix: pfx("192.0.2.0/24"), ASN: 100, ASName: "ACME-US",
			Provider:     &attribution.Ref{ID: "acme-cloud", Name: "Acme Cloud", Kind: "cloud"},
			Operator:     &attribution.Ref{ID: "acme-us", Name: "Acme (US) Technology", Country: "US"},
			Parent:       acmeGroup,
			Control:      acmeControl,
			Registration: &attribution.Registration{Country: "US", Source: "rir"},
			Location:     &attribution.Location{Country: "CN", Region: "cn-hangzhou", City: "Hangzhou", Source: "provider-feed"},
			Evidence: []attribution.Evidence{
				{Method: "feed", Detail: "listed in the acme feed as 192.0.2.0/25 (region cn-hangzhou, service EC2)", Source: "acme feed 2026-06-01", Provider: "acme-cloud"},
				{Method: "asn", Detail: "origin AS100 listed for acme-cloud", Source: "test-asn 2026-06-17", Provider: "acme-cloud"},
			},
			Confidence: "high",
		}},
		{"198.51.100.1", attribution.Record{
			IP: netip.MustParseAddr("198.51.100.1"), Prefix: pfx("198.51.100.0/24"), ASN: 100, ASName: "ACME-US",
			Provider:     &attribution.Ref{ID: "beta-net", Name: "Beta Net", Kind: "network"},
			Operator:     &attribution.Ref{ID: "beta-inc", Name: "Beta, Inc.", Country: "US"},
			Parent:       &attribution.Ref{ID: "beta-inc", Name: "Beta, Inc.", Country: "US"},
			Control:      &attribution.Control{Country: "US", Basis: "operator Beta, Inc., headquartered in Seattle", Source: "catalog"},
			Registration: &attribution.Registration{Country: "US", Source: "rir"},
			Location:     &attribution.Location{Country: "DE", Source: "registry-geo"},
			Evidence: []attribution.Evidence{
				{Method: "feed", Detail: "listed in the beta feed as 198.51.100.0/24", Source: "beta feed", Provider: "beta-net"},
				{Method: "asn", Detail: "origin AS100 listed for acme-cloud", Source: "test-asn 2026-06-17", Provider: "acme-cloud"},
			},
			Confidence: "high",
		}},
		{"203.0.113.7", attribution.Record{
			IP: netip.MustParseAddr("203.0.113.7"), Prefix: pfx("203.0.113.0/24"),
			Provider: &attribution.Ref{ID: "gamma-host", Name: "Gamma Hosting", Kind: "hosting"},
			Operator: &attribution.Ref{ID: "gamma-state", Name: "Gamma State Holding", Country: "CN"},
			Parent:   &attribution.Ref{ID: "gamma-state", Name: "Gamma State Holding", Country: "CN"},
			Control:  &attribution.Control{Country: "CN", Basis: "operator Gamma State Holding, headquartered in CN (state-owned)", Source: "catalog"},
			Location: &attribution.Location{Country: "JP", City: "Tokyo", Area: "JP-13", Source: "provider-feed"},
			Evidence: []attribution.Evidence{
				{Method: "feed", Detail: "listed in the gamma-geofeed feed as 203.0.113.0/26 (country JP)", Source: "gamma geofeed", Provider: "gamma-host"},
			},
			Confidence: "high",
		}},
		{"2001:db8:1::1", attribution.Record{
			IP: netip.MustParseAddr("2001:db8:1::1"), Prefix: pfx("2001:db8:1::/48"), ASN: 400, ASName: "Unrelated",
			Provider: &attribution.Ref{ID: "acme-cloud", Name: "Acme Cloud", Kind: "cloud"},
			Operator: &attribution.Ref{ID: "acme-cloud-co", Name: "Acme Cloud Computing", Country: "CN"},
			Parent:   acmeGroup,
			Control:  acmeControl,
			Location: &attribution.Location{Country: "FR", Source: "registry-geo"},
			Evidence: []attribution.Evidence{
				{Method: "feed", Detail: "listed in the x feed as 2001:db8:1::/64", Source: "x feed", Provider: "nobody"},
				{Method: "feed", Detail: "listed in the acme feed as 2001:db8:1::/56 (region mars-1)", Source: "acme feed", Provider: "acme-cloud"},
			},
			Confidence: "high",
		}},
		{"2001:db8:2::1", attribution.Record{
			IP: netip.MustParseAddr("2001:db8:2::1"), Prefix: pfx("2001:db8:2::/48"), ASN: 400, ASName: "Unrelated",
			Evidence: []attribution.Evidence{
				{Method: "feed", Detail: "listed in the x feed as 2001:db8:2::/48 (region r9, country NL)", Source: "x feed", Provider: "nobody"},
			},
			Confidence: "none",
		}},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			addr := netip.MustParseAddr(test.in)
			for i := range 2 { // the second call reads the cache, dense or sparse
				got := e.Attribute(addr)
				if diff := cmp.Diff(test.want, got, addrComparers); diff != "" {
					t.Errorf("Attribute(%s) call %d mismatch (-want +got):\n%s", test.in, i, diff)
				}
				want, err := json.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if fast := e.AppendJSON(nil, addr); string(fast) != string(want) {
					t.Errorf("AppendJSON(%s) call %d =\n%s\nwant json.Marshal(Attribute(%s))\n%s", test.in, i, fast, test.in, want)
				}
			}
		})
	}
}

// TestEngineKey checks Key against AppendJSONKey, and that addresses with
// the same key have records that differ only in IP and Prefix; addresses
// under a user's range claim, and addresses without a route, have key -1.
func TestEngineKey(t *testing.T) {
	t.Parallel()
	data := testData()
	data.Ranges = []attribution.RangeClaim{{Prefix: "192.0.2.64/26", Provider: "beta-net", Source: "src"}}
	e := attribution.NewEngine(testRoutes(), mustCatalog(t, data), testLabels)
	byKey := map[int]attribution.Record{}
	for _, s := range []string{
		"192.0.2.1", "192.0.2.2", "192.0.2.65", "192.0.2.100", "192.0.2.129", "192.0.2.200",
		"198.51.100.1", "198.51.100.9", "203.0.113.7", "2001:db8:1::1", "2001:db8:1::ff",
		"2001:db8:3::1", "100.64.0.1", "100.100.0.1", "8.8.8.8", "::ffff:192.0.2.1",
	} {
		addr := netip.MustParseAddr(s)
		_, want := e.AppendJSONKey(nil, addr)
		key := e.Key(addr)
		if key != want {
			t.Errorf("Key(%s) = %d, AppendJSONKey gives %d", s, key, want)
		}
		under := netip.MustParsePrefix("192.0.2.64/26").Contains(addr.Unmap())
		if under && key != -1 {
			t.Errorf("Key(%s) = %d under a range claim, want -1", s, key)
		}
		if key < 0 {
			continue
		}
		rec := e.Attribute(addr)
		rec.IP, rec.Prefix = netip.Addr{}, netip.Prefix{}
		if first, ok := byKey[key]; ok {
			if diff := cmp.Diff(first, rec, addrComparers); diff != "" {
				t.Errorf("%s: record differs from the first of key %d (-first +this):\n%s", s, key, diff)
			}
		}
		byKey[key] = rec
	}
	if len(byKey) < 6 {
		t.Errorf("%d keys seen, want at least 6", len(byKey))
	}
	if k := attribution.NewEngine(nil, nil, testLabels).Key(netip.MustParseAddr("192.0.2.1")); k != -1 {
		t.Errorf("Key without routes = %d, want -1", k)
	}
}
