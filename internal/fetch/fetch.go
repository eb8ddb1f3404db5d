// Package fetch downloads files over HTTP(S) for "sovmap data update",
// carefully: every attempt has a time limit, and fails when its body
// stalls; transient errors (network errors and timeouts, cut connections,
// 5xx, 408 and 429 answers) are retried with exponential backoff and
// jitter (honouring Retry-After), permanent ones are not; bodies are
// size-checked against their Content-Length and against a limit, and the
// SHA-256 of what was received is recorded. Cancelling the context stops a
// download at once.
//
// # Redirects
//
// The URL a download starts from is the caller's choice and may be any
// host, loopback included. A redirect is not: it must lead to an http or
// https URL, and to the host and port first requested or to a public
// address. A redirect whose host is a loopback, private (RFC 1918, ULA),
// link-local, unspecified, multicast or shared (CGNAT) address, a
// "localhost" name or an IP address in an unusual numeric form is refused
// with a [*RedirectError]; so is, at connection time, one whose host name
// resolves to such an address (which also defeats DNS rebinding), unless
// the connection goes through a proxy of the environment, which resolves
// the name itself. [Client.AllowPrivateRedirects] lifts the address rules.
//
// A [Client] is safe for concurrent use. Its zero value is ready to use.
package fetch

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of [Client].
const (
	DefaultTimeout       = 5 * time.Minute
	DefaultAttempts      = 4
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
	DefaultStallTimeout  = 30 * time.Second
)

// stallBytes is the least a body must deliver in every StallTimeout.
const stallBytes = 1024

// A Client downloads files.
type Client struct {
	// HTTP is the client to use; nil means one with a dial timeout of 15s,
	// TLS handshake and response header timeouts of 30s, and the proxy
	// settings of the environment. Its own Timeout, if any, applies too.
	// Redirects are checked whichever client is used, but the addresses
	// that host names resolve to only with the default one.
	HTTP *http.Client
	// Timeout bounds one attempt, body included; 0 means DefaultTimeout.
	Timeout time.Duration
	// StallTimeout is how long a body may go receiving less than 1 KiB
	// before the attempt fails with [ErrStalled] (and is retried): it is
	// checked every StallTimeout from the first byte of the body. 0 means
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// AllowPrivateRedirects lets redirects lead to loopback, private,
	// link-local and other non-public addresses (see the package doc),
	// for mirrors inside a network. Redirects to schemes other than http
	// and https, and more than 10 redirects, are refused all the same.
	AllowPrivateRedirects bool
	// Attempts is the number of attempts in all; 0 means DefaultAttempts.
	Attempts int
	// MinBackoff and MaxBackoff bound the wait between attempts, which
	// doubles from MinBackoff; each wait is jittered to between half and
	// all of its value. 0 means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After a server may ask for; a
	// longer one fails the download. 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// UserAgent is sent with every request when set.
	UserAgent string
	// Progress, when set, is called with (total, 0) when a body starts,
	// total being its Content-Length or -1, and with (0, n) as n more bytes
	// arrive. A retried download is counted again. It must be safe for
	// concurrent use.
	Progress func(total, n int64)
	// OnRetry, when set, is called before each wait between attempts.
	OnRetry func(url string, attempt int, err error, wait time.Duration)

	// resolver and proxy, test hooks, replace the system's resolver and
	// the environment's proxy settings in the default client.
	resolver *net.Resolver
	proxy    func(*http.Request) (*url.URL, error)

	once    sync.Once
	defHTTP *http.Client
}

// A Response is a downloaded file.
type Response struct {
	Body         []byte
	URL          string    // the URL requested
	FinalURL     string    // after redirects
	SHA256       string    // hex SHA-256 of Body
	LastModified time.Time // from the Last-Modified header; zero if absent
	Attempts     int
}

// ErrTooLarge is wrapped by the error for a body larger than the limit.
var ErrTooLarge = errors.New("file larger than the limit")

