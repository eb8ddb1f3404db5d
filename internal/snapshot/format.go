package snapshot

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/sovmap/sovmap/internal/ipindex"
)

// FormatVersion is the version of the file format that this package writes.
// Readers refuse other versions.
const FormatVersion = 1

const magic = "SOVMAPDB"

// The checksum is CRC-32C (Castagnoli) of everything before it: it detects
// corruption and truncation at memory speed. It is no defence against
// tampering; compare the file's SHA-256 with a trusted copy for that.
const checksumSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockSize is the number of segments per block. A lookup in a table that
// has not been expanded decodes one block.
const blockSize = 64

// ErrCorrupt is wrapped by the errors of [Decode] for a file that is
// truncated, fails its checksum or does not parse.
var ErrCorrupt = errors.New("snapshot is corrupted or truncated")

// Meta describes a snapshot: its sources and what was built from them.
type Meta struct {
	Format   int              `json:"format"`
	Name     string           `json:"name"`  // e.g. "embedded"
	Built    string           `json:"built"` // date of the newest source, YYYY-MM-DD
	Sources  []SourceInfo     `json:"sources"`
	Counts   Counts           `json:"counts"`
	Problems []ProblemSummary `json:"problems,omitempty"`
	Feeds    []FeedSource     `json:"feeds,omitempty"` // provider feeds in the feed layer
}

// SourceInfo is one upstream source of a snapshot.
type SourceInfo struct {
	Dataset     string     `json:"dataset"` // asn, registration, location
	Name        string     `json:"name"`    // e.g. "@ip-location-db/asn"
	Version     string     `json:"version"`
	Date        string     `json:"date"` // YYYY-MM-DD of the data
	License     string     `json:"license"`
	Attribution string     `json:"attribution"`
	URL         string     `json:"url,omitempty"`
	Integrity   string     `json:"integrity,omitempty"` // of the fetched package
	Files       []FileInfo `json:"files,omitempty"`
}

// FileInfo is one input file of a source.
type FileInfo struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Lines  int    `json:"lines"`
}

// Counts are record counts of a snapshot.
type Counts struct {
	Ranges       [3]int `json:"ranges"` // input ranges per dataset: asn, registration, location
	IPv4Segments int    `json:"ipv4Segments"`
	IPv6Segments int    `json:"ipv6Segments"`
	Tuples       int    `json:"tuples"`
	Names        int    `json:"names"`
	FeedEntries  int    `json:"feedEntries,omitempty"`
}

// ProblemSummary counts the input defects of one kind.
type ProblemSummary struct {
	Kind     string   `json:"kind"`
	Count    int      `json:"count"`
	Examples []string `json:"examples,omitempty"`
}

// data is what a builder produces, before encoding.
type data struct {
	meta    Meta
	names   string   // all AS names, concatenated
	nameOff []uint32 // name i is names[nameOff[i]:nameOff[i+1]]
	tuples  []tuple
	fams    [2]segs // routing segments: IPv4, IPv6

	// The feed layer; empty when the snapshot holds no provider feeds.
	feedStrings strList
	feedEntries []feedEntry
	feedSets    [][]uint32 // set 0 is empty
	feedFams    [2]segs
}

// segs is a segment list of one family (IPv4 starts are in Lo).
type segs struct {
	starts []ipindex.U128
	vals   []uint32
}

// strList is a list of strings stored as one blob and offsets.
type strList struct {
	blob []byte
	off  []uint32 // len = count+1
}

func (l *strList) add(s string, idx map[string]uint32) uint32 {
	if i, ok := idx[s]; ok {
		return i
	}
	if len(l.off) == 0 {
		l.off = []uint32{0}
	}
	i := uint32(len(l.off) - 1)
	l.blob = append(l.blob, s...)
	l.off = append(l.off, uint32(len(l.blob)))
	idx[s] = i
	return i
}

func (d *data) nameCount() int { return len(d.nameOff) - 1 }

// A tuple is the routing facts of a segment. Countries are indexes into
// [countries], 0 for none.
type tuple struct {
	asn      uint32
	name     uint32
	reg, loc uint16
}

const tupleSize = 12

