package cli_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const screenTestdata = "../screen/testdata/"

func TestScreenCSV(t *testing.T) {
	t.Parallel()
	code, out, stderr := polRun(t, "", "screen", screenTestdata+"vendors.csv")
	if code != 1 {
		t.Errorf("screen vendors.csv: exit %d, want 1 (hits)", code)
	}
	if stderr != "sovmap: screen: 13 names screened: 4 hits, 2 near misses\n" {
		t.Errorf("stderr %q", stderr)
	}
	for _, w := range []string{
		screenTestdata + "vendors.csv:3 Manufacturer \"Hangzhou Hikvision Digital Technology Co., Ltd.\"\n  HIT Hangzhou Hikvision Digital Technology Company (exact, score 1.00)\n",
		"    FCC Covered List since 2021-03-12: Hangzhou Hikvision Digital Technology Company\n         https://docs.fcc.gov/public/attachments/DA-21-309A1.pdf\n",
		"    NDAA section 889 since 2018-08-13: Hangzhou Hikvision Digital Technology Company\n",
		screenTestdata + "vendors.csv:6 Vendor Name \"Lorex Technology Inc.\"\n  near miss Dahua Technology Company (exact, score 1.00)\n    why: the name is Lorex Technology Inc., a former subsidiary of Dahua Technology Company until 2022-11-24",
		screenTestdata + "vendors.csv:8 Manufacturer \"Hytera Communications Corporation Limited\"\n  HIT Hytera Communications Corporation",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("screen output lacks\n%s\n---\n%s", w, out)
		}
	}
	if strings.Contains(out, "Cisco") || strings.Contains(out, "Zeta") {
		t.Errorf("clear names printed without --all:\n%s", out)
	}
	code, out, _ = polRun(t, "", "screen", "--all", "--fail-on", "none", screenTestdata+"vendors.csv")
	if code != 0 || !strings.Contains(out, "\"Zeta Technologies\"\n  clear\n") {
		t.Errorf("--all --fail-on none: exit %d\n%s", code, out)
	}
	code, _, _ = polRun(t, "", "screen", "--fail-on", "near-miss", "--column", "Vendor Name", screenTestdata+"vendors.csv")
	if code != 1 {
		t.Errorf("--fail-on near-miss: exit %d, want 1", code)
	}
}

func TestScreenJSON(t *testing.T) {
	t.Parallel()
	code, out, _ := polRun(t, "", "screen", "--json", "--list", "ndaa-889", screenTestdata+"sbom.cdx.json")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5:\n%s", len(lines), out)
	}
	var rec struct {
		File, Path, Field, Context, Name, Status string
		Matches                                  []struct {
			Entity, Status, Method, Relation, Why, Source string
			Score                                         float64
			Listings                                      []struct{ List, Since, Source string }
		}
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	m := rec.Matches[0]
	if rec.Path != "components[0].manufacturer.name" || rec.Name != "EZVIZ Inc." || rec.Context != "IPC firmware@5.7.3" ||
		m.Entity != "hikvision" || m.Relation != "subsidiary" || m.Status != "hit" || m.Score != 1 ||
		!strings.HasPrefix(m.Source, "https://") || len(m.Listings) != 2 || m.Listings[0].Since != "2021-03-12" {
		t.Errorf("SBOM line: %+v", rec)
	}
}

func TestScreenStdinAndErrors(t *testing.T) {
	t.Parallel()
	code, out, _ := polRun(t, "Supplier\n华为技术有限公司\nАО «Лаборатория Касперского»\n", "screen", "-")
	if code != 1 || !strings.Contains(out, "stdin:2 Supplier \"华为技术有限公司\"\n  HIT Huawei Technologies Company") || !strings.Contains(out, "HIT AO Kaspersky Lab") {
		t.Errorf("stdin: exit %d\n%s", code, out)
	}
	code, _, stderr := polRun(t, "a,b\n1,2\n", "screen", "-")
	if code != 1 || !strings.Contains(stderr, "cannot tell which column holds the names") {
		t.Errorf("ambiguous CSV: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = polRun(t, `{"bomFormat":"SPDX"}`, "screen", "-")
	if code != 1 || !strings.Contains(stderr, `bomFormat is "SPDX"`) {
		t.Errorf("SPDX: exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := polRun(t, "", "screen", "/nonexistent.csv"); code != 3 {
		t.Errorf("missing file: exit %d, want 3", code)
	}
}

// TestDocsScreenExample checks that the example of docs/screen.md is what
// sovmap prints.
func TestDocsScreenExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/screen.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "$ sovmap screen vendors.csv\n"
	_, after, ok := strings.Cut(string(doc), cmd)
	if !ok {
		t.Fatalf("docs/screen.md lacks a block starting %q", cmd)
	}
	shown, _, _ := strings.Cut(after, "```")
	_, out, stderr := polRun(t, "", "screen", screenTestdata+"vendors.csv")
	got := strings.ReplaceAll(out+stderr, screenTestdata, "")
	if got != shown {
		t.Errorf("docs/screen.md shows\n%s\nsovmap prints\n%s", shown, got)
	}
}
