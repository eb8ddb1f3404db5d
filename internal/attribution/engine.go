package attribution

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// A Route holds what routing and registry data say about an address.
type Route struct {
	Prefix       netip.Prefix // the largest CIDR block of the origin AS's range that holds the address
	ASN          uint32       // origin AS, 0 if unknown
	ASName       string       // AS organisation name
	Registration string       // RIR registration country, "" if unknown
	Location     string       // geolocation country, "" if unknown
	Feeds        []FeedHit    // provider feeds that list the address, most specific first
}

// A FeedHit is a provider feed's range that holds an address.
type FeedHit struct {
	Feed     string       // feed name, e.g. "aws"
	Label    string       // feed name and data date, for evidence
	Provider string       // catalog provider ID
	Prefix   netip.Prefix // the feed's prefix
	Region   string       // the provider's region ID
	Service  string
	Country  string // stated by the feed (geofeeds)
	Area     string
	City     string
}

// RouteTable gives the routing facts of an address.
type RouteTable interface {
	// Lookup returns the route of addr. Key identifies the route's facts
	// other than Prefix: two lookups with the same key return the same ASN,
	// AS name, countries and feed hits, so results may be cached by key.
	// Keys in [0, Keys()) are dense and cached in an array; larger keys
	// (routes with feed hits) are cached sparsely. Ok is false when the
	// table knows nothing of addr.
	Lookup(addr netip.Addr) (r Route, key int, ok bool)
	// Keys returns the size of the dense key range.
	Keys() int
}

// A KeyedRouteTable can also answer with the key and prefix alone, which is
// all the engine needs once it has seen the key: the rest of the route is
// cached with the verdict.
type KeyedRouteTable interface {
	RouteTable
	// LookupKey returns the Prefix, key and ok that Lookup returns.
	LookupKey(addr netip.Addr) (prefix netip.Prefix, key int, ok bool)
}

// A keyOnlyTable gives the key of LookupKey alone, more cheaply.
type keyOnlyTable interface {
	RouteKey(addr netip.Addr) (key int, ok bool)
}

// SourceLabels names the data behind routing evidence, for the evidence's
// source field.
type SourceLabels struct {
	ASN          string // e.g. "ip-location-db asn 2026-06-17"
	Registration string // e.g. "rir"
	Location     string // e.g. "registry-geo": the range's registry country (geofeed > WHOIS > AS country), not a measured geolocation
}

// An Engine attributes addresses with a route table and a catalog.
type Engine struct {
	routes  RouteTable
	keyed   KeyedRouteTable // routes, when it implements it
	keyOnly keyOnlyTable    // routes, when it implements it
	catalog *Catalog
	labels  SourceLabels
	cache   []atomic.Pointer[verdict]
	sparse  sync.Map // int → *verdict, for keys past len(cache)
	overrid sync.Map // [2]int{claim, key} → *verdict, for addresses under user range claims
}

// verdict is the cached, immutable part of a record that depends only on the
// route key.
type verdict struct {
	provider, operator, parent *Ref
	control                    *Control
	registration               *Registration
	location                   *Location
	evidence                   []Evidence
	confidence                 string
	tail                       atomic.Pointer[[]byte] // the record's JSON after "prefix", for AppendJSON, once asked for
	asn                        uint32
	asName                     string
}

// NewEngine returns an engine over the route table and catalog. Routes may be
// nil (hostname attribution only).
func NewEngine(routes RouteTable, catalog *Catalog, labels SourceLabels) *Engine {
	if labels.Registration == "" {
		labels.Registration = "rir"
	}
	if labels.Location == "" {
		labels.Location = "registry-geo"
	}
	e := &Engine{routes: routes, catalog: catalog, labels: labels}
	e.keyed, _ = routes.(KeyedRouteTable)
	e.keyOnly, _ = routes.(keyOnlyTable)
	if routes != nil {
		e.cache = make([]atomic.Pointer[verdict], routes.Keys())
	}
	return e
}

// Catalog returns the engine's catalog.
func (e *Engine) Catalog() *Catalog { return e.catalog }

