// Package zonefile reads DNS zone files in the master format of RFC 1035
// §5 (the format BIND, NSD and Knot read and registries publish), one record
// at a time, and groups the delegations of a zone with their name servers
// and glue.
//
// # What is read
//
// The reader understands $ORIGIN and $TTL, relative owner names and "@",
// owners omitted on continuation lines, TTL and class in either order, TTLs
// with units ("1h30m"), comments, quoted strings, and records spread over
// several lines with parentheses. It decodes the records sovmap needs — A,
// AAAA, NS, CNAME, MX and SOA — and skips every other type (DS, TXT, …),
// counting them by type. $INCLUDE and $GENERATE are refused: a zone is read
// from one stream.
//
// # Errors
//
// A malformed record gives a [*ParseError] with its line number; the reader
// has then consumed that record and the caller may call [Reader.Next] again
// to go on. Any other error (from the underlying reader) is final. Memory
// stays bounded whatever the input: a line may hold at most 64 KiB and a
// record at most 1 MiB.
//
// Names are returned fully qualified (with the final dot) and in lower case,
// with presentation-format escapes ("\." and "\DDD") kept as they were
// written.
package zonefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Limits that keep memory bounded on hostile input.
const (
	maxLine   = 64 << 10
	maxRecord = 1 << 20
)

// DefaultTTL is the TTL of a record that states none when neither $TTL nor
// an earlier record gave one.
const DefaultTTL = 3600

// A Record is one resource record of a type the reader decodes.
type Record struct {
	Line  int    // line where the record starts
	Name  string // owner name, fully qualified, lower case
	TTL   uint32 // in seconds
	Class string // "IN" for nearly every zone
	Type  string // "A", "AAAA", "NS", "CNAME", "MX" or "SOA"

	Addr       netip.Addr // A and AAAA
	Target     string     // NS host, CNAME target, MX exchange, SOA primary server; fully qualified
	Preference uint16     // MX
	SOA        *SOA       // SOA
}

// SOA holds the fields of an SOA record other than the primary server,
// which is in [Record.Target].
type SOA struct {
	Mbox string // responsible mailbox as a name, fully qualified
	// The serial number, and the refresh, retry, expire and negative
	// caching times in seconds.
	Serial, Refresh, Retry, Expire, Minimum uint32
}

// A ParseError is a malformed record or directive. The reader can go on
// after it.
type ParseError struct {
	Line int    // where the record or directive starts
	Msg  string // what is wrong, in lower case
}

// Error returns "line N: " and the message.
func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// A Reader reads records from a zone file.
type Reader struct {
	br        *bufio.Reader
	origin    string // current $ORIGIN, fully qualified; "" if unknown
	defTTL    uint32 // $TTL
	hasDefTTL bool
	lastTTL   uint32 // TTL of the previous record
	hasTTL    bool
	prevName  string
	prevClass string
	line      int // physical lines read
	skipped   map[string]int
	records   int
	err       error // final error
	eof       bool

	// lexer state, reused
	toks []token
	cur  []byte
}

type token struct {
	text   string
	quoted bool
}

// NewReader returns a reader of the zone file r. Origin, if not empty, is
// the initial $ORIGIN for relative names (with or without the final dot).
func NewReader(r io.Reader, origin string) *Reader {
	zr := &Reader{br: bufio.NewReaderSize(r, maxLine), skipped: make(map[string]int)}
	if origin != "" {
		o, err := absName(origin, ".")
		if err != nil {
			zr.err = fmt.Errorf("zonefile: origin %q: %s", origin, err)
		} else {
			zr.origin = o
		}
	}
	return zr
}

// Skipped returns how many records of each other type were skipped.
func (r *Reader) Skipped() map[string]int { return r.skipped }

// Records returns how many records Next has returned.
func (r *Reader) Records() int { return r.records }

