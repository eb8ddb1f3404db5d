package dnstest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sovmap/sovmap/internal/dnstest"
)

const testZone = `example.com. IN SOA ns.example.com. h.example.com. 1 2 3 4 5
example.com. IN A 192.0.2.1
www.example.com. IN CNAME example.com.
one.example.com. IN CNAME two.example.com.
two.example.com. IN CNAME example.com.
sub.deep.example.com. IN A 192.0.2.9
`

func exchange(t *testing.T, addr, net, name string, qtype uint16) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 500 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, _, err := c.ExchangeContext(ctx, m, addr)
	return r, err
}

func start(t *testing.T, zone string) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestServerAnswers(t *testing.T) {
	t.Parallel()
	s := start(t, testZone)
	tests := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
		soa     bool
	}{
		{"example.com.", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"WWW.example.com.", dns.TypeA, dns.RcodeSuccess, 2, false},
		{"one.example.com.", dns.TypeA, dns.RcodeSuccess, 3, false},
		{"www.example.com.", dns.TypeCNAME, dns.RcodeSuccess, 1, false},
		{"example.com.", dns.TypeMX, dns.RcodeSuccess, 0, true},
		{"deep.example.com.", dns.TypeA, dns.RcodeSuccess, 0, true},
		{"nothere.example.com.", dns.TypeA, dns.RcodeNameError, 0, true},
	}
	for _, test := range tests {
		r, err := exchange(t, s.Addr, "udp", test.name, test.qtype)
		if err != nil {
			t.Fatalf("%s %s: %v", test.name, dns.TypeToString[test.qtype], err)
		}
		if r.Rcode != test.rcode || len(r.Answer) != test.answers || (len(r.Ns) > 0) != test.soa || !r.RecursionAvailable {
			t.Errorf("%s %s: rcode %s, %d answers, %d authority, RA %v; want %s, %d, SOA %v, RA",
				test.name, dns.TypeToString[test.qtype], dns.RcodeToString[r.Rcode], len(r.Answer), len(r.Ns), r.RecursionAvailable,
				dns.RcodeToString[test.rcode], test.answers, test.soa)
		}
	}
	if s.Queries() != int64(len(tests)) {
		t.Errorf("Queries() = %d, want %d", s.Queries(), len(tests))
	}
}

func TestServerFaults(t *testing.T) {
	t.Parallel()
	s := start(t, testZone)
	s.SetFault("servfail.example.com", dnstest.ServFail)
	s.SetFault("refused.example.com", dnstest.Refused)
	s.SetFault("drop.example.com", dnstest.Drop)
	s.SetFault("referral.example.com", dnstest.Referral)
	s.SetFault("garbage.example.com", dnstest.Garbage)
	s.SetFault("example.com", dnstest.Truncate)

	if r, err := exchange(t, s.Addr, "udp", "servfail.example.com.", dns.TypeA); err != nil || r.Rcode != dns.RcodeServerFailure {
		t.Errorf("servfail: %v, %v", r, err)
	}
	if r, err := exchange(t, s.Addr, "udp", "refused.example.com.", dns.TypeA); err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("refused: %v, %v", r, err)
	}
	if _, err := exchange(t, s.Addr, "udp", "drop.example.com.", dns.TypeA); err == nil {
		t.Errorf("drop: an answer came")
	}
	if r, err := exchange(t, s.Addr, "udp", "referral.example.com.", dns.TypeA); err != nil || r.RecursionAvailable || len(r.Ns) != 1 || len(r.Answer) != 0 {
		t.Errorf("referral: %v, %v", r, err)
	}
	if _, err := exchange(t, s.Addr, "udp", "garbage.example.com.", dns.TypeA); err == nil {
		t.Errorf("garbage: a valid answer came")
	}
	if r, err := exchange(t, s.Addr, "udp", "example.com.", dns.TypeA); err != nil || !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("truncate over UDP: %v, %v", r, err)
	}
	if r, err := exchange(t, s.Addr, "tcp", "example.com.", dns.TypeA); err != nil || r.Truncated || len(r.Answer) != 1 {
		t.Errorf("truncate over TCP: %v, %v", r, err)
	}
	s.SetFault("example.com", 0)
	if r, err := exchange(t, s.Addr, "udp", "example.com.", dns.TypeA); err != nil || r.Truncated {
		t.Errorf("fault removed: %v, %v", r, err)
	}
}

