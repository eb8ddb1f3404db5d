package flowagg

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// DefaultLocal returns the networks taken as local when the user names
// none: private, shared, loopback, link-local, documentation, benchmarking,
// multicast and other special-use ranges of IPv4 and IPv6 (RFC 6890 and the
// IANA special-purpose registries). Traffic to them never leaves for a
// provider, so they are never the remote end.
func DefaultLocal() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
		netip.MustParsePrefix("10.0.0.0/8"),      // RFC 1918
		netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT), RFC 6598
		netip.MustParsePrefix("127.0.0.0/8"),     // loopback
		netip.MustParsePrefix("169.254.0.0/16"),  // link-local
		netip.MustParsePrefix("172.16.0.0/12"),   // RFC 1918
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
		netip.MustParsePrefix("192.168.0.0/16"),  // RFC 1918
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
		netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
		netip.MustParsePrefix("224.0.0.0/4"),     // multicast
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
		netip.MustParsePrefix("::/127"),          // unspecified and loopback
		netip.MustParsePrefix("100::/64"),        // discard-only
		netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use IPv4/IPv6 translation
		netip.MustParsePrefix("2001:db8::/32"),   // documentation
		netip.MustParsePrefix("fc00::/7"),        // unique local
		netip.MustParsePrefix("fe80::/10"),       // link-local
		netip.MustParsePrefix("ff00::/8"),        // multicast
	}
}

// ParseLocal parses a comma-separated list of networks ("10.0.0.0/8,
// 2001:db8::/32") or single addresses.
func ParseLocal(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil && p.Addr().Zone() == "" {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		return nil, fmt.Errorf("%q is not a network (10.0.0.0/8) or an address", f)
	}
	return out, nil
}

// A Local is a set of local networks, fast to test.
type Local struct {
	prefixes []netip.Prefix
	// top4 tells, by its /16 (its top 16 bits), whether an IPv4 address
	// is local, in one load, for all but the few /16s that hold part of a
	// network: a span value per /16.
	top4 [1 << 16]uint8
	v4   []net4     // the IPv4 networks longer than /16, for short lists
	v6   []net6     // for short lists
	lite *bart.Lite // for long lists
}

// What the networks hold of a /16 of IPv4 (top4).
const (
	spanNone = iota // none of it
	spanAll         // all of it
	spanSome        // part of it: ask the list or the table
)

type net4 struct{ addr, mask uint32 }

type net6 struct{ hi, lo, mhi, mlo uint64 }

// shortList is the longest list tested linearly.
const shortList = 24

// NewLocal returns the set of the prefixes.
func NewLocal(prefixes []netip.Prefix) *Local {
	l := &Local{prefixes: prefixes}
	// The networks of /16 or shorter first, so that a longer one inside
	// them leaves their /16 whole.
	for _, p := range prefixes {
		if p = p.Masked(); p.Addr().Is4() && p.Bits() <= 16 {
			a4 := p.Addr().As4()
			top := be32(a4[:]) >> 16
			for i := range uint32(1) << (16 - p.Bits()) {
				l.top4[top+i] = spanAll
			}
		}
	}
	for _, p := range prefixes {
		if p = p.Masked(); p.Addr().Is4() && p.Bits() > 16 {
			a4 := p.Addr().As4()
			if top := be32(a4[:]) >> 16; l.top4[top] == spanNone {
				l.top4[top] = spanSome
			}
		}
	}
	if len(prefixes) > shortList {
		l.lite = new(bart.Lite)
		for _, p := range prefixes {
			l.lite.Insert(p.Masked())
		}
		return l
	}
	for _, p := range prefixes {
		p = p.Masked()
		b := p.Addr().As16()
		if p.Addr().Is4() {
			if p.Bits() > 16 {
				a4 := p.Addr().As4()
				mask := ^(^uint32(0) >> p.Bits())
				l.v4 = append(l.v4, net4{addr: be32(a4[:]), mask: mask})
			}
			continue
		}
		hi, lo := be64(b[:8]), be64(b[8:])
		mhi, mlo := mask64(p.Bits()), mask64(p.Bits()-64)
		l.v6 = append(l.v6, net6{hi: hi, lo: lo, mhi: mhi, mlo: mlo})
	}
	return l
}

// span returns what the networks hold of the /16 of the IPv4 address a.
func (l *Local) span(a uint32) uint8 { return l.top4[a>>16] }

func mask64(bits int) uint64 {
	switch {
	case bits <= 0:
		return 0
	case bits >= 64:
		return ^uint64(0)
	}
	return ^(^uint64(0) >> bits)
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be64(b []byte) uint64 { return uint64(be32(b[:4]))<<32 | uint64(be32(b[4:8])) }

// Prefixes returns the networks of the set.
func (l *Local) Prefixes() []netip.Prefix { return l.prefixes }

// Contains reports whether addr is in a local network.
func (l *Local) Contains(addr netip.Addr) bool {
	if addr.Is4() {
		b := addr.As16()
		if s := l.span(be32(b[12:])); s != spanSome {
			return s == spanAll
		}
	}
	return l.contains(addr)
}

// contains is Contains for the addresses top4 does not decide.
func (l *Local) contains(addr netip.Addr) bool {
	if l.lite != nil {
		return l.lite.Contains(addr)
	}
	if addr.Is4() {
		a4 := addr.As4()
		a := be32(a4[:])
		for _, n := range l.v4 {
			if a&n.mask == n.addr {
				return true
			}
		}
		return false
	}
	b := addr.As16()
	hi, lo := be64(b[:8]), be64(b[8:])
	for _, n := range l.v6 {
		if hi&n.mhi == n.hi && lo&n.mlo == n.lo {
			return true
		}
	}
	return false
}
