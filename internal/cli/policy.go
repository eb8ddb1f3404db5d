package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/policy/policyrun"
	"github.com/sovmap/sovmap/internal/policy/policytest"
	"github.com/sovmap/sovmap/internal/render"
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

// policyRun is a run of policies over the records of a command
// (policyrun.Run), with what the command prints at its end: the summary of
// the findings, the evaluations stopped by a limit, the --fail-on failure,
// and the exit status they make.
type policyRun struct{ *policyrun.Run }

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
	return &policyRun{policyrun.New(set, failOn)}
}

// summary describes the findings by severity: "3 findings (1 high, 2 medium)".
func (pr *policyRun) summary() string {
	total := 0
	var parts []string
	for s := policy.SeverityCritical; s >= policy.SeverityInfo; s-- {
		if n := pr.Count(s); n > 0 {
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
	for _, msg := range pr.TakeNotes() {
		e.errorf("%s: %s", cmd, msg)
	}
	limited := pr.Limited()
	if limited > 0 {
		if n := limited - policyrun.MaxReported; n > 0 {
			e.errorf("%s: %d more rule evaluation%s stopped by a limit not shown", cmd, n, plural(n))
		}
		e.errorf("%s: %d rule evaluation%s stopped by a limit (docs/policy.md, Limits): such a rule counts as not broken by its record", cmd, limited, plural(limited))
	}
	if n := pr.Failed(); n > 0 {
		failOn := pr.FailOn()
		e.errorf("%s: %d finding%s at or above %s (--fail-on %s): %s", cmd, n, plural(n), failOn, failOn, pr.summary())
		return &exitError{exitInvalid}
	}
	if limited > 0 {
		return &exitError{exitInvalid}
	}
	return nil
}

// writeSARIF writes the SARIF log of the findings located in the run.
func (pr *policyRun) writeSARIF(w io.Writer) error {
	return policy.WriteSARIF(w, sarifTool(), pr.Set().Rules(), pr.Located())
}

// sarifTool describes sovmap for SARIF logs.
func sarifTool() policy.Tool {
	return policy.Tool{Name: "sovmap", Version: Version, InformationURI: "https://github.com/sovmap/sovmap"}
}

// ipPolicy is --policy of "sovmap ip": policyrun's evaluator of the
// engine's records, and the end of the output (population findings and the
// SARIF log).
type ipPolicy struct {
	ip  *policyrun.IP
	run *policyRun
}

func newIPPolicy(eng *attribution.Engine, run *policyRun, sarif bool) *ipPolicy {
	return &ipPolicy{policyrun.NewIP(eng, run.Run, sarif), run}
}

// writeFindingRows writes findings in the text block of a record, by the
// terminal rule of render: messages hold record fields.
func writeFindingRows(w io.Writer, fs []policy.Finding) {
	for i, f := range fs {
		k := ""
		if i == 0 {
			k = "findings"
		}
		render.Fprintf(w, "  %-13s %s %s: %s\n", k, strings.ToUpper(f.Severity.String()), f.Rule, f.Message)
		render.Fprintf(w, "  %-13s   source: %s (%s) %s\n", "", f.Source.Title, f.Source.Date, f.Source.URL)
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

// finish writes the population findings and the SARIF log of "sovmap ip".
func (ip *ipPolicy) finish(p *ipPrinter) error {
	for _, pop := range ip.run.Populations("the addresses given") {
		if len(pop.Findings) == 0 {
			continue
		}
		switch p.mode {
		case outJSON:
			line, err := json.Marshal(map[string]any{"population": pop.Record, "findings": pop.Findings})
			if err != nil {
				return err
			}
			p.w.Write(append(line, '\n'))
		case outSARIF:
			ip.run.Locate(policy.KindPopulation, pop.Name, "", 0, pop.Findings)
		case outBrief:
			fmt.Fprintf(p.w, "population\t%s\n", ruleList(pop.Findings))
		default:
			p.sep()
			fmt.Fprintf(p.w, "population of %v addresses\n", pop.Record["total"])
			writeFindingRows(p.w, pop.Findings)
		}
	}
	if p.mode == outSARIF {
		return ip.run.writeSARIF(p.w)
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
			if eng, _, err = df.engine(e); err != nil {
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

// checkFlags are the flags and files of "policy check".
type checkFlags struct {
	policies policyFlags
	format   string
	kind     string
	data     dataFlags
	files    []string
}

func parseCheckFlags(args []string) (*checkFlags, error) {
	fs := newFlags("policy check")
	var o checkFlags
	o.policies.register(fs)
	fs.StringVar(&o.format, "format", "text", "")
	fs.StringVar(&o.kind, "kind", "", "")
	fs.Var(&o.data.catalogs, "catalog", "")
	pos, err := parseFlags(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(o.policies.names) == 0:
		return nil, usagef("policy check needs --policy (a pack, all, or a file)")
	case !slices.Contains([]string{"text", "json", "sarif"}, o.format):
		return nil, usagef("--format %q: want text, json or sarif", o.format)
	case o.kind != "" && !slices.Contains(policy.Kinds, o.kind):
		return nil, usagef("--kind %q: want one of %s", o.kind, strings.Join(policy.Kinds, ", "))
	}
	o.files = pos
	if len(o.files) == 0 {
		o.files = []string{"-"}
	}
	return &o, nil
}

func runPolicyCheck(e *env, args []string) error {
	o, err := parseCheckFlags(args)
	if err != nil {
		return err
	}
	failOn, err := o.policies.failLevel()
	if err != nil {
		return err
	}
	cat, err := loadCatalog(&o.data)
	if err != nil {
		return err
	}
	set, err := compilePolicies(o.policies.names, "", cat)
	if err != nil {
		return reportPolicyError(e, "policy check", err)
	}
	run := newPolicyRun(set, failOn)
	run.Warn = func(msg string) { e.errorf("policy check: %s", msg) }
	w := bufio.NewWriterSize(e.stdout, 64*1024)
	out := &checkOutput{w: w, enc: json.NewEncoder(w), format: o.format, run: run}
	c := &policyrun.Checker{Run: run.Run, Kind: o.kind, Emit: out.emit}
	c.Problem = func(err error) {
		if c.Invalid <= policyrun.MaxReported {
			e.errorf("policy check: %v", err)
		}
	}
	for _, name := range o.files {
		if err := checkFile(e, c, name); err != nil {
			w.Flush()
			return err
		}
	}
	if c.Invalid > policyrun.MaxReported {
		e.errorf("policy check: %d more invalid records not shown", c.Invalid-policyrun.MaxReported)
	}
	if err := out.finish(strings.Join(o.files, ", ")); err != nil {
		return err
	}
	e.errorf("%s", checkSummary(c, run))
	if err := run.exit(e, "policy check"); err != nil {
		return err
	}
	if c.Invalid > 0 {
		return &exitError{exitInvalid}
	}
	return nil
}

// checkFile checks the records of a file, "-" for standard input.
func checkFile(e *env, c *policyrun.Checker, name string) error {
	if name == "-" {
		return c.Check(e.ctx, e.stdin, "stdin")
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return c.Check(e.ctx, f, name)
}

// checkOut is a finding of "policy check --format json".
type checkOut struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	policy.Finding
}

// checkOutput writes the findings of "policy check" in its format.
type checkOutput struct {
	w      *bufio.Writer
	enc    *json.Encoder // on w
	format string
	run    *policyRun
}

// emit writes the findings of a record at file:line (line 0: not from a
// file's line).
func (o *checkOutput) emit(file string, line int, c policyrun.Checked) error {
	if len(c.Findings) == 0 {
		return nil
	}
	subject := c.Subject()
	switch o.format {
	case "json":
		for _, f := range c.Findings {
			if err := o.enc.Encode(checkOut{File: file, Line: line, Kind: c.Kind, Subject: subject, Finding: f}); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
	case "sarif":
		o.run.Locate(c.Kind, subject, file, line, c.Findings)
	default:
		where := file
		if line > 0 {
			where = fmt.Sprintf("%s:%d", file, line)
		}
		for _, f := range c.Findings {
			render.Fprintf(o.w, "%s: %s %s %s: %s\n", where, strings.ToUpper(f.Severity.String()), f.Rule, subject, f.Message)
		}
	}
	return nil
}

// finish writes the findings of the populations of the files, named name,
// and the SARIF log, and flushes the output.
func (o *checkOutput) finish(name string) error {
	for _, pop := range o.run.Populations(name) {
		if err := o.emit(name, 0, policyrun.Checked{Kind: policy.KindPopulation, Record: pop.Record, Findings: pop.Findings}); err != nil {
			return err
		}
	}
	if o.format == "sarif" {
		if err := o.run.writeSARIF(o.w); err != nil {
			return err
		}
	}
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// checkSummary is the last line of "policy check": the records, their
// findings, and the records skipped or invalid.
func checkSummary(c *policyrun.Checker, run *policyRun) string {
	msg := fmt.Sprintf("policy check: %d record%s, %s", c.Records, plural(c.Records), run.summary())
	if c.Skipped > 0 {
		msg += fmt.Sprintf("; %d record%s of unknown kind or errors skipped", c.Skipped, plural(c.Skipped))
	}
	if c.Invalid > 0 {
		msg += fmt.Sprintf("; %d invalid line%s", c.Invalid, plural(c.Invalid))
	}
	return msg
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
