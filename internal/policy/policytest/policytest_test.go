package policytest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/policy"
)

var testEnv = policy.Env{Groups: map[string][]string{
	"foreign-adversary-us": {"CN", "HK", "MO", "CU", "IR", "KP", "RU", "VE"},
}}

// compile loads the policies of a test file the way "sovmap policy test"
// does: built-in packs by name, files relative to the test file.
func compile(t *testing.T, f *File, dir string) *policy.Set {
	t.Helper()
	var ps []*policy.Policy
	for _, n := range f.Policies {
		if _, ok := policy.PackSource(n); ok {
			p, err := policy.Pack(n)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		p, err := policy.Parse(n, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	s, err := policy.Compile(testEnv, ps...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func parseFile(t *testing.T, name string) *File {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(name, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// resolve stands in for sovmap's attribution of 47.88.1.1.
func resolve(ip string) (map[string]any, error) {
	if ip != "47.88.1.1" {
		return nil, errors.New("unknown in this test")
	}
	return policy.RecordJSON([]byte(`{"ip":"47.88.1.1","provider":{"id":"alibaba-cloud","name":"Alibaba Cloud"},"control":{"country":"CN","basis":"b"}}`))
}

func TestExamplePasses(t *testing.T) {
	f := parseFile(t, "testdata/ours_test.yaml")
	results := Run(f, compile(t, f, "testdata"), resolve)
	var out bytes.Buffer
	if failed := Report(&out, "ours_test.yaml", results, true); failed != 0 {
		t.Errorf("ours_test.yaml: %d failed\n%s", failed, out.String())
	}
	for _, w := range []string{"--- PASS: Alibaba's US region is controlled from China and not approved (ours_test.yaml:6)", "ok\tours_test.yaml\t4 tests"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, out.String())
		}
	}
}

func TestFailuresAreReported(t *testing.T) {
	f := parseFile(t, "testdata/failing_test.yaml")
	results := Run(f, compile(t, f, "testdata"), nil)
	var out bytes.Buffer
	if failed := Report(&out, "failing_test.yaml", results, false); failed != 2 {
		t.Errorf("failed = %d, want 2", failed)
	}
	want := `--- FAIL: expects the wrong rule and severity (failing_test.yaml:5)
	- us-icts/location: wanted, not found
	+ ours/approved-provider (medium): not wanted: 47.88.1.1 is served by Alibaba Cloud, which is not on our approved list
	~ us-icts/control: severity high, want medium
	got: ours/approved-provider, us-icts/control
--- FAIL: forgets a finding (failing_test.yaml:11)
	+ ours/approved-provider (medium): not wanted: 198.51.100.1 is served by Amazon Web Services, which is not on our approved list
FAIL	failing_test.yaml	2 of 2 tests failed
`
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestResolverErrors(t *testing.T) {
	f := &File{Tests: []*Case{{Name: "x", Kind: policy.KindIP, IP: "192.0.2.1", Want: []Expect{}}}}
	s, _ := policy.Compile(testEnv)
	for _, r := range []Resolver{nil, resolve} {
		res := Run(f, s, r)
		if res[0].Pass() || len(res[0].Errors) == 0 {
			t.Errorf("a case whose address cannot be attributed passed: %+v", res[0])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"", "empty file"},
		{"policies: [x]\ntests: []\n", "no tests"},
		{"tests:\n  - name: a\n    record: {ip: x}\n    want: []\n", "no policies"},
		{"policies: [x]\ntests:\n  - name: a\n    record: {ip: x}\n", "t.yaml:3: a: no want"},
		{"policies: [x]\ntests:\n  - name: a\n    want: []\n", "a: no record and no ip"},
		{"policies: [x]\ntests:\n  - name: a\n    ip: 1.1.1.1\n    record: {}\n    want: []\n", "give a record or an ip, not both"},
		{"policies: [x]\ntests:\n  - name: a\n    kind: flows\n    record: {}\n    want: []\n", `kind "flows"`},
		{"policies: [x]\ntests:\n  - name: a\n    kind: flow-group\n    ip: 1.1.1.1\n    want: []\n", "an ip case is of kind ip"},
		{"policies: [x]\ntests:\n  - name: a\n    record: {}\n    want: [{severity: high}]\n", "an expected finding without a rule"},
		{"policies: [x]\ntests:\n  - name: a\n    record: {}\n    want: [{rule: r, severity: dire}]\n", `unknown severity "dire"`},
		{"policies: [x]\ntests:\n  - name: a\n    recrod: {}\n", "field recrod not found"},
	}
	for _, test := range tests {
		_, err := Parse("t.yaml", strings.NewReader(test.src))
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("Parse(%q) error = %v, want %q", test.src, err, test.want)
		}
	}
}

// FuzzParse checks that the test-file parser never panics and accepts no
// case without a record or an address. The seeds are short: the fuzzer
// spends its time minimising long inputs that find new coverage.
func FuzzParse(f *testing.F) {
	f.Add("policies: [us-icts]\ntests:\n  - name: a\n    record: {ip: 1.2.3.4, control: {country: CN}}\n    want: [{rule: us-icts/control, severity: high}]\n")
	f.Add("policies: [x]\ntests:\n  - ip: 47.88.1.1\n    want: []\n")
	f.Add("policies: [x]\ntests:\n  - kind: population\n    record: {providers: [{share: 1}]}\n    want: [{rule: r, contains: x, message: y}]\n")
	f.Add("tests: [{}]")
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("fuzz.yaml", strings.NewReader(src))
		if err != nil {
			return
		}
		for _, c := range file.Tests {
			if c.Record == nil && c.IP == "" {
				t.Fatalf("case %q accepted without record or ip", c.Name)
			}
		}
	})
}

// TestLimitFails checks that a case fails when a rule is stopped by a limit
// of evaluation on its record: what the rule would find is unknown.
func TestLimitFails(t *testing.T) {
	p, err := policy.Parse("pairs.yaml", strings.NewReader(`
rules:
  - id: t/pairs
    title: Two hosts whose names differ by a dot
    severity: low
    applies_to: [scan-layer]
    expr: r.hosts.exists(h, r.hosts.exists(g, g.name == h.name + "."))
    message: a pair
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := policy.Compile(testEnv, p)
	if err != nil {
		t.Fatal(err)
	}
	hosts := make([]any, 3000)
	for i := range hosts {
		hosts[i] = map[string]any{"name": strings.Repeat("h", i%7)}
	}
	f := &File{Tests: []*Case{{Name: "many hosts", Kind: policy.KindScanLayer, Record: map[string]any{"hosts": hosts}, Want: []Expect{}, Line: 3}}}
	res := Run(f, s, nil)
	var out bytes.Buffer
	if failed := Report(&out, "t.yaml", res, false); failed != 1 || !strings.Contains(out.String(), "evaluation limit exceeded") {
		t.Errorf("failed = %d, want 1 with the limit shown:\n%s", failed, out.String())
	}
}
