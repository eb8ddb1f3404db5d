package dnsscan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// EDNSBufferSize is the UDP payload size the client advertises: the size
// recommended by DNS Flag Day 2020 to avoid IP fragmentation.
const EDNSBufferSize = 1232

// Defaults of a zero Client.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultMaxInFlight = 256
)

// Errors of [Client.Query], wrapped in a [*QueryError].
var (
	// ErrTimeout means no answer came within the timeout, after every
	// attempt.
	ErrTimeout = errors.New("no answer within the timeout")
	// ErrNotRecursive means a server answered with a referral instead of
	// an answer: it is an authoritative server, not a recursive resolver
	// (or a lame one).
	ErrNotRecursive = errors.New("the server returned a referral, not an answer: it is not a recursive resolver")
)

// A QueryError is a query that got no usable answer.
type QueryError struct {
	Name     string // the name asked, fully qualified
	Type     uint16 // the type asked (dns.TypeA, …)
	Attempts int    // attempts sent
	Err      error  // ErrTimeout, ErrNotRecursive or the last network error
}

// Error describes the query and why it failed.
func (e *QueryError) Error() string {
	return fmt.Sprintf("dnsscan: %s %s: %v (%d attempts)", dns.TypeToString[e.Type], e.Name, e.Err, e.Attempts)
}

// Unwrap returns Err.
func (e *QueryError) Unwrap() error { return e.Err }

// A Client sends queries to one or more recursive resolvers: over UDP with
// EDNS0 ([EDNSBufferSize]), over TCP when an answer is truncated, with a
// timeout per attempt, retries with exponential backoff (each on the next
// server), a global rate limit and a limit on queries in flight.
//
// The zero value is not usable: Servers must be set. Set the fields before
// the first query; a Client is then safe for concurrent use.
type Client struct {
	// Servers are the resolvers' addresses, "IP:port" (see [ParseServer]).
	Servers []string
	// Timeout bounds one attempt; zero means [DefaultTimeout].
	Timeout time.Duration
	// Retries is the number of attempts after the first one when a query
	// times out, fails on the network, or (with several servers) gets
	// SERVFAIL or REFUSED. Zero means one attempt only.
	Retries int
	// Rate limits the queries sent per second, over all servers and
	// attempts; zero means no limit.
	Rate float64
	// MaxInFlight limits the queries waiting for an answer at any time;
	// zero means [DefaultMaxInFlight].
	MaxInFlight int

	once    sync.Once
	initErr error
	sem     chan struct{}
	lim     *limiter
	pools   []chan *udpConn
	next    atomic.Uint64
	closed  atomic.Bool
	stats   struct{ queries, sent, answers, timeouts, tcp, failures atomic.Int64 }
}

// ClientStats counts a client's work.
type ClientStats struct {
	Queries  int64 // calls to Query
	Sent     int64 // attempts sent (queries plus retries)
	Answers  int64 // responses received from a server, of any rcode
	Timeouts int64 // attempts that timed out
	TCP      int64 // truncated answers retried over TCP
	Failures int64 // queries that ended without a usable answer (not counting cancelled ones)
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{
		Queries: c.stats.queries.Load(), Sent: c.stats.sent.Load(), Answers: c.stats.answers.Load(),
		Timeouts: c.stats.timeouts.Load(), TCP: c.stats.tcp.Load(), Failures: c.stats.failures.Load(),
	}
}

