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
	opSkip op = iota
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

// fast parses a line in one pass, column by column as p.prog says, each
// value read as its column is found, for a tab-separated header with every
// column fill reads (p.direct) and Zeek's own markers. It handles the
// common line, where every column holds a valid value or, where fill takes
// one as zero, the unset marker; for anything else (a wrong field count, an
// empty value, a value that does not parse) it returns false and leaves rec
// alone, and the general path decides, with its own error. When it returns
// true, rec is what fill would have made of the line.
func (p *TSV) fast(line []byte, rec *flowlog.Record) bool {
	if !p.plain {
		return false
	}
	// Few variables live across the loop, so that the compiler keeps them
	// in registers: the values go to memory, by op.
	var (
		u     [numOps + 1]uint64 // numbers by op; for opTS the seconds, with the nanoseconds in u[numOps]
		addrs [2]netip.Addr      // orig, resp
		spans [2][2]int          // service and state columns
	)
	prog := p.prog
	n := len(line)
	i, k := 0, 0
	for {
		start := i
		ok := true
		var v uint64
		switch o := prog[k]; o {
		case opSkip:
			i = skipField(line, i)
		case opOrigH, opRespH:
			addrs[o-opOrigH], i, ok = scanAddr(line, i)
		case opOrigP, opRespP:
			if unset(line, i) {
				i++
			} else if v, i, ok = scanUint(line, i); v > 0xffff {
				ok = false
			}
		case opProto:
			i = skipField(line, i)
			if i-start != 1 || line[start] != '-' {
				var pr uint8
				pr, ok = flowlog.ParseProto(line[start:i])
				v = uint64(pr)
			}
		case opTS:
			var s, ns int64
			s, ns, i, ok = scanDecimal(line, i)
			ok = ok && s <= 1<<40
			v, u[numOps] = uint64(s), uint64(ns)
		case opDuration:
			if unset(line, i) {
				i++
			} else {
				var s, ns int64
				s, ns, i, ok = scanDecimal(line, i)
				ok = ok && s <= math.MaxInt64/int64(time.Second)-1
				v = uint64(time.Duration(s)*time.Second + time.Duration(ns))
			}
		case opSrcBytes, opDstBytes, opSrcPkts, opDstPkts:
			if unset(line, i) {
				i++
			} else {
				v, i, ok = scanUint(line, i)
			}
		case opService, opState:
			i = skipField(line, i)
			spans[o-opService] = [2]int{start, i}
		}
		if !ok {
			return false
		}
		u[prog[k]] = v
		k++
		if i >= n {
			break
		}
		if line[i] != '\t' || k == len(prog) {
			return false
		}
		i++
	}
	if k != len(prog) {
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
	d <<= 64 - 8*uint(n) // the digits to the top, zeros before them
	d = d * (10<<8 + 1) >> 8
	d = (d & 0x00ff00ff00ff00ff) * (100<<16 + 1) >> 16
	return (d & 0x0000ffff0000ffff) * (10000<<32 + 1) >> 32
}

// scanUint reads the decimal digits at i: their value and the index after
// them. It fails without a digit or with more than 19.
func scanUint(line []byte, i int) (uint64, int, bool) {
	if i+16 <= len(line) {
		n, d := digits(binary.LittleEndian.Uint64(line[i:]))
		switch {
		case n == 0:
			return 0, i, false
		case n < 8:
			return value8(d, n), i + n, true
		}
		v := value8(d, 8)
		n, d = digits(binary.LittleEndian.Uint64(line[i+8:]))
		switch {
		case n == 0:
			return v, i + 8, true
		case n < 8:
			return v*uint64(pow10[n]) + value8(d, n), i + 8 + n, true
		}
	}
	var v uint64
	j := i
	for ; j < len(line); j++ {
		d := line[j] - '0'
		if d > 9 {
			break
		}
		v = v*10 + uint64(d)
	}
	return v, j, j > i && j-i <= 19
}

// scanDecimal reads a decimal with an optional fraction at i, as
// [flowlog.ParseDecimal] takes it: whole units, nanoseconds, and the index
// after it.
func scanDecimal(line []byte, i int) (whole, nanos int64, end int, ok bool) {
	w, j, ok := scanUint(line, i)
	if !ok || j-i > 18 {
		return 0, 0, j, false
	}
	whole = int64(w)
	if j == len(line) || line[j] != '.' {
		return whole, 0, j, true
	}
	j++
	if j+8 <= len(line) {
		if n, d := digits(binary.LittleEndian.Uint64(line[j:])); n > 0 && n < 8 {
			return whole, int64(value8(d, n)) * pow10[9-n], j + n, true
		}
	}
	f := j
	for ; j < len(line); j++ {
		d := line[j] - '0'
		if d > 9 {
			break
		}
		if j-f < 9 {
			nanos = nanos*10 + int64(d)
		}
	}
	if j == f {
		return 0, 0, j, false
	}
	if n := j - f; n < 9 {
		nanos *= pow10[9-n]
	}
	return whole, nanos, j, true
}

var pow10 = [...]int64{1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// scanAddr reads an address at i: a dotted quad inline, anything else
// (IPv6) through [flowlog.ParseAddr] on the whole column.
func scanAddr(line []byte, i int) (netip.Addr, int, bool) {
	if i+16 > len(line) {
		return slowAddr(line, i)
	}
	var ip [4]byte
	j := i
	for k := range 4 {
		// Each octet: one to three digits, no leading zero, then a dot
		// (or, after the last, the end of the column).
		x := uint64(binary.LittleEndian.Uint32(line[j:]))
		n, d := digits(x | 0xffffffff00000000)
		if n == 0 || n > 3 {
			return slowAddr(line, i)
		}
		d <<= 32 - 8*uint(n) // the digits to bytes 1 to 3, zeros before them
		v := (d>>8&0xff)*100 + (d>>16&0xff)*10 + d>>24&0xff
		if v > 255 || n > 1 && line[j] == '0' {
			return slowAddr(line, i)
		}
		ip[k] = byte(v)
		j += n
		if k < 3 {
			if line[j] != '.' {
				return slowAddr(line, i)
			}
			j++
		}
	}
	if j < len(line) && line[j] != '\t' {
		return slowAddr(line, i)
	}
	return netip.AddrFrom4(ip), j, true
}

func slowAddr(line []byte, i int) (netip.Addr, int, bool) {
	j := skipField(line, i)
	a, ok := flowlog.ParseAddr(line[i:j])
	return a, j, ok
}
