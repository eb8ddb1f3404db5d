package zeek

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// An op is what [TSV.fast] does with a column.
type op uint8

const (
	opSkip op = iota // a column fast passes over
	opTS
	opOrigH
	opRespH
	opOrigP
	opRespP
	opProto
	opDuration
	opSrcBytes
	opDstBytes
	opSrcPkts
	opDstPkts
	opService
	opState
	numOps
)

// slotOps gives the op of each slot's column. The byte columns get theirs
// in setFields: which pair counts depends on the header.
var slotOps = [numSlots]op{
	fTS: opTS, fOrigH: opOrigH, fRespH: opRespH, fOrigP: opOrigP, fRespP: opRespP,
	fProto: opProto, fDuration: opDuration, fOrigPkts: opSrcPkts, fRespPkts: opDstPkts,
	fService: opService, fConnState: opState,
}

// A step is what fast does with a column it reads: skip the columns
// before it, then parse it.
type step struct {
	skip int // columns to pass over first
	op   op
}

// fast parses a line in one pass, column by column as p.steps say, each
// value read as its column is found, for a tab-separated header with every
// column fill reads (p.direct) and Zeek's own markers. It handles the
// common line, where every column holds a valid value or, where fill takes
// one as zero, the unset marker; for anything else (a wrong field count, an
// empty value, a value that does not parse) it returns false and leaves rec
// alone, and the general path decides, with its own error. When it returns
// true, rec is what fill would have made of the line.
//
// Written out as one function: it is the per-line hot path of Zeek TSV, and
// the column loop keeps its position and values in registers.
//
//gocyclo:ignore
func (p *TSV) fast(line []byte, rec *flowlog.Record) bool {
	if !p.plain {
		return false
	}
	if p.std {
		return p.stdLine(line, rec)
	}
	// Few variables live across the loop, so that the compiler keeps them
	// in registers: the values go to memory, by op.
	var (
		u     [numOps + 1]uint64 // numbers by op; for opTS the seconds, with the nanoseconds in u[numOps]
		addrs [2]netip.Addr      // orig, resp
		spans [2][2]int          // service and state columns
	)
	n := len(line)
	i := 0 // the start of the next column; n+1 past the last
	steps := p.steps
	for _, st := range steps {
		if st.skip > 0 {
			if i = skipColumns(line, i, st.skip); i < 0 {
				return false
			}
		}
		if i > n {
			return false
		}
		j := i // the end of the column
		ok := true
		var v uint64
		switch o := st.op; o {
		case opOrigH, opRespH:
			addrs[o-opOrigH], j, ok = scanAddr(line, i)
		case opOrigP, opRespP:
			if unset(line, i) {
				j++
			} else if v, j, ok = scanUint(line, i); v > 0xffff {
				ok = false
			}
		case opProto:
			j = skipField(line, i)
			if j-i != 1 || line[i] != '-' {
				var pr uint8
				pr, ok = flowlog.ParseProto(line[i:j])
				v = uint64(pr)
			}
		case opTS:
			var s, ns int64
			s, ns, j, ok = scanDecimal(line, i)
			ok = ok && s <= 1<<40
			v, u[numOps] = uint64(s), uint64(ns)
		case opDuration:
			if unset(line, i) {
				j++
			} else {
				var s, ns int64
				s, ns, j, ok = scanDecimal(line, i)
				ok = ok && s <= math.MaxInt64/int64(time.Second)-1
				v = uint64(time.Duration(s)*time.Second + time.Duration(ns))
			}
		case opSrcBytes, opDstBytes, opSrcPkts, opDstPkts:
			if unset(line, i) {
				j++
			} else {
				v, j, ok = scanUint(line, i)
			}
		case opService, opState:
			j = skipField(line, i)
			spans[o-opService] = [2]int{i, j}
		}
		if !ok {
			return false
		}
		u[st.op] = v
		switch {
		case j == n:
			i = n + 1
		case line[j] == '\t':
			i = j + 1
		default:
			return false
		}
	}
	switch {
	case p.tail == 0:
		if i != n+1 {
			return false
		}
	case i > n || countTabs(line[i:]) != p.tail-1:
		return false
	}
	ts := time.Unix(int64(u[opTS]), int64(u[numOps])).UTC()
	*rec = flowlog.Record{
		Src:        netip.AddrPortFrom(addrs[0], uint16(u[opOrigP])),
		Dst:        netip.AddrPortFrom(addrs[1], uint16(u[opRespP])),
		Proto:      uint8(u[opProto]),
		SrcBytes:   u[opSrcBytes],
		DstBytes:   u[opDstBytes],
		SrcPackets: u[opSrcPkts],
		DstPackets: u[opDstPkts],
		Start:      ts,
		End:        ts.Add(time.Duration(u[opDuration])),
	}
	if p.want.Has(flowlog.FieldExtra) {
		if sp := spans[0]; sp[1] > sp[0] {
			rec.Extra.Service = p.in.String(p.value(line[sp[0]:sp[1]]))
		}
		if sp := spans[1]; sp[1] > sp[0] {
			rec.Extra.State = p.in.String(p.value(line[sp[0]:sp[1]]))
		}
	}
	return true
}