// ErrTruncated is wrapped by the error for a body shorter than its
// Content-Length (the connection was cut).
var ErrTruncated = errors.New("download truncated")

// ErrStalled is wrapped by the error for a body that received less than
// 1 KiB in a StallTimeout.
var ErrStalled = errors.New("download stalled")

// ErrInvalidURL is wrapped by the error for a URL that is not an http or
// https URL with a host.
var ErrInvalidURL = errors.New("invalid URL")

// A StatusError is an HTTP answer other than 200.
type StatusError struct {
	URL    string
	Code   int
	Status string
	// RetryAfter is the wait the server asked for (429, 503), 0 if none.
	RetryAfter time.Duration
}

// Error names the URL and the status.
func (e *StatusError) Error() string { return fmt.Sprintf("%s: HTTP %s", e.URL, e.Status) }

// Temporary reports whether retrying may help: 5xx, 408 and 429.
func (e *StatusError) Temporary() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.once.Do(func() {
		d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second, Resolver: c.resolver}
		proxy := c.proxy
		if proxy == nil {
			proxy = http.ProxyFromEnvironment
		}
		c.defHTTP = &http.Client{Transport: &http.Transport{
			Proxy:                 guardedProxy(proxy),
			DialContext:           guardedDial(d),
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		}}
	})
	return c.defHTTP
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Get downloads url, whose body may be at most limit bytes (no limit if
// limit <= 0), retrying as the package doc says. The error of the last
// attempt is returned, wrapped with the number of attempts.
func (c *Client) Get(ctx context.Context, url string, limit int64) (*Response, error) {
	if err := checkURL(url); err != nil {
		return nil, err
	}
	attempts := orDefault(c.Attempts, DefaultAttempts)
	backoff := orDefault(c.MinBackoff, DefaultMinBackoff)
	maxBackoff := orDefault(c.MaxBackoff, DefaultMaxBackoff)
	var err error
	for a := 1; ; a++ {
		var resp *Response
		resp, err = c.get(ctx, url, limit)
		if err == nil {
			resp.Attempts = a
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if a >= attempts || !retryable(err) {
			break
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			if se.RetryAfter > orDefault(c.MaxRetryAfter, DefaultMaxRetryAfter) {
				return nil, fmt.Errorf("%w (the server asks to retry after %s; giving up)", err, se.RetryAfter)
			}
			wait = se.RetryAfter
		}
		if c.OnRetry != nil {
			c.OnRetry(url, a, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
	if attempts > 1 && retryable(err) {
		return nil, fmt.Errorf("%w (after %d attempts)", err, attempts)
	}
	return nil, err
}

// checkURL returns an error wrapping ErrInvalidURL unless s is an http or
// https URL with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w %q: want an http or https URL", ErrInvalidURL, s)
	}
	return nil
}

// retryable reports whether an attempt's error may go away on its own.
// These are permanent: a status other than 5xx, 408 and 429; a refused
// redirect; an invalid URL; a body over the limit; a TLS certificate that
// does not verify, a server that does not speak TLS or refuses the
// handshake with an alert; a host name that does not exist. Every other
// error is transient: timeouts and stalls, connections refused, reset or
// cut, temporary DNS failures, 5xx, 408 and 429.
func retryable(err error) bool {
	var (
		se *StatusError
		re *RedirectError
		ae *addrError
		cv *tls.CertificateVerificationError
		rh tls.RecordHeaderError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		op *net.OpError
		de *net.DNSError
	)
	switch {
	case errors.As(err, &se):
		return se.Temporary()
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrInvalidURL), errors.As(err, &re), errors.As(err, &ae):
		return false
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci),
		errors.As(err, &rh), errors.Is(err, http.ErrSchemeMismatch):
		return false
	case errors.As(err, &op) && op.Op == "remote error": // a TLS alert
		return false
	case errors.As(err, &de) && de.IsNotFound:
		return false
	}
	return true
}

// errStalled is the cause with which an attempt whose body stalled is
// cancelled.
var errStalled = errors.New("stalled")

func (c *Client) get(ctx context.Context, url string, limit int64) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, orDefault(c.Timeout, DefaultTimeout))
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	hc, guard, err := c.attemptClient(url)
	if err != nil {
		return nil, err
	}
	if !c.AllowPrivateRedirects && c.HTTP == nil {
		ctx = context.WithValue(ctx, guardKey{}, newDialGuard(guard.origin))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if re, ok := guard.redirectError(err); ok {
			return nil, re
		}
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%s: no answer within %s", url, orDefault(c.Timeout, DefaultTimeout))
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024)) // let the connection be reused
		return nil, &StatusError{URL: url, Code: resp.StatusCode, Status: resp.Status, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	if limit > 0 && resp.ContentLength > limit {
		return nil, fmt.Errorf("%s: %w: Content-Length %d, limit %d", url, ErrTooLarge, resp.ContentLength, limit)
	}
	if c.Progress != nil {
		c.Progress(resp.ContentLength, 0)
	}
	var r io.Reader = resp.Body
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	cr := &countingReader{r: r, fn: c.Progress}
	stall := orDefault(c.StallTimeout, DefaultStallTimeout)
	done := make(chan struct{})
	defer close(done)
	go watchStall(stall, &cr.n, done, func() { stop(errStalled) })
	capHint := int64(64 * 1024)
	if resp.ContentLength > 0 {
		capHint = resp.ContentLength
	}
	body, err := readAll(cr, capHint)
	if err != nil {
		if errors.Is(context.Cause(ctx), errStalled) {
			return nil, fmt.Errorf("%s: %w: less than %d bytes in %s (%d bytes received)", url, ErrStalled, stallBytes, stall, len(body))
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: %w: received %d of %d bytes", url, ErrTruncated, len(body), resp.ContentLength)
		}
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%s: download not finished within %s (%d bytes received)", url, orDefault(c.Timeout, DefaultTimeout), len(body))
		}
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if limit > 0 && int64(len(body)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", url, ErrTooLarge, limit)
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, fmt.Errorf("%s: %w: received %d of %d bytes", url, ErrTruncated, len(body), resp.ContentLength)
	}
	sum := sha256.Sum256(body)
	out := &Response{Body: body, URL: url, FinalURL: resp.Request.URL.String(), SHA256: hex.EncodeToString(sum[:])}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			out.LastModified = t.UTC()
		}
	}
	return out, nil
}

