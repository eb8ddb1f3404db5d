package flowagg

import (
	"cmp"
	"container/heap"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/flowlog"
)

// An Attributor attributes an address; *attribution.Engine is one.
type Attributor interface {
	Attribute(addr netip.Addr) attribution.Record
}

// A KeyedAttributor also gives the key of an address's record, as
// [attribution.Engine.Key] does: records with the same key, other than -1,
// differ only in IP and Prefix. Summarize then makes one record per key,
// not one per remote.
type KeyedAttributor interface {
	Attributor
	Key(addr netip.Addr) int
}

// Grouping dimensions.
const (
	ByControl  = "control"   // country of the company that ultimately controls the remote's operator
	ByProvider = "provider"  // the catalog provider serving the remote address
	ByOperator = "operator"  // the company operating the provider's service there
	ByParent   = "parent"    // the ultimate parent company
	ByLocation = "location"  // the country where the remote address is
	ByASN      = "asn"       // the origin AS of the remote address
	ByRemoteIP = "remote-ip" // the remote address itself
	ByService  = "service"   // protocol and service port
)

// Dimensions lists the grouping dimensions.
var Dimensions = []string{ByControl, ByProvider, ByOperator, ByParent, ByLocation, ByASN, ByRemoteIP, ByService}

// DefaultBy is the grouping when none is asked for.
var DefaultBy = []string{ByControl, ByProvider, ByLocation, ByRemoteIP, ByService}

