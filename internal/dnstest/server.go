// Package dnstest provides DNS servers for tests, all on loopback
// addresses: an in-process server that plays a recursive resolver over
// canned zones and injects faults ([Server]), and the harness that runs
// the real Debian DNS software — NSD as the authoritative servers of a
// small synthetic internet and Unbound as the recursive resolver over it
// ([StartInternet]).
//
// Nothing here sends a packet beyond 127.0.0.1: the synthetic internet's
// glue points at loopback, Unbound reaches every zone through stub zones
// on NSD's loopback port, binds its queries to 127.0.0.1 and refuses to
// query any address outside 127.0.0.0/8.
package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// A Fault changes how a [Server] answers queries for a name.
type Fault int

// Faults a Server injects.
const (
	// ServFail answers SERVFAIL.
	ServFail Fault = iota + 1
	// Refused answers REFUSED.
	Refused
	// Drop never answers.
	Drop
	// Truncate answers over UDP with the TC bit and no records, so that
	// the client must ask again over TCP, where the answer is whole.
	Truncate
	// Referral answers with a referral (NS records in the authority
	// section, no answer, no recursion), as a lame or authoritative-only
	// server does.
	Referral
	// Garbage answers with bytes that are not a DNS message.
	Garbage
)

// A Server is an in-process DNS server on 127.0.0.1 that answers like a
// recursive resolver from canned zones: it follows CNAME chains (up to
// Chase records), says NXDOMAIN for names it does not hold and NODATA for
// types it does not hold, truncates UDP answers larger than the client's
// EDNS size, and injects faults per name. It listens on UDP and TCP on the
// same port.
type Server struct {
	// Addr is the server's address, "127.0.0.1:port".
	Addr string

	mu        sync.Mutex
	rrs       map[string]map[uint16][]dns.RR // by lower-case name and type
	soas      map[string]*dns.SOA
	faults    map[string]Fault
	dropFirst map[string]int
	chase     int
	closeAt   int64

	queries atomic.Int64
	udp     *dns.Server
	tcp     *dns.Server
	closed  atomic.Bool
	wg      sync.WaitGroup
}

// Start starts a server on a free loopback port with the records of zone,
// in master format (absolute names, or names relative to the root).
func Start(zone string) (*Server, error) {
	s := &Server{
		rrs:       make(map[string]map[uint16][]dns.RR),
		soas:      make(map[string]*dns.SOA),
		faults:    make(map[string]Fault),
		dropFirst: make(map[string]int),
		chase:     32,
	}
	if err := s.Add(zone); err != nil {
		return nil, err
	}
	var pc net.PacketConn
	var l net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		l, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if try == 10 {
			return nil, fmt.Errorf("dnstest: no free port for UDP and TCP: %w", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: l, Handler: h}
	started := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			srv.ActivateAndServe()
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			s.Close()
			return nil, errors.New("dnstest: server did not start")
		}
	}
	return s, nil
}

// Add adds the records of a zone text.
func (s *Server) Add(zone string) error {
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "")
	zp.SetDefaultTTL(300)
	s.mu.Lock()
	defer s.mu.Unlock()
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		s.addLocked(rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("dnstest: %w", err)
	}
	return nil
}

func (s *Server) addLocked(rr dns.RR) {
	h := rr.Header()
	name := strings.ToLower(h.Name)
	if s.rrs[name] == nil {
		s.rrs[name] = make(map[uint16][]dns.RR)
	}
	s.rrs[name][h.Rrtype] = append(s.rrs[name][h.Rrtype], rr)
	if soa, ok := rr.(*dns.SOA); ok {
		s.soas[name] = soa
	}
}

// SetFault makes the server answer queries for name (any type) with a
// fault; zero removes it.
func (s *Server) SetFault(name string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = strings.ToLower(dns.Fqdn(name))
	if f == 0 {
		delete(s.faults, name)
		return
	}
	s.faults[name] = f
}

