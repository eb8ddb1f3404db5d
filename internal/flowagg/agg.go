package flowagg

import (
	"bytes"
	"net/netip"
	"slices"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// Counters add up traffic. Outbound is from the local end to the remote one;
// for internal and transit traffic only the totals are kept.
type Counters struct {
	Bytes      uint64 `json:"bytes"` // both directions, and bytes of unknown direction
	BytesOut   uint64 `json:"bytes_out"`
	BytesIn    uint64 `json:"bytes_in"`
	Packets    uint64 `json:"packets"`
	PacketsOut uint64 `json:"packets_out"`
	PacketsIn  uint64 `json:"packets_in"`
	Flows      uint64 `json:"flows"`
	FlowsOut   uint64 `json:"flows_out"` // records whose first end (the initiator, where the format knows it) is local
	FlowsIn    uint64 `json:"flows_in"`
}

// Add adds o to c.
func (c *Counters) Add(o *Counters) {
	c.Bytes += o.Bytes
	c.BytesOut += o.BytesOut
	c.BytesIn += o.BytesIn
	c.Packets += o.Packets
	c.PacketsOut += o.PacketsOut
	c.PacketsIn += o.PacketsIn
	c.Flows += o.Flows
	c.FlowsOut += o.FlowsOut
	c.FlowsIn += o.FlowsIn
}

// tally is the per-remote form of Counters: 64 bytes.
type tally struct {
	bytesOut, bytesIn, bytesUnsplit uint64
	pktsOut, pktsIn, pktsUnsplit    uint64
	flowsOut, flowsIn               uint64
}

// add adds a record as if outbound, for traffic without a direction.
func (t *tally) add(r *flowlog.Record) {
	t.bytesOut += r.SrcBytes
	t.bytesIn += r.DstBytes
	t.bytesUnsplit += r.UnsplitBytes
	t.pktsOut += r.SrcPackets
	t.pktsIn += r.DstPackets
	t.pktsUnsplit += r.UnsplitPackets
	t.flowsOut += max(r.Flows, 1)
}

func (t *tally) addEntry(e *entry) {
	t.bytesOut += e.bytesOut
	t.bytesIn += e.bytesIn
	t.bytesUnsplit += e.bytesUnsplit
	t.pktsOut += e.pktsOut
	t.pktsIn += e.pktsIn
	t.pktsUnsplit += e.pktsUnsplit
	t.flowsOut += e.flowOut * e.flows
	t.flowsIn += (1 - e.flowOut) * e.flows
}

func (t *tally) merge(o *tally) {
	t.bytesOut += o.bytesOut
	t.bytesIn += o.bytesIn
	t.bytesUnsplit += o.bytesUnsplit
	t.pktsOut += o.pktsOut
	t.pktsIn += o.pktsIn
	t.pktsUnsplit += o.pktsUnsplit
	t.flowsOut += o.flowsOut
	t.flowsIn += o.flowsIn
}

func (t *tally) counters() Counters {
	return Counters{
		Bytes:      t.bytesOut + t.bytesIn + t.bytesUnsplit,
		BytesOut:   t.bytesOut,
		BytesIn:    t.bytesIn,
		Packets:    t.pktsOut + t.pktsIn + t.pktsUnsplit,
		PacketsOut: t.pktsOut,
		PacketsIn:  t.pktsIn,
		Flows:      t.flowsOut + t.flowsIn,
		FlowsOut:   t.flowsOut,
		FlowsIn:    t.flowsIn,
	}
}

// totals returns the counters without their directions, for traffic that
// has no local-to-remote direction.
func (t *tally) totals() Counters {
	c := t.counters()
	return Counters{Bytes: c.Bytes, Packets: c.Packets, Flows: c.Flows}
}

// addrKey is a remote address: IPv4 in its IPv4-mapped form.
type addrKey struct {
	b  [16]byte
	v4 bool
}

// Addr returns the address.
func (k addrKey) Addr() netip.Addr {
	a := netip.AddrFrom16(k.b)
	if k.v4 {
		return a.Unmap()
	}
	return a
}

// Fields are the parts of a record an [Aggregator] reads: a reader may
// leave the others (the format's Extra facts) unparsed.
const Fields = flowlog.FieldCounts | flowlog.FieldTimes

// An Aggregator adds up flow records per remote address. Create one with
// [New].
type Aggregator struct {
	local *Local
	// v4 finds the tally of an IPv4 remote by its address, v6 that of
	// any other.
	v4 table32
	v6 map[[16]byte]int32
	// The tally of remote i is tallies[i], its address addrs[i]. Apart,
	// a tally fills one cache line: adding a record touches one line.
	tallies  []tally
	addrs    []addrKey
	services table32 // protocol<<16 | port
	svc      []tally
	svcKeys  []uint32
	internal tally
	transit  tally
	first    int64 // earliest start, Unix ns; 0 if none
	last     int64 // latest end, Unix ns
	// Remote records not yet added to their tallies (see flush).
	pending [batch]entry
	npend   int
	// The bound on tracked remotes and what folds the rest (fold.go).
	max     int
	att     Attributor
	folds   map[foldKey]*fold
	foldOf  map[int]*fold // by route key (KeyedAttributor)
	nfolded int
}

// batch is how many remote records Add holds before adding them up.
//
// With many distinct remotes, finding a remote's index and then its tally
// are two cache misses, about as costly as parsing the record. One record
// at a time, a miss waits for the one before; a batch of independent
// look-ups lets the processor wait for several at once.
const batch = 32

// entry is what a remote record adds to its tallies: its counters turned
// from Src and Dst to out and in.
type entry struct {
	bytesOut, bytesIn, bytesUnsplit uint64
	pktsOut, pktsIn, pktsUnsplit    uint64
	flowOut                         uint64   // 1 if outbound, else 0
	flows                           uint64   // flows the record stands for
	v6                              [16]byte // the remote address unless IPv4
	v4                              uint32
	is6                             bool
	svcKey                          uint32
	idx                             int32 // the remote's tally, once looked up
}

// New returns an aggregator that tells local from remote ends with local.
func New(local *Local) *Aggregator {
	return &Aggregator{
		local:    local,
		v4:       make(table32, 0, minTable),
		v6:       make(map[[16]byte]int32),
		services: make(table32, 0, minTable),
	}
}

// Local returns the aggregator's local networks.
func (a *Aggregator) Local() *Local { return a.local }

// Remotes returns the number of distinct remote addresses so far: those
// tracked and those folded (see Bound).
func (a *Aggregator) Remotes() int {
	a.flush()
	return len(a.tallies) + a.nfolded
}

// Add adds one record.
func (a *Aggregator) Add(r *flowlog.Record) {
	// Tell local from remote ends as Local.Contains does: most IPv4 ends
	// by their /16 alone, here; the others in addSlow, out of the way.
	src, dst := r.Src.Addr(), r.Dst.Addr()
	if !src.Is4() || !dst.Is4() {
		a.addSlow(r)
		return
	}
	b := src.As16()
	src4 := be32(b[12:])
	b = dst.As16()
	dst4 := be32(b[12:])
	srcSpan, dstSpan := a.local.span(src4), a.local.span(dst4)
	if srcSpan == spanSome || dstSpan == spanSome {
		a.addSlow(r)
		return
	}
	a.add1(r, srcSpan == spanAll, dstSpan == spanAll, src4, dst4)
}

// addSlow is Add for the records whose ends the spans do not decide.
func (a *Aggregator) addSlow(r *flowlog.Record) {
	src, dst := r.Src.Addr(), r.Dst.Addr()
	var src4, dst4 uint32
	if src.Is4() {
		b := src.As16()
		src4 = be32(b[12:])
	}
	if dst.Is4() {
		b := dst.As16()
		dst4 = be32(b[12:])
	}
	a.add1(r, a.local.Contains(src), a.local.Contains(dst), src4, dst4)
}

// add1 adds a record whose ends' locality and IPv4 addresses (0 for IPv6)
// are known.
func (a *Aggregator) add1(r *flowlog.Record, srcLocal, dstLocal bool, src4, dst4 uint32) {
	if !r.Start.IsZero() {
		if s := r.Start.UnixNano(); a.first == 0 || s < a.first {
			a.first = s
		}
	}
	if !r.End.IsZero() {
		if e := r.End.UnixNano(); e > a.last {
			a.last = e
		}
	}
	if srcLocal == dstLocal {
		if srcLocal {
			a.internal.add(r)
		} else {
			a.transit.add(r)
		}
		return
	}
	e := &a.pending[a.npend]
	rem, rem4 := &r.Src, src4
	if srcLocal {
		rem, rem4 = &r.Dst, dst4
		e.bytesOut, e.bytesIn, e.pktsOut, e.pktsIn, e.flowOut = r.SrcBytes, r.DstBytes, r.SrcPackets, r.DstPackets, 1
	} else {
		e.bytesOut, e.bytesIn, e.pktsOut, e.pktsIn, e.flowOut = r.DstBytes, r.SrcBytes, r.DstPackets, r.SrcPackets, 0
	}
	e.bytesUnsplit, e.pktsUnsplit = r.UnsplitBytes, r.UnsplitPackets
	e.flows = max(r.Flows, 1)
	e.svcKey = serviceKey(r)
	e.v4 = rem4
	if e.is6 = !rem.Addr().Is4(); e.is6 {
		e.v6 = rem.Addr().As16()
	}
	if a.npend++; a.npend == batch {
		a.flush()
	}
}

// flush adds the pending remote records to their tallies: first it finds
// every remote's tally, then it adds to them, so that the cache misses of
// one pass overlap (see batch).
func (a *Aggregator) flush() {
	pend := a.pending[:a.npend]
	a.npend = 0
	// index4 and serviceIndex are written out here: they are too large for
	// the compiler to inline, and this loop runs for every record.
	for i := range pend {
		e := &pend[i]
		if e.is6 {
			e.idx = a.index6(e.v6)
			continue
		}
		if e.idx = a.v4.find(e.v4); e.idx < 0 {
			e.idx = a.add4(e.v4)
		}
	}
	for i := range pend {
		e := &pend[i]
		a.tallies[e.idx].addEntry(e)
		j := a.services.find(e.svcKey)
		if j < 0 {
			j = a.addService(e.svcKey)
		}
		a.svc[j].addEntry(e)
	}
	if a.overBound() {
		a.fold()
	}
}

// index4 returns the index of the tally of IPv4 remote k, adding it if new.
func (a *Aggregator) index4(k uint32) int32 {
	if i := a.v4.find(k); i >= 0 {
		return i
	}
	return a.add4(k)
}

// index6 returns the index of the tally of IPv6 remote k, adding it if new.
func (a *Aggregator) index6(k [16]byte) int32 {
	i, ok := a.v6[k]
	if !ok {
		i = a.add(addrKey{b: k})
		a.v6[k] = i
	}
	return i
}

// remote returns the tally of a remote address, adding it if new.
func (a *Aggregator) remote(addr netip.Addr) *tally {
	if addr.Is4() {
		b := addr.As4()
		return &a.tallies[a.index4(be32(b[:]))]
	}
	return &a.tallies[a.index6(addr.As16())]
}

func (a *Aggregator) add(k addrKey) int32 {
	a.tallies = append(a.tallies, tally{})
	a.addrs = append(a.addrs, k)
	return int32(len(a.tallies) - 1)
}

// add4 adds the IPv4 remote k, absent so far, and returns its index.
func (a *Aggregator) add4(k uint32) int32 {
	var ak addrKey
	ak.v4 = true
	ak.b[10], ak.b[11] = 0xff, 0xff
	ak.b[12], ak.b[13], ak.b[14], ak.b[15] = byte(k>>24), byte(k>>16), byte(k>>8), byte(k)
	i := a.add(ak)
	a.v4.insert(k, i)
	return i
}

// serviceKey is the protocol and the service port of a record: the lower
// of its two ports (the well-known side of most connections), or none for
// ICMP and records without ports.
func serviceKey(r *flowlog.Record) uint32 {
	sp, dp := r.Src.Port(), r.Dst.Port()
	port := min(sp, dp)
	if port == 0 {
		port = max(sp, dp)
	}
	if r.Proto == flowlog.ProtoICMP || r.Proto == flowlog.ProtoICMPv6 {
		port = 0
	}
	return uint32(r.Proto)<<16 | uint32(port)
}

// serviceIndex returns the index of the tally of a service key, adding
// it if new.
func (a *Aggregator) serviceIndex(k uint32) int32 {
	if i := a.services.find(k); i >= 0 {
		return i
	}
	return a.addService(k)
}

// addService adds the service key k, absent so far, and returns its index.
func (a *Aggregator) addService(k uint32) int32 {
	i := int32(len(a.svc))
	a.services.insert(k, i)
	a.svc = append(a.svc, tally{})
	a.svcKeys = append(a.svcKeys, k)
	return i
}

// Merge adds the counts of b to a. Both must use the same local networks.
func (a *Aggregator) Merge(b *Aggregator) {
	a.flush()
	b.flush()
	if a.att == nil {
		a.max, a.att = b.max, b.att
	}
	for i := range b.tallies {
		a.remote(b.addrs[i].Addr()).merge(&b.tallies[i])
		if a.overBound() {
			a.fold()
		}
	}
	for _, f := range b.folds {
		a.addFold(&f.rec, &f.t, f.remotes)
	}
	a.nfolded += b.nfolded
	for i, k := range b.svcKeys {
		a.svc[a.serviceIndex(k)].merge(&b.svc[i])
	}
	a.internal.merge(&b.internal)
	a.transit.merge(&b.transit)
	if b.first != 0 && (a.first == 0 || b.first < a.first) {
		a.first = b.first
	}
	a.last = max(a.last, b.last)
}

// inOrder calls fn with the index and address of each remote, in address
// order: IPv4 first, then IPv6.
func (a *Aggregator) inOrder(fn func(i int32, addr netip.Addr)) {
	v4 := make([]uint64, 0, len(a.v4))
	var v6 []int32
	for i := range a.addrs {
		if k := &a.addrs[i]; k.v4 {
			v4 = append(v4, uint64(be32(k.b[12:]))<<32|uint64(i))
		} else {
			v6 = append(v6, int32(i))
		}
	}
	sortHigh32(v4)
	for _, k := range v4 {
		v := uint32(k >> 32)
		fn(int32(uint32(k)), netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	slices.SortFunc(v6, func(i, j int32) int { return bytes.Compare(a.addrs[i].b[:], a.addrs[j].b[:]) })
	for _, i := range v6 {
		fn(i, a.addrs[i].Addr())
	}
}

// sortHigh32 sorts x by the high 32 bits of each element, with a radix sort
// of three passes of 11 bits: linear, where a comparison sort of 100,000
// elements takes several times as long.
func sortHigh32(x []uint64) {
	if len(x) < 256 {
		slices.Sort(x)
		return
	}
	tmp := make([]uint64, len(x))
	src, dst := x, tmp
	for shift := uint(32); shift < 64; shift += 11 {
		var count [2048]int
		for _, v := range src {
			count[v>>shift&2047]++
		}
		sum := 0
		for d, n := range count {
			count[d] = sum
			sum += n
		}
		for _, v := range src {
			d := v >> shift & 2047
			dst[count[d]] = v
			count[d]++
		}
		src, dst = dst, src
	}
	// Three passes leave the result in tmp.
	copy(x, src)
}

// A table32 maps uint32 keys to int32 values (indices of tallies). It
// replaces a map[uint32]int32 where look-ups are most of the work: a
// look-up is a few instructions inline and reads one word, most often on
// one cache line, where the runtime map makes a call and reads a control
// word and then a slot.
//
// It is an open-addressing hash table: its slots are t[:cap(t)], and its
// length is the number of keys it holds. A slot holds a key and its value
// side by side, key<<32 | value+1, and 0 when empty. A key's first slot is
// given by the top bits of key*hashMul32; a search goes on to the next
// slots until it meets the key or an empty slot. There are a power of two
// slots, at least minTable, and at most loadNum/loadDen of them are full.
type table32 []uint64

const (
	// hashMul32 is Knuth's multiplier, a prime near 2^32 divided by the
	// golden ratio: the top bits of the product spread keys that differ
	// in any bits, runs of addresses included (Fibonacci hashing).
	hashMul32 = 0x9e3779b1
	// With linear probing at load f, a look-up of a present key reads
	// (1 + 1/(1-f))/2 slots on average: at most 3.2 here, most often on
	// one cache line. Between 13/32 and 13/16 full, a table takes 10 to
	// 20 bytes per key, as a map[uint32]int32 does; at 3/4, 100,000
	// remotes would take 21 bytes each, and miss the cache more.
	loadNum, loadDen = 13, 16
	minTable         = 16
)

// find returns the value of k, or -1 if k is absent.
func (t table32) find(k uint32) int32 {
	t = t[:cap(t)]
	mask := uint64(len(t) - 1)
	i := uint64(k*hashMul32) * uint64(len(t)) >> 32
	for {
		s := t[i]
		if s == 0 {
			return -1
		}
		if uint32(s>>32) == k {
			return int32(uint32(s)) - 1
		}
		i = (i + 1) & mask
	}
}

// insert adds k, which t does not hold, with value v.
func (t *table32) insert(k uint32, v int32) {
	n := len(*t)
	if (n+1)*loadDen > cap(*t)*loadNum {
		old := (*t)[:cap(*t)]
		*t = make(table32, 0, 2*len(old))
		for _, s := range old {
			if s != 0 {
				t.put(s)
			}
		}
	}
	t.put(uint64(k)<<32 | uint64(uint32(v)+1))
	*t = (*t)[:n+1]
}

// put puts the slot word s in the first empty slot from its key's.
func (t table32) put(s uint64) {
	t = t[:cap(t)]
	mask := uint64(len(t) - 1)
	i := uint64(uint32(s>>32)*hashMul32) * uint64(len(t)) >> 32
	for t[i] != 0 {
		i = (i + 1) & mask
	}
	t[i] = s
}
