package catalog

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite compiled.json from data/*.yaml")

// TestCompiledUpToDate fails while compiled.json does not match data/*.yaml.
// Compile also validates the catalog: every claim must cite a known source,
// references must resolve and parent chains must not loop.
func TestCompiledUpToDate(t *testing.T) {
	got, err := Compile("data")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("compiled.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("compiled.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("compiled.json is stale: run go test ./internal/catalog -update")
	}
}

func TestEmbeddedCatalog(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.ProviderIDs()); n == 0 {
		t.Fatal("no providers")
	}
}

func TestParseRejectsUnknownField(t *testing.T) {
	_, err := Parse("x.yaml", strings.NewReader("companies:\n  - id: a\n    nmae: A\n"))
	if err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("Parse = %v, want error naming the unknown field", err)
	}
}
