package cli

import (
	"bufio"
	"fmt"

	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/render"
)

// recordPolicy applies --policy to the records that scan and flows write:
// a scan record is checked layer by layer, a flows summary group by group.
// Findings join JSON records as a "findings" array (withFindings), follow
// text rows, or are located for a SARIF log written at the end.
type recordPolicy struct {
	run   *policyRun
	sarif bool
}

// check evaluates one record given as JSON and returns its findings. File
// and line are the record's place in the output, for SARIF.
func (rp *recordPolicy) check(b []byte, file string, line int) ([]policy.Finding, error) {
	rec, err := policy.RecordJSON(b)
	if err != nil {
		return nil, err
	}
	var all []policy.Finding
	for _, c := range rp.run.Check(policy.DetectKind(rec), rec, "") {
		if rp.sarif {
			rp.run.Locate(c.Kind, c.Subject(), file, line, c.Findings)
		}
		all = append(all, c.Findings...)
	}
	return all, nil
}

// withFindings returns a JSON object with the findings added as its last
// field (policyrun.WithFindings).

// finish evaluates the population rules over what was seen, writes the SARIF
// log when asked for, reports the findings on stderr and returns the exit
// error of --fail-on.
func (rp *recordPolicy) finish(e *env, w *bufio.Writer, cmd, name string) error {
	for _, pop := range rp.run.Populations(name) {
		if rp.sarif {
			rp.run.Locate(policy.KindPopulation, policy.Subject(policy.KindPopulation, pop.Record), name, 0, pop.Findings)
			continue
		}
		for _, f := range pop.Findings {
			render.Fprintf(w, "population %s: %s %s: %s\n", pop.Name, f.Severity, f.Rule, f.Message)
		}
	}
	if rp.sarif {
		if err := rp.run.writeSARIF(w); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	e.errorf("%s: %s", cmd, rp.run.summary())
	return rp.run.exit(e, cmd)
}
