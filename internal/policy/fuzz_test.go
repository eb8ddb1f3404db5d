package policy

import (
	"fmt"
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
	env := testEnv()
	f.Fuzz(func(t *testing.T, src string) {
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				panic(fmt.Sprintf("slow input %q", src))
			}
		}()
		defer close(done)
		p, err := Parse("fuzz.yaml", strings.NewReader(src))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range p.Rules {
			if seen[r.ID] {
				t.Fatalf("duplicate rule %s accepted", r.ID)
			}
			seen[r.ID] = true
			if r.Source.URL == "" || r.Title == "" || len(r.AppliesTo) == 0 {
				t.Fatalf("rule %s accepted without source, title or kinds", r.ID)
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
	})
}

// FuzzParseMessage checks that message templates never panic the splitter
// and that the parts rebuild the text.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{"${r.ip} x $$ ${ {'a':'}'} }", "plain", "$", "${", `${"}"}`} {
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
