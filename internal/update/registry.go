package update

import (
	"io"
	"regexp"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/source/aws"
	"github.com/sovmap/sovmap/internal/source/azure"
	"github.com/sovmap/sovmap/internal/source/cidrlist"
	"github.com/sovmap/sovmap/internal/source/fastly"
	"github.com/sovmap/sovmap/internal/source/gcp"
	"github.com/sovmap/sovmap/internal/source/geofeed"
	"github.com/sovmap/sovmap/internal/source/github"
	"github.com/sovmap/sovmap/internal/source/oracle"
	"github.com/sovmap/sovmap/internal/source/zscaler"
)

// Kind says what a source gives.
type Kind int

// The kinds of sources.
const (
	// Feed is a provider's list of its own address ranges: the snapshot's
	// feed layer.
	Feed Kind = iota
	// Routing is routing or registry data: one of the snapshot's three
	// datasets (origin AS, registration country, location country).
	Routing
)

// String returns "feed" or "routing".
func (k Kind) String() string {
	if k == Routing {
		return "routing"
	}
	return "feed"
}

// format is how a routing source is read.
type format int

const (
	formatIPDB      format = iota // ip-location-db CSV (source/ipdb)
	formatPfx2as                  // CAIDA prefix-to-AS (source/pfx2as)
	formatDelegated               // RIR delegated-extended statistics (source/delegated)
)

// Size limits of a download and of its decompressed content.
const (
	feedMaxSize    = 64 << 20
	routingMaxSize = 512 << 20
)

// A Source is one upstream file that an update reads.
type Source struct {
	Name  string // unique, e.g. "aws", "cloudflare-v4", "delegated-apnic"
	Group string // sources selected and replaced together, e.g. "cloudflare", "delegated"
	Kind  Kind
	// Provider is the catalog provider ID of a feed's owner.
	Provider string
	// Dataset is the snapshot dataset that a routing source replaces.
	Dataset snapshot.Dataset
	// URL is where the file is downloaded from; "" when there is no stable
	// public URL (see Note), in which case an update skips the source
	// unless a URL is configured.
	URL string
	// File is the file's name in the data directory and in a --from
	// folder; a name ending in ".gz" there is read too.
	File string
	// Alt are glob patterns of other names the file may have in a --from
	// folder (the upstream's own dated names, or a package layout); the
	// last match in lexical order is used.
	Alt []string
	// MaxSize bounds the download and its decompressed content, in bytes;
	// 0 means 64 MiB for a feed and 512 MiB for routing data.
	MaxSize int64
	// Checksum says that the file's MD5 is published beside it, at its URL
	// with ".md5" appended (the RIR statistics).
	Checksum bool
	// Index says that URL is a creation log of CAIDA's (a list of files,
	// newest last): the newest file it lists is downloaded. A configured
	// URL that does not end in ".log" is downloaded as it is.
	Index bool
	// Note says where the URL comes from, or how to find one.
	Note string

	configured bool // URL comes from the user's configuration

	parse    func(io.Reader) ([]attribution.FeedRange, error) // feeds
	format   format                                           // routing
	provider func(attribution.FeedRange) string               // feeds: a range's provider when not the feed's
	date     func(data []byte) string                         // date the file states, YYYY-MM-DD
}

