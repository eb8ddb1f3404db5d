// Package azure parses Azure's Service Tags file (ServiceTags_Public_*.json,
// published weekly through https://www.microsoft.com/download/details.aspx?id=56519,
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
	var (
		out  []attribution.FeedRange
		errs []error
		// Ranges of different tags differ in their service, so a
		// repeated prefix within a tag is all there is to remove,
		// unless a tag name itself repeats.
		inTag    = map[netip.Prefix]bool{}
		tags     = map[string]bool{}
		tagAgain bool
	)
	fatal := func(err error) ([]attribution.FeedRange, error) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := expect(dec, json.Delim('{'), "an object"); err != nil {
		return fatal(err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return fatal(err)
		}
		if key != "values" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fatal(err)
			}
			continue
		}
		if err := expect(dec, json.Delim('['), "values to be an array"); err != nil {
			return fatal(err)
		}
		var t tag
		for i := 0; dec.More(); i++ {
			t = tag{}
			if err := dec.Decode(&t); err != nil {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) {
					return fatal(err)
				}
				// The rest of the tag was decoded: keep what is good in it.
				path := fmt.Sprintf("values[%d]", i)
				if te.Field != "" {
					path += "." + te.Field
				}
				errs = append(errs, &feed.ParseError{Feed: name, Entry: path, Err: fmt.Errorf("JSON %s where %v belongs", te.Value, te.Type)})
			}
			service := t.Name
			if service == "" {
				service = t.ID
			}
			tagAgain = tagAgain || tags[service]
			tags[service] = true
			clear(inTag)
			for j, s := range t.Properties.AddressPrefixes {
				p, err := feed.ParsePrefix(s)
				if err != nil {
					errs = append(errs, &feed.ParseError{Feed: name, Entry: fmt.Sprintf("values[%d].properties.addressPrefixes[%d]", i, j), Err: err})
					continue
				}
				if inTag[p] {
					continue
				}
				inTag[p] = true
				out = append(out, attribution.FeedRange{Prefix: p, Region: t.Properties.Region, Service: service})
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return fatal(err)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fatal(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fatal(errors.New("data after the JSON document"))
	}
	if tagAgain {
		out = feed.Dedup(out)
	}
	return out, errors.Join(errs...)
}

// expect reads the next token and fails unless it is want.
func expect(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("want %s, found %v", what, tok)
	}
	return nil
}
