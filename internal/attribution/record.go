package attribution

import (
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// A Ref names a provider, an operator or a parent in a record.
type Ref struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind,omitempty"`
	Country string `json:"country,omitempty"`
}

// Control is the controlling jurisdiction and why.
type Control struct {
	Country string `json:"country"`
	Basis   string `json:"basis"`
	// Source says where the answer comes from: ControlCatalog (the
	// curated catalog's parent chain) or ControlRegistry (the AS holder's
	// registration country, for networks the catalog does not know).
	Source string `json:"source"`
}

// Sources of a control answer.
const (
	ControlCatalog  = "catalog"  // the catalog's operator, parent chain and headquarters
	ControlRegistry = "registry" // the holder of the origin AS and its RIR registration country
)

// Registration is where the address block or its AS is registered.
type Registration struct {
	Country string `json:"country"`
	Source  string `json:"source"`
}

// Location is where the server physically is.
type Location struct {
	Country string `json:"country"`
	Region  string `json:"region,omitempty"`
	City    string `json:"city,omitempty"`
	Area    string `json:"area,omitempty"` // state or province
	Source  string `json:"source"`
	// Anycast says that the address is announced from many places at
	// once (a CDN's or a public resolver's anycast range): it is served
	// from many countries, and Country is only that of its registry.
	Anycast bool `json:"anycast,omitempty"`
}

// Evidence methods, in order of precedence.
const (
	MethodOverride = "override"
	MethodFeed     = "feed"
	MethodASN      = "asn"
	MethodHostname = "hostname"
	MethodASName   = "as-name"
	MethodRegistry = "registry" // the AS holder's registration, for networks the catalog does not know
)

// Evidence is one observation that supports (or contradicts) a verdict.
type Evidence struct {
	Method   string `json:"method"`
	Detail   string `json:"detail"`
	Source   string `json:"source"`
	Provider string `json:"provider,omitempty"` // provider ID the evidence points to, if any
}

// Confidence levels of a verdict.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
	ConfidenceNone   = "none"
)

// A Record is the attribution of one IP address: the JSON contract of
// "sovmap ip --json" (DESIGN §6). Fields are only ever added.
type Record struct {
	IP           netip.Addr    `json:"ip"`
	Prefix       netip.Prefix  `json:"prefix,omitzero"`
	ASN          uint32        `json:"asn,omitempty"`
	ASName       string        `json:"as_name,omitempty"`
	Provider     *Ref          `json:"provider,omitempty"`
	Operator     *Ref          `json:"operator,omitempty"`
	Parent       *Ref          `json:"parent,omitempty"`
	Control      *Control      `json:"control,omitempty"`
	Registration *Registration `json:"registration,omitempty"`
	Location     *Location     `json:"location,omitempty"`
	Evidence     []Evidence    `json:"evidence,omitempty"`
	Confidence   string        `json:"confidence"`
}

// AppendJSON appends the record as one line of JSON, without a newline, in
// the same shape as encoding/json gives it. It is the fast path of
// "sovmap ip --json".
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"ip":"`...)
	b = r.IP.AppendTo(b)
	b = append(b, '"')
	if r.Prefix.IsValid() {
		b = append(b, `,"prefix":"`...)
		b = r.Prefix.AppendTo(b)
		b = append(b, '"')
	}
	return r.appendTail(b)
}

