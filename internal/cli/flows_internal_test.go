package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// TestFlowsParallel checks that "sovmap flows" gives the same output,
// accounting included, whether it reads a log in one piece or in parts.
// It lowers minParallel, so it must not run in parallel with other tests.
func TestFlowsParallel(t *testing.T) {
	defer func(v int64) { minParallel = v }(minParallel)
	minParallel = 1
	data := flowtest.ConnLog(20_000, flowtest.RemoteAddrs(2_000, 5), 5, false)
	var b bytes.Buffer
	for i, l := range bytes.SplitAfter(data, []byte{'\n'}) {
		b.Write(l)
		if i > 20 && i%1999 == 0 {
			b.WriteString("broken\tline\n")
		}
	}
	dir := t.TempDir()
	tsv := filepath.Join(dir, "conn.log")
	if err := os.WriteFile(tsv, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(dir, "conn.json")
	if err := os.WriteFile(jsonl, flowtest.ConnLog(10_000, flowtest.RemoteAddrs(1_000, 6), 6, true), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), append([]string{"flows"}, args...), strings.NewReader(""), &stdout, &stderr)
		return stdout.String(), code
	}
	for _, in := range []string{tsv, jsonl} {
		for _, format := range []string{"--json", "--text"} {
			want, wantCode := run(format, "--by", "control,provider,operator,asn,remote-ip,service", "--top", "0", "--parallel", "1", in)
			for _, n := range []string{"2", "5"} {
				got, code := run(format, "--by", "control,provider,operator,asn,remote-ip,service", "--top", "0", "--parallel", n, in)
				if got != want || code != wantCode {
					t.Errorf("%s %s --parallel %s: exit %d, output differs from --parallel 1 (exit %d):\n%s\nwant\n%s", in, format, n, code, wantCode, got[:min(len(got), 2000)], want[:min(len(want), 2000)])
				}
			}
		}
	}
	if _, code := run("--parallel", "0", tsv); code != exitUsage {
		t.Errorf("--parallel 0: exit %d, want %d", code, exitUsage)
	}
}

func TestDataAgeWarning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		built  string
		maxAge int
		warn   bool
	}{
		{"2026-06-17", 90, true},  // 174 days
		{"2026-09-10", 90, false}, // 89 days
		{"2026-09-08", 90, true},  // 91 days
		{"2026-06-17", 0, false},  // off
		{"", 90, false},           // unknown date
		{"2026-99-99", 90, false},
	} {
		got := dataAgeWarning(tt.built, now, tt.maxAge)
		if (got != "") != tt.warn {
			t.Errorf("dataAgeWarning(%q, max %d) = %q, want a warning: %v", tt.built, tt.maxAge, got, tt.warn)
		}
		if tt.warn && !strings.Contains(got, "sovmap data update") {
			t.Errorf("dataAgeWarning(%q) = %q, without the command that refreshes the data", tt.built, got)
		}
	}
}
