package flowtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// ParseAll runs a parser over text line by line and returns the records and
// the line errors, failing the test on an error that is not a
// *flowlog.LineError.
func ParseAll(t testing.TB, p flowlog.Parser, text string) ([]flowlog.Record, []*flowlog.LineError) {
	t.Helper()
	var recs []flowlog.Record
	var errs []*flowlog.LineError
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		var rec flowlog.Record
		ok, err := p.Parse([]byte(line), &rec)
		switch {
		case ok:
			recs = append(recs, rec)
		case err != nil:
			var le *flowlog.LineError
			if !errors.As(err, &le) {
				t.Fatalf("Parse(%q): %v is not a *LineError", line, err)
			}
			errs = append(errs, le)
		}
	}
	return recs, errs
}