// Sources returns the registry: every source an update knows, in the order
// in which feeds are layered (where two feeds list the same prefix, the
// later one's provider comes first in the evidence and wins the verdict)
// and in which routing sources are preferred for their dataset. Each call
// returns a new slice.
func Sources() []Source {
	const ipdbBase = "https://raw.githubusercontent.com/sapics/ip-location-db/main/"
	const caida = "https://publicdata.caida.org/datasets/routing/"
	return []Source{
		// GitHub lists the Azure ranges that its Actions runners and
		// Codespaces use; Azure comes after it, so that Azure's region wins
		// where both list the same prefix.
		{Name: "github", Kind: Feed, Provider: "github", URL: "https://api.github.com/meta", File: "github-ip-ranges.json",
			parse: github.Parse, Note: "GitHub's meta API, https://docs.github.com/en/rest/meta"},
		{Name: "aws", Kind: Feed, Provider: "aws", URL: "https://ip-ranges.amazonaws.com/ip-ranges.json", File: "aws-ip-ranges.json",
			parse: aws.Parse, provider: awsProvider, date: jsonDate("createDate"),
			Note: "https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html; cn-* regions are attributed to aws-china"},
		{Name: "google-cloud", Kind: Feed, Provider: "google-cloud", URL: "https://www.gstatic.com/ipranges/cloud.json", File: "google-cloud-ip-ranges.json",
			parse: gcp.Parse, date: jsonDate("creationTime"),
			Note: "https://cloud.google.com/compute/docs/faq#find_ip_range"},
		{Name: "azure", Kind: Feed, Provider: "azure", File: "microsoft-azure-ip-ranges.json", Alt: []string{"ServiceTags_Public_*.json"},
			parse: azure.Parse,
			Note: "the Service Tags file moves to a new dated URL every week: open https://www.microsoft.com/en-us/download/details.aspx?id=56519, " +
				"copy the link of ServiceTags_Public_YYYYMMDD.json and pass it with --source azure=URL"},
		{Name: "oracle-cloud", Kind: Feed, Provider: "oracle-cloud", URL: "https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json", File: "oracle-cloud-ip-ranges.json",
			parse: oracle.Parse, date: jsonDate("last_updated_timestamp"),
			Note: "https://docs.oracle.com/en-us/iaas/Content/General/Concepts/addressranges.htm"},
		{Name: "cloudflare-v4", Group: "cloudflare", Kind: Feed, Provider: "cloudflare", URL: "https://www.cloudflare.com/ips-v4", File: "cloudflare-v4-ip-ranges.txt",
			parse: cidrlist.Parse, Note: "https://www.cloudflare.com/ips/"},
		{Name: "cloudflare-v6", Group: "cloudflare", Kind: Feed, Provider: "cloudflare", URL: "https://www.cloudflare.com/ips-v6", File: "cloudflare-v6-ip-ranges.txt",
			parse: cidrlist.Parse, Note: "https://www.cloudflare.com/ips/"},
		{Name: "fastly", Kind: Feed, Provider: "fastly", URL: "https://api.fastly.com/public-ip-list", File: "fastly-ip-ranges.json",
			parse: fastly.Parse, Note: "https://www.fastly.com/documentation/reference/api/utils/public-ip-list/"},
		{Name: "akamai-v4", Group: "akamai", Kind: Feed, Provider: "akamai", File: "akamai-v4-ip-ranges.txt",
			parse: cidrlist.Parse, Note: "Akamai publishes no stable list URL (its origin IP ACL list is behind a login): configure a mirror with --source akamai-v4=URL"},
		{Name: "akamai-v6", Group: "akamai", Kind: Feed, Provider: "akamai", File: "akamai-v6-ip-ranges.txt",
			parse: cidrlist.Parse, Note: "as akamai-v4"},
		{Name: "linode", Kind: Feed, Provider: "linode", URL: "https://geoip.linode.com/", File: "linode.txt",
			parse: geofeed.Parse, date: commentDate, Note: "Linode's RFC 8805 geofeed"},
		{Name: "digitalocean", Kind: Feed, Provider: "digitalocean", URL: "https://digitalocean.com/geo/google.csv", File: "digitalocean.csv",
			parse: geofeed.Parse, Note: "DigitalOcean's RFC 8805 geofeed"},
		{Name: "vultr", Kind: Feed, Provider: "vultr", URL: "https://geofeed.constant.com/", File: "vultr.csv",
			parse: geofeed.Parse, Note: "Vultr's (The Constant Company's) RFC 8805 geofeed, https://docs.vultr.com/vultr-ip-space"},
		{Name: "huawei-cloud", Kind: Feed, Provider: "huawei-cloud", File: "huawei-cloud.csv",
			parse: geofeed.Parse, Note: "no official public geofeed URL was found: configure one with --source huawei-cloud=URL (RFC 8805 format)"},
		{Name: "zscaler", Kind: Feed, Provider: "zscaler", URL: "https://config.zscaler.com/api/zscaler.net/hubs/cidr/json/recommended", File: "zscaler-cloud-ip-ranges.json",
			parse: zscaler.Parse, Note: "hub ranges of the zscaler.net cloud; other clouds (zscalertwo.net, ...) have their own URL"},

		// Origin AS: RouteViews first, the ip-location-db compilation as the
		// alternative.
		{Name: "pfx2as-v4", Group: "pfx2as", Kind: Routing, Dataset: snapshot.ASNData, format: formatPfx2as,
			URL: caida + "routeviews-prefix2as/pfx2as-creation.log", Index: true,
			File: "routeviews-prefix2as-ipv4.txt", Alt: []string{"routeviews-rv2-*.pfx2as*"},
			Note: "CAIDA's RouteViews prefix-to-AS files, https://www.caida.org/catalog/datasets/routeviews-prefix2as/; the newest file of the creation log"},
		{Name: "pfx2as-v6", Group: "pfx2as", Kind: Routing, Dataset: snapshot.ASNData, format: formatPfx2as,
			URL: caida + "routeviews6-prefix2as/pfx2as-creation.log", Index: true,
			File: "routeviews-prefix2as-ipv6.txt", Alt: []string{"routeviews-rv6-*.pfx2as*"},
			Note: "as pfx2as-v4, from the route-views6 collector"},
		ipdbSource("ipdb-asn-v4", "ipdb-asn", snapshot.ASNData, ipdbBase, "asn", "asn-ipv4.csv"),
		ipdbSource("ipdb-asn-v6", "ipdb-asn", snapshot.ASNData, ipdbBase, "asn", "asn-ipv6.csv"),

		// Registration country: the RIRs' own statistics first.
		rirSource("afrinic", "https://ftp.afrinic.net/stats/afrinic/delegated-afrinic-extended-latest"),
		rirSource("apnic", "https://ftp.apnic.net/stats/apnic/delegated-apnic-extended-latest"),
		rirSource("arin", "https://ftp.arin.net/pub/stats/arin/delegated-arin-extended-latest"),
		rirSource("lacnic", "https://ftp.lacnic.net/pub/stats/lacnic/delegated-lacnic-extended-latest"),
		rirSource("ripencc", "https://ftp.ripe.net/pub/stats/ripencc/delegated-ripencc-extended-latest"),
		ipdbSource("ipdb-registration-v4", "ipdb-registration", snapshot.RegistrationData, ipdbBase, "asn-country", "asn-country-ipv4.csv"),
		ipdbSource("ipdb-registration-v6", "ipdb-registration", snapshot.RegistrationData, ipdbBase, "asn-country", "asn-country-ipv6.csv"),

		// Location country.
		ipdbSource("ipdb-location-v4", "ipdb-location", snapshot.LocationData, ipdbBase, "geo-whois-asn-country", "geo-whois-asn-country-ipv4.csv"),
		ipdbSource("ipdb-location-v6", "ipdb-location", snapshot.LocationData, ipdbBase, "geo-whois-asn-country", "geo-whois-asn-country-ipv6.csv"),
	}
}

