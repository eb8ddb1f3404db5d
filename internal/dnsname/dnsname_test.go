package dnsname_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sovmap/sovmap/internal/dnsname"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	long63 := strings.Repeat("a", 63)
	tests := []struct {
		in, want string
		reason   string // substring of the error reason; "" when no error is wanted
	}{
		{in: "example.com", want: "example.com"},
		{in: "Example.COM.", want: "example.com"},
		{in: "WWW.Gov.", want: "www.gov"},
		{in: "com", want: "com"},
		{in: "Bücher.de", want: "xn--bcher-kva.de"},
		{in: "BÜCHER.de", want: "xn--bcher-kva.de"},
		{in: "bücher。de", want: "xn--bcher-kva.de"},
		{in: "bücher.de。", want: "xn--bcher-kva.de"},
		{in: "例え.テスト", want: "xn--r8jz45g.xn--zckzah"},
		{in: "政府.cn", want: "xn--mxtq1m.cn"},
		{in: "XN--BCHER-KVA.de", want: "xn--bcher-kva.de"},
		{in: "_dmarc.example.com", want: "_dmarc.example.com"},
		{in: "r3---sn-abc.googlevideo.com", want: "r3---sn-abc.googlevideo.com"},
		{in: "1password.com", want: "1password.com"},
		{in: long63 + ".com", want: long63 + ".com"},
		{in: "", reason: "empty name"},
		{in: ".", reason: "the root"},
		{in: "..", reason: "empty label"},
		{in: "a..b", reason: "empty label"},
		{in: ".example.com", reason: "empty label"},
		{in: "example.com..", reason: "empty label"},
		{in: "-a.com", reason: "hyphen"},
		{in: "a-.com", reason: "hyphen"},
		{in: long63 + "a.com", reason: "longer than 63"},
		{in: strings.Repeat("abcdefghi.", 26) + "com", reason: "longer than 253"},
		{in: "*.example.com", reason: "'*' is not allowed"},
		{in: "exa$mple.com", reason: "'$' is not allowed"},
		{in: "a\x00b.com", reason: "0x00 is not allowed"},
		{in: "example.com/path", reason: "'/' is not allowed"},
		{in: "https://example.com/", reason: "a URL"},
		{in: "postmaster@example.com", reason: "e-mail"},
		{in: " example.com", reason: "white space"},
		{in: "example .com", reason: "white space"},
		{in: "192.0.2.1", reason: "an IP address"},
		{in: "2001:db8::1", reason: "an IP address"},
		{in: "[2001:db8::1]", reason: "an IP address"},
		{in: "192.0.2.1:53", reason: "IP address and port"},
		{in: "1.2.3", reason: "numeric"},
		{in: "xn--zz.de", reason: "not a valid A-label"},
		{in: "foo\u200d.com", reason: "internationalised"},
		{in: "\xff.com", reason: "UTF-8"},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			got, err := dnsname.Normalize(test.in)
			if test.reason == "" {
				if err != nil || got != test.want {
					t.Errorf("Normalize(%q) = %q, %v, want %q", test.in, got, err, test.want)
				}
				return
			}
			var de *dnsname.Error
			if !errors.As(err, &de) || !strings.Contains(de.Reason, test.reason) {
				t.Fatalf("Normalize(%q) = %q, %v, want an error with %q", test.in, got, err, test.reason)
			}
			if de.Input != test.in || !strings.HasPrefix(err.Error(), "dnsname: ") {
				t.Errorf("Normalize(%q) error = %#v, %q; want Input %q and a dnsname: prefix", test.in, de, err, test.in)
			}
		})
	}
}

// FuzzNormalize checks that Normalize never panics, that what it accepts is
// a valid lower-case ASCII name, and that its result is a fixed point.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"example.com", "Example.COM.", "Bücher.de", "例え.テスト", "bücher。de",
		"xn--bcher-kva.de", "xn--zz.de", "_dmarc.x.com", "a..b", ".", "",
		"192.0.2.1", "https://x.com", "\xff\xfe", "a\u200db.com", "ÄÖ.de.",
		strings.Repeat("a", 64) + ".com", "ﬀ.com", "ß.de", "\u0660.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := dnsname.Normalize(s)
		if err != nil {
			var de *dnsname.Error
			if !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("Normalize(%q) error %v is not a *dnsname.Error with a reason", s, err)
			}
			if n != "" {
				t.Fatalf("Normalize(%q) = %q with an error", s, n)
			}
			return
		}
		if n == "" || len(n) > dnsname.MaxLength || strings.HasSuffix(n, ".") || !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q: not a valid name", s, n)
		}
		for i := 0; i < len(n); i++ {
			if c := n[i]; c >= 0x80 || (c >= 'A' && c <= 'Z') {
				t.Fatalf("Normalize(%q) = %q: not lower-case ASCII", s, n)
			}
		}
		for _, l := range strings.Split(n, ".") {
			if l == "" || len(l) > dnsname.MaxLabelLength {
				t.Fatalf("Normalize(%q) = %q: bad label %q", s, n, l)
			}
		}
		again, err := dnsname.Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize(Normalize(%q)) = %q, %v, want %q", s, again, err, n)
		}
		if _, err := dnsname.Normalize(n + "."); err != nil {
			t.Fatalf("Normalize(%q) with a trailing dot: %v", n, err)
		}
	})
}
