package flowagg_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sovmap/sovmap/internal/flowagg"
	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// foldRecords are records to many remotes, each seen several times and
// far apart, so that some are folded and then seen again.
func foldRecords() []flowlog.Record {
	remotes := flowtest.RemoteAddrs(4000, 5)
	for _, s := range []string{"2a00:1450:4001::1", "2400:3200::1", "2606:4700::6810:84e5", "2001:db8::1"} {
		remotes = append(remotes, netip.MustParseAddr(s))
	}
	src := netip.MustParseAddrPort("10.1.2.3:50000")
	var recs []flowlog.Record
	for round := range 3 {
		for i, a := range remotes {
			if (i+round)%3 == 0 {
				continue
			}
			r := flowlog.Record{Src: src, Dst: netip.AddrPortFrom(a, uint16(443+i%3)), Proto: 6,
				SrcBytes: uint64(100 + i*round), DstBytes: uint64(1000 + 7*i), SrcPackets: 2, DstPackets: 3}
			if i%5 == 0 { // inbound
				r.Src, r.Dst = r.Dst, r.Src
			}
			recs = append(recs, r)
		}
	}
	return recs
}

// addrs compares addresses and prefixes as values.
var addrs = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// withoutIPs returns the summary without what folding may change: the
// remote-ip group, the counts of remotes (a folded address seen again
// counts twice) and the note on folding.
func withoutIPs(s *flowagg.Summary) *flowagg.Summary {
	c := *s
	c.Groups = slices.DeleteFunc(slices.Clone(c.Groups), func(g flowagg.Group) bool { return g.By == flowagg.ByRemoteIP })
	for i := range c.Groups {
		g := &c.Groups[i]
		g.Rows = slices.Clone(g.Rows)
		for j := range g.Rows {
			g.Rows[j].Remotes = 0
		}
		if g.Other != nil {
			o := *g.Other
			o.Remotes = 0
			g.Other = &o
		}
	}
	c.Remotes, c.Folded = 0, nil
	return &c
}

// TestBound checks that an aggregator bounded to few remotes holds no more
// than its bound, and that its summary is the unbounded one's but for the
// per-address detail: every total and every group but remote-ip agrees.
func TestBound(t *testing.T) {
	eng := engine(t)
	recs := foldRecords()
	local := flowagg.NewLocal(flowagg.DefaultLocal())
	whole := flowagg.New(local)
	bounded := flowagg.New(local)
	bounded.Bound(500, eng)
	peak := 0
	for i := range recs {
		whole.Add(&recs[i])
		bounded.Add(&recs[i])
		if i%100 == 0 {
			peak = max(peak, bounded.Remotes()-bounded.Folded())
		}
	}
	if peak > 500+32 {
		t.Errorf("bounded aggregator tracked %d remotes at once, bound 500", peak)
	}
	if bounded.Folded() == 0 {
		t.Fatal("nothing was folded")
	}
	opt := flowagg.Options{By: flowagg.Dimensions, Top: 20}
	want, got := whole.Summarize(eng, opt), bounded.Summarize(eng, opt)
	if diff := cmp.Diff(withoutIPs(want), withoutIPs(got), addrs); diff != "" {
		t.Errorf("bounded summary differs (-unbounded +bounded):\n%s", diff)
	}
	if got.Folded == nil || got.Folded.Remotes != bounded.Folded() || got.Folded.MaxRemotes != 500 {
		t.Errorf("folded %+v, want %d remotes and bound 500", got.Folded, bounded.Folded())
	}
	if got.Remotes < want.Remotes {
		t.Errorf("remotes %d, fewer than the %d distinct", got.Remotes, want.Remotes)
	}
	// The remote-ip group: the same total, folded addresses in "other",
	// and the largest remotes still listed one by one.
	ips := func(s *flowagg.Summary) flowagg.Group {
		return s.Groups[slices.IndexFunc(s.Groups, func(g flowagg.Group) bool { return g.By == flowagg.ByRemoteIP })]
	}
	sum := func(g flowagg.Group) uint64 {
		n := g.Other.Bytes
		for _, r := range g.Rows {
			n += r.Bytes
		}
		return n
	}
	if w, g := sum(ips(want)), sum(ips(got)); w != g {
		t.Errorf("remote-ip bytes %d, want %d", g, w)
	}
	if w, g := ips(want).Rows[0], ips(got).Rows[0]; w.Key != g.Key || w.Bytes != g.Bytes {
		t.Errorf("top remote %s %d bytes, want %s %d", g.Key, g.Bytes, w.Key, w.Bytes)
	}
	if unbounded := whole.Summarize(eng, opt); unbounded.Folded != nil {
		t.Errorf("unbounded summary says %+v folded", unbounded.Folded)
	}
}

