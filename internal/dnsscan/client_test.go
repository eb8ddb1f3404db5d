package dnsscan_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/dnstest"
)

func TestParseServer(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"192.0.2.53", "192.0.2.53:53"},
		{"192.0.2.53:5353", "192.0.2.53:5353"},
		{"2001:db8::53", "[2001:db8::53]:53"},
		{"[2001:db8::53]:853", "[2001:db8::53]:853"},
		{"::ffff:192.0.2.1", "192.0.2.1:53"},
		{"dns.google", ""},
		{"192.0.2.53:0", ""},
		{"192.0.2.53:99999", ""},
		{"", ""},
	}
	for _, test := range tests {
		got, err := dnsscan.ParseServer(test.in)
		if got != test.want || (err != nil) != (test.want == "") {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", test.in, got, err, test.want)
		}
	}
}

func TestSystemServers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	os.WriteFile(conf, []byte("# test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:1\n"), 0o644)
	got, err := dnsscan.SystemServers(conf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"192.0.2.53:53", "[2001:db8::53]:53"}, got); diff != "" {
		t.Errorf("SystemServers (-want +got):\n%s", diff)
	}
	empty := filepath.Join(dir, "empty.conf")
	os.WriteFile(empty, []byte("search example.com\n"), 0o644)
	if _, err := dnsscan.SystemServers(empty); err == nil {
		t.Errorf("SystemServers on a file without name servers succeeded")
	}
	if _, err := dnsscan.SystemServers(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("SystemServers on a missing file succeeded")
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	var c dnsscan.Client
	if _, err := c.Query(context.Background(), "example.com", dns.TypeA); err == nil {
		t.Errorf("Query without servers succeeded")
	}
	srv := startServer(t, zone)
	srv.SetFault("shop.example", dnstest.Drop)
	c2 := &dnsscan.Client{Servers: []string{srv.Addr}, Timeout: 100 * time.Millisecond, Retries: 2}
	defer c2.Close()
	_, err := c2.Query(testCtx(t, 10*time.Second), "shop.example", dns.TypeA)
	var qe *dnsscan.QueryError
	if !errors.As(err, &qe) || !errors.Is(err, dnsscan.ErrTimeout) || qe.Attempts != 3 || !strings.Contains(err.Error(), "A shop.example.") {
		t.Errorf("Query to a dropping server = %v, want a timeout after 3 attempts", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c2.Query(ctx, "shop.example", dns.TypeA); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a cancelled context = %v, want context.Canceled", err)
	}
	if st := c2.Stats(); st.Queries != 1 || st.Failures != 1 || st.Timeouts != 3 {
		t.Errorf("stats = %+v", st)
	}
}

// TestClientRate checks that the rate limit spreads queries out: 30
// queries at 100 per second, with a burst of 10, take at least 0.2 s.
func TestClientRate(t *testing.T) {
	t.Parallel()
	srv := startServer(t, zone)
	c := &dnsscan.Client{Servers: []string{srv.Addr}, Rate: 100}
	defer c.Close()
	start := time.Now()
	for range 30 {
		if _, err := c.Query(testCtx(t, 10*time.Second), "shop.example", dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 190*time.Millisecond {
		t.Errorf("30 queries at 100/s took %v, want at least 0.2s", el)
	}
}

// TestClientInFlight checks that MaxInFlight bounds the queries in
// flight.
func TestClientInFlight(t *testing.T) {
	t.Parallel()
	srv := startServer(t, zone)
	srv.SetFault("shop.example", dnstest.Drop)
	c := &dnsscan.Client{Servers: []string{srv.Addr}, MaxInFlight: 2, Timeout: 200 * time.Millisecond}
	defer c.Close()
	done := make(chan struct{})
	for range 6 {
		go func() {
			c.Query(testCtx(t, 10*time.Second), "shop.example", dns.TypeA)
			done <- struct{}{}
		}()
	}
	for range 6 {
		<-done
	}
	// Six queries that each take the whole timeout, two at a time, reach
	// the server in three waves: all six arrive, none is lost.
	if q := srv.Queries(); q != 6 {
		t.Errorf("server saw %d queries, want 6", q)
	}
}
