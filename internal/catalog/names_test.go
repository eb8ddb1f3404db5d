package catalog_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// TestNamePatternsWholeWord checks the catalog's AS-name patterns against
// every AS name of the embedded routing table: a pattern matches only as a
// whole word (docs/catalog.md), so look-alike names do not take a
// provider's control. It pins the names that a plain substring match got
// wrong, and logs every origin AS whose match the rule changed.
//
//	go test -run TestNamePatternsWholeWord -v ./internal/catalog/
func TestNamePatternsWholeWord(t *testing.T) {
	tb, err := snapshot.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	data, err := catalog.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	// The patterns by provider, for the substring reference.
	type rule struct{ pattern, provider string }
	var rules []rule
	for _, d := range data {
		for _, p := range d.Providers {
			for _, nc := range p.Names {
				for _, pat := range nc.Patterns {
					rules = append(rules, rule{strings.ToLower(pat), p.ID})
				}
			}
		}
	}
	// Look-alikes that the substring rule took for Chinese providers.
	for _, tt := range []struct {
		asn  uint32
		name string
	}{
		{24545, "South China Telecommunications (H.K.) Limited"},
		{135386, "LinkChina Telecom Global Limited"},
		{9786, "XIANDOUCLOUD INFORMATION TECHNOLOGY"},
	} {
		if ms := cat.MatchName(tt.asn, tt.name); len(ms) > 0 {
			t.Errorf("AS%d %q matches %s by the pattern %q", tt.asn, tt.name, ms[0].Provider.ID, ms[0].Pattern)
		}
	}
	seen := map[uint32]bool{}
	changed := 0
	for _, r := range walkIPv4(t, tb) {
		if r.ASN == 0 || seen[r.ASN] || len(cat.ByASN(r.ASN)) > 0 {
			continue
		}
		seen[r.ASN] = true
		lower := strings.ToLower(r.ASName)
		var before []string
		for _, ru := range rules {
			if strings.Contains(lower, ru.pattern) && !slices.Contains(before, ru.provider) {
				before = append(before, ru.provider)
			}
		}
		var now []string
		for _, m := range cat.MatchName(r.ASN, r.ASName) {
			now = append(now, m.Provider.ID)
		}
		if _, trap := trapOf(cat, r.ASN); trap {
			before = nil
		}
		slices.Sort(before)
		slices.Sort(now)
		if !slices.Equal(before, now) {
			changed++
			t.Logf("AS%d %q: substring %v, whole word %v", r.ASN, r.ASName, before, now)
		}
	}
	t.Logf("%d origin ASes match differently as whole words", changed)
}

// trapOf reports whether an ASN is a catalog trap.
func trapOf(c *attribution.Catalog, asn uint32) (*attribution.Trap, bool) {
	return c.Trap(asn)
}
