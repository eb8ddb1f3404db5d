package attribution_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/sovmap/sovmap/internal/attribution"
)

// testData returns a small, valid catalog. Every call returns fresh slices,
// so that cases may change them.
//
// Companies: acme-group (CN, Hangzhou) owns acme-us (US) and acme-cloud-co
// (CN); beta-inc (US, Seattle) stands alone; gamma-state (CN, state-owned, no
// city) stands alone.
//
// Providers: acme-cloud (operator acme-cloud-co; AS100 operated by acme-us,
// AS200), beta-net (operator beta-inc; AS200 too), gamma-host (operator
// gamma-state; AS name pattern "acme cloud services"). AS666 is a trap.
func testData() attribution.CatalogData {
	return attribution.CatalogData{
		Sources: []attribution.Source{
			{ID: "src", Kind: attribution.SourceFiling, URL: "https://example.com/src", Date: "2026-06-17", Title: "test source"},
			{ID: "src2", Kind: attribution.SourcePress, URL: "http://example.org/other", Date: "2025-01-02"},
		},
		Companies: []attribution.Company{
			{ID: "acme-group", Name: "Acme Group Holding", Headquarters: "CN", City: "Hangzhou", Incorporated: "KY", Sources: []string{"src"}},
			{ID: "acme-us", Name: "Acme (US) Technology", Headquarters: "US", Parent: "acme-group", Sources: []string{"src"}},
			{ID: "acme-cloud-co", Name: "Acme Cloud Computing", Headquarters: "CN", City: "Hangzhou", Parent: "acme-group", Sources: []string{"src", "src2"}},
			{ID: "beta-inc", Name: "Beta, Inc.", Headquarters: "US", City: "Seattle", Sources: []string{"src2"}},
			{ID: "gamma-state", Name: "Gamma State Holding", Headquarters: "CN", StateOwned: true, Sources: []string{"src"}},
		},
		Providers: []attribution.Provider{
			{
				ID: "acme-cloud", Name: "Acme Cloud", Kinds: []string{"cloud", "cdn"}, Operator: "acme-cloud-co",
				ASNs: []attribution.ASNClaim{
					{ASN: 100, Operator: "acme-us", Name: "ACME-US", Source: "src"},
					{ASN: 200, Source: "src"},
				},
				Suffixes: []attribution.SuffixClaim{
					{Layer: attribution.LayerWeb, Suffixes: []string{"acmecloud.com", ".Acme-CDN.net."}, Source: "src"},
					{Layer: attribution.LayerMail, Suffixes: []string{"mx.acmecloud.com"}, Source: "src"},
					{Layer: attribution.LayerDNS, Suffixes: []string{"acmedns.com"}, Operator: "acme-us", Source: "src"},
				},
				Names: []attribution.NameClaim{
					{Patterns: []string{"Acme Cloud", "acmecloud"}, Source: "src"},
				},
				Regions: []attribution.Region{
					{ID: "cn-hangzhou", Country: "CN", City: "Hangzhou", Source: "src"},
				},
				Sources: []string{"src"},
			},
			{
				ID: "beta-net", Name: "Beta Net", Kinds: []string{"network"}, Operator: "beta-inc",
				ASNs:     []attribution.ASNClaim{{ASN: 200, Source: "src2"}},
				Suffixes: []attribution.SuffixClaim{{Layer: attribution.LayerWeb, Suffixes: []string{"cdn.acmecloud.com"}, Source: "src2"}},
				Names:    []attribution.NameClaim{{Patterns: []string{"beta networks"}, Source: "src2"}},
				Sources:  []string{"src2"},
			},
			{
				ID: "gamma-host", Name: "Gamma Hosting", Kinds: []string{"hosting"}, Operator: "gamma-state",
				Names:   []attribution.NameClaim{{Patterns: []string{"acme cloud services"}, Source: "src"}},
				Sources: []string{"src"},
			},
		},
		Traps: []attribution.Trap{
			{ASN: 666, Name: "Acme Cloud Travel Agency", Note: "travel agency, unrelated to Acme", Source: "src"},
		},
		Groups: []attribution.Group{
			{ID: "watch", Name: "Watched jurisdictions", Countries: []string{"CN", "RU"}, Source: "src"},
		},
	}
}

func mustCatalog(t testing.TB, data ...attribution.CatalogData) *attribution.Catalog {
	t.Helper()
	c, err := attribution.NewCatalog(data...)
	if err != nil {
		t.Fatalf("NewCatalog: %v", err)
	}
	return c
}

// js renders a value for failure messages.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestNewCatalogValid(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t, testData())
	if got, want := c.CompanyIDs(), []string{"acme-cloud-co", "acme-group", "acme-us", "beta-inc", "gamma-state"}; !slices.Equal(got, want) {
		t.Errorf("CompanyIDs() = %q, want %q", got, want)
	}
	if got, want := c.ProviderIDs(), []string{"acme-cloud", "beta-net", "gamma-host"}; !slices.Equal(got, want) {
		t.Errorf("ProviderIDs() = %q, want %q", got, want)
	}
	if got, want := c.GroupIDs(), []string{"watch"}; !slices.Equal(got, want) {
		t.Errorf("GroupIDs() = %q, want %q", got, want)
	}
	if ts := c.Traps(); len(ts) != 1 || ts[0].ASN != 666 {
		t.Errorf("Traps() = %s, want AS666 only", js(ts))
	}
	if _, ok := c.Trap(666); !ok {
		t.Errorf("Trap(666) = _, false, want true")
	}
	if _, ok := c.Trap(100); ok {
		t.Errorf("Trap(100) = _, true, want false")
	}
	if s, ok := c.Source("src2"); !ok || s.URL != "http://example.org/other" {
		t.Errorf("Source(src2) = %s, %v, want the http source", js(s), ok)
	}
	if g, ok := c.Group("watch"); !ok || !g.InGroup("RU") || g.InGroup("US") {
		t.Errorf("Group(watch) = %s, %v, want CN and RU only", js(g), ok)
	}
	p, ok := c.Provider("acme-cloud")
	if !ok {
		t.Fatalf("Provider(acme-cloud) = _, false")
	}
	if got := p.Kind(); got != "cloud" {
		t.Errorf("Provider(acme-cloud).Kind() = %q, want %q", got, "cloud")
	}
	if r, ok := p.Region("cn-hangzhou"); !ok || r.City != "Hangzhou" {
		t.Errorf("Region(cn-hangzhou) = %s, %v, want Hangzhou", js(r), ok)
	}
	if _, ok := p.Region("nowhere"); ok {
		t.Errorf("Region(nowhere) = _, true, want false")
	}
	if got := (&attribution.Provider{}).Kind(); got != "" {
		t.Errorf("Provider{}.Kind() = %q, want empty", got)
	}
}

