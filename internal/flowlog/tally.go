package flowlog

import (
	"cmp"
	"slices"
)

// DefaultPositions is how many positions a [Tally] keeps per reason by
// default.
const DefaultPositions = 5

// A Tally accounts for the lines of a run: how many were read, gave
// records, were skipped or ignored, and why, with the first positions of
// each reason. The zero value is ready to use.
type Tally struct {
	// Positions is how many positions to keep per reason; 0 means
	// DefaultPositions.
	Positions int

	files   []*FileStats
	skips   map[string]*Reason
	ignores map[string]*Reason
}

// FileStats counts the lines of one input. Scanners update it.
type FileStats struct {
	Name    string `json:"name"`
	Format  string `json:"format,omitempty"` // the detected format, "" if none
	Lines   int64  `json:"lines"`
	Records int64  `json:"records"`
	Skipped int64  `json:"skipped"`
	Ignored int64  `json:"ignored"`
}

// A Reason counts the lines skipped or ignored for one reason.
type Reason struct {
	Reason string     `json:"reason"`
	Count  int64      `json:"count"`
	First  []Position `json:"first"` // the first few, in input order
}

// A Position is one line of one input.
type Position struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Detail string `json:"detail,omitempty"`
}

// Accounting is the account of a run's input, the form summaries carry.
type Accounting struct {
	Files   []FileStats `json:"files"`
	Lines   int64       `json:"lines"`
	Records int64       `json:"records"`
	Skipped int64       `json:"skipped"`
	Ignored int64       `json:"ignored"`
	Skips   []Reason    `json:"skips,omitempty"`   // by count, largest first
	Ignores []Reason    `json:"ignores,omitempty"` // by count, largest first
}

// File starts the account of an input and returns its counters.
func (t *Tally) File(name, format string) *FileStats {
	f := &FileStats{Name: name, Format: format}
	t.files = append(t.files, f)
	return f
}

// Skip records that line of file f gave no record, for the reason err
// gives. An error marked Ignored counts as ignored, others as skipped.
func (t *Tally) Skip(f *FileStats, line int64, err *LineError) {
	m := &t.skips
	if err.Ignored {
		f.Ignored++
		m = &t.ignores
	} else {
		f.Skipped++
	}
	if *m == nil {
		*m = make(map[string]*Reason)
	}
	r := (*m)[err.Reason]
	if r == nil {
		r = &Reason{Reason: err.Reason}
		(*m)[err.Reason] = r
	}
	r.Count++
	keep := t.Positions
	if keep == 0 {
		keep = DefaultPositions
	}
	if len(r.First) < keep {
		r.First = append(r.First, Position{File: f.Name, Line: line, Detail: err.Detail})
	}
}

// Accounting returns the account so far.
func (t *Tally) Accounting() Accounting {
	var a Accounting
	a.Files = make([]FileStats, 0, len(t.files))
	for _, f := range t.files {
		a.Files = append(a.Files, *f)
		a.Lines += f.Lines
		a.Records += f.Records
		a.Skipped += f.Skipped
		a.Ignored += f.Ignored
	}
	a.Skips = sortedReasons(t.skips)
	a.Ignores = sortedReasons(t.ignores)
	return a
}

func sortedReasons(m map[string]*Reason) []Reason {
	if len(m) == 0 {
		return nil
	}
	out := make([]Reason, 0, len(m))
	for _, r := range m {
		c := *r
		c.First = slices.Clone(r.First)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Reason) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Reason, b.Reason)
	})
	return out
}

// AddFile adds the account of one input read in parts to f, a file of t:
// the lines, records, skips and ignores of part, a Tally that read a part
// of the input starting after line base (its line numbers count from
// there). Parts must be added in input order, so that each reason keeps
// its first positions.
func (t *Tally) AddFile(f *FileStats, part *Tally, base int64) {
	for _, pf := range part.files {
		f.Lines += pf.Lines
		f.Records += pf.Records
		f.Skipped += pf.Skipped
		f.Ignored += pf.Ignored
	}
	keep := t.Positions
	if keep == 0 {
		keep = DefaultPositions
	}
	merge := func(dst *map[string]*Reason, src map[string]*Reason) {
		for name, pr := range src {
			if *dst == nil {
				*dst = make(map[string]*Reason)
			}
			r := (*dst)[name]
			if r == nil {
				r = &Reason{Reason: name}
				(*dst)[name] = r
			}
			r.Count += pr.Count
			for _, p := range pr.First {
				if len(r.First) >= keep {
					break
				}
				r.First = append(r.First, Position{File: f.Name, Line: base + p.Line, Detail: p.Detail})
			}
		}
	}
	merge(&t.skips, part.skips)
	merge(&t.ignores, part.ignores)
}

// Lines returns the number of lines read so far, in all inputs.
func (t *Tally) Lines() int64 {
	var n int64
	for _, f := range t.files {
		n += f.Lines
	}
	return n
}
