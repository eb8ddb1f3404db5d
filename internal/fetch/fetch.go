// Package fetch downloads files over HTTP(S) for "sovmap data update",
// carefully: every attempt has a time limit, network errors, 5xx and 429
// answers and short bodies are retried with exponential backoff and jitter
// (honouring Retry-After), bodies are size-checked against their
// Content-Length and against a limit, and the SHA-256 of what was received
// is recorded. Cancelling the context stops a download at once.
//
// A [Client] is safe for concurrent use. Its zero value is ready to use.
package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults for the zero values of [Client].
const (
	DefaultTimeout       = 5 * time.Minute
	DefaultAttempts      = 4
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
)

// A Client downloads files.
type Client struct {
	// HTTP is the client to use; nil means one with a dial timeout of 15s,
	// TLS handshake and response header timeouts of 30s, and the proxy
	// settings of the environment. Its own Timeout, if any, applies too.
	HTTP *http.Client
	// Timeout bounds one attempt, body included; 0 means DefaultTimeout.
	Timeout time.Duration
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
		d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
		c.defHTTP = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           d.DialContext,
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

// retryable reports whether an attempt's error may go away: a network
// error, a cut connection or a temporary status, but not a size limit or a
// permanent status.
func retryable(err error) bool {
	if errors.Is(err, ErrTooLarge) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	return true
}

func (c *Client) get(ctx context.Context, url string, limit int64) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, orDefault(c.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.client().Do(req)
	if err != nil {
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
	if c.Progress != nil {
		r = &progressReader{r: r, fn: c.Progress}
	}
	capHint := int64(64 * 1024)
	if resp.ContentLength > 0 {
		capHint = resp.ContentLength
	}
	body, err := readAll(r, capHint)
	if err != nil {
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

type progressReader struct {
	r  io.Reader
	fn func(total, n int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(0, int64(n))
	}
	return n, err
}