func TestNewCatalogNormalisesCountries(t *testing.T) {
	t.Parallel()
	d := testData()
	d.Companies[0].Headquarters = "cn"
	d.Companies[0].Incorporated = "ky"
	c := mustCatalog(t, d)
	co, _ := c.Company("acme-group")
	if co.Headquarters != "CN" || co.Incorporated != "KY" {
		t.Errorf("Company(acme-group) countries = %q, %q, want CN, KY", co.Headquarters, co.Incorporated)
	}
	if d.Companies[0].Headquarters != "cn" {
		t.Errorf("NewCatalog changed its input: headquarters = %q, want %q", d.Companies[0].Headquarters, "cn")
	}
}

func TestNewCatalogErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(d *attribution.CatalogData)
		extra  []attribution.CatalogData // merged after d
		want   []string                  // substrings of the error
	}{
		{
			name:   "company without sources",
			change: func(d *attribution.CatalogData) { d.Companies[1].Sources = nil },
			want:   []string{"company acme-us: no source"},
		},
		{
			name:   "asn claim without source",
			change: func(d *attribution.CatalogData) { d.Providers[0].ASNs[0].Source = "" },
			want:   []string{"provider acme-cloud AS100: no source"},
		},
		{
			name:   "provider without sources",
			change: func(d *attribution.CatalogData) { d.Providers[2].Sources = nil },
			want:   []string{"provider gamma-host: no source"},
		},
		{
			name:   "trap without source",
			change: func(d *attribution.CatalogData) { d.Traps[0].Source = "" },
			want:   []string{"trap AS666: no source"},
		},
		{
			name:   "unknown source id",
			change: func(d *attribution.CatalogData) { d.Companies[3].Sources = []string{"src2", "nope"} },
			want:   []string{`company beta-inc: unknown source "nope"`},
		},
		{
			name:   "unknown source in suffix claim",
			change: func(d *attribution.CatalogData) { d.Providers[0].Suffixes[2].Source = "nope" },
			want:   []string{`provider acme-cloud suffixes dns: unknown source "nope"`},
		},
		{
			name:   "unknown source in group",
			change: func(d *attribution.CatalogData) { d.Groups[0].Source = "nope" },
			want:   []string{`group watch: unknown source "nope"`},
		},
		{
			name:   "bad url",
			change: func(d *attribution.CatalogData) { d.Sources[1].URL = "ftp://example.org/x" },
			want:   []string{`source src2: url "ftp://example.org/x" is not an http(s) URL`},
		},
		{
			name:   "empty url",
			change: func(d *attribution.CatalogData) { d.Sources[0].URL = "" },
			want:   []string{`source src: url "" is not an http(s) URL`},
		},
		{
			name:   "bad date",
			change: func(d *attribution.CatalogData) { d.Sources[0].Date = "17.06.2026" },
			want:   []string{`source src: date "17.06.2026" is not YYYY-MM-DD`},
		},
		{
			name:   "date with letters",
			change: func(d *attribution.CatalogData) { d.Sources[0].Date = "2026-0a-17" },
			want:   []string{`date "2026-0a-17" is not YYYY-MM-DD`},
		},
		{
			name:   "date out of range",
			change: func(d *attribution.CatalogData) { d.Sources[0].Date = "2026-99-99" },
			want:   []string{`source src: date "2026-99-99" is not YYYY-MM-DD`},
		},
		{
			name:   "date not in the month",
			change: func(d *attribution.CatalogData) { d.Sources[0].Date = "2026-02-30" },
			want:   []string{`source src: date "2026-02-30" is not YYYY-MM-DD`},
		},
		{
			name:   "unknown source kind",
			change: func(d *attribution.CatalogData) { d.Sources[1].Kind = "blog" },
			want:   []string{`source src2: unknown kind "blog" (want one of filing, official, registry, press, derived)`},
		},
		{
			name: "source with empty id",
			change: func(d *attribution.CatalogData) {
				d.Sources = append(d.Sources, attribution.Source{Kind: attribution.SourceOfficial, URL: "https://x.test", Date: "2026-01-01"})
			},
			want: []string{"source with empty id"},
		},
		{
			name:   "bad headquarters",
			change: func(d *attribution.CatalogData) { d.Companies[3].Headquarters = "USA" },
			want:   []string{`company beta-inc: headquarters "USA" is not a two-letter country code`},
		},
		{
			name:   "missing headquarters",
			change: func(d *attribution.CatalogData) { d.Companies[3].Headquarters = "" },
			want:   []string{`company beta-inc: headquarters "" is not a two-letter country code`},
		},
		{
			name:   "bad incorporation",
			change: func(d *attribution.CatalogData) { d.Companies[0].Incorporated = "K1" },
			want:   []string{`company acme-group: incorporated "K1" is not a two-letter country code`},
		},
		{
			name:   "bad region country",
			change: func(d *attribution.CatalogData) { d.Providers[0].Regions[0].Country = "CHN" },
			want:   []string{`provider acme-cloud region cn-hangzhou: country "CHN" is not a two-letter code`},
		},
		{
			name: "lower-case range country",
			change: func(d *attribution.CatalogData) {
				d.Ranges = []attribution.RangeClaim{{Prefix: "192.0.2.0/24", Provider: "acme-cloud", Country: "de", Source: "src"}}
			},
			want: []string{`range 192.0.2.0/24: country "de" is not a two-letter code`},
		},
		{
			name:   "bad group country",
			change: func(d *attribution.CatalogData) { d.Groups[0].Countries = []string{"CN", "ru"} },
			want:   []string{`group watch: country "ru" is not a two-letter code`},
		},
		{
			name:   "company without name",
			change: func(d *attribution.CatalogData) { d.Companies[4].Name = "" },
			want:   []string{"company gamma-state: id and name are required"},
		},
		{
			name:   "unknown parent",
			change: func(d *attribution.CatalogData) { d.Companies[3].Parent = "nobody" },
			want:   []string{`company beta-inc: unknown parent "nobody"`},
		},
		{
			name: "parent loop",
			change: func(d *attribution.CatalogData) {
				d.Companies[0].Parent = "acme-us" // acme-us → acme-group → acme-us
			},
			want: []string{"company acme-group: parent chain loops", "company acme-us: parent chain loops"},
		},
		{
			name:   "company is its own parent",
			change: func(d *attribution.CatalogData) { d.Companies[3].Parent = "beta-inc" },
			want:   []string{"company beta-inc: parent chain loops at beta-inc"},
		},
		{
			name:   "unknown operator",
			change: func(d *attribution.CatalogData) { d.Providers[1].Operator = "nobody" },
			want:   []string{`provider beta-net operator: unknown company "nobody"`},
		},
		{
			name:   "unknown asn operator",
			change: func(d *attribution.CatalogData) { d.Providers[0].ASNs[0].Operator = "nobody" },
			want:   []string{`provider acme-cloud AS100 operator: unknown company "nobody"`},
		},
		{
			name:   "unknown suffix operator",
			change: func(d *attribution.CatalogData) { d.Providers[0].Suffixes[2].Operator = "nobody" },
			want:   []string{`provider acme-cloud suffixes dns operator: unknown company "nobody"`},
		},
		{
			name:   "unknown name operator",
			change: func(d *attribution.CatalogData) { d.Providers[2].Names[0].Operator = "nobody" },
			want:   []string{`provider gamma-host names operator: unknown company "nobody"`},
		},
		{
			name:   "unknown kind",
			change: func(d *attribution.CatalogData) { d.Providers[1].Kinds = []string{"network", "isp"} },
			want:   []string{`provider beta-net: unknown kind "isp" (want one of cloud, cdn,`},
		},
		{
			name:   "no kinds",
			change: func(d *attribution.CatalogData) { d.Providers[1].Kinds = nil },
			want:   []string{"provider beta-net: name and kinds are required"},
		},
		{
			name:   "asn zero",
			change: func(d *attribution.CatalogData) { d.Providers[1].ASNs[0].ASN = 0 },
			want:   []string{"provider beta-net AS0: ASN 0"},
		},
		{
			name: "suffix with one label",
			change: func(d *attribution.CatalogData) {
				d.Providers[0].Suffixes[0].Suffixes = []string{"acmecloud.com", "com"}
			},
			want: []string{`provider acme-cloud suffixes web: suffix "com" needs at least two labels`},
		},
		{
			name:   "suffix of dots",
			change: func(d *attribution.CatalogData) { d.Providers[0].Suffixes[0].Suffixes = []string{".com."} },
			want:   []string{`suffix ".com." needs at least two labels`},
		},
		{
			name:   "unknown layer",
			change: func(d *attribution.CatalogData) { d.Providers[1].Suffixes[0].Layer = "ftp" },
			want:   []string{`provider beta-net suffixes ftp: unknown layer "ftp"`},
		},
		{
			name:   "short name pattern",
			change: func(d *attribution.CatalogData) { d.Providers[1].Names[0].Patterns = []string{"beta"} },
			want:   []string{`provider beta-net names: pattern "beta" is too short to be safe`},
		},
		{
			name:   "region of unknown provider",
			change: func(*attribution.CatalogData) {},
			extra: []attribution.CatalogData{{Regions: []attribution.ProviderRegion{
				{Provider: "nope", Region: attribution.Region{ID: "r1", Country: "US", Source: "src"}},
			}}},
			want: []string{`region r1: unknown provider "nope"`},
		},
		{
			name:   "top-level region with bad country",
			change: func(*attribution.CatalogData) {},
			extra: []attribution.CatalogData{{Regions: []attribution.ProviderRegion{
				{Provider: "beta-net", Region: attribution.Region{ID: "r1", Country: "XYZ", Source: "src"}},
			}}},
			want: []string{`provider beta-net region r1: country "XYZ" is not a two-letter code`},
		},
		{
			name:   "top-level region without source",
			change: func(*attribution.CatalogData) {},
			extra: []attribution.CatalogData{{Regions: []attribution.ProviderRegion{
				{Provider: "beta-net", Region: attribution.Region{ID: "r1", Country: "US"}},
			}}},
			want: []string{"provider beta-net region r1: no source"},
		},
		{
			name:   "override drops a cited source",
			change: func(*attribution.CatalogData) {},
			extra: []attribution.CatalogData{{
				Sources: []attribution.Source{{ID: "src2", Kind: attribution.SourcePress, URL: "not a url", Date: "2026-01-01"}},
			}},
			want: []string{`source src2: url "not a url" is not an http(s) URL`},
		},
		{
			name: "all problems together",
			change: func(d *attribution.CatalogData) {
				d.Companies[3].Parent = "nobody"
				d.Providers[1].Kinds = []string{"isp"}
				d.Sources[0].Date = "soon"
			},
			want: []string{`unknown parent "nobody"`, `unknown kind "isp"`, `date "soon"`},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			d := testData()
			test.change(&d)
			c, err := attribution.NewCatalog(append([]attribution.CatalogData{d}, test.extra...)...)
			if err == nil {
				t.Fatalf("NewCatalog(%s) = %p, nil, want error containing %q", test.name, c, test.want)
			}
			if c != nil {
				t.Errorf("NewCatalog(%s) = %p, %v, want nil catalog with the error", test.name, c, err)
			}
			for _, w := range test.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("NewCatalog(%s) error = %q, want it to contain %q", test.name, err, w)
				}
			}
		})
	}
}

