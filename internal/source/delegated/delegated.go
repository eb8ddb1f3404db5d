// Package delegated parses the statistics files in which the five Regional
// Internet Registries publish every block of address space and AS numbers
// they have delegated: the "RIR statistics exchange format" of the NRO
// (https://www.nro.net/wp-content/uploads/nro-extended-stats-readme5.txt),
// files such as delegated-ripencc-extended-latest. A file has a version
// line, summary lines and records, separated by "|":
//
//	2|ripencc|20260617|123456|19830705|20260616|+0200   version
//	ripencc|*|ipv4|*|80542|summary                       summary
//	ripencc|FR|ipv4|2.0.0.0|1048576|20100712|allocated|a1b2c3   record
//
// A record gives the registry, the ISO 3166 country of the holder, the type
// (ipv4, ipv6 or asn), the first address or AS number, a value (the number
// of IPv4 addresses, which need not be a power of two; the IPv6 prefix
// length; the number of AS numbers), the delegation date, the status
// (allocated, assigned, available, reserved) and, in the extended files, an
// opaque ID of the holder. Lines starting with '#' are comments.
//
// Reading is lenient per line and strict per file: a malformed line is
// skipped and reported as a [*feed.ParseError] with its line number; the
// errors come back joined with [errors.Join]. A read error stops reading.
package delegated

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sovmap/sovmap/internal/iso"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "delegated"

const maxLine = 64 * 1024

// A Header is the version line of a file.
type Header struct {
	Version   string // format version, e.g. "2" or "2.3"
	Registry  string // e.g. "ripencc"
	Serial    string // serial number of the file, usually its date YYYYMMDD
	Records   int    // number of records the file announces
	StartDate string // YYYYMMDD of the earliest record
	EndDate   string // YYYYMMDD of the latest record
	UTCOffset string // e.g. "+0200"
	Line      int    // 1-based line of the header, 0 if the file has none
}

// Date returns the date of the data as YYYY-MM-DD, from the serial number
// when it is a date, else from the end date; "" if neither is.
func (h Header) Date() string {
	for _, d := range []string{h.Serial, h.EndDate} {
		if len(d) != 8 {
			continue
		}
		if ymd := d[:4] + "-" + d[4:6] + "-" + d[6:8]; iso.IsDate(ymd) {
			return ymd
		}
	}
	return ""
}

// A Record is one delegation.
type Record struct {
	Registry string // e.g. "apnic"
	CC       string // country of the holder, upper case; "" or "ZZ" when none
	Type     string // "ipv4", "ipv6" or "asn"
	// First and Last bound the addresses of an ipv4 or ipv6 record,
	// inclusive.
	First, Last netip.Addr
	// ASN and ASNCount give the AS numbers of an asn record.
	ASN, ASNCount uint32
	Date          string // delegation date YYYYMMDD as written; "" or "00000000" when unknown
	Status        string // lower case: allocated, assigned, available, reserved
	OpaqueID      string // holder ID in extended files, "" otherwise
	Line          int    // 1-based line in the file
}

// Delegated reports whether the block is held by someone: its status is
// allocated or assigned and it names a country.
func (r Record) Delegated() bool {
	return (r.Status == "allocated" || r.Status == "assigned") && r.CC != "" && r.CC != "ZZ"
}

// IsIP reports whether the record delegates addresses (ipv4 or ipv6).
func (r Record) IsIP() bool { return r.Type == "ipv4" || r.Type == "ipv6" }

