package catalog

import (
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
)

// fuzzDeadline bounds the work one fuzz input may take. A catalog is
// hostile input (users pass their own with --catalog), so an input that
// makes parsing, checking or matching slow is a bug; the bound is generous
// so that a loaded machine does not make it flaky.
const fuzzDeadline = 2 * time.Second

// FuzzParse feeds arbitrary files to the catalog parser and, when they
// parse, to NewCatalog: neither may panic nor take long, whatever the input.
func FuzzParse(f *testing.F) {
	f.Add("sources:\n  - {id: s, kind: official, url: https://x.example, date: 2026-01-01}\ncompanies:\n  - {id: a, name: A, headquarters: US, sources: [s]}\n")
	f.Add("providers:\n  - id: p\n    name: P\n    kinds: [cloud]\n    operator: a\n    asns: [{asn: 1, source: s}]\n    sources: [s]\n")
	f.Add("traps: [{asn: 34947, name: x, note: y, source: s}]\n")
	f.Add("regions: [{provider: p, id: r, country: US, source: s}]\n")
	f.Add("companies: [{id: a, parent: a}]")
	f.Add(":\n\t- [")
	f.Fuzz(func(t *testing.T, s string) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			parseAndUse(s)
		}()
		select {
		case <-done:
		case <-time.After(fuzzDeadline):
			t.Fatalf("input of %d bytes took over %v", len(s), fuzzDeadline)
		}
	})
}

// parseAndUse parses a catalog file, checks it (finding the lines of its
// entries when it has problems) and calls every look-up on what it holds.
func parseAndUse(s string) {
	d, err := Parse("fuzz.yaml", strings.NewReader(s))
	if err != nil {
		_ = err.Error()
		return
	}
	c, err := check([]attribution.CatalogData{d}, [][]byte{[]byte(s)})
	if err != nil {
		_ = err.Error()
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
}