// ParseBy parses a comma-separated list of dimensions.
func ParseBy(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "ip" || f == "remote" {
			f = ByRemoteIP
		}
		if !slices.Contains(Dimensions, f) {
			return nil, fmt.Errorf("unknown grouping %q (known: %s)", f, strings.Join(Dimensions, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no grouping in %q", s)
	}
	return out, nil
}

// Options shape a summary.
type Options struct {
	By  []string // dimensions to group by; nil means DefaultBy
	Top int      // rows kept per group, the rest summed as "other"; 0 keeps all
}

// A Summary is the exposure of some traffic: its totals, the part that
// could not be attributed, and its groups. Fields are only ever added.
type Summary struct {
	Start time.Time      `json:"start,omitzero"` // earliest flow start seen
	End   time.Time      `json:"end,omitzero"`   // latest flow end seen
	Local []netip.Prefix `json:"local"`          // the networks taken as local
	// ShareOf says what shares are of: "bytes", or "flows" when the
	// input carries no byte counts.
	ShareOf string `json:"share_of"`
	// Remote is the traffic between a local and a remote end.
	Remote Counters `json:"remote"`
	// Unattributed is the part of Remote to addresses whose controlling
	// jurisdiction is unknown.
	Unattributed      Counters `json:"unattributed"`
	UnattributedShare float64  `json:"unattributed_share"`
	// RegistryOnly is the part of Remote to addresses whose control comes
	// from the AS holder's registration alone (control.source "registry"):
	// networks the catalog does not know. The rest of the attributed
	// traffic is catalog-backed.
	RegistryOnly      Counters `json:"registry_only"`
	RegistryOnlyShare float64  `json:"registry_only_share"`
	Remotes           int      `json:"remotes"` // distinct remote addresses
	// Folded says how many remote addresses were folded into their
	// groups past the bound on remotes tracked one by one, if any were.
	Folded   *Folded  `json:"folded,omitempty"`
	Internal Counters `json:"internal"` // both ends local (totals only)
	Transit  Counters `json:"transit"`  // neither end local (totals only)
	Groups   []Group  `json:"groups"`
	// Input accounts for the lines read, when the summary is of logs.
	Input *flowlog.Accounting `json:"input,omitempty"`
}

// Folded tells of the remote addresses folded into their groups (see
// [Aggregator.Bound]): every total and group is exact, but the folded
// addresses are not in the remote-ip rows (they are in its "other" row),
// and an address seen again after its fold counts twice in Remotes.
type Folded struct {
	Remotes    int `json:"remotes"`     // addresses folded
	MaxRemotes int `json:"max_remotes"` // the bound
}

// A Group is the remote traffic grouped by one dimension, largest first.
type Group struct {
	By    string `json:"by"`
	Count int    `json:"count"` // distinct values, including those past the top rows
	Rows  []Row  `json:"rows"`
	Other *Row   `json:"other,omitempty"` // the rows past the top ones, summed
}

// A Row is the traffic of one value of a dimension. Key is the value:
// a country code, a provider or company ID, "AS" and a number, an address,
// or a protocol and port ("tcp/443"); "" means unknown. The attribute
// fields repeat what all the row's remote addresses share (a provider row
// gives the provider's control country, a remote-ip row everything known
// of the address) and are empty where they differ or are unknown.
type Row struct {
	Key     string `json:"key"`
	Name    string `json:"name,omitempty"` // provider, company or AS name
	Control string `json:"control,omitempty"`
	// RegistryControl is the control country of rows whose remotes the
	// catalog does not know: their AS holders' registration country. A
	// control row has one of Control and RegistryControl.
	RegistryControl string `json:"registry_control,omitempty"`
	Provider        string `json:"provider,omitempty"`
	Operator        string `json:"operator,omitempty"` // company ID
	Parent          string `json:"parent,omitempty"`
	Location        string `json:"location,omitempty"`
	ASN             uint32 `json:"asn,omitempty"`
	Counters
	Remotes int     `json:"remotes,omitempty"` // distinct remote addresses
	Share   float64 `json:"share"`             // of the remote traffic, see Summary.ShareOf
}

// attrs are a row's attribute fields and whether each is still shared.
type attrs struct {
	row                                                                 Row
	control, registryControl, provider, operator, parent, location, asn bool // mixed
}

// fromRegistry reports whether the record's control comes from the AS
// holder's registration alone, not from the catalog.
func fromRegistry(rec *attribution.Record) bool {
	return rec.Control != nil && rec.Control.Source == attribution.ControlRegistry
}

func (g *attrs) note(rec *attribution.Record) {
	var control, registryControl, provider, operator, parent, location string
	if rec.Control != nil {
		if fromRegistry(rec) {
			registryControl = rec.Control.Country
		} else {
			control = rec.Control.Country
		}
	}
	if rec.Provider != nil {
		provider = rec.Provider.ID
	}
	if rec.Operator != nil {
		operator = rec.Operator.ID
	}
	if rec.Parent != nil {
		parent = rec.Parent.ID
	}
	if rec.Location != nil {
		location = rec.Location.Country
	}
	r := &g.row
	if r.Remotes == 0 {
		r.Control, r.Provider, r.Operator, r.Parent, r.Location, r.ASN = control, provider, operator, parent, location, rec.ASN
		r.RegistryControl = registryControl
		return
	}
	mix := func(field *string, v string, mixed *bool) {
		if !*mixed && *field != v {
			*field, *mixed = "", true
		}
	}
	mix(&r.Control, control, &g.control)
	mix(&r.RegistryControl, registryControl, &g.registryControl)
	mix(&r.Provider, provider, &g.provider)
	mix(&r.Operator, operator, &g.operator)
	mix(&r.Parent, parent, &g.parent)
	mix(&r.Location, location, &g.location)
	if !g.asn && r.ASN != rec.ASN {
		r.ASN, g.asn = 0, true
	}
}

// keyOf returns the group key and name of a record in a dimension.
func keyOf(dim string, rec *attribution.Record) (key, name string) {
	switch dim {
	case ByControl:
		if rec.Control != nil {
			return rec.Control.Country, ""
		}
	case ByProvider:
		if rec.Provider != nil {
			return rec.Provider.ID, rec.Provider.Name
		}
	case ByOperator:
		if rec.Operator != nil {
			return rec.Operator.ID, rec.Operator.Name
		}
	case ByParent:
		if rec.Parent != nil {
			return rec.Parent.ID, rec.Parent.Name
		}
	case ByLocation:
		if rec.Location != nil {
			return rec.Location.Country, ""
		}
	case ByASN:
		if rec.ASN != 0 {
			return "AS" + strconv.FormatUint(uint64(rec.ASN), 10), rec.ASName
		}
	}
	return "", ""
}

// Summarize attributes each remote address once with att and returns the
// summary. The aggregator is not changed.
//
// It puts each remote in its class (the remotes whose records differ only
// in IP and prefix), adds up the classes' traffic, then groups the classes
// by each dimension.
func (a *Aggregator) Summarize(att Attributor, opt Options) *Summary {
	a.flush()
	by := opt.By
	if by == nil {
		by = DefaultBy
	}
	s := a.summaryHead()
	classes, classOf := a.classify(att)
	var top *ipHeap // the remotes with the most traffic, when grouping by remote-ip
	if slices.Contains(by, ByRemoteIP) {
		top = &ipHeap{limit: opt.Top}
	}
	ipOther := a.addTallies(s, classes, classOf, top)
	classes, folded := a.addFolds(s, classes)
	if top != nil && folded.Remotes > 0 {
		ipOther.Counters.Add(&folded.Counters)
		ipOther.Remotes += folded.Remotes
	}
	dims := attributeDims(by)
	groups := groupClasses(s, classes, dims)
	s.ShareOf = "bytes"
	if s.Remote.Bytes == 0 {
		s.ShareOf = "flows"
	}
	s.UnattributedShare = s.share(&s.Unattributed)
	s.RegistryOnlyShare = s.share(&s.RegistryOnly)
	for _, dim := range by {
		var g Group
		switch dim {
		case ByRemoteIP:
			g = Group{By: dim, Count: s.Remotes, Rows: top.sorted(func(i int32) (Counters, *attribution.Record) {
				return a.tallies[i].counters(), &classes[classOf[i]].rec
			})}
			if ipOther.Remotes > 0 {
				o := ipOther
				g.Other = &o
			}
		case ByService:
			g = a.serviceGroup(opt.Top)
		default:
			g = attributeGroup(dim, groups[slices.Index(dims, dim)], opt.Top)
		}
		for i := range g.Rows {
			g.Rows[i].Share = s.share(&g.Rows[i].Counters)
		}
		if g.Other != nil {
			g.Other.Share = s.share(&g.Other.Counters)
		}
		s.Groups = append(s.Groups, g)
	}
	return s
}

// summaryHead returns a summary with the aggregator's totals, times and
// counts of remotes, and no groups yet.
func (a *Aggregator) summaryHead() *Summary {
	s := &Summary{
		Local:    a.local.Prefixes(),
		Internal: a.internal.totals(),
		Transit:  a.transit.totals(),
		Remotes:  len(a.tallies) + a.nfolded,
	}
	if a.nfolded > 0 {
		s.Folded = &Folded{Remotes: a.nfolded, MaxRemotes: a.max}
	}
	if a.first != 0 {
		s.Start = time.Unix(0, a.first).UTC()
	}
	if a.last != 0 {
		s.End = time.Unix(0, a.last).UTC()
	}
	return s
}

// classify puts each remote in its class and returns the classes and the
// class of each tally. Look-ups go in address order, which keeps the route
// table's lines in cache from one to the next; with a KeyedAttributor a
// record is made once per class, not per remote.
func (a *Aggregator) classify(att Attributor) ([]class, []int32) {
	keyed, _ := att.(KeyedAttributor)
	var classes []class
	byKey := make(map[int]int32)
	classOf := make([]int32, len(a.tallies))
	lastKey, lastClass := -1, int32(-1)
	a.inOrder(func(i int32, addr netip.Addr) {
		key := -1
		if keyed != nil {
			key = keyed.Key(addr)
		}
		ci := int32(-1)
		switch {
		case key < 0:
		case key == lastKey:
			ci = lastClass
		default:
			if k, ok := byKey[key]; ok {
				ci = k
			}
		}
		if ci < 0 {
			ci = int32(len(classes))
			classes = append(classes, class{rec: att.Attribute(addr)})
			if key >= 0 {
				byKey[key] = ci
			}
		}
		lastKey, lastClass = key, ci
		classOf[i] = ci
	})
	return classes, classOf
}

// addTallies adds up the remotes' traffic, in the tallies' order, to the
// summary and their classes, and offers each remote to top when it is not
// nil. It returns the traffic of the remotes that top left out.
func (a *Aggregator) addTallies(s *Summary, classes []class, classOf []int32, top *ipHeap) (ipOther Row) {
	for i := range a.tallies {
		c := a.tallies[i].counters()
		s.Remote.Add(&c)
		cl := &classes[classOf[i]]
		cl.c.Add(&c)
		cl.remotes++
		if top == nil {
			continue
		}
		if dropped, ok := top.offer(ipItem{bytes: c.Bytes, flows: c.Flows, addr: a.addrs[i].Addr(), idx: int32(i)}); ok {
			dc := a.tallies[dropped.idx].counters()
			ipOther.Counters.Add(&dc)
			ipOther.Remotes++
		}
	}
	return ipOther
}

// addFolds adds the folded remotes: a class per fold, in the order of their
// keys. It returns the classes and the folds' traffic.
func (a *Aggregator) addFolds(s *Summary, classes []class) ([]class, Row) {
	var folded Row
	for _, k := range slices.SortedFunc(maps.Keys(a.folds), compareFoldKeys) {
		f := a.folds[k]
		c := f.t.counters()
		s.Remote.Add(&c)
		classes = append(classes, class{rec: f.rec, c: c, remotes: f.remotes})
		folded.Counters.Add(&c)
		folded.Remotes += f.remotes
	}
	return classes, folded
}

// attributeDims returns the dimensions of by that group records by their
// attribution: all but remote-ip and service.
func attributeDims(by []string) []string {
	var dims []string
	for _, d := range by {
		if d != ByRemoteIP && d != ByService {
			dims = append(dims, d)
		}
	}
	return dims
}

// groupClasses adds up the classes' traffic by each dimension of dims, and
// the unattributed traffic into s.
func groupClasses(s *Summary, classes []class, dims []string) []map[string]*attrs {
	groups := make([]map[string]*attrs, len(dims))
	for i := range groups {
		groups[i] = make(map[string]*attrs)
	}
	for ci := range classes {
		cl := &classes[ci]
		registry := fromRegistry(&cl.rec)
		switch {
		case cl.rec.Control == nil:
			s.Unattributed.Add(&cl.c)
		case registry:
			s.RegistryOnly.Add(&cl.c)
		}
		for d, dim := range dims {
			key, name := keyOf(dim, &cl.rec)
			// A country's catalog-backed control and its registry-only
			// control are two rows, never one.
			mk := key
			if dim == ByControl && registry {
				mk = key + " (registry)"
			}
			g := groups[d][mk]
			if g == nil {
				g = &attrs{row: Row{Key: key, Name: name}}
				groups[d][mk] = g
			}
			g.note(&cl.rec)
			g.row.Counters.Add(&cl.c)
			g.row.Remotes += cl.remotes
		}
	}
	return groups
}

// share returns the share of c in the remote traffic, in bytes or flows as
// ShareOf says.
func (s *Summary) share(c *Counters) float64 {
	v, total := c.Bytes, s.Remote.Bytes
	if s.ShareOf == "flows" {
		v, total = c.Flows, s.Remote.Flows
	}
	if total == 0 {
		return 0
	}
	return float64(v) / float64(total)
}

// serviceGroup returns the group by service.
func (a *Aggregator) serviceGroup(top int) Group {
	rows := make([]Row, len(a.svc))
	for i, k := range a.svcKeys {
		rows[i] = Row{Key: serviceName(k), Counters: a.svc[i].counters()}
	}
	return topRows(ByService, rows, top)
}

// attributeGroup returns the group by an attribute dimension.
func attributeGroup(dim string, m map[string]*attrs, top int) Group {
	rows := make([]Row, 0, len(m))
	for _, g := range m {
		rows = append(rows, g.row)
	}
	return topRows(dim, rows, top)
}

func compareFoldKeys(x, y foldKey) int {
	return cmp.Or(
		cmp.Compare(x.control, y.control),
		cmp.Compare(x.provider, y.provider),
		cmp.Compare(x.operator, y.operator),
		cmp.Compare(x.parent, y.parent),
		cmp.Compare(x.location, y.location),
		cmp.Compare(x.asn, y.asn),
		cmp.Compare(b2i(x.registry), b2i(y.registry)),
	)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func serviceName(k uint32) string {
	proto, port := uint8(k>>16), uint16(k)
	if port == 0 {
		return flowlog.ProtoName(proto)
	}
	return flowlog.ProtoName(proto) + "/" + strconv.Itoa(int(port))
}

// compareRows orders rows largest first: by bytes, then flows, then key.
func compareRows(a, b *Row) int {
	if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Flows, a.Flows); c != 0 {
		return c
	}
	// A country's catalog row before its registry row.
	return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.RegistryControl, b.RegistryControl))
}

