package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/policy/policytest"
	"github.com/sovmap/sovmap/internal/screen"
)

func policyCommand() *command {
	return &command{
		name:    "policy",
		summary: "list, test and check policies: rules over attribution, scan and flow records",
		help: `Usage:
  sovmap policy list [--json]
  sovmap policy show PACK
  sovmap policy test [-v] FILE...
  sovmap policy check --policy P [--format text|json|sarif] [--kind K] [--fail-on SEVERITY] FILE.ndjson...

A policy is a YAML file of rules; each rule is a CEL expression over a record
(an attribution record of 'sovmap ip --json', a layer of a scanned domain, a
group of flows, or a population summary), with a severity, a message and the
legal or business source it implements (docs/policy.md).

Built-in packs: us-icts (control or location in a foreign adversary of
15 CFR 791.4), fcc-covered (operator or parent on the FCC Covered List or named
in NDAA section 889), eu-residency (location outside the EU/EEA; control
outside it, the CLOUD Act for US control), concentration (one provider for a
domain's DNS; one provider's share of a population). --policy takes a pack
name, "all", or a file, and may be repeated.

  list    the packs, their rules, what each checks and its source
  show    print a pack's YAML, to read or to copy and adapt
  test    run a file of tests of your rules: records (or addresses) and the
          findings they must give; exit 1 and a diff when one fails
  check   evaluate the records of NDJSON files ("-" for standard input);
          the kind of each record is told from its fields unless --kind is
          given; scan records with "layers" are split into layers and flows
          summaries with "groups" into their rows; when a population rule is
          loaded, the records are also summarised and the summary checked;
          a line (or a document spanning lines) over 16 MiB is reported
          and skipped

Flags of check:
  --policy P          a pack name, "all", or a policy file (repeatable)
  --format FORMAT     text (default), json (one finding per line) or sarif
                      (SARIF 2.1.0, for code-scanning dashboards)
  --kind KIND         treat every record as ip, scan-layer, flow-group or population
  --fail-on SEVERITY  exit 1 when a finding reaches info, low, medium, high or
                      critical (default: never)
  --catalog FILE      extend the catalog that group and parent lookups use

Exit status: 0 when nothing failed; 1 when a finding reached --fail-on, a test
failed, input was invalid, or a rule's evaluation was stopped by a limit of
cost or time (docs/policy.md, Limits); 2 for a usage error; 3 when a file
cannot be read.

Examples:
  sovmap policy list
  sovmap policy show eu-residency > ours.yaml
  sovmap policy test ours_test.yaml
  sovmap ip --json < ips.txt > records.ndjson
  sovmap policy check --policy us-icts --policy ./ours.yaml records.ndjson
  sovmap policy check --policy all --format sarif records.ndjson > sovmap.sarif
  sovmap ip --policy us-icts --fail-on high 47.88.1.1
`,
		run: runPolicy,
	}
}

func runPolicy(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: list, show, test or check")
	}
	switch args[0] {
	case "list":
		return runPolicyList(e, args[1:])
	case "show":
		return runPolicyShow(e, args[1:])
	case "test":
		return runPolicyTest(e, args[1:])
	case "check":
		return runPolicyCheck(e, args[1:])
	case "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return usagef("unknown subcommand %q (want list, show, test or check)", args[0])
}

// policyFlags are the flags that load policies: --policy and --fail-on.
// Commands that produce records (ip, and later scan and flows) register them
// and call start.
type policyFlags struct {
	names  stringList
	failOn string
}

func (pf *policyFlags) register(fs *flag.FlagSet) {
	fs.Var(&pf.names, "policy", "evaluate a built-in `pack` (or all) or a policy file (repeatable)")
	fs.StringVar(&pf.failOn, "fail-on", "", "exit 1 when a finding reaches this `severity`")
}

// failLevel parses --fail-on; SeverityNone means never fail.
func (pf *policyFlags) failLevel() (policy.Severity, error) {
	if pf.failOn == "" {
		return policy.SeverityNone, nil
	}
	s, err := policy.ParseSeverity(pf.failOn)
	if err != nil {
		return 0, usagef("--fail-on: %v", err)
	}
	return s, nil
}

