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
// tampering; the file's SHA-256 is recorded beside releases for that.
const checksumSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
}

// ProblemSummary counts the input defects of one kind.
type ProblemSummary struct {
	Kind     string   `json:"kind"`
	Count    int      `json:"count"`
	Examples []string `json:"examples,omitempty"`
}

// data is the decoded content of a snapshot.
type data struct {
	meta     Meta
	names    string   // all AS names, concatenated
	nameOff  []uint32 // name i is names[nameOff[i]:nameOff[i+1]]
	tuples   []tuple
	v4starts []uint32
	v4vals   []uint32
	v6starts []ipindex.U128
	v6vals   []uint32
}

func (d *data) name(i uint32) string { return d.names[d.nameOff[i]:d.nameOff[i+1]] }

func (d *data) nameCount() int { return len(d.nameOff) - 1 }

// A tuple holds no pointers, so that the garbage collector never scans the
// table. Countries are indexes into [countries], 0 for none.
type tuple struct {
	asn      uint32
	name     uint32
	reg, loc uint16
}

// Encode writes the snapshot in the binary format of docs/snapshot.md.
func (t *Table) Encode(w io.Writer) error {
	d := t.d
	var buf bytes.Buffer
	buf.WriteString(magic)
	var tmp [binary.MaxVarintLen64]byte
	u32 := func(v uint32) { binary.LittleEndian.PutUint32(tmp[:4], v); buf.Write(tmp[:4]) }
	uv := func(v uint64) { buf.Write(tmp[:binary.PutUvarint(tmp[:], v)]) }
	u32(FormatVersion)
	mj, err := json.Marshal(d.meta)
	if err != nil {
		return err
	}
	u32(uint32(len(mj)))
	buf.Write(mj)

	uv(uint64(d.nameCount()))
	for i := range d.nameCount() {
		n := d.name(uint32(i))
		uv(uint64(len(n)))
		buf.WriteString(n)
	}
	cc := func(c uint16) {
		if c == 0 {
			buf.WriteString("\x00\x00")
		} else {
			buf.WriteString(countries[c])
		}
	}
	uv(uint64(len(d.tuples)))
	for _, tp := range d.tuples {
		uv(uint64(tp.asn))
		uv(uint64(tp.name))
		cc(tp.reg)
		cc(tp.loc)
	}
	uv(uint64(len(d.v4starts)))
	prev := uint32(0)
	for i, s := range d.v4starts {
		uv(uint64(s - prev))
		uv(uint64(d.v4vals[i]))
		prev = s
	}
	uv(uint64(len(d.v6starts)))
	var p6 ipindex.U128
	for i, s := range d.v6starts {
		if s.Hi == p6.Hi {
			uv(0)
			uv(s.Lo - p6.Lo)
		} else {
			uv(s.Hi - p6.Hi)
			uv(s.Lo)
		}
		uv(uint64(d.v6vals[i]))
		p6 = s
	}
	binary.LittleEndian.PutUint32(tmp[:4], crc32.Checksum(buf.Bytes(), castagnoli))
	buf.Write(tmp[:4])
	_, err = w.Write(buf.Bytes())
	return err
}

