package cidrlist

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
		{Name: "empty"},
		{Name: "comments only", In: "# Cloudflare\n\n   \n#\n"},
		{
			Name: "list",
			In:   "\uFEFF# ranges\n173.245.48.0/20\n103.21.244.0/22\t\r\n\n  2400:cb00::/32  # Cloudflare\n173.245.48.0/20\n2606:4700::/32",
			Want: ranges("173.245.48.0/20", "103.21.244.0/22", "2400:cb00::/32", "2606:4700::/32"),
		},
		{
			Name: "normalised",
			In:   "173.245.48.7/20\n::ffff:173.245.48.0/116\n",
			Want: ranges("173.245.48.0/20"),
		},
		{
			Name:    "bad lines are skipped and named",
			In:      "173.245.48.0/20\n173.245.48.0\n\n2400:cb00::/32 2606:4700::/32\n103.21.244.0/22\n",
			Want:    ranges("173.245.48.0/20", "103.21.244.0/22"),
			WantErr: []string{`cidrlist: line 2: netip.ParsePrefix("173.245.48.0"): no '/'`, `cidrlist: line 4: netip.ParsePrefix("2400:cb00::/32 2606:4700::/32")`},
		},
		{Name: "line too long", In: "1.2.3.0/24\n" + strings.Repeat(" ", maxLine+1), WantErr: []string{"cidrlist: bufio.Scanner: token too long"}},
	})
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []attribution.FeedRange
	}{
		{"cloudflare-v4.txt", ranges("173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22")},
		{"cloudflare-v6.txt", ranges("2400:cb00::/32", "2606:4700::/32")},
		{"akamai-v4.txt", ranges("23.32.0.0/11", "23.192.0.0/11", "2.16.0.0/13", "104.64.0.0/10", "184.24.0.0/13")},
		{"akamai-v6.txt", ranges("2a02:26f0::/32", "2600:1400::/24")},
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
				t.Errorf("Parse(%s) = %v, %v, want %v", tt.file, got, err, tt.want)
			}
		})
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"cloudflare-v4-ip-ranges.txt", "cloudflare-v6-ip-ranges.txt", "akamai-v4-ip-ranges.txt", "akamai-v6-ip-ranges.txt"} {
		t.Run(name, func(t *testing.T) {
			rs, err := Parse(feedtest.Open(t, name))
			if err != nil {
				t.Fatal(err)
			}
			feedtest.Check(t, rs)
			if len(rs) == 0 {
				t.Errorf("Parse(%s) = no ranges", name)
			}
			t.Logf("%s: %d ranges", name, len(rs))
		})
	}
}

func FuzzParse(f *testing.F) {
	feedtest.Fuzz(f, Parse,
		feedtest.ReadFile(f, "testdata/akamai-v4.txt"),
		feedtest.ReadFile(f, "testdata/cloudflare-v6.txt"),
		"# comment\n173.245.48.0/20 # trailing\n\n",
		"::ffff:173.245.48.0/116\r\n",
		"173.245.48.0\n1.2.3.4/33\nfe80::1%eth0/64\n",
		"\uFEFF2400:cb00::/32",
	)
}

func ranges(ps ...string) []attribution.FeedRange {
	rs := make([]attribution.FeedRange, len(ps))
	for i, p := range ps {
		rs[i] = attribution.FeedRange{Prefix: netip.MustParsePrefix(p)}
	}
	return rs
}
