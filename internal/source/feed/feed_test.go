package feed

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
)

func TestParsePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "192.0.2.0/24", want: "192.0.2.0/24"},
		{in: " 192.0.2.7/24\t", want: "192.0.2.0/24"},
		{in: "2001:db8::1/32", want: "2001:db8::/32"},
		{in: "::ffff:192.0.2.0/120", want: "192.0.2.0/24"},
		{in: "::ffff:192.0.2.0/96", want: "0.0.0.0/0"},
		{in: "::ffff:0:0/95", want: "::fffe:0:0/95"},
		{in: "0.0.0.0/0", want: "0.0.0.0/0"},
		{in: "", wantErr: true},
		{in: "192.0.2.0", wantErr: true},
		{in: "192.0.2.0/33", wantErr: true},
		{in: "fe80::%eth0/64", wantErr: true},
		{in: "192.0.2.0/24/1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParsePrefix(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != netip.MustParsePrefix(tt.want) {
			t.Errorf("ParsePrefix(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDedup(t *testing.T) {
	t.Parallel()
	a := attribution.FeedRange{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Service: "a"}
	b := attribution.FeedRange{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Service: "b"}
	got := Dedup([]attribution.FeedRange{a, b, a, a, b})
	if want := []attribution.FeedRange{a, b}; !slices.Equal(got, want) {
		t.Errorf("Dedup = %v, want %v", got, want)
	}
	if got := Dedup(nil); len(got) != 0 {
		t.Errorf("Dedup(nil) = %v, want empty", got)
	}
}

func TestParseErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{Feed: "geofeed", Line: 3, Err: ErrEmpty}, "geofeed: line 3: empty prefix"},
		{&ParseError{Feed: "aws", Entry: "prefixes[2].ip_prefix", Err: ErrEmpty}, "aws: prefixes[2].ip_prefix: empty prefix"},
		{&ParseError{Feed: "aws", Err: ErrEmpty}, "aws: empty prefix"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, ErrEmpty) {
			t.Errorf("errors.Is(%v, ErrEmpty) = false, want true", tt.err)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	bad := []netip.Prefix{
		{},
		netip.PrefixFrom(netip.MustParseAddr("192.0.2.1"), 24),
		netip.MustParsePrefix("::ffff:192.0.2.0/120"),
	}
	for _, p := range bad {
		if err := Check([]attribution.FeedRange{{Prefix: p}}); err == nil {
			t.Errorf("Check(%v) = nil, want error", p)
		}
	}
	if err := Check([]attribution.FeedRange{{Prefix: netip.MustParsePrefix("192.0.2.0/24")}}); err != nil {
		t.Errorf("Check(192.0.2.0/24) = %v, want nil", err)
	}
}
