package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// nested returns n comprehensions fn over lists.range(10) (0 to 9), nested,
// around body.
func nested(fn string, n int, body string) string {
	s := body
	for i := n - 1; i >= 0; i-- {
		s = fmt.Sprintf("lists.range(10).%s(v%d, %s)", fn, i, s)
	}
	return s
}

// costRule is a policy file with one rule of kinds ip and scan-layer, whose
// expr (at line 7, column 12) and message (at line 8, column 15) are given.
func costRule(expr, message string) string {
	return `policy: costly
rules:
  - id: costly/x
    title: X
    severity: low
    applies_to: [ip, scan-layer]
    expr: '` + expr + `'
    message: '` + message + `'
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`
}

// TestCostlyRulesRefused checks that a rule whose estimated cost is over
// MaxCost is refused when it compiles, with the file, line and column of the
// expression, whether the cost is in the data (nested comprehensions over
// constants) or depends on the record.
func TestCostlyRulesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, message string
		want                string
	}{
		{"nine nested all", nested("all", 9, "true"), "x", "policy deep.yaml:7:12: rule costly/x: expr: too costly: estimated worst-case cost 5777777772 is over the limit of 1000000 (policy.MaxCost)"},
		{"nine nested all over a list", strings.ReplaceAll(nested("all", 9, "true"), "lists.range(10)", "[0,1,2,3,4,5,6,7,8,9]"), "x", "deep.yaml:7:12: rule costly/x: expr: too costly: estimated worst-case cost 4555555551 is over"},
		{"seven nested map", "size(" + nested("map", 7, "v6") + ") > 0", "x", "deep.yaml:7:12: rule costly/x: expr: too costly: estimated worst-case cost 178888874 is over"},
		{"in a message", "true", "x ${" + nested("map", 7, "v6") + "}", "deep.yaml:8:19: rule costly/x: message: too costly"},
		{"three nested loops over one list", "r.hosts.exists(h, r.hosts.exists(g, r.hosts.exists(k, g.x == h.x)))", "x", "deep.yaml:7:12: rule costly/x: expr: too costly"},
		{"unbounded range", "lists.range(r.n).exists(i, i == 7)", "x", "expr: too costly: estimated worst-case cost unbounded"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, "deep.yaml", costRule(test.expr, test.message))
			_, err := Compile(testEnv(), p)
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Fatalf("Compile error = %v, want %q", err, test.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "deep.yaml" || pe.Line == 0 {
				t.Errorf("error %#v: want an *Error with file and line", err)
			}
		})
	}
}

// TestRealisticRulesLoad checks that rules that read lists of the record,
// even nested ones, stay well under MaxCost.
func TestRealisticRulesLoad(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{
		`r.evidence.exists(e, e.method == "asn" && e.source.startsWith("ip-location"))`,
		`r.hosts.exists(h, h.addresses.exists(a, has(a.control) && in_group(a.control.country, "foreign-adversary-us") && !(a.provider.id in ["ovhcloud", "hetzner"])))`,
		`r.hosts.exists(h, h.addresses.exists(a, a.evidence.exists(e, e.method == "asn")))`,
		`r.hosts.exists(h, r.hosts.exists(g, g.name == h.name + "." && g != h))`,
		`r.providers.filter(p, double(p.share) > 0.1).size() > 3`,
		`r.as_name.lowerAscii().matches("alibaba|tencent|huawei")`,
		`operators(r).exists(o, chain(o).exists(c, c in ["alibaba-group"]))`,
		`r.hosts.map(h, h.hostname).join(",").size() > 10`,
		nested("exists", 4, "v3 == 7"),
	} {
		p := mustParse(t, "ok.yaml", costRule(expr, "${r.ip}"))
		s, err := Compile(testEnv(), p)
		if err != nil {
			t.Errorf("Compile(%s): %v", expr, err)
			continue
		}
		if est := s.rules[0].prg.est; est > MaxCost/5 {
			t.Errorf("%s: estimated cost %d, want at most MaxCost/5", expr, est)
		}
	}
}

// TestBuiltinCosts checks that the built-in rules are far under MaxCost, and
// that the rules of ip records, evaluated for every route of "sovmap ip",
// have a cost that does not depend on the record: they run without
// tracking.
func TestBuiltinCosts(t *testing.T) {
	t.Parallel()
	set := allPacks(t)
	for _, c := range set.rules {
		progs := map[string]program{"expr": c.prg}
		for i, m := range c.msg {
			if m.prg.prg != nil {
				progs[fmt.Sprintf("message part %d", i)] = m.prg
			}
		}
		for _, e := range c.evidence {
			progs["evidence."+e.name] = e.prg
		}
		for part, p := range progs {
			if p.est > MaxCost/20 {
				t.Errorf("%s: %s: estimated cost %d, want at most MaxCost/20", c.ID, part, p.est)
			}
			if c.AppliesTo[0] == KindIP && p.limited {
				t.Errorf("%s: %s: evaluated under limits, want a cost bounded at compile time", c.ID, part)
			}
		}
	}
}

