// Package geofeed parses self-published IP geolocation feeds in the format of
// RFC 8805 (https://www.rfc-editor.org/rfc/rfc8805): CSV lines of
//
//	ip_prefix,alpha2code,region,city,postal_code
//
// where alpha2code is an ISO 3166-1 country code, region an ISO 3166-2
// subdivision code such as "US-VA", and any field but the prefix may be
// empty. Lines that start with '#' are comments. DigitalOcean and Linode
// (Akamai Cloud) publish their ranges this way.
package geofeed

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/iso"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "geofeed"

// Parse reads a geofeed. Each range has the line's prefix, country (upper
// case), region as its area, and city; the postal code, which RFC 8805
// deprecates, is dropped, and so are fields after it. Missing trailing
// fields are empty. Malformed lines are skipped and reported together in the
// error, each as a [*feed.ParseError] with its line number.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3) // a byte order mark
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var (
		out  []attribution.FeedRange
		errs []error
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			errs = append(errs, &feed.ParseError{Feed: name, Line: pe.StartLine, Err: pe.Err})
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(rec[0]), "#") {
			continue // a comment that encoding/csv missed: '#' after white space
		}
		line, _ := cr.FieldPos(0)
		fr, err := parseRecord(rec)
		if err != nil {
			errs = append(errs, &feed.ParseError{Feed: name, Line: line, Err: err})
			continue
		}
		out = append(out, fr)
	}
	return feed.Dedup(out), errors.Join(errs...)
}

func parseRecord(rec []string) (attribution.FeedRange, error) {
	field := func(i int) string {
		if i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	p, err := feed.ParsePrefix(field(0))
	if err != nil {
		return attribution.FeedRange{}, err
	}
	cc := strings.ToUpper(field(1))
	if cc != "" && !iso.IsCountry(cc) {
		return attribution.FeedRange{}, fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code", field(1))
	}
	return attribution.FeedRange{Prefix: p, Country: cc, Area: field(2), City: field(3)}, nil
}