// encode lays out the file of docs/snapshot.md.
func (d *data) encode() ([]byte, error) {
	var buf bytes.Buffer
	var tmp [binary.MaxVarintLen64]byte
	u16 := func(v uint16) { binary.LittleEndian.PutUint16(tmp[:2], v); buf.Write(tmp[:2]) }
	u32 := func(v uint32) { binary.LittleEndian.PutUint32(tmp[:4], v); buf.Write(tmp[:4]) }
	u64 := func(v uint64) { binary.LittleEndian.PutUint64(tmp[:8], v); buf.Write(tmp[:8]) }
	buf.WriteString(magic)
	u32(FormatVersion)
	mj, err := json.Marshal(d.meta)
	if err != nil {
		return nil, err
	}
	u32(uint32(len(mj)))
	buf.Write(mj)

	// Names: count, count+1 offsets, blob.
	u32(uint32(d.nameCount()))
	for _, o := range d.nameOff {
		u32(o)
	}
	buf.WriteString(d.names)

	// Tuples: fixed width.
	u32(uint32(len(d.tuples)))
	for _, tp := range d.tuples {
		u32(tp.asn)
		u32(tp.name)
		u16(tp.reg)
		u16(tp.loc)
	}

	// Segments, per family: count, block count, directory, data.
	for fam := range 2 {
		encodeSegs(&buf, fam == 1, d.fams[fam])
	}

	// Feed layer: strings, entries, sets, then segments per family.
	if len(d.feedStrings.off) == 0 {
		d.feedStrings.off = []uint32{0}
	}
	u32(uint32(len(d.feedStrings.off) - 1))
	for _, o := range d.feedStrings.off {
		u32(o)
	}
	buf.Write(d.feedStrings.blob)
	u32(uint32(len(d.feedEntries)))
	for _, e := range d.feedEntries {
		u16(e.source)
		u32(e.provider)
		u32(e.region)
		u32(e.service)
		u16(e.country)
		u32(e.area)
		u32(e.city)
		buf.WriteByte(e.bits)
		buf.WriteByte(e.v6)
		u64(e.addr.Hi)
		u64(e.addr.Lo)
	}
	sets := d.feedSets
	if len(sets) == 0 {
		sets = [][]uint32{nil}
	}
	u32(uint32(len(sets)))
	total := 0
	for _, st := range sets {
		u32(uint32(total))
		total += len(st)
	}
	u32(uint32(total))
	for _, st := range sets {
		for _, e := range st {
			u32(e)
		}
	}
	for fam := range 2 {
		fs := d.feedFams[fam]
		if len(fs.starts) == 0 {
			fs = segs{starts: []ipindex.U128{{}}, vals: []uint32{0}}
		}
		encodeSegs(&buf, fam == 1, fs)
	}
	binary.LittleEndian.PutUint32(tmp[:4], crc32.Checksum(buf.Bytes(), castagnoli))
	buf.Write(tmp[:4])
	return buf.Bytes(), nil
}

// encodeSegs writes a segment list: count, block count, directory, data.
func encodeSegs(buf *bytes.Buffer, v6 bool, sg segs) {
	var tmp [binary.MaxVarintLen64]byte
	n := len(sg.starts)
	nb := (n + blockSize - 1) / blockSize
	binary.LittleEndian.PutUint32(tmp[:4], uint32(n))
	buf.Write(tmp[:4])
	binary.LittleEndian.PutUint32(tmp[:4], uint32(nb))
	buf.Write(tmp[:4])
	var blob, dir bytes.Buffer
	uv := func(v uint64) { blob.Write(tmp[:binary.PutUvarint(tmp[:], v)]) }
	for b := range nb {
		first := b * blockSize
		if v6 {
			binary.LittleEndian.PutUint64(tmp[:8], sg.starts[first].Hi)
			dir.Write(tmp[:8])
			binary.LittleEndian.PutUint64(tmp[:8], sg.starts[first].Lo)
			dir.Write(tmp[:8])
		} else {
			binary.LittleEndian.PutUint32(tmp[:4], uint32(sg.starts[first].Lo))
			dir.Write(tmp[:4])
		}
		binary.LittleEndian.PutUint32(tmp[:4], uint32(blob.Len()))
		dir.Write(tmp[:4])
		for i := first; i < min(first+blockSize, n); i++ {
			if i > first {
				s, p := sg.starts[i], sg.starts[i-1]
				switch {
				case !v6:
					uv(s.Lo - p.Lo)
				case s.Hi == p.Hi:
					uv(0)
					uv(s.Lo - p.Lo)
				default:
					uv(s.Hi - p.Hi)
					uv(s.Lo)
				}
			}
			uv(uint64(sg.vals[i]))
		}
	}
	buf.Write(dir.Bytes())
	binary.LittleEndian.PutUint64(tmp[:8], uint64(blob.Len()))
	buf.Write(tmp[:8])
	buf.Write(blob.Bytes())
}

// Encode writes the snapshot file.
func (t *Table) Encode(w io.Writer) error {
	_, err := io.WriteString(w, t.src)
	return err
}

// reader reads fixed-width fields from a string, remembering failure.
type reader struct {
	s   string
	off int
	err error
}

func (r *reader) take(n int, what string) string {
	if r.err != nil {
		return ""
	}
	if n < 0 || n > len(r.s)-r.off {
		r.err = fmt.Errorf("%w: %s runs past the end of the file", ErrCorrupt, what)
		return ""
	}
	v := r.s[r.off : r.off+n]
	r.off += n
	return v
}

func (r *reader) u32(what string) uint32 {
	b := r.take(4, what)
	if len(b) < 4 {
		return 0
	}
	return le32(b, 0)
}

func (r *reader) u64(what string) uint64 {
	b := r.take(8, what)
	if len(b) < 8 {
		return 0
	}
	return le64(b, 0)
}

func le16(s string, i int) uint16 { return uint16(s[i]) | uint16(s[i+1])<<8 }

