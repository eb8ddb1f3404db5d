package geofeed

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
		{Name: "empty"},
		{Name: "comments only", In: "# geofeed\n\n  # indented\n"},
		{
			Name: "lines",
			In: "\uFEFF# ip_prefix, alpha2code, region, city, postal_code\r\n" +
				"5.101.96.0/21,NL,NL-NH,Amsterdam,1098 XH\r\n" +
				"2600:3c00::/32,us,US-TX,Richardson,\n" +
				"\n" +
				"192.0.2.0/24\n" +
				"198.51.100.0/24,DE\n" +
				" 203.0.113.0/24 , JP , JP-13 , Tokyo , 100-0001 , extra\n" +
				"\"2001:db8::/32\",US,US-DC,\"Washington, D.C.\",\n" +
				"5.101.96.0/21,NL,NL-NH,Amsterdam,1098 XH\n",
			Want: []attribution.FeedRange{
				{Prefix: pfx("5.101.96.0/21"), Country: "NL", Area: "NL-NH", City: "Amsterdam"},
				{Prefix: pfx("2600:3c00::/32"), Country: "US", Area: "US-TX", City: "Richardson"},
				{Prefix: pfx("192.0.2.0/24")},
				{Prefix: pfx("198.51.100.0/24"), Country: "DE"},
				{Prefix: pfx("203.0.113.0/24"), Country: "JP", Area: "JP-13", City: "Tokyo"},
				{Prefix: pfx("2001:db8::/32"), Country: "US", Area: "US-DC", City: "Washington, D.C."},
			},
		},
		{
			Name: "normalised",
			In:   "5.101.97.0/21,NL,,,\n::ffff:5.101.96.0/117,NL,,,\n",
			Want: []attribution.FeedRange{{Prefix: pfx("5.101.96.0/21"), Country: "NL"}},
		},
		{
			Name: "bad lines are skipped and named",
			In: "5.101.96.0/21,NL,NL-NH,Amsterdam,\n" +
				"5.101.104.0,NL,NL-NH,Amsterdam,\n" +
				"5.101.104.0/22,NLD,NL-NH,Amsterdam,\n" +
				",NL,,,\n" +
				"5.101.108.0/22,N\"L,,,\n" +
				"24.144.64.0/22,US,US-NJ,North Bergen,07047\n",
			Want: []attribution.FeedRange{
				{Prefix: pfx("5.101.96.0/21"), Country: "NL", Area: "NL-NH", City: "Amsterdam"},
				{Prefix: pfx("24.144.64.0/22"), Country: "US", Area: "US-NJ", City: "North Bergen"},
			},
			WantErr: []string{
				`geofeed: line 2: netip.ParsePrefix("5.101.104.0"): no '/'`,
				`geofeed: line 3: country "NLD" is not an ISO 3166-1 alpha-2 code`,
				"geofeed: line 4: empty prefix",
				`geofeed: line 5: bare " in non-quoted-field`,
			},
		},
		{
			Name:    "unterminated quote",
			In:      "5.101.96.0/21,NL,,,\n\"5.101.104.0/22,NL,,,\n24.144.64.0/22,US,,,\n",
			Want:    []attribution.FeedRange{{Prefix: pfx("5.101.96.0/21"), Country: "NL"}},
			WantErr: []string{`geofeed: line 2: extraneous or missing " in quoted-field`},
		},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	g := func(p, cc, area, city string) attribution.FeedRange {
		return attribution.FeedRange{Prefix: pfx(p), Country: cc, Area: area, City: city}
	}
	tests := []struct {
		file string
		want []attribution.FeedRange
	}{
		{"digitalocean.csv", []attribution.FeedRange{
			g("5.101.96.0/21", "NL", "NL-NH", "Amsterdam"),
			g("5.101.104.0/22", "NL", "NL-NH", "Amsterdam"),
			g("24.144.64.0/22", "US", "US-NJ", "North Bergen"),
			g("24.144.68.0/22", "US", "US-CA", "Santa Clara"),
			g("24.144.74.0/23", "NL", "NL-NH", "Amsterdam"),
			g("24.144.76.0/22", "NL", "NL-NH", "Amsterdam"),
			g("2400:6180:0:d0::/64", "SG", "SG-05", "Singapore"),
			g("2400:6180:0:d1::/64", "SG", "SG-05", "Singapore"),
			g("2a03:b0c0:3:e0::/64", "DE", "DE-HE", "Frankfurt"),
			g("2a03:b0c0:3:f0::/64", "DE", "DE-HE", "Frankfurt"),
		}},
		{"linode.txt", []attribution.FeedRange{
			g("2600:3c00::/32", "US", "US-TX", "Richardson"),
			g("2600:3c0f:2::/48", "US", "US-TX", "Richardson"),
			g("2600:3c01::/32", "US", "US-CA", "Fremont"),
			g("2600:3c0f:3::/48", "US", "US-CA", "Fremont"),
			g("2600:3c02::/32", "US", "US-GA", "Atlanta"),
			g("2600:3c0f:4::/48", "US", "US-GA", "Atlanta"),
			g("2600:3c03::/32", "US", "US-NJ", "Cedar Knolls"),
			g("2600:3c0f:6::/48", "US", "US-NJ", "Cedar Knolls"),
			g("2400:8904::/32", "IN", "IN-MH", "Mumbai"),
			g("2600:3c0f:14::/48", "IN", "IN-MH", "Mumbai"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Parse(f)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%s) =\n%v, %v\nwant\n%v", tt.file, got, err, tt.want)
			}
		})
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"digitalocean.csv", "linode.txt"} {
		t.Run(name, func(t *testing.T) {
			rs, err := Parse(feedtest.Open(t, name))
			if err != nil {
				t.Fatal(err)
			}
			feedtest.Check(t, rs)
			if len(rs) < 1000 {
				t.Errorf("Parse(%s) = %d ranges, want thousands", name, len(rs))
			}
			for _, r := range rs {
				if r.Country == "" || r.City == "" {
					t.Errorf("Parse(%s): %v has no country or city", name, r)
					break
				}
			}
			t.Logf("%s: %d ranges", name, len(rs))
		})
	}
}

func FuzzParse(f *testing.F) {
	feedtest.Fuzz(f, Parse,
		feedtest.ReadFile(f, "testdata/digitalocean.csv"),
		feedtest.ReadFile(f, "testdata/linode.txt"),
		"\uFEFF# c\n5.101.96.0/21,nl,NL-NH,Amsterdam,1098 XH,x\r\n  # c\n",
		"::ffff:5.101.96.0/117\n\"2001:db8::/32\",US,US-DC,\"Washington, D.C.\",\n",
		"5.101.104.0,NL\n,NL\n5.101.104.0/22,NLD\n5.101.108.0/22,N\"L\n\"unterminated\n",
	)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