func (c *Client) init() error {
	c.once.Do(func() {
		if len(c.Servers) == 0 {
			c.initErr = errors.New("dnsscan: no resolver to query")
			return
		}
		n := c.MaxInFlight
		if n <= 0 {
			n = DefaultMaxInFlight
		}
		c.sem = make(chan struct{}, n)
		c.lim = newLimiter(c.Rate)
		c.pools = make([]chan *udpConn, len(c.Servers))
		for i := range c.pools {
			c.pools[i] = make(chan *udpConn, n)
		}
	})
	return c.initErr
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Close closes the client's idle sockets. Queries after Close still work
// but no longer keep sockets for reuse.
func (c *Client) Close() error {
	c.closed.Store(true)
	for _, p := range c.pools {
		for {
			select {
			case uc := <-p:
				uc.conn.Close()
				continue
			default:
			}
			break
		}
	}
	return nil
}

// Query asks the resolvers for the records of one name and type, with the
// recursion-desired bit set. It returns the response of the first attempt
// that gets NOERROR or NXDOMAIN (or any other rcode but SERVFAIL and
// REFUSED); when every attempt gets SERVFAIL or REFUSED it returns the last
// such response. Otherwise it returns a [*QueryError] wrapping
// [ErrTimeout], [ErrNotRecursive] or the network error, or the context's
// error when ctx is cancelled.
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.stats.queries.Add(1)
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()

	// Not SetQuestion: it draws an ID from crypto/rand, which costs more
	// than the rest of the query; each attempt gets its own ID below.
	m := &dns.Msg{Question: []dns.Question{{Name: dns.Fqdn(name), Qtype: qtype, Qclass: dns.ClassINET}}}
	m.RecursionDesired = true
	m.SetEdns0(EDNSBufferSize, false)
	start := int(c.next.Add(1))
	attempts := max(c.Retries, 0) + 1
	var last *dns.Msg
	var lastErr error
	tried := 0
	for a := range attempts {
		if a > 0 {
			if err := sleep(ctx, backoff(a)); err != nil {
				break
			}
		}
		if err := c.lim.wait(ctx); err != nil {
			break
		}
		tried++
		c.stats.sent.Add(1)
		m.Id = uint16(rand.Uint32())
		resp, err := c.exchange(ctx, (start+a)%len(c.Servers), m)
		if err != nil {
			lastErr = err
			if isTimeout(err) {
				c.stats.timeouts.Add(1)
			}
			continue
		}
		c.stats.answers.Add(1)
		if isReferral(resp) {
			lastErr = ErrNotRecursive
			continue
		}
		switch resp.Rcode {
		case dns.RcodeServerFailure, dns.RcodeRefused:
			last = resp
			if len(c.Servers) > 1 {
				continue
			}
		}
		return resp, nil
	}
	if last != nil {
		return last, nil
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	c.stats.failures.Add(1)
	switch {
	case lastErr == nil, isTimeout(lastErr):
		lastErr = ErrTimeout
	}
	return nil, &QueryError{Name: m.Question[0].Name, Type: qtype, Attempts: tried, Err: lastErr}
}

// backoff returns the pause before attempt a (a ≥ 1): 50 ms doubling per
// attempt up to 1 s, with jitter.
func backoff(a int) time.Duration {
	d := 50 * time.Millisecond << min(a-1, 5)
	d = min(d, time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isTimeout reports whether err is a timeout of an attempt or of the
// context's deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrTimeout) || (errors.As(err, &ne) && ne.Timeout())
}

// isReferral reports whether a response is a referral: no answer, no
// authority SOA, NS records in the authority section, recursion not
// available.
func isReferral(m *dns.Msg) bool {
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) > 0 || m.RecursionAvailable || m.Authoritative {
		return false
	}
	hasNS := false
	for _, rr := range m.Ns {
		switch rr.(type) {
		case *dns.SOA:
			return false
		case *dns.NS:
			hasNS = true
		}
	}
	return hasNS
}

// A udpConn is a connected UDP socket kept for reuse, with its buffers.
type udpConn struct {
	conn net.Conn
	wbuf []byte
	rbuf []byte
}

// rbufSize is the read buffer of a UDP socket: larger than any answer to
// our EDNS size; a datagram that fills it is treated as truncated.
const rbufSize = 4096

// errTruncated asks for the TCP fallback.
var errTruncated = errors.New("truncated")

func (c *Client) exchange(ctx context.Context, srv int, m *dns.Msg) (*dns.Msg, error) {
	resp, err := c.exchangeUDP(ctx, srv, m)
	if errors.Is(err, errTruncated) {
		c.stats.tcp.Add(1)
		return c.exchangeTCP(ctx, srv, m)
	}
	return resp, err
}

func (c *Client) exchangeUDP(ctx context.Context, srv int, m *dns.Msg) (*dns.Msg, error) {
	var uc *udpConn
	select {
	case uc = <-c.pools[srv]:
	default:
		d := net.Dialer{Timeout: c.timeout()}
		conn, err := d.DialContext(ctx, "udp", c.Servers[srv])
		if err != nil {
			return nil, err
		}
		uc = &udpConn{conn: conn, wbuf: make([]byte, 0, 512), rbuf: make([]byte, rbufSize)}
	}
	reuse := false
	defer func() {
		if reuse && !c.closed.Load() {
			select {
			case c.pools[srv] <- uc:
				return
			default:
			}
		}
		uc.conn.Close()
	}()

	deadline := time.Now().Add(c.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := uc.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// Cancelling ctx interrupts the read. If the interruption may have
	// started, the socket is not reused: its deadline is no longer ours.
	stop := context.AfterFunc(ctx, func() { uc.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			reuse = false
		}
	}()

	p, err := m.PackBuffer(uc.wbuf)
	if err != nil {
		return nil, fmt.Errorf("pack query: %w", err)
	}
	uc.wbuf = p[:0]
	if _, err := uc.conn.Write(p); err != nil {
		return nil, err
	}
	for {
		n, err := uc.conn.Read(uc.rbuf)
		if err != nil {
			if isTimeout(err) {
				// A late answer may still come; reading the socket again
				// skips it by its ID.
				reuse = ctx.Err() == nil
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
			}
			return nil, err
		}
		b := uc.rbuf[:n]
		if n < 12 || binary.BigEndian.Uint16(b) != m.Id || b[2]&0x80 == 0 {
			continue // not an answer to this query: a late or stray packet
		}
		truncated := b[2]&0x02 != 0 || n == len(uc.rbuf)
		resp := new(dns.Msg)
		if err := resp.Unpack(b); err != nil {
			if truncated {
				reuse = true
				return nil, errTruncated
			}
			return nil, fmt.Errorf("malformed response: %w", err)
		}
		if !sameQuestion(m, resp) {
			continue
		}
		reuse = true
		if truncated {
			return nil, errTruncated
		}
		return resp, nil
	}
}

func (c *Client) exchangeTCP(ctx context.Context, srv int, m *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	tc := &dns.Client{Net: "tcp", Timeout: c.timeout()}
	resp, _, err := tc.ExchangeContext(ctx, m, c.Servers[srv])
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	if !sameQuestion(m, resp) {
		return nil, errors.New("tcp: answer to another question")
	}
	return resp, nil
}

func sameQuestion(q, r *dns.Msg) bool {
	if len(r.Question) != 1 {
		return false
	}
	a, b := q.Question[0], r.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// ParseServer parses a resolver address, "ADDR" or "ADDR:PORT" ("[ADDR]:PORT"
// for IPv6), into "IP:port" with port 53 by default. Only IP addresses are
// accepted: resolving a resolver's name would need a resolver.
func ParseServer(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53).String(), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", fmt.Errorf("resolver %q: not an IP address with an optional port", s)
	}
	if ap.Port() == 0 {
		return "", fmt.Errorf("resolver %q: port 0", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), nil
}

// SystemServers returns the resolvers of a resolv.conf file (usually
// /etc/resolv.conf) as "IP:port".
func SystemServers(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("dnsscan: %w", err)
	}
	var out []string
	for _, s := range cc.Servers {
		a, err := ParseServer(net.JoinHostPort(s, cc.Port))
		if err != nil {
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dnsscan: %s lists no name server", path)
	}
	return out, nil
}
