package attribution

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sovmap/sovmap/internal/iso"
)

// This file holds the first two steps of [NewCatalog]: merging catalog data
// (mergeCatalog) and checking the merged catalog (merged.check). The third,
// indexing, is in catalog.go beside the look-ups it serves.

// MaxParentDepth is the longest parent chain a catalog may hold, counting
// the company itself. Real chains are a few companies long; the bound keeps
// [Catalog.Chain], which every verdict calls, short whatever a user's file
// says.
const MaxParentDepth = 32

// ProviderKinds are the kinds a provider may have.
var ProviderKinds = []string{"cloud", "cdn", "dns", "mail", "hosting", "network", "security", "saas"}

// sourceKindList is [SourceKinds] for messages: "filing, official, ...".
var sourceKindList = func() string {
	ks := make([]string, len(SourceKinds))
	for i, k := range SourceKinds {
		ks[i] = string(k)
	}
	return strings.Join(ks, ", ")
}()

// A merged catalog is the union of catalog data, a later entry replacing an
// earlier one with its ID, before it is checked and indexed.
type merged struct {
	sources   map[string]*Source
	companies map[string]*Company
	providers map[string]*Provider
	traps     map[uint32]*Trap
	groups    map[string]*Group
	ranges    []placedRange       // range claims, each once, in the order given
	orphans   []placedRegion      // region-table rows whose provider is unknown
	origin    map[string]position // "kind id" → where the entry that won was given
	fileOrder map[string]int      // file → its first index among the data
}

// A placedRange is a range claim and where it was given.
type placedRange struct {
	claim RangeClaim
	at    position
}

// A placedRegion is a row of a region table and where it was given.
type placedRegion struct {
	row ProviderRegion
	at  position
}

// mergeCatalog merges the data in order: entries replace earlier ones with
// their ID, region tables extend or replace the regions of the providers
// they name, and repeated range claims are kept once.
func mergeCatalog(data []CatalogData) *merged {
	m := &merged{
		sources:   map[string]*Source{},
		companies: map[string]*Company{},
		providers: map[string]*Provider{},
		traps:     map[uint32]*Trap{},
		groups:    map[string]*Group{},
		origin:    map[string]position{},
		fileOrder: map[string]int{},
	}
	for i := len(data) - 1; i >= 0; i-- {
		m.fileOrder[data[i].File] = i
	}
	for k := range data {
		m.addEntries(&data[k])
	}
	m.addRegionTables(data)
	m.addRanges(data)
	return m
}

// addEntries merges the entries of one file: sources, companies, providers,
// traps and groups.
func (m *merged) addEntries(d *CatalogData) {
	for i := range d.Sources {
		s := d.Sources[i]
		m.from(d, "sources", i, "source", s.ID)
		m.sources[s.ID] = &s
	}
	for i := range d.Companies {
		co := d.Companies[i]
		m.from(d, "companies", i, "company", co.ID)
		co.Headquarters = strings.ToUpper(co.Headquarters)
		co.Incorporated = strings.ToUpper(co.Incorporated)
		m.companies[co.ID] = &co
	}
	for i := range d.Providers {
		p := d.Providers[i]
		m.from(d, "providers", i, "provider", p.ID)
		p.Regions = uniqueRegions(p.Regions)
		m.providers[p.ID] = &p
	}
	for i := range d.Traps {
		t := d.Traps[i]
		m.from(d, "traps", i, "trap", fmt.Sprintf("AS%d", t.ASN))
		m.traps[t.ASN] = &t
	}
	for i := range d.Groups {
		g := d.Groups[i]
		m.from(d, "groups", i, "group", g.ID)
		g.Countries = uniqueStrings(g.Countries)
		m.groups[g.ID] = &g
	}
}

// from records that the entry kind id was given as the i-th of a list of d.
func (m *merged) from(d *CatalogData, list string, i int, kind, id string) {
	if d.File != "" {
		m.origin[kind+" "+id] = d.pos(list, i)
	}
}

// where returns where the entry kind id was given and how messages name it.
func (m *merged) where(kind, id string) (position, string) {
	return m.origin[kind+" "+id], kind + " " + id
}

