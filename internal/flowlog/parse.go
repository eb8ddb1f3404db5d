package flowlog

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
	"time"
)

// ParseAddr parses an IPv4 or IPv6 address from b without allocating. It
// accepts what [netip.ParseAddr] accepts, except zones, and returns IPv4-in-
// IPv6 addresses unmapped.
func ParseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := ParseIPv4(b); ok {
		return a, true
	}
	for _, c := range b {
		if c == ':' {
			a, ok := parseIPv6(b)
			return a.Unmap(), ok
		}
	}
	return netip.Addr{}, false
}

// ParseIPv4 parses a dotted-quad IPv4 address from b. Like
// [netip.ParseAddr] it refuses leading zeros.
func ParseIPv4(b []byte) (netip.Addr, bool) {
	// Unrolled: each octet is one to three digits, the first not a zero
	// unless alone.
	var ip [4]byte
	i := 0
	for k := range 4 {
		if i >= len(b) {
			return netip.Addr{}, false
		}
		v := uint(b[i] - '0')
		if v > 9 {
			return netip.Addr{}, false
		}
		i++
		if i < len(b) && b[i]-'0' <= 9 {
			if v == 0 {
				return netip.Addr{}, false // leading zero
			}
			v = v*10 + uint(b[i]-'0')
			i++
			if i < len(b) && b[i]-'0' <= 9 {
				v = v*10 + uint(b[i]-'0')
				i++
				if v > 255 {
					return netip.Addr{}, false
				}
			}
		}
		ip[k] = byte(v)
		if k < 3 {
			if i >= len(b) || b[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
	}
	if i != len(b) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

func parseIPv4Fields(b []byte, ip *[4]byte) bool {
	field, digits, val := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && val == 0 {
				return false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return false
			}
			ip[field] = byte(val)
			field++
			digits, val = 0, 0
		default:
			return false
		}
	}
	if field != 3 || digits == 0 {
		return false
	}
	ip[3] = byte(val)
	return true
}

// parseIPv6 follows net/netip's parser, on bytes and without zones.
//
// Written out as net/netip's parser is: it parses every IPv6 address of
// every flow log line, and a step a group would cost a call.
//
//gocyclo:ignore
func parseIPv6(s []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // position of the ellipsis in ip
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		off := 0
		acc := uint32(0)
		for ; off < len(s); off++ {
			c := s[off]
			switch {
			case c >= '0' && c <= '9':
				acc = acc<<4 + uint32(c-'0')
			case c >= 'a' && c <= 'f':
				acc = acc<<4 + uint32(c-'a'+10)
			case c >= 'A' && c <= 'F':
				acc = acc<<4 + uint32(c-'A'+10)
			default:
				goto done
			}
			if off > 3 || acc > math.MaxUint16 {
				return netip.Addr{}, false
			}
		}
	done:
		if off == 0 {
			return netip.Addr{}, false
		}
		if off < len(s) && s[off] == '.' {
			// A trailing IPv4 address.
			if ellipsis < 0 && i != 12 || i+4 > 16 {
				return netip.Addr{}, false
			}
			var v4 [4]byte
			if !parseIPv4Fields(s, &v4) {
				return netip.Addr{}, false
			}
			copy(ip[i:], v4[:])
			s = nil
			i += 4
			break
		}
		ip[i] = byte(acc >> 8)
		ip[i+1] = byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return netip.Addr{}, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip), true
}

// ParseUint parses a decimal number without sign that fits in 64 bits.
func ParseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if len(b) < 20 {
		// At most 19 digits cannot overflow.
		var n uint64
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, false
			}
			n = n*10 + uint64(d)
		}
		return n, true
	}
	var n uint64
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, 10)
		if hi != 0 {
			return 0, false
		}
		n, hi = bits.Add64(lo, uint64(d), 0)
		if hi != 0 {
			return 0, false
		}
	}
	return n, true
}

// ParsePort parses a port in decimal or, as Argus writes ICMP type and code,
// in hexadecimal with a 0x prefix.
func ParsePort(b []byte) (uint16, bool) {
	if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		var n uint32
		if len(b) > 6 {
			return 0, false
		}
		for _, c := range b[2:] {
			switch {
			case c >= '0' && c <= '9':
				n = n<<4 | uint32(c-'0')
			case c >= 'a' && c <= 'f':
				n = n<<4 | uint32(c-'a'+10)
			case c >= 'A' && c <= 'F':
				n = n<<4 | uint32(c-'A'+10)
			default:
				return 0, false
			}
		}
		return uint16(n), true
	}
	n, ok := ParseUint(b)
	if !ok || n > math.MaxUint16 {
		return 0, false
	}
	return uint16(n), true
}

// ParseDecimal parses a non-negative decimal number with an optional
// fraction ("1521911720.865716", "0.5", "12") into whole units and
// nanoseconds; digits past the ninth of the fraction are dropped.
func ParseDecimal(b []byte) (whole int64, nanos int64, ok bool) {
	i := 0
	for ; i < len(b) && b[i] != '.'; i++ {
		d := b[i] - '0'
		if d > 9 {
			return 0, 0, false
		}
		whole = whole*10 + int64(d)
	}
	if i == 0 || i > 18 { // more than 18 digits could overflow
		return 0, 0, false
	}
	if i == len(b) {
		return whole, 0, true
	}
	frac := b[i+1:]
	if len(frac) == 0 {
		return 0, 0, false
	}
	n := min(len(frac), 9)
	for _, c := range frac[:n] {
		d := c - '0'
		if d > 9 {
			return 0, 0, false
		}
		nanos = nanos*10 + int64(d)
	}
	for _, c := range frac[n:] {
		if c-'0' > 9 {
			return 0, 0, false
		}
	}
	return whole, nanos * pow10[9-n], true
}

