package dnsscan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/dnstest"
)

// TestEndToEnd scans the synthetic internet through Unbound, over NSD, and
// checks what a user sees for each kind of domain.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	in := internet(t, nil)
	c := &dnsscan.Client{Servers: []string{in.Resolver}, Timeout: 2 * time.Second, Retries: 1}
	defer c.Close()
	sc := &dnsscan.Scanner{Resolver: c, Engine: testEngine(t), DomainTimeout: 15 * time.Second}
	input := strings.Join([]string{
		dnstest.DomainAlibaba, dnstest.DomainTencent, dnstest.DomainAWS, dnstest.DomainCloudflare,
		dnstest.DomainSelf, dnstest.DomainV6, "Bücher.com", dnstest.DomainLoop, dnstest.DomainLongChain,
		dnstest.DomainDangling, dnstest.DomainLame, dnstest.DomainMissing,
		"EXAMPLE-SHOP.CN.", "http://example-news.com/", "www.example-news.com",
	}, "\n") + "\n"
	out, st, err := collect(t, &dnsscan.Runner{Scan: sc.Scan, Concurrency: 8, Ordered: true}, input)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, input, out)
	by := map[string]dnsscan.Result{}
	for _, r := range out {
		if r.Status != dnsscan.StatusError || r.Line < 13 || r.Line > 14 {
			by[r.Domain] = r
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	type want struct {
		status string
		web    []string // web host names
		sum    map[attribution.Layer]dnsscan.LayerSummary
	}
	cn := []string{"CN"}
	us := []string{"US"}
	tests := map[string]want{
		dnstest.DomainAlibaba: {status: "ok", web: []string{"example-shop.cn", "www.example-shop.cn"}, sum: map[attribution.Layer]dnsscan.LayerSummary{
			dnsscan.LayerWeb:  {Providers: []string{"alibaba-cloud"}, Controls: cn},
			dnsscan.LayerDNS:  {Providers: []string{"alibaba-cloud"}, Controls: cn},
			dnsscan.LayerMail: {Providers: []string{"alibaba-cloud"}, Controls: cn},
		}},
		dnstest.DomainTencent: {status: "ok", web: []string{"example-game.com", "www.example-game.com"}, sum: map[attribution.Layer]dnsscan.LayerSummary{
			dnsscan.LayerWeb:  {Providers: []string{"tencent-cloud"}, Controls: cn},
			dnsscan.LayerDNS:  {Providers: []string{"dnspod", "tencent-cloud"}, Controls: cn},
			dnsscan.LayerMail: {Providers: []string{"china-telecom", "tencent-exmail"}, Controls: cn},
		}},
		dnstest.DomainAWS: {status: "ok", web: []string{"example-agency.gov", "www.example-agency.gov"}, sum: map[attribution.Layer]dnsscan.LayerSummary{
			dnsscan.LayerWeb:  {Providers: []string{"aws"}, Controls: us},
			dnsscan.LayerDNS:  {Providers: []string{"aws"}, Controls: us},
			dnsscan.LayerMail: {Providers: []string{"azure", "microsoft-365"}, Controls: us},
		}},
		dnstest.DomainCloudflare: {status: "ok", web: []string{"example-news.com", "www.example-news.com"}, sum: map[attribution.Layer]dnsscan.LayerSummary{
			dnsscan.LayerWeb:  {Providers: []string{"cloudflare"}, Controls: us},
			dnsscan.LayerDNS:  {Providers: []string{"cloudflare"}, Controls: us},
			dnsscan.LayerMail: {Providers: []string{"google-cloud"}, Controls: us},
		}},
		dnstest.DomainSelf: {status: "ok", web: []string{"example-city.gov"}, sum: map[attribution.Layer]dnsscan.LayerSummary{
			dnsscan.LayerWeb:  {Providers: []string{}, Controls: []string{}},
			dnsscan.LayerDNS:  {Providers: []string{}, Controls: []string{}},
			dnsscan.LayerMail: {Providers: []string{}, Controls: []string{}},
		}},
		dnstest.DomainV6:        {status: "ok", web: []string{"example-v6.org"}},
		dnstest.DomainIDN:       {status: "ok", web: []string{"xn--bcher-kva.com"}},
		dnstest.DomainLoop:      {status: "ok", web: []string{"example-loop.com", "www.example-loop.com"}},
		dnstest.DomainLongChain: {status: "ok", web: []string{"example-chain.net", "www.example-chain.net"}},
		dnstest.DomainDangling:  {status: "ok", web: []string{"example-dangling.com", "www.example-dangling.com"}},
		dnstest.DomainLame:      {status: "servfail"},
		dnstest.DomainMissing:   {status: "nxdomain"},
	}
	for d, w := range tests {
		r, ok := by[d]
		if !ok {
			t.Errorf("%s: no result", d)
			continue
		}
		if r.Status != w.status {
			t.Errorf("%s: status %q (%s), want %q", d, r.Status, r.Error, w.status)
		}
		if w.web != nil {
			if diff := cmp.Diff(w.web, hostNames(r.Layers[dnsscan.LayerWeb])); diff != "" {
				t.Errorf("%s: web hosts (-want +got):\n%s", d, diff)
			}
		}
		if w.sum != nil {
			if diff := cmp.Diff(w.sum, r.Summary); diff != "" {
				t.Errorf("%s: summary (-want +got):\n%s", d, diff)
			}
		}
	}

	// The hops and hosts of the Alibaba shop, as the resolver gave them.
	shop := by[dnstest.DomainAlibaba]
	www := shop.Layers[dnsscan.LayerWeb][1]
	if diff := cmp.Diff([]string{"www.example-shop.cn>example-shop.oss-cn-hangzhou.aliyuncs.com"}, chain(www)); diff != "" {
		t.Errorf("shop www chain (-want +got):\n%s", diff)
	}
	if join(addrs(shop.Layers[dnsscan.LayerWeb][0])) != "47.88.1.1" || join(addrs(www)) != "120.24.1.1" {
		t.Errorf("shop addresses: apex %v, www %v", addrs(shop.Layers[dnsscan.LayerWeb][0]), addrs(www))
	}
	if diff := cmp.Diff([]string{"dns1.hichina.com", "dns2.hichina.com"}, hostNames(shop.Layers[dnsscan.LayerDNS])); diff != "" {
		t.Errorf("shop NS (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"mxn.mxhichina.com", "mxw.mxhichina.com"}, hostNames(shop.Layers[dnsscan.LayerMail])); diff != "" {
		t.Errorf("shop MX (-want +got):\n%s", diff)
	}
	// The AWS agency's CloudFront chain with IPv4 and IPv6.
	agency := by[dnstest.DomainAWS].Layers[dnsscan.LayerWeb][1]
	if join(chain(agency)) != "www.example-agency.gov>d111111abcdef8.cloudfront.net" || join(addrs(agency)) != "18.64.0.1,18.64.0.2,2600:9000:2000::1" {
		t.Errorf("agency www: chain %v, addresses %v", chain(agency), addrs(agency))
	}
	if a := agency.Chain[0].Attribution; a == nil || a.Provider.ID != "aws" {
		t.Errorf("cloudfront.net hop attribution = %+v, want aws", a)
	}
	// In-zone name servers resolved to their own addresses.
	city := by[dnstest.DomainSelf].Layers[dnsscan.LayerDNS]
	if len(city) != 2 || join(addrs(city[0])) != "198.51.100.53" {
		t.Errorf("city NS = %+v", city)
	}
	if v6 := by[dnstest.DomainV6].Layers[dnsscan.LayerWeb][0]; join(addrs(v6)) != "2400:3200::1" || v6.Addresses[0].Provider.ID != "alibaba-cloud" {
		t.Errorf("v6 apex = %+v", v6)
	}
	if idn := by[dnstest.DomainIDN]; idn.Input != "Bücher.com" {
		t.Errorf("IDN input = %q, want Bücher.com", idn.Input)
	}
	// Broken chains end on the host, never on the domain.
	for _, d := range []string{dnstest.DomainLoop, dnstest.DomainLongChain, dnstest.DomainDangling} {
		h := by[d].Layers[dnsscan.LayerWeb][1]
		if h.Status == "" || h.Error == "" {
			t.Errorf("%s www: status %q error %q, want a failure", d, h.Status, h.Error)
		}
		t.Logf("%s www: %s: %s (%d hops)", d, h.Status, h.Error, len(h.Chain))
	}
	if h := by[dnstest.DomainDangling].Layers[dnsscan.LayerWeb][1]; h.Status != dnsscan.StatusNXDomain || !strings.Contains(h.Error, "gone.example-news.com does not exist") {
		t.Errorf("dangling www: %q %q, want nxdomain of the CNAME target", h.Status, h.Error)
	}
	// A name below a zone apex gets the zone's name servers.
	if w := by["www.example-news.com"]; w.Zone != dnstest.DomainCloudflare || join(hostNames(w.Layers[dnsscan.LayerDNS])) != "amos.ns.cloudflare.com,teresa.ns.cloudflare.com" {
		t.Errorf("www.example-news.com: zone %q, DNS %v", w.Zone, hostNames(w.Layers[dnsscan.LayerDNS]))
	}
	if st.Duplicates != 1 || st.Malformed != 1 {
		t.Errorf("stats %+v, want one duplicate and one malformed", st)
	}
	if c.Stats().Failures > 10 {
		t.Errorf("client stats %+v", c.Stats())
	}
}
