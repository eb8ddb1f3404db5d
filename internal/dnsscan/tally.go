package dnsscan

import (
	"cmp"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/sovmap/sovmap/internal/attribution"
)

// A Tally aggregates results into the share of domains per provider and per
// control country, layer by layer. The zero value is ready to use; a Tally
// is not safe for concurrent use.
type Tally struct {
	domains  int
	statuses map[string]int
	layers   map[attribution.Layer]*layerTally
}

type layerTally struct {
	domains, unattributed int
	providers             map[string]int
	names                 map[string]string
	controls              map[string]int
	registryControls      map[string]int
	suffixes              map[string]int
}

// A Summary is the aggregate of a scan: the JSON of "sovmap scan
// --summary --json".
type Summary struct {
	Domains  int                               `json:"domains"`  // results counted
	Statuses map[string]int                    `json:"statuses"` // results by status
	Layers   map[attribution.Layer]LayerShares `json:"layers"`   // the layers found in the results
}

// LayerShares are the shares of one layer. A domain with several providers
// counts for each, so shares may add up to more than one.
type LayerShares struct {
	// Domains is the number of domains with at least one host in the
	// layer: the base of the shares.
	Domains int `json:"domains"`
	// Unattributed is the number of those domains where no host, CNAME
	// or address of the layer was attributed to a provider.
	Unattributed int `json:"unattributed"`
	// Providers and Controls are sorted by number of domains.
	Providers []ProviderShare `json:"providers"`
	Controls  []CountryShare  `json:"controls"`
	// RegistryControls counts, among the domains with hosts that no
	// catalog provider serves, those whose hosts' networks are registered
	// to AS holders in each country (control.source "registry"): a
	// low-confidence answer, kept apart from Controls.
	RegistryControls []CountryShare `json:"registry_controls,omitempty"`
	// UnattributedSuffixes are the registrable domains (eTLD+1) of the
	// hosts that no evidence attributes, by the number of domains using
	// them: where the catalog could grow.
	UnattributedSuffixes []SuffixShare `json:"unattributed_suffixes,omitempty"`
}

// A ProviderShare is the number and share of domains using a provider.
type ProviderShare struct {
	ID      string  `json:"id"`      // catalog provider ID
	Name    string  `json:"name"`    // its display name
	Domains int     `json:"domains"` // domains using it in the layer
	Share   float64 `json:"share"`   // Domains over the layer's domains, 0 to 1
}

// A CountryShare is the number and share of domains using a provider
// controlled from a country.
type CountryShare struct {
	Country string  `json:"country"` // ISO 3166-1 alpha-2 code
	Domains int     `json:"domains"` // domains using such a provider in the layer
	Share   float64 `json:"share"`   // Domains over the layer's domains, 0 to 1
}

// A SuffixShare is the number and share of domains using hosts under a
// registrable domain.
type SuffixShare struct {
	Suffix  string  `json:"suffix"`  // a registrable domain, e.g. "civicplus.com"
	Domains int     `json:"domains"` // domains with unattributed hosts under it
	Share   float64 `json:"share"`   // Domains over the layer's domains, 0 to 1
}

