// Package policytest runs users' tests of their policies, in the spirit of
// "promtool test rules": a YAML file names the policies under test and lists
// cases, each a record (or an address for sovmap to attribute) and the
// findings the policies must give for it, no more and no fewer.
//
//	policies: [us-icts, ./ours.yaml]   # built-in packs or files, relative to this file
//	tests:
//	  - name: Alibaba's US region is controlled from China
//	    kind: ip                        # the default
//	    record: {ip: 47.88.1.1, control: {country: CN, basis: "…"}}
//	    want:
//	      - rule: us-icts/control
//	        severity: high              # optional
//	        contains: "controlled from CN"   # optional; or message: exact text
//	  - name: a German host breaks nothing
//	    record: {ip: 192.0.2.1, control: {country: DE, basis: "…"}}
//	    want: []
//
// Parsing and running are pure: the caller loads the policies and, for cases
// that give an address instead of a record, supplies the attribution.
package policytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sovmap/sovmap/internal/policy"
)

// A File is a parsed test file.
type File struct {
	Name     string
	Policies []string // built-in pack names or policy file paths
	Tests    []*Case
}

// A Case is one test: a record and the findings it must give.
type Case struct {
	Name   string
	Kind   string         // record kind; "ip" when not given
	Record map[string]any // the record, or nil when IP is given
	IP     string         // an address to attribute instead of a record
	Want   []Expect
	Line   int
}

// An Expect is a finding a case must give.
type Expect struct {
	Rule     string `yaml:"rule"`
	Severity string `yaml:"severity"` // optional
	Message  string `yaml:"message"`  // optional: the exact message
	Contains string `yaml:"contains"` // optional: a part of the message
}

type fileDoc struct {
	Policies []string  `yaml:"policies"`
	Tests    []caseDoc `yaml:"tests"`
}

type caseDoc struct {
	Name   string         `yaml:"name"`
	Kind   string         `yaml:"kind"`
	Record map[string]any `yaml:"record"`
	IP     string         `yaml:"ip"`
	Want   *[]Expect      `yaml:"want"`
}

// Parse reads a test file. Name is used in errors.
func Parse(name string, r io.Reader) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("policy test %s: %w", name, err)
	}
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("policy test %s: empty file", name)
		}
		return nil, fmt.Errorf("policy test %s: %w", name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("policy test %s: %w", name, err)
	}
	lines := caseLines(&root)
	f := &File{Name: name, Policies: doc.Policies}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("policy test %s:%d: %s", name, line, fmt.Sprintf(format, args...)))
	}
	if len(doc.Policies) == 0 {
		bad(1, "no policies: name the packs or files under test")
	}
	if len(doc.Tests) == 0 {
		bad(1, "no tests")
	}
	for i, cd := range doc.Tests {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		c := &Case{Name: cd.Name, Kind: cd.Kind, IP: cd.IP, Line: line}
		if c.Name == "" {
			c.Name = fmt.Sprintf("test %d", i+1)
		}
		if c.Kind == "" {
			c.Kind = policy.KindIP
		}
		if !slices.Contains(policy.Kinds, c.Kind) {
			bad(line, "%s: kind %q: want one of %s", c.Name, c.Kind, strings.Join(policy.Kinds, ", "))
		}
		switch {
		case cd.Record != nil && cd.IP != "":
			bad(line, "%s: give a record or an ip, not both", c.Name)
		case cd.Record != nil:
			rec, err := policy.Record(cd.Record)
			if err != nil {
				bad(line, "%s: record: %v", c.Name, err)
			}
			c.Record = rec
		case cd.IP != "":
			if c.Kind != policy.KindIP {
				bad(line, "%s: an ip case is of kind ip", c.Name)
			}
		default:
			bad(line, "%s: no record and no ip", c.Name)
		}
		if cd.Want == nil {
			bad(line, "%s: no want: list the expected findings, or want: [] for none", c.Name)
		} else {
			c.Want = *cd.Want
		}
		for _, w := range c.Want {
			if w.Rule == "" {
				bad(line, "%s: an expected finding without a rule", c.Name)
			}
			if w.Severity != "" {
				if _, err := policy.ParseSeverity(w.Severity); err != nil {
					bad(line, "%s: %v", c.Name, err)
				}
			}
		}
		f.Tests = append(f.Tests, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// caseLines returns the line of each item of "tests".
func caseLines(root *yaml.Node) []int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "tests" && n.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, it := range n.Content[i+1].Content {
				out = append(out, it.Line)
			}
			return out
		}
	}
	return nil
}

// A Resolver attributes an address for cases that give an ip: it returns the
// record that "sovmap ip --json" would print for it, in map form.
type Resolver func(ip string) (map[string]any, error)

// A Result is the outcome of one case.
type Result struct {
	Case       *Case
	Got        []policy.Finding
	Missing    []Expect         // wanted, not found
	Unexpected []policy.Finding // found, not wanted
	Mismatch   []string         // found, but severity or message differs
	Errors     []error          // rules that failed on the record, and resolver errors
}