// Next returns the next record of a decoded type. At the end of the input
// it returns io.EOF. A [*ParseError] reports one bad record or directive;
// Next may be called again after it. Any other error is final.
func (r *Reader) Next() (Record, error) {
	for {
		if r.err != nil {
			return Record{}, r.err
		}
		line, blank, err := r.entry()
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return Record{}, err
			}
			r.err = err
			return Record{}, err
		}
		if len(r.toks) == 0 {
			if r.eof {
				r.err = io.EOF
				return Record{}, io.EOF
			}
			continue
		}
		if !blank && strings.HasPrefix(r.toks[0].text, "$") && !r.toks[0].quoted {
			if err := r.directive(line); err != nil {
				return Record{}, err
			}
			continue
		}
		rec, skip, err := r.record(line, blank)
		if err != nil {
			return Record{}, err
		}
		if skip {
			continue
		}
		r.records++
		return rec, nil
	}
}

// entry reads the tokens of the next entry (one line, or several joined by
// parentheses) into r.toks. It returns the entry's first line and whether
// that line starts with white space.
func (r *Reader) entry() (start int, blank bool, err error) {
	r.toks = r.toks[:0]
	depth := 0
	size := 0
	var bad string
	first := true
	for {
		raw, rerr := r.br.ReadSlice('\n')
		if rerr != nil && !errors.Is(rerr, bufio.ErrBufferFull) && rerr != io.EOF {
			return 0, false, fmt.Errorf("zonefile: read: %w", rerr)
		}
		if len(raw) == 0 && rerr == io.EOF {
			r.eof = true
			if first {
				return r.line + 1, false, nil
			}
			r.toks = r.toks[:0]
			return start, false, &ParseError{start, "unbalanced parenthesis: '(' without ')'"}
		}
		r.line++
		if first {
			start = r.line
			blank = raw[0] == ' ' || raw[0] == '\t'
			first = false
		}
		if errors.Is(rerr, bufio.ErrBufferFull) {
			for errors.Is(rerr, bufio.ErrBufferFull) {
				_, rerr = r.br.ReadSlice('\n')
			}
			if rerr != nil && rerr != io.EOF {
				return 0, false, fmt.Errorf("zonefile: read: %w", rerr)
			}
			r.eof = rerr == io.EOF
			r.toks = r.toks[:0]
			if depth > 0 {
				// The rest of the parenthesised record cannot be found
				// reliably: stop here.
				r.err = &ParseError{r.line, "line longer than 64 KiB inside a parenthesised record"}
				return start, blank, r.err
			}
			return start, blank, &ParseError{r.line, "line longer than 64 KiB"}
		}
		if rerr == io.EOF {
			r.eof = true
		}
		before := len(r.toks)
		d, msg := r.lex(raw, depth)
		depth = d
		if msg != "" && bad == "" {
			bad = fmt.Sprintf("%s (line %d)", msg, r.line)
			if r.line == start {
				bad = msg
			}
		}
		for _, t := range r.toks[before:] {
			size += len(t.text) + 8
		}
		if size > maxRecord {
			r.toks = r.toks[:0]
			r.err = &ParseError{start, "record longer than 1 MiB"}
			return start, blank, r.err
		}
		if depth == 0 || r.eof {
			if depth > 0 && bad == "" {
				bad = "unbalanced parenthesis: '(' without ')'"
			}
			if bad != "" {
				r.toks = r.toks[:0]
				return start, blank, &ParseError{start, bad}
			}
			return start, blank, nil
		}
	}
}

// lex appends the tokens of one physical line to r.toks and returns the new
// parenthesis depth and the first problem found, if any.
func (r *Reader) lex(line []byte, depth int) (int, string) {
	var msg string
	cur := r.cur[:0]
	inTok, inQuote := false, false
	flush := func(quoted bool) {
		if inTok || quoted {
			r.toks = append(r.toks, token{string(cur), quoted})
		}
		cur = cur[:0]
		inTok = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inQuote {
			switch c {
			case '\\':
				if i+1 < len(line) && line[i+1] != '\n' {
					cur = append(cur, c, line[i+1])
					i++
					continue
				}
				cur = append(cur, c)
			case '"':
				inQuote = false
				flush(true)
			case '\n':
				// handled after the loop
			default:
				cur = append(cur, c)
			}
			continue
		}
		switch c {
		case ';':
			flush(false)
			r.cur = cur
			return depth, msg
		case ' ', '\t', '\r', '\n':
			flush(false)
		case '(':
			flush(false)
			depth++
		case ')':
			flush(false)
			if depth == 0 {
				if msg == "" {
					msg = "unbalanced parenthesis: ')' without '('"
				}
				continue
			}
			depth--
		case '"':
			flush(false)
			inQuote = true
		case '\\':
			inTok = true
			if i+1 < len(line) && line[i+1] != '\n' && line[i+1] != '\r' {
				cur = append(cur, c, line[i+1])
				i++
				continue
			}
			cur = append(cur, c)
		default:
			inTok = true
			cur = append(cur, c)
		}
	}
	if inQuote {
		if msg == "" {
			msg = "unterminated quoted string"
		}
		cur = cur[:0]
	}
	flush(false)
	r.cur = cur
	return depth, msg
}

