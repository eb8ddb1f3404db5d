package flowagg

import (
	"net/netip"

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
	if outbound {
		t.bytesOut += r.SrcBytes
		t.bytesIn += r.DstBytes
		t.pktsOut += r.SrcPackets
		t.pktsIn += r.DstPackets
		t.flowsOut++
	} else {
		t.bytesOut += r.DstBytes
		t.bytesIn += r.SrcBytes
		t.pktsOut += r.DstPackets
		t.pktsIn += r.SrcPackets
		t.flowsIn++
	}
	t.bytesUnsplit += r.UnsplitBytes
	t.pktsUnsplit += r.UnsplitPackets
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
func (a *Aggregator) Remotes() int { return len(a.tallies) }

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
	a.remote(rem).add(r, outbound)
	a.service(r).add(r, outbound)
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

func (a *Aggregator) service(r *flowlog.Record) *tally {
	k := serviceKey(r)
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
