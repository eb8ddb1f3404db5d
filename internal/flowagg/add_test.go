package flowagg

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// refAgg is a slow reference aggregator: plain maps, and a linear scan of
// the local prefixes with netip.Prefix.Contains.
type refAgg struct {
	local []netip.Prefix
	st    aggState
}

// aggState is everything an aggregator has added up, by remote address and
// service key.
type aggState struct {
	Remotes           map[string]Counters
	Services          map[uint32]Counters
	Internal, Transit Counters
	First, Last       int64
}

func newRef(local []netip.Prefix) *refAgg {
	return &refAgg{local: local, st: aggState{Remotes: map[string]Counters{}, Services: map[uint32]Counters{}}}
}

func (f *refAgg) isLocal(a netip.Addr) bool {
	for _, p := range f.local {
		if p.Masked().Contains(a) {
			return true
		}
	}
	return false
}

func (f *refAgg) add(r *flowlog.Record) {
	if !r.Start.IsZero() && (f.st.First == 0 || r.Start.UnixNano() < f.st.First) {
		f.st.First = r.Start.UnixNano()
	}
	if !r.End.IsZero() {
		f.st.Last = max(f.st.Last, r.End.UnixNano())
	}
	total := Counters{
		Bytes:   r.SrcBytes + r.DstBytes + r.UnsplitBytes,
		Packets: r.SrcPackets + r.DstPackets + r.UnsplitPackets,
		Flows:   max(r.Flows, 1),
	}
	src, dst := r.Src.Addr(), r.Dst.Addr()
	srcLocal, dstLocal := f.isLocal(src), f.isLocal(dst)
	switch {
	case srcLocal && dstLocal:
		f.st.Internal.Add(&total)
		return
	case !srcLocal && !dstLocal:
		f.st.Transit.Add(&total)
		return
	}
	c := total
	rem := src
	if srcLocal {
		rem = dst
		c.BytesOut, c.BytesIn, c.PacketsOut, c.PacketsIn, c.FlowsOut = r.SrcBytes, r.DstBytes, r.SrcPackets, r.DstPackets, total.Flows
	} else {
		c.BytesOut, c.BytesIn, c.PacketsOut, c.PacketsIn, c.FlowsIn = r.DstBytes, r.SrcBytes, r.DstPackets, r.SrcPackets, total.Flows
	}
	k := rem
	if !rem.Is4() {
		k = netip.AddrFrom16(rem.As16()) // without its zone
	}
	rc := f.st.Remotes[k.String()]
	rc.Add(&c)
	f.st.Remotes[k.String()] = rc
	ports := []uint16{r.Src.Port(), r.Dst.Port()}
	slices.Sort(ports)
	port := ports[0]
	if port == 0 {
		port = ports[1]
	}
	if r.Proto == flowlog.ProtoICMP || r.Proto == flowlog.ProtoICMPv6 {
		port = 0
	}
	sk := uint32(r.Proto)<<16 | uint32(port)
	sc := f.st.Services[sk]
	sc.Add(&c)
	f.st.Services[sk] = sc
}

// stateOf returns what a has added up, and checks that it holds each remote
// once and that inOrder gives each remote once, in address order.
func stateOf(t *testing.T, a *Aggregator) aggState {
	t.Helper()
	a.flush()
	st := aggState{
		Remotes: map[string]Counters{}, Services: map[uint32]Counters{},
		Internal: a.internal.totals(), Transit: a.transit.totals(),
		First: a.first, Last: a.last,
	}
	if len(a.addrs) != len(a.tallies) || a.Remotes() != len(a.tallies) {
		t.Fatalf("%d addresses, %d tallies, Remotes() = %d", len(a.addrs), len(a.tallies), a.Remotes())
	}
	for i := range a.tallies {
		k := a.addrs[i].Addr().String()
		if _, dup := st.Remotes[k]; dup {
			t.Errorf("remote %s held twice", k)
		}
		st.Remotes[k] = a.tallies[i].counters()
	}
	for i, k := range a.svcKeys {
		if _, dup := st.Services[k]; dup {
			t.Errorf("service %#x held twice", k)
		}
		st.Services[k] = a.svc[i].counters()
	}
	seen := make([]bool, len(a.tallies))
	var prev netip.Addr
	n := 0
	a.inOrder(func(i int32, addr netip.Addr) {
		if seen[i] || addr != a.addrs[i].Addr() {
			t.Errorf("inOrder gave %d (%s) twice or with address %s", i, a.addrs[i].Addr(), addr)
		}
		seen[i] = true
		if n > 0 && !prev.Less(addr) {
			t.Errorf("inOrder gave %s after %s", addr, prev)
		}
		prev = addr
		n++
	})
	if n != len(a.tallies) {
		t.Errorf("inOrder gave %d remotes of %d", n, len(a.tallies))
	}
	return st
}

