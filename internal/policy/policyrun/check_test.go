package policyrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/policy"
)

func TestChecker(t *testing.T) {
	t.Parallel()
	set := compile(t, layerRules)
	in := `{"domain":"a.example","layers":{"dns":{"hosts":[]},"web":[]}}
nope
{"input":"x","error":"y"}

{
  "domain": "b.example", "layer": "mail"
}
` + `{"domain":"c.example","layer":"` + strings.Repeat("x", MaxRecordSize) + `"}
[1]
`
	var got, problems []string
	c := &Checker{
		Run: New(set, 0),
		Emit: func(file string, line int, x Checked) error {
			got = append(got, fmt.Sprintf("%s:%d %s %s %d", file, line, x.Kind, x.Subject(), len(x.Findings)))
			return nil
		},
		Problem: func(err error) { problems = append(problems, err.Error()) },
	}
	if err := c.Check(context.Background(), strings.NewReader(in), "in"); err != nil {
		t.Fatal(err)
	}
	want := []string{"in:1 scan-layer a.example dns 1", "in:1 scan-layer a.example web 1", "in:5 scan-layer b.example mail 1"}
	wantProblems := []string{
		"in:2: not a JSON object: invalid character 'o' in literal null (expecting 'u')",
		"in:8: line longer than 16 MiB, skipped",
		"in:9: not a JSON object: not a JSON object",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || strings.Join(problems, "\n") != strings.Join(wantProblems, "\n") {
		t.Errorf("emitted %q\nwant %q\nproblems %q\nwant %q", got, want, problems, wantProblems)
	}
	if c.Records != 2 || c.Skipped != 1 || c.Invalid != 3 {
		t.Errorf("Records, Skipped, Invalid = %d, %d, %d; want 2, 1, 3", c.Records, c.Skipped, c.Invalid)
	}

	// --kind: every record is of the kind given.
	c = &Checker{Run: New(set, 0), Kind: policy.KindScanLayer, Emit: func(string, int, Checked) error { return nil }}
	if err := c.Check(context.Background(), strings.NewReader(`{"input":"x"}`), "in"); err != nil || c.Records != 1 {
		t.Errorf("Kind: err %v, %d records, want 1", err, c.Records)
	}

	// An error of Emit or of the context stops the check.
	stop := errors.New("stop")
	c = &Checker{Run: New(set, 0), Emit: func(string, int, Checked) error { return stop }}
	if err := c.Check(context.Background(), strings.NewReader(in), "in"); err != stop {
		t.Errorf("Check with a failing Emit = %v, want %v", err, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Check(ctx, strings.NewReader(in), "in"); !errors.Is(err, context.Canceled) {
		t.Errorf("Check after cancel = %v, want context.Canceled", err)
	}
}
