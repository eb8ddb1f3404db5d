package dnsscan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/sovmap/sovmap/internal/attribution"
)

// MaxChain is the longest CNAME chain followed: a longer chain, or a loop,
// ends the host's lookup with an error, keeping the hops seen.
const MaxChain = 16

// A Querier answers DNS queries; [*Client] is the real one. Query returns
// the response (of any rcode) or an error when there is none; see
// [Client.Query].
type Querier interface {
	Query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
}

// DefaultCacheSize is the number of NS and MX hosts a zero Scanner keeps.
const DefaultCacheSize = 1 << 16

// A Scanner resolves the layers of domains and attributes what it finds.
// Set the fields before the first scan; a Scanner is then safe for
// concurrent use.
type Scanner struct {
	// Resolver answers the queries. Required.
	Resolver Querier
	// Engine attributes hosts and addresses; nil leaves them unattributed.
	Engine *attribution.Engine
	// DomainTimeout bounds the whole work on one domain (all its queries,
	// retries and chains); zero means 30 seconds. A domain that runs out
	// of time has status timeout and keeps what was found.
	DomainTimeout time.Duration
	// CacheSize bounds the number of NS and MX host lookups kept for
	// other domains that share the hosts; zero means [DefaultCacheSize],
	// negative disables the cache.
	CacheSize int

	once  sync.Once
	cache *hostCache
}

func (s *Scanner) init() {
	s.once.Do(func() {
		n := s.CacheSize
		if n == 0 {
			n = DefaultCacheSize
		}
		if n > 0 {
			s.cache = &hostCache{max: n, m: make(map[cacheKey]*cacheEntry)}
		}
	})
}

// lookup is the outcome of one host lookup (A and AAAA through the chain).
type lookup struct {
	chain  []hop
	addrs  []netip.Addr
	status string
	err    string
	// apex is the status of the first query on the name itself (for
	// A, then AAAA), before any CNAME: it decides a domain's status.
	apex    string
	apexErr string
}

type hop struct{ name, target string }

