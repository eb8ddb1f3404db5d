// Package ipdb reads the CSV files of the ip-location-db project: inclusive
// address ranges with an origin AS (asn-ipv4.csv, asn-ipv6.csv: start, end,
// ASN, AS organisation) or a country (asn-country-*.csv,
// geo-whois-asn-country-*.csv: start, end, country code).
//
// Reading is lenient: a malformed line is reported as a [LineError] and
// skipped, and reading goes on.
package ipdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Kind says which columns a file has.
type Kind int

// The kinds of ip-location-db files.
const (
	ASN     Kind = iota // start,end,asn,name
	Country             // start,end,cc
)

// A Range is one line of a file.
type Range struct {
	First, Last netip.Addr
	ASN         uint32 // ASN files
	Name        string // ASN files: AS organisation
	Country     string // country files: as written
	Line        int
}

// A LineError is a line that could not be read.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Read calls fn for every well-formed line of a file and returns the line
// errors of the others. The returned error is an I/O error, which stops
// reading; line errors never do.
func Read(file string, r io.Reader, kind Kind, fn func(Range)) (lineErrs []*LineError, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			continue
		}
		rg, err := ParseLine(line, kind)
		if err != nil {
			lineErrs = append(lineErrs, &LineError{File: file, Line: n, Err: err})
			continue
		}
		rg.Line = n
		fn(rg)
	}
	if err := sc.Err(); err != nil {
		return lineErrs, fmt.Errorf("%s: line %d: %w", file, n+1, err)
	}
	return lineErrs, nil
}

// ParseLine parses one line.
func ParseLine(line string, kind Kind) (Range, error) {
	var r Range
	f, rest, ok := strings.Cut(line, ",")
	if !ok {
		return r, errors.New("want at least 3 fields")
	}
	l, rest, ok := strings.Cut(rest, ",")
	if !ok {
		return r, errors.New("want at least 3 fields")
	}
	var err error
	if r.First, err = netip.ParseAddr(f); err != nil {
		return r, fmt.Errorf("range start: %w", err)
	}
	if r.Last, err = netip.ParseAddr(l); err != nil {
		return r, fmt.Errorf("range end: %w", err)
	}
	if r.First.Zone() != "" || r.Last.Zone() != "" {
		return r, errors.New("address with a zone")
	}
	r.First, r.Last = r.First.Unmap(), r.Last.Unmap()
	if r.First.Is4() != r.Last.Is4() {
		return r, errors.New("range mixes IPv4 and IPv6")
	}
	switch kind {
	case ASN:
		a, name, _ := strings.Cut(rest, ",")
		n, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return r, fmt.Errorf("ASN %q: not a 32-bit number", a)
		}
		r.ASN = uint32(n)
		r.Name, err = unquote(name)
		if err != nil {
			return r, err
		}
	case Country:
		cc, _, _ := strings.Cut(rest, ",")
		r.Country = strings.TrimSpace(cc)
	}
	return r, nil
}

// unquote undoes CSV quoting of the last field.
func unquote(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, `"`) {
		if strings.Contains(s, `"`) {
			return "", errors.New("stray quote in AS name")
		}
		return s, nil
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return "", errors.New("unterminated quoted AS name")
	}
	inner := s[1 : len(s)-1]
	if strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) {
		return "", errors.New("stray quote in AS name")
	}
	return strings.ReplaceAll(inner, `""`, `"`), nil
}
