// Package feed holds what the parsers of providers' IP-range feeds share:
// prefix normalisation, de-duplication, and the error type that names a bad
// entry.
//
// Each feed format has a package of its own beside this one (aws, azure,
// gcp, ...), and each has a Parse function of the same shape:
//
//	func Parse(r io.Reader) ([]attribution.FeedRange, error)
//
// Parsing is lenient per entry and strict per document. A malformed entry is
// skipped and reported as a [*ParseError]; Parse returns the good entries
// together with the errors of the bad ones, joined with [errors.Join]. A
// document that cannot be read at all (invalid JSON, an I/O error) returns
// no entries and an error.
package feed

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
)

// A ParseError is a malformed entry of a feed.
type ParseError struct {
	Feed  string // the format, e.g. "aws"
	Line  int    // 1-based line of the entry in a text feed, or 0
	Entry string // JSON path of the entry, e.g. "prefixes[12].ip_prefix", or ""
	Err   error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s: line %d: %v", e.Feed, e.Line, e.Err)
	case e.Entry != "":
		return fmt.Sprintf("%s: %s: %v", e.Feed, e.Entry, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Feed, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrEmpty is the error of an entry that has no prefix.
var ErrEmpty = errors.New("empty prefix")

// ParsePrefix parses a CIDR prefix such as "192.0.2.0/24" or "2001:db8::/32"
// and normalises it: host bits are cleared, and an IPv4-mapped IPv6 prefix
// of length 96 or more becomes the IPv4 prefix it maps. Surrounding white
// space is ignored. A bare address without a length is an error.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, ErrEmpty
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Dedup removes repeated entries from rs in place, keeping the first of each,
// and returns the shortened slice. Entries are the same when all their fields
// are equal.
func Dedup(rs []attribution.FeedRange) []attribution.FeedRange {
	seen := make(map[attribution.FeedRange]struct{}, len(rs))
	out := rs[:0]
	for _, r := range rs {
		if _, dup := seen[r]; dup {
			continue
		}
		seen[r] = struct{}{}
		out = append(out, r)
	}
	clear(rs[len(out):]) // let the dropped strings be collected
	return out
}

// Check reports the first range whose prefix is invalid, not masked, or
// IPv4-mapped: what every parser promises never to return. Tests and fuzz
// targets call it on parsers' output.
func Check(rs []attribution.FeedRange) error {
	for i, r := range rs {
		p := r.Prefix
		switch {
		case !p.IsValid():
			return fmt.Errorf("range %d: invalid prefix %v", i, p)
		case p != p.Masked():
			return fmt.Errorf("range %d: prefix %v is not masked", i, p)
		case p.Addr().Is4In6():
			return fmt.Errorf("range %d: prefix %v is IPv4-mapped", i, p)
		}
	}
	return nil
}