// TestNewCatalogErrorOrder checks that the joined errors come in a stable,
// sorted order, whatever the map iteration order.
func TestNewCatalogErrorOrder(t *testing.T) {
	t.Parallel()
	d := testData()
	for i := range d.Companies {
		d.Companies[i].Sources = []string{"missing-" + d.Companies[i].ID}
	}
	var first string
	for i := range 20 {
		_, err := attribution.NewCatalog(d)
		if err == nil {
			t.Fatalf("NewCatalog = nil error, want unknown sources")
		}
		lines := strings.Split(err.Error(), "\n")
		if !sortedStrings(lines) {
			t.Fatalf("NewCatalog error lines are not sorted:\n%s", err)
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("NewCatalog error changed between runs:\n%s\nthen\n%s", first, err)
		}
	}
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

func TestNewCatalogOverride(t *testing.T) {
	t.Parallel()
	user := attribution.CatalogData{
		Sources: []attribution.Source{{ID: "user", Kind: attribution.SourceOfficial, URL: "https://user.example/", Date: "2026-07-01"}},
		Companies: []attribution.Company{
			// beta-inc moves to Germany and gets a parent.
			{ID: "beta-inc", Name: "Beta GmbH", Headquarters: "DE", Parent: "acme-group", Sources: []string{"user"}},
		},
		Providers: []attribution.Provider{
			// acme-cloud is replaced whole: AS100, its suffixes, names and
			// regions are gone; it claims AS300 instead.
			{ID: "acme-cloud", Name: "Acme Cloud (user)", Kinds: []string{"saas"}, Operator: "beta-inc",
				ASNs: []attribution.ASNClaim{{ASN: 300, Source: "user"}}, Sources: []string{"user"}},
		},
		Traps:  []attribution.Trap{{ASN: 666, Name: "Acme Travel", Note: "user note", Source: "user"}},
		Groups: []attribution.Group{{ID: "watch", Name: "Only Russia", Countries: []string{"RU"}, Source: "user"}},
	}
	c := mustCatalog(t, testData(), user)

	co, _ := c.Company("beta-inc")
	if co.Name != "Beta GmbH" || co.Headquarters != "DE" || co.City != "" {
		t.Errorf("Company(beta-inc) = %s, want the user's entry whole", js(co))
	}
	if got, want := chainIDs(c.Chain("beta-inc")), []string{"beta-inc", "acme-group"}; !slices.Equal(got, want) {
		t.Errorf("Chain(beta-inc) = %q, want %q", got, want)
	}
	p, _ := c.Provider("acme-cloud")
	if p.Name != "Acme Cloud (user)" || len(p.Suffixes) != 0 || len(p.Names) != 0 || len(p.Regions) != 0 {
		t.Errorf("Provider(acme-cloud) = %s, want the user's entry whole", js(p))
	}
	if got := c.ByASN(100); len(got) != 0 {
		t.Errorf("ByASN(100) = %s, want nothing after the override", js(got))
	}
	if got := providerIDs(c.ByASN(300)); !slices.Equal(got, []string{"acme-cloud"}) {
		t.Errorf("ByASN(300) = %q, want [acme-cloud]", got)
	}
	if got := providerIDs(c.ByASN(200)); !slices.Equal(got, []string{"beta-net"}) {
		t.Errorf("ByASN(200) = %q, want [beta-net]", got)
	}
	// Only beta-net's cdn.acmecloud.com remains of the suffixes.
	if got := suffixSummary(c.MatchHost("www.acmecloud.com")); len(got) != 0 {
		t.Errorf("MatchHost(www.acmecloud.com) = %q, want nothing after the override", got)
	}
	if got, want := suffixSummary(c.MatchHost("a.cdn.acmecloud.com")), []string{"beta-net web cdn.acmecloud.com"}; !slices.Equal(got, want) {
		t.Errorf("MatchHost(a.cdn.acmecloud.com) = %q, want %q", got, want)
	}
	if tr, _ := c.Trap(666); tr.Note != "user note" {
		t.Errorf("Trap(666).Note = %q, want %q", tr.Note, "user note")
	}
	if g, _ := c.Group("watch"); g.InGroup("CN") || !g.InGroup("RU") {
		t.Errorf("Group(watch) = %s, want the user's entry", js(g))
	}
	// The embedded entries that were not overridden are kept.
	if _, ok := c.Company("acme-us"); !ok {
		t.Errorf("Company(acme-us) = _, false after an unrelated override")
	}
}

func TestNewCatalogTopLevelRegions(t *testing.T) {
	t.Parallel()
	base := testData()
	regions := make([]attribution.Region, 1, 8) // spare capacity: appends must not write into it
	regions[0] = attribution.Region{ID: "eu-1", Country: "FR", Source: "src2"}
	base.Providers[1].Regions = regions
	tables := attribution.CatalogData{
		Regions: []attribution.ProviderRegion{
			{Provider: "beta-net", Region: attribution.Region{ID: "us-west", Country: "US", City: "Seattle", Source: "src2"}},
			{Provider: "beta-net", Region: attribution.Region{ID: "eu-1", Country: "FR", City: "Paris", Source: "src2"}},
			// Replaces acme-cloud's own cn-hangzhou entry.
			{Provider: "acme-cloud", Region: attribution.Region{ID: "cn-hangzhou", Country: "CN", City: "Hangzhou", Area: "Zhejiang", Source: "src"}},
		},
	}
	// The region table comes first: it may name a provider defined in a
	// later file.
	c := mustCatalog(t, tables, base)

	p, _ := c.Provider("beta-net")
	var got []string
	for _, r := range p.Regions {
		got = append(got, r.ID+"="+r.Country)
	}
	if want := []string{"eu-1=FR", "us-west=US"}; !slices.Equal(got, want) {
		// The provider's own entry (eu-1) is kept in place; us-west is added.
		t.Errorf("Provider(beta-net).Regions = %q, want %q", got, want)
	}
	if r, ok := p.Region("eu-1"); !ok || r.City != "Paris" {
		t.Errorf("Region(eu-1) = %s, %v, want the region table's Paris entry", js(r), ok)
	}
	a, _ := c.Provider("acme-cloud")
	if r, ok := a.Region("cn-hangzhou"); !ok || r.Area != "Zhejiang" || len(a.Regions) != 1 {
		t.Errorf("Provider(acme-cloud).Regions = %s, want cn-hangzhou replaced in place", js(a.Regions))
	}
	if spare := regions[:2][1]; spare != (attribution.Region{}) {
		t.Errorf("NewCatalog wrote into the input's spare capacity: %s", js(spare))
	}
	if base.Providers[1].Regions[0].City != "" {
		t.Errorf("NewCatalog changed the input's region: %s", js(base.Providers[1].Regions[0]))
	}
	// A second catalog from the same input is not affected by the first.
	c2 := mustCatalog(t, base)
	if p2, _ := c2.Provider("beta-net"); len(p2.Regions) != 1 {
		t.Errorf("second NewCatalog: Provider(beta-net).Regions = %s, want the one own region", js(p2.Regions))
	}
}

func chainIDs(chain []*attribution.Company) []string {
	var ids []string
	for _, co := range chain {
		ids = append(ids, co.ID)
	}
	return ids
}

func providerIDs(pas []attribution.ProviderASN) []string {
	var ids []string
	for _, pa := range pas {
		ids = append(ids, pa.Provider.ID)
	}
	return ids
}

// suffixSummary renders matches as "provider layer suffix operator".
func suffixSummary(ms []attribution.SuffixMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Provider.ID+" "+string(m.Layer)+" "+m.Suffix)
	}
	return out
}

