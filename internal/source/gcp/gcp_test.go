package gcp

import (
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed/feedtest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	feedtest.Run(t, Parse, []feedtest.Case{
		{Name: "empty", In: `{"syncToken": "1", "prefixes": []}`},
		{
			Name: "both families",
			In: `{"prefixes": [
				{"ipv4Prefix": "34.1.208.0/20", "service": "Google Cloud", "scope": "africa-south1"},
				{"ipv6Prefix": "2600:1900:8000::/44", "service": "Google Cloud", "scope": "africa-south1"},
				{"ipv4Prefix": "34.8.0.0/16", "service": "Google Cloud", "scope": "global"},
				{"ipv4Prefix": "34.8.0.0/16", "service": "Google Cloud", "scope": "global"}
			]}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("34.1.208.0/20"), Region: "africa-south1", Service: "Google Cloud"},
				{Prefix: pfx("2600:1900:8000::/44"), Region: "africa-south1", Service: "Google Cloud"},
				{Prefix: pfx("34.8.0.0/16"), Region: "global", Service: "Google Cloud"},
			},
		},
		{
			Name: "normalised",
			In:   `{"prefixes": [{"ipv6Prefix": "::ffff:34.8.1.0/112", "scope": "global"}]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("34.8.0.0/16"), Region: "global"}},
		},
		{
			Name: "bad entries are skipped and named",
			In: `{"prefixes": [
				{"scope": "us-east1"},
				{"ipv4Prefix": "34.0.0.0/16", "ipv6Prefix": "2600::/16", "scope": "us-east1"},
				{"ipv6Prefix": "34.0.0.0", "scope": "us-east1"},
				{"ipv4Prefix": "34.0.0.0/16", "scope": "us-east1"}
			]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("34.0.0.0/16"), Region: "us-east1"}},
			WantErr: []string{
				"gcp: prefixes[0].ipv6Prefix: empty prefix",
				"gcp: prefixes[1]: both ipv4Prefix and ipv6Prefix",
				`gcp: prefixes[2].ipv6Prefix: netip.ParsePrefix("34.0.0.0"): no '/'`,
			},
		},
		{
			Name:    "wrong type",
			In:      `{"prefixes": [{"ipv4Prefix": ["34.0.0.0/16"]}, {"ipv4Prefix": "34.0.0.0/16"}]}`,
			Want:    []attribution.FeedRange{{Prefix: pfx("34.0.0.0/16")}},
			WantErr: []string{"gcp: prefixes.ipv4Prefix: JSON array where string belongs", "gcp: prefixes[0].ipv6Prefix: empty prefix"},
		},
		{Name: "invalid JSON", In: `{"prefixes": [}`, WantErr: []string{"gcp: invalid character"}},
		{Name: "empty input", In: ``, WantErr: []string{"gcp: EOF"}},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/cloud.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	g := func(p, scope string) attribution.FeedRange {
		return attribution.FeedRange{Prefix: pfx(p), Region: scope, Service: "Google Cloud"}
	}
	want := []attribution.FeedRange{
		g("34.1.208.0/20", "africa-south1"),
		g("2600:1900:8000::/44", "africa-south1"),
		g("34.80.0.0/15", "asia-east1"),
		g("34.8.0.0/16", "global"),
		g("34.13.72.0/21", "global"),
		g("34.0.224.0/24", "europe-west3"),
		g("34.0.226.0/24", "europe-west3"),
		g("34.128.62.0/23", "us-west8"),
		g("2600:1900:4280::/44", "us-west8"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Parse(testdata) =\n%v\nwant\n%v", got, want)
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"google-cloud-ip-ranges.json", "snapshot-2024-07/google-cloud-ip-ranges.json"} {
		t.Run(name, func(t *testing.T) {
			rs, err := Parse(feedtest.Open(t, name))
			if err != nil {
				t.Fatal(err)
			}
			feedtest.Check(t, rs)
			if len(rs) < 500 {
				t.Errorf("Parse(%s) = %d ranges, want hundreds", name, len(rs))
			}
			t.Logf("%s: %d ranges", name, len(rs))
		})
	}
}

func FuzzParse(f *testing.F) {
	feedtest.Fuzz(f, Parse,
		feedtest.ReadFile(f, "testdata/cloud.json"),
		`{"prefixes": [{"ipv4Prefix": "34.1.208.0/20", "service": "Google Cloud", "scope": "africa-south1"}]}`,
		`{"prefixes": [{"ipv6Prefix": "::ffff:34.8.1.0/112"}]}`,
		`{"prefixes": [{"ipv4Prefix": "34.1.208.0/33"}, {"ipv6Prefix": 1}, {}]}`,
		`{"prefixes": [`,
		`null`,
	)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
