package catalog_test

import (
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// coverageFloors are the least shares (in percent) of the routed IPv4
// addresses registered in each country whose origin AS a catalog provider
// claims. They sit just under the shares reached when they were set, so that
// a catalog change that drops a claim fails here. Raise them as coverage
// grows; see docs/accuracy.md.
var coverageFloors = map[string]float64{
	"CN": 97.5,
	"RU": 66.2,
	"IR": 78.1,
}

// coverageTop is the number of uncovered AS holders logged per country;
// SOVMAP_COVERAGE_TOP overrides it.
const coverageTop = 20

// TestCoverageByRegistration measures, for the countries of
// coverageFloors, the share of the routed IPv4 addresses registered there
// (by the embedded snapshot's registration country) whose origin AS is
// claimed by a provider of the embedded catalog, so that the catalog, not the
// RIR country, gives their control. It logs the shares and the largest
// origin ASes left unclaimed, by addresses, and fails if a share falls below
// its floor.
//
//	go test -run TestCoverageByRegistration -v ./internal/catalog/
func TestCoverageByRegistration(t *testing.T) {
	tb, err := snapshot.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	top := coverageTop
	if s := os.Getenv("SOVMAP_COVERAGE_TOP"); s != "" {
		if top, err = strconv.Atoi(s); err != nil {
			t.Fatalf("SOVMAP_COVERAGE_TOP: %v", err)
		}
	}

	routes := walkIPv4(t, tb)
	type holder struct {
		asn   uint32
		name  string
		addrs uint64
	}
	type tally struct {
		routed, covered uint64
		uncovered       map[uint32]*holder
	}
	by := map[string]*tally{}
	for cc := range coverageFloors {
		by[cc] = &tally{uncovered: map[uint32]*holder{}}
	}
	for _, r := range routes {
		tl := by[r.Registration]
		if tl == nil || r.ASN == 0 {
			continue
		}
		tl.routed += r.addrs
		if len(cat.ByASN(r.ASN)) > 0 {
			tl.covered += r.addrs
			continue
		}
		h := tl.uncovered[r.ASN]
		if h == nil {
			h = &holder{asn: r.ASN, name: r.ASName}
			tl.uncovered[r.ASN] = h
		}
		h.addrs += r.addrs
	}

	ccs := make([]string, 0, len(by))
	for cc := range by {
		ccs = append(ccs, cc)
	}
	slices.Sort(ccs)
	for _, cc := range ccs {
		tl := by[cc]
		if tl.routed == 0 {
			t.Errorf("%s: no routed IPv4 addresses registered in the snapshot", cc)
			continue
		}
		share := 100 * float64(tl.covered) / float64(tl.routed)
		t.Logf("%s: %.1f%% of %d routed IPv4 addresses have an origin AS claimed by the catalog (%d unclaimed, in %d ASes)",
			cc, share, tl.routed, tl.routed-tl.covered, len(tl.uncovered))
		hs := make([]*holder, 0, len(tl.uncovered))
		for _, h := range tl.uncovered {
			hs = append(hs, h)
		}
		slices.SortFunc(hs, func(a, b *holder) int {
			return cmp.Or(cmp.Compare(b.addrs, a.addrs), cmp.Compare(a.asn, b.asn))
		})
		var sb strings.Builder
		for i, h := range hs[:min(top, len(hs))] {
			fmt.Fprintf(&sb, "\n  %2d. AS%-7d %9d addresses %5.2f%%  %s", i+1, h.asn, h.addrs,
				100*float64(h.addrs)/float64(tl.routed), h.name)
		}
		t.Logf("%s: largest unclaimed origin ASes:%s", cc, sb.String())
		if floor := coverageFloors[cc]; share < floor {
			t.Errorf("%s: catalog coverage %.2f%% is below its floor %.1f%%", cc, share, floor)
		}
	}
}

// A routeCount is a route's facts and the number of IPv4 addresses that
// have them.
type routeCount struct {
	attribution.Route
	addrs uint64
}

// walkIPv4 counts the addresses of every route key of the IPv4 space. The
// table has no iterator, so it is walked by /24 blocks (the smallest prefix
// routed between networks): a block whose first and last addresses have the
// same key is counted whole under that key, and any other is halved until
// its ends agree. A block whose ends agree but whose middle differs is
// counted under its ends' key, which misses at most sub-/24 detail.
func walkIPv4(t *testing.T, tb *snapshot.Table) map[int]*routeCount {
	t.Helper()
	if err := tb.Expand(); err != nil {
		t.Fatal(err)
	}
	out := map[int]*routeCount{}
	addr := func(a uint32) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	}
	count := func(key int, a uint32, n uint64) {
		rc := out[key]
		if rc == nil {
			rt, _, _ := tb.Lookup(addr(a))
			rc = &routeCount{Route: rt}
			out[key] = rc
		}
		rc.addrs += n
	}
	var walk func(first, last uint32)
	walk = func(first, last uint32) {
		k1, ok1 := tb.RouteKey(addr(first))
		k2, ok2 := tb.RouteKey(addr(last))
		if ok1 == ok2 && k1 == k2 {
			if ok1 {
				count(k1, first, uint64(last-first)+1)
			}
			return
		}
		mid := first + (last-first)/2
		walk(first, mid)
		walk(mid+1, last)
	}
	for b := uint32(0); b < 1<<24; b++ {
		walk(b<<8, b<<8|0xff)
	}
	return out
}

