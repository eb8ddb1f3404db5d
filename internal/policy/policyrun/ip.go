package policyrun

import (
	"bytes"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/policy"
)

// Placeholders for the fields of ip records that vary within a route, in
// the findings cached for the route.
const (
	ipPlaceholder     = "\ue000ip\ue000"
	prefixPlaceholder = "\ue000prefix\ue000"
)

// maxIPCache bounds each cache of an IP; the routes of a snapshot are far
// fewer.
const maxIPCache = 1 << 20

// An IP evaluates the attribution records of an engine, as "sovmap ip"
// writes them. The findings of a record depend on its route (the JSON after
// ip and prefix) and, in messages only, on its ip and prefix, so when the
// rules allow it ([policy.Set.Cacheable]) they are evaluated once per route
// with placeholders, and the address is put in their place: --policy keeps
// "ip --json" fast.
type IP struct {
	eng       *attribution.Engine
	run       *Run
	sarif     bool // locate the findings for a SARIF log
	cacheable bool
	cache     map[routeKey]*ipVerdict
	dense     []*ipVerdict // by the engine's dense route key
	seed      maphash.Seed
	// clean remembers the expression keys of records that break no rule;
	// exprFields are the fields of the key, nil when keys cannot be used.
	clean      map[exprKey]bool
	exprFields []string
}

// NewIP returns an evaluator of the engine's records in the run. With
// sarif, the findings are located in the run ([Run.Locate]) as they are
// found, for a SARIF log.
func NewIP(eng *attribution.Engine, run *Run, sarif bool) *IP {
	ip := &IP{
		eng:       eng,
		run:       run,
		sarif:     sarif,
		cacheable: run.set.Cacheable(policy.KindIP, "ip", "prefix"),
		cache:     map[routeKey]*ipVerdict{},
		clean:     map[exprKey]bool{},
		seed:      maphash.MakeSeed(),
	}
	fields, whole := run.set.ExprReads(policy.KindIP)
	if !whole {
		ip.exprFields = []string{}
		for _, f := range fields {
			if !slices.Contains(exprKeyFields, f) {
				ip.exprFields = nil // a field the key does not cover: no shortcut
				break
			}
			ip.exprFields = append(ip.exprFields, f)
		}
	}
	return ip
}

// AppendJSON appends the findings of an address's record to its JSON, b,
// as [attribution.Engine.AppendJSONKey] gives it with the route key rkey
// (without a newline): a "findings" field before the final '}', or nothing
// when the record breaks no rule.
func (ip *IP) AppendJSON(b []byte, a netip.Addr, rkey int) []byte {
	v := ip.verdict(b, a, rkey)
	ip.use(v, "", "", false)
	if len(v.suffix) == 0 {
		return b
	}
	if !v.placeholders {
		b = append(b[:len(b)-1], v.suffix...)
		return append(b, '}')
	}
	addr, prefix, _ := head(b)
	// addr and prefix point into b before the record's end: appending past
	// that end never overwrites them.
	b = b[:len(b)-1]
	for i, seg := range v.segs {
		b = append(b, seg...)
		if i < len(v.holes) {
			if v.holes[i] == 'i' {
				b = append(b, addr...)
			} else {
				b = append(b, prefix...)
			}
		}
	}
	return append(b, '}')
}

// Findings returns the findings of an address, for the text, brief and
// SARIF outputs. Buf is scratch space, returned for reuse.
func (ip *IP) Findings(a netip.Addr, buf []byte) ([]policy.Finding, []byte) {
	buf, rkey := ip.eng.AppendJSONKey(buf[:0], a)
	v := ip.verdict(buf, a, rkey)
	addr, prefix, _ := head(buf)
	return ip.use(v, string(addr), string(prefix), true), buf
}