// loadPolicies reads the packs and files named, in order. A name is a file
// when it has a path separator or a .yaml/.yml extension, or names an
// existing file; else a pack; "all" is every pack.
func loadPolicies(names []string, dir string) ([]*policy.Policy, error) {
	var out []*policy.Policy
	for _, n := range names {
		if n == "all" {
			for _, p := range policy.Packs() {
				pol, err := policy.Pack(p)
				if err != nil {
					return nil, err
				}
				out = append(out, pol)
			}
			continue
		}
		path := n
		if dir != "" && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		_, statErr := os.Stat(path)
		isFile := strings.ContainsAny(n, `/\`) || strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || statErr == nil
		if !isFile {
			if _, ok := policy.PackSource(n); !ok {
				return nil, usagef("--policy %q: no such pack or file (packs: %s, all)", n, strings.Join(policy.Packs(), ", "))
			}
			pol, err := policy.Pack(n)
			if err != nil {
				return nil, err
			}
			out = append(out, pol)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		pol, err := policy.Parse(path, f)
		f.Close()
		if err != nil {
			return nil, &policyError{err}
		}
		out = append(out, pol)
	}
	return out, nil
}

// policyError is an invalid policy file: exit status 1 (invalid input), with
// each problem on its own line.
type policyError struct{ err error }

func (p *policyError) Error() string { return p.err.Error() }

// reportPolicyError prints an invalid policy's problems and returns the exit
// error; other errors pass through.
func reportPolicyError(e *env, cmd string, err error) error {
	var pe *policyError
	if !errors.As(err, &pe) {
		return err
	}
	for _, l := range strings.Split(pe.err.Error(), "\n") {
		e.errorf("%s: %s", cmd, l)
	}
	return &exitError{exitInvalid}
}

// policyEnv builds what rules look up: the catalog's jurisdiction groups and
// parent chains, and the restricted-entity lists of internal/screen with their
// links to catalog companies.
func policyEnv(cat *attribution.Catalog, lists *screen.Lists) policy.Env {
	env := policy.Env{Groups: map[string][]string{}, Lists: map[string]*policy.List{}}
	if cat != nil {
		for _, id := range cat.GroupIDs() {
			if g, ok := cat.Group(id); ok {
				env.Groups[id] = g.Countries
			}
		}
		env.Parents = func(id string) []string {
			chain := cat.Chain(id)
			if len(chain) < 2 {
				return nil
			}
			out := make([]string, 0, len(chain)-1)
			for _, c := range chain[1:] {
				out = append(out, c.ID)
			}
			return out
		}
	}
	if lists == nil {
		return env
	}
	for _, lid := range lists.ListIDs() {
		info, _ := lists.List(lid)
		pl := &policy.List{ID: lid, Name: info.Name, Links: map[string]policy.Link{}}
		for _, ent := range lists.Entities() {
			var first *screen.Listing
			for i := range ent.Listings {
				ls := &ent.Listings[i]
				if ls.List == lid && (first == nil || ls.Since < first.Since) {
					first = ls
				}
			}
			if first == nil {
				continue
			}
			link := policy.Link{Entry: ent.ID, Name: ent.Name, Since: first.Since, Scope: first.Scope, Source: lists.SourceURL(first.Source)}
			for _, id := range ent.Catalog.Group {
				l := link
				l.Relation = policy.RelationGroup
				pl.Links[id] = l
			}
			for _, id := range ent.Catalog.Entity {
				l := link
				l.Relation = policy.RelationEntity
				pl.Links[id] = l
			}
		}
		env.Lists[lid] = pl
	}
	return env
}

// compilePolicies loads and compiles the named policies with the catalog.
func compilePolicies(names []string, dir string, cat *attribution.Catalog) (*policy.Set, error) {
	pols, err := loadPolicies(names, dir)
	if err != nil {
		return nil, err
	}
	lists, err := screen.Embedded()
	if err != nil {
		return nil, err
	}
	set, err := policy.Compile(policyEnv(cat, lists), pols...)
	if err != nil {
		return nil, &policyError{err}
	}
	return set, nil
}

// A policyRun evaluates records of a command against the loaded policies and
// keeps the counts for the exit status. Commands that produce records create
// one with policyFlags.start, call evaluate for each record (or layer, or
// flow group) and finish at the end.
type policyRun struct {
	set    *policy.Set
	failOn policy.Severity
	counts [policy.SeverityCritical + 1]int
	pops   map[string]*policy.Population // by record kind, when population rules are loaded

	// Evaluations stopped by a limit (policy.ErrLimit): how many, and the
	// first maxReported, told at once by warn when set, else by exit.
	limited    int
	limitNotes []string
	warn       func(msg string)
}

// start compiles the policies of the flags; it returns nil when no --policy
// was given.
func (pf *policyFlags) start(cat *attribution.Catalog) (*policyRun, error) {
	failOn, err := pf.failLevel()
	if err != nil {
		return nil, err
	}
	if len(pf.names) == 0 {
		if pf.failOn != "" {
			return nil, usagef("--fail-on needs --policy")
		}
		return nil, nil
	}
	set, err := compilePolicies(pf.names, "", cat)
	if err != nil {
		return nil, err
	}
	return newPolicyRun(set, failOn), nil
}

func newPolicyRun(set *policy.Set, failOn policy.Severity) *policyRun {
	pr := &policyRun{set: set, failOn: failOn}
	if set.Applies(policy.KindPopulation) {
		pr.pops = map[string]*policy.Population{}
	}
	return pr
}

// evaluate returns the findings of a record and counts them; the record also
// joins the population when population rules are loaded.
func (pr *policyRun) evaluate(kind string, rec map[string]any) []policy.Finding {
	return pr.evaluateAt(kind, rec, "")
}

// evaluateAt is evaluate for a record at a place ("file:line: ") of the
// input, which errors name.
func (pr *policyRun) evaluateAt(kind string, rec map[string]any, where string) []policy.Finding {
	pr.addToPopulation(kind, rec)
	fs := pr.check(kind, rec, func() string {
		name := policy.Subject(kind, rec)
		if name == "" {
			name = kind + " record"
		}
		return where + name
	})
	pr.count(fs)
	return fs
}

// check evaluates a record, named in errors by name(), and keeps the rule
// evaluations that a limit stopped: the batch goes on, the rule counts as
// not broken, and the error is reported and fails the command. Other errors
// (a field the record lacks) are the rule's business, as in Evaluate.
func (pr *policyRun) check(kind string, rec map[string]any, name func() string) []policy.Finding {
	fs, errs := pr.set.Check(kind, rec)
	for _, err := range errs {
		if !errors.Is(err, policy.ErrLimit) {
			continue
		}
		pr.limited++
		if pr.limited > maxReported {
			continue
		}
		msg := fmt.Sprintf("%s: %v", name(), err)
		if pr.warn != nil {
			pr.warn(msg)
		} else {
			pr.limitNotes = append(pr.limitNotes, msg)
		}
	}
	return fs
}

func (pr *policyRun) count(fs []policy.Finding) {
	for _, f := range fs {
		if f.Severity >= 0 && int(f.Severity) < len(pr.counts) {
			pr.counts[f.Severity]++
		}
	}
}

// addToPopulation counts a record in the population of its kind, when
// population rules are loaded.
func (pr *policyRun) addToPopulation(kind string, rec map[string]any) {
	if pr.pops == nil || kind == policy.KindPopulation {
		return
	}
	pr.addTally(kind, policy.TallyOf(kind, rec))
}

func (pr *policyRun) addTally(kind string, t policy.Tally) {
	p := pr.pops[kind]
	if p == nil {
		p = policy.NewPopulation("")
		pr.pops[kind] = p
	}
	p.AddTally(t)
}

// popResult is a population summary and its findings.
type popResult struct {
	name     string
	rec      map[string]any
	findings []policy.Finding
}

// populations evaluates the summaries of the records seen, one per kind of
// record, named after name; nothing when no population rule is loaded.
func (pr *policyRun) populations(name string) []popResult {
	var out []popResult
	for _, kind := range policy.Kinds {
		p := pr.pops[kind]
		if p == nil || p.Total() == 0 {
			continue
		}
		n := name
		if len(pr.pops) > 1 {
			n = fmt.Sprintf("%s (%s records)", name, kind)
		}
		rec := p.Record()
		rec["population"] = n
		fs := pr.check(policy.KindPopulation, rec, func() string { return "population " + n })
		pr.count(fs)
		out = append(out, popResult{n, rec, fs})
	}
	return out
}

// failed returns the number of findings at or above --fail-on.
func (pr *policyRun) failed() int {
	if pr.failOn == policy.SeverityNone {
		return 0
	}
	n := 0
	for s := pr.failOn; s <= policy.SeverityCritical; s++ {
		n += pr.counts[s]
	}
	return n
}

// summary describes the findings by severity: "3 findings (1 high, 2 medium)".
func (pr *policyRun) summary() string {
	total := 0
	var parts []string
	for s := policy.SeverityCritical; s >= policy.SeverityInfo; s-- {
		if n := pr.counts[s]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if total == 0 {
		return "no findings"
	}
	return fmt.Sprintf("%d finding%s (%s)", total, plural(total), strings.Join(parts, ", "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// exit reports the evaluations stopped by a limit and a --fail-on failure on
// stderr and returns their exit error, or nil.
func (pr *policyRun) exit(e *env, cmd string) error {
	for _, msg := range pr.limitNotes {
		e.errorf("%s: %s", cmd, msg)
	}
	pr.limitNotes = nil
	if pr.limited > 0 {
		if n := pr.limited - maxReported; n > 0 {
			e.errorf("%s: %d more rule evaluation%s stopped by a limit not shown", cmd, n, plural(n))
		}
		e.errorf("%s: %d rule evaluation%s stopped by a limit (docs/policy.md, Limits): such a rule counts as not broken by its record", cmd, pr.limited, plural(pr.limited))
	}
	if n := pr.failed(); n > 0 {
		e.errorf("%s: %d finding%s at or above %s (--fail-on %s): %s", cmd, n, plural(n), pr.failOn, pr.failOn, pr.summary())
		return &exitError{exitInvalid}
	}
	if pr.limited > 0 {
		return &exitError{exitInvalid}
	}
	return nil
}

// sarifTool describes sovmap for SARIF logs.
func sarifTool() policy.Tool {
	return policy.Tool{Name: "sovmap", Version: Version, InformationURI: "https://github.com/sovmap/sovmap"}
}

// Placeholders for the varying fields of ip records in cached findings.
const (
	ipPlaceholder     = "\ue000ip\ue000"
	prefixPlaceholder = "\ue000prefix\ue000"
)

// ipPolicy evaluates the records of "sovmap ip". The findings of a record
// depend on its route (the JSON after ip and prefix) and, in messages only, on
// its ip and prefix, so they are evaluated once per route with placeholders
// and the address is substituted: --policy keeps "ip --json" fast.
type ipPolicy struct {
	eng       *attribution.Engine
	run       *policyRun
	cacheable bool
	cache     map[routeKey]*ipVerdict
	dense     []*ipVerdict     // by the engine's dense route key
	located   []policy.Located // findings kept for SARIF
	sarif     bool
	seed      maphash.Seed
	// clean remembers the expression keys of records that break no rule;
	// exprFields are the fields of the key, nil when keys cannot be used.
	clean      map[exprKey]bool
	exprFields []string
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

// exprKey returns the key of a record, and false when the rules read a
// field the key does not cover.
func (ip *ipPolicy) exprKey(r *attribution.Record, hasPrefix bool) (exprKey, bool) {
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

// routeKey identifies the route part of a record.
type routeKey struct {
	hash      uint64
	n         uint32
	hasPrefix bool
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

// maxIPCache bounds the verdict cache; the routes of a snapshot are far fewer.
const maxIPCache = 1 << 20

func newIPPolicy(eng *attribution.Engine, run *policyRun, sarif bool) *ipPolicy {
	ip := &ipPolicy{
		eng:       eng,
		run:       run,
		cacheable: run.set.Cacheable(policy.KindIP, "ip", "prefix"),
		cache:     map[routeKey]*ipVerdict{},
		clean:     map[exprKey]bool{},
		sarif:     sarif,
		seed:      maphash.MakeSeed(),
	}
	fields, whole := run.set.ExprReads(policy.KindIP)
	known := []string{"asn", "as_name", "provider", "operator", "parent", "control", "registration", "location", "evidence", "confidence"}
	if !whole {
		ip.exprFields = []string{}
		for _, f := range fields {
			if !slices.Contains(known, f) {
				ip.exprFields = nil // a field the key does not cover: no shortcut
				break
			}
			ip.exprFields = append(ip.exprFields, f)
		}
	}
	return ip
}

// tailStart returns where the route part of an ip record's JSON starts: after
// the ip and the prefix.
func tailStart(b []byte) (start int, hasPrefix bool) {
	i := len(`{"ip":"`)
	j := bytes.IndexByte(b[i:], '"')
	if j < 0 {
		return len(b), false
	}
	i += j + 1
	const pfx = `,"prefix":"`
	if bytes.HasPrefix(b[i:], []byte(pfx)) {
		k := bytes.IndexByte(b[i+len(pfx):], '"')
		if k >= 0 {
			return i + len(pfx) + k + 1, true
		}
	}
	return i, false
}

// verdict evaluates the record of an address, whose JSON (as
// Engine.AppendJSON gives it) is b.
func (ip *ipPolicy) verdict(b []byte, a netip.Addr, rkey int) *ipVerdict {
	if !ip.cacheable {
		addr, prefix := recordAddr(b)
		return ip.evaluate(a, string(addr), string(prefix))
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
func (ip *ipPolicy) verdictSlow(b []byte, a netip.Addr) *ipVerdict {
	start, hasPrefix := tailStart(b)
	tail := b[start:]
	// The key is a 64-bit hash and the length of the route's JSON: small
	// keys keep the cache in the processor's caches. Two routes collide
	// with a probability of about 2^-64 per pair: below 10^-7 for the
	// million routes the cache holds at most.
	key := routeKey{maphash.Bytes(ip.seed, tail), uint32(len(tail)), hasPrefix}
	if v, ok := ip.cache[key]; ok {
		return v
	}
	var v *ipVerdict
	r := ip.eng.Attribute(a)
	ek, keyed := ip.exprKey(&r, hasPrefix)
	if keyed && ip.clean[ek] {
		v = &ipVerdict{}
		if ip.run.pops != nil {
			v.tally = policy.TallyOf(policy.KindIP, ipRecordMap(&r, ipPlaceholder, prefixPlaceholder))
		}
	} else {
		v = ip.evaluateRecord(&r, ipPlaceholder, prefixPlaceholder, a)
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

// evaluate computes the verdict of an address, with addr and prefix as the
// record's ip and prefix (placeholders when the verdict is cached).
func (ip *ipPolicy) evaluate(a netip.Addr, addr, prefix string) *ipVerdict {
	r := ip.eng.Attribute(a)
	return ip.evaluateRecord(&r, addr, prefix, a)
}

func (ip *ipPolicy) evaluateRecord(r *attribution.Record, addr, prefix string, a netip.Addr) *ipVerdict {
	rec := ipRecordMap(r, addr, prefix)
	v := &ipVerdict{findings: ip.run.check(policy.KindIP, rec, a.String)}
	if ip.run.pops != nil {
		v.tally = policy.TallyOf(policy.KindIP, rec)
	}
	if len(v.findings) > 0 {
		v.suffix = appendFindings([]byte(`,"findings":`), v.findings)
	}
	return v
}

// ipRecordMap returns the map form of an attribution record, as
// policy.RecordJSON of its JSON gives it, without the round trip through
// JSON: ip and prefix are given as strings. TestIPRecordMap keeps the two
// equal.
func ipRecordMap(r *attribution.Record, addr, prefix string) map[string]any {
	m := make(map[string]any, 12)
	m["ip"] = addr
	if r.Prefix.IsValid() {
		m["prefix"] = prefix
	}
	if r.ASN != 0 {
		m["asn"] = int64(r.ASN)
	}
	if r.ASName != "" {
		m["as_name"] = r.ASName
	}
	ref := func(key string, x *attribution.Ref) {
		if x == nil {
			return
		}
		o := map[string]any{"id": x.ID, "name": x.Name}
		if x.Kind != "" {
			o["kind"] = x.Kind
		}
		if x.Country != "" {
			o["country"] = x.Country
		}
		m[key] = o
	}
	ref("provider", r.Provider)
	ref("operator", r.Operator)
	ref("parent", r.Parent)
	if c := r.Control; c != nil {
		m["control"] = map[string]any{"country": c.Country, "basis": c.Basis}
	}
	if g := r.Registration; g != nil {
		m["registration"] = map[string]any{"country": g.Country, "source": g.Source}
	}
	if l := r.Location; l != nil {
		o := map[string]any{"country": l.Country, "source": l.Source}
		if l.Region != "" {
			o["region"] = l.Region
		}
		if l.City != "" {
			o["city"] = l.City
		}
		m["location"] = o
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

// appendFindings appends findings as a JSON array, as encoding/json would
// encode them (TestAppendFindings keeps the two equal).
func appendFindings(b []byte, fs []policy.Finding) []byte {
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rule":`...)
		b = attribution.AppendJSONString(b, f.Rule)
		b = append(b, `,"title":`...)
		b = attribution.AppendJSONString(b, f.Title)
		b = append(b, `,"severity":`...)
		b = attribution.AppendJSONString(b, f.Severity.String())
		b = append(b, `,"message":`...)
		b = attribution.AppendJSONString(b, f.Message)
		b = append(b, `,"policy":`...)
		b = attribution.AppendJSONString(b, f.Policy)
		if len(f.Evidence) > 0 {
			ev, err := json.Marshal(f.Evidence)
			if err == nil {
				b = append(b, `,"evidence":`...)
				b = append(b, ev...)
			}
		}
		b = append(b, `,"source":{"title":`...)
		b = attribution.AppendJSONString(b, f.Source.Title)
		b = append(b, `,"url":`...)
		b = attribution.AppendJSONString(b, f.Source.URL)
		b = append(b, `,"date":`...)
		b = attribution.AppendJSONString(b, f.Source.Date)
		b = append(b, "}}"...)
	}
	return append(b, ']')
}

// use counts a verdict for an address and returns its findings with the
// address in place of the placeholders.
func (ip *ipPolicy) use(v *ipVerdict, addr, prefix string, needFindings bool) []policy.Finding {
	if len(v.findings) > 0 {
		ip.run.count(v.findings)
	}
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
		for _, f := range fs {
			ip.located = append(ip.located, policy.Located{Finding: f, Kind: policy.KindIP, Subject: addr})
		}
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

// appendJSON appends the findings of a record to its JSON (b, as
// Engine.AppendJSON gives it, without the newline).
func (ip *ipPolicy) appendJSON(b []byte, a netip.Addr, rkey int) []byte {
	v := ip.verdict(b, a, rkey)
	ip.use(v, "", "", false)
	if len(v.suffix) == 0 {
		return b
	}
	if !v.placeholders {
		b = append(b[:len(b)-1], v.suffix...)
		return append(b, '}')
	}
	addr, prefix := recordAddr(b)
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

// recordAddr returns the ip and prefix strings of a record's JSON.
func recordAddr(b []byte) (addr, prefix []byte) {
	i := len(`{"ip":"`)
	j := bytes.IndexByte(b[i:], '"')
	if j < 0 {
		return nil, nil
	}
	addr = b[i : i+j]
	rest := b[i+j+1:]
	const pfx = `,"prefix":"`
	if bytes.HasPrefix(rest, []byte(pfx)) {
		if k := bytes.IndexByte(rest[len(pfx):], '"'); k >= 0 {
			prefix = rest[len(pfx) : len(pfx)+k]
		}
	}
	return addr, prefix
}

// findings returns the findings of an address for the text and SARIF outputs.
func (ip *ipPolicy) findings(eng *attribution.Engine, a netip.Addr, buf []byte) ([]policy.Finding, []byte) {
	buf, rkey := eng.AppendJSONKey(buf[:0], a)
	v := ip.verdict(buf, a, rkey)
	addr, prefix := recordAddr(buf)
	return ip.use(v, string(addr), string(prefix), true), buf
}

// writeFindingRows writes findings in the text block of a record.
func writeFindingRows(w io.Writer, fs []policy.Finding) {
	for i, f := range fs {
		k := ""
		if i == 0 {
			k = "findings"
		}
		fmt.Fprintf(w, "  %-13s %s %s: %s\n", k, strings.ToUpper(f.Severity.String()), f.Rule, f.Message)
		fmt.Fprintf(w, "  %-13s   source: %s (%s) %s\n", "", f.Source.Title, f.Source.Date, f.Source.URL)
	}
}

// ruleList is the brief column of findings: the rules, comma-separated.
func ruleList(fs []policy.Finding) string {
	if len(fs) == 0 {
		return "-"
	}
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.Rule
	}
	return strings.Join(ids, ",")
}

// finishIP writes the population findings and the SARIF log of "sovmap ip".
func (ip *ipPolicy) finish(p *ipPrinter) error {
	for _, pop := range ip.run.populations("the addresses given") {
		if len(pop.findings) == 0 {
			continue
		}
		switch p.mode {
		case outJSON:
			line, err := json.Marshal(map[string]any{"population": pop.rec, "findings": pop.findings})
			if err != nil {
				return err
			}
			p.w.Write(append(line, '\n'))
		case outSARIF:
		case outBrief:
			fmt.Fprintf(p.w, "population\t%s\n", ruleList(pop.findings))
		default:
			p.sep()
			fmt.Fprintf(p.w, "population of %v addresses\n", pop.rec["total"])
			writeFindingRows(p.w, pop.findings)
		}
		for _, f := range pop.findings {
			ip.located = append(ip.located, policy.Located{Finding: f, Kind: policy.KindPopulation, Subject: pop.name})
		}
	}
	if p.mode == outSARIF {
		return policy.WriteSARIF(p.w, sarifTool(), ip.run.set.Rules(), ip.located)
	}
	return nil
}

func runPolicyList(e *env, args []string) error {
	fs := newFlags("policy list")
	asJSON := fs.Bool("json", false, "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("policy list takes no arguments")
	}
	type ruleOut struct {
		ID          string          `json:"id"`
		Title       string          `json:"title"`
		Description string          `json:"description,omitempty"`
		Severity    policy.Severity `json:"severity"`
		AppliesTo   []string        `json:"applies_to"`
		Expr        string          `json:"expr"`
		Source      policy.Source   `json:"source"`
	}
	type packOut struct {
		Name        string    `json:"name"`
		Description string    `json:"description"`
		Rules       []ruleOut `json:"rules"`
	}
	var packs []packOut
	for _, name := range policy.Packs() {
		p, err := policy.Pack(name)
		if err != nil {
			return err
		}
		po := packOut{Name: p.Name, Description: p.Description}
		for _, r := range p.Rules {
			po.Rules = append(po.Rules, ruleOut{r.ID, r.Title, r.Description, r.Severity, r.AppliesTo, r.Expr, r.Source})
		}
		packs = append(packs, po)
	}
	if *asJSON {
		return writeJSON(e, packs)
	}
	w := bufio.NewWriter(e.stdout)
	for i, p := range packs {
		if i > 0 {
			w.WriteByte('\n')
		}
		fmt.Fprintf(w, "%s\n  %s\n", p.Name, wrap(p.Description, 76, "  "))
		for _, r := range p.Rules {
			fmt.Fprintf(w, "\n  %s  [%s; %s]\n", r.ID, r.Severity, strings.Join(r.AppliesTo, ", "))
			fmt.Fprintf(w, "    %s\n", r.Title)
			if r.Description != "" {
				fmt.Fprintf(w, "    checks: %s\n", wrap(r.Description, 64, "            "))
			}
			fmt.Fprintf(w, "    source: %s (%s)\n            %s\n", wrap(r.Source.Title, 64, "            "), r.Source.Date, r.Source.URL)
		}
	}
	fmt.Fprintf(w, "\nFunctions rules may call besides CEL's standard library:\n")
	for _, f := range policy.Functions() {
		fmt.Fprintf(w, "  %s\n      %s\n", f[0], f[1])
	}
	return w.Flush()
}

// wrap folds text at width, indenting continuation lines.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 {
			if n+1+len(word) > width {
				b.WriteString("\n" + indent)
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

func runPolicyShow(e *env, args []string) error {
	fs := newFlags("policy show")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("policy show takes one pack name (%s)", strings.Join(policy.Packs(), ", "))
	}
	b, ok := policy.PackSource(pos[0])
	if !ok {
		return usagef("no pack %q (packs: %s)", pos[0], strings.Join(policy.Packs(), ", "))
	}
	_, err = e.stdout.Write(b)
	return err
}

func runPolicyTest(e *env, args []string) error {
	fs := newFlags("policy test")
	verbose := fs.Bool("v", false, "")
	var df dataFlags
	df.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("policy test wants one or more test files")
	}
	var eng *attribution.Engine
	resolve := func(s string) (map[string]any, error) {
		a, err := parseAddr(s)
		if err != nil {
			return nil, err
		}
		if eng == nil {
			if eng, _, err = df.engine(); err != nil {
				return nil, err
			}
		}
		return policy.RecordJSON(eng.AppendJSON(nil, a))
	}
	cat, err := loadCatalog(&df)
	if err != nil {
		return err
	}
	failed := false
	for _, name := range pos {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("policy test: %w", err)
		}
		tf, err := policytest.Parse(name, bytes.NewReader(b))
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				e.errorf("policy test: %s", l)
			}
			failed = true
			continue
		}
		set, err := compilePolicies(tf.Policies, filepath.Dir(name), cat)
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				e.errorf("policy test: %s: %s", name, ue.msg)
				failed = true
				continue
			}
			if rerr := reportPolicyError(e, "policy test", err); rerr != err {
				failed = true
				continue
			}
			return err
		}
		results := policytest.Run(tf, set, resolve)
		if policytest.Report(e.stdout, name, results, *verbose) > 0 {
			failed = true
		}
	}
	if failed {
		return &exitError{exitInvalid}
	}
	return nil
}

// loadCatalog loads the catalog of the data flags (without the snapshot).
func loadCatalog(df *dataFlags) (*attribution.Catalog, error) {
	return catalog.Load(df.catalogs...)
}

// Limits of "policy check": the invalid records (and rule evaluations
// stopped by a limit) reported one by one, and the size of a record, on one
// line or on several, as policytest reads a test file.
const (
	maxReported   = 10
	maxRecordSize = 16 << 20
)

// checkOut is a finding of "policy check --format json".
type checkOut struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	policy.Finding
}

func runPolicyCheck(e *env, args []string) error {
	fs := newFlags("policy check")
	var pf policyFlags
	pf.register(fs)
	format := fs.String("format", "text", "")
	kind := fs.String("kind", "", "")
	var df dataFlags
	fs.Var(&df.catalogs, "catalog", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pf.names) == 0 {
		return usagef("policy check needs --policy (a pack, all, or a file)")
	}
	if !slices.Contains([]string{"text", "json", "sarif"}, *format) {
		return usagef("--format %q: want text, json or sarif", *format)
	}
	if *kind != "" && !slices.Contains(policy.Kinds, *kind) {
		return usagef("--kind %q: want one of %s", *kind, strings.Join(policy.Kinds, ", "))
	}
	if len(pos) == 0 {
		pos = []string{"-"}
	}
	failOn, err := pf.failLevel()
	if err != nil {
		return err
	}
	cat, err := loadCatalog(&df)
	if err != nil {
		return err
	}
	set, err := compilePolicies(pf.names, "", cat)
	if err != nil {
		return reportPolicyError(e, "policy check", err)
	}
	run := newPolicyRun(set, failOn)
	run.warn = func(msg string) { e.errorf("policy check: %s", msg) }
	w := bufio.NewWriterSize(e.stdout, 64*1024)
	var located []policy.Located
	enc := json.NewEncoder(w)
	emit := func(file string, line int, kind string, rec map[string]any, fs []policy.Finding) {
		subject := policy.Subject(kind, rec)
		for _, f := range fs {
			switch *format {
			case "json":
				enc.Encode(checkOut{File: file, Line: line, Kind: kind, Subject: subject, Finding: f})
			case "sarif":
				located = append(located, policy.Located{Finding: f, Kind: kind, Subject: subject, File: file, Line: line})
			default:
				where := file
				if line > 0 {
					where = fmt.Sprintf("%s:%d", file, line)
				}
				fmt.Fprintf(w, "%s: %s %s %s: %s\n", where, strings.ToUpper(f.Severity.String()), f.Rule, subject, f.Message)
			}
		}
	}
	var records, invalid, skipped int
	for _, name := range pos {
		var r io.Reader = e.stdin
		label := "stdin"
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				w.Flush()
				return fmt.Errorf("%w", err)
			}
			defer f.Close()
			r, label = f, name
		}
		dr := newDocReader(r, maxRecordSize)
		process := func(b []byte, at int) {
			rec, perr := policy.RecordJSON(b)
			if perr != nil {
				invalid++
				if invalid <= maxReported {
					e.errorf("policy check: %s:%d: not a JSON object: %v", label, at, strings.TrimPrefix(perr.Error(), "policy: record: "))
				}
				return
			}
			k := *kind
			if k == "" {
				k = policy.DetectKind(rec)
			}
			where := fmt.Sprintf("%s:%d: ", label, at)
			switch k {
			case "":
				skipped++
			case "domain":
				records++
				for _, l := range policy.Layers(rec) {
					emit(label, at, policy.KindScanLayer, l, run.evaluateAt(policy.KindScanLayer, l, where))
				}
			case "flows":
				records++
				for _, row := range policy.FlowRows(rec) {
					emit(label, at, policy.KindFlowGroup, row, run.evaluateAt(policy.KindFlowGroup, row, where))
				}
			default:
				records++
				emit(label, at, k, rec, run.evaluateAt(k, rec, where))
			}
		}
		for {
			if err := e.ctx.Err(); err != nil {
				w.Flush()
				return err
			}
			b, at, err := dr.next()
			var long *longError
			switch {
			case err == nil:
				process(b, at)
				continue
			case errors.As(err, &long):
				invalid++
				if invalid <= maxReported {
					e.errorf("policy check: %s:%d: %v", label, at, err)
				}
				continue
			case !errors.Is(err, io.EOF):
				w.Flush()
				return fmt.Errorf("read %s: %w", label, err)
			}
			break
		}
	}
	if invalid > maxReported {
		e.errorf("policy check: %d more invalid records not shown", invalid-maxReported)
	}
	for _, pop := range run.populations(strings.Join(pos, ", ")) {
		emit(strings.Join(pos, ", "), 0, policy.KindPopulation, pop.rec, pop.findings)
	}
	if *format == "sarif" {
		if err := policy.WriteSARIF(w, sarifTool(), set.Rules(), located); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	msg := fmt.Sprintf("policy check: %d record%s, %s", records, plural(records), run.summary())
	if skipped > 0 {
		msg += fmt.Sprintf("; %d record%s of unknown kind or errors skipped", skipped, plural(skipped))
	}
	if invalid > 0 {
		msg += fmt.Sprintf("; %d invalid line%s", invalid, plural(invalid))
	}
	e.errorf("%s", msg)
	if err := run.exit(e, "policy check"); err != nil {
		return err
	}
	if invalid > 0 {
		return &exitError{exitInvalid}
	}
	return nil
}

// ipFormat applies --format to the output mode of "sovmap ip"; explicit is
// whether --json or --brief was given.
func ipFormat(mode ipOutput, format string, explicit bool, pf *policyFlags) (ipOutput, error) {
	want := map[string]ipOutput{"text": outBlock, "brief": outBrief, "json": outJSON, "sarif": outSARIF}
	if format != "" {
		m, ok := want[format]
		if !ok {
			return mode, usagef("--format %q: want text, brief, json or sarif", format)
		}
		if explicit && m != mode {
			return mode, usagef("--format %s contradicts --json or --brief", format)
		}
		mode = m
	}
	if mode == outSARIF && len(pf.names) == 0 {
		return mode, usagef("--format sarif needs --policy (SARIF carries findings)")
	}
	return mode, nil
}
