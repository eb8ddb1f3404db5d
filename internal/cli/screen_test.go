package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/cli"
)

const screenTestdata = "../screen/testdata/"

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
	// The fields this test pins; the source is any https URL.
	type match struct {
		Entity, Relation, Status string
		Score                    float64
		HTTPSSource              bool
		Since                    []string
	}
	type line struct {
		Path, Name, Context string
		Matches             []match
	}
	got := line{Path: rec.Path, Name: rec.Name, Context: rec.Context}
	for _, m := range rec.Matches {
		gm := match{m.Entity, m.Relation, m.Status, m.Score, strings.HasPrefix(m.Source, "https://"), nil}
		for _, l := range m.Listings {
			gm.Since = append(gm.Since, l.Since)
		}
		got.Matches = append(got.Matches, gm)
	}
	want := line{"components[0].manufacturer.name", "EZVIZ Inc.", "IPC firmware@5.7.3", []match{
		{"hikvision", "subsidiary", "hit", 1, true, []string{"2021-03-12", "2018-08-13"}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("screen --json sbom.cdx.json: line 2 mismatch (-want +got):\n%s", diff)
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

// TestScreenDirectory checks that a directory is a file that cannot be
// read (exit status 3, as for flows and scan), and that the other files are
// screened all the same.
func TestScreenDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, stderr := polRun(t, "", "screen", dir)
	if code != 3 || !strings.Contains(stderr, "is a directory") {
		t.Errorf("screen DIR: exit %d, want 3; stderr %q", code, stderr)
	}
	code, out, stderr := polRun(t, "", "screen", dir, screenTestdata+"vendors.csv")
	if code != 3 || !strings.Contains(out, "HIT Huawei Technologies Company") || !strings.Contains(stderr, "13 names screened: 4 hits") {
		t.Errorf("screen DIR vendors.csv: exit %d, want 3, and the hits of vendors.csv\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if code, _, _ := polRun(t, "", "screen", "/nonexistent.csv", screenTestdata+"vendors.csv"); code != 3 {
		t.Errorf("missing file and vendors.csv: exit %d, want 3", code)
	}
}

// TestScreenQuotesInput checks that no byte of a hostile inventory reaches
// the terminal unquoted: control characters and bidirectional controls in
// file names, headers and names are escaped in output and errors.
func TestScreenQuotesInput(t *testing.T) {
	t.Parallel()
	odd := func(s string) int {
		return strings.IndexFunc(s, func(r rune) bool {
			return r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069)
		})
	}
	hostile := polTemp(t, "v\x1b[2J\u202e.csv", "Vendor\x1b[1m\x07 Name\nHua\x1b[31mwei\nHuawei\n")
	tests := []struct {
		name, stdin string
		args        []string
		want        string // in stdout or stderr
	}{
		{"header, name and file name", "", []string{"screen", "--all", hostile}, `v\x1b[2J\u202e.csv":2 "Vendor\x1b[1m\a Name" "Hua\x1b[31mwei"`},
		{"JSON", "", []string{"screen", "--json", hostile}, `"field":"Vendor\u001b[1m\u0007 Name"`},
		{"header in an error", "a\x1b[2J,b\n1,2\n", []string{"screen", "-"}, `(header: "a\x1b[2J", "b")`},
		{"file name in an error", "", []string{"screen", filepath.Dir(hostile) + "/x\x1b[2J"}, `x\x1b[2J": no such file`},
		{"component in an SBOM", `{"bomFormat":"CycloneDX","components":[{"name":"a\u001b[2Jb","publisher":"Huawei \u202eTechnologies"}]}`,
			[]string{"screen", "--all", "-"}, `"Huawei \u202eTechnologies" (component "a\x1b[2Jb")`},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, out, stderr := polRun(t, test.stdin, test.args...)
			all := out + stderr
			if slices.Contains(test.args, "--json") {
				// JSON escapes control characters, not bidirectional
				// controls: it is read by programs.
				if i := strings.IndexFunc(out, func(r rune) bool { return r < 0x20 && r != '\n' }); i >= 0 {
					t.Errorf("JSON has a control character at %d:\n%q", i, out)
				}
				out = ""
			}
			if i := odd(out); i >= 0 {
				t.Errorf("stdout has an unquoted control character at %d:\n%q", i, out)
			}
			if i := odd(stderr); i >= 0 {
				t.Errorf("stderr has an unquoted control character at %d:\n%q", i, stderr)
			}
			if !strings.Contains(all, test.want) {
				t.Errorf("output lacks %s\nstdout:\n%s\nstderr:\n%s", test.want, out, stderr)
			}
		})
	}
}

