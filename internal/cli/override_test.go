package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/cli"
)

// TestUserRangeOverride checks precedence 1 of DESIGN §3: a user's catalog
// file that claims a prefix for a provider overrides the routing evidence,
// which is still listed.
func TestUserRangeOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "ours.yaml")
	const yaml = `
sources:
  - {id: ours, url: https://intranet.example/ipam, date: 2026-11-01}
companies:
  - {id: example-corp, name: Example Corp, headquarters: FR, city: Paris, sources: [ours]}
providers:
  - {id: example-hosting, name: Example hosting, kinds: [hosting], operator: example-corp, sources: [ours]}
ranges:
  - {prefix: 47.88.1.0/24, provider: example-hosting, country: FR, city: Paris, note: colocation contract 42, source: ours}
  - {prefix: 47.88.0.0/16, provider: aws, source: ours}
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"ip", "--json", "--catalog", file, "47.88.1.1", "47.88.2.1", "8.8.8.8"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), stdout.String())
	}
	type rec struct {
		Provider struct{ ID string }
		Control  struct{ Country string }
		Location struct{ Country, City, Source string }
		ASN      uint32
		Evidence []struct{ Method, Detail, Provider string }
	}
	var r [3]rec
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &r[i]); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	// The most specific claim wins; both claims and the ASN evidence stay.
	if r[0].Provider.ID != "example-hosting" || r[0].Control.Country != "FR" || r[0].Location.Country != "FR" || r[0].Location.Source != "user-catalog" {
		t.Errorf("47.88.1.1 = %+v, want example-hosting, control FR, location FR from the user catalog", r[0])
	}
	if len(r[0].Evidence) != 3 || r[0].Evidence[0].Method != "override" || r[0].Evidence[1].Method != "override" || r[0].Evidence[2].Method != "asn" {
		t.Errorf("47.88.1.1 evidence = %+v, want override, override, asn", r[0].Evidence)
	}
	if r[0].ASN != 45102 {
		t.Errorf("47.88.1.1 asn = %d, want the routing data's 45102 kept", r[0].ASN)
	}
	if r[1].Provider.ID != "aws" || r[1].Control.Country != "US" {
		t.Errorf("47.88.2.1 = %+v, want the /16 claim: aws, US", r[1])
	}
	if r[2].Provider.ID != "google-cloud" || r[2].Evidence[0].Method != "asn" {
		t.Errorf("8.8.8.8 = %+v, want no override", r[2])
	}
}

func TestUserRangeOverrideErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	const yaml = `
sources:
  - {id: ours, url: https://intranet.example/ipam, date: 2026-11-01}
ranges:
  - {prefix: 10.0.0.0/33, provider: aws, source: ours}
  - {prefix: 10.0.0.0/8, provider: nobody, source: ours}
  - {prefix: 10.0.0.0/8, provider: aws, source: unknown}
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"ip", "--catalog", file, "1.1.1.1"}, strings.NewReader(""), &stdout, &stderr)
	if code != 3 {
		t.Fatalf("exit %d, want 3", code)
	}
	for _, want := range []string{"bad.yaml:5: range 10.0.0.0/33", `bad.yaml:6: range 10.0.0.0/8: unknown provider "nobody"`, `bad.yaml:7: range 10.0.0.0/8: unknown source "unknown"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

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
			b.WriteString("sources:\n  - {id: ours, url: https://intranet.example/ipam, date: 2026-11-01}\nranges:\n")
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
