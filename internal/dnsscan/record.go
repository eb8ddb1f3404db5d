package dnsscan

import (
	"slices"
	"strconv"

	"github.com/sovmap/sovmap/internal/attribution"
)

// Statuses of a domain (and of a host lookup).
const (
	StatusOK       = "ok"       // the domain's queries were answered (an empty answer is an answer)
	StatusNXDomain = "nxdomain" // the domain does not exist
	StatusServFail = "servfail" // the resolver could not resolve it (broken or lame delegation, DNSSEC failure, …)
	StatusTimeout  = "timeout"  // no answer within the timeout, after every retry
	StatusError    = "error"    // anything else: malformed or duplicate input, refused query, network error
)

// The layers a domain is resolved in (DESIGN §5).
const (
	LayerWeb  = attribution.LayerWeb  // the apex and www: A and AAAA through the CNAME chain
	LayerDNS  = attribution.LayerDNS  // the NS hosts and their addresses
	LayerMail = attribution.LayerMail // the MX hosts and their addresses
)

// Layers lists the layers in the order they are shown.
var Layers = []attribution.Layer{LayerWeb, LayerDNS, LayerMail}

// A Result is the record of one input domain: the JSON contract of
// "sovmap scan --json" (docs/scan.md). Fields are only ever added.
type Result struct {
	// Domain is the normalised name, or the input itself when it is not a
	// domain name.
	Domain string `json:"domain"`
	// Input is the input line as given, when it differs from Domain.
	Input string `json:"input,omitempty"`
	// Line is the input line number (1-based), when read from a stream.
	Line int `json:"line,omitempty"`
	// Zone is the zone that holds the domain when the domain is not the
	// apex of a zone (www.example.com in example.com): the DNS layer then
	// holds that zone's name servers.
	Zone string `json:"zone,omitempty"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Error says why, when Status is not ok or nxdomain.
	Error string `json:"error,omitempty"`
	// Layers holds the host records of each layer that was resolved. A
	// layer that was resolved and found empty (no MX) is an empty list; a
	// layer that was not resolved (web and mail in zone mode) is absent.
	Layers map[attribution.Layer][]Host `json:"layers,omitempty"`
	// Summary holds, per layer in Layers, the providers and control
	// countries found in it.
	Summary map[attribution.Layer]LayerSummary `json:"summary,omitempty"`
}

// A Host is a name found in a layer (the apex, www, an NS or MX host) with
// its CNAME chain, its hostname attribution and its addresses.
type Host struct {
	// Name is the host name, without the final dot.
	Name string `json:"name"`
	// Preference is the MX preference, for mail hosts.
	Preference *uint16 `json:"preference,omitempty"`
	// Chain holds every CNAME followed from Name, in order.
	Chain []Hop `json:"chain,omitempty"`
	// Attribution is what the catalog's hostname suffixes say of Name.
	Attribution *HostAttribution `json:"attribution,omitempty"`
	// Addresses are the A and AAAA records at the end of the chain (or the
	// glue, in zone mode), each with its attribution record.
	Addresses []Address `json:"addresses,omitempty"`
	// Status and Error are set when looking the host up failed.
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// A Hop is one CNAME record of a chain.
type Hop struct {
	Name   string `json:"name"`   // the owner of the CNAME record
	Target string `json:"target"` // the name it points to
	// Attribution is what the catalog's hostname suffixes say of Target.
	Attribution *HostAttribution `json:"attribution,omitempty"`
}

// HostAttribution is the attribution of a hostname by its suffix: the
// hostname evidence of DESIGN §3, in the shape of an attribution record
// (the fields mean what they mean in [attribution.Record]).
type HostAttribution struct {
	Provider   *attribution.Ref       `json:"provider,omitempty"`
	Operator   *attribution.Ref       `json:"operator,omitempty"`
	Parent     *attribution.Ref       `json:"parent,omitempty"`
	Control    *attribution.Control   `json:"control,omitempty"`
	Evidence   []attribution.Evidence `json:"evidence,omitempty"`
	Confidence string                 `json:"confidence"`
}

// An Address is an address of a host with its full attribution record
// (the record of "sovmap ip --json").
type Address struct {
	attribution.Record
}

// LayerSummary is the set of providers and control countries of a layer.
type LayerSummary struct {
	Providers []string `json:"providers"` // provider IDs, sorted
	Controls  []string `json:"controls"`  // control countries, sorted
}

// attributeHost returns the hostname attribution of name in a layer, or nil.
func attributeHost(eng *attribution.Engine, name string, layer attribution.Layer) *HostAttribution {
	if eng == nil {
		return nil
	}
	m, ok := eng.AttributeHost(name, layer)
	if !ok {
		return nil
	}
	return &HostAttribution{Provider: m.Provider, Operator: m.Operator, Parent: m.Parent, Control: m.Control, Evidence: m.Evidence, Confidence: m.Confidence}
}

// summarize computes the summary of each layer of r.
func summarize(r *Result) {
	if len(r.Layers) == 0 {
		return
	}
	r.Summary = make(map[attribution.Layer]LayerSummary, len(r.Layers))
	for layer, hosts := range r.Layers {
		s := LayerSummary{Providers: []string{}, Controls: []string{}}
		add := func(p *attribution.Ref, c *attribution.Control) {
			if p != nil && !slices.Contains(s.Providers, p.ID) {
				s.Providers = append(s.Providers, p.ID)
			}
			if c != nil && c.Country != "" && !slices.Contains(s.Controls, c.Country) {
				s.Controls = append(s.Controls, c.Country)
			}
		}
		for _, h := range hosts {
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
		}
		slices.Sort(s.Providers)
		slices.Sort(s.Controls)
		r.Summary[layer] = s
	}
}

// AppendJSON appends the result as one line of JSON, without a newline, in
// the same shape as encoding/json gives it (which it is tested against),
// several times faster: the fast path of "sovmap scan --json".
func (r *Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"domain":`...)
	b = attribution.AppendJSONString(b, r.Domain)
	if r.Input != "" {
		b = append(b, `,"input":`...)
		b = attribution.AppendJSONString(b, r.Input)
	}
	if r.Line != 0 {
		b = append(b, `,"line":`...)
		b = strconv.AppendInt(b, int64(r.Line), 10)
	}
	if r.Zone != "" {
		b = append(b, `,"zone":`...)
		b = attribution.AppendJSONString(b, r.Zone)
	}
	b = append(b, `,"status":`...)
	b = attribution.AppendJSONString(b, r.Status)
	if r.Error != "" {
		b = append(b, `,"error":`...)
		b = attribution.AppendJSONString(b, r.Error)
	}
	if len(r.Layers) > 0 {
		b = append(b, `,"layers":{`...)
		for i, l := range sortedLayers(r.Layers) {
			if i > 0 {
				b = append(b, ',')
			}
			b = attribution.AppendJSONString(b, string(l))
			b = append(b, ':')
			hosts := r.Layers[l]
			if hosts == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j := range hosts {
				if j > 0 {
					b = append(b, ',')
				}
				b = hosts[j].appendJSON(b)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if len(r.Summary) > 0 {
		b = append(b, `,"summary":{`...)
		for i, l := range sortedLayers(r.Summary) {
			if i > 0 {
				b = append(b, ',')
			}
			b = attribution.AppendJSONString(b, string(l))
			s := r.Summary[l]
			b = append(b, `:{"providers":`...)
			b = appendStrings(b, s.Providers)
			b = append(b, `,"controls":`...)
			b = appendStrings(b, s.Controls)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func sortedLayers[V any](m map[attribution.Layer]V) []attribution.Layer {
	ls := make([]attribution.Layer, 0, len(m))
	for l := range m {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = attribution.AppendJSONString(b, s)
	}
	return append(b, ']')
}

func (h *Host) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = attribution.AppendJSONString(b, h.Name)
	if h.Preference != nil {
		b = append(b, `,"preference":`...)
		b = strconv.AppendUint(b, uint64(*h.Preference), 10)
	}
	if len(h.Chain) > 0 {
		b = append(b, `,"chain":[`...)
		for i, c := range h.Chain {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = attribution.AppendJSONString(b, c.Name)
			b = append(b, `,"target":`...)
			b = attribution.AppendJSONString(b, c.Target)
			if c.Attribution != nil {
				b = append(b, `,"attribution":`...)
				b = c.Attribution.appendJSON(b)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if h.Attribution != nil {
		b = append(b, `,"attribution":`...)
		b = h.Attribution.appendJSON(b)
	}
	if len(h.Addresses) > 0 {
		b = append(b, `,"addresses":[`...)
		for i := range h.Addresses {
			if i > 0 {
				b = append(b, ',')
			}
			b = h.Addresses[i].AppendJSON(b)
		}
		b = append(b, ']')
	}
	if h.Status != "" {
		b = append(b, `,"status":`...)
		b = attribution.AppendJSONString(b, h.Status)
	}
	if h.Error != "" {
		b = append(b, `,"error":`...)
		b = attribution.AppendJSONString(b, h.Error)
	}
	return append(b, '}')
}

func (a *HostAttribution) appendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	for _, r := range []struct {
		k string
		v *attribution.Ref
	}{{"provider", a.Provider}, {"operator", a.Operator}, {"parent", a.Parent}} {
		if r.v == nil {
			continue
		}
		key(r.k)
		b = append(b, `{"id":`...)
		b = attribution.AppendJSONString(b, r.v.ID)
		b = append(b, `,"name":`...)
		b = attribution.AppendJSONString(b, r.v.Name)
		if r.v.Kind != "" {
			b = append(b, `,"kind":`...)
			b = attribution.AppendJSONString(b, r.v.Kind)
		}
		if r.v.Country != "" {
			b = append(b, `,"country":`...)
			b = attribution.AppendJSONString(b, r.v.Country)
		}
		b = append(b, '}')
	}
	if a.Control != nil {
		key("control")
		b = append(b, `{"country":`...)
		b = attribution.AppendJSONString(b, a.Control.Country)
		b = append(b, `,"basis":`...)
		b = attribution.AppendJSONString(b, a.Control.Basis)
		b = append(b, `,"source":`...)
		b = attribution.AppendJSONString(b, a.Control.Source)
		b = append(b, '}')
	}
	if len(a.Evidence) > 0 {
		key("evidence")
		b = append(b, '[')
		for i, e := range a.Evidence {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"method":`...)
			b = attribution.AppendJSONString(b, e.Method)
			b = append(b, `,"detail":`...)
			b = attribution.AppendJSONString(b, e.Detail)
			b = append(b, `,"source":`...)
			b = attribution.AppendJSONString(b, e.Source)
			if e.Provider != "" {
				b = append(b, `,"provider":`...)
				b = attribution.AppendJSONString(b, e.Provider)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	key("confidence")
	b = attribution.AppendJSONString(b, a.Confidence)
	return append(b, '}')
}
