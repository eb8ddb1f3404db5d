package dnsscan_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/dnstest"
)

var validStatus = map[string]bool{
	dnsscan.StatusOK: true, dnsscan.StatusNXDomain: true, dnsscan.StatusServFail: true,
	dnsscan.StatusTimeout: true, dnsscan.StatusError: true,
}

// faultyZone returns n domains, every tenth with a fault, and the input
// listing them (plus missing and malformed names).
func faultyZone(n int) (zone string, input string, faults map[string]dnstest.Fault) {
	var z, in strings.Builder
	faults = map[string]dnstest.Fault{}
	kinds := []dnstest.Fault{dnstest.ServFail, dnstest.Refused, dnstest.Drop, dnstest.Truncate, dnstest.Referral, dnstest.Garbage}
	for i := range n {
		d := fmt.Sprintf("d%d.example", i)
		fmt.Fprintf(&z, "%s. IN A 192.0.2.%d\n%s. IN NS ns%d.dns.example.\n%s. IN MX 10 mx.mail.example.\n", d, i%250+1, d, i%7, d)
		fmt.Fprintf(&z, "www.%s. IN CNAME cdn%d.cdn.example.\n", d, i%5)
		if i%10 == 3 {
			faults[d] = kinds[(i/10)%len(kinds)]
		}
		fmt.Fprintf(&in, "%s\n", d)
		if i%97 == 0 {
			fmt.Fprintf(&in, "missing%d.example\nnot a domain %d\n", i, i)
		}
	}
	for i := range 7 {
		fmt.Fprintf(&z, "ns%d.dns.example. IN A 198.51.100.%d\n", i, i+1)
	}
	for i := range 5 {
		fmt.Fprintf(&z, "cdn%d.cdn.example. IN A 203.0.113.%d\n", i, i+1)
	}
	z.WriteString("mx.mail.example. IN A 198.51.100.25\n")
	return z.String(), in.String(), faults
}

// checkOnce checks that every input line has exactly one result with a
// valid status.
func checkOnce(t *testing.T, input string, out []dnsscan.Result) {
	t.Helper()
	lines := map[int]bool{}
	for i, l := range strings.Split(strings.TrimSuffix(input, "\n"), "\n") {
		if l != "" {
			lines[i+1] = true
		}
	}
	got := map[int]int{}
	for _, r := range out {
		got[r.Line]++
		if !validStatus[r.Status] {
			t.Errorf("line %d %s: status %q", r.Line, r.Domain, r.Status)
		}
		if r.Status != dnsscan.StatusOK && r.Status != dnsscan.StatusNXDomain && r.Error == "" {
			t.Errorf("line %d %s: status %q without an error", r.Line, r.Domain, r.Status)
		}
	}
	for l := range lines {
		if got[l] != 1 {
			t.Errorf("line %d has %d results, want 1", l, got[l])
		}
	}
	if len(out) != len(lines) {
		t.Errorf("%d results for %d lines", len(out), len(lines))
	}
}

func faultRunner(t *testing.T, servers ...*dnstest.Server) *dnsscan.Runner {
	var addrs []string
	for _, s := range servers {
		addrs = append(addrs, s.Addr)
	}
	c := &dnsscan.Client{Servers: addrs, Timeout: 400 * time.Millisecond, Retries: 1, MaxInFlight: 64}
	t.Cleanup(func() { c.Close() })
	sc := &dnsscan.Scanner{Resolver: c, Engine: testEngine(t), DomainTimeout: 3 * time.Second}
	return &dnsscan.Runner{Scan: sc.Scan, Concurrency: 64}
}

// TestRunFaults scans domains with every kind of fault: each ends with a
// status and nothing hangs.
func TestRunFaults(t *testing.T) {
	t.Parallel()
	zone, input, faults := faultyZone(400)
	srv := startServer(t, zone)
	for d, f := range faults {
		srv.SetFault(d, f)
	}
	out, st, err := collect(t, faultRunner(t, srv), input)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, input, out)
	want := map[dnstest.Fault]string{
		dnstest.ServFail: dnsscan.StatusServFail, dnstest.Refused: dnsscan.StatusError, dnstest.Drop: dnsscan.StatusTimeout,
		dnstest.Truncate: dnsscan.StatusOK, dnstest.Referral: dnsscan.StatusError, dnstest.Garbage: dnsscan.StatusTimeout,
	}
	for _, r := range out {
		if f, ok := faults[r.Domain]; ok && r.Status != want[f] {
			t.Errorf("%s with fault %d: status %q %q, want %q", r.Domain, f, r.Status, r.Error, want[f])
		}
		if strings.HasPrefix(r.Domain, "missing") && r.Status != dnsscan.StatusNXDomain {
			t.Errorf("%s: status %q, want nxdomain", r.Domain, r.Status)
		}
	}
	if st.Malformed != 5 {
		t.Errorf("stats %+v, want 5 malformed", st)
	}
}

// TestRunServerDies kills the only resolver in the middle of a scan: every
// domain still gets one result, the later ones a failure.
func TestRunServerDies(t *testing.T) {
	t.Parallel()
	zone, input, _ := faultyZone(400)
	srv := startServer(t, zone)
	srv.CloseAfter(1000)
	out, st, err := collect(t, faultRunner(t, srv), input)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, input, out)
	if st.Statuses[dnsscan.StatusOK] == 0 || st.Statuses[dnsscan.StatusOK] == len(out)-st.Malformed {
		t.Errorf("statuses %v: want some ok before the resolver died, and failures after", st.Statuses)
	}
}

// TestRunFailover kills one of two resolvers in the middle of a scan:
// retries go to the other and every domain is scanned.
func TestRunFailover(t *testing.T) {
	t.Parallel()
	zone, input, _ := faultyZone(400)
	a, b := startServer(t, zone), startServer(t, zone)
	a.CloseAfter(500)
	out, st, err := collect(t, faultRunner(t, a, b), input)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, input, out)
	if bad := len(out) - st.Statuses[dnsscan.StatusOK] - st.Statuses[dnsscan.StatusNXDomain] - st.Malformed; bad != 0 {
		for _, r := range out {
			if r.Status != dnsscan.StatusOK && r.Status != dnsscan.StatusNXDomain && !strings.HasPrefix(r.Domain, "not ") {
				t.Logf("%s: %s %s", r.Domain, r.Status, r.Error)
			}
		}
		t.Errorf("%d domains failed although a resolver was alive (statuses %v)", bad, st.Statuses)
	}
}
