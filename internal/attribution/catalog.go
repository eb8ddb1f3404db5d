package attribution

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sovmap/sovmap/internal/iso"
)

// A Source is a document that supports a claim of the catalog.
type Source struct {
	ID    string `yaml:"id" json:"id"`
	URL   string `yaml:"url" json:"url"`
	Date  string `yaml:"date" json:"date"` // when the source was read or published, YYYY-MM-DD
	Title string `yaml:"title" json:"title,omitempty"`
}

// A Company is a legal entity: an operator of networks or a parent of one.
type Company struct {
	ID           string   `yaml:"id" json:"id"`
	Name         string   `yaml:"name" json:"name"`
	Aliases      []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	Incorporated string   `yaml:"incorporated,omitempty" json:"incorporated,omitempty"` // ISO 3166 alpha-2
	Headquarters string   `yaml:"headquarters" json:"headquarters"`                     // ISO 3166 alpha-2: the control country of a root company
	City         string   `yaml:"city,omitempty" json:"city,omitempty"`                 // headquarters city
	Parent       string   `yaml:"parent,omitempty" json:"parent,omitempty"`             // company ID of the controlling parent
	StateOwned   bool     `yaml:"state_owned,omitempty" json:"stateOwned,omitempty"`
	Note         string   `yaml:"note,omitempty" json:"note,omitempty"`
	Sources      []string `yaml:"sources" json:"sources"`
}

// Layer names a DNS-visible layer of a service.
type Layer string

// The layers that hostname suffixes are recorded for.
const (
	LayerWeb  Layer = "web"
	LayerDNS  Layer = "dns"
	LayerMail Layer = "mail"
)

// An ASNClaim says that an autonomous system belongs to a provider.
type ASNClaim struct {
	ASN      uint32 `yaml:"asn" json:"asn"`
	Operator string `yaml:"operator,omitempty" json:"operator,omitempty"` // company ID when it differs from the provider's operator
	Name     string `yaml:"name,omitempty" json:"name,omitempty"`         // the registered AS name, for readers
	Source   string `yaml:"source" json:"source"`
}

// A SuffixClaim lists hostname suffixes that reveal a provider on a layer.
type SuffixClaim struct {
	Layer    Layer    `yaml:"layer" json:"layer"`
	Suffixes []string `yaml:"suffixes" json:"suffixes"`
	Operator string   `yaml:"operator,omitempty" json:"operator,omitempty"`
	Source   string   `yaml:"source" json:"source"`
}

// A Region is a provider's named location, as its feeds and APIs name it.
type Region struct {
	ID      string `yaml:"id" json:"id"`
	Country string `yaml:"country" json:"country"`
	City    string `yaml:"city,omitempty" json:"city,omitempty"`
	Area    string `yaml:"area,omitempty" json:"area,omitempty"` // state or province
	Source  string `yaml:"source" json:"source"`
}

// A NameClaim lists AS organisation names (case-insensitive substrings of the
// registered AS name) that suggest a provider. Matching by name is the
// weakest evidence; traps list ASNs whose names must never match.
type NameClaim struct {
	Patterns []string `yaml:"patterns" json:"patterns"`
	Operator string   `yaml:"operator,omitempty" json:"operator,omitempty"`
	Source   string   `yaml:"source" json:"source"`
}

// A Provider is a cloud, CDN, DNS, mail, hosting or network service.
type Provider struct {
	ID       string        `yaml:"id" json:"id"`
	Name     string        `yaml:"name" json:"name"`
	Kinds    []string      `yaml:"kinds" json:"kinds"`
	Operator string        `yaml:"operator" json:"operator"`
	Note     string        `yaml:"note,omitempty" json:"note,omitempty"`
	ASNs     []ASNClaim    `yaml:"asns,omitempty" json:"asns,omitempty"`
	Suffixes []SuffixClaim `yaml:"suffixes,omitempty" json:"suffixes,omitempty"`
	Names    []NameClaim   `yaml:"names,omitempty" json:"names,omitempty"`
	Regions  []Region      `yaml:"regions,omitempty" json:"regions,omitempty"`
	Sources  []string      `yaml:"sources" json:"sources"`
}

