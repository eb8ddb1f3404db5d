package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/dnstest"
)

// quick returns a client with short waits for tests.
func quick() *Client {
	return &Client{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 5 * time.Second}
}

func TestGet(t *testing.T) {
	t.Parallel()
	const body = `{"prefixes": []}`
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.json", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "sovmap-test" {
			t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
		}
		w.Header().Set("Last-Modified", "Wed, 24 Jul 2025 20:23:14 GMT")
		w.Write([]byte(body))
	})
	mux.Handle("/old.json", http.RedirectHandler("/feed.json", http.StatusMovedPermanently))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var total, got atomic.Int64
	c := quick()
	c.UserAgent = "sovmap-test"
	c.Progress = func(tot, n int64) {
		if n == 0 {
			total.Store(tot)
		}
		got.Add(n)
	}
	resp, err := c.Get(context.Background(), srv.URL+"/old.json", 1024)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if string(resp.Body) != body || resp.SHA256 != hex.EncodeToString(sum[:]) || resp.Attempts != 1 {
		t.Errorf("Get() = %q, sha %s, %d attempts", resp.Body, resp.SHA256, resp.Attempts)
	}
	if resp.FinalURL != srv.URL+"/feed.json" || resp.URL != srv.URL+"/old.json" {
		t.Errorf("Get() URL %s, final URL %s", resp.URL, resp.FinalURL)
	}
	if want := time.Date(2025, 7, 24, 20, 23, 14, 0, time.UTC); !resp.LastModified.Equal(want) {
		t.Errorf("LastModified = %v, want %v", resp.LastModified, want)
	}
	if total.Load() != int64(len(body)) || got.Load() != int64(len(body)) {
		t.Errorf("progress: total %d, bytes %d; want %d", total.Load(), got.Load(), len(body))
	}
}

func TestGetRetries5xx(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var retries []int
	c := quick()
	c.OnRetry = func(url string, attempt int, err error, wait time.Duration) { retries = append(retries, attempt) }
	resp, err := c.Get(context.Background(), srv.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "ok" || resp.Attempts != 3 || len(retries) != 2 {
		t.Errorf("Get() = %q after %d attempts, retries %v; want ok after 3", resp.Body, resp.Attempts, retries)
	}
}

func TestGetHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var wait time.Duration
	c := quick()
	c.OnRetry = func(url string, attempt int, err error, w time.Duration) { wait = w }
	if _, err := c.Get(context.Background(), srv.URL, 0); err != nil {
		t.Fatal(err)
	}
	if wait != time.Second {
		t.Errorf("wait before the retry = %v, want the 1s of Retry-After", wait)
	}
}

func TestGetRetryAfterTooLong(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "come back later", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := quick().Get(context.Background(), srv.URL, 0)
	if err == nil || !strings.Contains(err.Error(), "retry after 1h0m0s; giving up") || n.Load() != 1 {
		t.Fatalf("Get() error = %v after %d requests; want giving up after 1", err, n.Load())
	}
}

func TestGetNotFoundIsNotRetried(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	_, err := quick().Get(context.Background(), srv.URL, 0)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || se.Temporary() || n.Load() != 1 {
		t.Fatalf("Get() error = %v after %d requests; want a 404 StatusError after 1", err, n.Load())
	}
}

func TestGetTimeout(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-r.Context().Done() // never answers
	}))
	defer srv.Close()
	c := quick()
	c.Timeout = 50 * time.Millisecond
	c.Attempts = 2
	_, err := c.Get(context.Background(), srv.URL, 0)
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms (after 2 attempts)") || n.Load() != 2 {
		t.Fatalf("Get() error = %v after %d requests; want a timeout after 2", err, n.Load())
	}
}

func TestGetSlowBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := quick()
	c.Timeout = 50 * time.Millisecond
	c.Attempts = 1
	_, err := c.Get(context.Background(), srv.URL, 0)
	if err == nil || !strings.Contains(err.Error(), "download not finished within 50ms (7 bytes received)") {
		t.Fatalf("Get() error = %v, want a body timeout", err)
	}
}

