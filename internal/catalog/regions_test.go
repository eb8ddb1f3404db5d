package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/aws"
	"github.com/sovmap/sovmap/internal/source/azure"
	"github.com/sovmap/sovmap/internal/source/feed/feedtest"
	"github.com/sovmap/sovmap/internal/source/gcp"
	"github.com/sovmap/sovmap/internal/source/oracle"
)

// unsourced are region IDs of the real feeds that no source places in a
// country, so that the region tables leave them out on purpose.
var unsourced = map[string]bool{
	"aws/me-west-1":      true, // in ip-ranges.json, in no AWS document; "me" is no country
	"azure/northeurope2": true, // in the Service Tags only; the name states no country
}

// TestFeedRegionsInCatalog parses the providers' real feeds, when the shared
// data is present, and fails for each region ID they use that the catalog in
// data/ gives no region entry.
func TestFeedRegionsInCatalog(t *testing.T) {
	c := loadDir(t, "data")
	feeds := []struct {
		file  string
		parse feedtest.Parser
		// provider returns the catalog provider of a region ID, or "" to
		// skip the region.
		provider func(region string) string
	}{
		{"aws-ip-ranges.json.gz", aws.Parse, func(r string) string {
			switch {
			case r == "GLOBAL":
				return ""
			case strings.HasPrefix(r, "cn-"):
				return "aws-china"
			}
			return "aws"
		}},
		{"google-cloud-ip-ranges.json", gcp.Parse, func(r string) string {
			if r == "global" {
				return ""
			}
			return "google-cloud"
		}},
		{"microsoft-azure-ip-ranges.json.gz", azure.Parse, func(r string) string {
			if r == "" {
				return "" // tags that span regions
			}
			return "azure"
		}},
		{"oracle-cloud-ip-ranges.json", oracle.Parse, func(string) string { return "oracle-cloud" }},
	}
	for _, f := range feeds {
		t.Run(f.file, func(t *testing.T) {
			rs, err := f.parse(feedtest.Open(t, f.file))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			var missing []string
			for _, r := range rs {
				if seen[r.Region] {
					continue
				}
				seen[r.Region] = true
				pid := f.provider(r.Region)
				if pid == "" || unsourced[pid+"/"+r.Region] {
					continue
				}
				p, ok := c.Provider(pid)
				if !ok {
					t.Fatalf("no provider %q in the catalog", pid)
				}
				if _, ok := p.Region(r.Region); !ok {
					missing = append(missing, pid+"/"+r.Region)
				}
			}
			sort.Strings(missing)
			for _, m := range missing {
				t.Errorf("region %s is in %s but not in the catalog", m, f.file)
			}
		})
	}
}

// loadDir loads the catalog of the YAML files in dir, so that the test checks
// data/ itself rather than the compiled copy.
func loadDir(t *testing.T, dir string) *attribution.Catalog {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var all []attribution.CatalogData
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(filepath.Base(n), bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, d)
	}
	c, err := attribution.NewCatalog(all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