// stdFields are the first columns of a conn.log in Zeek's default layout
// (Zeek 3 to 7); any columns after them are passed over.
var stdFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
	"orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
	"orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"}

// stdLine is fast for a header in Zeek's default layout (p.std): the same
// steps written out, so that the values stay in registers and no step
// costs a dispatch.
//
// Written out by hand, one column after another: it is the per-line hot
// path of Zeek's default layout, unrolled from fast.
//
//gocyclo:ignore
func (p *TSV) stdLine(line []byte, rec *flowlog.Record) bool {
	n := len(line)
	s, ns, j, ok := scanDecimal(line, 0)
	if !ok || s > 1<<40 || !tabAt(line, j) {
		return false
	}
	i := skipColumns(line, j+1, 1) // uid
	if i < 0 {
		return false
	}
	src, j, ok := scanAddr(line, i)
	if !ok || !tabAt(line, j) {
		return false
	}
	sp, j, ok := scanCount(line, j+1)
	if !ok || sp > 0xffff || !tabAt(line, j) {
		return false
	}
	dst, j, ok := scanAddr(line, j+1)
	if !ok || !tabAt(line, j) {
		return false
	}
	dp, j, ok := scanCount(line, j+1)
	if !ok || dp > 0xffff || !tabAt(line, j) {
		return false
	}
	i, j = j+1, skipField(line, j+1)
	var proto uint8
	if j-i != 1 || line[i] != '-' {
		if proto, ok = flowlog.ParseProto(line[i:j]); !ok {
			return false
		}
	}
	if !tabAt(line, j) {
		return false
	}
	svc0, svc1 := j+1, skipField(line, j+1)
	if !tabAt(line, svc1) {
		return false
	}
	var dur time.Duration
	if i = svc1 + 1; unset(line, i) {
		j = i + 1
	} else {
		ds, dns, e, ok := scanDecimal(line, i)
		if !ok || ds > math.MaxInt64/int64(time.Second)-1 {
			return false
		}
		dur, j = time.Duration(ds)*time.Second+time.Duration(dns), e
	}
	if !tabAt(line, j) {
		return false
	}
	st0 := skipColumns(line, j+1, 2) // orig_bytes, resp_bytes
	if st0 < 0 {
		return false
	}
	st1 := skipField(line, st0)
	if !tabAt(line, st1) {
		return false
	}
	i = skipColumns(line, st1+1, 4) // local_orig, local_resp, missed_bytes, history
	if i < 0 {
		return false
	}
	opk, j, ok := scanCount(line, i)
	if !ok || !tabAt(line, j) {
		return false
	}
	ob, j, ok := scanCount(line, j+1)
	if !ok || !tabAt(line, j) {
		return false
	}
	rpk, j, ok := scanCount(line, j+1)
	if !ok || !tabAt(line, j) {
		return false
	}
	rb, j, ok := scanCount(line, j+1)
	if !ok {
		return false
	}
	if p.tail == 0 {
		if j != n {
			return false
		}
	} else if !tabAt(line, j) || countTabs(line[j+1:]) != p.tail-1 {
		return false
	}
	ts := time.Unix(s, ns).UTC()
	*rec = flowlog.Record{
		Src: netip.AddrPortFrom(src, uint16(sp)), Dst: netip.AddrPortFrom(dst, uint16(dp)), Proto: proto,
		SrcBytes: ob, DstBytes: rb, SrcPackets: opk, DstPackets: rpk,
		Start: ts, End: ts.Add(dur),
	}
	if p.want.Has(flowlog.FieldExtra) {
		rec.Extra.Service = p.in.String(p.value(line[svc0:svc1]))
		rec.Extra.State = p.in.String(p.value(line[st0:st1]))
	}
	return true
}