// Kind returns the provider's main kind, the first of its kinds.
func (p *Provider) Kind() string {
	if len(p.Kinds) == 0 {
		return ""
	}
	return p.Kinds[0]
}

// A Trap is an autonomous system whose name resembles a provider's but that
// has nothing to do with it. Name matching skips traps.
type Trap struct {
	ASN    uint32 `yaml:"asn" json:"asn"`
	Name   string `yaml:"name" json:"name"`
	Note   string `yaml:"note" json:"note"`
	Source string `yaml:"source" json:"source"`
}

// A Group is a named set of jurisdictions, such as the foreign adversaries of
// 15 CFR 791.4.
type Group struct {
	ID        string   `yaml:"id" json:"id"`
	Name      string   `yaml:"name" json:"name"`
	Countries []string `yaml:"countries" json:"countries"`
	Note      string   `yaml:"note,omitempty" json:"note,omitempty"`
	Source    string   `yaml:"source" json:"source"`
}

// CatalogData is the plain content of a catalog, as files hold it. Several
// CatalogData values are merged into one [Catalog] by [NewCatalog].
type CatalogData struct {
	// File names the file the data came from, for error messages.
	File string `yaml:"-" json:"file,omitempty"`

	Sources   []Source   `yaml:"sources,omitempty" json:"sources,omitempty"`
	Companies []Company  `yaml:"companies,omitempty" json:"companies,omitempty"`
	Providers []Provider `yaml:"providers,omitempty" json:"providers,omitempty"`
	Traps     []Trap     `yaml:"traps,omitempty" json:"traps,omitempty"`
	Groups    []Group    `yaml:"groups,omitempty" json:"groups,omitempty"`
	// Regions adds regions to providers defined in any file, so that long
	// region tables can live in files of their own.
	Regions []ProviderRegion `yaml:"regions,omitempty" json:"regions,omitempty"`
	// Ranges are a user's own statements that address ranges belong to a
	// provider: overrides, first in the precedence of evidence.
	Ranges []RangeClaim `yaml:"ranges,omitempty" json:"ranges,omitempty"`

	// Lines gives, when known, the line in File of each entry, for error
	// messages: Lines["companies"][i] is the line of Companies[i]. The keys
	// are the lists' YAML names.
	Lines map[string][]int `yaml:"-" json:"-"`
}

// A RangeClaim says that a prefix belongs to a provider. It overrides every
// other evidence for the addresses it holds (the most specific claim wins).
type RangeClaim struct {
	Prefix   string `yaml:"prefix" json:"prefix"`
	Provider string `yaml:"provider" json:"provider"`
	Operator string `yaml:"operator,omitempty" json:"operator,omitempty"` // company ID when it differs from the provider's operator
	Region   string `yaml:"region,omitempty" json:"region,omitempty"`     // the provider's region, for the location
	Country  string `yaml:"country,omitempty" json:"country,omitempty"`   // the location country, when no region says it
	City     string `yaml:"city,omitempty" json:"city,omitempty"`
	Note     string `yaml:"note,omitempty" json:"note,omitempty"`
	Source   string `yaml:"source" json:"source"`
}

// A RangeMatch is a range claim that holds an address.
type RangeMatch struct {
	Claim    RangeClaim
	Prefix   netip.Prefix
	Provider *Provider
	Operator *Company
	Index    int // position among all claims, for caching
}

// A ProviderRegion is a region of the named provider.
type ProviderRegion struct {
	Provider string `yaml:"provider" json:"provider"`
	Region   `yaml:",inline"`
}

// ProviderASN is the provider and operator that the catalog gives an ASN.
type ProviderASN struct {
	Provider *Provider
	Operator *Company
	Claim    ASNClaim
}

// A Catalog is the checked, indexed union of catalog data. It is immutable.
type Catalog struct {
	sources   map[string]*Source
	companies map[string]*Company
	providers map[string]*Provider
	groups    map[string]*Group
	byASN     map[uint32][]ProviderASN
	traps     map[uint32]*Trap
	names     []nameRule
	nameKeys  map[[4]byte][]int       // the first four bytes of each pattern → indexes into names
	suffixes  map[string][]suffixRule // suffix → rules, by provider ID

	companyIDs, providerIDs, groupIDs []string

	ranges     []RangeMatch           // resolved range claims
	rangeIndex map[netip.Prefix][]int // prefix → indexes into ranges
	rangeBits  []int                  // prefix lengths present, longest first
}