func TestChain(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t, testData())
	tests := []struct {
		in   string
		want []string
	}{
		{"acme-us", []string{"acme-us", "acme-group"}},
		{"acme-cloud-co", []string{"acme-cloud-co", "acme-group"}},
		{"acme-group", []string{"acme-group"}},
		{"beta-inc", []string{"beta-inc"}},
		{"nobody", nil},
		{"", nil},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			if got := chainIDs(c.Chain(test.in)); !slices.Equal(got, test.want) {
				t.Errorf("Chain(%q) = %q, want %q", test.in, got, test.want)
			}
		})
	}
}

func TestByASN(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t, testData())
	tests := []struct {
		asn       uint32
		providers []string
		operators []string
	}{
		{100, []string{"acme-cloud"}, []string{"acme-us"}},                               // the claim's own operator
		{200, []string{"acme-cloud", "beta-net"}, []string{"acme-cloud-co", "beta-inc"}}, // sorted by provider ID
		{666, nil, nil},
		{0, nil, nil},
	}
	for _, test := range tests {
		pas := c.ByASN(test.asn)
		var ops []string
		for _, pa := range pas {
			ops = append(ops, pa.Operator.ID)
		}
		if got := providerIDs(pas); !slices.Equal(got, test.providers) || !slices.Equal(ops, test.operators) {
			t.Errorf("ByASN(%d) = providers %q operators %q, want %q %q", test.asn, got, ops, test.providers, test.operators)
		}
	}
	// The order is by provider ID whatever the input order.
	d := testData()
	d.Providers[0], d.Providers[1] = d.Providers[1], d.Providers[0]
	c2 := mustCatalog(t, d)
	if got, want := providerIDs(c2.ByASN(200)), []string{"acme-cloud", "beta-net"}; !slices.Equal(got, want) {
		t.Errorf("ByASN(200) with providers reordered = %q, want %q", got, want)
	}
}

