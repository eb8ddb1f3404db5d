package snapshot

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/ipindex"
	"github.com/sovmap/sovmap/internal/iso"
	"github.com/sovmap/sovmap/internal/source/ipdb"
)

// Dataset names one of the three kinds of routing data a snapshot merges.
type Dataset int

// The datasets of a snapshot.
const (
	ASNData          Dataset = iota // origin ASN and AS name
	RegistrationData                // RIR registration country
	LocationData                    // geolocation country
)

func (d Dataset) String() string {
	switch d {
	case ASNData:
		return "asn"
	case RegistrationData:
		return "registration"
	case LocationData:
		return "location"
	}
	return fmt.Sprintf("dataset(%d)", int(d))
}

// A Problem is a defect found in the input while building.
type Problem struct {
	Kind   string `json:"kind"`   // e.g. "reversed-range", "overlap", "special-use", "bad-asn"
	File   string `json:"file"`   // input file
	Line   int    `json:"line"`   // 1-based line, 0 if not about one line
	Detail string `json:"detail"` // what was wrong and what was done
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Kind, p.Detail)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, p.Kind, p.Detail)
}

// Repaired reports whether the builder repaired the defect (clipped a range)
// rather than dropping the record.
func (p Problem) Repaired() bool {
	switch p.Kind {
	case "overlap-clipped", "overlap-nested", "special-use-clipped", "duplicate", "conflict":
		return true
	}
	return false
}

// A Builder compiles ip-location-db files into a snapshot.
type Builder struct {
	meta     Meta
	problems []Problem
	ranges   [3][2][]rng // dataset, family (0 = IPv4, 1 = IPv6)

	asnVals  []asnVal
	asnIndex map[asnVal]uint32
	ccVals   []string
	ccIndex  map[string]uint32

	files []string // input file names; rng.file indexes them

	feedSources []FeedSource
	feedRanges  [][]attribution.FeedRange // per source
}

type rng struct {
	first, last ipindex.U128
	val         uint32 // index into the dataset's values, from 1
	line        int
	file        uint16 // index into Builder.files
}

type asnVal struct {
	asn  uint32
	name string
}

// NewBuilder returns a builder for a snapshot described by meta (sources,
// versions, dates, licenses). Counts and problems are filled in by Build.
func NewBuilder(meta Meta) *Builder {
	return &Builder{
		meta:     meta,
		asnVals:  []asnVal{{}},
		asnIndex: map[asnVal]uint32{},
		ccVals:   []string{""},
		ccIndex:  map[string]uint32{},
	}
}

func (b *Builder) problem(kind, file string, line int, format string, args ...any) {
	b.problems = append(b.problems, Problem{Kind: kind, File: file, Line: line, Detail: fmt.Sprintf(format, args...)})
}

// fileIndex returns the index of an input file name, adding it.
func (b *Builder) fileIndex(name string) uint16 {
	for i, f := range b.files {
		if f == name {
			return uint16(i)
		}
	}
	b.files = append(b.files, name)
	return uint16(len(b.files) - 1)
}