type nameRule struct {
	pattern  string // lower case
	provider *Provider
	operator *Company
	source   string
}

type suffixRule struct {
	suffix   string // lower case, no leading or trailing dot
	layer    Layer
	provider *Provider
	operator *Company
	source   string
}

// MaxParentDepth is the longest parent chain a catalog may hold, counting
// the company itself. Real chains are a few companies long; the bound keeps
// [Catalog.Chain], which every verdict calls, short whatever a user's file
// says.
const MaxParentDepth = 32

// NewCatalog merges the data in order and checks it. A later entry with the
// ID of an earlier one replaces it whole, so that a user's file can override
// the embedded catalog. Every claim must cite a known source, every reference
// must resolve, and parent chains must neither loop nor run deeper than
// [MaxParentDepth]; all problems are returned together, as a
// [*CatalogError].
//
// NewCatalog takes time about linear in the size of the data (n log n for
// the sorts), so that a hostile file cannot make it slow: duplicate claims
// (from YAML aliases, say) are indexed once.
func NewCatalog(data ...CatalogData) (*Catalog, error) {
	c := &Catalog{
		sources:   map[string]*Source{},
		companies: map[string]*Company{},
		providers: map[string]*Provider{},
		groups:    map[string]*Group{},
		byASN:     map[uint32][]ProviderASN{},
		traps:     map[uint32]*Trap{},
		suffixes:  map[string][]suffixRule{},
	}
	fileOrder := map[string]int{}
	for i := len(data) - 1; i >= 0; i-- {
		fileOrder[data[i].File] = i
	}
	origin := map[string]position{} // "kind id" → where the entry that won was given
	from := func(kind, id string, d *CatalogData, list string, i int) {
		if d.File != "" {
			origin[kind+" "+id] = position{file: d.File, line: d.line(list, i)}
		}
	}
	for k := range data {
		d := &data[k]
		for i := range d.Sources {
			from("source", d.Sources[i].ID, d, "sources", i)
			s := d.Sources[i]
			c.sources[s.ID] = &s
		}
		for i := range d.Companies {
			co := d.Companies[i]
			from("company", co.ID, d, "companies", i)
			co.Headquarters = strings.ToUpper(co.Headquarters)
			co.Incorporated = strings.ToUpper(co.Incorporated)
			c.companies[co.ID] = &co
		}
		for i := range d.Providers {
			p := d.Providers[i]
			from("provider", p.ID, d, "providers", i)
			p.Regions = uniqueRegions(p.Regions)
			c.providers[p.ID] = &p
		}
		for i := range d.Traps {
			t := d.Traps[i]
			from("trap", fmt.Sprintf("AS%d", t.ASN), d, "traps", i)
			c.traps[t.ASN] = &t
		}
		for i := range d.Groups {
			g := d.Groups[i]
			from("group", g.ID, d, "groups", i)
			g.Countries = uniqueStrings(g.Countries)
			c.groups[g.ID] = &g
		}
	}
	var probs []Problem
	bad := func(at position, format string, args ...any) {
		probs = append(probs, Problem{File: at.file, Line: at.line, Msg: fmt.Sprintf(format, args...)})
	}
	// regionAt indexes the regions of the providers that region tables
	// extend, so that a long table costs one map look-up a row.
	regionAt := map[*Provider]map[string]int{}
	for k := range data {
		d := &data[k]
		for i, r := range d.Regions {
			p, ok := c.providers[r.Provider]
			if !ok {
				bad(d.pos("regions", i), "region %s: unknown provider %q", r.ID, r.Provider)
				continue
			}
			at, ok := regionAt[p]
			if !ok {
				at = make(map[string]int, len(p.Regions))
				for j, x := range p.Regions {
					at[x.ID] = j // uniqueRegions left one entry an ID
				}
				regionAt[p] = at
			}
			if j, ok := at[r.ID]; ok {
				p.Regions[j] = r.Region
			} else {
				at[r.ID] = len(p.Regions)
				p.Regions = append(p.Regions, r.Region)
			}
		}
	}
	where := func(kind, id string) (position, string) { return origin[kind+" "+id], kind + " " + id }
	checkSource := func(at position, what, id string) {
		if id == "" {
			bad(at, "%s: no source", what)
		} else if _, ok := c.sources[id]; !ok {
			bad(at, "%s: unknown source %q", what, id)
		}
	}
	for id, s := range c.sources {
		at, what := where("source", id)
		if id == "" {
			bad(at, "source with empty id")
		}
		if !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
			bad(at, "%s: url %q is not an http(s) URL", what, s.URL)
		}
		if !iso.IsDate(s.Date) {
			bad(at, "%s: date %q is not YYYY-MM-DD", what, s.Date)
		}
	}
	for id, co := range c.companies {
		at, what := where("company", id)
		if id == "" || co.Name == "" {
			bad(at, "%s: id and name are required", what)
		}
		if !iso.IsCountry(co.Headquarters) {
			bad(at, "%s: headquarters %q is not a two-letter country code", what, co.Headquarters)
		}
		if co.Incorporated != "" && !iso.IsCountry(co.Incorporated) {
			bad(at, "%s: incorporated %q is not a two-letter country code", what, co.Incorporated)
		}
		if len(co.Sources) == 0 {
			bad(at, "%s: no source", what)
		}
		for _, s := range co.Sources {
			checkSource(at, what, s)
		}
		if co.Parent != "" {
			if _, ok := c.companies[co.Parent]; !ok {
				bad(at, "%s: unknown parent %q", what, co.Parent)
			}
		}
	}
	for id, ch := range c.parentChains() {
		at, what := where("company", id)
		switch {
		case ch.loop != "":
			bad(at, "%s: parent chain loops at %s", what, ch.loop)
		case ch.depth > MaxParentDepth:
			bad(at, "%s: parent chain of %d companies is longer than %d", what, ch.depth, MaxParentDepth)
		}
	}
	company := func(at position, what, id string) *Company {
		co, ok := c.companies[id]
		if !ok {
			bad(at, "%s: unknown company %q", what, id)
		}
		return co
	}
	type nameKey struct {
		pattern  string
		provider *Provider
	}
	seenName := map[nameKey]bool{}
	type suffixKey struct {
		suffix   string
		layer    Layer
		provider *Provider
	}
	seenSuffix := map[suffixKey]bool{}
	for id, p := range c.providers {
		at, what := where("provider", id)
		if p.Name == "" || len(p.Kinds) == 0 {
			bad(at, "%s: name and kinds are required", what)
		}
		for _, k := range p.Kinds {
			if !slices.Contains(ProviderKinds, k) {
				bad(at, "%s: unknown kind %q (want one of %s)", what, k, strings.Join(ProviderKinds, ", "))
			}
		}
		op := company(at, what+" operator", p.Operator)
		if len(p.Sources) == 0 {
			bad(at, "%s: no source", what)
		}
		for _, s := range p.Sources {
			checkSource(at, what, s)
		}
		claimed := map[uint32]bool{}
		for _, a := range p.ASNs {
			w := fmt.Sprintf("%s AS%d", what, a.ASN)
			checkSource(at, w, a.Source)
			o := op
			if a.Operator != "" {
				o = company(at, w+" operator", a.Operator)
			}
			if a.ASN == 0 {
				bad(at, "%s: ASN 0", w)
			}
			if !claimed[a.ASN] { // the first claim of an ASN speaks for the provider
				claimed[a.ASN] = true
				c.byASN[a.ASN] = append(c.byASN[a.ASN], ProviderASN{Provider: p, Operator: o, Claim: a})
			}
		}
		for _, s := range p.Suffixes {
			w := fmt.Sprintf("%s suffixes %s", what, s.Layer)
			checkSource(at, w, s.Source)
			if s.Layer != LayerWeb && s.Layer != LayerDNS && s.Layer != LayerMail {
				bad(at, "%s: unknown layer %q", w, s.Layer)
			}
			o := op
			if s.Operator != "" {
				o = company(at, w+" operator", s.Operator)
			}
			for _, suf := range s.Suffixes {
				n := strings.Trim(strings.ToLower(suf), ".")
				if n == "" || !strings.Contains(n, ".") {
					bad(at, "%s: suffix %q needs at least two labels", w, suf)
					continue
				}
				if k := (suffixKey{n, s.Layer, p}); !seenSuffix[k] {
					seenSuffix[k] = true
					c.suffixes[n] = append(c.suffixes[n], suffixRule{suffix: n, layer: s.Layer, provider: p, operator: o, source: s.Source})
				}
			}
		}
		for _, nc := range p.Names {
			w := what + " names"
			checkSource(at, w, nc.Source)
			o := op
			if nc.Operator != "" {
				o = company(at, w+" operator", nc.Operator)
			}
			for _, pat := range nc.Patterns {
				if len(strings.TrimSpace(strings.ToLower(pat))) < 5 {
					bad(at, "%s: pattern %q is too short to be safe", w, pat)
				}
				lp := strings.ToLower(pat)
				if k := (nameKey{lp, p}); len(lp) >= 4 && !seenName[k] {
					seenName[k] = true
					c.names = append(c.names, nameRule{pattern: lp, provider: p, operator: o, source: nc.Source})
				}
			}
		}
		for _, r := range p.Regions {
			w := fmt.Sprintf("%s region %s", what, r.ID)
			checkSource(at, w, r.Source)
			if !iso.IsCountry(r.Country) {
				bad(at, "%s: country %q is not a two-letter code", w, r.Country)
			}
		}
	}
	for asn, t := range c.traps {
		at, what := where("trap", fmt.Sprintf("AS%d", asn))
		checkSource(at, what, t.Source)
	}
	for id, g := range c.groups {
		at, what := where("group", id)
		checkSource(at, what, g.Source)
		for _, cc := range g.Countries {
			if !iso.IsCountry(cc) {
				bad(at, "%s: country %q is not a two-letter code", what, cc)
			}
		}
	}
	seenRange := map[RangeClaim]bool{}
	for k := range data {
		d := &data[k]
		for i, rc := range d.Ranges {
			if seenRange[rc] {
				continue // a repeated claim would only repeat its matches
			}
			seenRange[rc] = true
			at, what := d.pos("ranges", i), "range "+rc.Prefix
			p, err := netip.ParsePrefix(rc.Prefix)
			if err != nil {
				bad(at, "%s: %v", what, err)
				continue
			}
			if a := p.Addr(); a.Is4In6() {
				if p.Bits() < 96 {
					bad(at, "%s: an IPv4-mapped prefix shorter than /96", what)
					continue
				}
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			p = p.Masked()
			checkSource(at, what, rc.Source)
			prov, ok := c.providers[rc.Provider]
			if !ok {
				bad(at, "%s: unknown provider %q", what, rc.Provider)
				continue
			}
			opID := prov.Operator
			if rc.Operator != "" {
				opID = rc.Operator
			}
			op, ok := c.companies[opID]
			if !ok {
				bad(at, "%s: unknown company %q", what, opID)
				continue
			}
			if rc.Country != "" && !iso.IsCountry(rc.Country) {
				bad(at, "%s: country %q is not a two-letter code", what, rc.Country)
			}
			c.ranges = append(c.ranges, RangeMatch{Claim: rc, Prefix: p, Provider: prov, Operator: op, Index: len(c.ranges)})
		}
	}
	if len(probs) > 0 {
		sortProblems(probs, fileOrder)
		return nil, &CatalogError{Problems: probs}
	}
	if len(c.ranges) > 0 {
		c.rangeIndex = map[netip.Prefix][]int{}
		seen := map[int]bool{}
		for i, r := range c.ranges {
			c.rangeIndex[r.Prefix] = append(c.rangeIndex[r.Prefix], i)
			b := r.Prefix.Bits()
			if r.Prefix.Addr().Is4() {
				b += 1000 // IPv4 lengths apart from IPv6 ones
			}
			if !seen[b] {
				seen[b] = true
				c.rangeBits = append(c.rangeBits, b)
			}
		}
		sort.Sort(sort.Reverse(sort.IntSlice(c.rangeBits)))
	}
	// Deterministic order for every index.
	for asn := range c.byASN {
		sort.Slice(c.byASN[asn], func(i, j int) bool { return c.byASN[asn][i].Provider.ID < c.byASN[asn][j].Provider.ID })
	}
	sort.Slice(c.names, func(i, j int) bool {
		if len(c.names[i].pattern) != len(c.names[j].pattern) {
			return len(c.names[i].pattern) > len(c.names[j].pattern)
		}
		if c.names[i].pattern != c.names[j].pattern {
			return c.names[i].pattern < c.names[j].pattern
		}
		return c.names[i].provider.ID < c.names[j].provider.ID
	})
	c.nameKeys = map[[4]byte][]int{}
	for i, r := range c.names {
		k := key4(r.pattern)
		c.nameKeys[k] = append(c.nameKeys[k], i)
	}
	for _, rs := range c.suffixes {
		// Stable: one provider's rules for two layers keep their order.
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].provider.ID < rs[j].provider.ID })
	}
	c.companyIDs = sortedKeys(c.companies)
	c.providerIDs = sortedKeys(c.providers)
	c.groupIDs = sortedKeys(c.groups)
	return c, nil
}