func TestGetTruncated(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("only ten b")) // the server closes the connection after the handler
	}))
	defer srv.Close()
	_, err := quick().Get(context.Background(), srv.URL, 0)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "received 10 of 1000 bytes") || n.Load() != DefaultAttempts {
		t.Fatalf("Get() error = %v after %d requests; want ErrTruncated after %d", err, n.Load(), DefaultAttempts)
	}
}

func TestGetTooLarge(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2000)
	mux := http.NewServeMux()
	mux.HandleFunc("/sized", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 4 {
			w.Write([]byte(big[:500]))
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/sized", "/chunked"} {
		resp, err := quick().Get(context.Background(), srv.URL+path, 1000)
		if !errors.Is(err, ErrTooLarge) || resp != nil {
			t.Errorf("Get(%s) error = %v, want ErrTooLarge", path, err)
		}
	}
	if _, err := quick().Get(context.Background(), srv.URL+"/chunked", 2000); err != nil {
		t.Errorf("Get(/chunked) at the limit: %v", err)
	}
}

func TestGetCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusBadGateway)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{MinBackoff: time.Hour, MaxBackoff: time.Hour}
	c.OnRetry = func(string, int, error, time.Duration) { cancel() }
	done := make(chan error, 1)
	go func() { _, err := c.Get(ctx, srv.URL, 0); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Get() error = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get() did not return after its context was cancelled")
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{"-5", 0},
		{"soon", 0},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0}, // in the past
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if got := retryAfter(future); got < 59*time.Minute || got > time.Hour {
		t.Errorf("retryAfter(%q) = %v, want about an hour", future, got)
	}
}

// hitServer is a loopback server that counts the requests for each path.
type hitServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newHitServer(t *testing.T, h http.Handler) *hitServer {
	t.Helper()
	s := &hitServer{hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hitServer) hitsOf(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *hitServer) port() string { return s.URL[strings.LastIndexByte(s.URL, ':')+1:] }

// TestGetRedirects follows redirects from a feed server on 127.0.0.1 to
// itself, to another loopback server and to other places, with and
// without AllowPrivateRedirects.
func TestGetRedirects(t *testing.T) {
	t.Parallel()
	other := newHitServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) }))
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("origin")) })
	origin := newHitServer(t, mux)
	redirect := func(path, to string) {
		mux.Handle(path, http.RedirectHandler(to, http.StatusFound))
	}
	redirect("/moved", "/feed.json")
	redirect("/other", other.URL+"/feed.json")
	redirect("/localhost", "http://localhost:"+other.port()+"/feed.json")
	redirect("/numeric", "http://2130706433:"+other.port()+"/feed.json")
	redirect("/mapped", "http://[::ffff:127.0.0.1]:"+other.port()+"/feed.json")
	redirect("/metadata", "http://169.254.169.254/latest/meta-data/")
	redirect("/ftp", "ftp://127.0.0.1/feed.json")
	redirect("/loop", "/loop")

	tests := []struct {
		path  string
		allow bool
		want  string // the body, or "" for a refusal
		to    string // the URL refused
		// private: refused for its address (else for its scheme or the
		// number of redirects)
		private bool
		reason  string
	}{
		{path: "/moved", want: "origin"},
		{path: "/other", to: other.URL + "/feed.json", private: true, reason: "127.0.0.1 is a loopback address"},
		{path: "/other", allow: true, want: "other"},
		{path: "/localhost", to: "http://localhost:" + other.port() + "/feed.json", private: true, reason: "localhost is a loopback name"},
		{path: "/localhost", allow: true, want: "other"},
		{path: "/numeric", to: "http://2130706433:" + other.port() + "/feed.json", private: true, reason: "2130706433 is an IP address in an unusual form"},
		{path: "/mapped", to: "http://[::ffff:127.0.0.1]:" + other.port() + "/feed.json", private: true, reason: "::ffff:127.0.0.1 is a loopback address"},
		{path: "/metadata", to: "http://169.254.169.254/latest/meta-data/", private: true, reason: "169.254.169.254 is a link-local address"},
		{path: "/ftp", to: "ftp://127.0.0.1/feed.json", reason: "not an http or https URL"},
		{path: "/ftp", allow: true, to: "ftp://127.0.0.1/feed.json", reason: "not an http or https URL"},
		{path: "/loop", to: origin.URL + "/loop", reason: "more than 10 redirects"},
	}
	for _, tt := range tests {
		name := tt.path
		if tt.allow {
			name += " allowed"
		}
		t.Run(name, func(t *testing.T) {
			before, otherBefore := origin.hitsOf(tt.path), other.hitsOf("/feed.json")
			c := quick()
			c.AllowPrivateRedirects = tt.allow
			resp, err := c.Get(context.Background(), origin.URL+tt.path, 0)
			if tt.want != "" {
				if err != nil || string(resp.Body) != tt.want {
					t.Fatalf("Get(%s) = %v; want %q", tt.path, err, tt.want)
				}
				return
			}
			var re *RedirectError
			if !errors.As(err, &re) {
				t.Fatalf("Get(%s) error = %v, want a *RedirectError", tt.path, err)
			}
			from := origin.URL + tt.path
			want := &RedirectError{From: from, To: tt.to, Reason: tt.reason, Private: tt.private}
			if *re != *want {
				t.Errorf("Get(%s) error = %+v, want %+v", tt.path, re, want)
			}
			if msg := err.Error(); !strings.Contains(msg, from) || !strings.Contains(msg, tt.to) {
				t.Errorf("Get(%s) error %q does not name both URLs", tt.path, msg)
			}
			requests := 1 // a refused redirect is not retried
			if tt.path == "/loop" {
				requests = maxRedirects
			}
			if n := origin.hitsOf(tt.path) - before; n != requests {
				t.Errorf("Get(%s): %d requests, want %d", tt.path, n, requests)
			}
			if n := other.hitsOf("/feed.json") - otherBefore; n != 0 {
				t.Errorf("Get(%s): the redirect's target got %d requests", tt.path, n)
			}
		})
	}
}

