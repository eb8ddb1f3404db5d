package policyrun

import (
	"errors"
	"fmt"

	"github.com/sovmap/sovmap/internal/policy"
)

// MaxReported is how many problems of a kind a command reports one by one
// (rule evaluations stopped by a limit, invalid records); it counts the
// others.
const MaxReported = 10

// A Run evaluates the records of one command against a compiled set of
// policies. It counts the findings by severity, adds each record to the
// population of its kind when population rules are loaded, and keeps the
// rule evaluations that a limit stopped: the batch goes on, such a rule
// counts as not broken by its record, and the command reports the stops
// and fails. Other evaluation errors (a field the record lacks) are the
// rule's business, as in [policy.Set.Evaluate].
type Run struct {
	// Warn, when set, is told at once of each of the first MaxReported
	// evaluations stopped by a limit; else they are kept for TakeNotes.
	Warn func(msg string)

	set     *policy.Set
	failOn  policy.Severity
	counts  [policy.SeverityCritical + 1]int
	pops    map[string]*policy.Population // by record kind, when population rules are loaded
	limited int
	notes   []string
	located []policy.Located
}

// New returns a run of the set. FailOn is the severity from which findings
// fail the command ([Run.Failed]); SeverityNone for never.
func New(set *policy.Set, failOn policy.Severity) *Run {
	r := &Run{set: set, failOn: failOn}
	if set.Applies(policy.KindPopulation) {
		r.pops = map[string]*policy.Population{}
	}
	return r
}

// Set returns the policies the run evaluates.
func (r *Run) Set() *policy.Set { return r.set }

// FailOn returns the severity from which findings fail the command.
func (r *Run) FailOn() policy.Severity { return r.failOn }

// Evaluate returns the findings of a record of the kind and counts them;
// the record joins the population of its kind. Where is the record's place
// in the input ("file:line: ", or ""), which starts the report of an
// evaluation a limit stopped.
func (r *Run) Evaluate(kind string, rec map[string]any, where string) []policy.Finding {
	r.addToPopulation(kind, rec)
	fs := r.check(kind, rec, func() string {
		name := policy.Subject(kind, rec)
		if name == "" {
			name = kind + " record"
		}
		return where + name
	})
	r.count(fs)
	return fs
}

// A Checked is a record that the rules evaluated, with its findings.
type Checked struct {
	Kind     string
	Record   map[string]any
	Findings []policy.Finding
}

// Subject names what the record is about ([policy.Subject]).
func (c Checked) Subject() string { return policy.Subject(c.Kind, c.Record) }

// Check evaluates the records that rules see in a record of the kind, as
// [policy.DetectKind] tells it: each layer of a scan record ("domain"),
// each row of a flows summary ("flows"), else the record itself. It
// evaluates nothing for a record of no kind (""). Where is as for
// [Run.Evaluate].
func (r *Run) Check(kind string, rec map[string]any, where string) []Checked {
	var recs []map[string]any
	switch kind {
	case "":
		return nil
	case "domain":
		kind, recs = policy.KindScanLayer, policy.Layers(rec)
	case "flows":
		kind, recs = policy.KindFlowGroup, policy.FlowRows(rec)
	default:
		recs = []map[string]any{rec}
	}
	out := make([]Checked, len(recs))
	for i, x := range recs {
		out[i] = Checked{kind, x, r.Evaluate(kind, x, where)}
	}
	return out
}

// check evaluates a record, named in reports by name(), and keeps the
// evaluations a limit stopped.
func (r *Run) check(kind string, rec map[string]any, name func() string) []policy.Finding {
	fs, errs := r.set.Check(kind, rec)
	for _, err := range errs {
		if !errors.Is(err, policy.ErrLimit) {
			continue
		}
		r.limited++
		if r.limited > MaxReported {
			continue
		}
		msg := fmt.Sprintf("%s: %v", name(), err)
		if r.Warn != nil {
			r.Warn(msg)
		} else {
			r.notes = append(r.notes, msg)
		}
	}
	return fs
}

func (r *Run) count(fs []policy.Finding) {
	for _, f := range fs {
		if f.Severity >= 0 && int(f.Severity) < len(r.counts) {
			r.counts[f.Severity]++
		}
	}
}

// addToPopulation counts a record in the population of its kind, when
// population rules are loaded.
func (r *Run) addToPopulation(kind string, rec map[string]any) {
	if r.pops == nil || kind == policy.KindPopulation {
		return
	}
	r.addTally(kind, policy.TallyOf(kind, rec))
}

func (r *Run) addTally(kind string, t policy.Tally) {
	p := r.pops[kind]
	if p == nil {
		p = policy.NewPopulation("")
		r.pops[kind] = p
	}
	p.AddTally(t)
}

// A Population is the summary of the records of one kind that a run saw,
// and its findings.
type Population struct {
	Name     string // the name given, with the kind when the run saw several
	Record   map[string]any
	Findings []policy.Finding
}

// Populations evaluates the summaries of the records seen, one per kind of
// record, named after name, and counts their findings; nothing when no
// population rule is loaded.
func (r *Run) Populations(name string) []Population {
	var out []Population
	for _, kind := range policy.Kinds {
		p := r.pops[kind]
		if p == nil || p.Total() == 0 {
			continue
		}
		n := name
		if len(r.pops) > 1 {
			n = fmt.Sprintf("%s (%s records)", name, kind)
		}
		rec := p.Record()
		rec["population"] = n
		fs := r.check(policy.KindPopulation, rec, func() string { return "population " + n })
		r.count(fs)
		out = append(out, Population{n, rec, fs})
	}
	return out
}

// Count returns the number of findings of a severity so far.
func (r *Run) Count(s policy.Severity) int {
	if s < 0 || int(s) >= len(r.counts) {
		return 0
	}
	return r.counts[s]
}

// Failed returns the number of findings at or above the run's fail-on
// severity; 0 when that is SeverityNone.
func (r *Run) Failed() int {
	if r.failOn == policy.SeverityNone {
		return 0
	}
	n := 0
	for s := r.failOn; s <= policy.SeverityCritical; s++ {
		n += r.counts[s]
	}
	return n
}

// Limited returns the number of rule evaluations that a limit stopped.
func (r *Run) Limited() int { return r.limited }

// TakeNotes returns the reports of the evaluations a limit stopped that
// Warn did not take (at most MaxReported, each "record: rule ID: part:
// error"), and forgets them.
func (r *Run) TakeNotes() []string {
	notes := r.notes
	r.notes = nil
	return notes
}

// Locate keeps the findings of a record for a SARIF log: kind and subject
// say what the record is, file and line where it came from ("" and 0 when
// not from a file). Commands that write no SARIF log do not call it.
func (r *Run) Locate(kind, subject, file string, line int, fs []policy.Finding) {
	for _, f := range fs {
		r.located = append(r.located, policy.Located{Finding: f, Kind: kind, Subject: subject, File: file, Line: line})
	}
}

// Located returns the findings kept for the SARIF log, in the order found.
func (r *Run) Located() []policy.Located { return r.located }
