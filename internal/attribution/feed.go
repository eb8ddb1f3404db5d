package attribution

import "net/netip"

// A FeedRange is a prefix that a provider publishes as its own in an official
// feed (AWS ip-ranges.json, Google cloud.json, Azure Service Tags, RFC 8805
// geofeeds, ...). Fields the feed does not give are empty.
type FeedRange struct {
	Prefix  netip.Prefix // masked; IPv4 prefixes are never IPv4-mapped
	Region  string       // the provider's own region ID, e.g. "us-east-1"
	Country string       // ISO 3166 alpha-2, when the feed states one (geofeeds)
	Area    string       // subdivision, when the feed states one, e.g. "US-VA"
	City    string       // city, when the feed states one
	Service string       // the feed's service or tag name, e.g. "EC2", "AzureCloud"
	// Provider is the catalog provider ID of the range when it differs from
	// the feed owner's (AWS lists its China regions, run by other companies,
	// in the same file). Parsers leave it empty.
	Provider string
}
