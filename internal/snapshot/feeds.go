package snapshot

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
)

// A FeedSource describes one provider feed in a snapshot's feed layer.
type FeedSource struct {
	Name     string `json:"name"`     // e.g. "aws"
	Provider string `json:"provider"` // catalog provider ID of the feed's owner
	File     string `json:"file,omitempty"`
	URL      string `json:"url,omitempty"`
	Date     string `json:"date,omitempty"` // date of the data, YYYY-MM-DD, when known
	SHA256   string `json:"sha256,omitempty"`
	Stats    Stats  `json:"stats"`
	Status   string `json:"status,omitempty"` // how the update treated it, e.g. "updated", "kept previous: shrank 80%"
}

// Stats measure a source, for the health guards of an update.
type Stats struct {
	Ranges      int     `json:"ranges"`
	IPv4        float64 `json:"ipv4"`              // IPv4 addresses covered (overlaps counted once per range)
	IPv6Slash48 float64 `json:"ipv6Slash48"`       // IPv6 /48 blocks covered
	Default     bool    `json:"default,omitempty"` // a range covers 0.0.0.0/0 or ::/0
}

// FeedStats computes the stats of a feed's ranges.
func FeedStats(rs []attribution.FeedRange) Stats {
	st := Stats{Ranges: len(rs)}
	for _, r := range rs {
		b := r.Prefix.Bits()
		if b == 0 {
			st.Default = true
		}
		if r.Prefix.Addr().Is4() {
			st.IPv4 += float64(uint64(1) << (32 - b))
		} else if b <= 48 {
			st.IPv6Slash48 += float64(uint64(1) << (48 - b))
		} else {
			st.IPv6Slash48 += 1 / float64(uint64(1)<<min(b-48, 63))
		}
	}
	return st
}

// feedEntry is one range of a feed, as stored.
type feedEntry struct {
	source                    uint16
	provider, region, service uint32 // indexes into feed strings
	country                   uint16
	area, city                uint32
	bits                      uint8
	v6                        uint8
	addr                      ipindex.U128 // IPv4 in Lo
}

const feedEntrySize = 2 + 4 + 4 + 4 + 2 + 4 + 4 + 1 + 1 + 8 + 8

// AddFeed adds a provider feed to the feed layer. A range's Provider, when
// set, overrides the source's (AWS publishes its China regions in the same
// file, but they are operated by other companies).
func (b *Builder) AddFeed(src FeedSource, ranges []attribution.FeedRange) {
	if src.Stats.Ranges == 0 {
		src.Stats = FeedStats(ranges)
	}
	b.feedSources = append(b.feedSources, src)
	b.feedRanges = append(b.feedRanges, ranges)
}

// buildFeeds flattens the feed ranges into segments whose values are sets
// of entries, most specific first. CIDR prefixes either nest or are
// disjoint, so the ranges open at any point form a stack.
func (b *Builder) buildFeeds(d *data) {
	if len(b.feedSources) == 0 {
		return
	}
	strIdx := map[string]uint32{}
	d.feedStrings.add("", strIdx)
	type open struct {
		entry       uint32
		first, last ipindex.U128
	}
	var fams [2][]open
	for si, rs := range b.feedRanges {
		src := b.feedSources[si]
		for _, r := range rs {
			p := r.Prefix.Masked()
			if !p.IsValid() {
				continue
			}
			prov := src.Provider
			if r.Provider != "" {
				prov = r.Provider
			}
			e := feedEntry{
				source:   uint16(si),
				provider: d.feedStrings.add(prov, strIdx),
				region:   d.feedStrings.add(r.Region, strIdx),
				service:  d.feedStrings.add(r.Service, strIdx),
				country:  countryIndex(strings.ToUpper(r.Country)),
				area:     d.feedStrings.add(r.Area, strIdx),
				city:     d.feedStrings.add(r.City, strIdx),
				bits:     uint8(p.Bits()),
			}
			fam := 0
			first, last := prefixRange(p.String())
			if p.Addr().Is6() {
				e.v6, fam = 1, 1
			}
			e.addr = first
			id := uint32(len(d.feedEntries))
			d.feedEntries = append(d.feedEntries, e)
			fams[fam] = append(fams[fam], open{id, first, last})
		}
	}
	setIdx := map[string]uint32{"": 0}
	d.feedSets = [][]uint32{nil}
	setOf := func(stack []open) uint32 {
		var key strings.Builder
		ids := make([]uint32, 0, len(stack))
		for i := len(stack) - 1; i >= 0; i-- { // most specific first
			ids = append(ids, stack[i].entry)
			key.WriteString(strconv.FormatUint(uint64(stack[i].entry), 36))
			key.WriteByte(',')
		}
		if id, ok := setIdx[key.String()]; ok {
			return id
		}
		id := uint32(len(d.feedSets))
		d.feedSets = append(d.feedSets, ids)
		setIdx[key.String()] = id
		return id
	}
	for fam := range 2 {
		es := fams[fam]
		// Larger prefixes first at the same start, then by source order.
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].first != es[j].first {
				return es[i].first.Less(es[j].first)
			}
			return es[j].last.Less(es[i].last)
		})
		maxAddr := ipindex.U128{Lo: 1<<32 - 1}
		if fam == 1 {
			maxAddr = ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
		}
		var sg segs
		emit := func(start ipindex.U128, set uint32) {
			if n := len(sg.vals); n > 0 && sg.vals[n-1] == set {
				return
			}
			if n := len(sg.starts); n > 0 && sg.starts[n-1] == start {
				sg.vals[n-1] = set
				return
			}
			sg.starts = append(sg.starts, start)
			sg.vals = append(sg.vals, set)
		}
		emit(ipindex.U128{}, 0)
		var stack []open
		pos := ipindex.U128{}
		done := false
		// close pops the ranges that end before next, emitting the
		// segments that follow each.
		closeUntil := func(next ipindex.U128, final bool) {
			for len(stack) > 0 {
				top := stack[len(stack)-1]
				if !final && !top.last.Less(next) {
					return
				}
				stack = stack[:len(stack)-1]
				// Pop every range that ends at the same address.
				for len(stack) > 0 && stack[len(stack)-1].last == top.last {
					stack = stack[:len(stack)-1]
				}
				if top.last == maxAddr {
					done = true
					return
				}
				pos = top.last.Add(1)
				if final || pos.Less(next) {
					emit(pos, setOf(stack))
				}
			}
		}
		for _, e := range es {
			closeUntil(e.first, false)
			if done {
				break
			}
			stack = append(stack, e)
			pos = e.first
			emit(pos, setOf(stack))
		}
		if !done {
			closeUntil(maxAddr, true)
		}
		d.feedFams[fam] = sg
	}
}

