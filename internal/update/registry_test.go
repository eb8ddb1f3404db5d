package update

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// TestRegistry checks the promises of the registry: unique names and file
// names, a parser for every feed, HTTPS default URLs, a reason for every
// missing URL, and feed providers that the catalog knows.
func TestRegistry(t *testing.T) {
	t.Parallel()
	c, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	names, files := map[string]bool{}, map[string]bool{}
	for _, s := range Sources() {
		if names[s.Name] || files[s.File] {
			t.Errorf("%s: name or file %s used twice", s.Name, s.File)
		}
		names[s.Name], files[s.File] = true, true
		if s.URL != "" && !strings.HasPrefix(s.URL, "https://") {
			t.Errorf("%s: default URL %s is not HTTPS", s.Name, s.URL)
		}
		if s.Note == "" {
			t.Errorf("%s: no note", s.Name)
		}
		switch s.Kind {
		case Feed:
			if s.parse == nil {
				t.Errorf("%s: a feed without a parser", s.Name)
			}
			if _, ok := c.Provider(s.Provider); !ok {
				t.Errorf("%s: provider %q is not in the catalog", s.Name, s.Provider)
			}
		case Routing:
			if s.Provider != "" || s.parse != nil {
				t.Errorf("%s: a routing source with a provider or a feed parser", s.Name)
			}
		}
	}
	// AWS's China regions go to a provider the catalog knows.
	if _, ok := c.Provider("aws-china"); !ok {
		t.Error("the catalog has no aws-china provider")
	}
	// Names and groups do not collide across kinds, so that --only is clear.
	for _, s := range Sources() {
		if names[s.Group] && s.Group != s.Name {
			t.Errorf("group %s is also a source name", s.Group)
		}
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	srcs, err := Configure(map[string]string{"azure": "https://mirror.example/ServiceTags_Public_20260622.json", "aws": ""})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		switch s.Name {
		case "azure":
			if s.URL != "https://mirror.example/ServiceTags_Public_20260622.json" || !s.configured {
				t.Errorf("azure = %q", s.URL)
			}
		case "aws":
			if s.URL != "" || !s.configured {
				t.Errorf("aws = %q, want disabled", s.URL)
			}
		case "google-cloud":
			if s.URL != "https://www.gstatic.com/ipranges/cloud.json" || s.configured {
				t.Errorf("google-cloud = %q, want the default", s.URL)
			}
		}
	}
	_, err = Configure(map[string]string{"nope": "https://x", "aws": "ftp://x/y", "gcp": ""})
	for _, want := range []string{`unknown source "gcp"`, `unknown source "nope"`, `source aws: URL "ftp://x/y": want an http or https URL`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Configure(bad) error = %v, want %q", err, want)
		}
	}
}

func TestParseSourceFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, name, url string
		ok            bool
	}{
		{"azure=https://x/y.json", "azure", "https://x/y.json", true},
		{"akamai-v4=", "akamai-v4", "", true},
		{" aws = https://x?a=b ", "aws", "https://x?a=b", true},
		{"aws", "", "", false},
		{"=https://x", "", "", false},
	}
	for _, tt := range tests {
		name, u, err := ParseSourceFlag(tt.in)
		if name != tt.name || u != tt.url || (err == nil) != tt.ok {
			t.Errorf("ParseSourceFlag(%q) = %q, %q, %v", tt.in, name, u, err)
		}
	}
}

func TestLoadSourcesFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("# mirrors\naws: https://mirror.example/aws.json\nakamai-v4: \"\"\n"), 0o644)
	m, err := LoadSourcesFile(good)
	if diff := cmp.Diff(map[string]string{"aws": "https://mirror.example/aws.json", "akamai-v4": ""}, m); err != nil || diff != "" {
		t.Errorf("LoadSourcesFile: %v (-want +got):\n%s", err, diff)
	}
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, nil, 0o644)
	if m, err := LoadSourcesFile(empty); err != nil || len(m) != 0 {
		t.Errorf("LoadSourcesFile(empty) = %v, %v", m, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("aws:\n  url: https://x\n"), 0o644)
	if _, err := LoadSourcesFile(bad); err == nil || !strings.Contains(err.Error(), "want a map of source names to URLs") {
		t.Errorf("LoadSourcesFile(nested) error = %v", err)
	}
	if _, err := LoadSourcesFile(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("LoadSourcesFile(missing) succeeded")
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	got, err := Select(Sources(), []string{"cloudflare", "aws", "delegated-apnic"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"aws", "cloudflare-v4", "cloudflare-v6", "delegated-apnic"}, names); diff != "" {
		t.Errorf("Select mismatch (-want +got):\n%s", diff)
	}
	if all, _ := Select(Sources(), nil); len(all) != len(Sources()) {
		t.Errorf("Select(none) = %d sources, want all", len(all))
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func([]byte) string
		in   string
		want string
	}{
		{"aws", jsonDate("createDate"), `{"syncToken": "1", "createDate": "2025-07-24-20-23-14", "prefixes": []}`, "2025-07-24"},
		{"gcp", jsonDate("creationTime"), `{"creationTime":"2025-07-24T19:16:28.780563"}`, "2025-07-24"},
		{"no date", jsonDate("createDate"), `{"prefixes": []}`, ""},
		{"linode", commentDate, "# This file ...\n# Last modified: 2025-07-24 10:00:06.525037\n2600:3c00::/32,US,,,\n", "2025-07-24"},
		{"no comment", commentDate, "2600:3c00::/32,US,,,\n", ""},
	}
	for _, tt := range tests {
		if got := tt.fn([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: date(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"https://download.microsoft.com/download/7/1/D/x/ServiceTags_Public_20250721.json": "2025-07-21",
		"/data/routeviews-rv2-20260801-1200.pfx2as.gz":                                     "2026-08-01",
		"aws-ip-ranges.json":                           "",
		"https://example.com/2025/07/feed.json":        "",
		"ServiceTags_Public_20251399.json":             "",
		"delegated-apnic-extended-20260102":            "2026-01-02",
		"https://mirror.example/20250721/aws.json":     "",
		"https://mirror.example/x/file-120250721.json": "",
	} {
		if got := nameDate(in); got != want {
			t.Errorf("nameDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFeedHealth(t *testing.T) {
	t.Parallel()
	prev := &snapshot.Stats{Ranges: 100, IPv4: 1 << 20, IPv6Slash48: 1000}
	tests := []struct {
		name string
		now  snapshot.Stats
		prev *snapshot.Stats
		want []string
	}{
		{"same", snapshot.Stats{Ranges: 100, IPv4: 1 << 20, IPv6Slash48: 1000}, prev, nil},
		{"half is fine", snapshot.Stats{Ranges: 50, IPv4: 1 << 19, IPv6Slash48: 500}, prev, nil},
		{"first time", snapshot.Stats{Ranges: 5, IPv4: 256}, nil, nil},
		{"empty", snapshot.Stats{}, prev, []string{"empty: no ranges"}},
		{"fewer ranges", snapshot.Stats{Ranges: 49, IPv4: 1 << 20, IPv6Slash48: 1000}, prev,
			[]string{"shrank from 100 to 49 ranges (-51%; fewer than half)"}},
		{"fewer addresses", snapshot.Stats{Ranges: 100, IPv4: 1 << 10, IPv6Slash48: 1000}, prev,
			[]string{"shrank from 1,048,576 to 1,024 IPv4 addresses (-100%; fewer than half)"}},
		{"more ranges", snapshot.Stats{Ranges: 501, IPv4: 1 << 20, IPv6Slash48: 1000}, prev,
			[]string{"grew from 100 to 501 ranges (5×; more than 5×)"}},
		{"more IPv6", snapshot.Stats{Ranges: 100, IPv4: 1 << 20, IPv6Slash48: 20001}, prev,
			[]string{"grew from 1,000 to 20,001 IPv6 /48 blocks (20×; more than 20×)"}},
		{"IPv6 where there was none", snapshot.Stats{Ranges: 100, IPv4: 1 << 20, IPv6Slash48: 1e9}, &snapshot.Stats{Ranges: 100, IPv4: 1 << 20}, nil},
	}
	for _, tt := range tests {
		if got := feedHealth(nil, tt.now, tt.prev); !cmp.Equal(got, tt.want) {
			t.Errorf("%s: feedHealth = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := routingHealth(10, 0, "0.0.0.0/0"); !cmp.Equal(got, []string{"covers 0.0.0.0/0, the whole address family"}) {
		t.Errorf("routingHealth(default) = %q", got)
	}
	if got := count(0.25); got != "0.2" && got != "0.3" {
		t.Errorf("count(0.25) = %q", got)
	}
}

func TestSpecialBlock(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2002::/16":        "2002::/16",
		"2002:c000::/24":   "2002::/16",
		"2001:db8:1::/48":  "2001:db8::/32",
		"10.1.0.0/16":      "10.0.0.0/8",
		"2001:4860::/32":   "",
		"3.5.140.0/22":     "",
		"0.0.0.0/0":        "", // larger than every block: the default-route guard's business
		"192.88.99.0/24":   "192.88.99.0/24",
		"64:ff9b::1:0/112": "::/8", // NAT64 space lies inside ::/8 too
	} {
		got := ""
		if b, ok := specialBlock(netip.MustParsePrefix(in)); ok {
			got = b.String()
		}
		if got != want {
			t.Errorf("specialBlock(%s) = %q, want %q", in, got, want)
		}
	}
}