func le32(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

func le64(s string, i int) uint64 { return uint64(le32(s, i)) | uint64(le32(s, i+4))<<32 }

// Decode reads a snapshot file, verifying its checksum and the structure of
// its tables. Segment blocks are decoded when first used (see
// [Table.Expand]). It refuses files of another format version, and
// corrupted or truncated files with an error that wraps [ErrCorrupt].
func Decode(b []byte) (*Table, error) { return decode(b, string(b)) }

// decode decodes s, which holds the same bytes as b: the checksum runs over
// b, and the table keeps s.
func decode(b []byte, s string) (*Table, error) {
	if len(s) < len(magic) || s[:len(magic)] != magic {
		return nil, fmt.Errorf("%w: not a sovmap snapshot (bad magic)", ErrCorrupt)
	}
	if len(s) < len(magic)+8+checksumSize {
		return nil, fmt.Errorf("%w: file is too short", ErrCorrupt)
	}
	if v := le32(s, len(magic)); v != FormatVersion {
		return nil, fmt.Errorf("snapshot format version %d is not supported (this sovmap reads version %d)", v, FormatVersion)
	}
	body := s[:len(s)-checksumSize]
	if crc32.Checksum(b[:len(b)-checksumSize], castagnoli) != le32(s, len(s)-checksumSize) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	r := &reader{s: body, off: len(magic) + 4}
	t := &Table{src: s}
	mj := r.take(int(r.u32("header length")), "header")
	if r.err != nil {
		return nil, r.err
	}
	if err := json.Unmarshal([]byte(mj), &t.meta); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}

	nNames := int(r.u32("name count"))
	if nNames < 1 || nNames > len(body)/4 {
		return nil, fmt.Errorf("%w: bad name count", ErrCorrupt)
	}
	t.nameOffs = r.take(4*(nNames+1), "name offsets")
	if r.err != nil {
		return nil, r.err
	}
	blobLen := int(le32(t.nameOffs, 4*nNames))
	if le32(t.nameOffs, 0) != 0 {
		return nil, fmt.Errorf("%w: bad name offsets", ErrCorrupt)
	}
	// Offsets must not decrease; checked once here so that name lookups
	// never fail.
	prev := uint32(0)
	for i := 1; i <= nNames; i++ {
		o := le32(t.nameOffs, 4*i)
		if o < prev {
			return nil, fmt.Errorf("%w: bad name offsets", ErrCorrupt)
		}
		prev = o
	}
	t.names = r.take(blobLen, "names")
	t.nNames = nNames

	nTuples := int(r.u32("tuple count"))
	if nTuples < 1 || nTuples > len(body)/tupleSize {
		return nil, fmt.Errorf("%w: bad tuple count", ErrCorrupt)
	}
	t.tuples = r.take(tupleSize*nTuples, "tuples")
	if r.err != nil {
		return nil, r.err
	}
	t.nTuples = nTuples
	t.asns = make([]uint32, nTuples)
	for i := range nTuples {
		if le32(t.tuples, i*tupleSize+4) >= uint32(nNames) {
			return nil, fmt.Errorf("%w: tuple %d names a missing AS name", ErrCorrupt, i)
		}
		if int(le16(t.tuples, i*tupleSize+8)) >= len(countries) || int(le16(t.tuples, i*tupleSize+10)) >= len(countries) {
			return nil, fmt.Errorf("%w: tuple %d has a bad country", ErrCorrupt, i)
		}
		t.asns[i] = le32(t.tuples, i*tupleSize)
	}
	for fam := range 2 {
		if err := r.family(&t.fam[fam], fam == 1, uint32(nTuples)); err != nil {
			return nil, err
		}
		t.fam[fam].routing = true
	}
	if err := t.decodeFeeds(r); err != nil {
		return nil, err
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("%w: %d bytes of trailing data", ErrCorrupt, len(body)-r.off)
	}
	return t, nil
}

// family reads one segment list whose values are below limit.
func (r *reader) family(f *family, v6 bool, limit uint32) error {
	body := r.s
	f.v6 = v6
	f.nTuples = limit
	n := int(r.u32("segment count"))
	nb := int(r.u32("block count"))
	entry := 8
	if v6 {
		entry = 20
	}
	if r.err != nil {
		return r.err
	}
	if n < 1 || nb != (n+blockSize-1)/blockSize || nb > len(body)/entry {
		return fmt.Errorf("%w: bad segment counts", ErrCorrupt)
	}
	f.n, f.nBlocks = n, nb
	f.dir = r.take(entry*nb, "segment directory")
	dataLen := r.u64("segment data length")
	if dataLen > uint64(len(body)) {
		return fmt.Errorf("%w: bad segment data length", ErrCorrupt)
	}
	f.blob = r.take(int(dataLen), "segment data")
	if r.err != nil {
		return r.err
	}
	return f.checkDir()
}

// countries maps a country index to its code: index 1+26*(c0-'A')+(c1-'A'),
// 0 for none.
var countries = func() (t [1 + 26*26]string) {
	for i := range 26 * 26 {
		t[1+i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return t
}()

// countryIndex returns the index of a two-letter code, 0 if it is not one.
func countryIndex(b string) uint16 {
	if len(b) != 2 || b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z' {
		return 0
	}
	return 1 + uint16(b[0]-'A')*26 + uint16(b[1]-'A')
}