// hosts returns a scan-layer record of n hosts named h0, h1, ….
func hosts(n int) map[string]any {
	hs := make([]any, n)
	for i := range hs {
		hs[i] = map[string]any{"name": fmt.Sprintf("h%d", i)}
	}
	return map[string]any{"domain": "example.org", "layer": "dns", "hosts": hs}
}

// TestCostLimitAtRuntime checks that a rule whose estimate passes but whose
// cost grows with the record (every pair of hosts) is stopped on a large
// record with an error wrapping ErrLimit, while the other rules of the
// record and the next records are evaluated.
func TestCostLimitAtRuntime(t *testing.T) {
	t.Parallel()
	src := `
rules:
  - id: t/pairs
    title: Two hosts whose names differ by a dot
    severity: low
    applies_to: [scan-layer]
    expr: r.hosts.exists(h, r.hosts.exists(g, g.name == h.name + "."))
    message: a pair in ${r.domain}
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
  - id: t/dns
    title: DNS layer
    severity: info
    applies_to: [scan-layer]
    expr: r.layer == "dns"
    message: dns of ${r.domain}
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`
	set, err := Compile(testEnv(), mustParse(t, "pairs.yaml", src))
	if err != nil {
		t.Fatal(err)
	}
	small := hosts(3)
	small["hosts"] = append(small["hosts"].([]any), map[string]any{"name": "h1."})
	rules := func(fs []Finding) string {
		var ids []string
		for _, f := range fs {
			ids = append(ids, f.Rule)
		}
		return strings.Join(ids, ",")
	}
	within(t, time.Minute, func() {
		for i, rec := range []map[string]any{small, hosts(3000), small} {
			fs, errs := set.Check(KindScanLayer, rec)
			want, wantLimit := "t/pairs,t/dns", false
			if i == 1 {
				want, wantLimit = "t/dns", true
			}
			if got := rules(fs); got != want {
				t.Errorf("record %d: findings %s, want %s", i, got, want)
			}
			if wantLimit != (len(errs) == 1 && errors.Is(errs[0], ErrLimit)) {
				t.Errorf("record %d: errors %v, want an ErrLimit: %v", i, errs, wantLimit)
			}
			if wantLimit && len(errs) == 1 {
				var ee *EvalError
				if !errors.As(errs[0], &ee) || ee.Rule != "t/pairs" || ee.Part != "expr" {
					t.Errorf("record %d: error %#v, want an EvalError of t/pairs", i, errs[0])
				}
			}
		}
	})
}

// TestEvalTimeout checks that an evaluation that outlives the deadline is
// stopped with an error wrapping ErrLimit. The deadline is shortened to a
// nanosecond: it has passed when the first check comes.
func TestEvalTimeout(t *testing.T) {
	t.Parallel()
	set, err := Compile(testEnv(), mustParse(t, "t.yaml", costRule("r.hosts.exists(h, h.name == \"none\")", "x")))
	if err != nil {
		t.Fatal(err)
	}
	set.timeout = time.Nanosecond
	_, errs := set.Check(KindScanLayer, hosts(10*interruptEvery))
	if len(errs) != 1 || !errors.Is(errs[0], ErrLimit) || !strings.Contains(errs[0].Error(), "policy.EvalTimeout") {
		t.Errorf("errors %v, want one ErrLimit of the timeout", errs)
	}
	// A record that needs no check of the deadline is evaluated.
	if _, errs := set.Check(KindScanLayer, hosts(3)); len(errs) != 0 {
		t.Errorf("small record: errors %v", errs)
	}
}

// TestParamSizes checks that params are measured exactly: a loop over a
// long list of params costs more than one over a short one, and loops over
// params inside loops over the record are priced with both.
func TestParamSizes(t *testing.T) {
	t.Parallel()
	src := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf("p%d", i)
		}
		return "params: {ids: [" + strings.Join(items, ", ") + "]}\n" +
			costRule("r.hosts.exists(h, params.ids.exists(p, p == h.name))", "x")
	}
	set, err := Compile(testEnv(), mustParse(t, "few.yaml", src(10)))
	if err != nil {
		t.Fatal(err)
	}
	few := set.rules[0].prg.est
	_, err = Compile(testEnv(), mustParse(t, "many.yaml", src(5000)))
	if err == nil || !strings.Contains(err.Error(), "too costly") {
		t.Errorf("5000 params in a loop over the record: error %v, want too costly", err)
	}
	if few == 0 || few > MaxCost/50 {
		t.Errorf("10 params in a loop over the record: cost %d", few)
	}
}

// within runs f and fails the test if it has not returned after d: a
// detector of hangs, not a measure of time.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
	}
}