// Routes returns the engine's route table.
func (e *Engine) Routes() RouteTable { return e.routes }

// Attribute returns the record of an address. IPv4-mapped IPv6 addresses are
// unmapped first.
func (e *Engine) Attribute(addr netip.Addr) Record {
	addr = addr.Unmap()
	rec := Record{IP: addr, Confidence: ConfidenceNone}
	if e.routes == nil {
		return rec
	}
	v, prefix, _, ok := e.find(addr)
	if !ok {
		return rec
	}
	rec.Prefix = prefix
	v.fill(&rec)
	return rec
}

// Key returns the key of an address's route, as [Engine.AppendJSONKey]
// does, without making its record: addresses with the same key (other than
// -1) have records that differ only in IP and Prefix, so work that depends
// on the other fields can be done once per key. It costs one look-up in the
// route table.
func (e *Engine) Key(addr netip.Addr) int {
	addr = addr.Unmap()
	if e.routes == nil {
		return -1
	}
	if e.catalog != nil && e.catalog.HasRanges() && len(e.catalog.MatchRanges(addr)) > 0 {
		return -1
	}
	var key int
	var ok bool
	if e.keyOnly != nil {
		key, ok = e.keyOnly.RouteKey(addr)
	} else if e.keyed != nil {
		_, key, ok = e.keyed.LookupKey(addr)
	} else {
		_, key, ok = e.routes.Lookup(addr)
	}
	if !ok {
		return -1
	}
	return key
}

// A batchTable looks many addresses up at once, as
// snapshot.Table.LookupKeys does: the key and prefix of LookupKey for
// each, key -1 when the table knows nothing of it.
type batchTable interface {
	LookupKeys(addrs []netip.Addr, prefixes []netip.Prefix, keys []int)
}

// batch is how many addresses AttributeMany looks up together.
const batch = 64

// scratch is AttributeMany's working space, pooled: the look-up goes
// through an interface, so arrays on the stack would escape anyway.
type scratch struct {
	prefixes [batch]netip.Prefix
	keys     [batch]int
	vs       [batch]*verdict
}

var manyScratch = sync.Pool{New: func() any { return new(scratch) }}

// AttributeMany stores the record of addrs[i] in out[i], as Attribute
// would. For a route table that looks addresses up in batches (the
// snapshot), the look-ups of different addresses overlap, which makes it
// several times faster per address than calling Attribute for each.
func (e *Engine) AttributeMany(addrs []netip.Addr, out []Record) {
	e.lookupMany(addrs, func(i int, a netip.Addr, prefix netip.Prefix, key int, v *verdict) {
		switch {
		case v != nil:
			r := Record{IP: a.Unmap(), Prefix: prefix}
			v.fill(&r)
			out[i] = r
		case key == -1:
			out[i] = Record{IP: a.Unmap(), Confidence: ConfidenceNone}
		default:
			out[i] = e.Attribute(a)
		}
	})
}

// lookupMany looks addrs up in batches, each stage of the look-up done for
// a whole batch before the next, and calls fn for each address in order:
// with the cached verdict, prefix and key of its route; with key -1 and no
// verdict when the table knows nothing of it; or with key -2 and no verdict
// when the batch cannot tell (a verdict not made yet, a key past the dense
// range, user range claims, a table that does not batch), for the caller
// to attribute the address alone.
func (e *Engine) lookupMany(addrs []netip.Addr, fn func(i int, a netip.Addr, prefix netip.Prefix, key int, v *verdict)) {
	bt, ok := e.routes.(batchTable)
	if !ok || e.catalog != nil && e.catalog.HasRanges() {
		for i, a := range addrs {
			fn(i, a, netip.Prefix{}, -2, nil)
		}
		return
	}
	sc := manyScratch.Get().(*scratch)
	defer manyScratch.Put(sc)
	prefixes, keys, vs := &sc.prefixes, &sc.keys, &sc.vs
	for base := 0; base < len(addrs); base += batch {
		part := addrs[base:min(base+batch, len(addrs))]
		bt.LookupKeys(part, prefixes[:len(part)], keys[:len(part)])
		for i := range part {
			if k := keys[i]; k >= 0 && k < len(e.cache) {
				vs[i] = e.cache[k].Load()
			} else {
				vs[i] = nil
			}
		}
		for i, a := range part {
			switch {
			case vs[i] != nil:
				fn(base+i, a, prefixes[i], keys[i], vs[i])
			case keys[i] < 0:
				fn(base+i, a, netip.Prefix{}, -1, nil)
			default:
				fn(base+i, a, netip.Prefix{}, -2, nil)
			}
		}
	}
}

