package dnsscan

import (
	"slices"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/zonefile"
)

// FromDelegation returns the record of a domain delegated by a zone, from
// the zone's data alone, without a query: its DNS layer holds the name
// servers, attributed by name, with the glue addresses the zone holds for
// them, attributed by address. The web and mail layers are absent. The
// record's Line is the line of the domain's first NS record.
func FromDelegation(eng *attribution.Engine, d zonefile.Delegation) Result {
	ns := slices.Clone(d.NS)
	slices.Sort(ns)
	hosts := make([]Host, 0, len(ns))
	for _, n := range ns {
		hosts = append(hosts, Host{
			Name:        strings.TrimSuffix(n, "."),
			Attribution: attributeHost(eng, n, LayerDNS),
			Addresses:   addresses(eng, d.Glue[n]),
		})
	}
	r := Result{
		Domain: strings.TrimSuffix(d.Name, "."),
		Line:   d.Line,
		Status: StatusOK,
		Layers: map[attribution.Layer][]Host{LayerDNS: hosts},
	}
	summarize(&r)
	return r
}
