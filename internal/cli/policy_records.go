package cli

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/sovmap/sovmap/internal/policy"
)

// recordPolicy applies --policy to the records that scan and flows write:
// a scan record is checked layer by layer, a flows summary group by group.
// Findings join JSON records as a "findings" array, follow text rows, or are
// kept for a SARIF log written at the end.
type recordPolicy struct {
	run     *policyRun
	sarif   bool
	located []policy.Located
}

// check evaluates one record given as JSON and returns its findings. Line
// is the record's place in the output, for SARIF.
func (rp *recordPolicy) check(b []byte, file string, line int) ([]policy.Finding, error) {
	rec, err := policy.RecordJSON(b)
	if err != nil {
		return nil, err
	}
	var all []policy.Finding
	add := func(kind string, r map[string]any) {
		fs := rp.run.evaluate(kind, r)
		if rp.sarif {
			subject := policy.Subject(kind, r)
			for _, f := range fs {
				rp.located = append(rp.located, policy.Located{Finding: f, Kind: kind, Subject: subject, File: file, Line: line})
			}
		}
		all = append(all, fs...)
	}
	switch policy.DetectKind(rec) {
	case "domain":
		for _, l := range policy.Layers(rec) {
			add(policy.KindScanLayer, l)
		}
	case "flows":
		for _, row := range policy.FlowRows(rec) {
			add(policy.KindFlowGroup, row)
		}
	}
	return all, nil
}

// withFindings returns a JSON object with the findings added as its last
// field; b must end with '}'.
func withFindings(b []byte, fs []policy.Finding) []byte {
	if len(fs) == 0 {
		return b
	}
	b = bytes.TrimRight(b, " \n")
	b = append(b[:len(b)-1], `,"findings":`...)
	b = appendFindings(b, fs)
	return append(b, '}')
}

// finish evaluates the population rules over what was seen, writes the SARIF
// log when asked for, reports the findings on stderr and returns the exit
// error of --fail-on.
func (rp *recordPolicy) finish(e *env, w *bufio.Writer, cmd, name string) error {
	for _, pop := range rp.run.populations(name) {
		if rp.sarif {
			subject := policy.Subject(policy.KindPopulation, pop.rec)
			for _, f := range pop.findings {
				rp.located = append(rp.located, policy.Located{Finding: f, Kind: policy.KindPopulation, Subject: subject, File: name})
			}
			continue
		}
		for _, f := range pop.findings {
			fmt.Fprintf(w, "population %s: %s %s: %s\n", pop.name, f.Severity, f.Rule, f.Message)
		}
	}
	if rp.sarif {
		if err := policy.WriteSARIF(w, sarifTool(), rp.run.set.Rules(), rp.located); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	e.errorf("%s: %s", cmd, rp.run.summary())
	return rp.run.exit(e, cmd)
}