// TestScreenLongNames checks that a name of megabytes is screened by its
// first 1024 bytes, in bounded time, and counted in the summary and marked
// in --json output.
func TestScreenLongNames(t *testing.T) {
	t.Parallel()
	in := "vendor\nHuawei " + strings.Repeat("x", 4<<20) + "\n" + strings.Repeat("Acme Cameras ", 1<<20) + "\nCisco\n"
	type result struct {
		code        int
		out, stderr string
	}
	run := func(args ...string) result {
		done := make(chan result, 1)
		go func() {
			code, out, stderr := polRun(t, in, args...)
			done <- result{code, out, stderr}
		}()
		select {
		case r := <-done:
			return r
		case <-time.After(2 * time.Minute): // a hang detector, not a timing
			t.Fatalf("sovmap %s on names of 4 and 13 MB: no answer after 2 minutes", strings.Join(args, " "))
			return result{}
		}
	}
	r := run("screen", "-")
	if r.code != 1 || !strings.Contains(r.out, "stdin:2 vendor \"Huawei\" (longer than 1024 bytes: its beginning was screened)\n  HIT Huawei Technologies Company") {
		t.Errorf("screen: exit %d, want 1 and the hit of the first name\n%.2000s", r.code, r.out)
	}
	if want := "sovmap: screen: 3 names screened: 1 hit, 0 near misses; 2 names longer than 1024 bytes cut to 1024\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	r = run("screen", "--json", "--all", "-")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 {
		t.Fatalf("--json: %d lines, want 3", len(lines))
	}
	for i, want := range []bool{true, true, false} {
		var rec struct {
			Name      string
			Truncated bool
		}
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Truncated != want || len(rec.Name) > 1024 {
			t.Errorf("--json line %d: truncated %v (want %v), name of %d bytes", i+1, rec.Truncated, want, len(rec.Name))
		}
	}
}

// BenchmarkScreenSBOM screens a CycloneDX SBOM of 200,000 components, each
// with a supplier, a publisher, a group and a name, through the command.
func BenchmarkScreenSBOM(b *testing.B) {
	suppliers := []string{
		"Apache Software Foundation", "Eclipse Foundation", "Red Hat, Inc.", "Microsoft Corporation", "Google LLC",
		"Oracle America, Inc.", "Huawei Technologies Co., Ltd.", "Alibaba Cloud", "Tencent", "JetBrains s.r.o.",
		"The Linux Foundation", "Canonical Ltd.", "Hangzhou Hikvision Digital Technology Co., Ltd.", "Pivotal Software",
	}
	words := []string{"core", "util", "http", "json", "log", "crypto", "net", "io", "cache", "auth", "stream", "codec", "parser", "client", "server"}
	var sb strings.Builder
	sb.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[`)
	const n = 200_000
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		s := suppliers[i%len(suppliers)]
		fmt.Fprintf(&sb, `{"type":"library","group":"org.%s%d","name":"%s-%s-%d","version":"1.%d.0","supplier":{"name":%q},"publisher":"%s Team %d"}`,
			words[i%len(words)], i%997, words[i%7], words[i%len(words)], i, i%50, s, strings.ToUpper(words[(i/7)%len(words)]), i%311)
	}
	sb.WriteString("]}")
	sbom := sb.String()
	b.SetBytes(int64(len(sbom)))
	b.ReportAllocs()
	runs := 0
	for b.Loop() {
		runs++
		var o, e bytes.Buffer
		if code := cli.Run(context.Background(), []string{"screen", "--fail-on", "none", "-"}, strings.NewReader(sbom), &o, &e); code != 0 {
			b.Fatalf("exit %d: %s", code, e.String())
		}
	}
	b.ReportMetric(float64(n*runs)/b.Elapsed().Seconds(), "components/s")
}