// group returns the source's group: its Group, or its Name when it has
// none.
func (s Source) group() string {
	if s.Group != "" {
		return s.Group
	}
	return s.Name
}

func (s Source) maxSize() int64 {
	switch {
	case s.MaxSize > 0:
		return s.MaxSize
	case s.Kind == Routing:
		return routingMaxSize
	}
	return feedMaxSize
}

func ipdbSource(name, group string, ds snapshot.Dataset, base, dir, file string) Source {
	return Source{Name: name, Group: group, Kind: Routing, Dataset: ds, format: formatIPDB,
		URL: base + dir + "/" + file, File: file, Alt: []string{dir + "/" + file},
		Note: "ip-location-db (https://github.com/sapics/ip-location-db), the compilation the embedded snapshot is built from"}
}

func rirSource(rir, url string) Source {
	return Source{Name: "delegated-" + rir, Group: "delegated", Kind: Routing, Dataset: snapshot.RegistrationData, format: formatDelegated,
		URL: url, File: "delegated-" + rir + "-extended-latest", Checksum: true,
		Note: "the RIR's delegated-extended statistics, checked against the published MD5"}
}

// awsProvider attributes the China regions, which AWS lists in the same
// file but which Chinese companies operate (Sinnet in Beijing, NWCD in
// Ningxia), to the catalog's aws-china provider.
func awsProvider(r attribution.FeedRange) string {
	if strings.HasPrefix(r.Region, "cn-") {
		return "aws-china"
	}
	return ""
}

// dateHead is how far into a file a stated date is looked for.
const dateHead = 64 << 10

func head(data []byte) []byte { return data[:min(len(data), dateHead)] }

// jsonDate returns a function that finds the date of a JSON document's
// top-level timestamp member, such as "createDate": "2025-07-24-20-23-14".
func jsonDate(key string) func([]byte) string {
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(key) + `"\s*:\s*"(\d{4}-\d{2}-\d{2})`)
	return func(data []byte) string {
		if m := re.FindSubmatch(head(data)); m != nil {
			return string(m[1])
		}
		return ""
	}
}

var lastModifiedRe = regexp.MustCompile(`(?im)^#.*last[ -]modified:?\s*(\d{4}-\d{2}-\d{2})`)

// commentDate finds a "# Last modified: 2025-07-24 ..." comment.
func commentDate(data []byte) string {
	if m := lastModifiedRe.FindSubmatch(head(data)); m != nil {
		return string(m[1])
	}
	return ""
}

var nameDateRe = regexp.MustCompile(`(?:^|[^0-9])(20\d{2})(\d{2})(\d{2})(?:[^0-9]|$)`)

// nameDate finds a date written YYYYMMDD in a file name or URL, such as
// ServiceTags_Public_20250721.json or routeviews-rv2-20250721-1200.pfx2as.gz.
func nameDate(name string) string {
	m := nameDateRe.FindStringSubmatch(name[strings.LastIndexByte(name, '/')+1:])
	if m == nil || m[2] < "01" || m[2] > "12" || m[3] < "01" || m[3] > "31" {
		return ""
	}
	return m[1] + "-" + m[2] + "-" + m[3]
}
