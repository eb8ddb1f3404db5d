package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/cli"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/policy/sariftest"
)

// polRun runs the command line in process.
func polRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = cli.Run(context.Background(), args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

func polTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// validateSARIF validates a SARIF log against the official schema.
func validateSARIF(t *testing.T, b []byte) error {
	t.Helper()
	return sariftest.Validate(b)
}

func TestIPPolicySARIF(t *testing.T) {
	t.Parallel()
	code, out, stderr := polRun(t, "47.88.1.1\nnot-an-address\n66.102.241.1\n", "ip", "--format", "sarif", "--policy", "all")
	if code != 1 { // one input was not an address
		t.Errorf("exit %d, want 1; stderr %q", code, stderr)
	}
	if err := validateSARIF(t, []byte(out)); err != nil {
		t.Fatalf("SARIF: %v\n%s", err, out)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					LogicalLocations []struct{ Name string } `json:"logicalLocations"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) < 15 {
		t.Errorf("SARIF lists %d rules, want every rule of the packs", len(run.Tool.Driver.Rules))
	}
	got := map[string]bool{}
	for _, r := range run.Results {
		got[r.RuleID+" "+r.Locations[0].LogicalLocations[0].Name] = true
	}
	for _, w := range []string{"us-icts/control 47.88.1.1", "fcc-covered/entity 66.102.241.1", "eu-residency/location 66.102.241.1"} {
		if !got[w] {
			t.Errorf("SARIF results lack %s: %v", w, got)
		}
	}
}

func TestPolicyList(t *testing.T) {
	t.Parallel()
	code, out, _ := polRun(t, "", "policy", "list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{
		"us-icts\n", "  us-icts/control  [high; ip]\n", "    source: 15 CFR 791.4",
		"https://www.ecfr.gov/current/title-15/subtitle-B/chapter-VII/subchapter-E/part-791/subpart-A/section-791.4",
		"fcc-covered/ndaa-889", "eu-residency/cloud-act", "concentration/population-share",
		"in_group(country, group) bool",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("policy list lacks %q", w)
		}
	}
	code, out, _ = polRun(t, "", "policy", "list", "--json")
	var packs []struct {
		Name  string
		Rules []struct {
			ID     string
			Source struct{ URL string }
		}
	}
	if err := json.Unmarshal([]byte(out), &packs); code != 0 || err != nil || len(packs) != 4 {
		t.Fatalf("policy list --json: exit %d, %v", code, err)
	}
	for _, p := range packs {
		for _, r := range p.Rules {
			if r.Source.URL == "" {
				t.Errorf("%s: no source", r.ID)
			}
		}
	}
}

func TestPolicyShow(t *testing.T) {
	t.Parallel()
	code, out, _ := polRun(t, "", "policy", "show", "eu-residency")
	src, _ := policy.PackSource("eu-residency")
	if code != 0 || out != string(src) {
		t.Errorf("policy show eu-residency: exit %d, output differs from the pack", code)
	}
}

const policyTestdata = "../policy/policytest/testdata/"

// TestPolicyCheckSARIF checks that the SARIF log of policy check is valid
// against the SARIF 2.1.0 schema, with the physical location of each
// finding (testdata/script/policy_check.txtar pins the log).
func TestPolicyCheckSARIF(t *testing.T) {
	t.Parallel()
	_, records, _ := polRun(t, "", "ip", "--json", "47.88.1.1", "51.38.0.1", "66.102.241.1", "nonsense")
	records += `{"domain":"example.cn","status":"ok","layers":{"dns":{"hosts":[{"host":"ns1.alidns.com","provider":{"id":"alibaba-cloud"},"control":{"country":"CN"}}]},"web":[{"ip":"51.38.0.1","provider":{"id":"ovhcloud"},"control":{"country":"FR"}}]}}` + "\n"
	records += `{"control":"RU","bytes":5000,"flows":2}` + "\n"
	code, out, stderr := polRun(t, records, "policy", "check", "--policy", "all", "--format", "sarif", "-")
	if code != 0 {
		t.Fatalf("policy check --format sarif: exit %d\n%s", code, stderr)
	}
	if err := validateSARIF(t, []byte(out)); err != nil {
		t.Errorf("policy check --format sarif: %v\n%s", err, out)
	}
	for _, want := range []string{`"uri": "stdin"`, `"startLine": 5`, `"ruleId": "concentration/single-dns-provider"`} {
		if !strings.Contains(out, want) {
			t.Errorf("policy check --format sarif lacks %s:\n%s", want, out)
		}
	}
}

// TestDocsPolicyExample checks that docs/policy.md shows the example policy
// and test file that TestPolicyTest runs.
func TestDocsPolicyExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ours.yaml", "ours_test.yaml"} {
		b, err := os.ReadFile(policyTestdata + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, b) {
			t.Errorf("docs/policy.md does not show %s as it is in %s", name, policyTestdata)
		}
	}
}

// TestPolicyCheckScanAndFlows checks the records of the scan and flows
// commands: scan records are split into layers, a flows summary (an
// indented JSON document) into its rows.
func TestPolicyCheckScanAndFlows(t *testing.T) {
	t.Parallel()
	zone := polTemp(t, "t.zone", `$ORIGIN example.
$TTL 3600
@ IN SOA ns.example. h.example. 1 7200 3600 1209600 3600
@ IN NS ns.example.
alpha IN NS ns1.alidns.com.
alpha IN NS ns2.alidns.com.
beta IN NS ns1.cloudflare.com.
beta IN NS ns-1.awsdns-00.com.
`)
	code, scan, stderr := polRun(t, "", "scan", "--json", "--zone", zone)
	if code != 0 {
		t.Fatalf("scan --zone: exit %d: %s", code, stderr)
	}
	code, out, _ := polRun(t, scan, "policy", "check", "--policy", "us-icts", "--policy", "concentration", "-")
	for _, w := range []string{
		"stdin:1: HIGH us-icts/layer-control alpha.example dns: the dns layer of alpha.example depends on infrastructure controlled from CN (providers: alibaba-cloud)\n",
		"stdin:1: MEDIUM concentration/single-dns-provider alpha.example dns: the DNS of alpha.example depends on a single provider, alibaba-cloud\n",
	} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("policy check of scan records: exit %d, lacks %q:\n%s", code, w, out)
		}
	}
	if strings.Contains(out, "beta.example dns: the DNS") {
		t.Errorf("beta.example's DNS has two providers, not one:\n%s", out)
	}

	tab := "\t"
	conn := polTemp(t, "conn.log", "#separator \\x09\n#fields"+tab+strings.Join([]string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"}, tab)+"\n"+
		"#types"+tab+strings.Join([]string{"time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]"}, tab)+"\n"+
		strings.Join([]string{"1700000000.0", "C1", "10.0.0.1", "5555", "47.88.1.1", "443", "tcp", "ssl", "1.0", "1000", "5000", "SF", "-", "-", "0", "ShAD", "10", "1500", "10", "5500", "-"}, tab)+"\n")
	code, flows, stderr := polRun(t, "", "flows", "--json", conn)
	if code != 0 {
		t.Fatalf("flows --json: exit %d: %s", code, stderr)
	}
	code, out, stderr = polRun(t, flows, "policy", "check", "--policy", "us-icts", "-")
	if code != 0 || !strings.Contains(out, "stdin:1: HIGH us-icts/flow-control control CN: 7000 bytes in 1 flows went to infrastructure controlled from CN\n") {
		t.Errorf("policy check of a flows summary: exit %d\n%s%s", code, out, stderr)
	}
}

func TestPolicyCheckInvalidCap(t *testing.T) {
	t.Parallel()
	code, _, stderr := polRun(t, strings.Repeat("nope\n", 15), "policy", "check", "--policy", "us-icts", "-")
	if code != 1 || strings.Count(stderr, "not a JSON object") != 10 || !strings.Contains(stderr, "5 more invalid records not shown") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// polRunWithin is polRun that fails the test when the command has not
// returned after d: a detector of hangs, not a measure of time.
func polRunWithin(t *testing.T, d time.Duration, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	type result struct {
		code int
		o, e string
	}
	done := make(chan result, 1)
	go func() {
		var o, e bytes.Buffer
		code := cli.Run(context.Background(), args, strings.NewReader(stdin), &o, &e)
		done <- result{code, o.String(), e.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.o, r.e
	case <-time.After(d):
		t.Fatalf("%v: still running after %v", args, d)
	}
	return 0, "", ""
}

// nestedAll is nine nested comprehensions over ten numbers: 10⁹ steps.
const nestedAll = `[0,1,2,3,4,5,6,7,8,9].all(a, [0,1,2,3,4,5,6,7,8,9].all(b, [0,1,2,3,4,5,6,7,8,9].all(c, [0,1,2,3,4,5,6,7,8,9].all(d, [0,1,2,3,4,5,6,7,8,9].all(e, [0,1,2,3,4,5,6,7,8,9].all(f, [0,1,2,3,4,5,6,7,8,9].all(g, [0,1,2,3,4,5,6,7,8,9].all(h, [0,1,2,3,4,5,6,7,8,9].all(i, true)))))))))`

// TestPolicyCostlyRuleRefused checks that a rule whose cost is beyond the
// limit is refused when the policy loads, with its file and line, instead of
// running for minutes on the first record.
func TestPolicyCostlyRuleRefused(t *testing.T) {
	t.Parallel()
	path := polTemp(t, "deep.yaml", `rules:
  - id: deep/all
    title: Deep
    severity: low
    applies_to: [ip]
    expr: '`+nestedAll+`'
    message: deep
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`)
	code, out, stderr := polRunWithin(t, time.Minute, "", "ip", "--policy", path, "192.0.2.1")
	want := "sovmap: ip: policy " + path + ":6:12: rule deep/all: expr: too costly: estimated worst-case cost 4555555551 is over the limit of 1000000 (policy.MaxCost)"
	if code != 1 || out != "" || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant the prefix\n%s", code, out, stderr, want)
	}
	code, _, stderr = polRunWithin(t, time.Minute, `{"ip":"192.0.2.1"}`, "policy", "check", "--policy", path, "-")
	if code != 1 || !strings.Contains(stderr, path+":6:12: rule deep/all: expr: too costly") {
		t.Errorf("policy check: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestPolicyCheckCostLimit checks that a rule whose cost explodes on one
// record (every pair of its hosts) is stopped there by the runtime limit:
// an error names the file, line, record and rule, is counted and fails the
// command, while the other rules of that record and the other records are
// checked.
func TestPolicyCheckCostLimit(t *testing.T) {
	t.Parallel()
	path := polTemp(t, "pairs.yaml", `rules:
  - id: t/pairs
    title: Two hosts whose names differ by a final dot
    severity: low
    applies_to: [scan-layer]
    expr: r.hosts.exists(h, r.hosts.exists(g, g.host == h.host + "."))
    message: ${r.domain} has hosts that differ by a dot
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
  - id: t/dns
    title: A DNS layer
    severity: info
    applies_to: [scan-layer]
    expr: r.layer == "dns"
    message: ${r.domain} has a DNS layer
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`)
	layer := func(domain string, hosts []string) string {
		var hs []string
		for _, h := range hosts {
			hs = append(hs, `{"host":"`+h+`"}`)
		}
		return `{"domain":"` + domain + `","layer":"dns","hosts":[` + strings.Join(hs, ",") + "]}\n"
	}
	many := make([]string, 3000)
	for i := range many {
		many[i] = fmt.Sprintf("ns%d.example", i)
	}
	in := layer("a.example", []string{"ns1.a.example", "ns1.a.example."}) + layer("big.example", many) + layer("c.example", []string{"ns1.c.example", "ns1.c.example."})
	code, out, stderr := polRunWithin(t, 2*time.Minute, in, "policy", "check", "--policy", path, "-")
	wantOut := "stdin:1: LOW t/pairs a.example dns: a.example has hosts that differ by a dot\n" +
		"stdin:1: INFO t/dns a.example dns: a.example has a DNS layer\n" +
		"stdin:2: INFO t/dns big.example dns: big.example has a DNS layer\n" +
		"stdin:3: LOW t/pairs c.example dns: c.example has hosts that differ by a dot\n" +
		"stdin:3: INFO t/dns c.example dns: c.example has a DNS layer\n"
	if code != 1 || out != wantOut {
		t.Errorf("exit %d, stdout:\n%s\nwant\n%s", code, out, wantOut)
	}
	// Which limit stops the rule first depends on the machine's speed
	// (the race detector makes the deadline come first): either will do.
	if !limitStopped.MatchString(stderr) || !strings.Contains(stderr, "sovmap: policy check: stdin:2: big.example dns: rule t/pairs: expr: evaluation limit exceeded: ") {
		t.Errorf("stderr lacks the stopped evaluation of t/pairs on stdin:2:\n%s", stderr)
	}
	for _, want := range []string{
		"sovmap: policy check: 3 records, 5 findings (2 low, 3 info)\n",
		"sovmap: policy check: 1 rule evaluation stopped by a limit (docs/policy.md, Limits): such a rule counts as not broken by its record\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestPolicyCheckLongLine checks that a line over 16 MiB is reported with
// its file and line, counted as invalid, and skipped, and that the next
// records are checked.
func TestPolicyCheckLongLine(t *testing.T) {
	t.Parallel()
	rec := `{"ip":"47.88.1.1","control":{"country":"CN","basis":"b"}}` + "\n"
	long := `{"ip":"47.88.1.2","control":{"country":"CN","basis":"` + strings.Repeat("b", 16<<20) + `"}}` + "\n"
	path := polTemp(t, "long.ndjson", rec+long+rec)
	code, out, stderr := polRunWithin(t, 2*time.Minute, "", "policy", "check", "--policy", "us-icts", path)
	if code != 1 || strings.Count(out, "HIGH us-icts/control") != 2 || !strings.Contains(out, path+":3: HIGH") {
		t.Errorf("exit %d, stdout:\n%.500s", code, out)
	}
	for _, want := range []string{
		"sovmap: policy check: " + path + ":2: line longer than 16 MiB, skipped\n",
		"sovmap: policy check: 2 records, 2 findings (2 high); 1 invalid line\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%.1000s", want, stderr)
		}
	}
}

// TestPolicyCheckLongDocument checks that a document spanning lines is held
// to the same 16 MiB, read in linear time, and skipped to its end.
func TestPolicyCheckLongDocument(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"ip":"47.88.1.1","control":{"country":"CN","basis":"b"}}` + "\n{\n")
	field := strings.Repeat("v", 1000)
	for i := 0; b.Len() < 17<<20; i++ {
		fmt.Fprintf(&b, "  \"k%d\": {\"v\": \"%s\"},\n", i, field)
	}
	b.WriteString("  \"ip\": \"47.88.1.2\"\n}\n")
	b.WriteString(`{"ip":"47.88.1.3","control":{"country":"CN","basis":"b"}}` + "\n")
	lines := strings.Count(b.String(), "\n")
	code, out, stderr := polRunWithin(t, 2*time.Minute, b.String(), "policy", "check", "--policy", "us-icts", "-")
	if code != 1 || out != fmt.Sprintf("stdin:1: HIGH us-icts/control 47.88.1.1: 47.88.1.1 (unknown network) is controlled from CN, a foreign adversary under 15 CFR 791.4: b\nstdin:%d: HIGH us-icts/control 47.88.1.3: 47.88.1.3 (unknown network) is controlled from CN, a foreign adversary under 15 CFR 791.4: b\n", lines) {
		t.Errorf("exit %d, stdout:\n%s", code, out)
	}
	if !strings.Contains(stderr, "sovmap: policy check: stdin:2: record longer than 16 MiB, skipped\n") || !strings.Contains(stderr, "; 1 invalid line") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// limitStopped matches the report of an evaluation stopped by either
// limit, cost or time.
var limitStopped = regexp.MustCompile(`evaluation limit exceeded: (cost over 1000000 units \(policy\.MaxCost\)|took over 1s \(policy\.EvalTimeout\))\n`)
