package snapshot

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
)

// A Table is a loaded snapshot: routing facts for every address. It
// implements [attribution.RouteTable] and is safe for concurrent use.
//
// A table reads its file in place. Lookups first decode only the block of
// segments they need, which keeps a one-shot lookup in a fresh process cheap;
// after [autoExpand] lookups in one address family, or when [Table.Expand]
// is called, the family is decoded whole into an [ipindex] table, which is
// several times faster per lookup.
type Table struct {
	src      string // the whole file
	meta     Meta
	nameOffs string // nNames+1 little-endian uint32 offsets into names
	names    string
	nNames   int
	tuples   string // nTuples records of tupleSize bytes
	nTuples  int
	asns     []uint32  // the ASN of each tuple, for the prefix walk
	fam      [2]family // IPv4, IPv6
	feeds    feedLayer
}

var _ attribution.RouteTable = (*Table)(nil)

// autoExpand is the number of lookups in a family after which the family is
// decoded whole. A lazy lookup walks the blocks of its AS run (tens of
// microseconds for a large AS); expanding costs tens of milliseconds once.
const autoExpand = 64

// family is the segment table of one address family.
type family struct {
	v6      bool
	routing bool // values are tuples: precompute AS runs on expansion
	n       int  // segments
	nBlocks int
	nTuples uint32
	dir     string // per block: first start (4 or 16 bytes), data offset (4 bytes)
	blob    string // varint-encoded blocks

	lookups  atomic.Int64
	once     sync.Once
	expanded atomic.Bool
	v4       *ipindex.V4
	v6x      *ipindex.V6
	// seg4 and seg6 pack, per segment, its value and the first and last
	// address of the AS run that holds it: after the search, one read gives
	// all a route needs.
	seg4 []seg4
	seg6 []seg6
	err  error // from expansion
}

type seg4 struct{ val, first, last uint32 }

type seg6 struct {
	val         uint32
	first, last ipindex.U128
}

// Meta returns the snapshot's description.
func (t *Table) Meta() Meta { return t.meta }

// Keys implements [attribution.RouteTable]: keys below it identify routing
// facts alone; an address inside provider feeds gets a larger key that also
// identifies its feed hits.
func (t *Table) Keys() int { return t.nTuples }

// Segments returns the number of IPv4 and IPv6 segments.
func (t *Table) Segments() (v4, v6 int) { return t.fam[0].n, t.fam[1].n }

// Size returns the size of the snapshot file in bytes.
func (t *Table) Size() int { return len(t.src) }

func (t *Table) tuple(k uint32) tuple {
	o := int(k) * tupleSize
	return tuple{
		asn:  le32(t.tuples, o),
		name: le32(t.tuples, o+4),
		reg:  le16(t.tuples, o+8),
		loc:  le16(t.tuples, o+10),
	}
}

func (t *Table) name(i uint32) string {
	a, b := le32(t.nameOffs, 4*int(i)), le32(t.nameOffs, 4*int(i)+4)
	if b > uint32(len(t.names)) || a > b {
		return ""
	}
	return t.names[a:b]
}

// Expand decodes both address families whole, so that every later lookup
// takes the fast path. It returns an error if a block of the file does not
// decode (which the checksum makes unlikely).
func (t *Table) Expand() error {
	for i := range t.fam {
		if err := t.fam[i].expand(t); err != nil {
			return err
		}
	}
	return nil
}

// Lookup implements [attribution.RouteTable]. The key is the index of the
// segment's (ASN, AS name, registration, location) tuple.
func (t *Table) Lookup(addr netip.Addr) (attribution.Route, int, bool) {
	addr = addr.Unmap()
	key, prefix, ok := t.route(addr)
	var rt attribution.Route
	if ok {
		tp := t.tuple(key)
		rt = attribution.Route{
			Prefix:       prefix,
			ASN:          tp.asn,
			ASName:       t.name(tp.name),
			Registration: countries[tp.reg],
			Location:     countries[tp.loc],
		}
	}
	if set := t.feedSet(addr); set != 0 {
		rt.Feeds = t.setHits(set)
		if !ok {
			rt.Prefix = rt.Feeds[0].Prefix
		}
		return rt, int(key) + t.nTuples*int(set), true
	}
	return rt, int(key), ok
}