// AddFile reads one CSV file of a dataset. Malformed lines are recorded as
// problems and skipped. The error is an I/O error.
func (b *Builder) AddFile(ds Dataset, name string, r io.Reader) error {
	fileIdx := b.fileIndex(name)
	kind := ipdb.Country
	if ds == ASNData {
		kind = ipdb.ASN
	}
	lineErrs, err := ipdb.Read(name, r, kind, func(x ipdb.Range) {
		var v uint32
		switch ds {
		case ASNData:
			if why := badASN(x.ASN); why != "" {
				b.problem("bad-asn", name, x.Line, "AS%d is %s; range %s-%s dropped", x.ASN, why, x.First, x.Last)
				return
			}
			k := asnVal{x.ASN, x.Name}
			id, ok := b.asnIndex[k]
			if !ok {
				id = uint32(len(b.asnVals))
				b.asnVals = append(b.asnVals, k)
				b.asnIndex[k] = id
			}
			v = id
		default:
			cc := strings.ToUpper(x.Country)
			if !isCountry(cc) {
				b.problem("bad-country", name, x.Line, "%q is not an ISO 3166 country code; range %s-%s dropped", x.Country, x.First, x.Last)
				return
			}
			id, ok := b.ccIndex[cc]
			if !ok {
				id = uint32(len(b.ccVals))
				b.ccVals = append(b.ccVals, cc)
				b.ccIndex[cc] = id
			}
			v = id
		}
		fam := 0
		first, last := ipindex.AddrU128(x.First), ipindex.AddrU128(x.Last)
		if x.First.Is4() {
			first, last = ipindex.U128{Lo: uint64(ipindex.AddrU32(x.First))}, ipindex.U128{Lo: uint64(ipindex.AddrU32(x.Last))}
		} else {
			fam = 1
		}
		b.ranges[ds][fam] = append(b.ranges[ds][fam], rng{first: first, last: last, val: v, line: x.Line, file: fileIdx})
	})
	for _, le := range lineErrs {
		b.problem("malformed", name, le.Line, "%v; line skipped", le.Err)
	}
	return err
}

// badASN says why an ASN cannot be an origin AS, or "" if it can.
// Reserved numbers per the IANA special-purpose AS numbers registry
// (RFC 7607, RFC 6793, RFC 5398, RFC 6996, RFC 7300).
func badASN(a uint32) string {
	switch {
	case a == 0:
		return "reserved (RFC 7607)"
	case a == 23456:
		return "AS_TRANS (RFC 6793)"
	case a >= 64496 && a <= 64511, a >= 65536 && a <= 65551:
		return "reserved for documentation (RFC 5398)"
	case a >= 64512 && a <= 65534, a >= 4200000000 && a <= 4294967294:
		return "private use (RFC 6996)"
	case a == 65535, a == 4294967295:
		return "reserved (RFC 7300)"
	}
	return ""
}

// isCountry reports whether cc is a country code (two upper-case letters,
// [iso.IsCountry]) other than the placeholders that geolocation databases
// write for no country or several: ZZ and XX (unknown), EU and AP (a
// continent) and MaxMind's A1, A2 and O1 (proxy, satellite, other).
func isCountry(cc string) bool {
	switch cc {
	case "ZZ", "XX", "EU", "AP", "A1", "A2", "O1":
		return false
	}
	return iso.IsCountry(cc)
}

