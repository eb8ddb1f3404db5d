package oracle

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
		{Name: "empty", In: `{"last_updated_timestamp": "2025-07-21T07:13:25.457838", "regions": []}`},
		{
			Name: "regions",
			In: `{"regions": [
				{"region": "us-ashburn-1", "cidrs": [
					{"cidr": "129.80.0.0/16", "tags": ["OCI"]},
					{"cidr": "134.70.24.0/21", "tags": ["OSN", "OBJECT_STORAGE"]},
					{"cidr": "134.70.24.0/21", "tags": ["OSN", "OBJECT_STORAGE"]},
					{"cidr": "2603:c020::/29"}
				]},
				{"region": "eu-frankfurt-1", "cidrs": [{"cidr": "129.80.0.0/16", "tags": ["OCI"]}]}
			]}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("129.80.0.0/16"), Region: "us-ashburn-1", Service: "OCI"},
				{Prefix: pfx("134.70.24.0/21"), Region: "us-ashburn-1", Service: "OSN,OBJECT_STORAGE"},
				{Prefix: pfx("2603:c020::/29"), Region: "us-ashburn-1"},
				{Prefix: pfx("129.80.0.0/16"), Region: "eu-frankfurt-1", Service: "OCI"},
			},
		},
		{
			Name: "normalised",
			In:   `{"regions": [{"region": "r", "cidrs": [{"cidr": "129.80.7.7/16", "tags": ["OCI"]}, {"cidr": "::ffff:129.80.0.0/112", "tags": ["OCI"]}]}]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("129.80.0.0/16"), Region: "r", Service: "OCI"}},
		},
		{
			Name: "bad entries are skipped and named",
			In: `{"regions": [
				{"region": "r", "cidrs": [{"cidr": "129.80.0.0/16", "tags": ["OCI"]}, {"tags": ["OCI"]}]},
				{"region": "s", "cidrs": [{"cidr": "129.80.0.0/16/2"}, {"cidr": "129.81.0.0/16", "tags": "OCI"}]}
			]}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("129.80.0.0/16"), Region: "r", Service: "OCI"},
				{Prefix: pfx("129.81.0.0/16"), Region: "s"},
			},
			WantErr: []string{
				"oracle: regions.cidrs.tags: JSON string where []string belongs",
				"oracle: regions[0].cidrs[1].cidr: empty prefix",
				`oracle: regions[1].cidrs[0].cidr: netip.ParsePrefix("129.80.0.0/16/2")`,
			},
		},
		{Name: "invalid JSON", In: `{"regions": [{]}`, WantErr: []string{"oracle: invalid character"}},
		{Name: "trailing data", In: `{"regions": []}}`, WantErr: []string{"oracle: data after the JSON document"}},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/public_ip_ranges.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	o := func(p, region, service string) attribution.FeedRange {
		return attribution.FeedRange{Prefix: pfx(p), Region: region, Service: service}
	}
	want := []attribution.FeedRange{
		o("129.80.0.0/16", "us-ashburn-1", "OCI"),
		o("129.144.0.0/16", "us-ashburn-1", "OCI"),
		o("64.181.152.0/21", "us-ashburn-1", "OSN"),
		o("134.70.24.0/21", "us-ashburn-1", "OSN,OBJECT_STORAGE"),
		o("64.181.160.0/19", "sa-saopaulo-1", "OCI"),
		o("129.148.16.0/20", "sa-saopaulo-1", "OCI"),
		o("129.148.12.0/22", "sa-saopaulo-1", "OSN"),
		o("134.70.84.0/22", "sa-saopaulo-1", "OSN,OBJECT_STORAGE"),
		o("79.76.96.0/19", "eu-frankfurt-1", "OCI"),
		o("89.168.64.0/18", "eu-frankfurt-1", "OCI"),
		o("130.61.0.128/25", "eu-frankfurt-1", "OSN"),
		o("134.70.40.0/21", "eu-frankfurt-1", "OSN,OBJECT_STORAGE"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Parse(testdata) =\n%v\nwant\n%v", got, want)
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"oracle-cloud-ip-ranges.json", "snapshot-2024-07/oracle-cloud-ip-ranges.json"} {
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
		feedtest.ReadFile(f, "testdata/public_ip_ranges.json"),
		`{"regions": [{"region": "us-ashburn-1", "cidrs": [{"cidr": "129.80.0.0/16", "tags": ["OCI"]}]}]}`,
		`{"regions": [{"region": "r", "cidrs": [{"cidr": "::ffff:129.80.0.0/112"}, {"cidr": "1.2.3.4"}, {"cidr": 5}]}]}`,
		`{"regions": {}}`,
		`{"regions": [`,
	)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
