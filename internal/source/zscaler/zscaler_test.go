package zscaler

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
		{Name: "empty", In: `{"hubPrefixes": []}`},
		{
			Name: "no cloud name",
			In:   `{"hubPrefixes": ["8.25.203.0/24", "2400:7aa0:131b::/48", "8.25.203.0/24"]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("8.25.203.0/24")}, {Prefix: pfx("2400:7aa0:131b::/48")}},
		},
		{
			Name: "cloud name",
			In:   `{"cloudName": "zscaler.net", "type": "recommended", "hubPrefixes": ["8.25.203.7/24", "::ffff:8.25.203.0/120"]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("8.25.203.0/24"), Service: "zscaler.net"}},
		},
		{
			Name:    "bad entries are skipped and named",
			In:      `{"hubPrefixes": ["8.25.203.0/24", "8.25.203.0/", "", "2400:7aa0:131b::/48"]}`,
			Want:    []attribution.FeedRange{{Prefix: pfx("8.25.203.0/24")}, {Prefix: pfx("2400:7aa0:131b::/48")}},
			WantErr: []string{`zscaler: hubPrefixes[1]: netip.ParsePrefix("8.25.203.0/")`, "zscaler: hubPrefixes[2]: empty prefix"},
		},
		{
			Name:    "wrong type",
			In:      `{"cloudName": 1, "hubPrefixes": ["8.25.203.0/24"]}`,
			Want:    []attribution.FeedRange{{Prefix: pfx("8.25.203.0/24")}},
			WantErr: []string{"zscaler: cloudName: JSON number where string belongs"},
		},
		{Name: "invalid JSON", In: `{"hubPrefixes": ["8.25.203.0/24",]}`, WantErr: []string{"zscaler: invalid character"}},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/hubs.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	var want []attribution.FeedRange
	for _, p := range []string{"8.25.203.0/24", "64.74.126.64/26", "70.39.159.0/24", "72.52.96.0/26", "2400:7aa0:131b::/48", "2400:7aa0:131c::/48"} {
		want = append(want, attribution.FeedRange{Prefix: pfx(p), Service: "zscaler.net"})
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Parse(testdata) = %v, %v, want %v", got, err, want)
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	rs, err := Parse(feedtest.Open(t, "zscaler-cloud-ip-ranges.json"))
	if err != nil {
		t.Fatal(err)
	}
	feedtest.Check(t, rs)
	if len(rs) < 10 {
		t.Errorf("Parse = %d ranges, want more", len(rs))
	}
	t.Logf("%d ranges", len(rs))
}

func FuzzParse(f *testing.F) {
	feedtest.Fuzz(f, Parse,
		feedtest.ReadFile(f, "testdata/hubs.json"),
		`{"cloudName": "zscaler.net", "hubPrefixes": ["::ffff:8.25.203.0/120"]}`,
		`{"hubPrefixes": ["8.25.203.0", 7, null]}`,
		`{"hubPrefixes": "8.25.203.0/24"}`,
		`{"hubPrefixes": [`,
	)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