func TestServerDropFirst(t *testing.T) {
	t.Parallel()
	s := start(t, testZone)
	s.DropFirst("example.com", 1)
	if _, err := exchange(t, s.Addr, "udp", "example.com.", dns.TypeA); err == nil {
		t.Errorf("first query answered")
	}
	if _, err := exchange(t, s.Addr, "udp", "example.com.", dns.TypeA); err != nil {
		t.Errorf("second query: %v", err)
	}
}

func TestServerLargeAnswer(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&b, "big.example. IN A 10.%d.%d.1\n", i/250, i%250)
	}
	s := start(t, b.String())
	r, err := exchange(t, s.Addr, "udp", "big.example.", dns.TypeA)
	if err != nil || !r.Truncated {
		t.Fatalf("UDP: %v, %v; want a truncated answer", r, err)
	}
	r, err = exchange(t, s.Addr, "tcp", "big.example.", dns.TypeA)
	if err != nil || len(r.Answer) != 4000 {
		t.Fatalf("TCP: %d answers, %v; want 4000", len(r.Answer), err)
	}
	if n := r.Len(); n < 60000 {
		t.Errorf("TCP answer is %d bytes, want about 64 KB", n)
	}
}

func TestServerChase(t *testing.T) {
	t.Parallel()
	s := start(t, testZone)
	s.SetChase(1)
	r, err := exchange(t, s.Addr, "udp", "one.example.com.", dns.TypeA)
	if err != nil || len(r.Answer) != 1 {
		t.Errorf("with chase 1: %v, %v; want one CNAME", r, err)
	}
}

func TestServerCloseAfter(t *testing.T) {
	t.Parallel()
	s := start(t, testZone)
	s.CloseAfter(2)
	if _, err := exchange(t, s.Addr, "udp", "example.com.", dns.TypeA); err != nil {
		t.Fatalf("first query: %v", err)
	}
	exchange(t, s.Addr, "udp", "example.com.", dns.TypeA)
	time.Sleep(100 * time.Millisecond)
	if _, err := exchange(t, s.Addr, "tcp", "example.com.", dns.TypeA); err == nil {
		t.Errorf("server still answers after CloseAfter")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after CloseAfter: %v", err)
	}
}

func TestServerBadZone(t *testing.T) {
	t.Parallel()
	if _, err := dnstest.Start("example.com. IN A not-an-address\n"); err == nil {
		t.Errorf("Start with a bad zone succeeded")
	}
}

// internet starts the synthetic internet, or skips without NSD and Unbound.
func internet(t *testing.T) *dnstest.Internet {
	t.Helper()
	for _, bin := range []string{"nsd", "unbound"} {
		if _, err := dnstest.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (Debian packages nsd and unbound): %v", bin, err)
		}
	}
	in, err := dnstest.StartInternet(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Stop() })
	return in
}

// TestInternet checks the synthetic internet through Unbound.
func TestInternet(t *testing.T) {
	t.Parallel()
	in := internet(t)
	tests := []struct {
		name  string
		qtype uint16
		rcode int
		want  string // in the answer
	}{
		{"www." + dnstest.DomainAWS + ".", dns.TypeA, dns.RcodeSuccess, "18.64.0.1"},
		{dnstest.DomainAlibaba + ".", dns.TypeMX, dns.RcodeSuccess, "mxn.mxhichina.com."},
		{dnstest.DomainTencent + ".", dns.TypeNS, dns.RcodeSuccess, "f1g1ns1.dnspod.net."},
		{"ns1." + dnstest.DomainSelf + ".", dns.TypeA, dns.RcodeSuccess, "198.51.100.53"},
		{dnstest.DomainMissing + ".", dns.TypeA, dns.RcodeNameError, ""},
		{dnstest.DomainLame + ".", dns.TypeA, dns.RcodeServerFailure, ""},
	}
	for _, test := range tests {
		r, err := exchange(t, in.Resolver, "udp", test.name, test.qtype)
		if err != nil {
			t.Fatalf("%s: %v\nunbound:\n%s", test.name, err, in.Unbound.Output())
		}
		if r.Rcode != test.rcode || !strings.Contains(fmt.Sprint(r.Answer), test.want) {
			t.Errorf("%s %s: %s %v, want %s with %q", test.name, dns.TypeToString[test.qtype], dns.RcodeToString[r.Rcode], r.Answer, dns.RcodeToString[test.rcode], test.want)
		}
	}
	if in.Unbound.CPUTime() < 0 || in.NSD.Exited() {
		t.Errorf("NSD exited:\n%s", in.NSD.Output())
	}
}
