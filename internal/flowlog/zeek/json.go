package zeek

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// JSON parses Zeek's JSON-lines log format, one object per line.
type JSON struct {
	in      flowlog.Interner
	scratch []byte
	want    flowlog.Fields // the parts of a record to fill; 0 for all
}

// SetFields implements [flowlog.FieldSetter]. Without [flowlog.FieldExtra]
// service and conn_state are not interned: they never make a line invalid,
// so the same lines are accepted.
func (p *JSON) SetFields(f flowlog.Fields) { p.want = f }

// NewJSON returns a parser for one Zeek JSON input.
func NewJSON() *JSON { return &JSON{} }

var (
	errTruncated = &flowlog.LineError{Reason: flowlog.ReasonSyntax, Detail: "the object ends early (truncated line)"}
	errNotObject = &flowlog.LineError{Reason: flowlog.ReasonSyntax, Detail: "the line is not a JSON object"}
	errTrailing  = &flowlog.LineError{Reason: flowlog.ReasonSyntax, Detail: "data after the object"}
)

func syntax(line []byte, i int) *flowlog.LineError {
	lo := max(i-16, 0)
	hi := min(i+16, len(line))
	return &flowlog.LineError{Reason: flowlog.ReasonSyntax, Detail: "unexpected character near " + flowlog.Quote(line[lo:hi])}
}

// Parse implements [flowlog.Parser].
func (p *JSON) Parse(line []byte, rec *flowlog.Record) (bool, error) {
	i := skipWS(line, 0)
	if i == len(line) {
		return false, nil
	}
	if line[i] != '{' {
		return false, errNotObject
	}
	var v values
	p.scratch = p.scratch[:0]
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) {
				return false, errTruncated
			}
			if line[i] != '"' {
				return false, syntax(line, i)
			}
			end, esc := stringEnd(line, i+1)
			if end < 0 {
				return false, errTruncated
			}
			key := line[i+1 : end]
			i = skipWS(line, end+1)
			if i >= len(line) {
				return false, errTruncated
			}
			if line[i] != ':' {
				return false, syntax(line, i)
			}
			i = skipWS(line, i+1)
			if i >= len(line) {
				return false, errTruncated
			}
			var val []byte
			switch c := line[i]; {
			case c == '"':
				end, vesc := stringEnd(line, i+1)
				if end < 0 {
					return false, errTruncated
				}
				val = line[i+1 : end]
				if vesc && !esc {
					if s := slotOf(key); s >= 0 {
						val = p.unquote(val)
					}
				}
				i = end + 1
			case c == '{' || c == '[':
				end := skipNested(line, i)
				if end < 0 {
					return false, errTruncated
				}
				i = end
			case c == 't':
				if !bytes.HasPrefix(line[i:], []byte("true")) {
					return false, syntax(line, i)
				}
				i += 4
			case c == 'f':
				if !bytes.HasPrefix(line[i:], []byte("false")) {
					return false, syntax(line, i)
				}
				i += 5
			case c == 'n':
				if !bytes.HasPrefix(line[i:], []byte("null")) {
					return false, syntax(line, i)
				}
				i += 4
			default:
				j := i
				for j < len(line) && isNumByte(line[j]) {
					j++
				}
				if j == i {
					return false, syntax(line, i)
				}
				val = line[i:j]
				i = j
			}
			if val != nil && !esc {
				if s := slotOf(key); s >= 0 {
					v[s] = val
				}
			}
			i = skipWS(line, i)
			if i >= len(line) {
				return false, errTruncated
			}
			if line[i] == '}' {
				i++
				break
			}
			if line[i] != ',' {
				return false, syntax(line, i)
			}
			i = skipWS(line, i+1)
		}
	}
	if skipWS(line, i) != len(line) {
		return false, errTrailing
	}
	if !p.want.Has(flowlog.FieldExtra) {
		v[fService], v[fConnState] = nil, nil
	}
	if err := fill(rec, &v, &p.in, true); err != nil {
		return false, err
	}
	return true, nil
}

func isNumByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index of the quote that closes the string starting
// at i, or -1, and whether the string holds escapes. Zeek's strings are
// short, so a plain loop beats a vectorised search here.
func stringEnd(b []byte, i int) (int, bool) {
	esc := false
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i, esc
		case '\\':
			esc = true
			i++ // skip the escaped byte
		}
	}
	return -1, esc
}

// skipNested returns the index after the object or array starting at i, or
// -1 if the line ends first.
func skipNested(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '"':
			end, _ := stringEnd(b, i+1)
			if end < 0 {
				return -1
			}
			i = end
		}
		i++
	}
	return -1
}

// unquote decodes the escapes of a JSON string into the parser's scratch
// space; an invalid escape is kept as it is.
func (p *JSON) unquote(s []byte) []byte {
	start := len(p.scratch)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			p.scratch = append(p.scratch, c)
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			p.scratch = append(p.scratch, s[i])
		case 'b':
			p.scratch = append(p.scratch, '\b')
		case 'f':
			p.scratch = append(p.scratch, '\f')
		case 'n':
			p.scratch = append(p.scratch, '\n')
		case 'r':
			p.scratch = append(p.scratch, '\r')
		case 't':
			p.scratch = append(p.scratch, '\t')
		case 'u':
			r, n := hex4(s[i+1:])
			if n == 0 {
				p.scratch = append(p.scratch, '\\', 'u')
				continue
			}
			i += n
			if utf16.IsSurrogate(r) {
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, n2 := hex4(s[i+3:]); n2 > 0 {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							i += 2 + n2
						}
					}
				}
			}
			p.scratch = utf8.AppendRune(p.scratch, r)
		default:
			p.scratch = append(p.scratch, '\\', s[i])
		}
	}
	return p.scratch[start:]
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		h, ok := unhex(c)
		if !ok {
			return 0, 0
		}
		r = r<<4 | rune(h)
	}
	return r, 4
}
