package attribution

import (
	"bytes"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// A Source is a document that supports a claim of the catalog.
type Source struct {
	ID    string     `yaml:"id" json:"id"`
	Kind  SourceKind `yaml:"kind" json:"kind"`
	URL   string     `yaml:"url" json:"url"`
	Date  string     `yaml:"date" json:"date"` // when the source was read or published, YYYY-MM-DD
	Title string     `yaml:"title" json:"title,omitempty"`
}

// SourceKind says what kind of document a source is, and so how much a
// claim resting on it can be trusted.
type SourceKind string

// The kinds of source. Filings, official pages and registry records are
// primary: they come from the company, a government or a registry itself.
const (
	// SourceFiling is a document filed with a regulator or an exchange (an
	// SEC 10-K, 20-F or 8-K, an HKEX or MOEX disclosure, an annual report),
	// read at the regulator or at the filer's own investor-relations site.
	SourceFiling SourceKind = "filing"
	// SourceOfficial is a page of the company itself or of a government
	// or public body: its site, documentation, legal notices, releases.
	SourceOfficial SourceKind = "official"
	// SourceRegistry is a registry's record: RIR whois, PeeringDB, a
	// company register, a domain registry's zone.
	SourceRegistry SourceKind = "registry"
	// SourcePress is news reporting.
	SourcePress SourceKind = "press"
	// SourceDerived is anything compiled or copied by a third party: data
	// sets, classifications, AS names, wikis, aggregators, copies of
	// filings or official pages on other sites.
	SourceDerived SourceKind = "derived"
)

// SourceKinds are the kinds a source may have.
var SourceKinds = []SourceKind{SourceFiling, SourceOfficial, SourceRegistry, SourcePress, SourceDerived}

// IsPrimary reports whether k is a kind of primary source: a filing, an
// official page or a registry record.
func (k SourceKind) IsPrimary() bool {
	return k == SourceFiling || k == SourceOfficial || k == SourceRegistry
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
	// Anycast, when set, says that the provider announces all its
	// addresses from many places at once (an anycast network): where an
	// address of it is served from depends on where the user is.
	Anycast *AnycastClaim `yaml:"anycast,omitempty" json:"anycast,omitempty"`
	Sources []string      `yaml:"sources" json:"sources"`
}

// An AnycastClaim says, with its source, that a provider's addresses are
// anycast.
type AnycastClaim struct {
	Note   string `yaml:"note,omitempty" json:"note,omitempty"`
	Source string `yaml:"source" json:"source"`
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
	m := mergeCatalog(data)
	if probs := m.check(); len(probs) > 0 {
		sortProblems(probs, m.fileOrder)
		return nil, &CatalogError{Problems: probs}
	}
	return m.index(), nil
}

// index builds the catalog's look-up tables from a merged catalog that
// check found no problem in: every reference resolves.
func (m *merged) index() *Catalog {
	c := &Catalog{
		sources:   m.sources,
		companies: m.companies,
		providers: m.providers,
		groups:    m.groups,
		traps:     m.traps,
		byASN:     map[uint32][]ProviderASN{},
		suffixes:  map[string][]suffixRule{},
	}
	for _, p := range m.providers {
		c.indexASNs(p)
		c.indexSuffixes(p)
		c.indexNames(p)
	}
	c.indexRanges(m.ranges)
	// Deterministic order for every index.
	for asn := range c.byASN {
		sort.Slice(c.byASN[asn], func(i, j int) bool { return c.byASN[asn][i].Provider.ID < c.byASN[asn][j].Provider.ID })
	}
	c.sortNames()
	for _, rs := range c.suffixes {
		// Stable: one provider's rules for two layers keep their order.
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].provider.ID < rs[j].provider.ID })
	}
	c.companyIDs = sortedKeys(c.companies)
	c.providerIDs = sortedKeys(c.providers)
	c.groupIDs = sortedKeys(c.groups)
	return c
}

// operator returns the company that operates a provider's claim.
func (c *Catalog) operator(p *Provider, claimed string) *Company {
	return c.companies[operatorID(p, claimed)]
}

