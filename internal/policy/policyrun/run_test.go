package policyrun

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/policy"
)

// compile compiles rules given as the YAML of a policy file's rules list.
func compile(t *testing.T, rules string) *policy.Set {
	t.Helper()
	p, err := policy.Parse("t.yaml", strings.NewReader("rules:\n"+rules))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Compile(policy.Env{}, p)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

const layerRules = `  - id: t/pairs
    title: Two hosts whose names differ by a final dot
    severity: low
    applies_to: [scan-layer]
    expr: r.hosts.exists(h, r.hosts.exists(g, g.host == h.host + "."))
    message: pairs
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
  - id: t/layer
    title: A layer
    severity: info
    applies_to: [scan-layer]
    expr: "true"
    message: ${r.layer} layer
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`

// TestRunLimits checks that the rule evaluations stopped by a limit are
// counted, the first MaxReported kept with their record (or told to Warn),
// while the other rules and records are evaluated.
func TestRunLimits(t *testing.T) {
	t.Parallel()
	set := compile(t, layerRules)
	hosts := make([]any, 2000)
	for i := range hosts {
		hosts[i] = map[string]any{"host": fmt.Sprintf("h%d", i)}
	}
	var warned []string
	for _, warn := range []bool{false, true} {
		run := New(set, policy.SeverityLow)
		if warn {
			run.Warn = func(msg string) { warned = append(warned, msg) }
		}
		for i := range MaxReported + 2 {
			rec := map[string]any{"domain": fmt.Sprintf("d%d.example", i), "layer": "dns", "hosts": hosts}
			if fs := run.Evaluate(policy.KindScanLayer, rec, "f:1: "); len(fs) != 1 || fs[0].Rule != "t/layer" {
				t.Fatalf("record %d: findings %v, want t/layer", i, fs)
			}
		}
		notes := run.TakeNotes()
		if warn {
			notes, warned = warned, nil
			if n := len(run.TakeNotes()); n != 0 {
				t.Errorf("TakeNotes with Warn: %d notes, want none", n)
			}
		}
		// The cost limit or, on a slow machine (the race detector), the
		// deadline stops the rule first: either will do.
		first := regexp.MustCompile(`^f:1: d0\.example dns: rule t/pairs: expr: evaluation limit exceeded: (cost over 1000000 units \(policy\.MaxCost\)|took over 1s \(policy\.EvalTimeout\))$`)
		if run.Limited() != MaxReported+2 || len(notes) != MaxReported || !first.MatchString(notes[0]) {
			t.Errorf("warn %v: Limited() = %d, notes %q", warn, run.Limited(), notes)
		}
		if run.TakeNotes() != nil {
			t.Errorf("TakeNotes did not forget the notes")
		}
		if run.Count(policy.SeverityInfo) != MaxReported+2 || run.Count(policy.SeverityLow) != 0 || run.Failed() != 0 {
			t.Errorf("counts: info %d, low %d, failed %d", run.Count(policy.SeverityInfo), run.Count(policy.SeverityLow), run.Failed())
		}
	}
}

// TestRunCheck checks how records are split into the records rules see.
func TestRunCheck(t *testing.T) {
	t.Parallel()
	set := compile(t, layerRules+`  - id: t/flow
    title: A flow group
    severity: high
    applies_to: [flow-group]
    expr: r.bytes > 10
    message: ${r.by} ${r.key}
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`)
	tests := []struct {
		name, kind string
		rec        map[string]any
		want       []string // "kind subject: rules"
	}{
		{"scan record", "domain", map[string]any{"domain": "a.example", "layers": map[string]any{"web": []any{}, "dns": map[string]any{"hosts": []any{}}}},
			[]string{"scan-layer a.example dns: t/layer", "scan-layer a.example web: t/layer"}},
		{"flows summary", "flows", map[string]any{"groups": []any{map[string]any{"by": "control", "rows": []any{map[string]any{"key": "CN", "bytes": int64(50)}, map[string]any{"key": "FR", "bytes": int64(5)}}}}},
			[]string{"flow-group control CN: t/flow", "flow-group control FR: "}},
		{"layer", policy.KindScanLayer, map[string]any{"domain": "b.example", "layer": "mail"}, []string{"scan-layer b.example mail: t/layer"}},
		{"no kind", "", map[string]any{"input": "x", "error": "y"}, nil},
	}
	for _, test := range tests {
		run := New(set, policy.SeverityHigh)
		var got []string
		for _, c := range run.Check(test.kind, test.rec, "") {
			var rules []string
			for _, f := range c.Findings {
				rules = append(rules, f.Rule)
			}
			got = append(got, fmt.Sprintf("%s %s: %s", c.Kind, c.Subject(), strings.Join(rules, ",")))
		}
		if strings.Join(got, "\n") != strings.Join(test.want, "\n") {
			t.Errorf("%s: Check = %q, want %q", test.name, got, test.want)
		}
	}
}

// TestRunPopulations checks that records join the population of their kind
// and that population rules see one summary per kind.
func TestRunPopulations(t *testing.T) {
	t.Parallel()
	set := compile(t, `  - id: t/pop
    title: Many records
    severity: medium
    applies_to: [population]
    expr: r.total >= 2.0
    message: ${r.population}
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`)
	run := New(set, policy.SeverityMedium)
	for _, ip := range []string{"192.0.2.1", "192.0.2.2"} {
		run.Evaluate(policy.KindIP, map[string]any{"ip": ip, "provider": map[string]any{"id": "p", "name": "P"}}, "")
	}
	pops := run.Populations("in")
	if len(pops) != 1 || pops[0].Name != "in" || len(pops[0].Findings) != 1 || pops[0].Findings[0].Message != "in" || run.Failed() != 1 {
		t.Fatalf("Populations = %+v, Failed() = %d", pops, run.Failed())
	}
	run.Evaluate(policy.KindScanLayer, map[string]any{"domain": "a.example", "layer": "dns"}, "")
	if pops := run.Populations("in"); len(pops) != 2 || pops[0].Name != "in (ip records)" || pops[1].Name != "in (scan-layer records)" {
		t.Errorf("Populations of two kinds = %+v", pops)
	}
}
