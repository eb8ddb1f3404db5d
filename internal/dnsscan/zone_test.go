package dnsscan_test

import (
	"math"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/zonefile"
)

func TestFromDelegation(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	d := zonefile.Delegation{
		Name: "example.gov.", Line: 12,
		NS: []string{"ns-1069.awsdns-05.org.", "ns1.example.gov."},
		Glue: map[string][]netip.Addr{
			"ns1.example.gov.": {netip.MustParseAddr("2606:4700:50::1"), netip.MustParseAddr("173.245.58.1")},
		},
	}
	r := dnsscan.FromDelegation(eng, d)
	if r.Domain != "example.gov" || r.Line != 12 || r.Status != dnsscan.StatusOK || len(r.Layers) != 1 {
		t.Fatalf("result = %+v", r)
	}
	hs := r.Layers[dnsscan.LayerDNS]
	if diff := cmp.Diff([]string{"ns-1069.awsdns-05.org", "ns1.example.gov"}, hostNames(hs)); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if a := hs[0].Attribution; a == nil || a.Provider.ID != "aws" || len(hs[0].Addresses) != 0 {
		t.Errorf("awsdns host = %+v, want aws by name and no address", hs[0])
	}
	if hs[1].Attribution != nil || join(addrs(hs[1])) != "173.245.58.1,2606:4700:50::1" || hs[1].Addresses[0].Provider.ID != "cloudflare" {
		t.Errorf("glued host = %+v, want cloudflare by address", hs[1])
	}
	want := dnsscan.LayerSummary{Providers: []string{"aws", "cloudflare"}, Controls: []string{"US"}}
	if diff := cmp.Diff(want, r.Summary[dnsscan.LayerDNS]); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestTally(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	dels := []zonefile.Delegation{
		{Name: "a.gov.", NS: []string{"ns-1.awsdns-01.org.", "amos.ns.cloudflare.com."}},
		{Name: "b.gov.", NS: []string{"amos.ns.cloudflare.com."}},
		{Name: "c.gov.", NS: []string{"ns1.c.gov.", "ns2.c.gov."}},
		{Name: "d.gov.", NS: []string{"f1g1ns1.dnspod.net."}},
	}
	var tl dnsscan.Tally
	for _, d := range dels {
		r := dnsscan.FromDelegation(eng, d)
		tl.Add(&r)
	}
	tl.Add(&dnsscan.Result{Domain: "x y", Status: dnsscan.StatusError})
	s := tl.Summary(0)
	if s.Domains != 5 || s.Statuses["ok"] != 4 || s.Statuses["error"] != 1 {
		t.Errorf("summary counts = %+v", s)
	}
	ls := s.Layers[dnsscan.LayerDNS]
	if ls.Domains != 4 || ls.Unattributed != 1 {
		t.Errorf("dns layer: %d domains, %d unattributed; want 4 and 1", ls.Domains, ls.Unattributed)
	}
	type ps struct {
		ID      string
		Domains int
	}
	var got []ps
	for _, p := range ls.Providers {
		got = append(got, ps{p.ID, p.Domains})
	}
	if diff := cmp.Diff([]ps{{"cloudflare", 2}, {"aws", 1}, {"dnspod", 1}}, got); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	if ls.Providers[0].Name != "Cloudflare" || math.Abs(ls.Providers[0].Share-0.5) > 1e-9 {
		t.Errorf("first provider = %+v, want Cloudflare at 0.5", ls.Providers[0])
	}
	if c := ls.Controls; len(c) != 2 || c[0].Country != "US" || c[0].Domains != 2 || c[1].Country != "CN" {
		t.Errorf("controls = %+v, want US 2 (a and b), CN 1", c)
	}
	if u := ls.UnattributedSuffixes; len(u) != 1 || u[0].Suffix != "c.gov" || u[0].Domains != 1 {
		t.Errorf("unattributed suffixes = %+v, want c.gov once", u)
	}
	if top := tl.Summary(1).Layers[dnsscan.LayerDNS]; len(top.Providers) != 1 || len(top.Controls) != 1 {
		t.Errorf("Summary(1) = %+v, want one provider and one country", top)
	}
}