// Scan resolves one normalised domain name (as [dnsname.Normalize] gives
// it) in every layer and returns its record. The record's status is that
// of the domain's own queries (NS, MX, A and AAAA at the apex); a failure
// of a host (www, a name server, a mail server, a CNAME target) is recorded
// on that host and does not change the domain's status.
func (s *Scanner) Scan(ctx context.Context, domain string) Result {
	s.init()
	d := s.DomainTimeout
	if d <= 0 {
		d = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	// The queries of a domain go one after the other: the client's bound
	// on queries in flight, not the domain, sets the parallelism, and a
	// goroutine per query would cost more CPU than the query itself.
	fq := dns.Fqdn(domain)
	var (
		apex, www  lookup
		nsH, mxH   []Host
		nsErr, mxE error
		zone       string
	)
	nsq := s.query(ctx, fq, dns.TypeNS)
	cnameNX(&nsq, fq)
	if nsq.status == StatusNXDomain {
		r := Result{Domain: domain, Status: StatusNXDomain, Layers: map[attribution.Layer][]Host{LayerWeb: {}, LayerDNS: {}, LayerMail: {}}}
		summarize(&r)
		return r
	}
	if nsq.status != StatusOK {
		nsErr = nsq.errorf("NS")
	} else {
		nsHosts := nsNames(nsq.msg, fq)
		if len(nsHosts) == 0 {
			// Not a zone apex: the DNS layer is that of the zone holding
			// the name, named by the SOA of the empty answer.
			if z := enclosingZone(nsq.msg, fq); z != "" {
				if zq := s.query(ctx, z, dns.TypeNS); zq.status == StatusOK {
					zone = strings.TrimSuffix(z, ".")
					nsHosts = nsNames(zq.msg, z)
				}
			}
		}
		nsH = s.hosts(ctx, nsHosts, nil, LayerDNS)
	}
	apex = s.resolve(ctx, fq)
	www = s.resolve(ctx, "www."+fq)
	mxq := s.query(ctx, fq, dns.TypeMX)
	cnameNX(&mxq, fq)
	if mxq.status != StatusOK {
		mxE = mxq.errorf("MX")
	} else {
		var mxs []mxHost
		for _, rr := range mxq.msg.Answer {
			mx, ok := rr.(*dns.MX)
			if !ok || !strings.EqualFold(mx.Hdr.Name, fq) || mx.Mx == "." {
				continue // a null MX (RFC 7505) says the domain takes no mail
			}
			h := mxHost{strings.ToLower(mx.Mx), mx.Preference}
			if !slices.Contains(mxs, h) {
				mxs = append(mxs, h)
			}
		}
		slices.SortFunc(mxs, func(a, b mxHost) int {
			return cmp.Or(cmp.Compare(a.pref, b.pref), strings.Compare(a.name, b.name))
		})
		names := make([]string, len(mxs))
		prefs := make([]uint16, len(mxs))
		for i, m := range mxs {
			names[i], prefs[i] = m.name, m.pref
		}
		mxH = s.hosts(ctx, names, prefs, LayerMail)
	}

	r := Result{Domain: domain, Zone: zone, Status: StatusOK}
	// The domain's status: NXDOMAIN on any of its own names wins; then
	// the first failure among NS, A, AAAA, MX.
	type part struct {
		what, status, err string
	}
	parts := []part{
		{"NS", nsq.status, errString(nsErr)},
		{"A/AAAA", apex.apex, apex.apexErr},
		{"MX", mxq.status, errString(mxE)},
	}
	var fails []string
	for _, p := range parts {
		if p.status == StatusNXDomain {
			r.Status, r.Error = StatusNXDomain, ""
			fails = nil
			break
		}
		if p.status != StatusOK {
			if r.Status == StatusOK {
				r.Status = p.status
			}
			fails = append(fails, p.err)
		}
	}
	if len(fails) > 0 {
		r.Error = strings.Join(fails, "; ")
	}
	if r.Status == StatusNXDomain {
		r.Layers = map[attribution.Layer][]Host{LayerWeb: {}, LayerDNS: {}, LayerMail: {}}
		summarize(&r)
		return r
	}
	web := []Host{s.host(fq, apex, nil, LayerWeb)}
	if www.status != StatusNXDomain || len(www.chain) > 0 {
		web = append(web, s.host("www."+fq, www, nil, LayerWeb))
	}
	if nsH == nil {
		nsH = []Host{}
	}
	if mxH == nil {
		mxH = []Host{}
	}
	r.Layers = map[attribution.Layer][]Host{LayerWeb: web, LayerDNS: nsH, LayerMail: mxH}
	summarize(&r)
	return r
}

// cnameNX makes an NXDOMAIN answer ok when the name itself is a CNAME: the
// rcode then speaks of the end of the chain (RFC 6604), and the name exists.
func cnameNX(q *query, name string) {
	if q.status != StatusNXDomain {
		return
	}
	for _, rr := range q.msg.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) {
			q.status, q.err = StatusOK, nil
			return
		}
	}
}

// nsNames returns the NS hosts of name in a response, sorted.
func nsNames(m *dns.Msg, name string) []string {
	var hs []string
	for _, rr := range m.Answer {
		if ns, ok := rr.(*dns.NS); ok && strings.EqualFold(ns.Hdr.Name, name) {
			h := strings.ToLower(ns.Ns)
			if !slices.Contains(hs, h) {
				hs = append(hs, h)
			}
		}
	}
	slices.Sort(hs)
	return hs
}

// enclosingZone returns the owner of the SOA record of an empty answer
// when it is a proper ancestor of name (lower case), or "".
func enclosingZone(m *dns.Msg, name string) string {
	if len(m.Answer) > 0 {
		return ""
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			z := strings.ToLower(soa.Hdr.Name)
			if z != "." && z != strings.ToLower(name) && dns.IsSubDomain(z, name) {
				return z
			}
		}
	}
	return ""
}

