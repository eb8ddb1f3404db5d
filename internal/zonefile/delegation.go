package zonefile

import (
	"net/netip"
	"slices"
	"strings"
)

// A Delegation is a name delegated by a zone: the NS records at that name
// and the addresses the zone holds for its name servers (glue).
type Delegation struct {
	Name string   // delegated name, fully qualified, lower case
	Line int      // line of its first NS record
	NS   []string // name server hosts, in the order of the zone, without repeats
	// Glue maps a name server host to the addresses (A and AAAA records)
	// the zone holds for it, in the order of the zone. Hosts without
	// addresses in the zone are absent.
	Glue map[string][]netip.Addr
}

// A Grouper collects the records of a zone and groups its delegations.
// Records may come in any order: glue before or after the NS records.
type Grouper struct {
	apex  string
	dels  map[string]*Delegation
	addrs map[string][]netip.Addr
}

// NewGrouper returns a grouper for the zone whose apex is given (with or
// without the final dot). An empty apex is taken from the zone's SOA record;
// NS records at the apex are the zone's own, not a delegation.
func NewGrouper(apex string) *Grouper {
	if apex != "" && !strings.HasSuffix(apex, ".") {
		apex += "."
	}
	return &Grouper{
		apex:  strings.ToLower(apex),
		dels:  make(map[string]*Delegation),
		addrs: make(map[string][]netip.Addr),
	}
}

// Apex returns the zone's apex: the one given to [NewGrouper], else the
// owner of the first SOA record added, else "".
func (g *Grouper) Apex() string { return g.apex }

// Add adds a record. NS records make delegations, A and AAAA records
// provide glue, and an SOA record names the apex if it was not given.
// Other records are ignored.
func (g *Grouper) Add(rec Record) {
	switch rec.Type {
	case "SOA":
		if g.apex == "" {
			g.apex = rec.Name
		}
	case "NS":
		d := g.dels[rec.Name]
		if d == nil {
			d = &Delegation{Name: rec.Name, Line: rec.Line}
			g.dels[rec.Name] = d
		}
		if !slices.Contains(d.NS, rec.Target) {
			d.NS = append(d.NS, rec.Target)
		}
	case "A", "AAAA":
		if !slices.Contains(g.addrs[rec.Name], rec.Addr) {
			g.addrs[rec.Name] = append(g.addrs[rec.Name], rec.Addr)
		}
	}
}

// Delegations returns the delegations of the zone, sorted by name, each
// with the glue the zone holds for its name servers. NS records at the apex
// are left out.
func (g *Grouper) Delegations() []Delegation {
	out := make([]Delegation, 0, len(g.dels))
	for name, d := range g.dels {
		if name == g.apex {
			continue
		}
		c := *d
		c.NS = slices.Clone(d.NS)
		for _, h := range d.NS {
			if a := g.addrs[h]; len(a) > 0 {
				if c.Glue == nil {
					c.Glue = make(map[string][]netip.Addr)
				}
				c.Glue[h] = slices.Clone(a)
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Delegation) int { return strings.Compare(a.Name, b.Name) })
	return out
}