// LookupKey implements [attribution.KeyedRouteTable]: the key and prefix of
// Lookup without reading the route's facts.
func (t *Table) LookupKey(addr netip.Addr) (netip.Prefix, int, bool) {
	addr = addr.Unmap()
	key, prefix, ok := t.route(addr)
	if t.feeds.nSets > 1 {
		if set := t.feedSet(addr); set != 0 {
			if !ok {
				prefix = t.setHits(set)[0].Prefix
			}
			return prefix, int(key) + t.nTuples*int(set), true
		}
	}
	return prefix, int(key), ok
}

// RouteKey returns the key that LookupKey returns, without the prefix,
// which costs more to find than the key.
func (t *Table) RouteKey(addr netip.Addr) (int, bool) {
	addr = addr.Unmap()
	var key uint32
	var ok bool
	if f := &t.fam[0]; addr.Is4() && f.ready(t) {
		sg := &f.seg4[f.v4.Find(ipindex.AddrU32(addr))]
		key, ok = sg.val, sg.val != 0
	} else {
		key, _, ok = t.route(addr)
	}
	if t.feeds.nSets > 1 {
		if set := t.feedSet(addr); set != 0 {
			return int(key) + t.nTuples*int(set), true
		}
	}
	return int(key), ok
}

// LookupKeys is LookupKey for many addresses at once: it stores the
// prefix and key of addrs[i] in prefixes[i] and keys[i], -1 for an address
// the table knows nothing of. With the IPv4 table expanded, each stage of
// the look-up is done for all the IPv4 addresses before the next, so that
// their cache misses overlap instead of queueing one behind the other.
func (t *Table) LookupKeys(addrs []netip.Addr, prefixes []netip.Prefix, keys []int) {
	const batch = 64
	var idx [batch]int32
	var a32 [batch]uint32
	f := &t.fam[0]
	staged := t.feeds.nSets <= 1 && f.ready(t)
	for base := 0; base < len(addrs); base += batch {
		part := addrs[base:min(base+batch, len(addrs))]
		n := 0
		for i, a := range part {
			a = a.Unmap()
			if !staged || !a.Is4() {
				p, k, ok := t.LookupKey(a)
				if !ok {
					k = -1
				}
				prefixes[base+i], keys[base+i] = p, k
				continue
			}
			keys[base+i] = -2 // staged below
			a32[n] = ipindex.AddrU32(a)
			n++
		}
		if n == 0 {
			continue
		}
		f.v4.FindMany(a32[:n], idx[:n])
		j := 0
		for i := range part {
			if keys[base+i] != -2 {
				continue
			}
			sg := &f.seg4[idx[j]]
			if sg.val == 0 {
				prefixes[base+i], keys[base+i] = netip.Prefix{}, -1
			} else {
				prefixes[base+i], keys[base+i] = ipindex.LargestPrefix4(a32[j], sg.first, sg.last), int(sg.val)
			}
			j++
		}
	}
}

// route finds the routing segment of addr: its tuple and prefix.
func (t *Table) route(addr netip.Addr) (uint32, netip.Prefix, bool) {
	var key uint32
	var prefix netip.Prefix
	switch {
	case addr.Is4():
		f := &t.fam[0]
		a := ipindex.AddrU32(addr)
		if f.ready(t) {
			sg := &f.seg4[f.v4.Find(a)]
			if sg.val == 0 {
				return 0, prefix, false
			}
			key = sg.val
			prefix = ipindex.LargestPrefix4(a, sg.first, sg.last)
		} else {
			var ok bool
			key, prefix, ok = t.lazyLookup(f, ipindex.U128{Lo: uint64(a)}, addr)
			if !ok {
				return 0, prefix, false
			}
		}
	case addr.Is6():
		f := &t.fam[1]
		a := ipindex.AddrU128(addr)
		if f.ready(t) {
			sg := &f.seg6[f.v6x.Find(a)]
			if sg.val == 0 {
				return 0, prefix, false
			}
			key = sg.val
			prefix = ipindex.LargestPrefix6(a, sg.first, sg.last)
		} else {
			var ok bool
			key, prefix, ok = t.lazyLookup(f, a, addr)
			if !ok {
				return 0, prefix, false
			}
		}
	default:
		return 0, prefix, false
	}
	return key, prefix, true
}

// ready reports whether the family is expanded, expanding it once enough
// lookups have been made.
func (f *family) ready(t *Table) bool {
	if f.expanded.Load() {
		return true
	}
	if f.lookups.Add(1) < autoExpand {
		return false
	}
	return f.expand(t) == nil
}

