// Package github parses GitHub's meta document, https://api.github.com/meta,
// which lists the address ranges of each GitHub service under its own key:
// "hooks", "web", "api", "git", "actions", "pages", and so on.
//
// The document also holds things that are not address ranges: SSH keys and
// their fingerprints, domain names, and flags. Parse takes every array of
// the top-level object as a list of ranges, except those named in
// [notRanges], and ignores every other member.
package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "github"

// notRanges are the top-level arrays of the meta document that hold
// something other than address ranges.
var notRanges = map[string]bool{
	"ssh_keys": true,
}

// Parse reads a meta document. Each range has a prefix and the key that
// lists it as its service, e.g. "actions"; a prefix listed under several
// keys gives a range for each. Ranges come in the document's order.
// Malformed entries are skipped and reported together in the error, each as
// a [*feed.ParseError] naming its place in the document.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	dec := json.NewDecoder(r)
	var (
		out  []attribution.FeedRange
		errs []error
	)
	err := feed.DecodeObject(dec, func(key string) error {
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		list, ok := v.([]any)
		if !ok || notRanges[key] {
			return nil
		}
		for i, e := range list {
			p, err := prefix(e)
			if err != nil {
				errs = append(errs, &feed.ParseError{Feed: name, Entry: fmt.Sprintf("%s[%d]", key, i), Err: err})
				continue
			}
			out = append(out, attribution.FeedRange{Prefix: p, Service: key})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return feed.Dedup(out), errors.Join(errs...)
}

// prefix parses a decoded array element, which must be a string.
func prefix(v any) (netip.Prefix, error) {
	s, ok := v.(string)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("JSON %s where a prefix belongs", kind(v))
	}
	return feed.ParsePrefix(s)
}

// kind names the JSON type of a decoded value.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}