// TestCoverageSpotChecks pins the control chain of some of the networks
// added to raise the coverage above: the provider an origin AS gives, the
// ultimate parent, its country and whether it is state-owned.
func TestCoverageSpotChecks(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		asn             uint32
		provider, top   string
		country         string
		stateOwnedOwner bool
	}{
		{32934, "meta", "meta-platforms", "US", false},
		{714, "apple", "apple", "US", false},
		{2906, "netflix", "netflix", "US", false},
		{14413, "linkedin", "microsoft", "US", false},
		{4538, "cernet", "prc-moe", "CN", true},
		{7497, "cstnet", "cas", "CN", true},
		{37937, "china-egovnet", "prc-sic", "CN", true},
		{4847, "china-telecom", "prc-sasac", "CN", true},
		{17429, "gehua-catv", "gehua-media-group", "CN", false},
		{12714, "megafon", "usm-telecom", "RU", false},
		{41733, "er-telecom", "er-telecom", "RU", false},
		{25513, "mgts", "sistema", "RU", false},
		{12958, "t2-russia", "rostelecom", "RU", true},
		{28840, "tattelecom", "tattelecom", "RU", true},
		{57218, "rightel", "rightel", "IR", true},
		{16322, "pars-online", "hiweb", "IR", false},
		{42586, "irib", "irib", "IR", true},
		{2852, "cesnet", "cesnet", "CZ", false},
		{7552, "viettel", "vn-mond", "VN", true},
		{38623, "viettel", "vn-mond", "VN", true},
		{36352, "hostpapa", "hostpapa", "CA", false},
		{29169, "gandi", "your-online", "NL", false},
		{33070, "rackspace", "rackspace", "US", false},
		{206834, "team-internet", "team-internet-group", "GB", false},
		{9824, "jcom", "kddi", "JP", false},
		{30679, "csu", "csu", "US", true},
		{19551, "imperva", "thales", "FR", false},
		{29802, "hivelocity", "hivelocity", "US", false},
		{40816, "broadcom", "broadcom", "US", false},
	}
	for _, tt := range tests {
		claims := cat.ByASN(tt.asn)
		if len(claims) != 1 {
			t.Errorf("AS%d: %d provider claims, want 1", tt.asn, len(claims))
			continue
		}
		c := claims[0]
		if c.Provider.ID != tt.provider {
			t.Errorf("AS%d: provider %s, want %s", tt.asn, c.Provider.ID, tt.provider)
		}
		chain := cat.Chain(c.Operator.ID)
		if len(chain) == 0 {
			t.Errorf("AS%d: operator %s has no chain", tt.asn, c.Operator.ID)
			continue
		}
		top := chain[len(chain)-1]
		if top.ID != tt.top || top.Headquarters != tt.country || top.StateOwned != tt.stateOwnedOwner {
			t.Errorf("AS%d: ultimate parent %s (%s, state-owned %v), want %s (%s, %v)",
				tt.asn, top.ID, top.Headquarters, top.StateOwned, tt.top, tt.country, tt.stateOwnedOwner)
		}
	}
}