func (r *Reader) directive(line int) error {
	d := strings.ToUpper(r.toks[0].text)
	args := r.toks[1:]
	switch d {
	case "$ORIGIN":
		if len(args) != 1 {
			return &ParseError{line, "$ORIGIN wants one name"}
		}
		base := r.origin
		if base == "" {
			base = "."
		}
		o, err := absName(args[0].text, base)
		if err != nil {
			return &ParseError{line, "$ORIGIN: " + err.Error()}
		}
		r.origin = o
		return nil
	case "$TTL":
		if len(args) != 1 {
			return &ParseError{line, "$TTL wants one TTL"}
		}
		ttl, ok := parseTTL(args[0].text)
		if !ok {
			return &ParseError{line, fmt.Sprintf("$TTL: bad TTL %q", args[0].text)}
		}
		r.defTTL, r.hasDefTTL = ttl, true
		return nil
	case "$INCLUDE", "$GENERATE":
		return &ParseError{line, d + " is not supported"}
	}
	return &ParseError{line, fmt.Sprintf("unknown directive %q", r.toks[0].text)}
}

// record decodes the entry in r.toks. Skip is true for a record of a type
// the reader does not decode.
func (r *Reader) record(line int, blank bool) (rec Record, skip bool, err error) {
	rec, rdata, msg := r.recordHead(line, blank)
	if msg != "" {
		return Record{}, false, &ParseError{line, msg}
	}
	want := dataFields(rec.Type)
	if want == 0 {
		r.skipped[rec.Type]++
		return Record{}, true, nil
	}
	if msg := r.recordData(&rec, rdata, want); msg != "" {
		return Record{}, false, &ParseError{line, msg}
	}
	return rec, false, nil
}

// recordHead decodes the owner, TTL, class and type of the entry in r.toks,
// which carry over to the next entries even from a skipped record, and
// returns the data fields. The message says what is wrong, "" if nothing.
func (r *Reader) recordHead(line int, blank bool) (rec Record, rdata []token, msg string) {
	rec.Line = line
	toks, msg := r.owner(&rec, blank)
	if msg != "" {
		return rec, nil, msg
	}
	toks, hasTTL, hasClass, msg := ttlAndClass(&rec, toks)
	if msg != "" {
		return rec, nil, msg
	}
	if len(toks) == 0 {
		return rec, nil, "missing record type"
	}
	if toks[0].quoted {
		return rec, nil, "record type is a quoted string"
	}
	typ := strings.ToUpper(toks[0].text)
	if _, known := dns.StringToType[typ]; !known && !isGenericType(typ) {
		return rec, nil, fmt.Sprintf("unknown record type %q", toks[0].text)
	}
	rec.Type = typ
	r.carryOver(&rec, hasTTL, hasClass)
	return rec, toks[1:], ""
}

// owner sets the owner name of the entry in r.toks, the previous record's
// when the line starts blank, and returns the tokens after it.
func (r *Reader) owner(rec *Record, blank bool) ([]token, string) {
	toks := r.toks
	if blank {
		if r.prevName == "" {
			return nil, "no owner name, and no earlier record to take it from"
		}
		rec.Name = r.prevName
		return toks, ""
	}
	if toks[0].quoted {
		return nil, "owner name is a quoted string"
	}
	n, err := r.name(toks[0].text)
	if err != nil {
		return nil, "owner: " + err.Error()
	}
	rec.Name = n
	return toks[1:], ""
}