// sameRun reports whether two segment values belong to one AS range: the
// same ASN, or the same tuple when the ASN is unknown.
func (t *Table) sameRun(a, b uint32) bool {
	if a == b {
		return true
	}
	x := t.asns[a]
	return x != 0 && x == t.asns[b]
}

// Block access.

func (f *family) entrySize() int {
	if f.v6 {
		return 20
	}
	return 8
}

func (f *family) blockStart(b int) ipindex.U128 {
	o := b * f.entrySize()
	if f.v6 {
		return ipindex.U128{Hi: le64(f.dir, o), Lo: le64(f.dir, o+8)}
	}
	return ipindex.U128{Lo: uint64(le32(f.dir, o))}
}

func (f *family) blockOff(b int) int {
	if b >= f.nBlocks {
		return len(f.blob)
	}
	return int(le32(f.dir, b*f.entrySize()+f.entrySize()-4))
}

// checkDir validates the block directory: starts strictly increase from
// zero, offsets never decrease and stay within the data.
func (f *family) checkDir() error {
	var prev ipindex.U128
	prevOff := 0
	for b := range f.nBlocks {
		s := f.blockStart(b)
		if (b == 0 && s != (ipindex.U128{})) || (b > 0 && !prev.Less(s)) {
			return fmt.Errorf("%w: bad segment directory", ErrCorrupt)
		}
		o := f.blockOff(b)
		if o < prevOff || o > len(f.blob) {
			return fmt.Errorf("%w: bad segment directory", ErrCorrupt)
		}
		prev, prevOff = s, o
	}
	return nil
}

func (f *family) maxAddr() ipindex.U128 {
	if f.v6 {
		return ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
	}
	return ipindex.U128{Lo: 1<<32 - 1}
}

// decodeBlock decodes block b into starts and vals, returning the number of
// segments, or an error if the block's data is malformed.
func (f *family) decodeBlock(b int, starts *[blockSize]ipindex.U128, vals *[blockSize]uint32) (int, error) {
	n := min(blockSize, f.n-b*blockSize)
	data := f.blob[f.blockOff(b):f.blockOff(b+1)]
	limit := f.maxAddr()
	if b+1 < f.nBlocks {
		limit = f.blockStart(b + 1).Sub1()
	}
	bad := func() (int, error) { return 0, fmt.Errorf("%w: bad segment block %d", ErrCorrupt, b) }
	j := 0
	s := f.blockStart(b)
	for i := range n {
		if i > 0 {
			var d uint64
			if d, j = uvarint(data, j); j < 0 {
				return bad()
			}
			if f.v6 {
				var lo uint64
				if lo, j = uvarint(data, j); j < 0 {
					return bad()
				}
				if d == 0 {
					nl := s.Lo + lo
					if lo == 0 || nl < s.Lo {
						return bad()
					}
					s.Lo = nl
				} else {
					nh := s.Hi + d
					if nh < s.Hi {
						return bad()
					}
					s = ipindex.U128{Hi: nh, Lo: lo}
				}
			} else {
				if d == 0 || d > limit.Lo-s.Lo {
					return bad()
				}
				s.Lo += d
			}
			if limit.Less(s) {
				return bad()
			}
		}
		var v uint64
		if v, j = uvarint(data, j); j < 0 || v >= uint64(f.nTuples) {
			return bad()
		}
		starts[i], vals[i] = s, uint32(v)
	}
	if j != len(data) {
		return bad()
	}
	return n, nil
}

// uvarint decodes a varint at s[i:], returning the value and the index after
// it, or i = -1 for a bad or truncated varint.
func uvarint(s string, i int) (uint64, int) {
	var x uint64
	for sh := uint(0); sh < 64; sh += 7 {
		if i >= len(s) {
			return 0, -1
		}
		c := s[i]
		i++
		if c < 0x80 {
			return x | uint64(c)<<sh, i
		}
		x |= uint64(c&0x7f) << sh
	}
	return 0, -1
}

// findBlock returns the last block whose start is at most a.
func (f *family) findBlock(a ipindex.U128) int {
	return sort.Search(f.nBlocks, func(b int) bool { return a.Less(f.blockStart(b)) }) - 1
}

