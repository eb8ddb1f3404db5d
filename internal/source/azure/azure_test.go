package azure

import (
	"bytes"
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
		{Name: "empty", In: `{"changeNumber": 1, "cloud": "Public", "values": []}`},
		{Name: "no values", In: `{"changeNumber": 1}`},
		{
			Name: "tags",
			In: `{"changeNumber": 363, "cloud": "Public", "values": [
				{"name": "ActionGroup", "id": "ActionGroup", "properties": {"region": "", "systemService": "ActionGroup",
				  "addressPrefixes": ["4.145.74.52/30", "2603:1000:4::10c/126"], "networkFeatures": ["API"]}},
				{"name": "AzureCloud.westeurope", "id": "AzureCloud.westeurope", "properties": {"region": "westeurope",
				  "addressPrefixes": ["4.175.0.0/16", "4.175.0.0/16"]}},
				{"id": "Storage.EastUS", "properties": {"region": "eastus", "addressPrefixes": ["4.175.0.0/16"]}}
			], "trailer": {"a": [1, 2]}}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("4.145.74.52/30"), Service: "ActionGroup"},
				{Prefix: pfx("2603:1000:4::10c/126"), Service: "ActionGroup"},
				{Prefix: pfx("4.175.0.0/16"), Region: "westeurope", Service: "AzureCloud.westeurope"},
				{Prefix: pfx("4.175.0.0/16"), Region: "eastus", Service: "Storage.EastUS"},
			},
		},
		{
			Name: "normalised",
			In:   `{"values": [{"name": "T", "properties": {"addressPrefixes": ["4.175.1.2/16", "::ffff:4.175.0.0/112"]}}]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("4.175.0.0/16"), Service: "T"}},
		},
		{
			Name: "bad entries are skipped and named",
			In: `{"values": [
				{"name": "A", "properties": {"region": "eastus", "addressPrefixes": ["4.175.0.0/16", "4.175.0.0", 7, null, "4.176.0.0/16"]}},
				{"name": "B", "properties": {"region": 5, "addressPrefixes": ["4.177.0.0/16"]}},
				"C"
			]}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("4.175.0.0/16"), Region: "eastus", Service: "A"},
				{Prefix: pfx("4.176.0.0/16"), Region: "eastus", Service: "A"},
				{Prefix: pfx("4.177.0.0/16"), Service: "B"},
			},
			WantErr: []string{
				"azure: values[0].properties.addressPrefixes: JSON number where string belongs",
				`azure: values[0].properties.addressPrefixes[1]: netip.ParsePrefix("4.175.0.0"): no '/'`,
				"azure: values[0].properties.addressPrefixes[2]: empty prefix",
				"azure: values[0].properties.addressPrefixes[3]: empty prefix",
				"azure: values[1].properties.region: JSON number where string belongs",
				"azure: values[2]: JSON string where azure.tag belongs",
			},
		},
		{Name: "invalid JSON", In: `{"values": [{"name": "A",`, WantErr: []string{"azure: unexpected EOF"}},
		{Name: "not an object", In: `[]`, WantErr: []string{"azure: found [ where { belongs"}},
		{Name: "values not an array", In: `{"values": {}}`, WantErr: []string{"azure: values: found { where [ belongs"}},
		{Name: "trailing data", In: `{"values": []} []`, WantErr: []string{"azure: data after the JSON document"}},
		{Name: "empty input", In: ``, WantErr: []string{"azure: EOF"}},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/ServiceTags_Public.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	a := func(p, region, service string) attribution.FeedRange {
		return attribution.FeedRange{Prefix: pfx(p), Region: region, Service: service}
	}
	want := []attribution.FeedRange{
		a("4.145.74.52/30", "", "ActionGroup"),
		a("4.149.254.68/30", "", "ActionGroup"),
		a("4.150.239.212/30", "", "ActionGroup"),
		a("2603:1000:4::10c/126", "", "ActionGroup"),
		a("2603:1000:4:402::178/125", "", "ActionGroup"),
		a("4.175.0.0/16", "westeurope", "AzureCloud.westeurope"),
		a("4.180.0.0/16", "westeurope", "AzureCloud.westeurope"),
		a("4.210.128.0/17", "westeurope", "AzureCloud.westeurope"),
		a("2603:1020:200::/46", "westeurope", "AzureCloud.westeurope"),
		a("2603:1020:205::/48", "westeurope", "AzureCloud.westeurope"),
		a("13.68.163.32/28", "eastus", "Storage.EastUS"),
		a("13.68.165.64/28", "eastus", "Storage.EastUS"),
		a("13.68.167.240/28", "eastus", "Storage.EastUS"),
		a("2603:1030:213::/49", "eastus", "Storage.EastUS"),
		a("2603:1030:213:8000::/60", "eastus", "Storage.EastUS"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Parse(testdata) =\n%v\nwant\n%v", got, want)
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	rs, err := Parse(feedtest.Open(t, "microsoft-azure-ip-ranges.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	feedtest.Check(t, rs)
	if len(rs) < 50000 {
		t.Errorf("Parse = %d ranges, want tens of thousands", len(rs))
	}
	t.Logf("%d ranges", len(rs))
}

func BenchmarkParseReal(b *testing.B) {
	data := feedtest.ReadAll(b, "microsoft-azure-ip-ranges.json.gz")
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	feedtest.Fuzz(f, Parse,
		feedtest.ReadFile(f, "testdata/ServiceTags_Public.json"),
		`{"values": [{"name": "T", "properties": {"region": "eastus", "addressPrefixes": ["4.175.0.0/16", "2603:1000:4::10c/126"]}}]}`,
		`{"values": [{"name": "T", "properties": {"addressPrefixes": ["::ffff:4.175.0.0/112", "4.175.0.0", 7]}}, 3]}`,
		`{"values": {}}`,
		`{"values": [`,
		`[]`,
	)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestParseRepeatedTag(t *testing.T) {
	t.Parallel()
	in := `{"values": [
		{"name": "A", "properties": {"addressPrefixes": ["4.175.0.0/16", "4.176.0.0/16"]}},
		{"name": "A", "properties": {"region": "eastus", "addressPrefixes": ["4.175.0.0/16"]}},
		{"name": "A", "properties": {"addressPrefixes": ["4.176.0.0/16"]}}
	]}`
	got, err := Parse(strings.NewReader(in))
	want := []attribution.FeedRange{
		{Prefix: pfx("4.175.0.0/16"), Service: "A"},
		{Prefix: pfx("4.176.0.0/16"), Service: "A"},
		{Prefix: pfx("4.175.0.0/16"), Region: "eastus", Service: "A"},
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Parse = %v, %v, want %v", got, err, want)
	}
}
