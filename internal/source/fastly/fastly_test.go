package fastly

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
		{Name: "empty", In: `{"addresses": [], "ipv6_addresses": []}`},
		{
			Name: "list",
			In:   `{"addresses": ["23.235.32.0/20", "43.249.72.0/22", "23.235.32.0/20"], "ipv6_addresses": ["2a04:4e40::/32"]}`,
			Want: ranges("23.235.32.0/20", "43.249.72.0/22", "2a04:4e40::/32"),
		},
		{
			Name: "normalised",
			In:   `{"addresses": ["23.235.33.0/20"], "ipv6_addresses": ["::ffff:23.235.32.0/116"]}`,
			Want: ranges("23.235.32.0/20"),
		},
		{
			Name: "bad entries are skipped and named",
			In:   `{"addresses": ["23.235.32.0/20", "23.235.32.0", ""], "ipv6_addresses": ["2a04:4e40::/32", "2a04:4e40::/33/"]}`,
			Want: ranges("23.235.32.0/20", "2a04:4e40::/32"),
			WantErr: []string{
				`fastly: addresses[1]: netip.ParsePrefix("23.235.32.0"): no '/'`,
				"fastly: addresses[2]: empty prefix",
				`fastly: ipv6_addresses[1]: netip.ParsePrefix("2a04:4e40::/33/")`,
			},
		},
		{
			Name:    "wrong type",
			In:      `{"addresses": ["23.235.32.0/20", 7]}`,
			Want:    ranges("23.235.32.0/20"),
			WantErr: []string{"fastly: addresses: JSON number where string belongs", "fastly: addresses[1]: empty prefix"},
		},
		{Name: "invalid JSON", In: `{"addresses": ["23.235.32.0/20"`, WantErr: []string{"fastly: unexpected EOF"}},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/public-ip-list.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	want := ranges("23.235.32.0/20", "43.249.72.0/22", "103.244.50.0/24", "103.245.222.0/23", "2a04:4e40::/32")
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Parse(testdata) = %v, %v, want %v", got, err, want)
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	rs, err := Parse(feedtest.Open(t, "fastly-ip-ranges.json"))
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
		feedtest.ReadFile(f, "testdata/public-ip-list.json"),
		`{"addresses": ["::ffff:23.235.32.0/116"], "ipv6_addresses": ["2a04:4e40::/32"]}`,
		`{"addresses": ["23.235.32.0", 7, null], "ipv6_addresses": {}}`,
		`{"addresses": [`,
	)
}

func ranges(ps ...string) []attribution.FeedRange {
	rs := make([]attribution.FeedRange, len(ps))
	for i, p := range ps {
		rs[i] = attribution.FeedRange{Prefix: netip.MustParsePrefix(p)}
	}
	return rs
}