// TestGetRedirectRebinding redirects to a name that resolves to a loopback
// address: the name passes, the connection is refused.
func TestGetRedirectRebinding(t *testing.T) {
	t.Parallel()
	dnsSrv, err := dnstest.Start("rebind.test. 60 IN A 127.0.0.1\n")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dnsSrv.Close() })
	other := newHitServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) }))
	to := "http://rebind.test:" + other.port() + "/feed.json"
	origin := newHitServer(t, http.RedirectHandler(to, http.StatusFound))

	client := func(allow bool) *Client {
		c := quick()
		c.AllowPrivateRedirects = allow
		c.proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
		c.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dnsSrv.Addr)
		}}
		return c
	}
	_, err = client(false).Get(context.Background(), origin.URL+"/feed.json", 0)
	want := &RedirectError{From: origin.URL + "/feed.json", To: to, Reason: "rebind.test resolves to 127.0.0.1, a loopback address", Private: true}
	if re, ok := errors.AsType[*RedirectError](err); !ok || *re != *want {
		t.Errorf("Get() error = %v, want %v", err, want)
	}
	if origin.hitsOf("/feed.json") != 1 || other.hitsOf("/feed.json") != 0 {
		t.Errorf("requests: %d to the origin, %d to the target; want 1 and 0", origin.hitsOf("/feed.json"), other.hitsOf("/feed.json"))
	}
	resp, err := client(true).Get(context.Background(), origin.URL+"/feed.json", 0)
	if err != nil || string(resp.Body) != "other" {
		t.Errorf("Get() with private redirects allowed = %v, want the target's body", err)
	}
}

