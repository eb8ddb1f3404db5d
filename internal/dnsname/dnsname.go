// Package dnsname normalises the domain names people type or list into the
// one form sovmap works with: lower-case ASCII, internationalised labels as
// IDNA A-labels ("xn--…"), no trailing dot.
//
// [Normalize] accepts what users paste (mixed case, a trailing dot, Unicode
// names, full-width dots) and refuses what cannot be a domain name, with a
// reason a person can act on: a URL, an e-mail address, an IP address, an
// empty or over-long label, a character DNS names do not use. Its result is a
// fixed point: normalising a normalised name returns it unchanged.
//
// The rules are those of host names as they appear in DNS (RFC 1035, RFC
// 1123), relaxed where real zones are: underscores are accepted (service
// labels such as "_dmarc"), and so are labels with "--" in the third and
// fourth position that are not A-labels. Non-ASCII input is converted with
// UTS #46 lookup processing (non-transitional, as browsers do) from
// golang.org/x/net/idna.
package dnsname

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits of a name in presentation form, without the trailing dot.
const (
	MaxLength      = 253 // a name of 253 characters takes 255 octets on the wire
	MaxLabelLength = 63
)

// An Error explains why an input is not a domain name.
type Error struct {
	Input  string // the name as given
	Reason string // a lower-case phrase, e.g. "empty label"
}

// Error returns "dnsname: " followed by the quoted input and the reason.
func (e *Error) Error() string { return "dnsname: " + quote(e.Input) + ": " + e.Reason }

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "\uFFFD") + `"`
}

// profile converts Unicode names: UTS #46 mapping for lookup, without the
// STD3 rules (which would refuse underscores), with the Bidi and label
// checks, and with DNS length checks.
var profile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.CheckHyphens(false),
	idna.VerifyDNSLength(true),
)

// punycode validates A-labels: they must decode to valid Unicode labels.
var punycode = idna.New(
	idna.ValidateLabels(true),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
)

// Normalize returns the canonical form of a domain name: lower-case ASCII,
// IDNA A-labels for internationalised labels, without a trailing dot. It
// returns an [*Error] when s is not a domain name. Surrounding white space
// is not trimmed: it is an error.
func Normalize(s string) (string, error) {
	if s == "" {
		return "", &Error{s, "empty name"}
	}
	if r := obvious(s); r != "" {
		return "", &Error{s, r}
	}
	name := strings.TrimSuffix(s, ".")
	if name == "" {
		return "", &Error{s, "the root is not a domain name"}
	}
	if !isASCII(name) {
		a, err := profile.ToASCII(name)
		if err != nil {
			return "", &Error{s, "not a valid internationalised name: " + idnaReason(err)}
		}
		// A full-width or ideographic final dot maps to ".".
		name = strings.TrimSuffix(a, ".")
	}
	name = strings.ToLower(name)
	if len(name) > MaxLength {
		return "", &Error{s, "longer than 253 characters"}
	}
	if r := checkLabels(name); r != "" {
		return "", &Error{s, r}
	}
	return name, nil
}

// obvious recognises inputs that are something else than a name, to say so.
func obvious(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "not valid UTF-8 text"
	case strings.Contains(s, "://"):
		return "a URL, not a domain name (give its host part)"
	case strings.ContainsAny(s, " \t\r\n"):
		return "contains white space"
	case strings.Contains(s, "@"):
		return "an e-mail address or an @ sign, not a domain name"
	}
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(s, "["), "."), "]")
	if _, err := netip.ParseAddr(t); err == nil {
		return "an IP address, not a domain name"
	}
	if _, err := netip.ParseAddrPort(s); err == nil {
		return "an IP address and port, not a domain name"
	}
	return ""
}

// checkLabels checks the labels of a lower-case ASCII name without a
// trailing dot, returning the reason it is refused or "".
func checkLabels(name string) string {
	var last string
	for label := range strings.SplitSeq(name, ".") {
		last = label
		switch {
		case label == "":
			return "empty label"
		case len(label) > MaxLabelLength:
			return "label " + quote(label) + " is longer than 63 characters"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "label " + quote(label) + " starts or ends with a hyphen"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "character " + charName(c) + " is not allowed in a domain name"
			}
		}
		if strings.HasPrefix(label, "xn--") {
			if _, err := punycode.ToUnicode(label); err != nil {
				return "label " + quote(label) + " is not a valid A-label: " + idnaReason(err)
			}
		}
	}
	numeric := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			numeric = false
			break
		}
	}
	if numeric {
		return "the last label is numeric"
	}
	return ""
}

func charName(c byte) string {
	if c >= 0x21 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[c>>4], hex[c&0xf]})
}

// idnaReason turns an idna error into a short phrase without the package
// prefix.
func idnaReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "idna") {
		msg = msg[i+2:]
	}
	return msg
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