// collide4 returns n IPv4 addresses whose hashes agree in their top bits, so
// that they fall on one slot (and its neighbours) of every table of up to
// 2^16 slots.
func collide4(n int, top uint32) []netip.Addr {
	inv := uint32(hashMul32) // the inverse of hashMul32 mod 2^32, by Newton's iteration
	for range 5 {
		inv *= 2 - hashMul32*inv
	}
	out := make([]netip.Addr, n)
	for i := range out {
		k := (top<<16 | uint32(i)) * inv
		out[i] = netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
	}
	return out
}

// randIn returns a random address of p, or its first or last address.
func randIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	bits := p.Bits()
	edge := rng.IntN(4)
	for i := range b {
		for j := range 8 {
			if i*8+j < bits {
				continue
			}
			m := byte(0x80 >> j)
			switch {
			case edge == 0 || edge > 1 && rng.IntN(2) == 0:
				b[i] &^= m
			default:
				b[i] |= m
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// localLists are the local networks the tests try: the default list, short
// and long custom lists, /0, host routes, IPv6 and IPv4-mapped networks,
// nested networks, and none.
func localLists() map[string][]netip.Prefix {
	parse := func(s string) []netip.Prefix {
		var out []netip.Prefix
		for _, f := range bytes.Fields([]byte(s)) {
			out = append(out, netip.MustParsePrefix(string(f)))
		}
		return out
	}
	lists := map[string][]netip.Prefix{
		"default":   DefaultLocal(),
		"none":      nil,
		"short":     parse("10.0.0.0/8 2001:db8::/32"),
		"host":      parse("1.2.3.4/32 5.6.0.0/16 5.6.7.8/32 2a00::1/128 9.9.9.0/31"),
		"all4":      parse("0.0.0.0/0"),
		"all6":      parse("::/0 10.0.0.0/8"),
		"mapped":    parse("::ffff:10.0.0.0/104 192.168.0.0/16"),
		"nested":    parse("10.0.0.0/16 10.0.0.0/8 10.1.2.0/24 10.1.0.0/17 172.16.0.0/12 172.16.5.0/24 11.0.0.0/7"),
		"unmasked":  parse("10.1.2.3/8 47.88.1.1/20 2a00:1450::1/32"),
		"v6only":    parse("fd00::/8 2a00:1450:4001::/48"),
		"odd-sizes": parse("64.0.0.0/3 128.0.0.0/9 130.0.0.0/15 131.1.128.0/17 131.2.3.0/25"),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var long []netip.Prefix
	for i := range shortList + 20 {
		v := rng.Uint32()
		long = append(long, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 4+i%29))
		if i%4 == 0 {
			var b [16]byte
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			long = append(long, netip.PrefixFrom(netip.AddrFrom16(b), 16+i%100))
		}
	}
	lists["long"] = long
	lists["long-all4"] = append(slices.Clone(long), netip.MustParsePrefix("0.0.0.0/0"))
	return lists
}

// addrPool returns addresses to draw record ends from: addresses in and
// around each local network, random IPv4 and IPv6 addresses, IPv4-mapped
// IPv6 ones, and IPv4 addresses that collide in the aggregator's tables.
func addrPool(rng *rand.Rand, local []netip.Prefix) []netip.Addr {
	var pool []netip.Addr
	for _, p := range append(slices.Clone(local), DefaultLocal()...) {
		for range 20 {
			a := randIn(rng, p)
			pool = append(pool, a, a.Next(), a.Prev())
		}
	}
	pool = slices.DeleteFunc(pool, func(a netip.Addr) bool { return !a.IsValid() })
	for _, a := range flowtest.RemoteAddrs(3000, rng.Uint64()) {
		pool = append(pool, a)
		if rng.IntN(10) == 0 {
			pool = append(pool, netip.AddrFrom16(a.As16()))
		}
	}
	for i := range 400 {
		var b [16]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			b[0] = 0x2a
		}
		pool = append(pool, netip.AddrFrom16(b))
	}
	pool = append(pool, collide4(700, 0x1234)...)
	pool = append(pool, collide4(100, 0)...)
	pool = append(pool, collide4(100, 0xffff)...) // from the last slot on
	pool = append(pool, netip.AddrFrom4([4]byte{}), netip.AddrFrom4([4]byte{255, 255, 255, 255}), netip.IPv6Unspecified())
	return pool
}

// randRecords returns n random records between addresses of pool, with
// random counters, ports, protocols and times.
func randRecords(rng *rand.Rand, pool []netip.Addr, n int) []flowlog.Record {
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	protos := []uint8{6, 17, flowlog.ProtoICMP, flowlog.ProtoICMPv6, 0, 47}
	ports := []uint16{0, 0, 53, 443, 80, 22, 40000, 65535}
	port := func() uint16 {
		if rng.IntN(4) == 0 {
			return uint16(rng.Uint32())
		}
		return ports[rng.IntN(len(ports))]
	}
	hot := pool[:min(len(pool), 50)]
	out := make([]flowlog.Record, n)
	for i := range out {
		r := &out[i]
		src, dst := pool[rng.IntN(len(pool))], pool[rng.IntN(len(pool))]
		if rng.IntN(3) == 0 {
			src = hot[rng.IntN(len(hot))]
		}
		r.Src, r.Dst = netip.AddrPortFrom(src, port()), netip.AddrPortFrom(dst, port())
		r.Proto = protos[rng.IntN(len(protos))]
		r.SrcBytes, r.DstBytes, r.UnsplitBytes = rng.Uint64N(1e6), rng.Uint64N(1e9), rng.Uint64N(3)*rng.Uint64N(1e4)
		r.SrcPackets, r.DstPackets, r.UnsplitPackets = rng.Uint64N(1e3), rng.Uint64N(1e6), rng.Uint64N(2)*rng.Uint64N(100)
		r.Flows = rng.Uint64N(4) * rng.Uint64N(2) // aggregated records now and then; 0 means one flow
		if rng.IntN(5) > 0 {
			r.Start = t0.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		}
		if rng.IntN(5) > 0 {
			r.End = t0.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		}
		if rng.IntN(7) == 0 {
			r.Start = r.Start.In(time.FixedZone("x", 3600)) // a location does not change the instant
		}
	}
	return out
}

// TestAddAgainstReference checks every counter an aggregator keeps (per
// remote, per service, internal, transit) and its first and last times
// against the reference, on random records that mix IPv4, IPv6 and
// IPv4-mapped IPv6 ends, local and remote, with remotes that collide in
// the aggregator's tables and grow it past several resizes, for each list
// of local networks; and the same for a merge of two aggregators.
func TestAddAgainstReference(t *testing.T) {
	t.Parallel()
	for name, prefixes := range localLists() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(len(name)), uint64(name[0])))
			recs := randRecords(rng, addrPool(rng, prefixes), 30_000)
			local := NewLocal(prefixes)
			ref := newRef(prefixes)
			whole, left, right := New(local), New(local), New(local)
			for i := range recs {
				ref.add(&recs[i])
				whole.Add(&recs[i])
				if rng.IntN(3) == 0 {
					left.Add(&recs[i])
				} else {
					right.Add(&recs[i])
				}
			}
			want := ref.st
			if name != "none" && (len(want.Remotes) < 500 || want.Internal.Flows == 0 || want.Transit.Flows == 0) {
				t.Fatalf("%d remotes, %d internal and %d transit flows: the test draws the wrong records",
					len(want.Remotes), want.Internal.Flows, want.Transit.Flows)
			}
			if diff := cmp.Diff(want, stateOf(t, whole)); diff != "" {
				t.Errorf("Add mismatch (-reference +aggregator):\n%s", diff)
			}
			empty := New(local)
			empty.Merge(left)
			empty.Merge(New(local))
			empty.Merge(right)
			if diff := cmp.Diff(want, stateOf(t, empty)); diff != "" {
				t.Errorf("Merge mismatch (-reference +merged):\n%s", diff)
			}
			left.Merge(right) // right flushed, left with records pending
			if diff := cmp.Diff(want, stateOf(t, left)); diff != "" {
				t.Errorf("Merge into a filled aggregator mismatch (-reference +merged):\n%s", diff)
			}
		})
	}
}

