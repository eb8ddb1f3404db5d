package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testEnv mirrors the catalog's jurisdiction groups (internal/catalog/data/
// groups.yaml) and a small company tree with list links, so that the policy
// package is tested without the catalog.
func testEnv() Env {
	parents := map[string][]string{
		"china-telecom-americas": {"china-telecom-corp", "china-telecom-group", "prc-sasac"},
		"china-telecom-corp":     {"china-telecom-group", "prc-sasac"},
		"china-telecom-group":    {"prc-sasac"},
		"huawei-technologies":    {"huawei-investment"},
		"huawei-cloud-computing": {"huawei-investment"},
		"huawei-cloud-sub":       {"huawei-technologies", "huawei-investment"},
		"alibaba-us":             {"alibaba-group"},
		"google-llc":             {"alphabet"},
	}
	return Env{
		Groups: map[string][]string{
			"foreign-adversary-us": {"CN", "HK", "MO", "CU", "IR", "KP", "RU", "VE"},
			"eu-eea": {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
				"LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"},
		},
		Parents: func(id string) []string { return parents[id] },
		Lists: map[string]*List{
			"fcc-covered": {ID: "fcc-covered", Name: "FCC Covered List", Links: map[string]Link{
				"china-telecom-americas": {Entry: "china-telecom-americas", Name: "China Telecom (Americas) Corp.", Since: "2022-03-25", Scope: "Telecommunications services", Source: "https://docs.fcc.gov/public/attachments/DA-22-320A1.txt", Relation: RelationEntity},
				"china-telecom-group":    {Entry: "china-telecom-americas", Name: "China Telecom (Americas) Corp.", Since: "2022-03-25", Scope: "Telecommunications services", Source: "https://docs.fcc.gov/public/attachments/DA-22-320A1.txt", Relation: RelationGroup},
				"huawei-technologies":    {Entry: "huawei", Name: "Huawei Technologies Company", Since: "2021-03-12", Scope: "Telecommunications equipment", Source: "https://docs.fcc.gov/public/attachments/DA-21-309A1.pdf", Relation: RelationEntity},
				"huawei-investment":      {Entry: "huawei", Name: "Huawei Technologies Company", Since: "2021-03-12", Scope: "Telecommunications equipment", Source: "https://docs.fcc.gov/public/attachments/DA-21-309A1.pdf", Relation: RelationGroup},
			}},
			"ndaa-889": {ID: "ndaa-889", Name: "NDAA section 889", Links: map[string]Link{
				"huawei-technologies": {Entry: "huawei", Name: "Huawei Technologies Company", Since: "2018-08-13", Relation: RelationEntity},
			}},
		},
	}
}

func mustParse(t testing.TB, name, src string) *Policy {
	t.Helper()
	p, err := Parse(name, strings.NewReader(src))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return p
}

func mustRecord(t testing.TB, js string) map[string]any {
	t.Helper()
	r, err := RecordJSON([]byte(js))
	if err != nil {
		t.Fatalf("RecordJSON(%s): %v", js, err)
	}
	return r
}

