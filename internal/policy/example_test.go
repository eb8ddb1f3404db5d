package policy_test

import (
	"fmt"
	"strings"

	"github.com/sovmap/sovmap/internal/policy"
)

func ExampleSet_Evaluate() {
	p, err := policy.Parse("ours.yaml", strings.NewReader(`
policy: ours
rules:
  - id: ours/no-adversary-control
    title: No infrastructure controlled from a foreign adversary
    severity: high
    applies_to: [ip]
    expr: has(r.control) && in_group(r.control.country, "foreign-adversary-us")
    message: ${r.ip} is controlled from ${r.control.country}
    source: {title: "15 CFR 791.4", url: "https://www.ecfr.gov/current/title-15/section-791.4", date: 2024-07-18}
`))
	if err != nil {
		panic(err)
	}
	env := policy.Env{Groups: map[string][]string{"foreign-adversary-us": {"CN", "HK", "MO", "CU", "IR", "KP", "RU", "VE"}}}
	set, err := policy.Compile(env, p)
	if err != nil {
		panic(err)
	}
	rec, _ := policy.RecordJSON([]byte(`{"ip":"47.88.1.1","control":{"country":"CN","basis":"ultimate parent Alibaba Group"}}`))
	for _, f := range set.Evaluate(policy.KindIP, rec) {
		fmt.Println(f.Severity, f.Rule, f.Message, f.Evidence)
	}
	// Output:
	// high ours/no-adversary-control 47.88.1.1 is controlled from CN map[control.country:CN]
}
