package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