// specialUse lists address space that is never routed on the internet
// (IANA IPv4 and IPv6 special-purpose address registries, RFC 6890).
var specialUse = [2][]string{
	{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"},
	{"::/8", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8"},
}

func prefixRange(s string) (first, last ipindex.U128) {
	p := netip.MustParsePrefix(s)
	a := p.Addr()
	if a.Is4() {
		f := ipindex.AddrU32(a)
		l := f | (1<<(32-p.Bits()) - 1)
		return ipindex.U128{Lo: uint64(f)}, ipindex.U128{Lo: uint64(l)}
	}
	f := ipindex.AddrU128(a)
	l := f
	n := p.Bits()
	if n < 64 {
		l.Hi |= ^uint64(0) >> n
		l.Lo = ^uint64(0)
	} else {
		l.Lo |= ^uint64(0) >> (n - 64)
	}
	return f, l
}

func less(a, b ipindex.U128) bool { return a.Less(b) }

// clean makes one dataset's ranges disjoint, reporting and repairing what it
// can. Where ranges overlap, the smaller range wins inside its span and the
// larger one keeps the rest (longest-prefix semantics: the upstream files
// sometimes leave a more specific geofeed range nested in a larger one).
// Between equal ranges the earlier line wins. Special-use space is cut out.
func (b *Builder) clean(ds Dataset, fam int) []rng {
	rs := b.ranges[ds][fam]
	kept := rs[:0]
	for _, r := range rs {
		if less(r.last, r.first) {
			b.problem("reversed-range", b.files[r.file], r.line, "range end before start; dropped")
			continue
		}
		kept = append(kept, r)
	}
	// Special-use space is cut from each input range first, so that the
	// problem names the range's own line.
	rs = b.cutSpecial(kept, fam)
	sort.SliceStable(rs, func(i, j int) bool { return less(rs[i].first, rs[j].first) })
	maxAddr := ipindex.U128{Lo: 1<<32 - 1}
	if fam == 1 {
		maxAddr = ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
	}
	var out []rng
	emit := func(r rng, first, last ipindex.U128) {
		if n := len(out); n > 0 && out[n-1].val == r.val && out[n-1].last.Add(1) == first {
			out[n-1].last = last
			return
		}
		r.first, r.last = first, last
		out = append(out, r)
	}
	h := &rangeHeap{}
	pos := ipindex.U128{}
	i := 0
	for i < len(rs) || h.Len() > 0 {
		if h.Len() == 0 {
			pos = rs[i].first
		}
		for i < len(rs) && !less(pos, rs[i].first) {
			r := rs[i]
			same := -1
			for k, o := range h.s {
				if o.first == r.first && o.last == r.last && !less(o.last, pos) {
					same = k
					break
				}
			}
			if top, ok := h.top(); ok {
				switch {
				case same >= 0:
					o := h.s[same]
					if o.val == r.val {
						b.problem("duplicate", b.files[r.file], r.line, "same range as %s:%d; dropped", b.files[o.file], o.line)
					} else {
						b.problem("conflict", b.files[r.file], r.line, "same range as %s:%d with another value; that line wins", b.files[o.file], o.line)
					}
				case !less(top.last, r.last):
					b.problem("overlap-nested", b.files[r.file], r.line, "range lies inside the range of line %d; it wins there, the outer range keeps the rest", top.line)
				default:
					b.problem("overlap-clipped", b.files[r.file], r.line, "range overlaps the range of line %d; the smaller range wins where they overlap", top.line)
				}
			}
			h.push(r)
			i++
		}
		for h.Len() > 0 && less(h.s[0].last, pos) {
			h.pop()
		}
		top, ok := h.top()
		if !ok {
			continue
		}
		end := top.last
		if i < len(rs) && less(rs[i].first.Sub1(), end) {
			end = rs[i].first.Sub1()
		}
		emit(top, pos, end)
		if end == maxAddr {
			break
		}
		pos = end.Add(1)
		for h.Len() > 0 && less(h.s[0].last, pos) {
			h.pop()
		}
	}
	return out
}

// cutSpecial removes special-use space from sorted, disjoint ranges.
func (b *Builder) cutSpecial(rs []rng, fam int) []rng {
	type block struct {
		first, last ipindex.U128
		name        string
	}
	var sp []block
	for _, s := range specialUse[fam] {
		f, l := prefixRange(s)
		sp = append(sp, block{f, l, s})
	}
	sort.Slice(sp, func(i, j int) bool { return less(sp[i].first, sp[j].first) })
	var res []rng
	for _, r := range rs {
		for _, s := range sp {
			if less(r.last, s.first) || less(s.last, r.first) || less(r.last, r.first) {
				continue
			}
			b.problem("special-use-clipped", b.files[r.file], r.line, "range overlaps special-use block %s; that part removed", s.name)
			if less(r.first, s.first) {
				q := r
				q.last = s.first.Sub1()
				res = append(res, q)
			}
			if !less(s.last, r.last) {
				r.first, r.last = ipindex.U128{Lo: 1}, ipindex.U128{} // emptied
				break
			}
			r.first = s.last.Add(1)
		}
		if !less(r.last, r.first) {
			res = append(res, r)
		}
	}
	return res
}

// rangeHeap orders active ranges by size, smallest first, then by line.
type rangeHeap struct{ s []rng }

func (h *rangeHeap) Len() int { return len(h.s) }

func rangeLess(a, b rng) bool {
	sa, sb := size(a), size(b)
	if sa != sb {
		return less(sa, sb)
	}
	if a.file != b.file {
		return a.file < b.file // files in the order they were added
	}
	return a.line < b.line
}

// size returns last-first (the range's size minus one).
func size(r rng) ipindex.U128 {
	lo := r.last.Lo - r.first.Lo
	hi := r.last.Hi - r.first.Hi
	if r.last.Lo < r.first.Lo {
		hi--
	}
	return ipindex.U128{Hi: hi, Lo: lo}
}

func (h *rangeHeap) top() (rng, bool) {
	if len(h.s) == 0 {
		return rng{}, false
	}
	return h.s[0], true
}

func (h *rangeHeap) push(r rng) {
	h.s = append(h.s, r)
	for i := len(h.s) - 1; i > 0; {
		p := (i - 1) / 2
		if !rangeLess(h.s[i], h.s[p]) {
			break
		}
		h.s[i], h.s[p] = h.s[p], h.s[i]
		i = p
	}
}

func (h *rangeHeap) pop() {
	n := len(h.s) - 1
	h.s[0] = h.s[n]
	h.s = h.s[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && rangeLess(h.s[l], h.s[m]) {
			m = l
		}
		if r < n && rangeLess(h.s[r], h.s[m]) {
			m = r
		}
		if m == i {
			break
		}
		h.s[i], h.s[m] = h.s[m], h.s[i]
		i = m
	}
}

// Build merges the datasets into a snapshot.
func (b *Builder) Build() (*Table, []Problem, error) {
	var d data
	var names []byte
	d.nameOff = []uint32{0, 0} // name 0 is ""
	nameIdx := map[string]uint32{"": 0}
	d.tuples = []tuple{{}}
	tupleIdx := map[[3]uint32]uint32{{}: 0}
	for fam := range 2 {
		var cl [3][]rng
		for ds := range 3 {
			cl[ds] = b.clean(Dataset(ds), fam)
		}
		maxAddr := ipindex.U128{Lo: 1<<32 - 1}
		if fam == 1 {
			maxAddr = ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
		}
		var starts []ipindex.U128
		var vals []uint32
		var ptr [3]int
		pos := ipindex.U128{}
		for {
			var key [3]uint32
			segEnd := maxAddr // inclusive end of the segment starting at pos
			for ds := range 3 {
				rs := cl[ds]
				for ptr[ds] < len(rs) && less(rs[ptr[ds]].last, pos) {
					ptr[ds]++
				}
				if ptr[ds] >= len(rs) {
					continue
				}
				r := rs[ptr[ds]]
				if !less(pos, r.first) { // r.first <= pos <= r.last
					key[ds] = r.val
					if less(r.last, segEnd) {
						segEnd = r.last
					}
				} else if e := r.first.Sub1(); less(e, segEnd) {
					segEnd = e
				}
			}
			id, ok := tupleIdx[key]
			if !ok {
				av := b.asnVals[key[0]]
				ni, ok := nameIdx[av.name]
				if !ok {
					ni = uint32(len(d.nameOff) - 1)
					names = append(names, av.name...)
					d.nameOff = append(d.nameOff, uint32(len(names)))
					nameIdx[av.name] = ni
				}
				id = uint32(len(d.tuples))
				d.tuples = append(d.tuples, tuple{asn: av.asn, name: ni, reg: countryIndex(b.ccVals[key[1]]), loc: countryIndex(b.ccVals[key[2]])})
				tupleIdx[key] = id
			}
			if len(vals) == 0 || vals[len(vals)-1] != id {
				starts = append(starts, pos)
				vals = append(vals, id)
			}
			if segEnd == maxAddr {
				break
			}
			pos = segEnd.Add(1)
		}
		d.fams[fam] = segs{starts: starts, vals: vals}
	}
	b.buildFeeds(&d)
	d.names = string(names)
	meta := b.meta
	meta.Format = FormatVersion
	meta.Counts = Counts{IPv4Segments: len(d.fams[0].starts), IPv6Segments: len(d.fams[1].starts), Tuples: len(d.tuples), Names: d.nameCount(), FeedEntries: len(d.feedEntries)}
	meta.Feeds = b.feedSources
	for ds := range 3 {
		meta.Counts.Ranges[ds] = len(b.ranges[ds][0]) + len(b.ranges[ds][1])
	}
	meta.Problems = summarize(b.problems)
	d.meta = meta
	raw, err := d.encode()
	if err != nil {
		return nil, b.problems, err
	}
	t, err := Decode(raw)
	if err != nil {
		return nil, b.problems, err
	}
	return t, b.problems, nil
}

// summarize counts problems by kind, keeping the first few of each.
func summarize(ps []Problem) []ProblemSummary {
	byKind := map[string]*ProblemSummary{}
	var kinds []string
	for _, p := range ps {
		s, ok := byKind[p.Kind]
		if !ok {
			s = &ProblemSummary{Kind: p.Kind}
			byKind[p.Kind] = s
			kinds = append(kinds, p.Kind)
		}
		s.Count++
		if len(s.Examples) < 5 {
			s.Examples = append(s.Examples, p.String())
		}
	}
	sort.Strings(kinds)
	out := make([]ProblemSummary, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, *byKind[k])
	}
	return out
}

// AddTable adds the routing data of an existing snapshot for the given
// datasets (all three when none are given), so that an update can replace
// some datasets and keep the others, or add provider feeds alone.
func (b *Builder) AddTable(t *Table, datasets ...Dataset) error {
	if len(datasets) == 0 {
		datasets = []Dataset{ASNData, RegistrationData, LocationData}
	}
	name := "snapshot " + t.meta.Name
	fileIdx := b.fileIndex(name)
	for _, src := range t.meta.Sources {
		for _, ds := range datasets {
			if src.Dataset == ds.String() {
				b.meta.Sources = append(b.meta.Sources, src)
				if src.Date > b.meta.Built {
					b.meta.Built = src.Date
				}
			}
		}
	}
	for fam := range 2 {
		f := &t.fam[fam]
		var starts [blockSize]ipindex.U128
		var vals [blockSize]uint32
		// Segment i runs until segment i+1 starts; walk blocks in order and
		// emit each segment when the next start is known.
		var prevStart ipindex.U128
		var prevVal uint32
		have := false
		emit := func(last ipindex.U128) {
			if !have || prevVal == 0 {
				return
			}
			tp := t.tuple(prevVal)
			for _, ds := range datasets {
				var v uint32
				switch ds {
				case ASNData:
					if tp.asn == 0 {
						continue
					}
					k := asnVal{tp.asn, t.name(tp.name)}
					id, ok := b.asnIndex[k]
					if !ok {
						id = uint32(len(b.asnVals))
						b.asnVals = append(b.asnVals, k)
						b.asnIndex[k] = id
					}
					v = id
				case RegistrationData, LocationData:
					c := tp.reg
					if ds == LocationData {
						c = tp.loc
					}
					if c == 0 {
						continue
					}
					cc := countries[c]
					id, ok := b.ccIndex[cc]
					if !ok {
						id = uint32(len(b.ccVals))
						b.ccVals = append(b.ccVals, cc)
						b.ccIndex[cc] = id
					}
					v = id
				}
				b.ranges[ds][fam] = append(b.ranges[ds][fam], rng{first: prevStart, last: last, val: v, file: fileIdx})
			}
		}
		for bl := range f.nBlocks {
			n, err := f.decodeBlock(bl, &starts, &vals)
			if err != nil {
				return err
			}
			for i := range n {
				emit(starts[i].Sub1())
				prevStart, prevVal, have = starts[i], vals[i], true
			}
		}
		emit(f.maxAddr())
	}
	return nil
}
