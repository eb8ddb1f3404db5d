// Package ipindex is an immutable longest-prefix-match index over a
// flattened address space.
//
// A table is a sorted list of segments that together cover the whole IPv4 or
// IPv6 space: segment i spans from Start(i) up to, not including, Start(i+1),
// and carries a 32-bit value (0 conventionally meaning "nothing known").
// Overlapping prefixes are resolved when the table is built (the more specific
// prefix wins inside its range, the rest of the covering prefix keeps its
// value), so a lookup is a single search for the segment that holds an
// address, and its answer is the longest-prefix match.
//
// The search is two-level: a first-level array indexed by the top bits of the
// address narrows the segment list to a few entries, then a binary search
// finishes. Lookups do not allocate, and a table is safe for concurrent use by
// any number of readers.
package ipindex

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
)

// l1Bits is the number of leading address bits that index the first level
// of an IPv6 table outside 2000::/3.
const l1Bits = 16

// v4Bits is the number of leading address bits that index the first level
// of an IPv4 table: 2^20 entries (4 MiB), so that a bucket (a /20) holds one
// or two segments on the real table and a lookup is about one read of the
// first level and one of the segment starts.
const v4Bits = 20

// V4 is an IPv4 segment table.
type V4 struct {
	starts []uint32
	vals   []uint32
	l1     []uint32 // l1[h] = index of the segment holding address h<<(32-v4Bits); len 1<<v4Bits + 1
}

// NewV4 returns a table over the given segments. Starts must be strictly
// increasing and begin at 0; vals gives each segment's value.
func NewV4(starts, vals []uint32) (*V4, error) {
	if len(starts) == 0 || len(starts) != len(vals) {
		return nil, errors.New("ipindex: need equal, non-empty starts and values")
	}
	if starts[0] != 0 {
		return nil, errors.New("ipindex: first IPv4 segment must start at 0.0.0.0")
	}
	for i := 1; i < len(starts); i++ {
		if starts[i] <= starts[i-1] {
			return nil, fmt.Errorf("ipindex: IPv4 segment %d does not start after segment %d", i, i-1)
		}
	}
	t := &V4{starts: starts, vals: vals, l1: make([]uint32, 1<<v4Bits+1)}
	seg := 0
	for h := range 1 << v4Bits {
		a := uint32(h) << (32 - v4Bits)
		for seg+1 < len(starts) && starts[seg+1] <= a {
			seg++
		}
		t.l1[h] = uint32(seg)
	}
	t.l1[1<<v4Bits] = uint32(len(starts) - 1)
	return t, nil
}

// Len returns the number of segments.
func (t *V4) Len() int { return len(t.starts) }

// Segment returns the start and value of segment i.
func (t *V4) Segment(i int) (start, val uint32) { return t.starts[i], t.vals[i] }

// Find returns the index of the segment that holds a.
func (t *V4) Find(a uint32) int {
	h := a >> (32 - v4Bits)
	lo, hi := int(t.l1[h]), int(t.l1[h+1])
	// The answer is the last i in [lo, hi] with starts[i] <= a.
	for lo < hi {
		m := int(uint(lo+hi+1) >> 1)
		if t.starts[m] <= a {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return lo
}

// FindMany stores in out[i] the index of the segment that holds as[i]. It
// does each step of Find for a group of addresses before the next step,
// so that the cache misses of different addresses overlap.
func (t *V4) FindMany(as []uint32, out []int32) {
	const group = 64
	var his [group]int32
	for len(as) > 0 {
		g := as[:min(group, len(as))]
		o := out[:len(g)]
		for i, a := range g {
			h := a >> (32 - v4Bits)
			o[i], his[i] = int32(t.l1[h]), int32(t.l1[h+1])
		}
		// Binary searches in lockstep: one step of each, then the next.
		for active := true; active; {
			active = false
			for i, a := range g {
				lo, hi := o[i], his[i]
				if lo >= hi {
					continue
				}
				active = true
				m := int32(uint32(lo+hi+1) >> 1)
				if t.starts[m] <= a {
					o[i] = m
				} else {
					his[i] = m - 1
				}
			}
		}
		as, out = as[len(g):], out[len(g):]
	}
}

// Lookup returns the value of the segment that holds a.
func (t *V4) Lookup(a uint32) uint32 { return t.vals[t.Find(a)] }

// U128 is an unsigned 128-bit integer, an IPv6 address as a number.
type U128 struct{ Hi, Lo uint64 }

// Less reports whether u < v.
func (u U128) Less(v U128) bool { return u.Hi < v.Hi || (u.Hi == v.Hi && u.Lo < v.Lo) }

// V6 is an IPv6 segment table.
type V6 struct {
	hi, lo []uint64
	vals   []uint32
	l1     []uint32
	// gua is a finer first level for global unicast space (2000::/3),
	// where nearly all IPv6 routes are: indexed by the 20 bits after the
	// first three, with one more entry bounding the last bucket.
	gua []uint32
}

// guaBits is the number of address bits after 2000::/3 that index V6.gua.
const guaBits = 20

// NewV6 returns a table over the given segments, as [NewV4] does.
func NewV6(starts []U128, vals []uint32) (*V6, error) {
	if len(starts) == 0 || len(starts) != len(vals) {
		return nil, errors.New("ipindex: need equal, non-empty starts and values")
	}
	if starts[0] != (U128{}) {
		return nil, errors.New("ipindex: first IPv6 segment must start at the address 0 (::)")
	}
	t := &V6{hi: make([]uint64, len(starts)), lo: make([]uint64, len(starts)), vals: vals, l1: make([]uint32, 1<<l1Bits+1)}
	for i, s := range starts {
		if i > 0 && !starts[i-1].Less(s) {
			return nil, fmt.Errorf("ipindex: IPv6 segment %d does not start after segment %d", i, i-1)
		}
		t.hi[i], t.lo[i] = s.Hi, s.Lo
	}
	seg := 0
	for h := range 1 << l1Bits {
		a := uint64(h) << (64 - l1Bits)
		for seg+1 < len(starts) && t.hi[seg+1] <= a && (t.hi[seg+1] < a || t.lo[seg+1] == 0) {
			seg++
		}
		t.l1[h] = uint32(seg)
	}
	t.l1[1<<l1Bits] = uint32(len(starts) - 1)
	t.gua = make([]uint32, 1<<guaBits+1)
	seg = 0
	for h := range 1<<guaBits + 1 {
		a := uint64(1)<<61 | uint64(h)<<(61-guaBits) // h = 1<<guaBits gives 4000::
		for seg+1 < len(starts) && t.hi[seg+1] <= a && (t.hi[seg+1] < a || t.lo[seg+1] == 0) {
			seg++
		}
		t.gua[h] = uint32(seg)
	}
	return t, nil
}

// Len returns the number of segments.
func (t *V6) Len() int { return len(t.hi) }

// Segment returns the start and value of segment i.
func (t *V6) Segment(i int) (start U128, val uint32) { return U128{t.hi[i], t.lo[i]}, t.vals[i] }

// Find returns the index of the segment that holds a.
func (t *V6) Find(a U128) int {
	var lo, hi int
	if a.Hi>>61 == 1 { // 2000::/3
		h := (a.Hi >> (61 - guaBits)) & (1<<guaBits - 1)
		lo, hi = int(t.gua[h]), int(t.gua[h+1])
	} else {
		h := a.Hi >> (64 - l1Bits)
		lo, hi = int(t.l1[h]), int(t.l1[h+1])
	}
	for lo < hi {
		m := int(uint(lo+hi+1) >> 1)
		if t.hi[m] < a.Hi || (t.hi[m] == a.Hi && t.lo[m] <= a.Lo) {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return lo
}

// Lookup returns the value of the segment that holds a.
func (t *V6) Lookup(a U128) uint32 { return t.vals[t.Find(a)] }

// AddrU128 returns an IPv6 address as a number.
func AddrU128(a netip.Addr) U128 {
	b := a.As16()
	return U128{
		Hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]),
		Lo: uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15]),
	}
}