// Feed layer of a loaded table.

type feedLayer struct {
	strOffs  string // count+1 offsets
	strBlob  string
	nStrs    int
	entries  string // nEntries × feedEntrySize
	nEntries int
	setOffs  string // (nSets+1) × u32 offsets into setList
	setList  string // u32 entry indexes
	nSets    int
	fam      [2]family
	hits     []atomic.Pointer[[]attribution.FeedHit]
}

// decodeFeeds decodes and checks the feed layer: its strings, entries and
// sets, then the two families' segments.
func (t *Table) decodeFeeds(r *reader) error {
	f := &t.feeds
	if err := f.decodeStrings(r); err != nil {
		return err
	}
	if err := f.decodeEntries(r, len(t.meta.Feeds)); err != nil {
		return err
	}
	if err := f.decodeSets(r); err != nil {
		return err
	}
	for fam := range 2 {
		if err := r.family(&f.fam[fam], fam == 1, uint32(f.nSets)); err != nil {
			return err
		}
	}
	f.hits = make([]atomic.Pointer[[]attribution.FeedHit], f.nSets)
	return nil
}

// decodeStrings decodes the feed strings: their offsets, which must start
// at 0 and never decrease, and the blob they index.
func (f *feedLayer) decodeStrings(r *reader) error {
	f.nStrs = int(r.u32("feed string count"))
	if r.err != nil || f.nStrs > len(r.s)/4 {
		return fmt.Errorf("%w: bad feed string count", ErrCorrupt)
	}
	f.strOffs = r.take(4*(f.nStrs+1), "feed string offsets")
	if r.err != nil {
		return r.err
	}
	prev := uint32(0)
	for i := 0; i <= f.nStrs; i++ {
		o := le32(f.strOffs, 4*i)
		if o < prev || (i == 0 && o != 0) {
			return fmt.Errorf("%w: bad feed string offsets", ErrCorrupt)
		}
		prev = o
	}
	f.strBlob = r.take(int(prev), "feed strings")
	return nil
}

// decodeEntries decodes the feed entries, each of which must name strings
// and one of the nFeeds feeds that exist, and hold a valid prefix length.
func (f *feedLayer) decodeEntries(r *reader, nFeeds int) error {
	f.nEntries = int(r.u32("feed entry count"))
	if r.err != nil || f.nEntries > len(r.s)/feedEntrySize {
		return fmt.Errorf("%w: bad feed entry count", ErrCorrupt)
	}
	f.entries = r.take(f.nEntries*feedEntrySize, "feed entries")
	if r.err != nil {
		return r.err
	}
	for i := range f.nEntries {
		o := i * feedEntrySize
		for _, k := range []int{2, 6, 10, 16, 20} {
			if le32(f.entries, o+k) >= uint32(max(f.nStrs, 1)) && f.nStrs > 0 {
				return fmt.Errorf("%w: feed entry %d names a missing string", ErrCorrupt, i)
			}
		}
		if bits, v6 := f.entries[o+24], f.entries[o+25]; v6 > 1 || (v6 == 0 && bits > 32) || bits > 128 {
			return fmt.Errorf("%w: bad feed entry %d", ErrCorrupt, i)
		}
		if int(le16(f.entries, o)) >= nFeeds {
			return fmt.Errorf("%w: feed entry %d names a missing feed", ErrCorrupt, i)
		}
	}
	return nil
}

