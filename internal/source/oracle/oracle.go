// Package oracle parses public_ip_ranges.json, the list of address ranges
// that Oracle Cloud Infrastructure publishes at
// https://docs.oracle.com/iaas/tools/public_ip_ranges.json.
//
// The feed groups CIDRs by region ("us-ashburn-1") and tags each with what
// uses it: OCI (the region's own addresses), OSN (the Oracle Services
// Network) or OBJECT_STORAGE.
package oracle

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "oracle"

type document struct {
	Regions []struct {
		Region string `json:"region"`
		CIDRs  []struct {
			CIDR string   `json:"cidr"`
			Tags []string `json:"tags"`
		} `json:"cidrs"`
	} `json:"regions"`
}

// Parse reads a public_ip_ranges.json document. Each range has a CIDR, its
// region, and its tags joined with commas as its service, e.g.
// "OSN,OBJECT_STORAGE". Malformed entries are skipped and reported together
// in the error, each as a [*feed.ParseError] naming its place in the
// document.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	var doc document
	errs, err := feed.DecodeJSON(name, r, &doc)
	if err != nil {
		return nil, err
	}
	var out []attribution.FeedRange
	for i, reg := range doc.Regions {
		for j, c := range reg.CIDRs {
			p, err := feed.ParsePrefix(c.CIDR)
			if err != nil {
				errs = append(errs, &feed.ParseError{Feed: name, Entry: fmt.Sprintf("regions[%d].cidrs[%d].cidr", i, j), Err: err})
				continue
			}
			out = append(out, attribution.FeedRange{Prefix: p, Region: reg.Region, Service: strings.Join(c.Tags, ",")})
		}
	}
	return feed.Dedup(out), errors.Join(errs...)
}
