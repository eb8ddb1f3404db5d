package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/cli"
)

const policyZone = `$ORIGIN gov.
$TTL 3600
@ IN SOA a.gov. b.gov. 1 2 3 4 5
x IN NS ns1.dnspod.net.
y IN NS ns-1.awsdns-01.com.
z IN NS dns1.hichina.com.
`

func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// TestScanPolicy checks "scan --policy": findings join the records of the
// layers that break a rule, --fail-on sets the exit status, and --format
// sarif writes a SARIF log.
func TestScanPolicy(t *testing.T) {
	t.Parallel()
	out, errOut, code := runCLI(t, policyZone, "scan", "--zone", "-", "--json", "--policy", "us-icts")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	with := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Domain   string
			Findings []struct{ Rule string }
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		with[r.Domain] = len(r.Findings)
	}
	if with["x.gov"] == 0 || with["z.gov"] == 0 || with["y.gov"] != 0 {
		t.Errorf("findings per domain = %v, want x.gov and z.gov (Chinese DNS) only", with)
	}
	if !strings.Contains(errOut, "sovmap: scan: 2 findings (2 high)") {
		t.Errorf("stderr = %q, want the findings summary", errOut)
	}
	if _, errOut, code := runCLI(t, policyZone, "scan", "--zone", "-", "--policy", "us-icts", "--fail-on", "high"); code != 1 {
		t.Errorf("--fail-on high: exit %d, want 1: %s", code, errOut)
	}
	out, errOut, code = runCLI(t, policyZone, "scan", "--zone", "-", "--policy", "us-icts", "--format", "sarif")
	if code != 0 {
		t.Fatalf("sarif: exit %d: %s", code, errOut)
	}
	var log struct {
		Version string
		Runs    []struct{ Results []struct{ RuleID string } }
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 2 {
		t.Errorf("SARIF = %v, %+v, want version 2.1.0 with 2 results:\n%s", err, log, out)
	}
	if _, _, code := runCLI(t, policyZone, "scan", "--zone", "-", "--format", "sarif"); code != 2 {
		t.Errorf("--format sarif without --policy: exit %d, want 2", code)
	}
}

// TestFlowsPolicy checks "flows --policy" on a small Zeek log with traffic
// to an address controlled from China.
func TestFlowsPolicy(t *testing.T) {
	t.Parallel()
	log := "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\torig_pkts\tresp_pkts\n" +
		"1700000000.0\tC1\t10.0.0.1\t5000\t47.88.1.1\t443\ttcp\t1000\t2000\t10\t20\n" +
		"1700000001.0\tC2\t10.0.0.1\t5001\t8.8.8.8\t53\tudp\t100\t200\t1\t1\n"
	file := filepath.Join(t.TempDir(), "conn.log")
	if err := os.WriteFile(file, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "flows", "--json", "--policy", "us-icts", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s struct {
		Findings []struct{ Rule, Message string }
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Findings) == 0 || !strings.Contains(s.Findings[0].Message, "CN") {
		t.Errorf("findings = %+v, want traffic to CN reported", s.Findings)
	}
	if _, _, code := runCLI(t, "", "flows", "--policy", "us-icts", "--fail-on", "high", file); code != 1 {
		t.Errorf("--fail-on high: exit %d, want 1", code)
	}
	if _, _, code := runCLI(t, "", "flows", "--policy", "no-such-pack", file); code == 0 {
		t.Errorf("unknown pack: exit 0, want an error")
	}
}

// TestFlowsPolicyOperator checks that flow groups carry the operator, so
// that rules about operators (fcc-covered) fire on flows, and that flows
// can be grouped by operator.
func TestFlowsPolicyOperator(t *testing.T) {
	t.Parallel()
	log := "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\torig_pkts\tresp_pkts\n" +
		"1700000000.0\tC1\t10.0.0.1\t5000\t66.102.241.1\t443\ttcp\t1000\t2000\t10\t20\n" +
		"1700000001.0\tC2\t10.0.0.1\t5001\t51.38.0.1\t443\ttcp\t100\t200\t1\t1\n"
	file := filepath.Join(t.TempDir(), "conn.log")
	if err := os.WriteFile(file, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "flows", "--json", "--by", "operator,provider", "--policy", "fcc-covered", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s struct {
		Groups []struct {
			By   string
			Rows []struct{ Key, Name, Operator, Provider string }
		}
		Findings []struct{ Rule, Message string }
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Groups) != 2 || s.Groups[0].By != "operator" || s.Groups[0].Rows[0].Key != "china-telecom-americas" ||
		s.Groups[1].Rows[0].Operator != "china-telecom-americas" {
		t.Errorf("groups = %+v, want China Telecom (Americas) first by operator and as the operator of its provider row", s.Groups)
	}
	found := false
	for _, f := range s.Findings {
		if f.Rule == "fcc-covered/flow" && strings.Contains(f.Message, "China Telecom (Americas)") {
			found = true
		}
	}
	if !found {
		t.Errorf("findings = %+v, want fcc-covered/flow naming China Telecom (Americas)", s.Findings)
	}
}
