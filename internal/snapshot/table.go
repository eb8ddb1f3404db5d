package snapshot

import (
	"net/netip"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
)

// A Table is a loaded snapshot: routing facts for every address. It
// implements [attribution.RouteTable] and is safe for concurrent use.
type Table struct {
	d  *data
	v4 *ipindex.V4
	v6 *ipindex.V6
}

var _ attribution.RouteTable = (*Table)(nil)

func newTable(d *data) (*Table, error) {
	v4, err := ipindex.NewV4(d.v4starts, d.v4vals)
	if err != nil {
		return nil, err
	}
	v6, err := ipindex.NewV6(d.v6starts, d.v6vals)
	if err != nil {
		return nil, err
	}
	return &Table{d: d, v4: v4, v6: v6}, nil
}

// Meta returns the snapshot's description.
func (t *Table) Meta() Meta { return t.d.meta }

// Keys implements [attribution.RouteTable].
func (t *Table) Keys() int { return len(t.d.tuples) }

// maxRun bounds the walk over neighbouring segments of the same AS when
// computing a route's prefix.
const maxRun = 64

// Lookup implements [attribution.RouteTable]. The key is the index of the
// segment's (ASN, AS name, registration, location) tuple.
func (t *Table) Lookup(addr netip.Addr) (attribution.Route, int, bool) {
	addr = addr.Unmap()
	var key uint32
	var prefix netip.Prefix
	switch {
	case addr.Is4():
		a := ipindex.AddrU32(addr)
		i := t.v4.Find(a)
		_, key = t.v4.Segment(i)
		if key == 0 {
			return attribution.Route{}, 0, false
		}
		prefix = t.prefix4(a, i, key)
	case addr.Is6():
		a := ipindex.AddrU128(addr)
		i := t.v6.Find(a)
		_, key = t.v6.Segment(i)
		if key == 0 {
			return attribution.Route{}, 0, false
		}
		prefix = t.prefix6(a, i, key)
	default:
		return attribution.Route{}, 0, false
	}
	tp := &t.d.tuples[key]
	return attribution.Route{
		Prefix:       prefix,
		ASN:          tp.asn,
		ASName:       t.d.name(tp.name),
		Registration: countries[tp.reg],
		Location:     countries[tp.loc],
	}, int(key), true
}

// sameRun reports whether two segment values belong to one AS range: the
// same ASN, or the same tuple when the ASN is unknown.
func (t *Table) sameRun(a, b uint32) bool {
	if a == b {
		return true
	}
	x, y := t.d.tuples[a].asn, t.d.tuples[b].asn
	return x != 0 && x == y
}

func (t *Table) prefix4(a uint32, i int, key uint32) netip.Prefix {
	lo, hi := i, i
	for lo > 0 && i-lo < maxRun {
		if _, v := t.v4.Segment(lo - 1); !t.sameRun(v, key) {
			break
		}
		lo--
	}
	for hi+1 < t.v4.Len() && hi-i < maxRun {
		if _, v := t.v4.Segment(hi + 1); !t.sameRun(v, key) {
			break
		}
		hi++
	}
	first, _ := t.v4.Segment(lo)
	last := uint32(1<<32 - 1)
	if hi+1 < t.v4.Len() {
		s, _ := t.v4.Segment(hi + 1)
		last = s - 1
	}
	return ipindex.LargestPrefix4(a, first, last)
}

func (t *Table) prefix6(a ipindex.U128, i int, key uint32) netip.Prefix {
	lo, hi := i, i
	for lo > 0 && i-lo < maxRun {
		if _, v := t.v6.Segment(lo - 1); !t.sameRun(v, key) {
			break
		}
		lo--
	}
	for hi+1 < t.v6.Len() && hi-i < maxRun {
		if _, v := t.v6.Segment(hi + 1); !t.sameRun(v, key) {
			break
		}
		hi++
	}
	first, _ := t.v6.Segment(lo)
	last := ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
	if hi+1 < t.v6.Len() {
		s, _ := t.v6.Segment(hi + 1)
		last = s.Sub1()
	}
	return ipindex.LargestPrefix6(a, first, last)
}

// Segments returns the number of IPv4 and IPv6 segments.
func (t *Table) Segments() (v4, v6 int) { return t.v4.Len(), t.v6.Len() }
