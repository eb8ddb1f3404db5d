package snapshot

import (
	"net/netip"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
)

// ASNames returns the AS name of every AS number the snapshot knows. An AS
// that appears with several names (the sources disagree) gets the first in
// the snapshot's order, which is deterministic.
func (t *Table) ASNames() map[uint32]string {
	names := make(map[uint32]string, t.nTuples/2)
	for k := 1; k < t.nTuples; k++ {
		tp := t.tuple(uint32(k))
		if tp.asn == 0 {
			continue
		}
		if _, ok := names[tp.asn]; ok {
			continue
		}
		if n := t.name(tp.name); n != "" {
			names[tp.asn] = n
		}
	}
	return names
}

// FeedRanges returns the ranges of the provider feed named name (a
// [FeedSource] Name of [Meta].Feeds) as they were added, in order, or nil
// if the snapshot holds no such feed. A range's Provider is set only where
// it differs from the feed's.
func (t *Table) FeedRanges(name string) []attribution.FeedRange {
	src := -1
	for i, f := range t.meta.Feeds {
		if f.Name == name {
			src = i
			break
		}
	}
	if src < 0 {
		return nil
	}
	f := &t.feeds
	var out []attribution.FeedRange
	for i := range f.nEntries {
		e := i * feedEntrySize
		if int(le16(f.entries, e)) != src {
			continue
		}
		var addr netip.Addr
		if f.entries[e+25] == 1 {
			addr = ipindex.U128Addr(ipindex.U128{Hi: le64(f.entries, e+26), Lo: le64(f.entries, e+34)})
		} else {
			addr = ipindex.U32Addr(uint32(le64(f.entries, e+34)))
		}
		r := attribution.FeedRange{
			Prefix:  netip.PrefixFrom(addr, int(f.entries[e+24])),
			Region:  f.str(le32(f.entries, e+6)),
			Service: f.str(le32(f.entries, e+10)),
			Country: countries[min(int(le16(f.entries, e+14)), len(countries)-1)],
			Area:    f.str(le32(f.entries, e+16)),
			City:    f.str(le32(f.entries, e+20)),
		}
		if p := f.str(le32(f.entries, e+2)); p != t.meta.Feeds[src].Provider {
			r.Provider = p
		}
		out = append(out, r)
	}
	return out
}
