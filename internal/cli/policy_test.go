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

type findingOut struct {
	Rule     string         `json:"rule"`
	Title    string         `json:"title"`
	Severity string         `json:"severity"`
	Message  string         `json:"message"`
	Policy   string         `json:"policy"`
	Evidence map[string]any `json:"evidence"`
	Source   struct {
		Title, URL, Date string
	} `json:"source"`
}

func TestIPPolicyJSON(t *testing.T) {
	t.Parallel()
	code, plain, _ := polRun(t, "", "ip", "--json", "47.88.1.1", "51.38.0.1", "66.102.241.1")
	if code != 0 {
		t.Fatalf("ip --json: exit %d", code)
	}
	code, out, stderr := polRun(t, "", "ip", "--json", "--policy", "us-icts", "--policy", "fcc-covered", "47.88.1.1", "51.38.0.1", "66.102.241.1")
	if code != 0 || stderr != "" {
		t.Fatalf("ip --json --policy: exit %d, stderr %q", code, stderr)
	}
	plainLines, lines := strings.Split(strings.TrimSpace(plain), "\n"), strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out)
	}
	want := [][]string{{"us-icts/control"}, nil, {"us-icts/control", "fcc-covered/entity"}}
	for i, l := range lines {
		var rec struct {
			IP       string       `json:"ip"`
			Findings []findingOut `json:"findings"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		var rules []string
		for _, f := range rec.Findings {
			rules = append(rules, f.Rule)
			if !strings.Contains(f.Message, rec.IP) || f.Source.URL == "" {
				t.Errorf("%s: finding %+v lacks the address or the source", rec.IP, f)
			}
		}
		if strings.Join(rules, ",") != strings.Join(want[i], ",") {
			t.Errorf("%s: rules %v, want %v", rec.IP, rules, want[i])
		}
		// The record is the plain record with findings added at the end.
		base := strings.TrimSuffix(plainLines[i], "}")
		if !strings.HasPrefix(l, base) {
			t.Errorf("line %d changed the record:\n%s\nwant prefix\n%s", i+1, l, base)
		}
		if rec.Findings == nil && l != plainLines[i] {
			t.Errorf("line %d without findings differs from the plain record", i+1)
		}
	}
	if !strings.Contains(lines[2], `"evidence":{"entry":"china-telecom-americas","listing":"https://docs.fcc.gov/public/attachments/DA-22-320A1.txt","operator":"china-telecom-americas","since":"2022-03-25"}`) {
		t.Errorf("fcc-covered finding lacks its evidence:\n%s", lines[2])
	}
}

func TestIPPolicyFailOn(t *testing.T) {
	t.Parallel()
	code, _, stderr := polRun(t, "", "ip", "--brief", "--policy", "us-icts", "--fail-on", "high", "47.88.1.1", "8.8.8.8")
	if code != 1 || !strings.Contains(stderr, "sovmap: ip: 1 finding at or above high (--fail-on high): 1 finding (1 high)") {
		t.Errorf("--fail-on high: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = polRun(t, "", "ip", "--brief", "--policy", "us-icts", "--fail-on", "critical", "47.88.1.1")
	if code != 0 || stderr != "" {
		t.Errorf("--fail-on critical: exit %d, stderr %q", code, stderr)
	}
	// Invalid input and findings: exit 1 either way.
	code, _, _ = polRun(t, "", "ip", "--json", "--policy", "us-icts", "--fail-on", "low", "nonsense", "8.8.8.8")
	if code != 1 {
		t.Errorf("invalid input: exit %d, want 1", code)
	}
}

func TestIPPolicyText(t *testing.T) {
	t.Parallel()
	code, out, _ := polRun(t, "", "ip", "--policy", "fcc-covered", "66.102.241.1", "51.38.0.1")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{
		"  findings      HIGH fcc-covered/entity: 66.102.241.1 is operated by China Telecom (Americas) Corporation, listed entity China Telecom (Americas) Corp., on the FCC Covered List since 2022-03-25",
		"                  source: FCC: List of Equipment and Services Covered by Section 2 of the Secure Networks Act (47 U.S.C. 1601) (2026-08-20) https://www.fcc.gov/supplychain/coveredlist",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("text output lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "findings") != 1 {
		t.Errorf("findings rows for an address without findings:\n%s", out)
	}
	code, out, _ = polRun(t, "", "ip", "--brief", "--policy", "us-icts", "47.88.1.1", "51.38.0.1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[0], "\tus-icts/control") || !strings.HasSuffix(lines[1], "\t-") || strings.Count(lines[0], "\t") != 7 {
		t.Errorf("--brief --policy: exit %d\n%s", code, out)
	}
}

func TestIPPolicySARIF(t *testing.T) {
	t.Parallel()
	code, out, stderr := polRun(t, "47.88.1.1\nnot-an-address\n66.102.241.1\n", "ip", "--format", "sarif", "--policy", "all")
	if code != 1 { // one input was not an address
		t.Errorf("exit %d, want 1; stderr %q", code, stderr)
	}
	if err := policy.ValidateSARIF([]byte(out)); err != nil {
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

func TestIPPolicyPopulation(t *testing.T) {
	t.Parallel()
	in := "8.8.8.8\n8.8.4.4\n8.8.8.4\n51.38.0.1\n"
	code, out, _ := polRun(t, in, "ip", "--json", "--policy", "concentration")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 {
		t.Fatalf("exit %d, %d lines:\n%s", code, len(lines), out)
	}
	var pop struct {
		Population map[string]any `json:"population"`
		Findings   []findingOut   `json:"findings"`
	}
	if err := json.Unmarshal([]byte(lines[4]), &pop); err != nil {
		t.Fatal(err)
	}
	if len(pop.Findings) != 1 || pop.Findings[0].Rule != "concentration/population-share" ||
		!strings.HasPrefix(pop.Findings[0].Message, "Google Cloud serves 75% of the addresses given (3 of 4)") {
		t.Errorf("population line: %s", lines[4])
	}
}

func TestIPPolicyUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ip", "--format", "sarif", "1.1.1.1"}, "--format sarif needs --policy"},
		{[]string{"ip", "--format", "xml", "1.1.1.1"}, `--format "xml"`},
		{[]string{"ip", "--json", "--format", "brief", "1.1.1.1"}, "contradicts"},
		{[]string{"ip", "--policy", "nope", "1.1.1.1"}, `--policy "nope": no such pack or file (packs: concentration, eu-residency, fcc-covered, us-icts, all)`},
		{[]string{"ip", "--policy", "us-icts", "--fail-on", "severe", "1.1.1.1"}, `--fail-on: unknown severity "severe"`},
		{[]string{"ip", "--fail-on", "high", "1.1.1.1"}, "--fail-on needs --policy"},
		{[]string{"policy"}, "want a subcommand"},
		{[]string{"policy", "nope"}, `unknown subcommand "nope"`},
		{[]string{"policy", "check", "x.ndjson"}, "needs --policy"},
		{[]string{"policy", "check", "--policy", "all", "--format", "csv"}, `--format "csv"`},
		{[]string{"policy", "check", "--policy", "all", "--kind", "flows"}, `--kind "flows"`},
		{[]string{"policy", "show"}, "one pack name"},
		{[]string{"policy", "show", "nope"}, `no pack "nope"`},
		{[]string{"policy", "test"}, "one or more test files"},
		{[]string{"policy", "list", "x"}, "takes no arguments"},
		{[]string{"screen"}, "one or more inventory files"},
		{[]string{"screen", "--fail-on", "maybe", "x.csv"}, `--fail-on "maybe"`},
		{[]string{"screen", "--list", "entity-list", "x.csv"}, `--list "entity-list"`},
	}
	for _, test := range tests {
		name := strings.Join(test.args, " ")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := polRun(t, "", test.args...)
			if code != 2 || out != "" || !strings.Contains(stderr, test.want) || !strings.Contains(stderr, "\nhint: ") {
				t.Errorf("sovmap %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", name, code, out, stderr, test.want)
			}
		})
	}
}

func TestIPPolicyBrokenFile(t *testing.T) {
	t.Parallel()
	path := polTemp(t, "ours.yaml", `rules:
  - id: ours/x
    title: X
    severity: high
    applies_to: [ip]
    expr: in_group(r.control.country, "adversaries")
    message: x
    source: {title: T, url: "https://example.org", date: 2024-01-01}
`)
	code, out, stderr := polRun(t, "", "ip", "--policy", path, "1.1.1.1")
	want := "sovmap: ip: policy " + path + `:6:39: rule ours/x: expr: in_group: unknown group "adversaries" (known: country-of-concern-us, covered-nation-us, eu, eu-eea, five-eyes, foreign-adversary-us)`
	if code != 1 || out != "" || !strings.Contains(stderr, want) {
		t.Errorf("broken policy: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, stderr, want)
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

func TestPolicyTest(t *testing.T) {
	t.Parallel()
	code, out, stderr := polRun(t, "", "policy", "test", policyTestdata+"ours_test.yaml")
	if code != 0 || out != "ok\t"+policyTestdata+"ours_test.yaml\t4 tests\n" || stderr != "" {
		t.Errorf("policy test ours_test.yaml: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = polRun(t, "", "policy", "test", policyTestdata+"failing_test.yaml")
	for _, w := range []string{"--- FAIL: expects the wrong rule and severity", "\t- us-icts/location: wanted, not found", "\t~ us-icts/control: severity high, want medium", "2 of 2 tests failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("policy test failing_test.yaml lacks %q:\n%s", w, out)
		}
	}
	if code != 1 {
		t.Errorf("policy test failing_test.yaml: exit %d, want 1", code)
	}
	// A broken test file, and a test file naming a broken policy.
	bad := polTemp(t, "bad_test.yaml", "policies: [us-icts]\ntests:\n  - name: x\n    record: {ip: 1}\n")
	code, _, stderr = polRun(t, "", "policy", "test", bad)
	if code != 1 || !strings.Contains(stderr, "x: no want") {
		t.Errorf("broken test file: exit %d, stderr %q", code, stderr)
	}
	dir := filepath.Dir(polTemp(t, "p.yaml", "rules: [}\n"))
	tf := filepath.Join(dir, "p_test.yaml")
	os.WriteFile(tf, []byte("policies: [p.yaml]\ntests:\n  - name: x\n    record: {ip: 1}\n    want: []\n"), 0o644)
	code, _, stderr = polRun(t, "", "policy", "test", tf)
	if code != 1 || !strings.Contains(stderr, "p.yaml") {
		t.Errorf("test of a broken policy: exit %d, stderr %q", code, stderr)
	}
}

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	_, records, _ := polRun(t, "", "ip", "--json", "47.88.1.1", "51.38.0.1", "66.102.241.1", "nonsense")
	records += `{"domain":"example.cn","status":"ok","layers":{"dns":{"hosts":[{"host":"ns1.alidns.com","provider":{"id":"alibaba-cloud"},"control":{"country":"CN"}}]},"web":[{"ip":"51.38.0.1","provider":{"id":"ovhcloud"},"control":{"country":"FR"}}]}}` + "\n"
	records += `{"control":"RU","bytes":5000,"flows":2}` + "\n"
	path := polTemp(t, "records.ndjson", records)

	code, out, stderr := polRun(t, "", "policy", "check", "--policy", "us-icts", path)
	wantOut := path + ":1: HIGH us-icts/control 47.88.1.1: 47.88.1.1 (Alibaba Cloud) is controlled from CN, a foreign adversary under 15 CFR 791.4: ultimate parent Alibaba Group Holding Limited, headquartered in Hangzhou\n" +
		path + ":3: HIGH us-icts/control 66.102.241.1: 66.102.241.1 (China Telecom (CHINANET, CN2)) is controlled from CN, a foreign adversary under 15 CFR 791.4: ultimate parent State-owned Assets Supervision and Administration Commission of the State Council, headquartered in Beijing (state-owned)\n" +
		path + ":5: HIGH us-icts/layer-control example.cn dns: the dns layer of example.cn depends on infrastructure controlled from CN (providers: alibaba-cloud)\n" +
		path + ":6: HIGH us-icts/flow-control RU: 5000 bytes in 2 flows went to infrastructure controlled from RU\n"
	if code != 0 || out != wantOut {
		t.Errorf("policy check: exit %d\n%s\nwant\n%s", code, out, wantOut)
	}
	if stderr != "sovmap: policy check: 5 records, 4 findings (4 high); 1 record of unknown kind or errors skipped\n" {
		t.Errorf("policy check stderr %q", stderr)
	}

	code, out, _ = polRun(t, "", "policy", "check", "--policy", "fcc-covered", "--format", "json", "--fail-on", "high", path)
	var f struct {
		File, Kind, Subject, Rule string
		Line                      int
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &f); code != 1 || err != nil || f.Line != 3 || f.Rule != "fcc-covered/entity" || f.Subject != "66.102.241.1" || f.Kind != "ip" {
		t.Errorf("policy check --format json: exit %d, %v, %+v\n%s", code, err, f, out)
	}

	code, out, _ = polRun(t, records, "policy", "check", "--policy", "all", "--format", "sarif", "-")
	if err := policy.ValidateSARIF([]byte(out)); code != 0 || err != nil {
		t.Errorf("policy check --format sarif: exit %d, %v", code, err)
	}
	if !strings.Contains(out, `"uri": "stdin"`) || !strings.Contains(out, `"startLine": 5`) || !strings.Contains(out, "concentration/single-dns-provider") {
		t.Errorf("SARIF lacks physical locations or a layer finding:\n%s", out)
	}

	// Population rules summarise the input, one population per kind.
	code, out, _ = polRun(t, records+strings.Repeat(`{"ip":"8.8.8.8","provider":{"id":"google-cloud","name":"Google Cloud"}}`+"\n", 4), "policy", "check", "--policy", "concentration", "-")
	if code != 0 || !strings.Contains(out, "-: MEDIUM concentration/population-share - (ip records): Google Cloud serves 57.1% of - (ip records) (4 of 7)") {
		t.Errorf("population: exit %d\n%s", code, out)
	}

	// An invalid line is reported and exits 1; the rest is checked.
	code, out, stderr = polRun(t, "{\"ip\":\"47.88.1.1\",\"control\":{\"country\":\"CN\",\"basis\":\"b\"}}\nnot json\n", "policy", "check", "--policy", "us-icts", "--kind", "ip")
	if code != 1 || !strings.Contains(stderr, "sovmap: policy check: stdin:2: not a JSON object") || !strings.Contains(out, "stdin:1: HIGH us-icts/control") {
		t.Errorf("invalid line: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, _ := polRun(t, "", "policy", "check", "--policy", "us-icts", "/nonexistent.ndjson"); code != 3 {
		t.Errorf("missing file: exit %d, want 3", code)
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
		t.Skipf("flows --json: exit %d: %s", code, stderr)
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