// TestBoundMerge merges bounded parts, as flows --parallel does, and
// bounded shards, as collect does: the totals are exact.
func TestBoundMerge(t *testing.T) {
	eng := engine(t)
	recs := foldRecords()
	local := flowagg.NewLocal(flowagg.DefaultLocal())
	whole := flowagg.New(local)
	parts := make([]*flowagg.Aggregator, 3)
	for i := range parts {
		parts[i] = flowagg.New(local)
		parts[i].Bound(300, eng)
	}
	sh := flowagg.NewShards(3, local)
	sh.Bound(900, eng)
	for i := range recs {
		whole.Add(&recs[i])
		parts[i%3].Add(&recs[i])
		sh.Add(i%3, recs[i:i+1])
	}
	merged := parts[0]
	merged.Merge(parts[1])
	merged.Merge(parts[2])
	if n := merged.Remotes() - merged.Folded(); n > 300+32 {
		t.Errorf("merged aggregator tracks %d remotes, bound 300", n)
	}
	opt := flowagg.Options{By: flowagg.Dimensions}
	want := withoutIPs(whole.Summarize(eng, opt))
	if diff := cmp.Diff(want, withoutIPs(merged.Summarize(eng, opt)), addrs); diff != "" {
		t.Errorf("merged parts differ (-unbounded +merged):\n%s", diff)
	}
	taken := sh.Take()
	if taken.MaxRemotes() != 900 || taken.Folded() == 0 {
		t.Errorf("shards: bound %d, %d folded", taken.MaxRemotes(), taken.Folded())
	}
	if diff := cmp.Diff(want, withoutIPs(taken.Summarize(eng, opt)), addrs); diff != "" {
		t.Errorf("bounded shards differ (-unbounded +shards):\n%s", diff)
	}
}

// TestRegistryTier checks that traffic whose control comes from the AS
// holder's registration is kept apart from catalog-backed control: its own
// rows in the control group, its own total, and not unattributed.
func TestRegistryTier(t *testing.T) {
	eng := engine(t)
	local := flowagg.NewLocal(flowagg.DefaultLocal())
	a := flowagg.New(local)
	src := netip.MustParseAddrPort("10.1.2.3:50000")
	// 47.88.1.1: Alibaba Cloud, in the catalog (CN). The others are drawn
	// until one is on a network the catalog does not know, registered in
	// CN, and one on no route at all.
	catalogCN := netip.MustParseAddr("47.88.1.1")
	var registryCN netip.Addr
	for _, r := range flowtest.RemoteAddrs(20000, 17) {
		rec := eng.Attribute(r)
		if rec.Control != nil && rec.Control.Source == "registry" && rec.Control.Country == "CN" {
			registryCN = r
			break
		}
	}
	if !registryCN.IsValid() {
		t.Fatal("no address on a CN-registered network unknown to the catalog in the sample")
	}
	unrouted := netip.MustParseAddr("3fff::1")
	for _, x := range []struct {
		addr  netip.Addr
		bytes uint64
	}{{catalogCN, 1000}, {registryCN, 300}, {unrouted, 7}} {
		r := flowlog.Record{Src: src, Dst: netip.AddrPortFrom(x.addr, 443), Proto: 6, SrcBytes: x.bytes, SrcPackets: 1}
		a.Add(&r)
	}
	s := a.Summarize(eng, flowagg.Options{By: []string{flowagg.ByControl}})
	if s.RegistryOnly.Bytes != 300 || s.Unattributed.Bytes != 7 || s.Remote.Bytes != 1307 {
		t.Errorf("registry only %d, unattributed %d, remote %d bytes; want 300, 7, 1307", s.RegistryOnly.Bytes, s.Unattributed.Bytes, s.Remote.Bytes)
	}
	type row struct {
		Key, Control, RegistryControl string
		Bytes                         uint64
	}
	var got []row
	for _, r := range s.Groups[0].Rows {
		got = append(got, row{r.Key, r.Control, r.RegistryControl, r.Bytes})
	}
	want := []row{{"CN", "CN", "", 1000}, {"CN", "", "CN", 300}, {"", "", "", 7}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("control rows (-want +got):\n%s", diff)
	}
}
