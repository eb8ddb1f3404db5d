package catalog

import (
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
)

// FuzzParse feeds arbitrary files to the catalog parser and, when they
// parse, to NewCatalog: neither may panic, whatever the input.
func FuzzParse(f *testing.F) {
	f.Add("sources:\n  - {id: s, url: https://x.example, date: 2026-01-01}\ncompanies:\n  - {id: a, name: A, headquarters: US, sources: [s]}\n")
	f.Add("providers:\n  - id: p\n    name: P\n    kinds: [cloud]\n    operator: a\n    asns: [{asn: 1, source: s}]\n    sources: [s]\n")
	f.Add("traps: [{asn: 34947, name: x, note: y, source: s}]\n")
	f.Add("regions: [{provider: p, id: r, country: US, source: s}]\n")
	f.Add("companies: [{id: a, parent: a}]")
	f.Add(":\n\t- [")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse("fuzz.yaml", strings.NewReader(s))
		if err != nil {
			return
		}
		c, err := attribution.NewCatalog(d)
		if err != nil {
			return
		}
		for _, id := range c.ProviderIDs() {
			p, _ := c.Provider(id)
			c.Chain(p.Operator)
			for _, a := range p.ASNs {
				c.ByASN(a.ASN)
				c.MatchName(a.ASN, a.Name)
			}
		}
		c.MatchHost("a.b.example")
	})
}