// decodeSets decodes the feed sets: set 0 is the only empty one, and every
// set names entries that exist.
func (f *feedLayer) decodeSets(r *reader) error {
	f.nSets = int(r.u32("feed set count"))
	if r.err != nil || f.nSets < 1 || f.nSets > len(r.s)/4 {
		return fmt.Errorf("%w: bad feed set count", ErrCorrupt)
	}
	f.setOffs = r.take(4*(f.nSets+1), "feed set offsets")
	if r.err != nil {
		return r.err
	}
	prev := uint32(0)
	for i := 0; i <= f.nSets; i++ {
		o := le32(f.setOffs, 4*i)
		// Set 0 is the only empty set: every other set has an entry.
		if (i == 0 && o != 0) || (i == 1 && o != 0) || (i > 1 && o <= prev) {
			return fmt.Errorf("%w: bad feed set offsets", ErrCorrupt)
		}
		prev = o
	}
	f.setList = r.take(4*int(prev), "feed sets")
	if r.err != nil {
		return r.err
	}
	for i := range int(prev) {
		if int(le32(f.setList, 4*i)) >= f.nEntries {
			return fmt.Errorf("%w: feed set names a missing entry", ErrCorrupt)
		}
	}
	return nil
}

// HasFeeds reports whether the snapshot holds a provider feed layer.
func (t *Table) HasFeeds() bool { return t.feeds.nSets > 1 }

func (f *feedLayer) str(i uint32) string {
	if int(i) >= f.nStrs {
		return ""
	}
	return f.strBlob[le32(f.strOffs, 4*int(i)):le32(f.strOffs, 4*int(i)+4)]
}

// setHits returns the feed hits of a set, most specific first, built once.
func (t *Table) setHits(set uint32) []attribution.FeedHit {
	f := &t.feeds
	if p := f.hits[set].Load(); p != nil {
		return *p
	}
	a, b := le32(f.setOffs, 4*int(set)), le32(f.setOffs, 4*int(set)+4)
	hits := make([]attribution.FeedHit, 0, b-a)
	for k := a; k < b; k++ {
		e := int(le32(f.setList, 4*int(k))) * feedEntrySize
		src := t.meta.Feeds[le16(f.entries, e)]
		var addr netip.Addr
		if f.entries[e+25] == 1 {
			addr = ipindex.U128Addr(ipindex.U128{Hi: le64(f.entries, e+26), Lo: le64(f.entries, e+34)})
		} else {
			addr = ipindex.U32Addr(uint32(le64(f.entries, e+34)))
		}
		label := src.Name
		if src.Date != "" {
			label += " " + src.Date
		}
		hits = append(hits, attribution.FeedHit{
			Feed:     src.Name,
			Label:    label,
			Provider: f.str(le32(f.entries, e+2)),
			Region:   f.str(le32(f.entries, e+6)),
			Service:  f.str(le32(f.entries, e+10)),
			Country:  countries[min(int(le16(f.entries, e+14)), len(countries)-1)],
			Area:     f.str(le32(f.entries, e+16)),
			City:     f.str(le32(f.entries, e+20)),
			Prefix:   netip.PrefixFrom(addr, int(f.entries[e+24])),
		})
	}
	f.hits[set].Store(&hits)
	return hits
}

// feedSet returns the feed set of an address, 0 if none.
func (t *Table) feedSet(addr netip.Addr) uint32 {
	if !t.HasFeeds() {
		return 0
	}
	var fam *family
	var a ipindex.U128
	switch {
	case addr.Is4():
		fam, a = &t.feeds.fam[0], ipindex.U128{Lo: uint64(ipindex.AddrU32(addr))}
	case addr.Is6():
		fam, a = &t.feeds.fam[1], ipindex.AddrU128(addr)
	default:
		return 0
	}
	if fam.ready(t) {
		if fam.v6 {
			return fam.v6x.Lookup(a)
		}
		return fam.v4.Lookup(uint32(a.Lo))
	}
	c := blockCursor{f: fam, cur: -1}
	bl := fam.findBlock(a)
	if bl < 0 || !c.load(bl) {
		return 0
	}
	i := sort.Search(c.n, func(i int) bool { return a.Less(c.starts[i]) }) - 1
	return c.vals[i]
}