// DropFirst makes the server ignore the first n queries for name.
func (s *Server) DropFirst(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropFirst[strings.ToLower(dns.Fqdn(name))] = n
}

// SetChase sets how many CNAME records the server follows in one answer
// (default 32). With 1, the server returns only the first CNAME, as a
// resolver that stops short does, and the client must ask for the rest.
func (s *Server) SetChase(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chase = n
}

// CloseAfter makes the server shut down after it has received n queries
// in all: a resolver that dies in the middle of a scan.
func (s *Server) CloseAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeAt = int64(n)
}

// Queries returns the number of queries received.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Close shuts the server down. It is safe to call more than once.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv == nil {
			continue
		}
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	n := s.queries.Add(1)
	s.mu.Lock()
	closeAt := s.closeAt
	s.mu.Unlock()
	if closeAt > 0 && n >= closeAt {
		if n == closeAt {
			go s.Close()
		}
		return
	}
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	_, isUDP := w.RemoteAddr().(*net.UDPAddr)

	s.mu.Lock()
	fault := s.faults[name]
	drop := false
	if s.dropFirst[name] > 0 {
		s.dropFirst[name]--
		drop = true
	}
	s.mu.Unlock()
	if drop {
		return
	}

	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	switch fault {
	case Drop:
		return
	case ServFail:
		m.Rcode = dns.RcodeServerFailure
		w.WriteMsg(m)
		return
	case Refused:
		m.Rcode = dns.RcodeRefused
		w.WriteMsg(m)
		return
	case Garbage:
		w.Write([]byte{0xde, 0xad, 0xbe, 0xef})
		return
	case Referral:
		m.RecursionAvailable = false
		m.Ns = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: "lame.example.", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 300}, Ns: "ns.lame.example."}}
		w.WriteMsg(m)
		return
	case Truncate:
		if isUDP {
			m.Truncated = true
			w.WriteMsg(m)
			return
		}
	}
	s.answer(m, name, q.Qtype)

	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		m.SetEdns0(opt.UDPSize(), false)
	}
	if !isUDP {
		size = dns.MaxMsgSize
	}
	m.Truncate(size)
	w.WriteMsg(m)
}

// answer fills m as a resolver would: the records of the type, through
// the CNAME chain, or NXDOMAIN or NODATA with the SOA of the zone.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]bool)
	cur := name
	for i := 0; ; i++ {
		byType, exists := s.rrs[cur]
		if rrs := byType[qtype]; len(rrs) > 0 {
			m.Answer = append(m.Answer, rrs...)
			return
		}
		if cn := byType[dns.TypeCNAME]; len(cn) > 0 && qtype != dns.TypeCNAME {
			m.Answer = append(m.Answer, cn[0])
			seen[cur] = true
			cur = strings.ToLower(cn[0].(*dns.CNAME).Target)
			if seen[cur] || i+1 >= s.chase {
				return // a loop, or as far as this server goes
			}
			continue
		}
		if !exists && !s.hasBelow(cur) {
			m.Rcode = dns.RcodeNameError
		}
		if soa := s.soaFor(cur); soa != nil {
			m.Ns = append(m.Ns, soa)
		}
		return
	}
}

// hasBelow reports whether a name is an empty non-terminal.
func (s *Server) hasBelow(name string) bool {
	for n := range s.rrs {
		if strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// soaFor returns the SOA of the closest enclosing zone, or a made-up one.
func (s *Server) soaFor(name string) dns.RR {
	for n := name; ; {
		if soa := s.soas[n]; soa != nil {
			return soa
		}
		if n == "." || n == "" {
			break
		}
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			n = "."
		} else {
			n = n[i+1:]
		}
	}
	return &dns.SOA{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
		Ns: "a.root-servers.net.", Mbox: "nstld.example.", Serial: 1, Refresh: 1800, Retry: 900, Expire: 604800, Minttl: 300}
}