// Pass reports whether the case passed. Rules that failed on the record do
// not fail a case by themselves, they are shown, except a rule stopped by a
// limit of evaluation (policy.ErrLimit).
func (r *Result) Pass() bool {
	return len(r.Missing) == 0 && len(r.Unexpected) == 0 && len(r.Mismatch) == 0 && !r.resolveFailed() && !r.limited()
}

// limited reports whether a rule was stopped by a limit on the record: what
// it would have found is unknown.
func (r *Result) limited() bool {
	for _, err := range r.Errors {
		if errors.Is(err, policy.ErrLimit) {
			return true
		}
	}
	return false
}

func (r *Result) resolveFailed() bool {
	return r.Case.Record == nil && r.Case.IP != "" && r.Got == nil && len(r.Errors) > 0 && errors.Is(r.Errors[0], errResolve)
}

var errResolve = errors.New("cannot attribute")

// Run runs every case of the file against the set.
func Run(f *File, set *policy.Set, resolve Resolver) []*Result {
	var out []*Result
	for _, c := range f.Tests {
		out = append(out, runCase(c, set, resolve))
	}
	return out
}

func runCase(c *Case, set *policy.Set, resolve Resolver) *Result {
	res := &Result{Case: c}
	rec := c.Record
	if rec == nil {
		if resolve == nil {
			res.Errors = append(res.Errors, fmt.Errorf("%w %s: no attribution available", errResolve, c.IP))
			return res
		}
		r, err := resolve(c.IP)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("%w %s: %v", errResolve, c.IP, err))
			return res
		}
		rec = r
	}
	got, errs := set.Check(c.Kind, rec)
	res.Got = got
	if res.Got == nil {
		res.Got = []policy.Finding{}
	}
	res.Errors = append(res.Errors, errs...)
	used := make([]bool, len(got))
	for _, w := range c.Want {
		found := -1
		for i, g := range got {
			if !used[i] && g.Rule == w.Rule {
				found = i
				break
			}
		}
		if found < 0 {
			res.Missing = append(res.Missing, w)
			continue
		}
		used[found] = true
		g := got[found]
		if w.Severity != "" && !strings.EqualFold(w.Severity, g.Severity.String()) {
			res.Mismatch = append(res.Mismatch, fmt.Sprintf("%s: severity %s, want %s", w.Rule, g.Severity, strings.ToLower(w.Severity)))
		}
		if w.Message != "" && w.Message != g.Message {
			res.Mismatch = append(res.Mismatch, fmt.Sprintf("%s: message\n\t    got:  %q\n\t    want: %q", w.Rule, g.Message, w.Message))
		}
		if w.Contains != "" && !strings.Contains(g.Message, w.Contains) {
			res.Mismatch = append(res.Mismatch, fmt.Sprintf("%s: message %q does not contain %q", w.Rule, g.Message, w.Contains))
		}
	}
	for i, g := range got {
		if !used[i] {
			res.Unexpected = append(res.Unexpected, g)
		}
	}
	return res
}

// Report writes the results as "go test" does, a diff for each failure, and
// returns the number of failed cases.
func Report(w io.Writer, file string, results []*Result, verbose bool) int {
	failed := 0
	for _, r := range results {
		where := fmt.Sprintf("%s:%d", file, r.Case.Line)
		if r.Pass() {
			if verbose {
				fmt.Fprintf(w, "--- PASS: %s (%s)\n", r.Case.Name, where)
				for _, g := range r.Got {
					fmt.Fprintf(w, "\t%s %s: %s\n", g.Severity, g.Rule, g.Message)
				}
			}
		} else {
			failed++
			fmt.Fprintf(w, "--- FAIL: %s (%s)\n", r.Case.Name, where)
			for _, m := range r.Missing {
				sev := ""
				if m.Severity != "" {
					sev = " (" + strings.ToLower(m.Severity) + ")"
				}
				fmt.Fprintf(w, "\t- %s%s: wanted, not found\n", m.Rule, sev)
			}
			for _, u := range r.Unexpected {
				fmt.Fprintf(w, "\t+ %s (%s): not wanted: %s\n", u.Rule, u.Severity, u.Message)
			}
			for _, m := range r.Mismatch {
				fmt.Fprintf(w, "\t~ %s\n", m)
			}
			if len(r.Got) > 0 && (len(r.Missing) > 0 || len(r.Mismatch) > 0) {
				var rules []string
				for _, g := range r.Got {
					rules = append(rules, g.Rule)
				}
				sort.Strings(rules)
				fmt.Fprintf(w, "\tgot: %s\n", strings.Join(rules, ", "))
			}
		}
		if !r.Pass() || verbose {
			for _, e := range r.Errors {
				fmt.Fprintf(w, "\tnote: %v\n", e)
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "FAIL\t%s\t%d of %d tests failed\n", file, failed, len(results))
	} else {
		fmt.Fprintf(w, "ok\t%s\t%d tests\n", file, len(results))
	}
	return failed
}
