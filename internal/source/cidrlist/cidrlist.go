// Package cidrlist parses plain lists of CIDR prefixes, one a line, such as
// the lists that Cloudflare publishes at https://www.cloudflare.com/ips-v4
// and https://www.cloudflare.com/ips-v6, and Akamai's published ranges.
//
// White space around a prefix is ignored, and so are blank lines and
// comments from '#' to the end of the line.
package cidrlist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "cidrlist"

// maxLine is the longest line Parse reads; a longer one ends the parse.
const maxLine = 64 * 1024

// Parse reads a list of prefixes. The ranges have only a prefix, since the
// lists say nothing else. Malformed lines are skipped and reported together
// in the error, each as a [*feed.ParseError] with its line number.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	var (
		out  []attribution.FeedRange
		errs []error
	)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := feed.ParsePrefix(line)
		if err != nil {
			errs = append(errs, &feed.ParseError{Feed: name, Line: n, Err: err})
			continue
		}
		out = append(out, attribution.FeedRange{Prefix: p})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return feed.Dedup(out), errors.Join(errs...)
}
