package policy

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds the policy parser arbitrary files: it must not panic, and a
// policy it accepts must be consistent (unique rule IDs, a source for every
// rule) and, when small, compile or fail with an error, never panic. The
// built-in packs are parsed by the tests; seeding with them would make the
// fuzzer spend its time minimising long inputs.
func FuzzParse(f *testing.F) {
	f.Add(okRule)
	f.Add("rules: [")
	f.Add("rules:\n  - id: x\n    expr: ${\n")
	f.Add("rules:\n  - {id: a, title: t, severity: low, applies_to: [ip], expr: 'r.a ==', message: '${', source: {title: t, url: 'https://x', date: 2024-01-01}}\n")
	f.Add("rules:\n  - &a {id: a}\n  - *a\n")
	f.Add("policy: x\nparams: {a: [1, {b: 2}]}\nrules:\n  - {id: a, title: t, severity: low, applies_to: [ip], expr: 'params.a[1].b == 2', message: '${params.a}', source: {title: t, url: 'https://x', date: 2024-01-01}}\n")
	// Deep CEL: refused for its cost (nine nested all, seven nested map in
	// a message), or evaluated under the limits.
	rule := func(expr, message string) string {
		return "rules:\n  - {id: a, title: t, severity: low, applies_to: [ip], expr: '" + expr + "', message: '" + message + "', source: {title: t, url: 'https://x', date: 2024-01-01}}\n"
	}
	f.Add(rule(nested("all", 9, "true"), "x"))
	f.Add(rule("true", "${"+nested("map", 7, "v6")+"}"))
	f.Add(rule(nested("exists", 3, "v2 == 10"), "${"+nested("map", 3, "v2")+"}"))
	f.Add(rule(`r.ip.split(".").exists(a, r.ip.split(".").exists(b, a + b == r.ip))`, `${r.ip.replace(".", r.ip)}`))
	env := testEnv()
	f.Fuzz(func(t *testing.T, src string) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkPolicy(t, env, src)
		}()
		select {
		case <-done:
		case <-time.After(fuzzTimeout):
			t.Fatalf("input took over %v: %q", fuzzTimeout, src)
		}
	})
}

// fuzzTimeout bounds the time of one input of FuzzParse: a detector of
// hangs. A policy that compiles runs each expression under MaxCost, a
// fraction of a second.
const fuzzTimeout = 5 * time.Second

// checkPolicy is the body of FuzzParse. It runs in its own goroutine, so it
// reports with t.Errorf.
func checkPolicy(t *testing.T, env Env, src string) {
	p, err := Parse("fuzz.yaml", strings.NewReader(src))
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, r := range p.Rules {
		if seen[r.ID] {
			t.Errorf("duplicate rule %s accepted", r.ID)
			return
		}
		seen[r.ID] = true
		if r.Source.URL == "" || r.Title == "" || len(r.AppliesTo) == 0 {
			t.Errorf("rule %s accepted without source, title or kinds", r.ID)
			return
		}
	}
	if len(src) > 1024 {
		return // compiling is checked on small policies: it keeps the fuzzer fast
	}
	set, err := Compile(env, p)
	if err != nil {
		return
	}
	rec := map[string]any{"ip": "192.0.2.1", "control": map[string]any{"country": "CN"}}
	for _, k := range Kinds {
		set.Evaluate(k, rec)
	}
}

// FuzzParseMessage checks that message templates never panic the splitter
// and that the parts rebuild the text.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{"${r.ip} x $$ ${ {'a':'}'} }", "plain", "$", "${", `${"}"}`, "${" + nested("map", 7, "{'}': v6}") + "}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := parseMessage(s)
		if err != nil {
			return
		}
		for _, p := range parts {
			if p.expr != "" && s[p.offset:p.offset+len(p.expr)] != p.expr {
				t.Fatalf("parseMessage(%q): part %q not at offset %d", s, p.expr, p.offset)
			}
		}
	})
}
