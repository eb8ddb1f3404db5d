package catalog

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileHeader declares a source for the inputs of TestParseHostile.
const hostileHeader = "sources: [{id: s, kind: official, url: https://x.example, date: 2026-01-01}]\n"

// hostileProvider starts a provider p, operated by a, indented for more
// fields.
const hostileProvider = "providers:\n  - id: p\n    name: P\n    kinds: [cloud]\n    operator: a\n    sources: [s]\n"

// TestParseHostile parses, checks and uses catalogs built to be slow: each
// once took minutes, through a quadratic step of NewCatalog or of a look-up
// (attribution's TestNewCatalogLarge has more, built without YAML). The
// deadline only detects a hang; each takes about a second.
func TestParseHostile(t *testing.T) {
	tests := []struct {
		name string
		in   func() string
	}{
		{
			// 20,000 companies, each the parent of the previous: the loop
			// check walked every chain from its start (quadratic).
			name: "long parent chain",
			in: func() string {
				var b strings.Builder
				b.WriteString(hostileHeader + "companies:\n")
				const n = 20000
				for i := range n {
					fmt.Fprintf(&b, "  - {id: c%d, name: C, headquarters: US, parent: c%d, sources: [s]}\n", i, i+1)
				}
				fmt.Fprintf(&b, "  - {id: c%d, name: C, headquarters: US, sources: [s]}\n", n)
				return b.String()
			},
		},
		{
			// 15 KB: one pattern repeated by 10,000 aliases, and AS names
			// of 2,000 bytes that hold its first four bytes at each
			// position: MatchName gathered 2,000 × 10,000 candidates a name.
			name: "aliased name patterns",
			in: func() string {
				return hostileHeader +
					"companies: [{id: a, name: A, headquarters: US, sources: [s]}]\n" +
					hostileProvider +
					"    asns: [&x {asn: 1, name: " + strings.Repeat("a", 2000) + ", source: s}" + strings.Repeat(", *x", 50) + "]\n" +
					"    names: [{source: s, patterns: [&p aaaaa" + strings.Repeat(", *p", 10000) + "]}]\n"
			},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			in := test.in()
			done := make(chan struct{})
			go func() {
				defer close(done)
				parseAndUse(in)
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("parsing and using the catalog (%d bytes) did not end within 30s", len(in))
			}
		})
	}
}

// repeatReader reads one byte forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	// A comment one byte over the limit: valid YAML, refused for its size.
	_, err := Parse("huge.yaml", io.MultiReader(strings.NewReader("#"), io.LimitReader(repeatReader('x'), MaxFileSize)))
	if want := "catalog: huge.yaml: larger than 32 MiB, the limit for a catalog file"; err == nil || err.Error() != want {
		t.Errorf("Parse(a file of MaxFileSize+1 bytes) = %v, want %q", err, want)
	}
	// At the limit, it is read.
	if _, err := Parse("max.yaml", io.MultiReader(strings.NewReader("#"), io.LimitReader(repeatReader('x'), MaxFileSize-1))); err != nil {
		t.Errorf("Parse(a file of MaxFileSize bytes) = %v, want no error", err)
	}
}

// TestParseErrorLines checks that the problems of a file name their line,
// from the YAML decoder and from the checks of the catalog alike.
func TestParseErrorLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // the error of Load
	}{
		{
			name: "unknown field",
			in:   "companies:\n  - id: a\n    nmae: A\n",
			want: "catalog: FILE:3: field nmae not found in type attribution.Company",
		},
		{
			name: "syntax",
			in:   "companies: []\nproviders: [\n",
			want: "catalog: FILE:2: did not find expected node content",
		},
		{
			name: "check",
			in: `sources: [{id: s, kind: official, url: https://x.example, date: 2026-01-01}]
companies:
  - id: a
    name: A
    headquarters: US
    sources: [s]
  - &b {id: b, name: B, headquarters: USA, sources: [s]}
providers:
  - {id: p, name: P, kinds: [cloud], operator: a, sources: [s]}
  - id: q
    name: Q
    kinds: [cloud]
    operator: a
    sources: [s]
    asns: [{asn: 1, source: nowhere}]
ranges:
  - {prefix: 10.0.0.0/8, provider: p, source: s}
  - {prefix: 10.0.0.0/88, provider: p, source: s}
`,
			want: `catalog: FILE:7: company b: headquarters "USA" is not a two-letter country code
FILE:10: provider q AS1: unknown source "nowhere"
FILE:18: range 10.0.0.0/88: netip.ParsePrefix("10.0.0.0/88"): prefix length out of range`,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "ours.yaml")
			if err := os.WriteFile(file, []byte(test.in), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file)
			if want := strings.ReplaceAll(test.want, "FILE", file); err == nil || err.Error() != want {
				t.Errorf("Load(%s) = %v, want\n%s", test.name, err, want)
			}
		})
	}
}