// TestGetRedirectThroughProxy downloads through a proxy on 127.0.0.1: the
// connection to the proxy is allowed, redirects are judged by their URL.
func TestGetRedirectThroughProxy(t *testing.T) {
	t.Parallel()
	proxy := newHitServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Host + r.URL.Path { // a proxy sees absolute URLs
		case "feeds.test/old.json":
			http.Redirect(w, r, "http://mirror.test/feed.json", http.StatusMovedPermanently)
		case "feeds.test/private.json":
			http.Redirect(w, r, "http://10.1.2.3/feed.json", http.StatusMovedPermanently)
		case "mirror.test/feed.json":
			w.Write([]byte("mirror"))
		default:
			http.NotFound(w, r)
		}
	}))
	proxyURL, _ := url.Parse(proxy.URL)
	c := quick()
	c.proxy = func(*http.Request) (*url.URL, error) { return proxyURL, nil }
	resp, err := c.Get(context.Background(), "http://feeds.test/old.json", 0)
	if err != nil || string(resp.Body) != "mirror" || resp.FinalURL != "http://mirror.test/feed.json" {
		t.Fatalf("Get() through a proxy = %v, want the mirror's body", err)
	}
	_, err = c.Get(context.Background(), "http://feeds.test/private.json", 0)
	if re, ok := errors.AsType[*RedirectError](err); !ok || re.Reason != "10.1.2.3 is a private address" {
		t.Errorf("Get() through a proxy, redirected to 10.1.2.3: error %v, want a refused redirect", err)
	}
}