// lazyLookup finds addr by decoding the blocks it needs.
func (t *Table) lazyLookup(f *family, a ipindex.U128, addr netip.Addr) (uint32, netip.Prefix, bool) {
	c := blockCursor{f: f, cur: -1}
	b := f.findBlock(a)
	if b < 0 || !c.load(b) {
		return 0, netip.Prefix{}, false
	}
	i := sort.Search(c.n, func(i int) bool { return a.Less(c.starts[i]) }) - 1
	g := b*blockSize + i
	key := c.vals[i]
	if key == 0 {
		return 0, netip.Prefix{}, false
	}
	lo, hi := g, g
	for lo > 0 {
		if _, v, ok := c.seg(lo - 1); !ok || !t.sameRun(v, key) {
			break
		}
		lo--
	}
	for hi+1 < f.n {
		if _, v, ok := c.seg(hi + 1); !ok || !t.sameRun(v, key) {
			break
		}
		hi++
	}
	first, _, _ := c.seg(lo)
	last := f.maxAddr()
	if hi+1 < f.n {
		s, _, ok := c.seg(hi + 1)
		if ok {
			last = s.Sub1()
		}
	}
	if addr.Is4() {
		return key, ipindex.LargestPrefix4(uint32(a.Lo), uint32(first.Lo), uint32(last.Lo)), true
	}
	return key, ipindex.LargestPrefix6(a, first, last), true
}

// blockCursor reads segments by global index, decoding one block at a time.
type blockCursor struct {
	f      *family
	cur, n int
	starts [blockSize]ipindex.U128
	vals   [blockSize]uint32
}

func (c *blockCursor) load(b int) bool {
	if b == c.cur {
		return true
	}
	n, err := c.f.decodeBlock(b, &c.starts, &c.vals)
	if err != nil {
		c.cur = -1
		return false
	}
	c.cur, c.n = b, n
	return true
}

func (c *blockCursor) seg(g int) (ipindex.U128, uint32, bool) {
	if !c.load(g / blockSize) {
		return ipindex.U128{}, 0, false
	}
	i := g % blockSize
	return c.starts[i], c.vals[i], true
}

// expand decodes the family whole into an ipindex table, once.
func (f *family) expand(t *Table) error {
	f.once.Do(func() {
		var starts [blockSize]ipindex.U128
		var vals [blockSize]uint32
		allVals := make([]uint32, 0, f.n)
		var s4 []uint32
		var s6 []ipindex.U128
		if f.v6 {
			s6 = make([]ipindex.U128, 0, f.n)
		} else {
			s4 = make([]uint32, 0, f.n)
		}
		for b := range f.nBlocks {
			n, err := f.decodeBlock(b, &starts, &vals)
			if err != nil {
				f.err = err
				return
			}
			for i := range n {
				if f.v6 {
					s6 = append(s6, starts[i])
				} else {
					s4 = append(s4, uint32(starts[i].Lo))
				}
			}
			allVals = append(allVals, vals[:n]...)
		}
		// Runs of segments of one AS, for the prefix of a route.
		if !f.routing {
			goto index
		}
		{
			runLo, runHi := make([]int32, f.n), make([]int32, f.n)
			for i := 1; i < f.n; i++ {
				if t.sameRun(allVals[i-1], allVals[i]) {
					runLo[i] = runLo[i-1]
				} else {
					runLo[i] = int32(i)
				}
			}
			runHi[f.n-1] = int32(f.n - 1)
			for i := f.n - 2; i >= 0; i-- {
				if t.sameRun(allVals[i], allVals[i+1]) {
					runHi[i] = runHi[i+1]
				} else {
					runHi[i] = int32(i)
				}
			}
			if f.v6 {
				f.seg6 = make([]seg6, f.n)
				for i := range f.n {
					last := f.maxAddr()
					if h := int(runHi[i]) + 1; h < f.n {
						last = s6[h].Sub1()
					}
					f.seg6[i] = seg6{val: allVals[i], first: s6[runLo[i]], last: last}
				}
			} else {
				f.seg4 = make([]seg4, f.n)
				for i := range f.n {
					last := uint32(1<<32 - 1)
					if h := int(runHi[i]) + 1; h < f.n {
						last = s4[h] - 1
					}
					f.seg4[i] = seg4{val: allVals[i], first: s4[runLo[i]], last: last}
				}
			}
		}
	index:
		if f.v6 {
			f.v6x, f.err = ipindex.NewV6(s6, allVals)
		} else {
			f.v4, f.err = ipindex.NewV4(s4, allVals)
		}
		if f.err == nil {
			f.expanded.Store(true)
		}
	})
	return f.err
}