// find returns the verdict and prefix of an address, taking the key-only
// path when the verdict of the key is already cached.
func (e *Engine) find(addr netip.Addr) (*verdict, netip.Prefix, int, bool) {
	if e.catalog != nil && e.catalog.HasRanges() {
		if ms := e.catalog.MatchRanges(addr); len(ms) > 0 {
			return e.override(addr, ms)
		}
	}
	if e.keyed != nil {
		prefix, key, ok := e.keyed.LookupKey(addr)
		if !ok {
			return nil, prefix, -1, false
		}
		if key < len(e.cache) {
			if v := e.cache[key].Load(); v != nil {
				return v, prefix, key, true
			}
		}
	}
	rt, key, ok := e.routes.Lookup(addr)
	if !ok {
		return nil, rt.Prefix, -1, false
	}
	return e.verdict(rt, key), rt.Prefix, key, true
}

// override returns the verdict of an address under user range claims. Its
// key is -1: the record depends on the claim as well as the route.
func (e *Engine) override(addr netip.Addr, ms []RangeMatch) (*verdict, netip.Prefix, int, bool) {
	var rt Route
	key := -1
	if e.routes != nil {
		var ok bool
		if rt, key, ok = e.routes.Lookup(addr); !ok {
			key = -1
		}
	}
	ck := [2]int{ms[0].Index, key}
	if v, ok := e.overrid.Load(ck); ok {
		return v.(*verdict), prefixOr(rt.Prefix, ms[0].Prefix), -1, true
	}
	v := e.decide(rt)
	m := ms[0]
	var ev []Evidence
	for _, x := range ms {
		detail := fmt.Sprintf("user catalog lists %s for %s", x.Prefix, x.Provider.ID)
		if x.Claim.Note != "" {
			detail += " (" + x.Claim.Note + ")"
		}
		ev = append(ev, Evidence{Method: MethodOverride, Detail: detail, Source: x.Claim.Source, Provider: x.Provider.ID})
	}
	v.evidence = append(ev, v.evidence...)
	v.provider, v.operator, v.parent, v.control = nil, nil, nil, nil
	e.settle(v, m.Provider, m.Operator, ConfidenceHigh)
	if m.Claim.Region != "" || m.Claim.Country != "" {
		if loc := feedLocation(m.Provider, FeedHit{Region: m.Claim.Region, Country: m.Claim.Country, City: m.Claim.City}); loc != nil {
			loc.Source = "user-catalog"
			v.location = loc
		}
	}
	v.seal(rt)
	e.overrid.Store(ck, v)
	return v, prefixOr(rt.Prefix, m.Prefix), -1, true
}

func prefixOr(p, q netip.Prefix) netip.Prefix {
	if p.IsValid() {
		return p
	}
	return q
}

// Keys returns the size of the dense range of route keys (see
// [Engine.AppendJSONKey]).
func (e *Engine) Keys() int { return len(e.cache) }

func (e *Engine) verdict(rt Route, key int) *verdict {
	if key >= len(e.cache) {
		// Keys past the dense range identify routing facts together with
		// provider feed hits; they are fewer and cached sparsely.
		if v, ok := e.sparse.Load(key); ok {
			return v.(*verdict)
		}
		v := e.newVerdict(rt)
		e.sparse.Store(key, v)
		return v
	}
	v := e.cache[key].Load()
	if v == nil {
		v = e.newVerdict(rt)
		e.cache[key].Store(v)
	}
	return v
}

