package aws

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
	"github.com/sovmap/sovmap/internal/source/feed/feedtest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	feedtest.Run(t, Parse, []feedtest.Case{
		{
			Name: "empty",
			In:   `{"prefixes": [], "ipv6_prefixes": []}`,
		},
		{
			Name: "services",
			In: `{"prefixes": [
				{"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "AMAZON"},
				{"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "S3"},
				{"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "EC2"},
				{"ip_prefix": "13.124.199.0/24", "region": "ap-northeast-2", "service": "CLOUDFRONT_ORIGIN_FACING"},
				{"ip_prefix": "13.124.199.0/24", "region": "ap-northeast-2", "service": "CLOUDFRONT"},
				{"ip_prefix": "120.52.22.96/27", "region": "GLOBAL", "service": "AMAZON"},
				{"ip_prefix": "120.52.22.96/27", "region": "GLOBAL", "service": "AMAZON"}
			], "ipv6_prefixes": [
				{"ipv6_prefix": "2600:1f69:7400::/40", "region": "mx-central-1", "service": "EC2"},
				{"ipv6_prefix": "2600:1f69:7400::/40", "region": "mx-central-1", "service": "AMAZON"}
			]}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("3.5.140.0/22"), Region: "ap-northeast-2", Service: "S3"},
				{Prefix: pfx("13.124.199.0/24"), Region: "ap-northeast-2", Service: "CLOUDFRONT_ORIGIN_FACING"},
				{Prefix: pfx("120.52.22.96/27"), Region: "GLOBAL", Service: "AMAZON"},
				{Prefix: pfx("2600:1f69:7400::/40"), Region: "mx-central-1", Service: "EC2"},
			},
		},
		{
			Name: "same prefix in two regions",
			In: `{"prefixes": [
				{"ip_prefix": "10.0.0.0/8", "region": "us-east-1", "service": "AMAZON"},
				{"ip_prefix": "10.0.0.0/8", "region": "us-west-2", "service": "AMAZON"}
			]}`,
			Want: []attribution.FeedRange{
				{Prefix: pfx("10.0.0.0/8"), Region: "us-east-1", Service: "AMAZON"},
				{Prefix: pfx("10.0.0.0/8"), Region: "us-west-2", Service: "AMAZON"},
			},
		},
		{
			Name: "normalised",
			In: `{"prefixes": [{"ip_prefix": "3.5.140.7/22", "region": "r", "service": "S3"}],
			      "ipv6_prefixes": [{"ipv6_prefix": "::ffff:3.5.140.0/118", "region": "r", "service": "S3"}]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("3.5.140.0/22"), Region: "r", Service: "S3"}},
		},
		{
			Name: "bad entries are skipped and named",
			In: `{"prefixes": [
				{"ip_prefix": "3.5.140.0/33", "region": "r", "service": "S3"},
				{"region": "r", "service": "S3"},
				{"ip_prefix": "13.124.199.0/24", "region": "r", "service": "EC2"}
			], "ipv6_prefixes": [{"ipv6_prefix": "2600::/129", "region": "r", "service": "EC2"}]}`,
			Want: []attribution.FeedRange{{Prefix: pfx("13.124.199.0/24"), Region: "r", Service: "EC2"}},
			WantErr: []string{
				`aws: prefixes[0].ip_prefix: netip.ParsePrefix("3.5.140.0/33")`,
				`aws: prefixes[1].ip_prefix: empty prefix`,
				`aws: ipv6_prefixes[0].ipv6_prefix: netip.ParsePrefix("2600::/129")`,
			},
		},
		{
			Name: "wrong type",
			In: `{"prefixes": [
				{"ip_prefix": 5, "region": "r", "service": "S3"},
				{"ip_prefix": "13.124.199.0/24", "region": "r", "service": "EC2"}
			]}`,
			Want:    []attribution.FeedRange{{Prefix: pfx("13.124.199.0/24"), Region: "r", Service: "EC2"}},
			WantErr: []string{"aws: prefixes.ip_prefix: JSON number where string belongs", "aws: prefixes[0].ip_prefix: empty prefix"},
		},
		{Name: "invalid JSON", In: `{"prefixes": [`, WantErr: []string{"aws: unexpected EOF"}},
		{Name: "not an object", In: `[]`, WantErr: []string{"aws: JSON array where aws.document belongs"}},
		{Name: "trailing data", In: `{} {}`, WantErr: []string{"aws: data after the JSON document"}},
	})
}

