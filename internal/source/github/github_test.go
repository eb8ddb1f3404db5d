package github

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed/feedtest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	feedtest.Run(t, Parse, []feedtest.Case{
		{Name: "empty", In: `{}`},
		{
			Name: "services",
			In: `{"verifiable_password_authentication": false,
				"ssh_key_fingerprints": {"SHA256_ED25519": "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"},
				"ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"],
				"hooks": ["192.30.252.0/22", "2a0a:a440::/29"],
				"web": ["192.30.252.0/22", "192.30.252.0/22"],
				"domains": {"website": ["*.github.com"]},
				"actions": []}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("192.30.252.0/22"), Service: "hooks"},
				{Prefix: pfx("2a0a:a440::/29"), Service: "hooks"},
				{Prefix: pfx("192.30.252.0/22"), Service: "web"},
			},
		},
		{
			Name: "normalised",
			In:   `{"pages": ["192.30.252.153/24", "::ffff:192.30.252.0/120"]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("192.30.252.0/24"), Service: "pages"}},
		},
		{
			Name: "bad entries are skipped and named",
			In:   `{"api": ["192.30.252.0/22", "*.github.com", 4, null, ["1.2.3.0/24"]], "git": ["192.30.252.0/22"]}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("192.30.252.0/22"), Service: "api"},
				{Prefix: pfx("192.30.252.0/22"), Service: "git"},
			},
			WantErr: []string{
				`github: api[1]: netip.ParsePrefix("*.github.com")`,
				"github: api[2]: JSON number where a prefix belongs",
				"github: api[3]: JSON null where a prefix belongs",
				"github: api[4]: JSON array where a prefix belongs",
			},
		},
		{Name: "invalid JSON", In: `{"api": ["192.30.252.0/22"`, WantErr: []string{"github: unexpected EOF"}},
		{Name: "not an object", In: `["192.30.252.0/22"]`, WantErr: []string{"github: found [ where { belongs"}},
		{Name: "trailing data", In: `{} x`, WantErr: []string{"github: data after the JSON document"}},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/meta.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var want []attribution.FeedRange
	for _, e := range []struct{ service, prefixes string }{
		{"hooks", "192.30.252.0/22 185.199.108.0/22"},
		{"web", "192.30.252.0/22 185.199.108.0/22 2a0a:a440::/29"},
		{"api", "192.30.252.0/22 185.199.108.0/22"},
		{"git", "192.30.252.0/22 185.199.108.0/22"},
		{"github_enterprise_importer", "192.30.252.0/22 185.199.108.0/22"},
		{"packages", "140.82.121.33/32 140.82.121.34/32"},
		{"pages", "192.30.252.153/32 192.30.252.154/32"},
		{"importer", "52.23.85.212/32 52.0.228.224/32"},
		{"actions", "4.148.0.0/16 4.149.0.0/18 2602:fd5e:1::/63"},
		{"actions_macos", "13.105.117.0/31 13.105.117.10/31"},
		{"codespaces", "20.42.11.16/28 172.210.54.224/28"},
		{"dependabot", "18.213.123.130/32 3.217.79.163/32"},
		{"copilot", "192.30.252.0/22 185.199.108.0/22"},
	} {
		for _, p := range strings.Fields(e.prefixes) {
			want = append(want, attribution.FeedRange{Prefix: pfx(p), Service: e.service})
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Parse(testdata) =\n%v\nwant\n%v", got, want)
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	rs, err := Parse(feedtest.Open(t, "github-ip-ranges.json"))
	if err != nil {
		t.Fatal(err)
	}
	feedtest.Check(t, rs)
	if len(rs) < 1000 {
		t.Errorf("Parse = %d ranges, want thousands", len(rs))
	}
	t.Logf("%d ranges", len(rs))
}

func FuzzParse(f *testing.F) {
	feedtest.Fuzz(f, Parse,
		feedtest.ReadFile(f, "testdata/meta.json"),
		`{"hooks": ["192.30.252.0/22", "::ffff:192.30.252.0/120"], "domains": {"website": ["*.github.com"]}}`,
		`{"api": ["*.github.com", 4, null, ["1.2.3.0/24"]], "ssh_keys": ["ssh-ed25519 AAAA"]}`,
		`{"api": [`,
		`[]`,
	)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
