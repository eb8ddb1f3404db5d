package cli

import (
	"net/netip"
	"testing"
)

func TestParseIPv4(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "47.88.1.1"} {
		got, ok := parseIPv4([]byte(in))
		if want := netip.MustParseAddr(in); !ok || got != want {
			t.Errorf("parseIPv4(%q) = %v, %v, want %v, true", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "a.b.c.d", "::1", "1.2.3.4:80"} {
		if got, ok := parseIPv4([]byte(in)); ok {
			t.Errorf("parseIPv4(%q) = %v, true, want false", in, got)
		}
	}
}

func TestParseAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"1.2.3.4":           "1.2.3.4",
		"::ffff:1.2.3.4":    "1.2.3.4",
		"1.2.3.4:443":       "1.2.3.4",
		"[2001:db8::1]:53":  "2001:db8::1",
		"[2001:db8::1]":     "2001:db8::1",
		"2a00:1450:4001::1": "2a00:1450:4001::1",
	} {
		got, err := parseAddr(in)
		if err != nil || got != netip.MustParseAddr(want) {
			t.Errorf("parseAddr(%q) = %v, %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"fe80::1%eth0", "10.0.0.0/8", "example.com", "1.2.3.4:99999", ""} {
		if got, err := parseAddr(in); err == nil {
			t.Errorf("parseAddr(%q) = %v, nil, want an error", in, got)
		}
	}
}

// FuzzParseInputLine checks the two parsers of an input line: the IPv4 fast
// path agrees with netip.ParseAddr, and neither panics.
func FuzzParseInputLine(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "01.2.3.4", "255.255.255.256", "::1", "[::1]:53", "1.2.3.4:80", "x", "", "fe80::1%eth0", "10.0.0.0/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, ok := parseIPv4([]byte(s)); ok {
			want, err := netip.ParseAddr(s)
			if err != nil || want != a {
				t.Fatalf("parseIPv4(%q) = %v, but netip.ParseAddr = %v, %v", s, a, want, err)
			}
		}
		if a, err := parseAddr(s); err == nil {
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("parseAddr(%q) = %v: want a valid, unmapped address without zone", s, a)
			}
		}
	})
}