// indexASNs adds a provider's ASN claims to byASN. The first claim of an
// ASN speaks for the provider.
func (c *Catalog) indexASNs(p *Provider) {
	claimed := map[uint32]bool{}
	for _, a := range p.ASNs {
		if claimed[a.ASN] {
			continue
		}
		claimed[a.ASN] = true
		c.byASN[a.ASN] = append(c.byASN[a.ASN], ProviderASN{Provider: p, Operator: c.operator(p, a.Operator), Claim: a})
	}
}

// indexSuffixes adds a provider's hostname suffixes, each suffix of a layer
// once.
func (c *Catalog) indexSuffixes(p *Provider) {
	type key struct {
		suffix string
		layer  Layer
	}
	seen := map[key]bool{}
	for _, s := range p.Suffixes {
		o := c.operator(p, s.Operator)
		for _, suf := range s.Suffixes {
			n, ok := suffixName(suf)
			if k := (key{n, s.Layer}); ok && !seen[k] {
				seen[k] = true
				c.suffixes[n] = append(c.suffixes[n], suffixRule{suffix: n, layer: s.Layer, provider: p, operator: o, source: s.Source})
			}
		}
	}
}

// indexNames adds a provider's AS name patterns, each pattern once, to
// names; sortNames then orders them and builds nameKeys.
func (c *Catalog) indexNames(p *Provider) {
	seen := map[string]bool{}
	for _, nc := range p.Names {
		o := c.operator(p, nc.Operator)
		for _, pat := range nc.Patterns {
			lp := strings.ToLower(pat)
			if len(lp) >= 4 && !seen[lp] { // four bytes make a key (key4)
				seen[lp] = true
				c.names = append(c.names, nameRule{pattern: lp, provider: p, operator: o, source: nc.Source})
			}
		}
	}
}

// sortNames sorts the name rules longest pattern first, then by pattern
// and provider, and indexes them by their first four bytes.
func (c *Catalog) sortNames() {
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
}

// indexRanges resolves the range claims and indexes them by prefix, with
// the prefix lengths present longest first.
func (c *Catalog) indexRanges(claims []placedRange) {
	if len(claims) == 0 {
		return
	}
	c.rangeIndex = map[netip.Prefix][]int{}
	seen := map[int]bool{}
	for _, r := range claims {
		p, _ := claimPrefix(r.claim.Prefix) // check parsed it
		prov := c.providers[r.claim.Provider]
		i := len(c.ranges)
		c.ranges = append(c.ranges, RangeMatch{Claim: r.claim, Prefix: p, Provider: prov, Operator: c.operator(prov, r.claim.Operator), Index: i})
		c.rangeIndex[p] = append(c.rangeIndex[p], i)
		b := p.Bits()
		if p.Addr().Is4() {
			b += 1000 // IPv4 lengths apart from IPv6 ones
		}
		if !seen[b] {
			seen[b] = true
			c.rangeBits = append(c.rangeBits, b)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(c.rangeBits)))
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
		if !containsWord(lower, r.pattern) {
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

// containsWord reports whether pattern occurs in s as a whole word: at
// each end either the end of s or a byte that is not a letter or digit
// (docs/catalog.md). "china telecom" is in "China Telecom (Group)" but not
// in "South China Telecommunications" nor in "LinkChina Telecom".
func containsWord(s, pattern string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], pattern)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(pattern)
		if (start == 0 || !isWordByte(s, start-1, pattern[0])) && (end == len(s) || !isWordByte(s, end, pattern[len(pattern)-1])) {
			return true
		}
		off = start + 1
	}
}

// isWordByte reports whether s[i] continues the word that edge, the
// pattern's byte next to it, ends: both letters or digits. A pattern that
// ends in a space or a punctuation mark needs no boundary there. Non-ASCII
// bytes count as letters, so that a pattern never ends inside a word of
// another script.
func isWordByte(s string, i int, edge byte) bool {
	return isAlnum(edge) && isAlnum(s[i])
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80
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