func TestParseErrorType(t *testing.T) {
	t.Parallel()
	_, err := Parse(strings.NewReader(`{"ipv6_prefixes": [{}, {"ipv6_prefix": "x"}]}`))
	var pe *feed.ParseError
	if !errors.As(err, &pe) || pe.Entry != "ipv6_prefixes[0].ipv6_prefix" || !errors.Is(pe, feed.ErrEmpty) {
		t.Fatalf("Parse() error = %#v, want a *feed.ParseError for ipv6_prefixes[0]", err)
	}
}

// TestParseTestdata parses a few entries trimmed from the real feed.
func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/ip-ranges.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []attribution.FeedRange{
		{Prefix: pfx("3.5.140.0/22"), Region: "ap-northeast-2", Service: "S3"},
		{Prefix: pfx("120.52.22.96/27"), Region: "GLOBAL", Service: "AMAZON"},
		{Prefix: pfx("15.181.232.0/21"), Region: "us-east-1", Service: "AMAZON"},
		{Prefix: pfx("54.222.88.0/24"), Region: "cn-north-1", Service: "AMAZON"},
		{Prefix: pfx("52.119.208.0/23"), Region: "us-gov-west-1", Service: "AMAZON"},
		{Prefix: pfx("13.124.199.0/24"), Region: "ap-northeast-2", Service: "CLOUDFRONT_ORIGIN_FACING"},
		{Prefix: pfx("2600:1f69:7400::/40"), Region: "mx-central-1", Service: "EC2"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Parse(testdata) =\n%v\nwant\n%v", got, want)
	}
}

// TestParseReal parses the real feeds when the shared data is present.
func TestParseReal(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"aws-ip-ranges.json.gz", "snapshot-2024-07/aws-ip-ranges.json.gz"} {
		t.Run(name, func(t *testing.T) {
			rs, err := Parse(feedtest.Open(t, name))
			if err != nil {
				t.Fatal(err)
			}
			feedtest.Check(t, rs)
			if len(rs) < 5000 {
				t.Errorf("Parse(%s) = %d ranges, want thousands", name, len(rs))
			}
			t.Logf("%s: %d ranges", name, len(rs))
		})
	}
}

func TestMoreSpecific(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"EC2", "AMAZON", true},
		{"AMAZON", "EC2", false},
		{"S3", "EC2", true},
		{"EC2", "S3", false},
		{"CLOUDFRONT_ORIGIN_FACING", "CLOUDFRONT", true},
		{"CLOUDFRONT", "CLOUDFRONT_ORIGIN_FACING", false},
		{"DYNAMODB", "S3", true},
		{"S3", "DYNAMODB", false},
		{"AMAZON", "", true},
	}
	for _, tt := range tests {
		if got := moreSpecific(tt.a, tt.b); got != tt.want {
			t.Errorf("moreSpecific(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	feedtest.Fuzz(f, Parse,
		feedtest.ReadFile(f, "testdata/ip-ranges.json"),
		`{"prefixes": [{"ip_prefix": "3.5.140.0/22", "region": "r", "service": "S3"}]}`,
		`{"ipv6_prefixes": [{"ipv6_prefix": "::ffff:1.2.3.4/120", "region": "r", "service": "EC2"}]}`,
		`{"prefixes": [{"ip_prefix": "3.5.140.0/33"}, {"ip_prefix": 7}]}`,
		`{"prefixes": null}`,
		`{"prefixes": [`,
		`[]`,
	)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