// Add counts one result.
func (t *Tally) Add(r *Result) {
	if t.statuses == nil {
		t.statuses = make(map[string]int)
		t.layers = make(map[attribution.Layer]*layerTally)
	}
	t.domains++
	t.statuses[r.Status]++
	for layer, hosts := range r.Layers {
		if len(hosts) == 0 {
			continue
		}
		lt := t.layers[layer]
		if lt == nil {
			lt = &layerTally{providers: map[string]int{}, names: map[string]string{}, controls: map[string]int{}, registryControls: map[string]int{}, suffixes: map[string]int{}}
			t.layers[layer] = lt
		}
		lt.domains++
		var provs, ctls, regs, sufs []string
		for _, h := range hosts {
			attributed := false
			add := func(p *attribution.Ref, c *attribution.Control) {
				if p == nil {
					if c != nil && c.Source == attribution.ControlRegistry && !slices.Contains(regs, c.Country) {
						regs = append(regs, c.Country)
					}
					return
				}
				attributed = true
				if !slices.Contains(provs, p.ID) {
					provs = append(provs, p.ID)
					lt.names[p.ID] = p.Name
				}
				if c != nil && c.Country != "" && !slices.Contains(ctls, c.Country) {
					ctls = append(ctls, c.Country)
				}
			}
			if a := h.Attribution; a != nil {
				add(a.Provider, a.Control)
			}
			for _, hop := range h.Chain {
				if a := hop.Attribution; a != nil {
					add(a.Provider, a.Control)
				}
			}
			for _, a := range h.Addresses {
				add(a.Provider, a.Control)
			}
			if !attributed {
				s := registrable(h.Name)
				if !slices.Contains(sufs, s) {
					sufs = append(sufs, s)
				}
			}
		}
		if len(provs) == 0 {
			lt.unattributed++
		}
		for _, p := range provs {
			lt.providers[p]++
		}
		for _, c := range ctls {
			lt.controls[c]++
		}
		for _, c := range regs {
			lt.registryControls[c]++
		}
		for _, s := range sufs {
			lt.suffixes[s]++
		}
	}
}

// registrable returns the registrable domain (eTLD+1) of a host, or the
// host itself.
func registrable(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if s, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return s
	}
	return host
}

// MaxSuffixes bounds the list of unattributed suffixes of a summary.
const MaxSuffixes = 100

// Summary returns the aggregate, each list sorted by number of domains
// (then by key) and cut to top entries when top > 0. The unattributed
// suffixes are cut to [MaxSuffixes] in any case.
func (t *Tally) Summary(top int) Summary {
	s := Summary{Domains: t.domains, Statuses: map[string]int{}, Layers: map[attribution.Layer]LayerShares{}}
	for k, v := range t.statuses {
		s.Statuses[k] = v
	}
	for layer, lt := range t.layers {
		base := float64(lt.domains)
		ls := LayerShares{Domains: lt.domains, Unattributed: lt.unattributed, Providers: []ProviderShare{}, Controls: []CountryShare{}}
		for id, n := range lt.providers {
			ls.Providers = append(ls.Providers, ProviderShare{ID: id, Name: lt.names[id], Domains: n, Share: float64(n) / base})
		}
		for c, n := range lt.controls {
			ls.Controls = append(ls.Controls, CountryShare{Country: c, Domains: n, Share: float64(n) / base})
		}
		for c, n := range lt.registryControls {
			ls.RegistryControls = append(ls.RegistryControls, CountryShare{Country: c, Domains: n, Share: float64(n) / base})
		}
		for sf, n := range lt.suffixes {
			ls.UnattributedSuffixes = append(ls.UnattributedSuffixes, SuffixShare{Suffix: sf, Domains: n, Share: float64(n) / base})
		}
		slices.SortFunc(ls.Providers, func(a, b ProviderShare) int {
			return cmp.Or(cmp.Compare(b.Domains, a.Domains), strings.Compare(a.ID, b.ID))
		})
		slices.SortFunc(ls.Controls, func(a, b CountryShare) int {
			return cmp.Or(cmp.Compare(b.Domains, a.Domains), strings.Compare(a.Country, b.Country))
		})
		slices.SortFunc(ls.RegistryControls, func(a, b CountryShare) int {
			return cmp.Or(cmp.Compare(b.Domains, a.Domains), strings.Compare(a.Country, b.Country))
		})
		slices.SortFunc(ls.UnattributedSuffixes, func(a, b SuffixShare) int {
			return cmp.Or(cmp.Compare(b.Domains, a.Domains), strings.Compare(a.Suffix, b.Suffix))
		})
		sufTop := MaxSuffixes
		if top > 0 {
			ls.Providers = ls.Providers[:min(top, len(ls.Providers))]
			ls.Controls = ls.Controls[:min(top, len(ls.Controls))]
			ls.RegistryControls = ls.RegistryControls[:min(top, len(ls.RegistryControls))]
			sufTop = min(top, MaxSuffixes)
		}
		ls.UnattributedSuffixes = ls.UnattributedSuffixes[:min(sufTop, len(ls.UnattributedSuffixes))]
		s.Layers[layer] = ls
	}
	return s
}