func TestMatchHost(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t, testData())
	tests := []struct {
		in   string
		want []string
	}{
		{"acmecloud.com", []string{"acme-cloud web acmecloud.com"}},
		{"oss.acmecloud.com", []string{"acme-cloud web acmecloud.com"}},
		{"a.b.c.acmecloud.com", []string{"acme-cloud web acmecloud.com"}},
		{"ACMECLOUD.COM", []string{"acme-cloud web acmecloud.com"}},
		{"Oss.AcmeCloud.Com.", []string{"acme-cloud web acmecloud.com"}},
		{"acme-cdn.net", []string{"acme-cloud web acme-cdn.net"}}, // suffix given as ".Acme-CDN.net."
		{"x.acme-cdn.net.", []string{"acme-cloud web acme-cdn.net"}},
		// Longest suffix first; every match is listed.
		{"mx1.mx.acmecloud.com", []string{"acme-cloud mail mx.acmecloud.com", "acme-cloud web acmecloud.com"}},
		{"mx.acmecloud.com", []string{"acme-cloud mail mx.acmecloud.com", "acme-cloud web acmecloud.com"}},
		{"edge.cdn.acmecloud.com", []string{"beta-net web cdn.acmecloud.com", "acme-cloud web acmecloud.com"}},
		{"ns1.acmedns.com", []string{"acme-cloud dns acmedns.com"}},
		// Never a partial label.
		{"evilacmecloud.com", nil},
		{"www.evilacmecloud.com", nil},
		{"xmx.acmecloud.com", []string{"acme-cloud web acmecloud.com"}},
		{"acmecloud.com.evil.net", nil},
		{"acmecloud.co", nil},
		{"cloud.com", nil},
		{"com", nil},
		{"", nil},
		{".", nil},
		{"acmecloud.com..", nil},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			if got := suffixSummary(c.MatchHost(test.in)); !slices.Equal(got, test.want) {
				t.Errorf("MatchHost(%q) = %q, want %q", test.in, got, test.want)
			}
		})
	}
}

func TestMatchHostOperatorAndSource(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t, testData())
	ms := c.MatchHost("ns1.acmedns.com")
	if len(ms) != 1 {
		t.Fatalf("MatchHost(ns1.acmedns.com) = %q, want one match", suffixSummary(ms))
	}
	if ms[0].Operator.ID != "acme-us" || ms[0].Source != "src" || ms[0].Layer != attribution.LayerDNS {
		t.Errorf("MatchHost(ns1.acmedns.com)[0] = operator %s source %s layer %s, want acme-us src dns", ms[0].Operator.ID, ms[0].Source, ms[0].Layer)
	}
	ms = c.MatchHost("www.acmecloud.com")
	if len(ms) != 1 || ms[0].Operator.ID != "acme-cloud-co" {
		t.Errorf("MatchHost(www.acmecloud.com) operator = %s, want the provider's operator acme-cloud-co", js(ms))
	}
}

// TestMatchHostRealSuffix uses the example of the brief: a suffix of
// Alibaba Cloud never matches a host that merely ends with its characters.
func TestMatchHostRealSuffix(t *testing.T) {
	t.Parallel()
	d := testData()
	d.Providers[0].Suffixes = append(d.Providers[0].Suffixes, attribution.SuffixClaim{Layer: attribution.LayerWeb, Suffixes: []string{"aliyuncs.com"}, Source: "src"})
	c := mustCatalog(t, d)
	for _, in := range []string{"evilaliyuncs.com", "aliyuncs.com.evil.com", "xaliyuncs.com."} {
		if ms := c.MatchHost(in); len(ms) != 0 {
			t.Errorf("MatchHost(%q) = %q, want nothing", in, suffixSummary(ms))
		}
	}
	for _, in := range []string{"aliyuncs.com", "oss-cn-hangzhou.aliyuncs.com", "OSS.ALIYUNCS.COM."} {
		if ms := c.MatchHost(in); len(ms) != 1 {
			t.Errorf("MatchHost(%q) = %q, want aliyuncs.com", in, suffixSummary(ms))
		}
	}
}

func TestMatchName(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t, testData())
	tests := []struct {
		asn  uint32
		name string
		want []string // provider=pattern
	}{
		{1, "ACME CLOUD LTD", []string{"acme-cloud=acme cloud"}},
		{1, "acmecloud-as", []string{"acme-cloud=acmecloud"}},
		// One match per provider: the longest of its patterns.
		{1, "AcmeCloud / Acme Cloud", []string{"acme-cloud=acme cloud"}},
		// Longest pattern first, across providers.
		{1, "Acme Cloud Services Ltd", []string{"gamma-host=acme cloud services", "acme-cloud=acme cloud"}},
		{1, "Beta Networks and Acme Cloud", []string{"beta-net=beta networks", "acme-cloud=acme cloud"}},
		// A trap never matches, even with a matching name.
		{666, "Acme Cloud Travel Agency", nil},
		{666, "Acme Cloud Services", nil},
		{1, "Acme Travel", nil},
		{1, "", nil},
		{0, "acme cloud", []string{"acme-cloud=acme cloud"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, m := range c.MatchName(test.asn, test.name) {
				got = append(got, m.Provider.ID+"="+m.Pattern)
			}
			if !slices.Equal(got, test.want) {
				t.Errorf("MatchName(%d, %q) = %q, want %q", test.asn, test.name, got, test.want)
			}
		})
	}
}

func TestMatchNameOperator(t *testing.T) {
	t.Parallel()
	d := testData()
	d.Providers[2].Names[0].Operator = "acme-us"
	c := mustCatalog(t, d)
	ms := c.MatchName(7, "Acme Cloud Services")
	if len(ms) == 0 || ms[0].Operator.ID != "acme-us" || ms[0].Source != "src" {
		t.Errorf("MatchName(7, Acme Cloud Services)[0] = %s, want operator acme-us, source src", js(ms))
	}
	if len(ms) < 2 || ms[1].Operator.ID != "acme-cloud-co" {
		t.Errorf("MatchName(7, Acme Cloud Services)[1] = %s, want the provider's operator acme-cloud-co", js(ms))
	}
}