// A position is where an entry was given.
type position struct {
	file string
	line int // 0 when unknown
}

// line returns the line of the i-th entry of a list, or 0.
func (d *CatalogData) line(list string, i int) int {
	if ls := d.Lines[list]; i < len(ls) {
		return ls[i]
	}
	return 0
}

// pos returns the position of the i-th entry of a list.
func (d *CatalogData) pos(list string, i int) position {
	return position{file: d.File, line: d.line(list, i)}
}

// uniqueRegions returns a copy of a provider's regions with one entry an
// ID, the first, which is the one [Provider.Region] returns.
func uniqueRegions(rs []Region) []Region {
	out := make([]Region, 0, len(rs))
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// uniqueStrings returns a copy of ss with the first of each string.
func uniqueStrings(ss []string) []string {
	if len(ss) == 0 {
		return ss
	}
	out := make([]string, 0, len(ss))
	seen := make(map[string]bool, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// A parentChain describes the chain of a company: its depth, counting the
// company, or where it loops.
type parentChain struct {
	depth int
	loop  string // the first company met twice, when the chain loops
}

// parentChains returns the chain of every company, walking each link once,
// so that a long chain costs linear time rather than quadratic.
func (c *Catalog) parentChains() map[string]parentChain {
	chains := make(map[string]parentChain, len(c.companies))
	onPath := map[string]int{}
	var path []string
	for id := range c.companies {
		if _, ok := chains[id]; ok {
			continue
		}
		clear(onPath)
		path = path[:0]
		var end parentChain // the chain beyond the end of path
		for cur := id; cur != ""; {
			if ch, ok := chains[cur]; ok {
				end = ch
				if ch.loop != "" {
					// cur is on its loop (loop == cur) or leads to it: either
					// way the companies before it meet ch.loop first.
					end = parentChain{loop: ch.loop}
				}
				break
			}
			if i, ok := onPath[cur]; ok {
				// path[i:] is a loop: each of its companies meets itself first.
				for _, x := range path[i:] {
					chains[x] = parentChain{loop: x}
				}
				path = path[:i]
				end = parentChain{loop: cur}
				break
			}
			co, ok := c.companies[cur]
			if !ok {
				break // an unknown parent, reported on its own
			}
			onPath[cur] = len(path)
			path = append(path, cur)
			cur = co.Parent
		}
		for j := len(path) - 1; j >= 0; j-- {
			if end.loop == "" {
				end.depth++
			}
			chains[path[j]] = end
		}
	}
	return chains
}

// MaxShownProblems is how many problems the message of a [CatalogError]
// lists; it counts the others by file, so that a file of a million bad
// entries makes a short message.
const MaxShownProblems = 20

// A Problem is one thing wrong with catalog data.
type Problem struct {
	File string // the file of the entry, "" when the data names none
	Line int    // the line of the entry in File, 0 when unknown
	Msg  string // the entry and what is wrong with it
}

// String returns the problem as "file:line: message".
func (p Problem) String() string {
	switch {
	case p.File == "":
		return p.Msg
	case p.Line == 0:
		return p.File + ": " + p.Msg
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ": " + p.Msg
}

// A CatalogError lists the problems found in catalog data, sorted by file
// (in the order the files were given), line and message.
type CatalogError struct {
	Problems []Problem
}

// Error returns the first [MaxShownProblems] problems, one a line, and then
// for each file with more a line "... and K more errors in FILE".
func (e *CatalogError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems[:min(len(e.Problems), MaxShownProblems)] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	var files []string
	more := map[string]int{}
	for _, p := range e.Problems[min(len(e.Problems), MaxShownProblems):] {
		if more[p.File] == 0 {
			files = append(files, p.File)
		}
		more[p.File]++
	}
	for _, f := range files {
		noun := "errors"
		if more[f] == 1 {
			noun = "error"
		}
		if f == "" {
			fmt.Fprintf(&b, "\n... and %d more %s", more[f], noun)
		} else {
			fmt.Fprintf(&b, "\n... and %d more %s in %s", more[f], noun, f)
		}
	}
	return b.String()
}

// ProviderKinds are the kinds a provider may have.
var ProviderKinds = []string{"cloud", "cdn", "dns", "mail", "hosting", "network", "security", "saas"}

// sortProblems sorts problems by file, in the order of fileOrder, then line
// and message, so that the first ones shown are the first in each file.
func sortProblems(ps []Problem, fileOrder map[string]int) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if oa, ob := fileOrder[a.File], fileOrder[b.File]; oa != ob {
			return oa < ob
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Msg < b.Msg
	})
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Company returns the company with the given ID.
func (c *Catalog) Company(id string) (*Company, bool) { co, ok := c.companies[id]; return co, ok }

// Provider returns the provider with the given ID.
func (c *Catalog) Provider(id string) (*Provider, bool) { p, ok := c.providers[id]; return p, ok }

// Source returns the source with the given ID.
func (c *Catalog) Source(id string) (*Source, bool) { s, ok := c.sources[id]; return s, ok }

// Group returns the jurisdiction group with the given ID.
func (c *Catalog) Group(id string) (*Group, bool) { g, ok := c.groups[id]; return g, ok }

// Trap returns the trap entry for an ASN.
func (c *Catalog) Trap(asn uint32) (*Trap, bool) { t, ok := c.traps[asn]; return t, ok }

// CompanyIDs returns the IDs of all companies, sorted.
func (c *Catalog) CompanyIDs() []string { return c.companyIDs }

// ProviderIDs returns the IDs of all providers, sorted.
func (c *Catalog) ProviderIDs() []string { return c.providerIDs }

// GroupIDs returns the IDs of all jurisdiction groups, sorted.
func (c *Catalog) GroupIDs() []string { return c.groupIDs }

// Traps returns all trap entries, sorted by ASN.
func (c *Catalog) Traps() []*Trap {
	ts := make([]*Trap, 0, len(c.traps))
	for _, t := range c.traps {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].ASN < ts[j].ASN })
	return ts
}

// ByASN returns the providers that claim an ASN, sorted by provider ID.
func (c *Catalog) ByASN(asn uint32) []ProviderASN { return c.byASN[asn] }

// Chain returns the company and its parents, the ultimate parent last. It is
// empty when the ID is unknown.
func (c *Catalog) Chain(id string) []*Company {
	var chain []*Company
	for cur := id; cur != ""; {
		co, ok := c.companies[cur]
		if !ok || len(chain) > len(c.companies) {
			break
		}
		chain = append(chain, co)
		cur = co.Parent
	}
	return chain
}

// A NameMatch is a provider suggested by an AS organisation name.
type NameMatch struct {
	Provider *Provider
	Operator *Company
	Pattern  string
	Source   string
}

// MatchName returns the providers whose name patterns occur in an AS name,
// longest pattern first, at most one per provider. It returns nothing for an
// ASN listed as a trap.
func (c *Catalog) MatchName(asn uint32, asName string) []NameMatch {
	if _, trap := c.traps[asn]; trap || asName == "" || len(c.names) == 0 {
		return nil
	}
	lower := strings.ToLower(asName)
	// A pattern can only occur where its first four bytes do: look those up
	// at every position, then check candidates whole. This keeps substring
	// semantics at the cost of one map lookup per byte of the name. Each
	// distinct four bytes is looked up once, so that a name that repeats
	// them does not multiply the candidates of a catalog with many patterns.
	var buf [64][4]byte
	keys := buf[:0]
	for i := 0; i+4 <= len(lower); i++ {
		keys = append(keys, key4(lower[i:]))
	}
	slices.SortFunc(keys, func(a, b [4]byte) int { return bytes.Compare(a[:], b[:]) })
	keys = slices.Compact(keys)
	var cand []int
	for _, k := range keys {
		cand = append(cand, c.nameKeys[k]...)
	}
	if len(cand) == 0 {
		return nil
	}
	sort.Ints(cand) // rules are sorted longest pattern first
	cand = slices.Compact(cand)
	var ms []NameMatch
	var matched map[*Provider]bool // once ms is long, so that many providers stay linear
	for _, i := range cand {
		r := c.names[i]
		if !strings.Contains(lower, r.pattern) {
			continue
		}
		if matched != nil {
			if matched[r.provider] {
				continue
			}
		} else if slices.ContainsFunc(ms, func(m NameMatch) bool { return m.Provider == r.provider }) {
			continue
		}
		ms = append(ms, NameMatch{Provider: r.provider, Operator: r.operator, Pattern: r.pattern, Source: r.source})
		if matched == nil && len(ms) > 8 {
			matched = make(map[*Provider]bool, 2*len(ms))
			for _, m := range ms {
				matched[m.Provider] = true
			}
		} else if matched != nil {
			matched[r.provider] = true
		}
	}
	return ms
}

// HasRanges reports whether the catalog holds range claims.
func (c *Catalog) HasRanges() bool { return len(c.ranges) > 0 }

// MatchRanges returns the range claims that hold addr, most specific first
// (claims of one prefix in the order they were given).
func (c *Catalog) MatchRanges(addr netip.Addr) []RangeMatch {
	if len(c.ranges) == 0 {
		return nil
	}
	addr = addr.Unmap()
	var out []RangeMatch
	for _, b := range c.rangeBits {
		if b >= 1000 != addr.Is4() {
			continue
		}
		if b >= 1000 {
			b -= 1000
		}
		p, err := addr.Prefix(b)
		if err != nil {
			continue
		}
		for _, i := range c.rangeIndex[p] {
			out = append(out, c.ranges[i])
		}
	}
	return out
}

// key4 returns the first four bytes of s, which must have at least four.
func key4(s string) [4]byte { return [4]byte{s[0], s[1], s[2], s[3]} }

// A SuffixMatch is a provider revealed by a hostname suffix.
type SuffixMatch struct {
	Provider *Provider
	Operator *Company
	Suffix   string
	Layer    Layer
	Source   string
}

// MatchHost returns the providers whose suffixes match a hostname, longest
// suffix first. The name is compared case-insensitively, with or without a
// trailing dot. A suffix matches the name itself or any name below it, never
// a name that merely ends with the same characters.
func (c *Catalog) MatchHost(host string) []SuffixMatch {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	var ms []SuffixMatch
	// Look up the name and each name above it that still has two labels:
	// one map look-up a label, however many suffixes the catalog holds.
	for s := h; strings.IndexByte(s, '.') >= 0; s = s[strings.IndexByte(s, '.')+1:] {
		for _, r := range c.suffixes[s] {
			ms = append(ms, SuffixMatch{Provider: r.provider, Operator: r.operator, Suffix: r.suffix, Layer: r.layer, Source: r.source})
		}
	}
	return ms
}

// Region returns a provider's region by ID.
func (p *Provider) Region(id string) (Region, bool) {
	for _, r := range p.Regions {
		if r.ID == id {
			return r, true
		}
	}
	return Region{}, false
}

// InGroup reports whether a country belongs to the jurisdiction group.
func (g *Group) InGroup(country string) bool { return slices.Contains(g.Countries, country) }