// tabAt reports whether line has a tab at j.
func tabAt(line []byte, j int) bool { return j < len(line) && line[j] == '\t' }

// scanCount is scanUint for a column that may be unset, which counts as
// zero. Short numbers are read inline; the rest by scanCountSlow.
func scanCount(line []byte, i int) (uint64, int, bool) {
	if n, d := digits(load8(line, i)); uint(n-1) < 7 {
		return value8(d, n), i + n, true
	}
	return scanCountSlow(line, i)
}

// load8 returns the eight bytes of line at i, zeros past its end. Near
// the end it reads the line's last eight bytes and shifts them, so that the
// last columns of a line take the same path as the others.
func load8(line []byte, i int) uint64 {
	if i+8 <= len(line) {
		return binary.LittleEndian.Uint64(line[i:])
	}
	if n := len(line); n >= 8 && i <= n {
		return binary.LittleEndian.Uint64(line[n-8:]) >> (8 * uint(i+8-n))
	}
	var b [8]byte
	if i < len(line) {
		copy(b[:], line[i:])
	}
	return binary.LittleEndian.Uint64(b[:])
}

func scanCountSlow(line []byte, i int) (uint64, int, bool) {
	if unset(line, i) {
		return 0, i + 1, true
	}
	return scanUint(line, i)
}

// byteMask returns a mask with the high bit of each byte of x that is c
// set, and no other bit. It is exact for every byte: no carry crosses from
// one byte to the next.
func byteMask(x uint64, c byte) uint64 {
	y := x ^ uint64(c)*ones
	return ^((y&lo7 + lo7) | y | lo7)
}

const lo7 = 0x7f7f7f7f7f7f7f7f

