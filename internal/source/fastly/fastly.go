// Package fastly parses the list of Fastly's edge address ranges that Fastly
// publishes at https://api.fastly.com/public-ip-list: a JSON object with the
// arrays "addresses" (IPv4) and "ipv6_addresses".
package fastly

import (
	"errors"
	"fmt"
	"io"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "fastly"

type document struct {
	Addresses     []string `json:"addresses"`
	IPv6Addresses []string `json:"ipv6_addresses"`
}

// Parse reads a public-ip-list document. The ranges have only a prefix,
// since the list says nothing else. Malformed entries are skipped and
// reported together in the error, each as a [*feed.ParseError] naming its
// place in the document.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	var doc document
	errs, err := feed.DecodeJSON(name, r, &doc)
	if err != nil {
		return nil, err
	}
	out := make([]attribution.FeedRange, 0, len(doc.Addresses)+len(doc.IPv6Addresses))
	add := func(key string, list []string) {
		for i, s := range list {
			p, err := feed.ParsePrefix(s)
			if err != nil {
				errs = append(errs, &feed.ParseError{Feed: name, Entry: fmt.Sprintf("%s[%d]", key, i), Err: err})
				continue
			}
			out = append(out, attribution.FeedRange{Prefix: p})
		}
	}
	add("addresses", doc.Addresses)
	add("ipv6_addresses", doc.IPv6Addresses)
	return feed.Dedup(out), errors.Join(errs...)
}
