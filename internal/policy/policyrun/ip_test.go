package policyrun

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// testEngine returns an engine over the embedded snapshot and catalog.
func testEngine(t testing.TB) *attribution.Engine {
	t.Helper()
	tab, err := snapshot.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	return attribution.NewEngine(tab, cat, attribution.SourceLabels{ASN: tab.Meta().Label(snapshot.ASNData)})
}

// testSet compiles every built-in pack with the catalog's groups and parent
// chains; the restricted-entity lists are empty.
func testSet(t testing.TB, cat *attribution.Catalog) *policy.Set {
	t.Helper()
	env := policy.Env{Groups: map[string][]string{}, Lists: map[string]*policy.List{}}
	for _, id := range cat.GroupIDs() {
		if g, ok := cat.Group(id); ok {
			env.Groups[id] = g.Countries
		}
	}
	env.Parents = func(id string) []string {
		var out []string
		for i, c := range cat.Chain(id) {
			if i > 0 {
				out = append(out, c.ID)
			}
		}
		return out
	}
	for _, id := range []string{"fcc-covered", "ndaa-889"} {
		env.Lists[id] = &policy.List{ID: id, Name: id, Links: map[string]policy.Link{}}
	}
	var pols []*policy.Policy
	for _, name := range policy.Packs() {
		p, err := policy.Pack(name)
		if err != nil {
			t.Fatal(err)
		}
		pols = append(pols, p)
	}
	set, err := policy.Compile(env, pols...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestIPCache checks that the per-route caches with placeholders (by the
// engine's key and by hash) give byte for byte what evaluating every record
// gives, and the same counts and populations.
func TestIPCache(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	set := testSet(t, eng.Catalog())
	cached := NewIP(eng, New(set, 0), false)
	if !cached.cacheable {
		t.Fatal("the built-in packs should be cacheable for ip records")
	}
	fresh := NewIP(eng, New(set, 0), false)
	fresh.cacheable = false
	hashed := NewIP(eng, New(set, 0), false)
	addrs := append(flowtest.SpreadAddrs(20000), netip.MustParseAddr("47.88.1.1"), netip.MustParseAddr("66.102.241.1"), netip.MustParseAddr("2a00:1450:4001::1"))
	findings := 0
	for _, a := range addrs {
		b, key := eng.AppendJSONKey(nil, a)
		x := cached.AppendJSON(bytes.Clone(b), a, key)
		y := fresh.AppendJSON(bytes.Clone(b), a, key)
		z := hashed.AppendJSON(bytes.Clone(b), a, -1) // the hashed cache
		if !bytes.Equal(x, z) {
			t.Fatalf("%s: by key\n%s\nby hash\n%s", a, x, z)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("%s: cached\n%s\nfresh\n%s", a, x, y)
		}
		if bytes.Contains(x, []byte("\ue000")) {
			t.Fatalf("%s: placeholder left in %s", a, x)
		}
		if len(x) > len(b) {
			findings++
		}
		fsC, _ := cached.Findings(a, nil)
		fsF, _ := fresh.Findings(a, nil)
		if len(fsC) != len(fsF) || (len(fsC) > 0 && fsC[0].Message != fsF[0].Message) {
			t.Fatalf("%s: findings differ: %v / %v", a, fsC, fsF)
		}
	}
	if cached.run.counts != fresh.run.counts {
		t.Errorf("counts differ: %v / %v", cached.run.counts, fresh.run.counts)
	}
	if findings < 1000 || len(cached.cache) > len(addrs)/2 {
		t.Errorf("%d records with findings, %d cache entries for %d addresses", findings, len(cached.cache), len(addrs))
	}
	pc, pf := cached.run.Populations("p"), fresh.run.Populations("p")
	if len(pc) != 1 || len(pf) != 1 || pc[0].Record["total"] != pf[0].Record["total"] || len(pc[0].Findings) != len(pf[0].Findings) {
		t.Errorf("populations differ: %v / %v", pc, pf)
	}
}

// TestIPSARIF checks that an IP made for a SARIF log locates the findings
// with their address in the run.
func TestIPSARIF(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	ip := NewIP(eng, New(testSet(t, eng.Catalog()), 0), true)
	a := netip.MustParseAddr("47.88.1.1")
	fs, _ := ip.Findings(a, nil)
	fs2, _ := ip.Findings(a, nil) // from the cache
	located := ip.run.Located()
	if len(fs) == 0 || len(located) != len(fs)+len(fs2) {
		t.Fatalf("findings %v, located %v", fs, located)
	}
	for _, l := range located {
		if l.Kind != policy.KindIP || l.Subject != "47.88.1.1" || l.File != "" || !bytes.Contains([]byte(l.Message), []byte("47.88.1.1")) {
			t.Errorf("located %+v, want an ip finding about 47.88.1.1", l)
		}
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rec                attribution.Record
		addr, prefix, rest string
	}{
		{attribution.Record{IP: netip.MustParseAddr("192.0.2.1"), Prefix: netip.MustParsePrefix("192.0.2.0/24"), ASN: 64500, Confidence: "low"},
			"192.0.2.1", "192.0.2.0/24", `,"asn":64500,"confidence":"low"}`},
		{attribution.Record{IP: netip.MustParseAddr("2001:db8::1"), Confidence: "none"}, "2001:db8::1", "", `,"confidence":"none"}`},
	}
	for _, test := range tests {
		b := test.rec.AppendJSON(nil)
		addr, prefix, rest := head(b)
		if string(addr) != test.addr || string(prefix) != test.prefix || (prefix != nil) != (test.prefix != "") || string(b[rest:]) != test.rest {
			t.Errorf("head(%s) = %q, %q, %q; want %q, %q, %q", b, addr, prefix, b[rest:], test.addr, test.prefix, test.rest)
		}
	}
}
