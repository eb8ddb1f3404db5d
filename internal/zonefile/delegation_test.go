package zonefile_test

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/zonefile"
)

func group(t *testing.T, r io.Reader, apex string) *zonefile.Grouper {
	t.Helper()
	zr := zonefile.NewReader(r, "")
	g := zonefile.NewGrouper(apex)
	for {
		rec, err := zr.Next()
		if err == io.EOF {
			return g
		}
		var pe *zonefile.ParseError
		if errors.As(err, &pe) {
			t.Errorf("parse error: %v", pe)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		g.Add(rec)
	}
}

func TestDelegations(t *testing.T) {
	t.Parallel()
	// Glue first, as in the real .gov zone; the apex NS records are not a
	// delegation; a host shared by two delegations has its glue in both.
	const zone = `ns1.self.gov. 3600 IN A 192.0.2.1
ns1.self.gov. 3600 IN AAAA 2001:db8::1
ns2.self.gov. 3600 IN A 192.0.2.2
gov. 3600 IN SOA a.ns.gov. dns.cloudflare.com. 1 2 3 4 5
gov. 3600 IN NS a.ns.gov.
self.gov. 10800 IN NS ns1.self.gov.
self.gov. 10800 IN NS NS2.self.gov.
self.gov. 10800 IN NS ns1.self.gov.
other.gov. 10800 IN NS ns1.self.gov.
other.gov. 10800 IN NS amos.ns.cloudflare.com.
cloud.gov. 10800 IN NS ns-1069.awsdns-05.org.
cloud.gov. 10800 IN DS 1 13 2 ABCD
`
	g := group(t, strings.NewReader(zone), "")
	if g.Apex() != "gov." {
		t.Errorf("Apex() = %q, want gov. from the SOA", g.Apex())
	}
	a := netip.MustParseAddr
	want := []zonefile.Delegation{
		{Name: "cloud.gov.", Line: 11, NS: []string{"ns-1069.awsdns-05.org."}},
		{Name: "other.gov.", Line: 9, NS: []string{"ns1.self.gov.", "amos.ns.cloudflare.com."},
			Glue: map[string][]netip.Addr{"ns1.self.gov.": {a("192.0.2.1"), a("2001:db8::1")}}},
		{Name: "self.gov.", Line: 6, NS: []string{"ns1.self.gov.", "ns2.self.gov."},
			Glue: map[string][]netip.Addr{"ns1.self.gov.": {a("192.0.2.1"), a("2001:db8::1")}, "ns2.self.gov.": {a("192.0.2.2")}}},
	}
	if diff := cmp.Diff(want, g.Delegations(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Delegations mismatch (-want +got):\n%s", diff)
	}
}

func TestDelegationsGivenApex(t *testing.T) {
	t.Parallel()
	g := group(t, strings.NewReader("gov. NS a.ns.gov.\nx.gov. NS ns.example.\n"), "GOV")
	ds := g.Delegations()
	if len(ds) != 1 || ds[0].Name != "x.gov." {
		t.Errorf("Delegations() = %v, want only x.gov.", ds)
	}
}

// TestDelegationsGovZone groups the real .gov zone.
func TestDelegationsGovZone(t *testing.T) {
	t.Parallel()
	g := group(t, openGov(t), "")
	ds := g.Delegations()
	if g.Apex() != "gov." || len(ds) < 10000 {
		t.Fatalf("apex %q, %d delegations; want gov. and more than 10,000", g.Apex(), len(ds))
	}
	byName := make(map[string]zonefile.Delegation)
	for _, d := range ds {
		if len(d.NS) == 0 {
			t.Errorf("%s: no NS", d.Name)
		}
		if !strings.HasSuffix(d.Name, ".gov.") {
			t.Errorf("delegation %q not under gov.", d.Name)
		}
		byName[d.Name] = d
	}
	// 18f.gov is on Route 53, without glue.
	if d := byName["18f.gov."]; len(d.NS) != 4 || !strings.Contains(d.NS[0], "awsdns") || d.Glue != nil {
		t.Errorf("18f.gov. = %+v, want four awsdns servers and no glue", d)
	}
	// akcourts.gov has in-zone servers with glue.
	if d := byName["akcourts.gov."]; len(d.Glue) == 0 {
		t.Errorf("akcourts.gov. = %+v, want glue", d)
	}
}