// addRegionTables adds the rows of the region tables to the providers they
// name, a row replacing the provider's region with its ID. Rows of unknown
// providers are kept as orphans, for check to report.
func (m *merged) addRegionTables(data []CatalogData) {
	// regionAt indexes the regions of the providers that region tables
	// extend, so that a long table costs one map look-up a row.
	regionAt := map[*Provider]map[string]int{}
	for k := range data {
		d := &data[k]
		for i, r := range d.Regions {
			p, ok := m.providers[r.Provider]
			if !ok {
				m.orphans = append(m.orphans, placedRegion{row: r, at: d.pos("regions", i)})
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
}

// addRanges gathers the range claims of every file, the first of equal
// claims only: a repeated claim would only repeat its matches.
func (m *merged) addRanges(data []CatalogData) {
	seen := map[RangeClaim]bool{}
	for k := range data {
		d := &data[k]
		for i, rc := range d.Ranges {
			if seen[rc] {
				continue
			}
			seen[rc] = true
			m.ranges = append(m.ranges, placedRange{claim: rc, at: d.pos("ranges", i)})
		}
	}
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

// check returns every problem of the merged catalog, unsorted: claims
// without a known source, references that do not resolve, malformed
// values, and parent chains that loop or run deeper than [MaxParentDepth].
func (m *merged) check() []Problem {
	ck := &checker{m: m}
	for _, o := range m.orphans {
		ck.bad(o.at, "region %s: unknown provider %q", o.row.ID, o.row.Provider)
	}
	ck.sources()
	ck.companies()
	ck.parentChains()
	for id, p := range m.providers {
		ck.provider(id, p)
	}
	ck.traps()
	ck.groups()
	for _, r := range m.ranges {
		ck.rangeClaim(r)
	}
	return ck.probs
}

// A checker gathers the problems of a merged catalog.
type checker struct {
	m     *merged
	probs []Problem
}

func (ck *checker) bad(at position, format string, args ...any) {
	ck.probs = append(ck.probs, Problem{File: at.file, Line: at.line, Msg: fmt.Sprintf(format, args...)})
}

// source checks that a claim cites a known source.
func (ck *checker) source(at position, what, id string) {
	if id == "" {
		ck.bad(at, "%s: no source", what)
	} else if _, ok := ck.m.sources[id]; !ok {
		ck.bad(at, "%s: unknown source %q", what, id)
	}
}

// citations checks the sources of an entry that needs at least one.
func (ck *checker) citations(at position, what string, ids []string) {
	if len(ids) == 0 {
		ck.bad(at, "%s: no source", what)
	}
	for _, s := range ids {
		ck.source(at, what, s)
	}
}

// company checks that a company ID resolves.
func (ck *checker) company(at position, what, id string) {
	if _, ok := ck.m.companies[id]; !ok {
		ck.bad(at, "%s: unknown company %q", what, id)
	}
}

// country checks a country code of a region, group or range claim.
func (ck *checker) country(at position, what, cc string) {
	if !iso.IsCountry(cc) {
		ck.bad(at, "%s: country %q is not a two-letter code", what, cc)
	}
}

func (ck *checker) sources() {
	for id, s := range ck.m.sources {
		at, what := ck.m.where("source", id)
		if id == "" {
			ck.bad(at, "source with empty id")
		}
		if !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
			ck.bad(at, "%s: url %q is not an http(s) URL", what, s.URL)
		}
		if !iso.IsDate(s.Date) {
			ck.bad(at, "%s: date %q is not YYYY-MM-DD", what, s.Date)
		}
		// A kind is optional, so that a user's catalog need not classify
		// its sources; the embedded catalog gives every source one
		// (catalog.TestSourceKinds).
		switch {
		case s.Kind == "":
		case !slices.Contains(SourceKinds, s.Kind):
			ck.bad(at, "%s: unknown kind %q (want one of %s)", what, s.Kind, sourceKindList)
		}
	}
}

func (ck *checker) companies() {
	for id, co := range ck.m.companies {
		at, what := ck.m.where("company", id)
		if id == "" || co.Name == "" {
			ck.bad(at, "%s: id and name are required", what)
		}
		if !iso.IsCountry(co.Headquarters) {
			ck.bad(at, "%s: headquarters %q is not a two-letter country code", what, co.Headquarters)
		}
		if co.Incorporated != "" && !iso.IsCountry(co.Incorporated) {
			ck.bad(at, "%s: incorporated %q is not a two-letter country code", what, co.Incorporated)
		}
		ck.citations(at, what, co.Sources)
		if co.Parent != "" {
			if _, ok := ck.m.companies[co.Parent]; !ok {
				ck.bad(at, "%s: unknown parent %q", what, co.Parent)
			}
		}
	}
}

// parentChains checks that no parent chain loops or runs deeper than
// [MaxParentDepth].
func (ck *checker) parentChains() {
	for id, ch := range ck.m.parentChains() {
		at, what := ck.m.where("company", id)
		switch {
		case ch.loop != "":
			ck.bad(at, "%s: parent chain loops at %s", what, ch.loop)
		case ch.depth > MaxParentDepth:
			ck.bad(at, "%s: parent chain of %d companies is longer than %d", what, ch.depth, MaxParentDepth)
		}
	}
}

// provider checks a provider and its claims.
func (ck *checker) provider(id string, p *Provider) {
	at, what := ck.m.where("provider", id)
	if p.Name == "" || len(p.Kinds) == 0 {
		ck.bad(at, "%s: name and kinds are required", what)
	}
	for _, k := range p.Kinds {
		if !slices.Contains(ProviderKinds, k) {
			ck.bad(at, "%s: unknown kind %q (want one of %s)", what, k, strings.Join(ProviderKinds, ", "))
		}
	}
	ck.company(at, what+" operator", p.Operator)
	ck.citations(at, what, p.Sources)
	if p.Anycast != nil {
		ck.source(at, what+" anycast", p.Anycast.Source)
	}
	for _, a := range p.ASNs {
		w := fmt.Sprintf("%s AS%d", what, a.ASN)
		ck.claim(at, w, a.Source, a.Operator)
		if a.ASN == 0 {
			ck.bad(at, "%s: ASN 0", w)
		}
	}
	for _, s := range p.Suffixes {
		ck.suffixClaim(at, what, s)
	}
	for _, nc := range p.Names {
		ck.nameClaim(at, what, nc)
	}
	for _, r := range p.Regions {
		w := fmt.Sprintf("%s region %s", what, r.ID)
		ck.source(at, w, r.Source)
		ck.country(at, w, r.Country)
	}
}

// claim checks the source of a provider's claim and its operator, when the
// claim names one.
func (ck *checker) claim(at position, what, source, operator string) {
	ck.source(at, what, source)
	if operator != "" {
		ck.company(at, what+" operator", operator)
	}
}

func (ck *checker) suffixClaim(at position, what string, s SuffixClaim) {
	w := fmt.Sprintf("%s suffixes %s", what, s.Layer)
	ck.source(at, w, s.Source)
	if s.Layer != LayerWeb && s.Layer != LayerDNS && s.Layer != LayerMail {
		ck.bad(at, "%s: unknown layer %q", w, s.Layer)
	}
	if s.Operator != "" {
		ck.company(at, w+" operator", s.Operator)
	}
	for _, suf := range s.Suffixes {
		if _, ok := suffixName(suf); !ok {
			ck.bad(at, "%s: suffix %q needs at least two labels", w, suf)
		}
	}
}

func (ck *checker) nameClaim(at position, what string, nc NameClaim) {
	w := what + " names"
	ck.claim(at, w, nc.Source, nc.Operator)
	for _, pat := range nc.Patterns {
		if len(strings.TrimSpace(strings.ToLower(pat))) < 5 {
			ck.bad(at, "%s: pattern %q is too short to be safe", w, pat)
		}
	}
}

func (ck *checker) traps() {
	for asn, t := range ck.m.traps {
		at, what := ck.m.where("trap", fmt.Sprintf("AS%d", asn))
		ck.source(at, what, t.Source)
	}
}

func (ck *checker) groups() {
	for id, g := range ck.m.groups {
		at, what := ck.m.where("group", id)
		ck.source(at, what, g.Source)
		for _, cc := range g.Countries {
			ck.country(at, what, cc)
		}
	}
}

// rangeClaim checks a range claim. A claim whose prefix, provider or
// operator is wrong gets no further checks.
func (ck *checker) rangeClaim(r placedRange) {
	rc, at, what := r.claim, r.at, "range "+r.claim.Prefix
	if _, err := claimPrefix(rc.Prefix); err != nil {
		ck.bad(at, "%s: %v", what, err)
		return
	}
	ck.source(at, what, rc.Source)
	prov, ok := ck.m.providers[rc.Provider]
	if !ok {
		ck.bad(at, "%s: unknown provider %q", what, rc.Provider)
		return
	}
	opID := operatorID(prov, rc.Operator)
	if _, ok := ck.m.companies[opID]; !ok {
		ck.bad(at, "%s: unknown company %q", what, opID)
		return
	}
	if rc.Country != "" {
		ck.country(at, what, rc.Country)
	}
}

// claimPrefix returns the prefix of a range claim, masked, with an
// IPv4-mapped prefix turned into its IPv4 prefix.
func claimPrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("an IPv4-mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// suffixName returns a hostname suffix as the index holds it, lower case
// without leading or trailing dots, and whether it has the two labels a
// suffix needs.
func suffixName(suf string) (string, bool) {
	n := strings.Trim(strings.ToLower(suf), ".")
	return n, n != "" && strings.Contains(n, ".")
}

// operatorID returns the operator of a provider's claim: the claim's own,
// else the provider's.
func operatorID(p *Provider, claimed string) string {
	if claimed != "" {
		return claimed
	}
	return p.Operator
}

// A parentChain describes the chain of a company: its depth, counting the
// company, or where it loops.
type parentChain struct {
	depth int
	loop  string // the first company met twice, when the chain loops
}

// parentChains returns the chain of every company, walking each link once,
// so that a long chain costs linear time rather than quadratic.
func (m *merged) parentChains() map[string]parentChain {
	chains := make(map[string]parentChain, len(m.companies))
	onPath := map[string]int{}
	var path []string
	for id := range m.companies {
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
			co, ok := m.companies[cur]
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
