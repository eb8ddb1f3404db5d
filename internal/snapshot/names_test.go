package snapshot_test

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/snapshot"
)

func TestASNames(t *testing.T) {
	t.Parallel()
	b := snapshot.NewBuilder(snapshot.Meta{Name: "test"})
	csv := strings.Join([]string{
		"1.0.0.0,1.0.0.255,13335,Cloudflare",
		"8.8.8.0,8.8.8.255,15169,Google LLC",
		"8.8.9.0,8.8.9.255,15169,Google LLC (other spelling)",
		"9.9.9.0,9.9.9.255,19281,",
		"2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC",
	}, "\n")
	if err := b.AddFile(snapshot.ASNData, "asn.csv", strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	tb, _, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]string{13335: "Cloudflare", 15169: "Google LLC"}
	if diff := cmp.Diff(want, tb.ASNames()); diff != "" {
		t.Errorf("ASNames() mismatch (-want +got):\n%s", diff)
	}
}

func TestFeedRanges(t *testing.T) {
	t.Parallel()
	aws := []attribution.FeedRange{
		{Prefix: netip.MustParsePrefix("3.5.140.0/22"), Region: "ap-northeast-2", Service: "S3"},
		{Prefix: netip.MustParsePrefix("54.222.88.0/24"), Region: "cn-north-1", Service: "AMAZON", Provider: "aws-china"},
		{Prefix: netip.MustParsePrefix("2600:1f69:7400::/40"), Region: "mx-central-1", Service: "EC2"},
		{Prefix: netip.MustParsePrefix("3.5.140.0/24"), Region: "ap-northeast-2"},
	}
	geo := []attribution.FeedRange{
		{Prefix: netip.MustParsePrefix("5.101.96.0/21"), Country: "NL", Area: "NL-NH", City: "Amsterdam"},
	}
	b := snapshot.NewBuilder(snapshot.Meta{Name: "test"})
	b.AddFeed(snapshot.FeedSource{Name: "aws", Provider: "aws"}, aws)
	b.AddFeed(snapshot.FeedSource{Name: "digitalocean", Provider: "digitalocean"}, geo)
	tb, _, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	// Through an encoded file, as an update reads the previous snapshot.
	var buf bytes.Buffer
	if err := tb.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	tb, err = snapshot.Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cmpPrefix := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	for name, want := range map[string][]attribution.FeedRange{"aws": aws, "digitalocean": geo, "none": nil} {
		if diff := cmp.Diff(want, tb.FeedRanges(name), cmpPrefix); diff != "" {
			t.Errorf("FeedRanges(%q) mismatch (-want +got):\n%s", name, diff)
		}
	}
}