// ttlAndClass sets the TTL and class that the tokens start with, in either
// order, and returns the tokens after them and which of the two were given.
func ttlAndClass(rec *Record, toks []token) (rest []token, hasTTL, hasClass bool, msg string) {
	for len(toks) > 0 && !toks[0].quoted {
		t := toks[0].text
		if !hasTTL && t != "" && t[0] >= '0' && t[0] <= '9' {
			ttl, ok := parseTTL(t)
			if !ok {
				return nil, false, false, fmt.Sprintf("bad TTL %q", t)
			}
			rec.TTL, hasTTL = ttl, true
			toks = toks[1:]
			continue
		}
		if !hasClass {
			if c, ok := parseClass(t); ok {
				rec.Class, hasClass = c, true
				toks = toks[1:]
				continue
			}
		}
		break
	}
	return toks, hasTTL, hasClass, ""
}

// carryOver gives a record the class and TTL it does not state (the
// previous record's class; the $TTL, else the last TTL stated, else
// DefaultTTL) and keeps its owner, class and TTL for the next records.
func (r *Reader) carryOver(rec *Record, hasTTL, hasClass bool) {
	r.prevName = rec.Name
	if !hasClass {
		rec.Class = r.prevClass
		if rec.Class == "" {
			rec.Class = "IN"
		}
	}
	r.prevClass = rec.Class
	switch {
	case hasTTL:
		r.lastTTL, r.hasTTL = rec.TTL, true
	case r.hasDefTTL:
		rec.TTL = r.defTTL
	case r.hasTTL:
		rec.TTL = r.lastTTL
	default:
		rec.TTL = DefaultTTL
	}
}

// recordData decodes the want data fields of a record of a type the reader
// decodes. The message says what is wrong, "" if nothing.
func (r *Reader) recordData(rec *Record, rdata []token, want int) string {
	typ := rec.Type
	if len(rdata) < want {
		return fmt.Sprintf("%s record: want %d data fields, have %d", typ, want, len(rdata))
	}
	if len(rdata) > want {
		return fmt.Sprintf("%s record: too many data fields (%d, want %d)", typ, len(rdata), want)
	}
	for _, t := range rdata {
		if t.quoted {
			return typ + " record: unexpected quoted string"
		}
	}
	switch typ {
	case "A", "AAAA":
		a, err := netip.ParseAddr(rdata[0].text)
		if err != nil || a.Zone() != "" || (typ == "A") != a.Is4() {
			return fmt.Sprintf("%s record: bad address %q", typ, rdata[0].text)
		}
		rec.Addr = a
	case "NS", "CNAME":
		n, err := r.name(rdata[0].text)
		if err != nil {
			return typ + " record: " + err.Error()
		}
		rec.Target = n
	case "MX":
		return r.mx(rec, rdata)
	case "SOA":
		return r.soa(rec, rdata)
	}
	return ""
}

// mx decodes the data of an MX record: preference and exchange.
func (r *Reader) mx(rec *Record, rdata []token) string {
	p, err := strconv.ParseUint(rdata[0].text, 10, 16)
	if err != nil {
		return fmt.Sprintf("MX record: bad preference %q", rdata[0].text)
	}
	rec.Preference = uint16(p)
	n, err := r.name(rdata[1].text)
	if err != nil {
		return "MX record: " + err.Error()
	}
	rec.Target = n
	return ""
}

// soa decodes the data of an SOA record: primary server, mailbox, serial
// and the four time values.
func (r *Reader) soa(rec *Record, rdata []token) string {
	mname, err := r.name(rdata[0].text)
	if err != nil {
		return "SOA record: primary server: " + err.Error()
	}
	rname, err := r.name(rdata[1].text)
	if err != nil {
		return "SOA record: mailbox: " + err.Error()
	}
	soa := &SOA{Mbox: rname}
	serial, err := strconv.ParseUint(rdata[2].text, 10, 32)
	if err != nil {
		return fmt.Sprintf("SOA record: bad serial %q", rdata[2].text)
	}
	soa.Serial = uint32(serial)
	for i, dst := range []*uint32{&soa.Refresh, &soa.Retry, &soa.Expire, &soa.Minimum} {
		v, ok := parseTTL(rdata[3+i].text)
		if !ok {
			return fmt.Sprintf("SOA record: bad time value %q", rdata[3+i].text)
		}
		*dst = v
	}
	rec.Target, rec.SOA = mname, soa
	return ""
}