func (e *Engine) newVerdict(rt Route) *verdict {
	v := e.decide(rt)
	v.seal(rt)
	return v
}

// seal records the route's AS; the verdict is immutable from then on,
// but for its JSON tail, encoded the first time it is asked for.
func (v *verdict) seal(rt Route) {
	v.asn, v.asName = rt.ASN, rt.ASName
}

// jsonTail returns the record's JSON after "prefix". Callers racing on the
// first call encode the same bytes; one copy is kept.
func (v *verdict) jsonTail() []byte {
	if t := v.tail.Load(); t != nil {
		return *t
	}
	var r Record
	v.fill(&r)
	t := r.appendTail(nil)
	if !v.tail.CompareAndSwap(nil, &t) {
		return *v.tail.Load()
	}
	return t
}

// AppendJSON appends the JSON record of an address, as [Record.AppendJSON]
// does, without building the record: the part that depends only on the
// route is encoded once per route and reused.
func (e *Engine) AppendJSON(b []byte, addr netip.Addr) []byte {
	b, _ = e.AppendJSONKey(b, addr)
	return b
}

// AppendJSONKey is AppendJSON that also returns the key of the address's
// route: records with the same key have the same fields after "prefix"
// (and a prefix or none alike), so work that depends only on those fields
// can be cached by key. Keys below [Engine.Keys] are dense; the key is -1
// when the address has no route.
func (e *Engine) AppendJSONKey(b []byte, addr netip.Addr) ([]byte, int) {
	addr = addr.Unmap()
	b = append(b, `{"ip":"`...)
	b = addr.AppendTo(b)
	b = append(b, '"')
	if e.routes == nil {
		return append(b, `,"confidence":"none"}`...), -1
	}
	v, prefix, key, ok := e.find(addr)
	if !ok {
		return append(b, `,"confidence":"none"}`...), -1
	}
	return v.appendJSON(b, prefix), key
}

// appendJSON appends the rest of a record after its "ip": the prefix, if
// valid, and the verdict's tail.
func (v *verdict) appendJSON(b []byte, prefix netip.Prefix) []byte {
	if prefix.IsValid() {
		b = append(b, `,"prefix":"`...)
		b = prefix.AppendTo(b)
		b = append(b, '"')
	}
	return append(b, v.jsonTail()...)
}

// AppendJSONMany appends to b the JSON record of each address of addrs, one
// after the other, as AppendJSONKey does for each, and stores the end of
// record i in the returned buffer in ends[i] and its key in keys[i]. The
// look-ups are batched as in AttributeMany.
func (e *Engine) AppendJSONMany(b []byte, addrs []netip.Addr, ends, keys []int) []byte {
	e.lookupMany(addrs, func(i int, a netip.Addr, prefix netip.Prefix, key int, v *verdict) {
		switch {
		case v != nil:
			b = append(b, `{"ip":"`...)
			b = a.Unmap().AppendTo(b)
			b = append(b, '"')
			b = v.appendJSON(b, prefix)
			keys[i] = key
		case key == -1:
			b = append(b, `{"ip":"`...)
			b = a.Unmap().AppendTo(b)
			b = append(b, `","confidence":"none"}`...)
			keys[i] = -1
		default:
			b, keys[i] = e.AppendJSONKey(b, a)
		}
		ends[i] = len(b)
	})
	return b
}

func (v *verdict) fill(r *Record) {
	r.ASN, r.ASName = v.asn, v.asName
	r.Provider, r.Operator, r.Parent = v.provider, v.operator, v.parent
	r.Control, r.Registration, r.Location = v.control, v.registration, v.location
	r.Evidence, r.Confidence = v.evidence, v.confidence
}