var pow10 = [...]int64{1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// ParseUnixTime parses seconds since 1970 with an optional fraction.
func ParseUnixTime(b []byte) (time.Time, bool) {
	s, ns, ok := ParseDecimal(b)
	if !ok || s > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(s, ns).UTC(), true
}

// ParseSeconds parses a duration in seconds with an optional fraction.
func ParseSeconds(b []byte) (time.Duration, bool) {
	s, ns, ok := ParseDecimal(b)
	if !ok || s > math.MaxInt64/int64(time.Second)-1 {
		return 0, false
	}
	return time.Duration(s)*time.Second + time.Duration(ns), true
}

// ParseDateTime parses a calendar time as the formats write it:
// "2018-03-24T17:15:20.615923Z", "2021-06-06T15:59:46.457984+0200",
// "2019/04/04 16:23:00.325010", "2026-12-14 10:37:20". A time without a zone
// is taken as UTC.
//
// Written out byte by byte, one layout after another: it parses the times
// of every line of nfdump and Argus logs, and of Zeek logs with ISO times.
//
//gocyclo:ignore
func ParseDateTime(b []byte) (time.Time, bool) {
	// YYYY-MM-DD?HH:MM:SS is 19 bytes.
	if len(b) < 19 {
		return time.Time{}, false
	}
	num := func(p []byte) (int, bool) {
		n := 0
		for _, c := range p {
			d := c - '0'
			if d > 9 {
				return 0, false
			}
			n = n*10 + int(d)
		}
		return n, true
	}
	if (b[4] != '-' && b[4] != '/') || b[7] != b[4] || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	rest := b[19:]
	nanos := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := int(1e8)
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			nanos += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		if len(z) == 5 && z[2] == ':' {
			z = []byte{z[0], z[1], z[3], z[4]}
		}
		if len(z) != 4 {
			return time.Time{}, false
		}
		hh, okh := num(z[:2])
		mm, okm := num(z[2:])
		if !okh || !okm || hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		offset = hh*3600 + mm*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

const (
	lo7  = 0x7f7f7f7f7f7f7f7f
	ones = 0x0101010101010101
)

// Split finds the fields of line separated by sep. It stores the end offset
// of field k in ends[k] (field k is line[start:ends[k]], where start is 0
// for the first field and ends[k-1]+1 for the others), for as many fields as
// ends holds, and returns the number of fields in the line. It reads eight
// bytes at a time and allocates nothing.
func Split(line []byte, sep byte, ends []int32) int {
	n := 0
	rep := uint64(sep) * ones
	i := 0
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:]) ^ rep
		// The high bit of each byte of t is set exactly where x has a zero
		// byte, i.e. where line has sep.
		t := ^((x&lo7 + lo7) | x | lo7)
		for t != 0 {
			if n < len(ends) {
				ends[n] = int32(i + bits.TrailingZeros64(t)>>3)
			}
			n++
			t &= t - 1
		}
	}
	for ; i < len(line); i++ {
		if line[i] == sep {
			if n < len(ends) {
				ends[n] = int32(i)
			}
			n++
		}
	}
	if n < len(ends) {
		ends[n] = int32(len(line))
	}
	return n + 1
}

// Field returns field k of line as split by [Split] into ends. k must be
// less than both the field count and len(ends).
func Field(line []byte, ends []int32, k int) []byte {
	start := int32(0)
	if k > 0 {
		start = ends[k-1] + 1
	}
	return line[start:ends[k]]
}

// An Interner turns the short, repeating byte strings of a log (protocol
// states, service names, actions) into strings, allocating each distinct
// value once. The zero value is ready to use.
type Interner struct {
	recent [64]string // direct-mapped cache in front of m
	m      map[string]string
}

// Interner limits: values longer than maxInterned bytes, and new values once
// maxInternEntries are held, are returned as fresh strings.
const (
	maxInterned      = 64
	maxInternEntries = 4096
)

// String returns b as a string, shared with earlier equal values.
func (in *Interner) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	slot := &in.recent[(uint(len(b))*31+uint(b[0])*7+uint(b[len(b)-1]))&63]
	if *slot == string(b) {
		return *slot
	}
	s, ok := in.m[string(b)]
	if !ok {
		s = string(b)
		if len(b) > maxInterned || len(in.m) >= maxInternEntries {
			return s
		}
		if in.m == nil {
			in.m = make(map[string]string)
		}
		in.m[s] = s
	}
	*slot = s
	return s
}

// MaxSplitFixed is the most fields [SplitFixed] finds.
const MaxSplitFixed = 256

// SplitFixed is [Split] into a fixed array, for lines whose expected
// field count is at most [MaxSplitFixed]: it needs no bounds checks, which
// makes it faster. It returns the number of fields in the line; when that
// is more than MaxSplitFixed the ends are garbage, so a caller must compare
// the count with the expected one before it reads them.
func SplitFixed(line []byte, sep byte, ends *[MaxSplitFixed]int32) int {
	n := 0
	rep := uint64(sep) * ones
	i := 0
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:]) ^ rep
		t := ^((x&lo7 + lo7) | x | lo7) // as in Split
		for t != 0 {
			ends[uint8(n)] = int32(i + bits.TrailingZeros64(t)>>3)
			n++
			t &= t - 1
		}
	}
	for ; i < len(line); i++ {
		if line[i] == sep {
			ends[uint8(n)] = int32(i)
			n++
		}
	}
	ends[uint8(n)] = int32(len(line))
	return n + 1
}
