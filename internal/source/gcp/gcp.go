// Package gcp parses cloud.json, the list of Google Cloud's external address
// ranges that Google publishes at https://www.gstatic.com/ipranges/cloud.json.
//
// Each entry has an IPv4 or an IPv6 prefix, a service (always "Google
// Cloud" so far) and a scope: the region, such as "europe-west3", or
// "global" for ranges used in every region.
package gcp

import (
	"errors"
	"fmt"
	"io"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "gcp"

type document struct {
	Prefixes []struct {
		IPv4Prefix string `json:"ipv4Prefix"`
		IPv6Prefix string `json:"ipv6Prefix"`
		Service    string `json:"service"`
		Scope      string `json:"scope"`
	} `json:"prefixes"`
}

// Parse reads a cloud.json document. Each range has the entry's prefix, its
// scope as the region, and its service. Malformed entries are skipped and
// reported together in the error, each as a [*feed.ParseError] naming its
// place in the document.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	var doc document
	errs, err := feed.DecodeJSON(name, r, &doc)
	if err != nil {
		return nil, err
	}
	out := make([]attribution.FeedRange, 0, len(doc.Prefixes))
	for i, e := range doc.Prefixes {
		path := fmt.Sprintf("prefixes[%d]", i)
		s := e.IPv4Prefix
		switch {
		case e.IPv4Prefix != "" && e.IPv6Prefix != "":
			errs = append(errs, &feed.ParseError{Feed: name, Entry: path, Err: errors.New("both ipv4Prefix and ipv6Prefix")})
			continue
		case e.IPv4Prefix != "":
			path += ".ipv4Prefix"
		default:
			path += ".ipv6Prefix"
			s = e.IPv6Prefix
		}
		p, err := feed.ParsePrefix(s)
		if err != nil {
			errs = append(errs, &feed.ParseError{Feed: name, Entry: path, Err: err})
			continue
		}
		out = append(out, attribution.FeedRange{Prefix: p, Region: e.Scope, Service: e.Service})
	}
	return feed.Dedup(out), errors.Join(errs...)
}
