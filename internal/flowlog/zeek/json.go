package zeek

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
	"time"
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
	if p.fast(line, rec) {
		return true, nil
	}
	return p.general(line, rec)
}

// general parses any line: it collects the raw values of the keys fill
// reads, then fill parses them.
//
// Written out as one function: it is the per-line path of JSON that is not
// in Zeek's shape, a scanner whose states share the position and values.
//
//gocyclo:ignore
func (p *JSON) general(line []byte, rec *flowlog.Record) (bool, error) {
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

// The keys of conn.log as [JSON.fast] expects them, in Zeek's order, each
// with the separator before it and, for a string value, the quote after
// it. The two that would be 17 bytes long leave out the colon: the
// compiler compares at most 16 bytes inline.
const (
	keyFirstTS     = `{"ts":`
	keyTS          = `,"ts":`
	keyUID         = `,"uid":"`
	keyOrigH       = `,"id.orig_h":"`
	keyOrigP       = `,"id.orig_p":`
	keyRespH       = `,"id.resp_h":"`
	keyRespP       = `,"id.resp_p":`
	keyProto       = `,"proto":"`
	keyService     = `,"service":"`
	keyDuration    = `,"duration":`
	keyOrigBytes   = `,"orig_bytes":`
	keyRespBytes   = `,"resp_bytes":`
	keyState       = `,"conn_state":"`
	keyLocalOrig   = `,"local_orig":`
	keyLocalResp   = `,"local_resp":`
	keyMissedBytes = `,"missed_bytes":`
	keyHistory     = `,"history":"`
	keyOrigPkts    = `,"orig_pkts":`
	keyOrigIPBytes = `,"orig_ip_bytes"`
	keyRespPkts    = `,"resp_pkts":`
	keyRespIPBytes = `,"resp_ip_bytes"`
)

// fast parses a line in one pass, each value read as its key is found, for
// the shape Zeek writes conn.log in: one object without whitespace, its
// keys in Zeek's order, each compared as a constant with the one expected
// there. Keys fill does not read may come before ts and after
// resp_ip_bytes; of the others, ts and the addresses must be there, and
// the values must be strings without escapes (addresses, proto, service,
// conn_state) or plain decimals (ts, duration, ports, counters). For
// anything else it returns false and leaves rec alone, and the general
// path decides, with its own error. When it returns true, rec is what the
// general path would have made of the line.
//
// Each key is compared as string(line[i:i+len(key)]) == key, written out
// each time: the compiler turns that into a few word compares only when
// it sees the constant.
//
// Written out as one function: it is the per-line hot path of Zeek JSON, and a
// step a key would cost a call and move the values out of registers.
//
//gocyclo:ignore
func (p *JSON) fast(line []byte, rec *flowlog.Record) bool {
	n := len(line)
	// i is at the separator before the next key ('{' or ','), or past the
	// last value.
	i := 0
	if n == 0 || line[0] != '{' {
		return false
	}
	if n < len(keyFirstTS) || string(line[:len(keyFirstTS)]) != keyFirstTS {
		// Keys fill does not read may come first (_path, _write_ts).
		var ok bool
		if i, ok = others(line, 0); !ok || i+len(keyTS) > n || string(line[i:i+len(keyTS)]) != keyTS {
			return false
		}
	}
	ts, ns, i, ok := scanDecimal(line, i+len(keyTS))
	if !ok || ts > 1<<40 {
		return false
	}
	if i+len(keyUID) <= n && string(line[i:i+len(keyUID)]) == keyUID {
		if i, ok = skipString(line, i+len(keyUID)); !ok {
			return false
		}
	}
	if i+len(keyOrigH) > n || string(line[i:i+len(keyOrigH)]) != keyOrigH {
		return false
	}
	src, i, ok := jsonAddr(line, i+len(keyOrigH))
	if !ok {
		return false
	}
	var sp, dp uint64
	if i+len(keyOrigP) <= n && string(line[i:i+len(keyOrigP)]) == keyOrigP {
		if sp, i, ok = scanUint(line, i+len(keyOrigP)); !ok || sp > 0xffff {
			return false
		}
	}
	if i+len(keyRespH) > n || string(line[i:i+len(keyRespH)]) != keyRespH {
		return false
	}
	dst, i, ok := jsonAddr(line, i+len(keyRespH))
	if !ok {
		return false
	}
	if i+len(keyRespP) <= n && string(line[i:i+len(keyRespP)]) == keyRespP {
		if dp, i, ok = scanUint(line, i+len(keyRespP)); !ok || dp > 0xffff {
			return false
		}
	}
	var proto uint8
	if i+len(keyProto) <= n && string(line[i:i+len(keyProto)]) == keyProto {
		var b []byte
		if b, i, ok = plainString(line, i+len(keyProto)); !ok {
			return false
		}
		if proto, ok = flowlog.ParseProto(b); !ok {
			return false
		}
	}
	var service, state []byte
	if i+len(keyService) <= n && string(line[i:i+len(keyService)]) == keyService {
		if service, i, ok = plainString(line, i+len(keyService)); !ok {
			return false
		}
	}
	var dur time.Duration
	if i+len(keyDuration) <= n && string(line[i:i+len(keyDuration)]) == keyDuration {
		var s, ns int64
		if s, ns, i, ok = scanDecimal(line, i+len(keyDuration)); !ok || s > math.MaxInt64/int64(time.Second)-1 {
			return false
		}
		dur = time.Duration(s)*time.Second + time.Duration(ns)
	}
	var ob, rb, op, rp uint64
	if i+len(keyOrigBytes) <= n && string(line[i:i+len(keyOrigBytes)]) == keyOrigBytes {
		if ob, i, ok = scanUint(line, i+len(keyOrigBytes)); !ok {
			return false
		}
	}
	if i+len(keyRespBytes) <= n && string(line[i:i+len(keyRespBytes)]) == keyRespBytes {
		if rb, i, ok = scanUint(line, i+len(keyRespBytes)); !ok {
			return false
		}
	}
	if i+len(keyState) <= n && string(line[i:i+len(keyState)]) == keyState {
		if state, i, ok = plainString(line, i+len(keyState)); !ok {
			return false
		}
	}
	if i+len(keyLocalOrig) <= n && string(line[i:i+len(keyLocalOrig)]) == keyLocalOrig {
		if i, ok = skipValue(line, i+len(keyLocalOrig)); !ok {
			return false
		}
	}
	if i+len(keyLocalResp) <= n && string(line[i:i+len(keyLocalResp)]) == keyLocalResp {
		if i, ok = skipValue(line, i+len(keyLocalResp)); !ok {
			return false
		}
	}
	if i+len(keyMissedBytes) <= n && string(line[i:i+len(keyMissedBytes)]) == keyMissedBytes {
		// Mostly 0; whatever follows a 0 but a separator makes the line
		// fail below.
		if j := i + len(keyMissedBytes); j < n && line[j] == '0' {
			i = j + 1
		} else if i, ok = skipValue(line, j); !ok {
			return false
		}
	}
	if i+len(keyHistory) <= n && string(line[i:i+len(keyHistory)]) == keyHistory {
		if i, ok = skipString(line, i+len(keyHistory)); !ok {
			return false
		}
	}
	if i+len(keyOrigPkts) <= n && string(line[i:i+len(keyOrigPkts)]) == keyOrigPkts {
		if op, i, ok = scanUint(line, i+len(keyOrigPkts)); !ok {
			return false
		}
	}
	// IP-level bytes when the line has either, as fill takes them.
	ipBytes := false
	if i+len(keyOrigIPBytes) < n && string(line[i:i+len(keyOrigIPBytes)]) == keyOrigIPBytes && line[i+len(keyOrigIPBytes)] == ':' {
		if ob, i, ok = scanUint(line, i+len(keyOrigIPBytes)+1); !ok {
			return false
		}
		rb, ipBytes = 0, true
	}
	if i+len(keyRespPkts) <= n && string(line[i:i+len(keyRespPkts)]) == keyRespPkts {
		if rp, i, ok = scanUint(line, i+len(keyRespPkts)); !ok {
			return false
		}
	}
	if i+len(keyRespIPBytes) < n && string(line[i:i+len(keyRespIPBytes)]) == keyRespIPBytes && line[i+len(keyRespIPBytes)] == ':' {
		if !ipBytes {
			ob = 0
		}
		if rb, i, ok = scanUint(line, i+len(keyRespIPBytes)+1); !ok {
			return false
		}
	}
	// Keys fill does not read may come last (tunnel_parents, ip_proto,
	// community_id).
	if i < n && line[i] == ',' {
		if i, ok = others(line, i); !ok {
			return false
		}
	}
	if i+1 != n || line[i] != '}' {
		return false
	}
	start := time.Unix(ts, ns).UTC()
	*rec = flowlog.Record{
		Src:        netip.AddrPortFrom(src, uint16(sp)),
		Dst:        netip.AddrPortFrom(dst, uint16(dp)),
		Proto:      proto,
		SrcBytes:   ob,
		DstBytes:   rb,
		SrcPackets: op,
		DstPackets: rp,
		Start:      start,
		End:        start.Add(dur),
	}
	if p.want.Has(flowlog.FieldExtra) {
		rec.Extra.Service = p.in.String(service)
		rec.Extra.State = p.in.String(state)
	}
	return true
}

// plainString returns the contents of the string that starts at i, and the
// index after it; a string with escapes fails.
func plainString(line []byte, i int) ([]byte, int, bool) {
	j := quoteEnd(line, i)
	if j == len(line) || line[j] != '"' {
		return nil, i, false
	}
	return line[i:j], j + 1, true
}

// others skips members whose keys fill does not read, from the separator
// at i ('{' or ','), and returns the index of the separator before the
// next key fill reads or of the closing brace; it fails where the general
// path could read the line differently.
func others(line []byte, i int) (int, bool) {
	for {
		j := i + 1
		if j >= len(line) || line[j] != '"' {
			return i, false
		}
		k := j + 1
		for k < len(line) && line[k] != '"' && line[k] != '\\' {
			k++
		}
		if k+1 >= len(line) || line[k] != '"' || line[k+1] != ':' {
			return i, false
		}
		if slotOf(line[j+1:k]) >= 0 {
			return i, true
		}
		var ok bool
		if i, ok = skipValue(line, k+2); !ok || i == len(line) {
			return i, false
		}
		if line[i] != ',' {
			return i, line[i] == '}'
		}
	}
}

// skipString returns the index after the string whose contents start at
// i.
func skipString(line []byte, i int) (int, bool) {
	j := quoteEnd(line, i)
	if j < len(line) && line[j] == '\\' {
		j, _ = stringEnd(line, j)
	}
	if j < 0 || j == len(line) {
		return i, false
	}
	return j + 1, true
}

// skipValue returns the index after the value at i, as the general path
// reads it, and false where the general path would fail or read past it
// differently.
func skipValue(line []byte, i int) (int, bool) {
	if i >= len(line) {
		return i, false
	}
	c := line[i]
	switch c {
	case '"':
		return skipString(line, i+1)
	case '{', '[':
		j := skipNested(line, i)
		return j, j >= 0
	case 't':
		return i + 4, bytes.HasPrefix(line[i:], []byte("true"))
	case 'f':
		return i + 5, bytes.HasPrefix(line[i:], []byte("false"))
	case 'n':
		return i + 4, bytes.HasPrefix(line[i:], []byte("null"))
	}
	if !isNumByte(c) {
		return i, false
	}
	for i++; i < len(line) && isNumByte(line[i]); i++ {
	}
	return i, true
}

const (
	quotes      = 0x2222222222222222
	backslashes = 0x5c5c5c5c5c5c5c5c
)

// quoteEnd returns the index of the first quote or backslash at or after
// i, or len(line).
func quoteEnd(line []byte, i int) int {
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:])
		q, b := x^quotes, x^backslashes
		// The lowest set high bit marks the first zero byte of q or b;
		// bits above it may be false.
		if t := ((q-ones)&^q | (b-ones)&^b) & highs; t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
	}
	for ; i < len(line) && line[i] != '"' && line[i] != '\\'; i++ {
	}
	return i
}

// jsonAddr reads the address in the string whose contents start at i: a
// dotted quad inline, anything else through [flowlog.ParseAddr]. It returns
// the index after the closing quote; a string with escapes fails.
func jsonAddr(line []byte, i int) (netip.Addr, int, bool) {
	if i+16 <= len(line) {
		lo := binary.LittleEndian.Uint64(line[i:])
		hi := binary.LittleEndian.Uint64(line[i+8:])
		if ip, n, ok := quad(lo, hi, '"'); ok {
			return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), i + n + 1, true
		}
	}
	j := quoteEnd(line, i)
	if j == len(line) || line[j] != '"' {
		return netip.Addr{}, j, false
	}
	a, ok := flowlog.ParseAddr(line[i:j])
	return a, j + 1, ok
}
