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

func (t *tally) add(r *flowlog.Record, outbound bool) {
	t.addCounts(&counts{
		srcBytes: r.SrcBytes, dstBytes: r.DstBytes, unsplitBytes: r.UnsplitBytes,
		srcPkts: r.SrcPackets, dstPkts: r.DstPackets, unsplitPkts: r.UnsplitPackets,
	}, outbound)
}

func (t *tally) addCounts(c *counts, outbound bool) {
	if outbound {
		t.bytesOut += c.srcBytes
		t.bytesIn += c.dstBytes
		t.pktsOut += c.srcPkts
		t.pktsIn += c.dstPkts
		t.flowsOut++
	} else {
		t.bytesOut += c.dstBytes
		t.bytesIn += c.srcBytes
		t.pktsOut += c.dstPkts
		t.pktsIn += c.srcPkts
		t.flowsIn++
	}
	t.bytesUnsplit += c.unsplitBytes
	t.pktsUnsplit += c.unsplitPkts
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
	v4    map[uint32]int32
	v6    map[[16]byte]int32
	// The tally of remote i is tallies[i], its address addrs[i]. Apart,
	// a tally fills one cache line: adding a record touches one line.
	tallies  []tally
	addrs    []addrKey
	services map[uint32]int32 // protocol<<16 | port
	svc      []tally
	svcKeys  []uint32
	internal tally
	transit  tally
	first    int64 // earliest start, Unix ns; 0 if none
	last     int64 // latest end, Unix ns
	// Remote records not yet added to their tallies (see flush).
	pending [batch]entry
	npend   int
}

// batch is how many remote records Add holds before adding them up.
//
// With many distinct remotes, finding a remote's index and then its tally
// are two cache misses, about as costly as parsing the record. One record
// at a time, a miss waits for the one before; a batch of independent
// look-ups lets the processor wait for several at once.
const batch = 32

// entry is what a remote record adds to its tallies.
type entry struct {
	counts   counts
	v6       [16]byte // the remote address unless v4
	v4       uint32
	is6      bool
	outbound bool
	svcKey   uint32
	idx      int32 // the remote's tally, once looked up
}

// counts are a record's counters as Src and Dst sent them.
type counts struct {
	srcBytes, dstBytes, unsplitBytes uint64
	srcPkts, dstPkts, unsplitPkts    uint64
}

// New returns an aggregator that tells local from remote ends with local.
func New(local *Local) *Aggregator {
	return &Aggregator{
		local:    local,
		v4:       make(map[uint32]int32),
		v6:       make(map[[16]byte]int32),
		services: make(map[uint32]int32),
	}
}

// Local returns the aggregator's local networks.
func (a *Aggregator) Local() *Local { return a.local }

// Remotes returns the number of distinct remote addresses so far.
func (a *Aggregator) Remotes() int {
	a.flush()
	return len(a.tallies)
}

// Add adds one record.
func (a *Aggregator) Add(r *flowlog.Record) {
	src, dst := r.Src.Addr(), r.Dst.Addr()
	srcLocal, dstLocal := a.local.Contains(src), a.local.Contains(dst)
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
	var rem netip.Addr
	var outbound bool
	switch {
	case srcLocal && dstLocal:
		a.internal.add(r, true)
		return
	case !srcLocal && !dstLocal:
		a.transit.add(r, true)
		return
	case srcLocal:
		rem, outbound = dst, true
	default:
		rem, outbound = src, false
	}
	e := &a.pending[a.npend]
	e.counts = counts{
		srcBytes: r.SrcBytes, dstBytes: r.DstBytes, unsplitBytes: r.UnsplitBytes,
		srcPkts: r.SrcPackets, dstPkts: r.DstPackets, unsplitPkts: r.UnsplitPackets,
	}
	e.outbound = outbound
	e.svcKey = serviceKey(r)
	if e.is6 = !rem.Is4(); e.is6 {
		e.v6 = rem.As16()
	} else {
		b := rem.As4()
		e.v4 = be32(b[:])
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
	for i := range pend {
		e := &pend[i]
		if !e.is6 {
			j, ok := a.v4[e.v4]
			if !ok {
				var k addrKey
				k.v4 = true
				k.b[10], k.b[11] = 0xff, 0xff
				k.b[12], k.b[13], k.b[14], k.b[15] = byte(e.v4>>24), byte(e.v4>>16), byte(e.v4>>8), byte(e.v4)
				j = a.add(k)
				a.v4[e.v4] = j
			}
			e.idx = j
			continue
		}
		j, ok := a.v6[e.v6]
		if !ok {
			j = a.add(addrKey{b: e.v6})
			a.v6[e.v6] = j
		}
		e.idx = j
	}
	for i := range pend {
		e := &pend[i]
		a.tallies[e.idx].addCounts(&e.counts, e.outbound)
	}
	for i := range pend {
		e := &pend[i]
		a.serviceTally(e.svcKey).addCounts(&e.counts, e.outbound)
	}
}

// remote returns the tally of a remote address, adding it if new.
func (a *Aggregator) remote(addr netip.Addr) *tally {
	if addr.Is4() {
		b := addr.As4()
		k := be32(b[:])
		i, ok := a.v4[k]
		if !ok {
			i = a.add(addrKey{b: addr.As16(), v4: true})
			a.v4[k] = i
		}
		return &a.tallies[i]
	}
	k := addr.As16()
	i, ok := a.v6[k]
	if !ok {
		i = a.add(addrKey{b: k})
		a.v6[k] = i
	}
	return &a.tallies[i]
}

func (a *Aggregator) add(k addrKey) int32 {
	a.tallies = append(a.tallies, tally{})
	a.addrs = append(a.addrs, k)
	return int32(len(a.tallies) - 1)
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

// serviceTally returns the tally of a service key, adding it if new.
func (a *Aggregator) serviceTally(k uint32) *tally {
	i, ok := a.services[k]
	if !ok {
		i = int32(len(a.svc))
		a.services[k] = i
		a.svc = append(a.svc, tally{})
		a.svcKeys = append(a.svcKeys, k)
	}
	return &a.svc[i]
}

// Merge adds the counts of b to a. Both must use the same local networks.
func (a *Aggregator) Merge(b *Aggregator) {
	a.flush()
	b.flush()
	for i := range b.tallies {
		a.remote(b.addrs[i].Addr()).merge(&b.tallies[i])
	}
	for i, k := range b.svcKeys {
		j, ok := a.services[k]
		if !ok {
			j = int32(len(a.svc))
			a.services[k] = j
			a.svc = append(a.svc, tally{})
			a.svcKeys = append(a.svcKeys, k)
		}
		a.svc[j].merge(&b.svc[i])
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