func TestMatchNameEmptyCatalog(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	if ms := c.MatchName(1, "Acme Cloud"); ms != nil {
		t.Errorf("MatchName on an empty catalog = %s, want nil", js(ms))
	}
	if ms := c.MatchHost("acmecloud.com"); ms != nil {
		t.Errorf("MatchHost on an empty catalog = %s, want nil", js(ms))
	}
}

// TestMatchNameSubstring pins the documented contract of [NameClaim]:
// patterns are case-insensitive and match only as whole words, so that
// look-alike names (issue #12: "South China Telecommunications", "LinkChina
// Telecom", "XIANDOUCLOUD") do not take a provider's control.
func TestMatchNameSubstring(t *testing.T) {
	t.Parallel()
	d := testData()
	d.Providers[1].Names = []attribution.NameClaim{{Patterns: []string{"betanet", "beta computi"}, Source: "src2"}}
	c := mustCatalog(t, d)
	tests := []struct {
		name string
		want []string
	}{
		{"BETANET-AS", []string{"beta-net=betanet"}},
		{"Beta Computing Ltd", nil}, // a pattern cut inside a word
		{"XBETANET Hong Kong", nil}, // a pattern inside a longer word
		{"BetaNetworks AS", nil},    // the same, at the start
		{"Beta Computi, Inc.", []string{"beta-net=beta computi"}},
		{"Acme Cloud and BetaNet", []string{"acme-cloud=acme cloud", "beta-net=betanet"}}, // longest pattern first
		{"LinkAcme Cloud", nil},
		{"Acme Cloudy", nil},
		{"Beta Comp", nil},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, m := range c.MatchName(1, test.name) {
				got = append(got, m.Provider.ID+"="+m.Pattern)
			}
			if !slices.Equal(got, test.want) {
				t.Errorf("MatchName(1, %q) = %q, want %q", test.name, got, test.want)
			}
		})
	}
}

// TestNewCatalogShortLowerPattern: a pattern that is long enough in bytes
// but shrinks when lower-cased (U+212A KELVIN SIGN lower-cases to "k") must
// be refused as too short, not crash NewCatalog.
func TestNewCatalogShortLowerPattern(t *testing.T) {
	t.Parallel()
	for _, pat := range []string{"\u212a\u212a", "\u212a\u212a\u212a", "\u212ak\u212a"} {
		t.Run(pat, func(t *testing.T) {
			t.Parallel()
			d := testData()
			d.Providers[1].Names = []attribution.NameClaim{{Patterns: []string{pat}, Source: "src2"}}
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("NewCatalog with name pattern %q panicked: %v", pat, r)
					}
				}()
				_, err = attribution.NewCatalog(d)
			}()
			if err == nil || !strings.Contains(err.Error(), "too short to be safe") {
				t.Errorf("NewCatalog with name pattern %q (%d bytes, %d lower-cased) = %v, want a too-short error", pat, len(pat), len(strings.ToLower(pat)), err)
			}
		})
	}
}

// matchNameSlow is the reference for MatchName: every pattern checked in
// turn, longest first, one match per provider.
func matchNameSlow(rules []slowRule, traps map[uint32]bool, asn uint32, name string) []string {
	if traps[asn] || name == "" {
		return nil
	}
	lower := strings.ToLower(name)
	var out []string
	seen := map[string]bool{}
	for _, r := range rules {
		if wholeWordSlow(lower, r.pattern) && !seen[r.provider] {
			seen[r.provider] = true
			out = append(out, r.provider+"="+r.pattern)
		}
	}
	return out
}

// wholeWordSlow is the whole-word rule written out position by position:
// the pattern occurs where neither of its ends runs on into a letter or
// digit (a non-ASCII byte counts as a letter).
func wholeWordSlow(s, pattern string) bool {
	word := func(c byte) bool {
		return unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || c >= 0x80
	}
	for i := 0; i+len(pattern) <= len(s); i++ {
		if s[i:i+len(pattern)] != pattern {
			continue
		}
		j := i + len(pattern)
		if i > 0 && word(s[i-1]) && word(pattern[0]) {
			continue
		}
		if j < len(s) && word(s[j]) && word(pattern[len(pattern)-1]) {
			continue
		}
		return true
	}
	return false
}

type slowRule struct{ pattern, provider string }

// slowRules lists a catalog data's name rules in MatchName's order: longest
// pattern first, then by pattern, then by provider ID.
func slowRules(d attribution.CatalogData) []slowRule {
	var rs []slowRule
	for _, p := range d.Providers {
		for _, nc := range p.Names {
			for _, pat := range nc.Patterns {
				rs = append(rs, slowRule{strings.ToLower(pat), p.ID})
			}
		}
	}
	slices.SortFunc(rs, func(a, b slowRule) int {
		if len(a.pattern) != len(b.pattern) {
			return len(b.pattern) - len(a.pattern)
		}
		if c := strings.Compare(a.pattern, b.pattern); c != 0 {
			return c
		}
		return strings.Compare(a.provider, b.provider)
	})
	return rs
}

func TestMatchNameSlow(t *testing.T) {
	t.Parallel()
	d := testData()
	c := mustCatalog(t, d)
	rules := slowRules(d)
	traps := map[uint32]bool{666: true}
	for _, name := range []string{
		"Acme Cloud Services Ltd", "ACME CLOUD", "acmecloud", "xAcmeCloudx", "Beta Networks", "BETA NETWORKS ACME CLOUD SERVICES",
		"acme", "acme clou", "Acme  Cloud", "ACME CLOUD SERVICE", "阿里云 acme cloud", "Acme Cloud\u2028",
	} {
		for _, asn := range []uint32{1, 666} {
			got := []string{}
			for _, m := range c.MatchName(asn, name) {
				got = append(got, m.Provider.ID+"="+m.Pattern)
			}
			want := append([]string{}, matchNameSlow(rules, traps, asn, name)...)
			if !slices.Equal(got, want) {
				t.Errorf("MatchName(%d, %q) = %q, want %q", asn, name, got, want)
			}
		}
	}
}