func topRows(by string, rows []Row, top int) Group {
	slices.SortFunc(rows, func(a, b Row) int { return compareRows(&a, &b) })
	g := Group{By: by, Count: len(rows), Rows: rows}
	if top > 0 && len(rows) > top {
		o := Row{}
		for i := top; i < len(rows); i++ {
			o.Counters.Add(&rows[i].Counters)
			o.Remotes += rows[i].Remotes
		}
		g.Rows, g.Other = rows[:top:top], &o
	}
	return g
}

// ipItem is a remote address in the running top list: what ranks it, and
// the index of its tally. It is small, since the heap moves items about.
type ipItem struct {
	bytes, flows uint64
	addr         netip.Addr
	idx          int32
}

// A class is the remotes whose records differ only in IP and prefix, and
// their traffic.
type class struct {
	rec     attribution.Record // of one of them
	c       Counters
	remotes int
}

// better reports whether x ranks before y.
func (x *ipItem) better(y *ipItem) bool {
	if x.bytes != y.bytes {
		return x.bytes > y.bytes
	}
	if x.flows != y.flows {
		return x.flows > y.flows
	}
	return x.addr.Less(y.addr)
}

// ipHeap keeps the top remote addresses; its root is the worst kept.
type ipHeap struct {
	limit int // 0 keeps all
	items []ipItem
}