func (r *Record) appendTail(b []byte) []byte {
	if r.ASN != 0 {
		b = append(b, `,"asn":`...)
		b = strconv.AppendUint(b, uint64(r.ASN), 10)
	}
	if r.ASName != "" {
		b = append(b, `,"as_name":`...)
		b = AppendJSONString(b, r.ASName)
	}
	b = appendRef(b, "provider", r.Provider)
	b = appendRef(b, "operator", r.Operator)
	b = appendRef(b, "parent", r.Parent)
	if r.Control != nil {
		b = append(b, `,"control":{"country":`...)
		b = AppendJSONString(b, r.Control.Country)
		b = append(b, `,"basis":`...)
		b = AppendJSONString(b, r.Control.Basis)
		b = append(b, `,"source":`...)
		b = AppendJSONString(b, r.Control.Source)
		b = append(b, '}')
	}
	if r.Registration != nil {
		b = append(b, `,"registration":{"country":`...)
		b = AppendJSONString(b, r.Registration.Country)
		b = append(b, `,"source":`...)
		b = AppendJSONString(b, r.Registration.Source)
		b = append(b, '}')
	}
	if l := r.Location; l != nil {
		b = append(b, `,"location":{"country":`...)
		b = AppendJSONString(b, l.Country)
		if l.Region != "" {
			b = append(b, `,"region":`...)
			b = AppendJSONString(b, l.Region)
		}
		if l.City != "" {
			b = append(b, `,"city":`...)
			b = AppendJSONString(b, l.City)
		}
		if l.Area != "" {
			b = append(b, `,"area":`...)
			b = AppendJSONString(b, l.Area)
		}
		b = append(b, `,"source":`...)
		b = AppendJSONString(b, l.Source)
		if l.Anycast {
			b = append(b, `,"anycast":true`...)
		}
		b = append(b, '}')
	}
	if len(r.Evidence) > 0 {
		b = append(b, `,"evidence":[`...)
		for i, e := range r.Evidence {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"method":`...)
			b = AppendJSONString(b, e.Method)
			b = append(b, `,"detail":`...)
			b = AppendJSONString(b, e.Detail)
			b = append(b, `,"source":`...)
			b = AppendJSONString(b, e.Source)
			if e.Provider != "" {
				b = append(b, `,"provider":`...)
				b = AppendJSONString(b, e.Provider)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"confidence":`...)
	b = AppendJSONString(b, r.Confidence)
	return append(b, '}')
}

// Map returns the record in the form that policy rules see it: the value
// that decoding its JSON (AppendJSON) with policy.RecordJSON gives, objects
// as map[string]any, lists as []any and the ASN as int64, built without the
// round trip through JSON. Strings are kept as they are, where JSON would
// replace invalid UTF-8. TestRecordMap keeps the two forms equal: a field
// added to the record is added to both.
func (r *Record) Map() map[string]any {
	m := make(map[string]any, 12)
	m["ip"] = string(r.IP.AppendTo(nil))
	if r.Prefix.IsValid() {
		m["prefix"] = string(r.Prefix.AppendTo(nil))
	}
	if r.ASN != 0 {
		m["asn"] = int64(r.ASN)
	}
	if r.ASName != "" {
		m["as_name"] = r.ASName
	}
	refs := [...]struct {
		key string
		ref *Ref
	}{{"provider", r.Provider}, {"operator", r.Operator}, {"parent", r.Parent}}
	for _, f := range refs {
		if f.ref != nil {
			m[f.key] = f.ref.mapForm()
		}
	}
	if c := r.Control; c != nil {
		m["control"] = map[string]any{"country": c.Country, "basis": c.Basis, "source": c.Source}
	}
	if g := r.Registration; g != nil {
		m["registration"] = map[string]any{"country": g.Country, "source": g.Source}
	}
	if l := r.Location; l != nil {
		m["location"] = l.mapForm()
	}
	if len(r.Evidence) > 0 {
		ev := make([]any, len(r.Evidence))
		for i, e := range r.Evidence {
			o := map[string]any{"method": e.Method, "detail": e.Detail, "source": e.Source}
			if e.Provider != "" {
				o["provider"] = e.Provider
			}
			ev[i] = o
		}
		m["evidence"] = ev
	}
	m["confidence"] = r.Confidence
	return m
}

func (r *Ref) mapForm() map[string]any {
	o := map[string]any{"id": r.ID, "name": r.Name}
	if r.Kind != "" {
		o["kind"] = r.Kind
	}
	if r.Country != "" {
		o["country"] = r.Country
	}
	return o
}

func (l *Location) mapForm() map[string]any {
	o := map[string]any{"country": l.Country, "source": l.Source}
	if l.Region != "" {
		o["region"] = l.Region
	}
	if l.City != "" {
		o["city"] = l.City
	}
	if l.Area != "" {
		o["area"] = l.Area
	}
	if l.Anycast {
		o["anycast"] = true
	}
	return o
}

func appendRef(b []byte, key string, r *Ref) []byte {
	if r == nil {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":{"id":`...)
	b = AppendJSONString(b, r.ID)
	b = append(b, `,"name":`...)
	b = AppendJSONString(b, r.Name)
	if r.Kind != "" {
		b = append(b, `,"kind":`...)
		b = AppendJSONString(b, r.Kind)
	}
	if r.Country != "" {
		b = append(b, `,"country":`...)
		b = AppendJSONString(b, r.Country)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML-safe, invalid UTF-8 replaced by U+FFFD).
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