// skipColumns returns the start of the column k columns after the one that
// starts at i, or -1 if the line has too few.
func skipColumns(line []byte, i, k int) int {
	for ; i+8 <= len(line); i += 8 {
		t := byteMask(binary.LittleEndian.Uint64(line[i:]), '\t')
		c := bits.OnesCount64(t)
		if c < k {
			k -= c
			continue
		}
		for ; k > 1; k-- {
			t &= t - 1
		}
		return i + bits.TrailingZeros64(t)>>3 + 1
	}
	for ; i < len(line); i++ {
		if line[i] == '\t' {
			if k--; k == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// countTabs returns the number of tabs in b.
func countTabs(b []byte) int {
	c, i := 0, 0
	for ; i+8 <= len(b); i += 8 {
		c += bits.OnesCount64(byteMask(binary.LittleEndian.Uint64(b[i:]), '\t'))
	}
	for ; i < len(b); i++ {
		if b[i] == '\t' {
			c++
		}
	}
	return c
}

// unset reports whether the column at i holds the unset marker "-" (then
// followed by a tab or the end of the line, which the caller checks).
func unset(line []byte, i int) bool {
	return i < len(line) && line[i] == '-' && (i+1 == len(line) || line[i+1] == '\t')
}

const (
	tabs  = 0x0909090909090909
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// skipField returns the index of the first tab at or after i, or len(line).
func skipField(line []byte, i int) int {
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:]) ^ tabs
		// The lowest set high bit marks the first zero byte of x, the
		// first tab; bits above it may be false.
		if t := (x - ones) &^ x & highs; t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
	}
	for ; i < len(line) && line[i] != '\t'; i++ {
	}
	return i
}

// digits returns the number of decimal digits at the start of the eight
// bytes x (in memory order, the first in the low byte), from 0 to 8, and x
// with each digit turned into its value. It reads all eight bytes at once,
// so a number's length costs no branch.
func digits(x uint64) (n int, d uint64) {
	d = x - 0x3030303030303030
	// A byte below '0' wraps and sets its high bit; one above '9' sets it
	// once 0x76 is added. Borrows and carries only reach the bytes after
	// the first such byte, which are not counted.
	nd := ((d + 0x7676767676767676) | d) & highs
	return bits.TrailingZeros64(nd) >> 3, d
}

// value8 returns the number written by the n (1 to 8) digit values at the
// start of d, as digits returns them.
func value8(d uint64, n int) uint64 {
	d <<= (64 - 8*uint(n)) & 63 // the digits to the top, zeros before them
	d = d * (10<<8 + 1) >> 8
	d = (d & 0x00ff00ff00ff00ff) * (100<<16 + 1) >> 16
	return (d & 0x0000ffff0000ffff) * (10000<<32 + 1) >> 32
}

// scanUint reads the decimal digits at i: their value and the index after
// them. It fails without a digit or with more than 19. It reads eight
// digits at a time, also near the end of the line (see load8).
func scanUint(line []byte, i int) (uint64, int, bool) {
	c, d := digits(load8(line, i))
	switch {
	case c == 0:
		return 0, i, false
	case c < 8:
		return value8(d, c), i + c, true
	}
	v := value8(d, 8)
	c, d = digits(load8(line, i+8))
	switch {
	case c == 0:
		return v, i + 8, true
	case c < 8:
		return v*uint64(pow10[c]) + value8(d, c), i + 8 + c, true
	}
	// Sixteen digits or more: one at a time, up to the limit.
	var n uint64
	j := i
	for ; j < len(line); j++ {
		d := line[j] - '0'
		if d > 9 {
			break
		}
		n = n*10 + uint64(d)
	}
	return n, j, j-i <= 19
}

// scanDecimal reads a decimal with an optional fraction at i, as
// [flowlog.ParseDecimal] takes it: whole units, nanoseconds, and the index
// after it. It reads eight digits at a time, also the long fractions Zeek
// writes durations with in JSON ("0.06685185432434082").
func scanDecimal(line []byte, i int) (whole, nanos int64, end int, ok bool) {
	w, j, ok := scanUint(line, i)
	if !ok || j-i > 18 {
		return 0, 0, j, false
	}
	if j == len(line) || line[j] != '.' {
		return int64(w), 0, j, true
	}
	j++
	c, d := digits(load8(line, j))
	switch {
	case c == 0:
		return 0, 0, j, false
	case c < 8:
		return int64(w), int64(value8(d, c)) * pow10[9-c], j + c, true
	}
	// The ninth digit counts too; the digits after it are skipped.
	nanos = int64(value8(d, 8)) * 10
	j += 8
	if j < len(line) && line[j]-'0' <= 9 {
		nanos += int64(line[j] - '0')
		j++
	}
	for c == 8 {
		c, _ = digits(load8(line, j))
		j += c
	}
	return int64(w), nanos, j, true
}

var pow10 = [...]int64{1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// scanAddr reads an address at i: a dotted quad in registers, anything
// else (IPv6) through [flowlog.ParseAddr] on the whole column.
func scanAddr(line []byte, i int) (netip.Addr, int, bool) {
	if i+16 <= len(line) {
		lo := binary.LittleEndian.Uint64(line[i:])
		hi := binary.LittleEndian.Uint64(line[i+8:])
		if ip, n, ok := quad(lo, hi, '\t'); ok {
			return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), i + n, true
		}
	}
	return slowAddr(line, i)
}

// quad reads a dotted quad followed by the byte term from the 16 bytes lo,
// hi (in memory order, the first in the low byte of lo), as
// [flowlog.ParseIPv4] takes it: the address, and its length without term.
// It finds the digits and dots of all 16 bytes at once, so the four octets
// are read independently of each other, not one after the other.
func quad(lo, hi uint64, term byte) (ip uint32, n int, ok bool) {
	dig := digitBits(lo) | digitBits(hi)<<8
	dot := compact(byteMask(lo, '.')) | compact(byteMask(hi, '.'))<<8
	n = bits.TrailingZeros32(^(dig | dot)) // the first byte that is neither
	if n > 15 {
		return 0, 0, false
	}
	dots := dot & (1<<n - 1)
	if bits.OnesCount32(dots) != 3 {
		return 0, 0, false
	}
	p1 := bits.TrailingZeros32(dots)
	dots &= dots - 1
	p2 := bits.TrailingZeros32(dots)
	dots &= dots - 1
	p3 := bits.TrailingZeros32(dots)
	// The octets' lengths must be 1 to 3; their starts are 0, p1+1, p2+1
	// and p3+1.
	if uint(p1-1) > 2 || uint(p2-p1-2) > 2 || uint(p3-p2-2) > 2 || uint(n-p3-2) > 2 {
		return 0, 0, false
	}
	if byteAt(lo, hi, n) != term {
		return 0, 0, false
	}
	o0 := octet(lo, p1)
	o1 := octet(shiftOut(lo, hi, p1+1), p2-p1-1)
	o2 := octet(shiftOut(lo, hi, p2+1), p3-p2-1)
	o3 := octet(shiftOut(lo, hi, p3+1), n-p3-1)
	if o0|o1|o2|o3 > 255 {
		return 0, 0, false
	}
	return o0<<24 | o1<<16 | o2<<8 | o3, n, true
}

// octet returns the value of the k (1 to 3) digits at the start of x, or
// 256 for a leading zero; a value over 255 is returned as it is.
func octet(x uint64, k int) uint32 {
	d := uint32(x) - 0x30303030 // digit values in bytes 0 to k-1
	if d&0xff == 0 && k > 1 {
		return 256 // a leading zero
	}
	d <<= (32 - 8*uint(k)) & 31 // the digits to bytes 1 to 3, zeros before them
	return (d>>8&0xff)*100 + (d>>16&0xff)*10 + d>>24
}

// shiftOut returns the eight bytes of lo, hi from byte s (0 to 15) on.
// It does not branch: Go's shifts by the word size or more give zero.
func shiftOut(lo, hi uint64, s int) uint64 {
	sh := 8 * uint(s)
	return lo>>sh | hi<<(64-sh) | hi>>(sh-64)
}

// byteAt returns byte k (0 to 15) of lo, hi.
func byteAt(lo, hi uint64, k int) byte { return byte(shiftOut(lo, hi, k)) }

// digitBits returns a mask with bit k set where byte k of x is an ASCII
// digit. Unlike digits, it is exact for every byte: no carry crosses
// from one byte to the next.
func digitBits(x uint64) uint32 {
	ge := ((x | highs) - 0x3030303030303030) & highs // the low seven bits at least '0'
	le := (0xb9b9b9b9b9b9b9b9 - x&lo7) & highs       // and at most '9'
	return compact(ge & le &^ x)                     // and the high bit clear
}

// compact gathers the high bits of the eight bytes of m (its only set
// bits) into the low eight bits of the result.
func compact(m uint64) uint32 { return uint32(m * 0x0002040810204081 >> 56) }

func slowAddr(line []byte, i int) (netip.Addr, int, bool) {
	j := skipField(line, i)
	a, ok := flowlog.ParseAddr(line[i:j])
	return a, j, ok
}
