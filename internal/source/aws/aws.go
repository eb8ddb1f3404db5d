// Package aws parses ip-ranges.json, the list of address ranges that Amazon
// Web Services publishes at https://ip-ranges.amazonaws.com/ip-ranges.json.
//
// The feed lists a prefix once for each service that uses it: always under
// AMAZON, the whole of AWS, and often again under EC2 and a narrower service
// such as S3. Parse keeps one range per prefix and region, with the most
// specific service (see [moreSpecific]).
package aws

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "aws"

type entry struct {
	IPPrefix   string `json:"ip_prefix"`
	IPv6Prefix string `json:"ipv6_prefix"`
	Region     string `json:"region"`
	Service    string `json:"service"`
}

type document struct {
	Prefixes     []entry `json:"prefixes"`
	IPv6Prefixes []entry `json:"ipv6_prefixes"`
}

// Parse reads an ip-ranges.json document. Each range has the entry's
// prefix, region and service; the region "GLOBAL" is kept as written.
// Malformed entries are skipped and reported together in the error, each as
// a [*feed.ParseError] naming its place in the document.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	var doc document
	errs, err := feed.DecodeJSON(name, r, &doc)
	if err != nil {
		return nil, err
	}

	type key struct {
		prefix netip.Prefix
		region string
	}
	out := make([]attribution.FeedRange, 0, len(doc.Prefixes)+len(doc.IPv6Prefixes))
	index := make(map[key]int, cap(out)) // → position in out
	add := func(path string, s string, e entry) {
		p, err := feed.ParsePrefix(s)
		if err != nil {
			errs = append(errs, &feed.ParseError{Feed: name, Entry: path, Err: err})
			return
		}
		k := key{p, e.Region}
		if i, ok := index[k]; ok {
			if moreSpecific(e.Service, out[i].Service) {
				out[i].Service = e.Service
			}
			return
		}
		index[k] = len(out)
		out = append(out, attribution.FeedRange{Prefix: p, Region: e.Region, Service: e.Service})
	}
	for i, e := range doc.Prefixes {
		add(fmt.Sprintf("prefixes[%d].ip_prefix", i), e.IPPrefix, e)
	}
	for i, e := range doc.IPv6Prefixes {
		add(fmt.Sprintf("ipv6_prefixes[%d].ipv6_prefix", i), e.IPv6Prefix, e)
	}
	return out, errors.Join(errs...)
}

// moreSpecific reports whether service a names a narrower use of a prefix
// than service b. AMAZON, all of AWS, is the least specific; EC2, the
// general pool that other services draw addresses from, comes next; any
// other service is narrower still, and a sub-service such as
// CLOUDFRONT_ORIGIN_FACING is narrower than its parent CLOUDFRONT. Other
// ties go to the alphabetically first name, so that the result does not
// depend on the order of the feed.
func moreSpecific(a, b string) bool {
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra > rb
	}
	switch {
	case strings.HasPrefix(a, b+"_"):
		return true
	case strings.HasPrefix(b, a+"_"):
		return false
	}
	return a < b
}

func rank(service string) int {
	switch service {
	case "":
		return -1
	case "AMAZON":
		return 0
	case "EC2":
		return 1
	}
	return 2
}
