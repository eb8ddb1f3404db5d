package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/cli"
)

// TestUserCatalogErrorsCapped checks that a catalog file with thousands of
// problems makes a short message: the first ones, with file and line, then a
// count of the rest.
func TestUserCatalogErrorsCapped(t *testing.T) {
	t.Parallel()
	const n = 5000
	tests := []struct {
		name  string
		entry func(i int) string // one entry of a ranges list
		first string             // the first problem, after "bad.yaml:4: "
	}{
		{
			name: "unknown providers",
			entry: func(i int) string {
				return fmt.Sprintf("{prefix: 10.0.%d.%d/32, provider: nobody, source: ours}", i/256, i%256)
			},
			first: `range 10.0.0.0/32: unknown provider "nobody"`,
		},
		{
			name: "unknown fields",
			entry: func(i int) string {
				return fmt.Sprintf("{prefix: 10.0.%d.%d/32, provder: aws, source: ours}", i/256, i%256)
			},
			first: "field provder not found in type attribution.RangeClaim",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			b.WriteString("sources:\n  - {id: ours, kind: official, url: https://intranet.example/ipam, date: 2026-11-01}\nranges:\n")
			for i := range n {
				b.WriteString("  - " + test.entry(i) + "\n")
			}
			file := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), []string{"ip", "--catalog", file, "1.1.1.1"}, strings.NewReader(""), &stdout, &stderr)
			if code != 3 {
				t.Fatalf("exit %d, want 3; stderr:\n%s", code, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != attribution.MaxShownProblems+1 {
				t.Errorf("stderr has %d lines, want %d", len(lines), attribution.MaxShownProblems+1)
			}
			if want := file + ":4: " + test.first; !strings.HasSuffix(lines[0], want) {
				t.Errorf("stderr line 1 = %q, want it to end %q", lines[0], want)
			}
			if want := fmt.Sprintf("sovmap:   ... and %d more errors in %s", n-attribution.MaxShownProblems, file); lines[len(lines)-1] != want {
				t.Errorf("stderr last line = %q, want %q", lines[len(lines)-1], want)
			}
		})
	}
}

// TestUserCatalogTooLarge checks that a catalog file over the size limit is
// refused, by name, before it is decoded.
func TestUserCatalogTooLarge(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: the size without the disk space.
	if err := f.Truncate(catalog.MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"ip", "--catalog", file, "1.1.1.1"}, strings.NewReader(""), &stdout, &stderr)
	if code != 3 {
		t.Fatalf("exit %d, want 3; stderr:\n%s", code, stderr.String())
	}
	if want := fmt.Sprintf("sovmap: ip: catalog: %s: larger than %d MiB, the limit for a catalog file\n", file, catalog.MaxFileSize>>20); stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}
