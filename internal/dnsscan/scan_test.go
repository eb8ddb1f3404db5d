package dnsscan_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/dnstest"
	"github.com/sovmap/sovmap/internal/zonefile"
)

// zone is what the in-process resolver knows.
const zone = `
shop.example. IN SOA ns.shop.example. h.shop.example. 1 2 3 4 5
shop.example. IN A 47.88.1.1
shop.example. IN AAAA 2400:3200::1
shop.example. IN NS f1g1ns2.dnspod.net.
shop.example. IN NS f1g1ns1.dnspod.net.
shop.example. IN MX 10 mxw.mxhichina.com.
shop.example. IN MX 5 mxn.mxhichina.com.
www.shop.example. IN CNAME shop.oss-cn-hangzhou.aliyuncs.com.
shop.oss-cn-hangzhou.aliyuncs.com. IN A 120.24.1.1
f1g1ns1.dnspod.net. IN A 119.29.29.29
f1g1ns2.dnspod.net. IN A 129.226.1.1
mxn.mxhichina.com. IN A 106.11.1.1
mxw.mxhichina.com. IN A 106.11.1.2
host.shop.example. IN A 47.88.1.9

nomail.example. IN A 192.0.2.1
nomail.example. IN NS ns1.nomail.example.
nomail.example. IN MX 0 .
ns1.nomail.example. IN A 192.0.2.53

loop.example. IN A 192.0.2.1
www.loop.example. IN CNAME a.loop.example.
a.loop.example. IN CNAME b.loop.example.
b.loop.example. IN CNAME a.loop.example.

dangling.example. IN A 192.0.2.1
www.dangling.example. IN CNAME gone.example.

apexcname.example. IN CNAME shop.example.
danglingapex.example. IN CNAME gone.example.

broken.example. IN A 192.0.2.1
broken.example. IN NS ns.broken.example.
ns.broken.example. IN A 192.0.2.99
`

func newScanner(t testing.TB, s ...*dnstest.Server) (*dnsscan.Scanner, *dnsscan.Client) {
	t.Helper()
	var addrs []string
	for _, x := range s {
		addrs = append(addrs, x.Addr)
	}
	c := &dnsscan.Client{Servers: addrs, Timeout: 300 * time.Millisecond, Retries: 1}
	t.Cleanup(func() { c.Close() })
	return &dnsscan.Scanner{Resolver: c, Engine: testEngine(t), DomainTimeout: 5 * time.Second}, c
}

