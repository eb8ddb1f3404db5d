package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
)

// maxRedirects is the longest chain of redirects followed, as in net/http.
const maxRedirects = 10

// A RedirectError is a redirect the client refused to follow.
type RedirectError struct {
	From string // the URL that answered with the redirect
	To   string // the URL it redirected to
	// Reason says why, e.g. "127.0.0.1 is a loopback address".
	Reason string
	// Private reports whether To was refused for where it leads (a
	// loopback, private, link-local... address), which
	// [Client.AllowPrivateRedirects] allows, rather than for its scheme or
	// for the number of redirects.
	Private bool
}

// Error names both URLs and the reason.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("redirect from %s to %s refused: %s", e.From, e.To, e.Reason)
}

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	siteLocal   = netip.MustParsePrefix("fec0::/10")
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

// addrClass describes an address that a redirect must not lead to, "a
// loopback address" for example, or returns "" for a public one. IPv4
// addresses mapped into IPv6 are judged as IPv4.
func addrClass(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case cgnat.Contains(a):
		return "a shared (CGNAT, 100.64.0.0/10) address"
	case thisNetwork.Contains(a):
		return "in 0.0.0.0/8, which reaches this host"
	case siteLocal.Contains(a):
		return "a site-local address"
	case a == broadcast:
		return "the broadcast address"
	}
	return ""
}

// hostReason says why a redirect must not lead to host, the host of a
// URL, or returns "" when its name alone does not tell (a DNS name: the
// dialer checks what it resolves to).
func hostReason(host string) string {
	if a, err := netip.ParseAddr(host); err == nil {
		if c := addrClass(a); c != "" {
			return host + " is " + c
		}
		return ""
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return host + " is a loopback name"
	}
	// No top-level domain is numeric: "2130706433", "127.1", "0x7f.1" or
	// "0177.0.0.1" is an IPv4 address in a form that resolvers read in
	// different ways (getaddrinfo reads all four as 127.0.0.1).
	labels := strings.Split(h, ".")
	if last := labels[len(labels)-1]; isNumber(last) {
		return host + " is an IP address in an unusual form"
	}
	return ""
}

// isNumber reports whether s is a decimal, octal or hexadecimal number as
// inet_aton reads one.
func isNumber(s string) bool {
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		s, digits = rest, "0123456789abcdef"
		if s == "" {
			return true
		}
	}
	return s != "" && strings.Trim(s, digits) == ""
}

// hostPort is the address a URL is dialled at, "host:port", lower-case,
// with the scheme's default port, as net/http dials it.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// A redirectGuard checks the redirects of one attempt.
type redirectGuard struct {
	origin   string // hostPort of the URL requested
	allow    bool   // Client.AllowPrivateRedirects
	from, to string // the last redirect followed, for messages
}

// check is an http.Client's CheckRedirect. A redirect must lead to an
// http or https URL, and unless allow is set, to the host and port
// requested or to a host that is no IP address or name of a loopback,
// private, link-local... address.
func (g *redirectGuard) check(req *http.Request, via []*http.Request) error {
	g.from, g.to = via[len(via)-1].URL.String(), req.URL.String()
	refuse := func(private bool, reason string) error {
		return &RedirectError{From: g.from, To: g.to, Reason: reason, Private: private}
	}
	if len(via) >= maxRedirects {
		return refuse(false, fmt.Sprintf("more than %d redirects", maxRedirects))
	}
	if s := req.URL.Scheme; (s != "http" && s != "https") || req.URL.Host == "" {
		return refuse(false, "not an http or https URL")
	}
	if g.allow || hostPort(req.URL) == g.origin {
		return nil
	}
	if reason := hostReason(req.URL.Hostname()); reason != "" {
		return refuse(true, reason)
	}
	return nil
}

// guardKey is the context key of a download's *dialGuard.
type guardKey struct{}

// A dialGuard is what the dialer knows of one download: the addresses
// ("host:port") the user chose, the URL's and the proxies', which it
// connects to whatever they resolve to. A connection to any other address,
// which only a redirect can ask for, must be to a public IP address.
type dialGuard struct {
	mu      sync.Mutex
	trusted map[string]bool
}

func newDialGuard(origin string) *dialGuard {
	return &dialGuard{trusted: map[string]bool{origin: true}}
}

func (g *dialGuard) trust(hostport string) {
	g.mu.Lock()
	g.trusted[strings.ToLower(hostport)] = true
	g.mu.Unlock()
}

func (g *dialGuard) trusts(hostport string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.trusted[strings.ToLower(hostport)]
}

// An addrError is a connection refused for the address a name resolved to.
type addrError struct {
	host string
	addr netip.Addr
	desc string // addrClass
}

func (e *addrError) Error() string {
	return fmt.Sprintf("%s resolves to %s, %s", e.host, e.addr, e.desc)
}

// guardedDial returns a DialContext for an http.Transport that checks,
// when the context holds a *dialGuard that does not trust the address, the
// IP address each connection is made to, after name resolution: this also
// defeats DNS rebinding.
func guardedDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		g, _ := ctx.Value(guardKey{}).(*dialGuard)
		if g == nil || g.trusts(addr) {
			return d.DialContext(ctx, network, addr)
		}
		host, _, _ := net.SplitHostPort(addr)
		checked := *d
		checked.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("connection to %s: %w", address, err)
			}
			if c := addrClass(ap.Addr()); c != "" {
				return &addrError{host: host, addr: ap.Addr(), desc: c}
			}
			return nil
		}
		return checked.DialContext(ctx, network, addr)
	}
}

// guardedProxy wraps an http.Transport's Proxy function: the proxy it
// picks for a request is trusted by the request's *dialGuard, since the
// connection goes to the proxy (which resolves the name itself).
func guardedProxy(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		u, err := proxy(req)
		if u != nil {
			if g, ok := req.Context().Value(guardKey{}).(*dialGuard); ok {
				g.trust(hostPort(u))
			}
		}
		return u, err
	}
}

// redirectError turns the error of a request whose connection the dial
// guard refused into a *RedirectError naming the redirect.
func (g *redirectGuard) redirectError(err error) (*RedirectError, bool) {
	var re *RedirectError
	if errors.As(err, &re) {
		return re, true
	}
	var ae *addrError
	if errors.As(err, &ae) && g.to != "" {
		return &RedirectError{From: g.from, To: g.to, Reason: ae.Error(), Private: true}, true
	}
	return nil, false
}