type mxHost struct {
	name string
	pref uint16
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// query is the outcome of one query.
type query struct {
	msg    *dns.Msg
	status string
	err    error // why, when status is not ok
}

func (q query) errorf(what string) error {
	if q.err != nil {
		return fmt.Errorf("%s query: %w", what, q.err)
	}
	return fmt.Errorf("%s query: %s", what, q.status)
}

// query sends one query and classifies its outcome.
func (s *Scanner) query(ctx context.Context, name string, qtype uint16) query {
	msg, err := s.Resolver.Query(ctx, name, qtype)
	if err != nil {
		var qe *QueryError
		switch {
		case isTimeout(err):
			return query{status: StatusTimeout, err: errors.New("timeout")}
		case errors.As(err, &qe):
			return query{status: StatusError, err: qe.Err}
		}
		return query{status: StatusError, err: err}
	}
	switch msg.Rcode {
	case dns.RcodeSuccess:
		return query{msg: msg, status: StatusOK}
	case dns.RcodeNameError:
		return query{msg: msg, status: StatusNXDomain}
	case dns.RcodeServerFailure:
		return query{msg: msg, status: StatusServFail, err: errors.New("SERVFAIL")}
	}
	rc := dns.RcodeToString[msg.Rcode]
	if rc == "" {
		rc = fmt.Sprintf("rcode %d", msg.Rcode)
	}
	return query{msg: msg, status: StatusError, err: errors.New(rc)}
}

// resolve looks up the A and AAAA records of a name, following its CNAME
// chain.
func (s *Scanner) resolve(ctx context.Context, name string) lookup {
	a := s.follow(ctx, name, dns.TypeA)
	aaaa := s.follow(ctx, name, dns.TypeAAAA)
	out := lookup{chain: a.chain, addrs: append(a.addrs, aaaa.addrs...), status: StatusOK, apex: StatusOK}
	if len(aaaa.chain) > len(out.chain) {
		out.chain = aaaa.chain
	}
	for _, l := range []lookup{a, aaaa} {
		if l.status != StatusOK && out.status == StatusOK {
			out.status, out.err = l.status, l.err
		}
		if l.apex != StatusOK && out.apex == StatusOK {
			out.apex, out.apexErr = l.apex, l.apexErr
		}
	}
	// NXDOMAIN for the name itself on one type and not the other cannot
	// be; a resolver that says so is believed on NXDOMAIN.
	return out
}

// follow queries one type for a name and follows the CNAME chain, asking
// again for the last name when the resolver's answer stops short of the
// end.
func (s *Scanner) follow(ctx context.Context, name string, qtype uint16) lookup {
	tname := dns.TypeToString[qtype]
	cur := strings.ToLower(name)
	seen := map[string]bool{cur: true}
	var l lookup
	for round := 0; ; round++ {
		q := s.query(ctx, cur, qtype)
		if round == 0 {
			l.apex = q.status
			if q.status == StatusNXDomain {
				l.apex = StatusNXDomain
			}
			if q.status != StatusOK && q.status != StatusNXDomain {
				l.apexErr = q.errorf(tname).Error()
			}
		}
		if q.msg == nil || (q.status != StatusOK && q.status != StatusNXDomain) {
			l.status = q.status
			l.err = q.errorf(tname).Error()
			if round > 0 {
				l.err = fmt.Sprintf("%s query for CNAME target %s: %v", tname, strings.TrimSuffix(cur, "."), q.err)
			}
			return l
		}
		cnames := make(map[string]string)
		for _, rr := range q.msg.Answer {
			if c, ok := rr.(*dns.CNAME); ok {
				cnames[strings.ToLower(c.Hdr.Name)] = strings.ToLower(c.Target)
			}
		}
		progressed := false
		for {
			t, ok := cnames[cur]
			if !ok {
				break
			}
			if len(l.chain) >= MaxChain {
				l.status, l.err = StatusError, fmt.Sprintf("CNAME chain longer than %d hops", MaxChain)
				return l
			}
			l.chain = append(l.chain, hop{cur, t})
			if seen[t] {
				l.status, l.err = StatusError, "CNAME loop at "+strings.TrimSuffix(t, ".")
				return l
			}
			seen[t] = true
			cur = t
			progressed = true
		}
		if round == 0 && q.status == StatusNXDomain && len(l.chain) > 0 {
			l.apex = StatusOK // the name exists: it is a CNAME
		}
		for _, rr := range q.msg.Answer {
			if !strings.EqualFold(rr.Header().Name, cur) {
				continue
			}
			switch v := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
					l.addrs = append(l.addrs, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA); ok {
					l.addrs = append(l.addrs, a.Unmap())
				}
			}
		}
		if q.status == StatusNXDomain {
			l.status = StatusNXDomain
			if len(l.chain) > 0 {
				l.err = "CNAME target " + strings.TrimSuffix(cur, ".") + " does not exist"
			} else {
				l.err = "no such name"
			}
			return l
		}
		if len(l.addrs) > 0 || !progressed || hasSOA(q.msg) {
			l.status = StatusOK
			return l
		}
		// The chain stops at a name the resolver did not resolve: ask
		// for it. The MaxChain limit ends this loop.
	}
}