// use counts a verdict for an address and returns its findings with the
// address in place of the placeholders, when they are needed.
func (ip *IP) use(v *ipVerdict, addr, prefix string, needFindings bool) []policy.Finding {
	ip.run.count(v.findings)
	if ip.run.pops != nil {
		ip.run.addTally(policy.KindIP, v.tally)
	}
	if !needFindings && !ip.sarif {
		return nil
	}
	fs := v.findings
	if v.placeholders {
		fs = slices.Clone(fs)
		for i := range fs {
			fs[i].Message = substitute(fs[i].Message, addr, prefix)
		}
	}
	if ip.sarif {
		ip.run.Locate(policy.KindIP, addr, "", 0, fs)
	}
	return fs
}

func substitute(s, addr, prefix string) string {
	if !strings.Contains(s, "\ue000") {
		return s
	}
	s = strings.ReplaceAll(s, ipPlaceholder, addr)
	return strings.ReplaceAll(s, prefixPlaceholder, prefix)
}

// head splits the JSON of a record as the engine writes it,
// {"ip":"…","prefix":"…",…}, into its address, its prefix (nil when it
// has none) and the offset where the part that depends only on the route
// starts.
func head(b []byte) (addr, prefix []byte, rest int) {
	i := len(`{"ip":"`)
	j := bytes.IndexByte(b[i:], '"')
	if j < 0 {
		return nil, nil, len(b)
	}
	addr = b[i : i+j]
	i += j + 1
	const pfx = `,"prefix":"`
	if bytes.HasPrefix(b[i:], []byte(pfx)) {
		if k := bytes.IndexByte(b[i+len(pfx):], '"'); k >= 0 {
			return addr, b[i+len(pfx) : i+len(pfx)+k], i + len(pfx) + k + 1
		}
	}
	return addr, nil, i
}

// ipVerdict is the evaluation of one route.
type ipVerdict struct {
	findings     []policy.Finding // messages may hold placeholders
	suffix       []byte           // `,"findings":[…]` to insert before the record's final '}'
	placeholders bool             // suffix or messages hold placeholders
	segs         [][]byte         // the suffix split at the placeholders
	holes        []byte           // what goes between segs: 'i' for the ip, 'p' for the prefix
	tally        policy.Tally     // for the population
}

// routeKey identifies the route part of a record.
type routeKey struct {
	hash      uint64
	n         uint32
	hasPrefix bool
}

// verdict evaluates the record of an address, whose JSON (as
// Engine.AppendJSONKey gives it, with the key rkey) is b.
func (ip *IP) verdict(b []byte, a netip.Addr, rkey int) *ipVerdict {
	if !ip.cacheable {
		r := ip.eng.Attribute(a)
		return ip.evaluate(r.Map(), a)
	}
	// The engine's route key identifies the record's JSON after the prefix:
	// a slice index, the cheapest cache there is.
	if rkey >= 0 && rkey < ip.eng.Keys() {
		if ip.dense == nil {
			ip.dense = make([]*ipVerdict, ip.eng.Keys())
		}
		if v := ip.dense[rkey]; v != nil {
			return v
		}
		v := ip.verdictSlow(b, a)
		ip.dense[rkey] = v
		return v
	}
	return ip.verdictSlow(b, a)
}

// verdictSlow evaluates a record, cached by a hash of its route JSON.
func (ip *IP) verdictSlow(b []byte, a netip.Addr) *ipVerdict {
	_, prefix, start := head(b)
	hasPrefix := prefix != nil
	tail := b[start:]
	// The key is a 64-bit hash and the length of the route's JSON: small
	// keys keep the cache in the processor's caches. Two routes collide
	// with a probability of about 2^-64 per pair: below 10^-7 for the
	// million routes the cache holds at most.
	key := routeKey{maphash.Bytes(ip.seed, tail), uint32(len(tail)), hasPrefix}
	if v, ok := ip.cache[key]; ok {
		return v
	}
	r := ip.eng.Attribute(a)
	var v *ipVerdict
	ek, keyed := ip.exprKey(&r, hasPrefix)
	if keyed && ip.clean[ek] {
		v = &ipVerdict{}
		if ip.run.pops != nil {
			v.tally = policy.TallyOf(policy.KindIP, placeheld(&r))
		}
	} else {
		v = ip.evaluate(placeheld(&r), a)
		if keyed && len(v.findings) == 0 && len(ip.clean) < maxIPCache {
			ip.clean[ek] = true
		}
	}
	v.placeholders = bytes.Contains(v.suffix, []byte("\ue000"))
	if v.placeholders {
		v.segs, v.holes = splitPlaceholders(v.suffix)
	}
	if len(ip.cache) < maxIPCache {
		ip.cache[key] = v
	}
	return v
}

