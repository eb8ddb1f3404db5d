package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/cli"
)

func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
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
	// China Telecom (Americas) comes first by operator, and is the
	// operator of the first provider row.
	type first struct{ By, Key, Operator string }
	var got []first
	for _, g := range s.Groups {
		got = append(got, first{By: g.By, Key: g.Rows[0].Key, Operator: g.Rows[0].Operator})
	}
	want := []first{
		{By: "operator", Key: "china-telecom-americas", Operator: "china-telecom-americas"},
		{By: "provider", Key: "china-telecom", Operator: "china-telecom-americas"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flows --by operator,provider: first rows mismatch (-want +got):\n%s", diff)
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