func hasSOA(m *dns.Msg) bool {
	for _, rr := range m.Ns {
		if _, ok := rr.(*dns.SOA); ok {
			return true
		}
	}
	return false
}

// hosts resolves NS or MX hosts (through the cache) and builds their
// records.
func (s *Scanner) hosts(ctx context.Context, names []string, prefs []uint16, layer attribution.Layer) []Host {
	out := make([]Host, len(names))
	for i, n := range names {
		out[i] = s.cached(ctx, n, layer)
		if prefs != nil {
			out[i].Preference = &prefs[i]
		}
	}
	return out
}

// host builds the record of a host from its lookup.
func (s *Scanner) host(name string, l lookup, pref *uint16, layer attribution.Layer) Host {
	h := Host{Name: strings.TrimSuffix(name, "."), Preference: pref, Attribution: attributeHost(s.Engine, name, layer)}
	for _, c := range l.chain {
		h.Chain = append(h.Chain, Hop{Name: strings.TrimSuffix(c.name, "."), Target: strings.TrimSuffix(c.target, "."), Attribution: attributeHost(s.Engine, c.target, layer)})
	}
	h.Addresses = addresses(s.Engine, l.addrs)
	if l.status != StatusOK {
		h.Status, h.Error = l.status, l.err
	}
	return h
}

// addresses sorts and deduplicates addresses (IPv4 first) and attributes
// them.
func addresses(eng *attribution.Engine, addrs []netip.Addr) []Address {
	if len(addrs) == 0 {
		return nil
	}
	as := slices.Clone(addrs)
	slices.SortFunc(as, func(a, b netip.Addr) int { return a.Compare(b) })
	as = slices.Compact(as)
	out := make([]Address, len(as))
	for i, a := range as {
		if eng != nil {
			out[i] = Address{eng.Attribute(a)}
		} else {
			out[i] = Address{attribution.Record{IP: a, Confidence: attribution.ConfidenceNone}}
		}
	}
	return out
}

// A hostCache keeps the records of NS and MX hosts, which many domains
// share, and lets one lookup serve everyone who asks for a host while it is
// under way. It holds at most max entries; when full, it drops an eighth of
// them, chosen by map order. Cached records are shared: their slices are
// never modified.
type hostCache struct {
	mu  sync.Mutex
	max int
	m   map[cacheKey]*cacheEntry
}

type cacheKey struct {
	name  string
	layer attribution.Layer
}

type cacheEntry struct {
	done chan struct{}
	h    Host
	keep bool
}

// cached returns the record of an NS or MX host (without MX preference).
func (s *Scanner) cached(ctx context.Context, name string, layer attribution.Layer) Host {
	c := s.cache
	if c == nil {
		return s.host(name, s.resolve(ctx, name), nil, layer)
	}
	key := cacheKey{name, layer}
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		c.mu.Unlock()
		select {
		case <-e.done:
			if e.keep {
				return e.h
			}
			return s.host(name, s.resolve(ctx, name), nil, layer)
		case <-ctx.Done():
			return s.host(name, lookup{status: StatusTimeout, err: "timeout"}, nil, layer)
		}
	}
	if len(c.m) >= c.max {
		drop := max(c.max/8, 1)
		for k, e := range c.m {
			select {
			case <-e.done:
				delete(c.m, k)
				drop--
			default:
			}
			if drop == 0 {
				break
			}
		}
	}
	e := &cacheEntry{done: make(chan struct{})}
	c.m[key] = e
	c.mu.Unlock()

	l := s.resolve(ctx, name)
	e.h = s.host(name, l, nil, layer)
	// Timeouts are not kept: they may be this domain's deadline, or a
	// passing loss.
	e.keep = l.status != StatusTimeout && ctx.Err() == nil
	c.mu.Lock()
	if !e.keep {
		delete(c.m, key)
	}
	c.mu.Unlock()
	close(e.done)
	return e.h
}