// decide computes the verdict for a route from the catalog.
func (e *Engine) decide(rt Route) *verdict {
	v := &verdict{confidence: ConfidenceNone}
	if rt.Registration != "" {
		v.registration = &Registration{Country: rt.Registration, Source: e.labels.Registration}
	}
	if rt.Location != "" {
		v.location = &Location{Country: rt.Location, Source: e.labels.Location}
	}
	c := e.catalog
	if c == nil {
		return v
	}
	// Provider-published ranges come first: they name the provider, and
	// their region gives the location.
	var feedProvider *Provider
	var feedHit FeedHit
	for _, h := range rt.Feeds {
		detail := fmt.Sprintf("listed in the %s feed as %s", h.Feed, h.Prefix)
		var extra []string
		if h.Region != "" {
			extra = append(extra, "region "+h.Region)
		}
		if h.Service != "" {
			extra = append(extra, "service "+h.Service)
		}
		if h.Country != "" {
			extra = append(extra, "country "+h.Country)
		}
		if len(extra) > 0 {
			detail += " (" + strings.Join(extra, ", ") + ")"
		}
		v.evidence = append(v.evidence, Evidence{Method: MethodFeed, Detail: detail, Source: h.Label, Provider: h.Provider})
		if p, ok := c.Provider(h.Provider); ok && feedProvider == nil {
			feedProvider, feedHit = p, h
		}
	}
	var claims []ProviderASN
	if rt.ASN != 0 {
		claims = c.ByASN(rt.ASN)
	}
	for _, pa := range claims {
		v.evidence = append(v.evidence, Evidence{
			Method:   MethodASN,
			Detail:   fmt.Sprintf("origin AS%d listed for %s", rt.ASN, pa.Provider.ID),
			Source:   e.labels.ASN,
			Provider: pa.Provider.ID,
		})
	}
	if feedProvider != nil {
		op, _ := c.Company(feedProvider.Operator)
		for _, pa := range claims {
			if pa.Provider == feedProvider {
				op = pa.Operator
				break
			}
		}
		if op != nil {
			e.settle(v, feedProvider, op, ConfidenceHigh)
		}
		if loc := feedLocation(feedProvider, feedHit); loc != nil {
			v.location = loc
			markAnycast(v, feedProvider)
		}
		return v
	}
	if len(claims) > 0 {
		first := claims[0]
		e.settle(v, first.Provider, first.Operator, ConfidenceHigh)
		if len(claims) > 1 {
			v.confidence = ConfidenceMedium
		}
		return v
	}
	if rt.ASN == 0 {
		return v
	}
	if t, trap := c.Trap(rt.ASN); trap {
		v.evidence = append(v.evidence, Evidence{
			Method: MethodASName,
			Detail: fmt.Sprintf("AS%d %q is a known name trap: %s", rt.ASN, rt.ASName, t.Note),
			Source: "catalog",
		})
	} else if ms := c.MatchName(rt.ASN, rt.ASName); len(ms) > 0 {
		for _, m := range ms {
			v.evidence = append(v.evidence, Evidence{
				Method:   MethodASName,
				Detail:   fmt.Sprintf("AS name %q contains %q", rt.ASName, m.Pattern),
				Source:   e.labels.ASN,
				Provider: m.Provider.ID,
			})
		}
		e.settle(v, ms[0].Provider, ms[0].Operator, ConfidenceLow)
	}
	if v.control == nil {
		e.registryTier(v, rt)
	}
	return v
}

// registryTier answers control for a network the catalog does not know:
// the operator is the holder of the origin AS, and control is the
// country the RIRs register that AS in, at low confidence and marked as
// coming from the registry (DESIGN §3, step 6). Without a registration
// country, control stays unknown.
func (e *Engine) registryTier(v *verdict, rt Route) {
	if rt.Registration == "" {
		return
	}
	asn := "AS" + strconv.FormatUint(uint64(rt.ASN), 10)
	name := rt.ASName
	if name == "" {
		name = asn
	}
	v.operator = &Ref{ID: asn, Name: name, Country: rt.Registration}
	v.control = &Control{
		Country: rt.Registration,
		Basis:   fmt.Sprintf("holder of %s registered in %s; no parent known", asn, rt.Registration),
		Source:  ControlRegistry,
	}
	v.confidence = ConfidenceLow
	v.evidence = append(v.evidence, Evidence{
		Method: MethodRegistry,
		Detail: fmt.Sprintf("%s %q is not in the catalog; the RIRs register it in %s", asn, rt.ASName, rt.Registration),
		Source: e.labels.Registration,
	})
}