// The heap.Interface methods.

func (h *ipHeap) Len() int           { return len(h.items) }
func (h *ipHeap) Less(i, j int) bool { return h.items[j].better(&h.items[i]) }
func (h *ipHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *ipHeap) Push(x any)         { h.items = append(h.items, x.(ipItem)) }
func (h *ipHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// offer adds an address if it ranks among the top ones, and returns the
// item that fell out of the list, if any.
func (h *ipHeap) offer(it ipItem) (ipItem, bool) {
	if h.limit > 0 && len(h.items) == h.limit && !it.better(&h.items[0]) {
		return it, true
	}
	if h.limit > 0 && len(h.items) == h.limit {
		out := h.items[0]
		h.items[0] = it
		heap.Fix(h, 0)
		return out, true
	}
	heap.Push(h, it)
	return ipItem{}, false
}

// sorted returns the rows of the kept addresses, best first; of returns
// the counters and the record of the remote with a tally index.
func (h *ipHeap) sorted(of func(idx int32) (Counters, *attribution.Record)) []Row {
	slices.SortFunc(h.items, func(a, b ipItem) int {
		if a.better(&b) {
			return -1
		}
		if b.better(&a) {
			return 1
		}
		return 0
	})
	rows := make([]Row, len(h.items))
	for i := range h.items {
		it := &h.items[i]
		c, rec := of(it.idx)
		rows[i] = ipRow(it.addr, &c, rec)
	}
	return rows
}

func ipRow(addr netip.Addr, c *Counters, rec *attribution.Record) Row {
	g := attrs{row: Row{Key: addr.String()}}
	g.note(rec)
	g.row.Counters = *c
	g.row.Remotes = 1
	if rec.Provider != nil {
		g.row.Name = rec.Provider.Name
	} else if rec.ASName != "" {
		g.row.Name = rec.ASName
	}
	return g.row
}