// FuzzMatchName compares MatchName with the slow reference for patterns
// and names from the fuzzer. Patterns are separated by "|", and go to three
// providers in turn.
func FuzzMatchName(f *testing.F) {
	f.Add("acme cloud|acmecloud|acme cloud services", "Acme Cloud Services Ltd")
	f.Add("Alibaba (US) Technology|Hangzhou Alibaba Advertising|Alibaba Cloud", "ALIBABA (US) Technology Co., Ltd.")
	f.Add("China Telecom|Chinatelecom|CHINANET |Provincial Net of CT", "CHINANET-BACKBONE No.31,Jin-rong Street")
	f.Add("ÅÅÅÅÅ|straße|İstanbul", "STRASSE straße İSTANBUL")
	f.Add("aaaaa|aaaab", "aaaaaaaab")
	f.Fuzz(func(t *testing.T, patterns, name string) {
		d := testData()
		for i := range d.Providers {
			d.Providers[i].Names = nil
		}
		for i, pat := range strings.Split(patterns, "|") {
			p := &d.Providers[i%3]
			p.Names = append(p.Names, attribution.NameClaim{Patterns: []string{pat}, Source: "src"})
		}
		c, err := attribution.NewCatalog(d)
		if err != nil {
			if strings.Contains(err.Error(), "too short to be safe") {
				return // short patterns are refused, as they must be
			}
			t.Fatalf("NewCatalog: %v", err)
		}
		rules := slowRules(d)
		for _, asn := range []uint32{1, 666} {
			got := []string{}
			for _, m := range c.MatchName(asn, name) {
				got = append(got, m.Provider.ID+"="+m.Pattern)
			}
			want := append([]string{}, matchNameSlow(rules, map[uint32]bool{666: true}, asn, name)...)
			if !slices.Equal(got, want) {
				t.Errorf("MatchName(%d, %q) with patterns %q = %q, want %q", asn, name, patterns, got, want)
			}
		}
	})
}

// TestNewCatalogErrorFiles checks that a problem names the file its entry
// came from (the last file, for an overridden entry), and nothing when the
// data has no file name.
func TestNewCatalogErrorFiles(t *testing.T) {
	t.Parallel()
	named := func(file string, d attribution.CatalogData) attribution.CatalogData { d.File = file; return d }
	tests := []struct {
		name string
		data []attribution.CatalogData
		want string // one line of the error
	}{
		{
			name: "user file",
			data: []attribution.CatalogData{named("base.yaml", testData()), named("user.yaml", attribution.CatalogData{
				Companies: []attribution.Company{{ID: "beta-inc", Name: "Beta", Headquarters: "US", Parent: "nobody", Sources: []string{"src"}}},
			})},
			want: `user.yaml: company beta-inc: unknown parent "nobody"`,
		},
		{
			name: "base file",
			data: []attribution.CatalogData{named("base.yaml", func() attribution.CatalogData {
				d := testData()
				d.Providers[1].Kinds = []string{"isp"}
				return d
			}()), named("user.yaml", attribution.CatalogData{})},
			want: `base.yaml: provider beta-net: unknown kind "isp"`,
		},
		{
			name: "region table",
			data: []attribution.CatalogData{named("base.yaml", testData()), named("regions.yaml", attribution.CatalogData{
				Regions: []attribution.ProviderRegion{{Provider: "nope", Region: attribution.Region{ID: "r1", Country: "US", Source: "src"}}},
			})},
			want: `regions.yaml: region r1: unknown provider "nope"`,
		},
		{
			name: "no file name",
			data: []attribution.CatalogData{func() attribution.CatalogData {
				d := testData()
				d.Companies[3].Parent = "nobody"
				return d
			}()},
			want: `company beta-inc: unknown parent "nobody"`,
		},
		{
			name: "source with empty id, no file name",
			data: []attribution.CatalogData{func() attribution.CatalogData {
				d := testData()
				d.Sources = append(d.Sources, attribution.Source{Kind: attribution.SourceOfficial, URL: "https://x.test", Date: "2026-01-01"})
				return d
			}()},
			want: "source with empty id",
		},
		{
			name: "source with empty id, file name",
			data: []attribution.CatalogData{named("user.yaml", func() attribution.CatalogData {
				d := testData()
				d.Sources = append(d.Sources, attribution.Source{Kind: attribution.SourceOfficial, URL: "https://x.test", Date: "2026-01-01"})
				return d
			}())},
			want: "user.yaml: source with empty id",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			_, err := attribution.NewCatalog(test.data...)
			if err == nil {
				t.Fatalf("NewCatalog(%s) = nil error, want %q", test.name, test.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, test.want) }) {
				t.Errorf("NewCatalog(%s) error =\n%s\nwant a line starting %q", test.name, err, test.want)
			}
			for _, l := range lines {
				if strings.HasPrefix(l, ":") || strings.HasPrefix(l, " ") {
					t.Errorf("NewCatalog(%s) error line %q starts with an empty file name", test.name, l)
				}
			}
		})
	}
}

// TestNewCatalogLarge builds catalogs that made NewCatalog or a look-up
// quadratic: each once took minutes, and takes well under a second. The
// deadline only detects a hang.
func TestNewCatalogLarge(t *testing.T) {
	tests := []struct {
		name string
		data func() attribution.CatalogData
		use  func(c *attribution.Catalog)
	}{
		{
			// Each row of the region table searched the provider's regions
			// from the start.
			name: "region table over many regions",
			data: func() attribution.CatalogData {
				d := testData()
				const n = 200000
				p := &d.Providers[1]
				p.Regions = make([]attribution.Region, n)
				for i := range p.Regions {
					p.Regions[i] = attribution.Region{ID: "r" + strconv.Itoa(i), Country: "US", Source: "src2"}
				}
				d.Regions = slices.Repeat([]attribution.ProviderRegion{{Provider: "beta-net", Region: attribution.Region{ID: "new", Country: "FR", Source: "src2"}}}, n)
				return d
			},
			use: func(c *attribution.Catalog) {
				p, _ := c.Provider("beta-net")
				if r, ok := p.Region("new"); !ok || r.Country != "FR" || len(p.Regions) != 200001 {
					t.Errorf("Provider(beta-net) has %d regions, Region(new) = %s, %v; want 200001, FR", len(p.Regions), js(r), ok)
				}
			},
		},
		{
			// The loop check walked every company's chain from its start.
			name: "long parent chain",
			data: func() attribution.CatalogData {
				d := testData()
				for i := range 30000 {
					d.Companies = append(d.Companies, attribution.Company{ID: "c" + strconv.Itoa(i), Name: "C", Headquarters: "US", Parent: "c" + strconv.Itoa(i+1), Sources: []string{"src"}})
				}
				return d
			},
		},
		{
			// MatchHost compared the name with every suffix of its last
			// label.
			name: "many suffixes",
			data: func() attribution.CatalogData {
				d := testData()
				sufs := make([]string, 200000)
				for i := range sufs {
					sufs[i] = "h" + strconv.Itoa(i) + ".example.com"
				}
				d.Providers[1].Suffixes = []attribution.SuffixClaim{{Layer: attribution.LayerWeb, Suffixes: sufs, Source: "src2"}}
				return d
			},
			use: func(c *attribution.Catalog) {
				for i := range 50000 {
					if ms := c.MatchHost("www.h" + strconv.Itoa(i) + ".example.com"); len(ms) != 1 {
						t.Fatalf("MatchHost(www.h%d.example.com) = %q, want one match", i, suffixSummary(ms))
					}
				}
			},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			d := test.data()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := attribution.NewCatalog(d)
				if err != nil {
					_ = err.Error()
					return
				}
				if test.use != nil {
					test.use(c)
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("NewCatalog did not end within 30s")
			}
		})
	}
}