func TestHostReason(t *testing.T) {
	t.Parallel()
	tests := []struct{ host, want string }{
		{"127.0.0.1", "127.0.0.1 is a loopback address"},
		{"127.9.9.9", "127.9.9.9 is a loopback address"},
		{"::1", "::1 is a loopback address"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1 is a loopback address"},
		{"10.0.0.1", "10.0.0.1 is a private address"},
		{"172.16.5.4", "172.16.5.4 is a private address"},
		{"192.168.1.1", "192.168.1.1 is a private address"},
		{"::ffff:192.168.1.1", "::ffff:192.168.1.1 is a private address"},
		{"fd12:3456::1", "fd12:3456::1 is a private address"},
		{"169.254.169.254", "169.254.169.254 is a link-local address"},
		{"fe80::1%eth0", "fe80::1%eth0 is a link-local address"},
		{"0.0.0.0", "0.0.0.0 is the unspecified address"},
		{"::", ":: is the unspecified address"},
		{"0.1.2.3", "0.1.2.3 is in 0.0.0.0/8, which reaches this host"},
		{"224.0.0.251", "224.0.0.251 is a multicast address"},
		{"ff02::1", "ff02::1 is a multicast address"},
		{"100.64.0.1", "100.64.0.1 is a shared (CGNAT, 100.64.0.0/10) address"},
		{"100.127.255.254", "100.127.255.254 is a shared (CGNAT, 100.64.0.0/10) address"},
		{"fec0::1", "fec0::1 is a site-local address"},
		{"255.255.255.255", "255.255.255.255 is the broadcast address"},
		{"localhost", "localhost is a loopback name"},
		{"LocalHost.", "LocalHost. is a loopback name"},
		{"feeds.localhost", "feeds.localhost is a loopback name"},
		{"2130706433", "2130706433 is an IP address in an unusual form"},
		{"127.1", "127.1 is an IP address in an unusual form"},
		{"0x7f.0.0.1", "0x7f.0.0.1 is an IP address in an unusual form"},
		{"0177.0.0.1", "0177.0.0.1 is an IP address in an unusual form"},
		{"8.8.8.8", ""},
		{"100.128.0.1", ""},
		{"172.32.0.1", ""},
		{"2001:4860:4860::8888", ""},
		{"ip-ranges.amazonaws.com", ""},
		{"localhost.example.com", ""},
		{"1e100.net", ""},
		{"0x.example", ""},
	}
	for _, tt := range tests {
		if got := hostReason(tt.host); got != tt.want {
			t.Errorf("hostReason(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

// TestGetAttempts checks which errors are retried: transient ones up to
// Attempts times, permanent ones never.
func TestGetAttempts(t *testing.T) {
	t.Parallel()
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) }
	}
	serve := func(t *testing.T, h http.Handler) string { return newHitServer(t, h).URL + "/feed.json" }
	tests := []struct {
		name  string
		url   func(t *testing.T) string
		tries int // attempts made
		is    error
	}{
		{"404", func(t *testing.T) string { return serve(t, status(404)) }, 1, nil},
		{"403", func(t *testing.T) string { return serve(t, status(403)) }, 1, nil},
		{"400", func(t *testing.T) string { return serve(t, status(400)) }, 1, nil},
		{"410", func(t *testing.T) string { return serve(t, status(410)) }, 1, nil},
		{"500", func(t *testing.T) string { return serve(t, status(500)) }, DefaultAttempts, nil},
		{"503", func(t *testing.T) string { return serve(t, status(503)) }, DefaultAttempts, nil},
		{"408", func(t *testing.T) string { return serve(t, status(408)) }, DefaultAttempts, nil},
		{"429", func(t *testing.T) string { return serve(t, status(429)) }, DefaultAttempts, nil},
		{"refused redirect", func(t *testing.T) string {
			other := newHitServer(t, status(200))
			return serve(t, http.RedirectHandler(other.URL, http.StatusFound))
		}, 1, nil},
		{"invalid URL", func(t *testing.T) string { return "ftp://127.0.0.1/feed.json" }, 0, ErrInvalidURL},
		{"no host", func(t *testing.T) string { return "http:///feed.json" }, 0, ErrInvalidURL},
		{"unknown certificate authority", func(t *testing.T) string {
			srv := httptest.NewUnstartedServer(status(200))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors this test makes
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL
		}, 1, nil},
		{"plain HTTP to an HTTPS client", func(t *testing.T) string {
			return "https://" + strings.TrimPrefix(serve(t, status(200)), "http://")
		}, 1, nil},
		{"connection refused", func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			return "http://" + l.Addr().String() + "/feed.json"
		}, DefaultAttempts, nil},
		{"connection reset", func(t *testing.T) string {
			return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				conn.(*net.TCPConn).SetLinger(0) // close with a RST
				conn.Close()
			}))
		}, DefaultAttempts, nil},
		{"truncated", func(t *testing.T) string {
			return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.Write([]byte("short"))
			}))
		}, DefaultAttempts, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var retries atomic.Int32
			c := quick()
			c.OnRetry = func(string, int, error, time.Duration) { retries.Add(1) }
			resp, err := c.Get(context.Background(), tt.url(t), 0)
			if err == nil {
				t.Fatalf("Get() = %q, want an error", resp.Body)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Get() error = %v, want %v", err, tt.is)
			}
			tries := int(retries.Load()) + 1
			if tt.tries == 0 {
				tries = int(retries.Load())
			}
			if tries != tt.tries {
				t.Errorf("Get() made %d attempts, want %d (error: %v)", tries, tt.tries, err)
			}
			if retryable(err) != (tt.tries > 1) {
				t.Errorf("retryable(%v) = %v, want %v", err, retryable(err), tt.tries > 1)
			}
		})
	}
}

// TestGetStalled serves a body that trickles a byte at a time: the attempt
// fails once a StallTimeout passes with less than 1 KiB received, and is
// retried.
func TestGetStalled(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", "100000")
		rc := http.NewResponseController(w)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		giveUp := time.After(time.Minute) // a hang detector, not a timing
		for {
			w.Write([]byte("x"))
			rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-giveUp:
				return
			case <-tick.C:
			}
		}
	}))
	defer srv.Close()
	c := quick()
	c.Timeout = time.Minute
	c.StallTimeout = 200 * time.Millisecond
	c.Attempts = 2
	_, err := c.Get(context.Background(), srv.URL, 0)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "download stalled: less than 1024 bytes in 200ms") || !strings.HasSuffix(err.Error(), "(after 2 attempts)") {
		t.Fatalf("Get() error = %v, want a stall after 2 attempts", err)
	}
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2", n.Load())
	}
}
