// Package azure parses Azure's Service Tags file (ServiceTags_Public_*.json,
// published weekly through https://www.microsoft.com/en-us/download/details.aspx?id=56519,
// and the same format for the sovereign clouds).
//
// A service tag names the addresses of a service, optionally in one region:
// "AzureCloud.westeurope", "Storage.EastUS", or "ActionGroup" for all
// regions. The file lists some 3,000 tags with 90,000 prefixes in all. Parse
// reads it one tag at a time, so that the document never sits in memory
// whole.
package azure

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

const name = "azure"

type tag struct {
	Name       string `json:"name"`
	ID         string `json:"id"`
	Properties struct {
		Region          string   `json:"region"`
		AddressPrefixes []string `json:"addressPrefixes"`
	} `json:"properties"`
}

// Parse reads a Service Tags document. Each range has a prefix of a tag, the
// tag's region (empty for a tag that spans regions), and the tag's name as
// its service. Malformed entries are skipped and reported together in the
// error, each as a [*feed.ParseError] naming its place in the document.
func Parse(r io.Reader) ([]attribution.FeedRange, error) {
	dec := json.NewDecoder(r)
	p := parser{inTag: map[netip.Prefix]bool{}, tags: map[string]bool{}}
	err := feed.DecodeObject(dec, func(key string) error {
		if key == "values" {
			return p.values(dec)
		}
		var skip json.RawMessage
		return dec.Decode(&skip)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if p.tagAgain {
		p.out = feed.Dedup(p.out)
	}
	return p.out, errors.Join(p.errs...)
}

type parser struct {
	out  []attribution.FeedRange
	errs []error

	// Ranges of different tags differ in their service, so a prefix
	// repeated within a tag is all there is to remove, unless a tag's
	// name itself repeats.
	inTag    map[netip.Prefix]bool // prefixes of the current tag
	tags     map[string]bool       // names of the tags read so far
	tagAgain bool                  // whether a tag name repeated
}

// values reads the array of tags, one tag at a time.
func (p *parser) values(dec *json.Decoder) error {
	if err := feed.ExpectDelim(dec, '['); err != nil {
		return fmt.Errorf("values: %w", err)
	}
	for i := 0; dec.More(); i++ {
		var t tag
		if err := dec.Decode(&t); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return err
			}
			// The rest of the tag was decoded: keep what is good in it.
			p.errs = append(p.errs, feed.TypeError(name, fmt.Sprintf("values[%d]", i), te))
		}
		p.add(i, &t)
	}
	_, err := dec.Token() // ']'
	return err
}

// add adds the prefixes of t, the i'th tag.
func (p *parser) add(i int, t *tag) {
	service := t.Name
	if service == "" {
		service = t.ID
	}
	p.tagAgain = p.tagAgain || p.tags[service]
	p.tags[service] = true
	clear(p.inTag)
	for j, s := range t.Properties.AddressPrefixes {
		pfx, err := feed.ParsePrefix(s)
		if err != nil {
			p.errs = append(p.errs, &feed.ParseError{Feed: name, Entry: fmt.Sprintf("values[%d].properties.addressPrefixes[%d]", i, j), Err: err})
			continue
		}
		if p.inTag[pfx] {
			continue
		}
		p.inTag[pfx] = true
		p.out = append(p.out, attribution.FeedRange{Prefix: pfx, Region: t.Properties.Region, Service: service})
	}
}