// feedLocation is the location a feed gives: the provider's region from the
// catalog, or the country and city a geofeed states.
func feedLocation(p *Provider, h FeedHit) *Location {
	if h.Region != "" {
		if r, ok := p.Region(h.Region); ok {
			return &Location{Country: r.Country, Region: r.ID, City: r.City, Area: r.Area, Source: "provider-feed"}
		}
	}
	if h.Country != "" {
		return &Location{Country: h.Country, Region: h.Region, City: h.City, Area: h.Area, Source: "provider-feed"}
	}
	return nil
}

// settle fills provider, operator, parent and control, and marks the
// location of an anycast provider's address as anycast.
func (e *Engine) settle(v *verdict, p *Provider, op *Company, conf string) {
	v.provider = &Ref{ID: p.ID, Name: p.Name, Kind: p.Kind()}
	v.confidence = conf
	markAnycast(v, p)
	chain := e.catalog.Chain(op.ID)
	if len(chain) == 0 {
		return
	}
	v.operator = &Ref{ID: op.ID, Name: op.Name, Country: op.Headquarters}
	root := chain[len(chain)-1]
	v.parent = &Ref{ID: root.ID, Name: root.Name, Country: root.Headquarters}
	v.control = &Control{Country: root.Headquarters, Basis: ControlBasis(chain), Source: ControlCatalog}
}

// markAnycast marks the location of an anycast provider's address.
func markAnycast(v *verdict, p *Provider) {
	if p.Anycast != nil && v.location != nil && !v.location.Anycast {
		l := *v.location
		l.Anycast = true
		v.location = &l
	}
}

// ControlBasis explains a control country from a parent chain (operator
// first, ultimate parent last).
func ControlBasis(chain []*Company) string {
	if len(chain) == 0 {
		return ""
	}
	root := chain[len(chain)-1]
	var b strings.Builder
	if len(chain) == 1 {
		b.WriteString("operator ")
	} else {
		b.WriteString("ultimate parent ")
	}
	b.WriteString(root.Name)
	b.WriteString(", headquartered in ")
	if root.City != "" {
		b.WriteString(root.City)
	} else {
		b.WriteString(root.Headquarters)
	}
	if root.StateOwned {
		b.WriteString(" (state-owned)")
	}
	return b.String()
}

// HostMatch is the attribution of a hostname by its suffix.
type HostMatch struct {
	Provider   *Ref
	Operator   *Ref
	Parent     *Ref
	Control    *Control
	Evidence   []Evidence
	Confidence string
}

// AttributeHost attributes a hostname by the catalog's suffixes. The layer,
// if not empty, is preferred: a suffix recorded for that layer wins over one
// recorded for another layer.
func (e *Engine) AttributeHost(host string, layer Layer) (HostMatch, bool) {
	if e.catalog == nil {
		return HostMatch{}, false
	}
	ms := e.catalog.MatchHost(host)
	if len(ms) == 0 {
		return HostMatch{}, false
	}
	best := ms[0]
	if layer != "" {
		for _, m := range ms {
			if m.Layer == layer {
				best = m
				break
			}
		}
	}
	var v verdict
	for _, m := range ms {
		v.evidence = append(v.evidence, Evidence{
			Method:   MethodHostname,
			Detail:   fmt.Sprintf("%s matches %s suffix %s of %s", strings.TrimSuffix(strings.ToLower(host), "."), m.Layer, m.Suffix, m.Provider.ID),
			Source:   "catalog",
			Provider: m.Provider.ID,
		})
	}
	e.settle(&v, best.Provider, best.Operator, ConfidenceMedium)
	return HostMatch{Provider: v.provider, Operator: v.operator, Parent: v.parent, Control: v.control, Evidence: v.evidence, Confidence: v.confidence}, true
}