func TestScanLayers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, zone)
	sc, _ := newScanner(t, srv)
	r := sc.Scan(testCtx(t, 10*time.Second), "shop.example")
	if r.Status != dnsscan.StatusOK || r.Error != "" {
		t.Fatalf("status %q %q, want ok", r.Status, r.Error)
	}
	web, dnsl, mail := r.Layers[dnsscan.LayerWeb], r.Layers[dnsscan.LayerDNS], r.Layers[dnsscan.LayerMail]
	if diff := cmp.Diff([]string{"shop.example", "www.shop.example"}, hostNames(web)); diff != "" {
		t.Errorf("web hosts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"47.88.1.1", "2400:3200::1"}, addrs(web[0])); diff != "" {
		t.Errorf("apex addresses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"www.shop.example>shop.oss-cn-hangzhou.aliyuncs.com"}, chain(web[1])); diff != "" {
		t.Errorf("www chain (-want +got):\n%s", diff)
	}
	if a := web[1].Chain[0].Attribution; a == nil || a.Provider.ID != "alibaba-cloud" || a.Control.Country != "CN" {
		t.Errorf("CNAME target attribution = %+v, want alibaba-cloud, control CN", a)
	}
	if diff := cmp.Diff([]string{"120.24.1.1"}, addrs(web[1])); diff != "" {
		t.Errorf("www addresses (-want +got):\n%s", diff)
	}
	if a := web[0].Addresses[0]; a.ASN != 45102 || a.Provider == nil || a.Provider.ID != "alibaba-cloud" || a.Control.Country != "CN" || a.Location.Country != "US" {
		t.Errorf("47.88.1.1 record = %+v, want AS45102 alibaba-cloud, control CN, location US", a.Record)
	}
	if diff := cmp.Diff([]string{"f1g1ns1.dnspod.net", "f1g1ns2.dnspod.net"}, hostNames(dnsl)); diff != "" {
		t.Errorf("NS hosts (-want +got):\n%s", diff)
	}
	if a := dnsl[0].Attribution; a == nil || a.Provider.ID != "dnspod" {
		t.Errorf("NS attribution = %+v, want dnspod", a)
	}
	if diff := cmp.Diff([]string{"mxn.mxhichina.com", "mxw.mxhichina.com"}, hostNames(mail)); diff != "" {
		t.Errorf("MX hosts (-want +got), want preference order:\n%s", diff)
	}
	if p := mail[0].Preference; p == nil || *p != 5 {
		t.Errorf("first MX preference = %v, want 5", p)
	}
	for layer, want := range map[string]string{"web": "alibaba-cloud", "dns": "dnspod", "mail": "alibaba-cloud"} {
		s := r.Summary[dnsscan.Layers[slices.Index([]string{"web", "dns", "mail"}, layer)]]
		if !slices.Contains(s.Providers, want) || !slices.Contains(s.Controls, "CN") {
			t.Errorf("summary %s = %+v, want %s and CN", layer, s, want)
		}
	}
}

// TestScanJSON checks the JSON contract of a result: snake_case keys,
// addresses carrying the attribution record's fields.
func TestScanJSON(t *testing.T) {
	t.Parallel()
	srv := startServer(t, zone)
	sc, _ := newScanner(t, srv)
	r := sc.Scan(testCtx(t, 10*time.Second), "shop.example")
	checkJSON(t, &r)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	json.Unmarshal(b, &top)
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"domain", "layers", "status", "summary"}, keys); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	s := string(b)
	for _, want := range []string{
		`"layers":{"dns":[{"name":"f1g1ns1.dnspod.net","attribution":{"provider":{"id":"dnspod"`,
		`"addresses":[{"ip":"47.88.1.1","prefix":"47.88.0.0/14","asn":45102,"as_name":"Alibaba (US) Technology Co., Ltd.","provider":{"id":"alibaba-cloud"`,
		`"chain":[{"name":"www.shop.example","target":"shop.oss-cn-hangzhou.aliyuncs.com","attribution":{`,
		`"preference":5`,
		`"summary":{"dns":{"providers":["dnspod"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s\n%s", want, s)
		}
	}
}

func TestScanEdgeCases(t *testing.T) {
	t.Parallel()
	srv := startServer(t, zone)
	srv.SetFault("broken.example", dnstest.ServFail)
	srv.SetFault("ns.broken.example", dnstest.Drop)
	sc, _ := newScanner(t, srv)
	ctx := testCtx(t, 20*time.Second)

	t.Run("null MX and no www", func(t *testing.T) {
		r := sc.Scan(ctx, "nomail.example")
		if r.Status != dnsscan.StatusOK || len(r.Layers[dnsscan.LayerMail]) != 0 || len(r.Layers[dnsscan.LayerWeb]) != 1 {
			t.Errorf("result = %+v, want ok, no mail host, only the apex", r)
		}
		if m := r.Layers[dnsscan.LayerMail]; m == nil {
			t.Errorf("mail layer is nil, want an empty list")
		}
	})
	t.Run("not a zone apex", func(t *testing.T) {
		r := sc.Scan(ctx, "host.shop.example")
		if r.Status != dnsscan.StatusOK || r.Zone != "shop.example" || join(hostNames(r.Layers[dnsscan.LayerDNS])) != "f1g1ns1.dnspod.net,f1g1ns2.dnspod.net" {
			t.Errorf("result = %+v, want zone shop.example and its name servers", r)
		}
		if r := sc.Scan(ctx, "shop.example"); r.Zone != "" {
			t.Errorf("zone of an apex = %q, want none", r.Zone)
		}
	})
	t.Run("nxdomain", func(t *testing.T) {
		r := sc.Scan(ctx, "missing.example")
		if r.Status != dnsscan.StatusNXDomain || r.Error != "" {
			t.Errorf("status %q %q, want nxdomain", r.Status, r.Error)
		}
		for _, l := range dnsscan.Layers {
			if hs, ok := r.Layers[l]; !ok || len(hs) != 0 {
				t.Errorf("layer %s = %v, want empty", l, hs)
			}
		}
	})
	t.Run("CNAME loop", func(t *testing.T) {
		r := sc.Scan(ctx, "loop.example")
		www := r.Layers[dnsscan.LayerWeb][1]
		if r.Status != dnsscan.StatusOK || www.Status != dnsscan.StatusError || !strings.Contains(www.Error, "CNAME loop") {
			t.Fatalf("domain %q, www %q %q; want ok and a loop error on www", r.Status, www.Status, www.Error)
		}
		want := []string{"www.loop.example>a.loop.example", "a.loop.example>b.loop.example", "b.loop.example>a.loop.example"}
		if diff := cmp.Diff(want, chain(www)); diff != "" {
			t.Errorf("loop chain (-want +got):\n%s", diff)
		}
	})
	t.Run("dangling CNAME", func(t *testing.T) {
		r := sc.Scan(ctx, "dangling.example")
		www := r.Layers[dnsscan.LayerWeb][1]
		if r.Status != dnsscan.StatusOK || www.Status != dnsscan.StatusNXDomain || !strings.Contains(www.Error, "gone.example does not exist") {
			t.Errorf("domain %q, www %q %q; want ok and nxdomain on www", r.Status, www.Status, www.Error)
		}
	})
	t.Run("CNAME at the apex", func(t *testing.T) {
		r := sc.Scan(ctx, "apexcname.example")
		apex := r.Layers[dnsscan.LayerWeb][0]
		if len(apex.Chain) != 1 || len(apex.Addresses) != 2 {
			t.Errorf("apex = %+v, want one hop and two addresses", apex)
		}
	})
	t.Run("dangling CNAME at the apex", func(t *testing.T) {
		r := sc.Scan(ctx, "danglingapex.example")
		apex := r.Layers[dnsscan.LayerWeb][0]
		if r.Status != dnsscan.StatusOK || apex.Status != dnsscan.StatusNXDomain || len(apex.Chain) != 1 {
			t.Errorf("domain %q %q, apex %+v; want ok and nxdomain on the apex host", r.Status, r.Error, apex)
		}
	})
	t.Run("servfail", func(t *testing.T) {
		r := sc.Scan(ctx, "broken.example")
		if r.Status != dnsscan.StatusServFail || !strings.Contains(r.Error, "NS query: SERVFAIL") {
			t.Errorf("status %q %q, want servfail from the NS query", r.Status, r.Error)
		}
	})
}

func TestScanLongChain(t *testing.T) {
	t.Parallel()
	var z strings.Builder
	z.WriteString("long.example. IN A 192.0.2.1\nwww.long.example. IN CNAME c1.long.example.\n")
	for i := 1; i < 20; i++ {
		fmt.Fprintf(&z, "c%d.long.example. IN CNAME c%d.long.example.\n", i, i+1)
	}
	z.WriteString("c20.long.example. IN A 192.0.2.20\n")
	z.WriteString("ok.long.example. IN A 192.0.2.1\nwww.ok.long.example. IN CNAME c16.long.example.\n")
	for _, chase := range []int{32, 1} {
		t.Run(fmt.Sprintf("chase %d", chase), func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, z.String())
			srv.SetChase(chase)
			sc, _ := newScanner(t, srv)
			r := sc.Scan(testCtx(t, 10*time.Second), "long.example")
			www := r.Layers[dnsscan.LayerWeb][1]
			if www.Status != dnsscan.StatusError || !strings.Contains(www.Error, "longer than 16") || len(www.Chain) != dnsscan.MaxChain {
				t.Errorf("www: %q %q, %d hops; want an error and %d hops kept", www.Status, www.Error, len(www.Chain), dnsscan.MaxChain)
			}
			// A chain of 5 (c16 to c20) is followed to its end, asking
			// again for each hop when the server stops short.
			r = sc.Scan(testCtx(t, 10*time.Second), "ok.long.example")
			www = r.Layers[dnsscan.LayerWeb][1]
			if www.Status != "" || len(www.Chain) != 5 || join(addrs(www)) != "192.0.2.20" {
				t.Errorf("www: %q %q, %d hops, %v; want ok, 5 hops, 192.0.2.20", www.Status, www.Error, len(www.Chain), addrs(www))
			}
		})
	}
}

func TestScanFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  dnstest.Fault
		status string
		err    string
	}{
		{"servfail", dnstest.ServFail, dnsscan.StatusServFail, "SERVFAIL"},
		{"refused", dnstest.Refused, dnsscan.StatusError, "REFUSED"},
		{"drop", dnstest.Drop, dnsscan.StatusTimeout, "timeout"},
		{"garbage", dnstest.Garbage, dnsscan.StatusTimeout, "timeout"},
		{"referral", dnstest.Referral, dnsscan.StatusError, "not a recursive resolver"},
		{"truncate", dnstest.Truncate, dnsscan.StatusOK, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, zone)
			srv.SetFault("shop.example", test.fault)
			sc, c := newScanner(t, srv)
			r := sc.Scan(testCtx(t, 10*time.Second), "shop.example")
			if r.Status != test.status || !strings.Contains(r.Error, test.err) {
				t.Errorf("status %q, error %q; want %q with %q", r.Status, r.Error, test.status, test.err)
			}
			if test.fault == dnstest.Truncate {
				if c.Stats().TCP == 0 || len(r.Layers[dnsscan.LayerWeb][0].Addresses) != 2 {
					t.Errorf("truncated answers: %d TCP fallbacks, apex %+v", c.Stats().TCP, r.Layers[dnsscan.LayerWeb][0])
				}
			}
		})
	}
}

func TestScanLargeAnswer(t *testing.T) {
	t.Parallel()
	var z strings.Builder
	z.WriteString("big.example. IN NS ns.big.example.\n")
	for i := range 4000 {
		fmt.Fprintf(&z, "big.example. IN A 10.%d.%d.1\n", i/250, i%250)
	}
	srv := startServer(t, z.String())
	sc, c := newScanner(t, srv)
	r := sc.Scan(testCtx(t, 10*time.Second), "big.example")
	if r.Status != dnsscan.StatusOK || len(r.Layers[dnsscan.LayerWeb][0].Addresses) != 4000 || c.Stats().TCP == 0 {
		t.Errorf("status %q %q, %d addresses, %d TCP; want ok, 4000 over TCP", r.Status, r.Error, len(r.Layers[dnsscan.LayerWeb][0].Addresses), c.Stats().TCP)
	}
}

func TestScanRetry(t *testing.T) {
	t.Parallel()
	srv := startServer(t, zone)
	srv.DropFirst("shop.example", 2)
	sc, c := newScanner(t, srv)
	c.Retries = 2
	r := sc.Scan(testCtx(t, 10*time.Second), "shop.example")
	if r.Status != dnsscan.StatusOK {
		t.Errorf("status %q %q, want ok after a retry", r.Status, r.Error)
	}
	if st := c.Stats(); st.Timeouts < 2 || st.Sent <= st.Queries {
		t.Errorf("stats %+v, want two timeouts and retries", st)
	}
}

// TestScanSecondServer checks that a dead server is passed over for the
// next one.
func TestScanSecondServer(t *testing.T) {
	t.Parallel()
	dead := startServer(t, "")
	dead.Close()
	srv := startServer(t, zone)
	sc, _ := newScanner(t, dead, srv)
	for range 3 {
		r := sc.Scan(testCtx(t, 10*time.Second), "shop.example")
		if r.Status != dnsscan.StatusOK {
			t.Errorf("status %q %q, want ok from the live server", r.Status, r.Error)
		}
	}
	// SERVFAIL from one server is retried on the other.
	bad := startServer(t, zone)
	bad.SetFault("shop.example", dnstest.ServFail)
	sc, _ = newScanner(t, bad, srv)
	for range 3 {
		if r := sc.Scan(testCtx(t, 10*time.Second), "shop.example"); r.Status != dnsscan.StatusOK {
			t.Errorf("status %q %q, want ok from the good server", r.Status, r.Error)
		}
	}
}

// TestScanHostCache checks that NS and MX hosts shared by domains are
// looked up once.
func TestScanHostCache(t *testing.T) {
	t.Parallel()
	var z strings.Builder
	for i := range 20 {
		fmt.Fprintf(&z, "d%d.example. IN NS f1g1ns1.dnspod.net.\nd%d.example. IN MX 10 mxn.mxhichina.com.\n", i, i)
	}
	z.WriteString("f1g1ns1.dnspod.net. IN A 119.29.29.29\nmxn.mxhichina.com. IN A 106.11.1.1\n")
	srv := startServer(t, z.String())
	sc, _ := newScanner(t, srv)
	for i := range 20 {
		r := sc.Scan(testCtx(t, 10*time.Second), fmt.Sprintf("d%d.example", i))
		if r.Status != dnsscan.StatusOK || join(addrs(r.Layers[dnsscan.LayerDNS][0])) != "119.29.29.29" {
			t.Fatalf("d%d: %+v", i, r)
		}
	}
	// 6 queries per domain (A, AAAA for apex and www, NS, MX), and 2 per
	// shared host once.
	if q := srv.Queries(); q != 20*6+4 {
		t.Errorf("%d queries, want %d", q, 20*6+4)
	}
}

func TestScanDeadline(t *testing.T) {
	t.Parallel()
	srv := startServer(t, zone)
	srv.SetFault("shop.example", dnstest.Drop)
	c := &dnsscan.Client{Servers: []string{srv.Addr}, Timeout: 5 * time.Second, Retries: 5}
	sc := &dnsscan.Scanner{Resolver: c, DomainTimeout: 300 * time.Millisecond}
	start := time.Now()
	r := sc.Scan(testCtx(t, 10*time.Second), "shop.example")
	if r.Status != dnsscan.StatusTimeout {
		t.Errorf("status %q %q, want timeout", r.Status, r.Error)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("scan took %v despite a 300ms domain deadline", el)
	}
}

// FuzzResultJSON checks the fast JSON encoding against encoding/json on
// arbitrary strings.
func FuzzResultJSON(f *testing.F) {
	for _, s := range []string{"", "a", "<&>", "\x00\x1f\"\\", "\u2028\u2029", "\xff\xfe", "bücher", "\t\n\r\b\f"} {
		f.Add(s, s, uint16(0))
	}
	f.Fuzz(func(t *testing.T, a, b string, pref uint16) {
		eng := testEngine(t)
		h := dnsscan.Host{Name: a, Preference: &pref, Status: b, Error: a + b,
			Chain: []dnsscan.Hop{{Name: a, Target: "x.aliyuncs.com"}, {Name: b, Target: a}}}
		d := zonefile.Delegation{Name: "d.example.", NS: []string{"ns-1.awsdns-01.org.", a}}
		r := dnsscan.FromDelegation(eng, d)
		r.Input, r.Error, r.Line, r.Zone = a, b, int(pref), b
		r.Layers[dnsscan.LayerWeb] = []dnsscan.Host{h}
		r.Layers[dnsscan.LayerMail] = nil
		checkJSON(t, &r)
	})
}