const okRule = `
rules:
  - id: t/one
    title: One
    severity: high
    applies_to: [ip]
    expr: r.control.country == "CN"
    message: "${r.ip} is controlled from ${r.control.country}"
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // each must be in the error
	}{
		{"empty", "", []string{"policy empty.yaml: empty file"}},
		{"unknown field", strings.Replace(okRule, "    expr:", "    exprr: x\n    expr:", 1),
			[]string{"policy unknown field.yaml:7: field exprr not found in type rule"}},
		{"no rules", "policy: x\n", []string{"no rules"}},
		{"bad severity", strings.Replace(okRule, "severity: high", "severity: urgent", 1),
			[]string{"bad severity.yaml:5:15: rule t/one: severity \"urgent\": want one of info, low, medium, high, critical"}},
		{"bad kind", strings.Replace(okRule, "applies_to: [ip]", "applies_to: [ips]", 1),
			[]string{"bad kind.yaml:6:17: rule t/one: applies_to \"ips\": want one of ip, scan-layer, flow-group, population"}},
		{"no source", strings.Replace(okRule, `    source: {title: T, url: "https://example.org/t", date: 2024-01-02}`+"\n", "", 1),
			[]string{"no source.yaml:3:5: rule t/one: no source"}},
		{"bad source", strings.Replace(okRule, `url: "https://example.org/t", date: 2024-01-02`, `url: "ftp://x", date: 2024-1-2`, 1),
			[]string{"source url \"ftp://x\" is not an http(s) URL", "source date \"2024-1-2\" is not YYYY-MM-DD"}},
		{"expr syntax", strings.Replace(okRule, `expr: r.control.country == "CN"`, `expr: r.control.country == = "CN"`, 1),
			[]string{"expr syntax.yaml:7:32: rule t/one: expr: Syntax error"}},
		{"message syntax", strings.Replace(okRule, "${r.control.country}", "${r.control.}", 1),
			[]string{"message syntax.yaml:8:54: rule t/one: message: Syntax error"}},
		{"message unterminated", strings.Replace(okRule, "${r.control.country}", "${r.control.country", 1),
			[]string{"rule t/one: message: unterminated ${"}},
		{"duplicate id", okRule + `  - id: t/one
    title: Two
    severity: low
    applies_to: [ip]
    expr: "true"
    message: m
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`, []string{"duplicate id.yaml:10:9: rule t/one: duplicate rule id"}},
		{"bad id", strings.Replace(okRule, "id: t/one", "id: t one", 1), []string{`id "t one"`}},
		{"block expr", strings.Replace(okRule, `    expr: r.control.country == "CN"`, "    expr: |\n      r.control.country == \"CN\" &&\n        r.x ==", 1),
			[]string{"block expr.yaml:9:15: rule t/one: expr: Syntax error"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(test.name+".yaml", strings.NewReader(test.src))
			if err == nil {
				t.Fatalf("Parse(%s) = nil error, want %q", test.name, test.want)
			}
			for _, w := range test.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%s) error = %q, want it to contain %q", test.name, err, w)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("Parse(%s) error is not a *policy.Error: %T", test.name, err)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"unknown function", `nope(r.ip)`, "compile.yaml:7:15: rule t/one: expr: undeclared reference to 'nope'"},
		{"unknown group", `in_group(r.control.country, "adversaries")`, `compile.yaml:7:39: rule t/one: expr: in_group: unknown group "adversaries" (known: eu-eea, foreign-adversary-us)`},
		{"unknown list", `on_list(r.operator.id, "entity-list")`, `unknown list "entity-list" (known: fcc-covered, ndaa-889)`},
		{"not bool", `r.control.country + "x"`, "want a bool expression, got string"},
		{"wrong arity", `in_group(r.control.country)`, "found no matching overload for 'in_group'"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(okRule, `r.control.country == "CN"`, test.expr, 1)
			p := mustParse(t, "compile.yaml", src)
			_, err := Compile(testEnv(), p)
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("Compile(%s) error = %v, want it to contain %q", test.expr, err, test.want)
			}
		})
	}
	// The same rule id in two policies.
	a, b := mustParse(t, "a.yaml", okRule), mustParse(t, "b.yaml", okRule)
	if _, err := Compile(testEnv(), a, b); err == nil || !strings.Contains(err.Error(), "rule id also used in a.yaml") {
		t.Errorf("Compile(a, b) error = %v, want a duplicate rule id", err)
	}
}

func TestParseMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []msgPart
		wantErr string
	}{
		{"plain text", []msgPart{{text: "plain text"}}, ""},
		{"cost $5 and $$6", []msgPart{{text: "cost $5 and $6"}}, ""},
		{"${r.ip} is ${r.x}.", []msgPart{{expr: "r.ip", offset: 2}, {text: " is "}, {expr: "r.x", offset: 13}, {text: "."}}, ""},
		{`${ {"a": "}"}["a"] }!`, []msgPart{{expr: ` {"a": "}"}["a"] `, offset: 2}, {text: "!"}}, ""},
		{"${}", nil, "empty ${}"},
		{"${r.ip", nil, "unterminated ${"},
		{`${"abc}`, nil, "unterminated string"},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			got, err := parseMessage(test.in)
			if test.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), test.wantErr) {
					t.Errorf("parseMessage(%q) error = %v, want %q", test.in, err, test.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseMessage(%q): %v", test.in, err)
			}
			if diff := cmp.Diff(test.want, got, cmp.AllowUnexported(msgPart{})); diff != "" {
				t.Errorf("parseMessage(%q) mismatch (-want +got):\n%s", test.in, diff)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	src := `
policy: ours
params: {limit: 2}
rules:
  - id: ours/cn
    title: CN
    severity: high
    applies_to: [ip]
    expr: r.control.country == "CN"
    message: "${r.ip} from ${r.control.country} via ${r.?provider.name.orValue('?')}; ${[1, 2.5, true, null]} ${ {'b': 1, 'a': 'x'} } $${x}"
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
  - id: ours/asn
    title: Big ASN
    severity: low
    applies_to: [ip]
    expr: r.asn > params.limit && r.asn < 50000.5
    message: AS${r.asn}
    evidence:
      asn: r.asn
      double: r.asn * 2
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
  - id: ours/layer
    title: Layer
    severity: medium
    applies_to: [scan-layer]
    expr: size(providers(r)) > 0
    message: ${r.domain} ${providers(r)}
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`
	set, err := Compile(testEnv(), mustParse(t, "ours.yaml", src))
	if err != nil {
		t.Fatal(err)
	}
	rec := mustRecord(t, `{"ip":"47.88.1.1","asn":45102,"provider":{"id":"alibaba-cloud","name":"Alibaba Cloud"},"control":{"country":"CN","basis":"b"}}`)
	got, errs := set.Check(KindIP, rec)
	if len(errs) > 0 {
		t.Errorf("Check: errors %v", errs)
	}
	src1 := Source{Title: "T", URL: "https://example.org/t", Date: "2024-01-02"}
	want := []Finding{
		{Rule: "ours/cn", Title: "CN", Severity: SeverityHigh, Policy: "ours", Source: src1,
			Message:  "47.88.1.1 from CN via Alibaba Cloud; 1, 2.5, true,  a=x, b=1 ${x}",
			Evidence: map[string]any{"control.country": "CN"}},
		{Rule: "ours/asn", Title: "Big ASN", Severity: SeverityLow, Policy: "ours", Source: src1,
			Message: "AS45102", Evidence: map[string]any{"asn": int64(45102), "double": int64(90204)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check mismatch (-want +got):\n%s", diff)
	}
	// A record without control: the first rule fails (no such key) and is
	// not broken; Evaluate hides the error, Check shows it.
	rec = mustRecord(t, `{"ip":"192.0.2.1","asn":1}`)
	got, errs = set.Check(KindIP, rec)
	if len(got) != 0 || len(errs) != 1 {
		t.Errorf("Check(no control) = %v, %v; want no finding and one error", got, errs)
	}
	var ee *EvalError
	if len(errs) == 1 && (!errors.As(errs[0], &ee) || ee.Rule != "ours/cn") {
		t.Errorf("Check(no control) error = %v, want an EvalError of ours/cn", errs[0])
	}
	if got := set.Evaluate(KindIP, rec); len(got) != 0 {
		t.Errorf("Evaluate(no control) = %v, want nothing", got)
	}
	// Kinds a rule does not apply to.
	if got := set.Evaluate(KindFlowGroup, rec); got != nil {
		t.Errorf("Evaluate(flow-group) = %v, want nil", got)
	}
	layer := mustRecord(t, `{"domain":"example.cn","layer":"dns","hosts":[{"host":"ns1.alidns.com","addresses":[{"ip":"1.1.1.1","provider":{"id":"alibaba-cloud"}},{"ip":"2.2.2.2","provider":{"id":"tencent-cloud"}}]}]}`)
	got = set.Evaluate(KindScanLayer, layer)
	if len(got) != 1 || got[0].Message != "example.cn alibaba-cloud, tencent-cloud" {
		t.Errorf("Evaluate(scan-layer) = %+v", got)
	}
}

func TestReadsAndCacheable(t *testing.T) {
	t.Parallel()
	mk := func(expr, msg string) *Set {
		src := strings.Replace(strings.Replace(okRule, `r.control.country == "CN"`, expr, 1), `"${r.ip} is controlled from ${r.control.country}"`, msg, 1)
		s, err := Compile(testEnv(), mustParse(t, "r.yaml", src))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		expr, msg string
		reads     []string
		whole     bool
		cacheable bool
	}{
		{`r.control.country == "CN"`, `"${r.ip} ${r.control.basis}"`, []string{"control", "ip"}, false, true},
		{`r.?location.country.orValue("") == "CN"`, `"${r.prefix}"`, []string{"location", "prefix"}, false, true},
		{`r["ip"].startsWith("47.")`, `"x"`, []string{"ip"}, false, false},
		{`has(r.control) && r.ip != ""`, `"x"`, []string{"control", "ip"}, false, false},
		{`r.control.country == "CN"`, `"${r.ip + '!'}"`, []string{"control", "ip"}, false, false},
		{`size(controls(r)) > 0`, `"x"`, nil, true, false},
		{`r.control.country == "CN"`, `"${providers(r)}"`, []string{"control"}, true, false},
	}
	for _, test := range tests {
		t.Run(test.expr+" "+test.msg, func(t *testing.T) {
			s := mk(test.expr, test.msg)
			reads, whole := s.Reads(KindIP)
			if !cmp.Equal(test.reads, reads) || whole != test.whole {
				t.Errorf("Reads = %v, %v; want %v, %v", reads, whole, test.reads, test.whole)
			}
			if got := s.Cacheable(KindIP, "ip", "prefix"); got != test.cacheable {
				t.Errorf("Cacheable(ip, prefix) = %v, want %v", got, test.cacheable)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	t.Parallel()
	type ref struct {
		ID string `json:"id"`
	}
	rec, err := Record(struct {
		IP    string  `json:"ip"`
		ASN   uint32  `json:"asn"`
		Share float64 `json:"share"`
		Ref   *ref    `json:"provider,omitempty"`
		List  []int   `json:"list"`
	}{IP: "192.0.2.1", ASN: 64500, Share: 0.25, Ref: &ref{"x"}, List: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ip": "192.0.2.1", "asn": int64(64500), "share": 0.25, "provider": map[string]any{"id": "x"}, "list": []any{int64(1), int64(2)}}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("Record mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`[1]`, `{"a":1} {"b":2}`, `{`, `"x"`} {
		if _, err := RecordJSON([]byte(bad)); err == nil {
			t.Errorf("RecordJSON(%s) = nil error", bad)
		}
	}
	if _, err := Record(func() {}); err == nil {
		t.Errorf("Record(func) = nil error")
	}
}

func TestDetectKindAndSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		js, kind, subject string
	}{
		{`{"ip":"47.88.1.1","confidence":"high"}`, KindIP, "47.88.1.1"},
		{`{"input":"foo","error":"not an IP address"}`, "", ""},
		{`{"domain":"example.org","layer":"dns","hosts":[]}`, KindScanLayer, "example.org dns"},
		{`{"domain":"example.org","status":"ok","layers":{"dns":{}}}`, "domain", ""},
		{`{"population":"top sites","providers":[]}`, KindPopulation, "top sites"},
		{`{"control":"CN","bytes":100,"flows":2}`, KindFlowGroup, "CN"},
		{`{"kind":"flow-group","key":"alibaba-cloud"}`, KindFlowGroup, "alibaba-cloud"},
		{`{"kind":"nonsense","ip":"192.0.2.1"}`, KindIP, "192.0.2.1"},
		{`{"hello":"world"}`, "", ""},
		{`{"remote":{"bytes":5},"groups":[]}`, "flows", ""},
		{`{"kind":"flow-group","by":"control","key":"CN","bytes":5}`, KindFlowGroup, "control CN"},
	}
	for _, test := range tests {
		rec := mustRecord(t, test.js)
		k := DetectKind(rec)
		if k != test.kind {
			t.Errorf("DetectKind(%s) = %q, want %q", test.js, k, test.kind)
		}
		if s := Subject(k, rec); s != test.subject {
			t.Errorf("Subject(%s) = %q, want %q", test.js, s, test.subject)
		}
	}
}

func TestLayers(t *testing.T) {
	t.Parallel()
	byMap := mustRecord(t, `{"domain":"example.org","status":"ok","layers":{"web":{"hosts":[{"host":"www"}]},"dns":[{"host":"ns1"}]}}`)
	byList := mustRecord(t, `{"domain":"example.org","layers":[{"layer":"mail","hosts":[]},{"name":"dns"},{"nameless":true},7]}`)
	want := []map[string]any{
		{"domain": "example.org", "layer": "dns", "status": "ok", "hosts": []any{map[string]any{"host": "ns1"}}},
		{"domain": "example.org", "layer": "web", "status": "ok", "hosts": []any{map[string]any{"host": "www"}}},
	}
	if diff := cmp.Diff(want, Layers(byMap)); diff != "" {
		t.Errorf("Layers(map) mismatch (-want +got):\n%s", diff)
	}
	want = []map[string]any{
		{"domain": "example.org", "layer": "dns", "name": "dns"},
		{"domain": "example.org", "layer": "mail", "hosts": []any{}},
	}
	if diff := cmp.Diff(want, Layers(byList)); diff != "" {
		t.Errorf("Layers(list) mismatch (-want +got):\n%s", diff)
	}
}

func TestFlowRows(t *testing.T) {
	t.Parallel()
	rec := mustRecord(t, `{"remote":{"bytes":10},"groups":[{"by":"control","count":2,"rows":[{"key":"CN","control":"CN","bytes":7,"share":0.7},{"key":"US","control":"US","bytes":3,"share":0.3}]},{"by":"provider","rows":[{"key":"alibaba-cloud","provider":"alibaba-cloud","control":"CN","bytes":7}]},7,{"rows":[5]}]}`)
	want := []map[string]any{
		{"by": "control", "key": "CN", "control": "CN", "bytes": int64(7), "share": 0.7},
		{"by": "control", "key": "US", "control": "US", "bytes": int64(3), "share": 0.3},
		{"by": "provider", "key": "alibaba-cloud", "provider": "alibaba-cloud", "control": "CN", "bytes": int64(7)},
	}
	if diff := cmp.Diff(want, FlowRows(rec)); diff != "" {
		t.Errorf("FlowRows mismatch (-want +got):\n%s", diff)
	}
}

func TestPopulation(t *testing.T) {
	t.Parallel()
	p := NewPopulation("test")
	for _, js := range []string{
		`{"ip":"1.1.1.1","provider":{"id":"cloudflare","name":"Cloudflare"},"control":{"country":"US"}}`,
		`{"ip":"1.0.0.1","provider":{"id":"cloudflare","name":"Cloudflare"},"control":{"country":"US"}}`,
		`{"ip":"47.88.1.1","provider":{"id":"alibaba-cloud","name":"Alibaba Cloud"},"control":{"country":"CN"}}`,
		`{"ip":"192.0.2.1"}`,
	} {
		p.Add(KindIP, mustRecord(t, js))
	}
	p.Add(KindFlowGroup, mustRecord(t, `{"bytes":4,"control":"CN","provider":"alibaba-cloud"}`))
	want := map[string]any{
		"kind": "population", "population": "test", "total": 8.0, "attributed": 7.0,
		"providers": []any{
			map[string]any{"id": "alibaba-cloud", "name": "Alibaba Cloud", "count": 5.0, "share": 5.0 / 8},
			map[string]any{"id": "cloudflare", "name": "Cloudflare", "count": 2.0, "share": 2.0 / 8},
		},
		"controls": []any{
			map[string]any{"country": "CN", "count": 5.0, "share": 5.0 / 8},
			map[string]any{"country": "US", "count": 2.0, "share": 2.0 / 8},
		},
	}
	if diff := cmp.Diff(want, p.Record()); diff != "" {
		t.Errorf("Population.Record mismatch (-want +got):\n%s", diff)
	}
	if NewPopulation("empty").Record()["total"] != 0.0 {
		t.Errorf("empty population total != 0")
	}
}

func TestSeverity(t *testing.T) {
	t.Parallel()
	for i, n := range severityNames {
		s, err := ParseSeverity(strings.ToUpper(n))
		if err != nil || s != Severity(i) || s.String() != n {
			t.Errorf("ParseSeverity(%q) = %v, %v", n, s, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Errorf("ParseSeverity(severe) = nil error")
	}
	var s Severity
	if err := s.UnmarshalText([]byte("medium")); err != nil || s != SeverityMedium {
		t.Errorf("UnmarshalText(medium) = %v, %v", s, err)
	}
	if got := Severity(42).String(); got != "severity(42)" {
		t.Errorf("Severity(42) = %q", got)
	}
	for s, want := range map[Severity]string{SeverityCritical: "error", SeverityHigh: "error", SeverityMedium: "warning", SeverityLow: "note", SeverityInfo: "note"} {
		if got := s.SARIFLevel(); got != want {
			t.Errorf("%v.SARIFLevel() = %q, want %q", s, got, want)
		}
	}
}

func TestFunctionsDocumented(t *testing.T) {
	t.Parallel()
	// Every function of the environment is in Functions, and the reverse.
	ce, err := (&Env{}).celEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Functions() {
		name, _, _ := strings.Cut(f[0], "(")
		if _, ok := ce.Functions()[name]; !ok {
			t.Errorf("Functions lists %s, which the environment lacks", name)
		}
	}
	if len(Functions()) != 12 {
		t.Errorf("Functions() has %d entries, want 12 (update the test with a new function)", len(Functions()))
	}
}
