// Package pfx2as parses the prefix-to-AS files that CAIDA derives from
// RouteViews BGP tables (the routeviews-prefix2as and routeviews6-prefix2as
// datasets, https://www.caida.org/catalog/datasets/routeviews-prefix2as/):
// one announced prefix a line,
//
//	prefix <TAB> length <TAB> origins
//
// where origins is one AS number, several separated by "_" when RouteViews
// saw the prefix announced by several origins (multi-origin AS, MOAS), or
// several separated by "," when the path ended in an AS set. Both can occur
// in one field ("64500_64501,64502"). AS numbers are plain decimal; the
// dotted form "1.10" (RFC 5396) is read too.
//
// Parsing is lenient per line and strict per file: a malformed line is
// skipped and reported as a [*feed.ParseError] with its line number, and
// Parse returns the good entries together with the joined errors of the bad
// ones. A read error returns no entries.
package pfx2as

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "pfx2as"

// maxLine bounds a line; real lines are under 100 bytes, but an AS set can
// be long.
const maxLine = 64 * 1024

// An Entry is one announced prefix.
type Entry struct {
	Prefix netip.Prefix // masked; never IPv4-mapped
	// Origins are the origin ASes in the file's order: one, or several for
	// a multi-origin prefix or an AS set. Entries share one backing array:
	// do not append to Origins.
	Origins     []uint32
	MultiOrigin bool // origins were separated by "_"
	ASSet       bool // origins were separated by ","
	Line        int  // 1-based line in the file
}

// Origin returns the first origin AS, which callers that need one origin
// per prefix use.
func (e Entry) Origin() uint32 { return e.Origins[0] }

// Parse reads a prefix-to-AS file. Blank lines and lines starting with '#'
// are skipped.
func Parse(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	var (
		out  []Entry
		asns []uint32 // backing array of all origins
		ends []int    // end of each entry's origins in asns
		errs []error
		n    int
	)
	for sc.Scan() {
		n++
		line := sc.Text()
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
			continue
		}
		start := len(asns)
		e, more, err := parseLine(line, asns)
		if err != nil {
			errs = append(errs, &feed.ParseError{Feed: name, Line: n, Err: err})
			asns = asns[:start]
			continue
		}
		asns = more
		ends = append(ends, len(asns))
		e.Line = n
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", name, n+1, err)
	}
	// The backing array may have moved while it grew: slice it at the end.
	off := 0
	for i := range out {
		out[i].Origins = asns[off:ends[i]:ends[i]]
		off = ends[i]
	}
	return out, errors.Join(errs...)
}

// parseLine parses one line, appending its origins to asns. The returned
// entry's Origins is left nil: Parse slices it from the final backing array.
func parseLine(line string, asns []uint32) (Entry, []uint32, error) {
	var e Entry
	f := strings.Fields(line)
	if len(f) != 3 {
		return e, asns, fmt.Errorf("want 3 fields (prefix, length, origins), found %d", len(f))
	}
	addr, err := netip.ParseAddr(f[0])
	if err != nil {
		return e, asns, err
	}
	if addr.Zone() != "" {
		return e, asns, fmt.Errorf("address %q has a zone", f[0])
	}
	bits, err := strconv.Atoi(f[1])
	if err != nil || bits < 0 {
		return e, asns, fmt.Errorf("prefix length %q is not a number", f[1])
	}
	if addr.Is4In6() && bits >= 96 {
		addr, bits = addr.Unmap(), bits-96
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return e, asns, fmt.Errorf("prefix length %d is out of range for %s", bits, addr)
	}
	if p.Addr() != addr {
		return e, asns, fmt.Errorf("%s/%d has host bits set", addr, bits)
	}
	e.Prefix = p
	for set := range strings.SplitSeq(f[2], "_") {
		for s := range strings.SplitSeq(set, ",") {
			a, err := parseASN(s)
			if err != nil {
				return e, asns, err
			}
			asns = append(asns, a)
		}
	}
	e.MultiOrigin = strings.Contains(f[2], "_")
	e.ASSet = strings.Contains(f[2], ",")
	return e, asns, nil
}

// parseASN parses an AS number in plain ("65550") or dotted ("1.14") form.
func parseASN(s string) (uint32, error) {
	if hi, lo, ok := strings.Cut(s, "."); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("AS number %q is not a 32-bit number", s)
		}
		return uint32(h)<<16 | uint32(l), nil
	}
	a, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("AS number %q is not a 32-bit number", s)
	}
	return uint32(a), nil
}