// TestLocalAgainstReference checks Local.Contains against a linear scan
// with netip.Prefix.Contains, on addresses in, at the edges of and next to
// each network of each list, and on random addresses.
func TestLocalAgainstReference(t *testing.T) {
	t.Parallel()
	for name, prefixes := range localLists() {
		rng := rand.New(rand.NewPCG(7, uint64(len(name))))
		local, ref := NewLocal(prefixes), newRef(prefixes)
		addrs := addrPool(rng, prefixes)
		for range 20_000 {
			v := rng.Uint64()
			addrs = append(addrs, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
		}
		for _, a := range addrs {
			if got, want := local.Contains(a), ref.isLocal(a); got != want {
				t.Errorf("%s: Contains(%s) = %v, want %v", name, a, got, want)
			}
		}
	}
}

// logRecords returns the remote ends of n records to the given number of
// distinct public IPv4 addresses in random order: uniformly or, if zipf,
// with a few remotes taking most records, as real traffic does.
func logRecords(n, remotes int, zipf bool) []netip.AddrPort {
	addrs := flowtest.RemoteAddrs(remotes, 9)
	rng := rand.New(rand.NewPCG(9, 9))
	z := rand.NewZipf(rng, 1.1, 1, uint64(remotes-1))
	ports := []uint16{443, 443, 443, 80, 53, 123, 8443, 993}
	out := make([]netip.AddrPort, n)
	for i := range out {
		k := rng.IntN(remotes)
		if zipf {
			k = int(z.Uint64())
		}
		out[i] = netip.AddrPortFrom(addrs[k], ports[rng.IntN(len(ports))])
	}
	return out
}

// BenchmarkAggregateLog measures Aggregator.Add on a log of 500,000
// records to 100,000 remotes in random order, spread uniformly or
// Zipf-like, from a fresh aggregator, as "sovmap flows" adds up one file.
// A quarter of the records are inbound; all have times. Run with -cpu 1;
// on a busy machine cpu-ns/record says more than ns/record.
func BenchmarkAggregateLog(b *testing.B) {
	const n = 500_000
	for _, spread := range []string{"uniform", "zipf"} {
		b.Run(spread, func(b *testing.B) {
			ends := logRecords(n, 100_000, spread == "zipf")
			local := NewLocal(DefaultLocal())
			src := netip.MustParseAddrPort("10.0.0.5:40000")
			// Times from a ring, as time.Time.Add would cost as much as Add.
			var starts [1024]time.Time
			for i := range starts {
				starts[i] = time.Date(2026, 6, 1, 12, 0, 0, i*1e6, time.UTC)
			}
			b.ReportAllocs()
			remotes := 0
			cpu0 := flowtest.CPUTime()
			for b.Loop() {
				a := New(local)
				r := flowlog.Record{Proto: 6, SrcBytes: 500, DstBytes: 5000, SrcPackets: 5, DstPackets: 6}
				for i, e := range ends {
					r.Src, r.Dst = src, e
					if i%4 == 0 {
						r.Src, r.Dst = e, src
					}
					r.Start, r.End = starts[i%len(starts)], starts[(i+100)%len(starts)]
					a.Add(&r)
				}
				remotes = a.Remotes()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
			b.ReportMetric(float64(flowtest.CPUTime()-cpu0)/float64(b.N)/n, "cpu-ns/record")
			b.ReportMetric(float64(remotes), "remotes")
		})
	}
}