// decoder reads varints from a byte slice, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) uv(what string) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// uvarint decodes a varint at b[i:], returning the value and the index after
// it, or i = -1 on a bad or truncated varint. It is small enough to inline.
func uvarint(b []byte, i int) (uint64, int) {
	var x uint64
	for s := uint(0); s < 64; s += 7 {
		if i >= len(b) {
			return 0, -1
		}
		c := b[i]
		i++
		if c < 0x80 {
			return x | uint64(c)<<s, i
		}
		x |= uint64(c&0x7f) << s
	}
	return 0, -1
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if uint64(len(d.b)) < n {
		d.fail(what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// count reads a count and checks it against the bytes left, each item
// needing at least min bytes.
func (d *decoder) count(what string, min int) int {
	n := d.uv(what + " count")
	if d.err != nil || n > uint64(len(d.b)/min) {
		d.fail(what + " count")
		return 0
	}
	return int(n)
}

// Decode reads a snapshot, verifying its checksum and structure. It refuses
// files of another format version and corrupted or truncated files with an
// error that wraps [ErrCorrupt].
func Decode(b []byte) (*Table, error) {
	if len(b) < len(magic)+8+checksumSize || string(b[:len(magic)]) != magic {
		if len(b) >= len(magic) && string(b[:len(magic)]) == magic {
			return nil, fmt.Errorf("%w: file is too short", ErrCorrupt)
		}
		return nil, fmt.Errorf("%w: not a sovmap snapshot (bad magic)", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[len(magic):]); v != FormatVersion {
		return nil, fmt.Errorf("snapshot format version %d is not supported (this sovmap reads version %d)", v, FormatVersion)
	}
	body, sum := b[:len(b)-checksumSize], b[len(b)-checksumSize:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	dec := &decoder{b: body[len(magic)+4:]}
	var d data
	mlen := binary.LittleEndian.Uint32(dec.bytes(4, "header length"))
	if err := json.Unmarshal(dec.bytes(uint64(mlen), "header"), &d.meta); err != nil && dec.err == nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if dec.err != nil {
		return nil, dec.err
	}
	n := dec.count("names", 1)
	d.nameOff = make([]uint32, n+1)
	all := make([]byte, 0, len(dec.b)/4)
	for i := range n {
		l := dec.uv("name length")
		all = append(all, dec.bytes(l, "name")...)
		d.nameOff[i+1] = uint32(len(all))
	}
	if dec.err != nil {
		return nil, dec.err
	}
	d.names = string(all)
	nNames := n
	n = dec.count("tuples", 6)
	d.tuples = make([]tuple, n)
	for i := range n {
		asn := dec.uv("tuple ASN")
		name := dec.uv("tuple name")
		if asn > 1<<32-1 || name >= uint64(nNames) {
			dec.fail("tuple")
			break
		}
		reg := country(dec.bytes(2, "tuple country"))
		loc := country(dec.bytes(2, "tuple country"))
		d.tuples[i] = tuple{asn: uint32(asn), name: uint32(name), reg: reg, loc: loc}
	}
	n = dec.count("IPv4 segments", 2)
	d.v4starts, d.v4vals = make([]uint32, n), make([]uint32, n)
	b, j := dec.b, 0
	var prev, delta, val uint64
	ntuples := uint64(len(d.tuples))
	for i := range n {
		if delta, j = uvarint(b, j); j < 0 {
			break
		}
		if val, j = uvarint(b, j); j < 0 {
			break
		}
		prev += delta
		if (i > 0 && delta == 0) || prev > 1<<32-1 || val >= ntuples {
			j = -1
			break
		}
		d.v4starts[i], d.v4vals[i] = uint32(prev), uint32(val)
	}
	if j < 0 {
		return nil, fmt.Errorf("%w: bad IPv4 segment", ErrCorrupt)
	}
	dec.b = b[j:]
	n = dec.count("IPv6 segments", 3)
	d.v6starts, d.v6vals = make([]ipindex.U128, n), make([]uint32, n)
	b, j = dec.b, 0
	var p6 ipindex.U128
	var dh, lo uint64
	for i := range n {
		if dh, j = uvarint(b, j); j < 0 {
			break
		}
		if lo, j = uvarint(b, j); j < 0 {
			break
		}
		if val, j = uvarint(b, j); j < 0 {
			break
		}
		var s ipindex.U128
		if dh == 0 {
			s = ipindex.U128{Hi: p6.Hi, Lo: p6.Lo + lo}
			if s.Lo < p6.Lo || (i > 0 && lo == 0) {
				j = -1
				break
			}
		} else {
			s = ipindex.U128{Hi: p6.Hi + dh, Lo: lo}
			if s.Hi < p6.Hi {
				j = -1
				break
			}
		}
		if val >= ntuples {
			j = -1
			break
		}
		d.v6starts[i], d.v6vals[i] = s, uint32(val)
		p6 = s
	}
	if j < 0 {
		return nil, fmt.Errorf("%w: bad IPv6 segment", ErrCorrupt)
	}
	dec.b = b[j:]
	if dec.err != nil {
		return nil, dec.err
	}
	if len(dec.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes of trailing data", ErrCorrupt, len(dec.b))
	}
	t, err := newTable(&d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return t, nil
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

func country(b []byte) uint16 {
	if len(b) != 2 || b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z' {
		return 0
	}
	return 1 + uint16(b[0]-'A')*26 + uint16(b[1]-'A')
}