// placeheld returns the map form of a record with placeholders for its ip
// and prefix, for a verdict that the addresses of its route share.
func placeheld(r *attribution.Record) map[string]any {
	rec := r.Map()
	rec["ip"] = ipPlaceholder
	if _, ok := rec["prefix"]; ok {
		rec["prefix"] = prefixPlaceholder
	}
	return rec
}

// evaluate computes the verdict of the record of an address in its map
// form, whose ip and prefix may be placeholders.
func (ip *IP) evaluate(rec map[string]any, a netip.Addr) *ipVerdict {
	v := &ipVerdict{findings: ip.run.check(policy.KindIP, rec, a.String)}
	if ip.run.pops != nil {
		v.tally = policy.TallyOf(policy.KindIP, rec)
	}
	if len(v.findings) > 0 {
		v.suffix = AppendFindings([]byte(`,"findings":`), v.findings)
	}
	return v
}

// splitPlaceholders splits a suffix at its placeholders, so that the
// address can be put in without scanning the suffix for every record.
func splitPlaceholders(b []byte) (segs [][]byte, holes []byte) {
	for {
		i, j := bytes.Index(b, []byte(ipPlaceholder)), bytes.Index(b, []byte(prefixPlaceholder))
		switch {
		case i < 0 && j < 0:
			return append(segs, b), holes
		case j < 0 || (i >= 0 && i < j):
			segs, holes, b = append(segs, b[:i]), append(holes, 'i'), b[i+len(ipPlaceholder):]
		default:
			segs, holes, b = append(segs, b[:j]), append(holes, 'p'), b[j+len(prefixPlaceholder):]
		}
	}
}

// exprKey identifies the fields of an ip record that the rules' expressions
// read. Which rules a record breaks depends only on them, so records equal
// in them break the same rules. The attribution engine shares immutable
// parts between the records of a route and between routes with the same
// verdict, so pointers stand for their content: different pointers to equal
// content only cost a second evaluation.
type exprKey struct {
	asn          uint32
	asName       string
	provider     *attribution.Ref
	operator     *attribution.Ref
	parent       *attribution.Ref
	control      *attribution.Control
	registration *attribution.Registration
	location     *attribution.Location
	evidence     *attribution.Evidence
	nEvidence    int
	confidence   string
	hasPrefix    bool
}

// exprKeyFields are the fields of an ip record that an exprKey covers.
var exprKeyFields = []string{"asn", "as_name", "provider", "operator", "parent", "control", "registration", "location", "evidence", "confidence"}

// exprKey returns the key of a record, and false when the rules read a
// field the key does not cover.
func (ip *IP) exprKey(r *attribution.Record, hasPrefix bool) (exprKey, bool) {
	if ip.exprFields == nil {
		return exprKey{}, false
	}
	k := exprKey{hasPrefix: hasPrefix}
	for _, f := range ip.exprFields {
		switch f {
		case "asn":
			k.asn = r.ASN
		case "as_name":
			k.asName = r.ASName
		case "provider":
			k.provider = r.Provider
		case "operator":
			k.operator = r.Operator
		case "parent":
			k.parent = r.Parent
		case "control":
			k.control = r.Control
		case "registration":
			k.registration = r.Registration
		case "location":
			k.location = r.Location
		case "evidence":
			if len(r.Evidence) > 0 {
				k.evidence = &r.Evidence[0]
			}
			k.nEvidence = len(r.Evidence)
		case "confidence":
			k.confidence = r.Confidence
		}
	}
	return k, true
}