// name makes a name of the zone file absolute against the current origin.
func (r *Reader) name(s string) (string, error) {
	if s == "@" {
		if r.origin == "" {
			return "", errors.New(`"@" needs an $ORIGIN`)
		}
		return r.origin, nil
	}
	if !isAbsolute(s) && r.origin == "" {
		return "", fmt.Errorf("relative name %q needs an $ORIGIN", s)
	}
	return absName(s, r.origin)
}

// isAbsolute reports whether a presentation-format name ends with an
// unescaped dot.
func isAbsolute(s string) bool {
	if !strings.HasSuffix(s, ".") {
		return false
	}
	n := 0
	for i := len(s) - 2; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// absName returns s made absolute against origin (itself absolute), in
// lower case, after checking label and name lengths.
func absName(s, origin string) (string, error) {
	if s == "" {
		return "", errors.New("empty name")
	}
	var full string
	switch {
	case s == ".":
		full = "."
	case isAbsolute(s):
		full = s
	case origin == ".":
		full = s + "."
	default:
		full = s + "." + origin
	}
	if err := checkName(full); err != nil {
		return "", fmt.Errorf("name %q: %s", s, err)
	}
	return strings.ToLower(full), nil
}

// checkName checks an absolute presentation-format name: no empty label,
// labels of at most 63 octets, at most 255 octets on the wire, and
// well-formed escapes.
func checkName(s string) error {
	if s == "." {
		return nil
	}
	wire, label := 1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return errors.New("empty label")
			}
			wire += label + 1
			label = 0
			continue
		case c == '\\':
			if i+1 >= len(s) {
				return errors.New("bad escape")
			}
			if s[i+1] >= '0' && s[i+1] <= '9' {
				if i+3 >= len(s) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
					return errors.New(`bad \DDD escape`)
				}
				if v, _ := strconv.Atoi(s[i+1 : i+4]); v > 255 {
					return errors.New(`bad \DDD escape`)
				}
				i += 3
			} else {
				i++
			}
		case c <= ' ' || c == 0x7f:
			return fmt.Errorf("control character 0x%02x", c)
		}
		label++
		if label > 63 {
			return errors.New("label longer than 63 octets")
		}
	}
	if label != 0 {
		wire += label + 1
	}
	if wire > 255 {
		return errors.New("name longer than 255 octets")
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseTTL parses a TTL: seconds, or BIND units ("1w2d3h4m5s", "1H").
func parseTTL(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	if v, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(v), true
	}
	var total, num uint64
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			num = num*10 + uint64(c-'0')
			digits = true
			if num > 1<<32 {
				return 0, false
			}
			continue
		}
		if !digits {
			return 0, false
		}
		var mul uint64
		switch c | 0x20 {
		case 's':
			mul = 1
		case 'm':
			mul = 60
		case 'h':
			mul = 3600
		case 'd':
			mul = 86400
		case 'w':
			mul = 604800
		default:
			return 0, false
		}
		total += num * mul
		if total > 1<<32-1 {
			return 0, false
		}
		num, digits = 0, false
	}
	if digits {
		return 0, false // a bare number after units ("1h30") is ambiguous
	}
	return uint32(total), true
}

func parseClass(s string) (string, bool) {
	u := strings.ToUpper(s)
	switch u {
	case "IN", "CH", "CS", "HS", "NONE", "ANY":
		return u, true
	}
	if rest, ok := strings.CutPrefix(u, "CLASS"); ok {
		if _, err := strconv.ParseUint(rest, 10, 16); err == nil {
			return u, true
		}
	}
	return "", false
}

func isGenericType(s string) bool {
	rest, ok := strings.CutPrefix(s, "TYPE")
	if !ok {
		return false
	}
	_, err := strconv.ParseUint(rest, 10, 16)
	return err == nil
}

// dataFields returns the number of data fields of a decoded type, 0 for the
// types the reader skips.
func dataFields(typ string) int {
	switch typ {
	case "A", "AAAA", "NS", "CNAME":
		return 1
	case "MX":
		return 2
	case "SOA":
		return 7
	}
	return 0
}