// readAll reads r to its end into a buffer sized for the expected length.
func readAll(r io.Reader, hint int64) ([]byte, error) {
	b := make([]byte, 0, min(hint, 256<<20)+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// attemptClient returns the http.Client for one attempt at url: the
// Client's, checking redirects with the returned guard.
func (c *Client) attemptClient(rawURL string) (*http.Client, *redirectGuard, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	g := &redirectGuard{origin: hostPort(u), allow: c.AllowPrivateRedirects}
	base := c.client()
	hc := *base
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := g.check(req, via); err != nil {
			return err
		}
		if base.CheckRedirect != nil {
			return base.CheckRedirect(req, via)
		}
		return nil
	}
	return &hc, g, nil
}

// watchStall calls stalled when n grows by less than stallBytes in a
// period, checking every period until done is closed.
func watchStall(period time.Duration, n *atomic.Int64, done <-chan struct{}, stalled func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-done:
			return
		case <-t.C:
			now := n.Load()
			if now-last < stallBytes {
				stalled()
				return
			}
			last = now
		}
	}
}

// A countingReader counts the bytes read, and reports them to fn when set.
type countingReader struct {
	r  io.Reader
	n  atomic.Int64
	fn func(total, n int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.n.Add(int64(n))
		if c.fn != nil {
			c.fn(0, int64(n))
		}
	}
	return n, err
}
