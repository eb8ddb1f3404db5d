package zeek

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// TSV parses Zeek's tab-separated log format.
type TSV struct {
	sep    byte
	unset  []byte
	empty  []byte
	path   string
	fields int                // number of fields in the header, 0 before #fields
	slots  [numSlots]int      // column of each slot, -1 if absent
	cols   []colSlot          // the columns that fill a slot, in order
	ends   []int32            // field ends of the current line
	noEnds *flowlog.LineError // non-nil when the header names no connection ends
	in     flowlog.Interner
}

// colSlot says which slot a column fills.
type colSlot struct {
	col  int32
	slot int
}

// NewTSV returns a parser for one Zeek TSV input.
func NewTSV() *TSV {
	return &TSV{sep: '\t', unset: []byte("-"), empty: []byte("(empty)")}
}

// Path returns the log's #path ("conn", "dns"), once the header has given
// it.
func (p *TSV) Path() string { return p.path }

// Parse implements [flowlog.Parser].
func (p *TSV) Parse(line []byte, rec *flowlog.Record) (bool, error) {
	if len(line) == 0 {
		return false, nil
	}
	if line[0] == '#' {
		return false, p.header(line)
	}
	if p.fields == 0 {
		return false, &flowlog.LineError{Reason: flowlog.ReasonNoHeader, Detail: "no #fields line before the data"}
	}
	if p.noEnds != nil {
		return false, p.noEnds
	}
	if n := flowlog.Split(line, p.sep, p.ends); n != p.fields {
		return false, &flowlog.LineError{Reason: flowlog.ReasonFieldCount, Detail: fmt.Sprintf("%d fields, the header has %d", n, p.fields)}
	}
	var v values
	for _, c := range p.cols {
		b := flowlog.Field(line, p.ends, int(c.col))
		if len(b) == len(p.unset) && bytes.Equal(b, p.unset) {
			continue
		}
		if len(b) == len(p.empty) && bytes.Equal(b, p.empty) {
			b = b[:0]
		}
		v[c.slot] = b
	}
	if err := fill(rec, &v, &p.in, false); err != nil {
		return false, err
	}
	return true, nil
}

func (p *TSV) header(line []byte) error {
	// "#separator" is followed by a space; the others by the separator.
	if rest, ok := bytes.CutPrefix(line, []byte("#separator ")); ok {
		sep := unescape(rest)
		if len(sep) != 1 {
			return &flowlog.LineError{Reason: flowlog.ReasonHeader, Detail: "#separator " + flowlog.Quote(rest) + " is not one byte"}
		}
		p.sep = sep[0]
		return nil
	}
	key, val, _ := bytes.Cut(line, []byte{p.sep})
	switch string(key) {
	case "#unset_field":
		p.unset = unescape(val)
	case "#empty_field":
		p.empty = unescape(val)
	case "#path":
		p.path = string(val)
	case "#fields":
		p.setFields(val)
	}
	return nil
}

func (p *TSV) setFields(val []byte) {
	for i := range p.slots {
		p.slots[i] = -1
	}
	p.fields = 0
	for name := range bytes.SplitSeq(val, []byte{p.sep}) {
		if s := slotOf(name); s >= 0 {
			p.slots[s] = p.fields
		}
		p.fields++
	}
	p.ends = make([]int32, p.fields+1)
	// IP-level bytes when the log has them (as NetFlow counts), else the
	// payload bytes; the unused pair is not parsed.
	ipBytes := p.slots[fOrigIPBytes] >= 0 || p.slots[fRespIPBytes] >= 0
	p.cols = p.cols[:0]
	for s, col := range p.slots {
		if col < 0 || ipBytes && (s == fOrigBytes || s == fRespBytes) {
			continue
		}
		p.cols = append(p.cols, colSlot{col: int32(col), slot: s})
	}
	slices.SortFunc(p.cols, func(a, b colSlot) int { return int(a.col - b.col) })
	p.noEnds = nil
	if p.slots[fOrigH] < 0 || p.slots[fRespH] < 0 {
		path := p.path
		if path == "" {
			path = "unknown"
		}
		p.noEnds = &flowlog.LineError{Reason: "not a connection log", Detail: fmt.Sprintf("log path %q has no id.orig_h and id.resp_h fields", path), Ignored: true}
	}
}

// unescape decodes Zeek's \xHH escapes into a new slice; a malformed
// escape is kept as it is.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && b[i+1] == 'x' {
			h, ok1 := unhex(b[i+2])
			l, ok2 := unhex(b[i+3])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				i += 3
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
