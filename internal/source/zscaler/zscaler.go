// Package zscaler parses the list of a Zscaler cloud's hub address ranges,
// which Zscaler publishes at
// https://config.zscaler.com/api/zscaler.net/hubs/cidr/json/recommended (and
// likewise for its other clouds): a JSON object whose "hubPrefixes" array
// lists the ranges, with the cloud's name in "cloudName" when given.
package zscaler

import (
	"errors"
	"fmt"
	"io"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "zscaler"

type document struct {
	CloudName   string   `json:"cloudName"`
	HubPrefixes []string `json:"hubPrefixes"`
}

// Parse reads a hub list. Each range has a hub prefix, and the cloud's name
// (e.g. "zscaler.net") as its service when the document gives one.
// Malformed entries are skipped and reported together in the error, each as
// a [*feed.ParseError] naming its place in the document.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	var doc document
	errs, err := feed.DecodeJSON(name, r, &doc)
	if err != nil {
		return nil, err
	}
	out := make([]attribution.FeedRange, 0, len(doc.HubPrefixes))
	for i, s := range doc.HubPrefixes {
		p, err := feed.ParsePrefix(s)
		if err != nil {
			errs = append(errs, &feed.ParseError{Feed: name, Entry: fmt.Sprintf("hubPrefixes[%d]", i), Err: err})
			continue
		}
		out = append(out, attribution.FeedRange{Prefix: p, Service: doc.CloudName})
	}
	return feed.Dedup(out), errors.Join(errs...)
}