// Read calls fn for every well-formed record of a file, in order, and
// returns the file's header. The error joins the [*feed.ParseError] of each
// malformed line, and one for a header whose record count disagrees with
// the records found (a sign of a truncated file); any other error is a read
// error, which stops reading.
func Read(r io.Reader, fn func(Record)) (Header, error) {
	var (
		h       Header
		errs    []error
		n       int
		records int // record lines seen, good or bad
		in      = interner{}
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "|")
		if h.Line == 0 && records == 0 && isVersion(f[0]) {
			var err error
			if h, err = parseHeader(f); err != nil {
				errs = append(errs, &feed.ParseError{Feed: name, Line: n, Err: err})
			}
			h.Line = n
			continue
		}
		if len(f) >= 6 && f[1] == "*" && f[5] == "summary" {
			continue
		}
		records++
		rec, err := parseRecord(f, in)
		if err != nil {
			errs = append(errs, &feed.ParseError{Feed: name, Line: n, Err: err})
			continue
		}
		rec.Line = n
		fn(rec)
	}
	if err := sc.Err(); err != nil {
		return h, fmt.Errorf("%s: line %d: %w", name, n+1, err)
	}
	if h.Line > 0 && h.Records != records {
		errs = append(errs, &feed.ParseError{Feed: name, Line: h.Line,
			Err: fmt.Errorf("the header announces %d records, the file holds %d (truncated?)", h.Records, records)})
	}
	return h, errors.Join(errs...)
}

// isVersion reports whether the first field of a line is a format version
// such as "2" or "2.3", which only the version line has.
func isVersion(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

func parseHeader(f []string) (Header, error) {
	if len(f) < 7 {
		return Header{}, fmt.Errorf("version line: want 7 fields, found %d", len(f))
	}
	h := Header{Version: f[0], Registry: f[1], Serial: f[2], StartDate: f[4], EndDate: f[5], UTCOffset: f[6]}
	n, err := strconv.Atoi(f[3])
	if err != nil || n < 0 {
		return h, fmt.Errorf("version line: record count %q is not a number", f[3])
	}
	h.Records = n
	return h, nil
}

// interner shares the strings that repeat on every line (registry, country,
// type, status), so that records do not keep their lines alive.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	s = strings.Clone(s)
	in[s] = s
	return s
}

func parseRecord(f []string, in interner) (Record, error) {
	var r Record
	if len(f) < 7 {
		return r, fmt.Errorf("want at least 7 fields, found %d", len(f))
	}
	r.Registry = in.get(strings.ToLower(f[0]))
	r.CC = in.get(strings.ToUpper(strings.TrimSpace(f[1])))
	if r.CC != "" && !iso.IsCountry(r.CC) {
		return r, fmt.Errorf("country %q is not a two-letter code", f[1])
	}
	r.Type = in.get(strings.ToLower(f[2]))
	r.Date = in.get(f[5])
	r.Status = in.get(strings.ToLower(f[6]))
	if len(f) > 7 {
		r.OpaqueID = strings.Clone(f[7])
	}
	value, err := strconv.ParseUint(f[4], 10, 64)
	if err != nil {
		return r, fmt.Errorf("value %q is not a number", f[4])
	}
	switch r.Type {
	case "ipv4":
		a, err := netip.ParseAddr(f[3])
		if err != nil || !a.Is4() {
			return r, fmt.Errorf("start %q is not an IPv4 address", f[3])
		}
		first := uint64(v4(a))
		if value == 0 || first+value-1 > math.MaxUint32 {
			return r, fmt.Errorf("%d addresses from %s run past the end of IPv4", value, a)
		}
		r.First, r.Last = a, addr4(uint32(first+value-1))
	case "ipv6":
		a, err := netip.ParseAddr(f[3])
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return r, fmt.Errorf("start %q is not an IPv6 address", f[3])
		}
		if value > 128 {
			return r, fmt.Errorf("prefix length %d is out of range", value)
		}
		p := netip.PrefixFrom(a, int(value))
		if p.Masked().Addr() != a {
			return r, fmt.Errorf("%s/%d has host bits set", a, value)
		}
		r.First, r.Last = a, lastAddr(p)
	case "asn":
		a, err := strconv.ParseUint(f[3], 10, 32)
		if err != nil {
			return r, fmt.Errorf("start %q is not an AS number", f[3])
		}
		if value == 0 || a+value-1 > math.MaxUint32 {
			return r, fmt.Errorf("%d AS numbers from %d run past AS4294967295", value, a)
		}
		r.ASN, r.ASNCount = uint32(a), uint32(value)
	default:
		return r, fmt.Errorf("unknown type %q", f[2])
	}
	return r, nil
}

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

// lastAddr returns the last address of a masked IPv6 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}