// U128Addr returns the IPv6 address of a number.
func U128Addr(u U128) netip.Addr {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(u.Hi >> (56 - 8*i))
		b[8+i] = byte(u.Lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

// AddrU32 returns an IPv4 address as a number.
func AddrU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// U32Addr returns the IPv4 address of a number.
func U32Addr(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

// Add returns u+v, wrapping around.
func (u U128) Add(v uint64) U128 {
	lo := u.Lo + v
	hi := u.Hi
	if lo < u.Lo {
		hi++
	}
	return U128{hi, lo}
}

// Sub1 returns u-1, wrapping around.
func (u U128) Sub1() U128 {
	if u.Lo == 0 {
		return U128{u.Hi - 1, ^uint64(0)}
	}
	return U128{u.Hi, u.Lo - 1}
}

// LargestPrefix4 returns the largest CIDR block that holds a and lies within
// [first, last], which must hold a. A block that fits stays fitting as it
// shrinks, so the prefix length is found by binary search.
func LargestPrefix4(a, first, last uint32) netip.Prefix {
	// The block of 2^h addresses around a starts at or after first unless
	// it also holds first-1, that is unless a and first-1 agree above bit
	// h; likewise it ends at or before last unless it holds last+1. So h
	// is below the bit length of a^(first-1) and of a^(last+1).
	h := 32
	if first > 0 {
		h = min(h, bits.Len32(a^(first-1))-1)
	}
	if last < math.MaxUint32 {
		h = min(h, bits.Len32(a^(last+1))-1)
	}
	bitsLen := 32 - h
	return netip.PrefixFrom(U32Addr(a&^uint32(uint64(1)<<h-1)), bitsLen)
}

// LargestPrefix6 returns the largest CIDR block that holds a and lies within
// [first, last], which must hold a.
func LargestPrefix6(a, first, last U128) netip.Prefix {
	// As LargestPrefix4: the block of 2^h addresses around a must hold
	// neither first-1 nor last+1.
	h := 128
	if first != (U128{}) {
		h = min(h, len128(xor128(a, dec128(first)))-1)
	}
	if last != (U128{^uint64(0), ^uint64(0)}) {
		h = min(h, len128(xor128(a, inc128(last)))-1)
	}
	return netip.PrefixFrom(U128Addr(a), 128-h).Masked()
}

func xor128(a, b U128) U128 { return U128{a.Hi ^ b.Hi, a.Lo ^ b.Lo} }

func dec128(a U128) U128 {
	lo, borrow := bits.Sub64(a.Lo, 1, 0)
	return U128{a.Hi - borrow, lo}
}

func inc128(a U128) U128 {
	lo, carry := bits.Add64(a.Lo, 1, 0)
	return U128{a.Hi + carry, lo}
}

// len128 returns the number of bits needed to write a.
func len128(a U128) int {
	if a.Hi != 0 {
		return 64 + bits.Len64(a.Hi)
	}
	return bits.Len64(a.Lo)
}
