package flowagg

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/sovmap/sovmap/internal/attribution"
)

// DefaultMaxRemotes is the number of remote addresses an aggregator bound
// with [Aggregator.Bound] tracks one by one when given no other number:
// about 200 to 350 MB at the cost measured in docs/flows.md.
const DefaultMaxRemotes = 1_000_000

// minMaxRemotes is the smallest bound Bound accepts: below it, folding
// would run on almost every new remote.
const minMaxRemotes = 64

// Bound limits the remote addresses the aggregator tracks one by one to
// n. When it holds more, the rarer half of them (fewest bytes, then
// fewest flows, then highest address) are folded: each is attributed with
// att, and its traffic is added to the fold of every remote with the same
// attribution (control, provider, operator, parent, location and AS).
// Every total and every group but remote-ip stays exact; a folded address
// is counted in the remote-ip group's "other" row, and one seen again
// after its fold is tracked, and counted among the remotes, anew.
//
// n 0 removes the bound; other values are raised to a small minimum. A
// bound may be set or changed at any time; one below the remotes held
// takes effect with the next records.
func (a *Aggregator) Bound(n int, att Attributor) {
	if n > 0 {
		n = max(n, minMaxRemotes)
	}
	a.max, a.att = n, att
}

// MaxRemotes returns the bound set by Bound, 0 if none.
func (a *Aggregator) MaxRemotes() int { return a.max }

// Folded returns the number of remote addresses folded so far.
func (a *Aggregator) Folded() int {
	a.flush()
	return a.nfolded
}

// foldKey is what the remotes of one fold share: the fields a summary
// groups by.
type foldKey struct {
	control, provider, operator, parent, location string
	asn                                           uint32
	registry                                      bool // control from the registry
}

func foldKeyOf(rec *attribution.Record) foldKey {
	var k foldKey
	if rec.Control != nil {
		k.control = rec.Control.Country
	}
	if rec.Provider != nil {
		k.provider = rec.Provider.ID
	}
	if rec.Operator != nil {
		k.operator = rec.Operator.ID
	}
	if rec.Parent != nil {
		k.parent = rec.Parent.ID
	}
	if rec.Location != nil {
		k.location = rec.Location.Country
	}
	k.asn = rec.ASN
	k.registry = fromRegistry(rec)
	return k
}

// A fold is the traffic of folded remotes with the same attribution.
type fold struct {
	rec     attribution.Record // of the first remote folded, without its IP and prefix
	t       tally
	remotes int
}

// addFold adds the traffic of remotes with attribution rec to its fold,
// and returns the fold.
func (a *Aggregator) addFold(rec *attribution.Record, t *tally, remotes int) *fold {
	k := foldKeyOf(rec)
	f := a.folds[k]
	if f == nil {
		if a.folds == nil {
			a.folds = make(map[foldKey]*fold)
		}
		f = &fold{rec: *rec}
		f.rec.IP, f.rec.Prefix = netip.Addr{}, netip.Prefix{}
		a.folds[k] = f
	}
	f.t.merge(t)
	f.remotes += remotes
	return f
}

// overBound reports whether the aggregator holds more remotes than its
// bound.
func (a *Aggregator) overBound() bool {
	return a.max > 0 && len(a.tallies) > a.max
}

// fold folds the rarer half of the remotes (see Bound). No record may be
// pending: fold renumbers the tallies.
func (a *Aggregator) fold() {
	n := len(a.tallies)
	keep := a.max / 2
	// Rank the remotes by their traffic, the largest first; ties go to
	// the lower address, as in the remote-ip rows.
	type rank struct {
		bytes, flows uint64
		i            int32
	}
	order := make([]rank, n)
	for i := range a.tallies {
		t := &a.tallies[i]
		order[i] = rank{t.bytesOut + t.bytesIn + t.bytesUnsplit, t.flowsOut + t.flowsIn, int32(i)}
	}
	slices.SortFunc(order, func(x, y rank) int {
		if c := cmp.Compare(y.bytes, x.bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(y.flows, x.flows); c != 0 {
			return c
		}
		return a.addrs[x.i].Addr().Compare(a.addrs[y.i].Addr())
	})
	keyed, _ := a.att.(KeyedAttributor)
	for _, r := range order[keep:] {
		addr := a.addrs[r.i].Addr()
		// Remotes with the same route key have the same attribution
		// but for their IP and prefix: attribute one of them.
		key := -1
		if keyed != nil {
			key = keyed.Key(addr)
		}
		if f, ok := a.foldOf[key]; ok && key >= 0 {
			f.t.merge(&a.tallies[r.i])
			f.remotes++
			continue
		}
		rec := a.att.Attribute(addr)
		f := a.addFold(&rec, &a.tallies[r.i], 1)
		if key >= 0 {
			if a.foldOf == nil {
				a.foldOf = make(map[int]*fold)
			}
			a.foldOf[key] = f
		}
	}
	a.nfolded += n - keep
	// Keep the others in the order they came, and index them anew.
	kept := make([]int32, keep)
	for k := range kept {
		kept[k] = order[k].i
	}
	slices.Sort(kept)
	tallies := make([]tally, keep, a.max+batch)
	addrs := make([]addrKey, keep, a.max+batch)
	for k, i := range kept {
		tallies[k], addrs[k] = a.tallies[i], a.addrs[i]
	}
	a.tallies, a.addrs = tallies, addrs
	a.v4 = make(table32, 0, minTable)
	a.v6 = make(map[[16]byte]int32)
	for k := range a.addrs {
		ak := &a.addrs[k]
		if ak.v4 {
			a.v4.insert(be32(ak.b[12:]), int32(k))
		} else {
			a.v6[ak.b] = int32(k)
		}
	}
}