// TestNewCatalogDuplicateClaims checks that a claim given many times (as
// YAML aliases make cheap) counts once in the look-ups.
func TestNewCatalogDuplicateClaims(t *testing.T) {
	t.Parallel()
	d := testData()
	const n = 1000
	p := &d.Providers[1]
	p.ASNs = slices.Repeat([]attribution.ASNClaim{{ASN: 300, Source: "src2"}}, n)
	p.Suffixes = slices.Repeat([]attribution.SuffixClaim{{Layer: attribution.LayerWeb, Suffixes: []string{"beta.example"}, Source: "src2"}}, n)
	p.Names = slices.Repeat([]attribution.NameClaim{{Patterns: []string{"beta networks"}, Source: "src2"}}, n)
	p.Regions = slices.Repeat([]attribution.Region{{ID: "eu-1", Country: "FR", Source: "src2"}}, n)
	d.Ranges = slices.Repeat([]attribution.RangeClaim{{Prefix: "10.0.0.0/8", Provider: "beta-net", Source: "src2"}}, n)
	d.Groups[0].Countries = slices.Repeat([]string{"CN", "RU"}, n)
	c := mustCatalog(t, d)
	if got := c.MatchRanges(netip.MustParseAddr("10.1.2.3")); len(got) != 1 {
		t.Errorf("MatchRanges(10.1.2.3) = %d claims, want 1", len(got))
	}
	if g, _ := c.Group("watch"); !slices.Equal(g.Countries, []string{"CN", "RU"}) {
		t.Errorf("Group(watch).Countries = %q, want [CN RU]", g.Countries)
	}
	if got := c.ByASN(300); len(got) != 1 {
		t.Errorf("ByASN(300) = %d claims, want 1", len(got))
	}
	if got := c.MatchHost("www.beta.example"); len(got) != 1 {
		t.Errorf("MatchHost(www.beta.example) = %d matches, want 1", len(got))
	}
	if got := c.MatchName(1, "Beta Networks"); len(got) != 1 {
		t.Errorf("MatchName(1, Beta Networks) = %d matches, want 1", len(got))
	}
	if got, _ := c.Provider("beta-net"); len(got.Regions) != 1 {
		t.Errorf("Provider(beta-net).Regions = %d regions, want 1", len(got.Regions))
	}
}

// parentChainsSlow is the reference for the parent-chain checks of
// NewCatalog: it walks each company's chain from its start.
func parentChainsSlow(parent map[string]string) []string {
	var out []string
	for id := range parent {
		seen := map[string]bool{}
		n, loop := 0, ""
		for cur := id; cur != ""; {
			if seen[cur] {
				loop = cur
				break
			}
			seen[cur] = true
			p, ok := parent[cur]
			if !ok {
				break
			}
			n++
			cur = p
		}
		switch {
		case loop != "":
			out = append(out, fmt.Sprintf("company %s: parent chain loops at %s", id, loop))
		case n > attribution.MaxParentDepth:
			out = append(out, fmt.Sprintf("company %s: parent chain of %d companies is longer than %d", id, n, attribution.MaxParentDepth))
		}
	}
	slices.Sort(out)
	return out
}

// TestNewCatalogParentChainsSlow compares the parent-chain problems of
// NewCatalog with the slow reference on random parent graphs: chains, loops,
// chains into loops, unknown parents and chains deeper than MaxParentDepth.
func TestNewCatalogParentChainsSlow(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + r.IntN(120)
		parent := map[string]string{}
		d := attribution.CatalogData{Sources: []attribution.Source{{ID: "src", Kind: attribution.SourceOfficial, URL: "https://x.example", Date: "2026-01-01"}}}
		for i := range n {
			id := "c" + strconv.Itoa(i)
			var p string
			switch k := r.IntN(50); {
			case k == 0:
				p = "" // a root
			case k == 1:
				p = "nobody" // unknown
			case k == 2:
				p = "c" + strconv.Itoa(r.IntN(n)) // anywhere, maybe a loop
			default:
				if i+1 < n {
					p = "c" + strconv.Itoa(i+1) // the long chains
				}
			}
			parent[id] = p
			d.Companies = append(d.Companies, attribution.Company{ID: id, Name: "C", Headquarters: "US", Parent: p, Sources: []string{"src"}})
		}
		want := parentChainsSlow(parent)
		_, err := attribution.NewCatalog(d)
		var got []string
		var ce *attribution.CatalogError
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				if strings.Contains(p.Msg, "parent chain") {
					got = append(got, p.Msg)
				}
			}
		} else if err != nil {
			t.Fatalf("round %d: NewCatalog = %v, want a *CatalogError", round, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: parents %v:\nNewCatalog problems %q\nwant %q", round, parent, got, want)
		}
	}
}

// TestCatalogErrorMessage checks that the message lists the first
// MaxShownProblems problems, sorted by file order and line, and counts the
// rest by file.
func TestCatalogErrorMessage(t *testing.T) {
	t.Parallel()
	base := testData()
	base.File = "base.yaml"
	user := attribution.CatalogData{File: "user.yaml", Lines: map[string][]int{"ranges": {}}}
	for i := range 30 {
		user.Ranges = append(user.Ranges, attribution.RangeClaim{Prefix: fmt.Sprintf("10.0.%d.0/24", i), Provider: "nobody", Source: "src"})
		user.Lines["ranges"] = append(user.Lines["ranges"], 3+i)
	}
	base.Companies[3].Parent = "nobody" // one problem in the first file
	_, err := attribution.NewCatalog(base, user)
	if err == nil {
		t.Fatal("NewCatalog = nil error, want 31 problems")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{`base.yaml: company beta-inc: unknown parent "nobody"`}
	for i := range attribution.MaxShownProblems - 1 {
		want = append(want, fmt.Sprintf(`user.yaml:%d: range 10.0.%d.0/24: unknown provider "nobody"`, 3+i, i))
	}
	want = append(want, "... and 11 more errors in user.yaml")
	if !slices.Equal(lines, want) {
		t.Errorf("NewCatalog error =\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
	var ce *attribution.CatalogError
	if !errors.As(err, &ce) || len(ce.Problems) != 31 {
		t.Errorf("NewCatalog error = %T, want a *CatalogError with all 31 problems", err)
	}
}
