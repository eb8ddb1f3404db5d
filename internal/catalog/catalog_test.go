package catalog

import (
	"strings"
	"testing"
)

// TestEmbeddedCatalog loads the embedded catalog; NewCatalog fails on any
// claim without a known source, unknown references and loops.
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
