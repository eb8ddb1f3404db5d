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
	fields int                          // number of fields in the header, 0 before #fields
	slots  [numSlots]int                // column of each slot, -1 if absent
	cols   []colSlot                    // the columns that fill a slot, in order
	ends   []int32                      // field ends of the current line
	fixed  [flowlog.MaxSplitFixed]int32 // the same, for up to MaxSplitFixed fields
	direct bool                         // the header suits fast
	steps  []step                       // what fast does with the columns it reads
	tail   int                          // columns after the last step, or after stdFields
	std    bool                         // the header starts with stdFields
	plain  bool                         // the markers are Zeek's defaults
	noEnds *flowlog.LineError           // non-nil when the header names no connection ends
	want   flowlog.Fields               // the parts of a record to fill; 0 for all
	in     flowlog.Interner
}

// SetFields implements [flowlog.FieldSetter]. Without [flowlog.FieldExtra]
// the service and conn_state columns are not read: they never make a line
// invalid, so the same lines are accepted. Call it before the first line.
func (p *TSV) SetFields(f flowlog.Fields) { p.want = f }

// colSlot says which slot a column fills.
type colSlot struct {
	col  int32
	slot int
}

// NewTSV returns a parser for one Zeek TSV input.
func NewTSV() *TSV {
	return &TSV{sep: '\t', unset: []byte("-"), empty: []byte("(empty)"), plain: true}
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
	if p.direct && p.fast(line, rec) {
		return true, nil
	}
	var v values
	if p.fields <= flowlog.MaxSplitFixed {
		// No bounds checks while splitting, and the value of each column
		// read straight from its two ends.
		if n := flowlog.SplitFixed(line, p.sep, &p.fixed); n != p.fields {
			return false, fieldCount(n, p.fields)
		}
		for _, c := range p.cols {
			start := int32(0)
			if c.col > 0 {
				start = p.fixed[uint8(c.col-1)] + 1
			}
			v[c.slot] = p.value(line[start:p.fixed[uint8(c.col)]])
		}
	} else {
		if n := flowlog.Split(line, p.sep, p.ends); n != p.fields {
			return false, fieldCount(n, p.fields)
		}
		for _, c := range p.cols {
			v[c.slot] = p.value(flowlog.Field(line, p.ends, int(c.col)))
		}
	}
	if err := fill(rec, &v, &p.in, false); err != nil {
		return false, err
	}
	return true, nil
}

// has reports whether the header has all the slots.
func (p *TSV) has(slots ...int) bool {
	for _, s := range slots {
		if p.slots[s] < 0 {
			return false
		}
	}
	return true
}

// value returns a field's value as fill takes it: nil when unset, empty
// for the empty marker.
func (p *TSV) value(b []byte) []byte {
	if len(b) == len(p.unset) && bytes.Equal(b, p.unset) {
		return nil
	}
	if len(b) == len(p.empty) && bytes.Equal(b, p.empty) {
		return b[:0]
	}
	return b
}

func fieldCount(n, want int) error {
	return &flowlog.LineError{Reason: flowlog.ReasonFieldCount, Detail: fmt.Sprintf("%d fields, the header has %d", n, want)}
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
	p.plain = string(p.unset) == "-" && string(p.empty) == "(empty)"
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
		if !p.want.Has(flowlog.FieldExtra) && (s == fService || s == fConnState) {
			continue
		}
		p.cols = append(p.cols, colSlot{col: int32(col), slot: s})
	}
	slices.SortFunc(p.cols, func(a, b colSlot) int { return int(a.col - b.col) })
	p.direct = p.sep == '\t' && (ipBytes && p.has(fOrigIPBytes, fRespIPBytes) || !ipBytes && p.has(fOrigBytes, fRespBytes)) &&
		p.has(fTS, fOrigH, fOrigP, fRespH, fRespP, fProto, fDuration, fOrigPkts, fRespPkts)
	p.steps, p.tail, p.std = p.steps[:0], 0, false
	if p.direct {
		ops := make([]op, p.fields)
		for _, c := range p.cols {
			ops[c.col] = slotOps[c.slot]
		}
		if ipBytes {
			ops[p.slots[fOrigIPBytes]], ops[p.slots[fRespIPBytes]] = opSrcBytes, opDstBytes
		} else {
			ops[p.slots[fOrigBytes]], ops[p.slots[fRespBytes]] = opSrcBytes, opDstBytes
		}
		skip := 0
		for _, o := range ops {
			if o == opSkip {
				skip++
				continue
			}
			p.steps = append(p.steps, step{skip: skip, op: o})
			skip = 0
		}
		p.tail = skip
		p.std = p.fields >= len(stdFields)
		names := bytes.Split(val, []byte{p.sep})
		for k, name := range stdFields {
			if !p.std {
				break
			}
			p.std = string(names[k]) == name
		}
		if p.std {
			p.tail = p.fields - len(stdFields)
		}
	}
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
