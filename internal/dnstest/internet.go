package dnstest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// soa returns the SOA and NS records that open a zone.
func soa(origin, ns string) string {
	return fmt.Sprintf("$ORIGIN %s\n$TTL 3600\n@ IN SOA %s hostmaster.%s 2026082201 7200 900 1209600 300\n@ IN NS %s\n",
		origin, ns, strings.TrimPrefix(origin, "."), ns)
}

// Domains of the synthetic internet, with what a scan of each shows.
const (
	// DomainAlibaba is a shop hosted on Alibaba Cloud: apex on an
	// Alibaba address, www a CNAME to an OSS bucket (aliyuncs.com), DNS on
	// Alibaba Cloud DNS (hichina.com), mail on Alibaba Mail (mxhichina.com).
	DomainAlibaba = "example-shop.cn"
	// DomainTencent is on Tencent Cloud: DNSPod name servers, a CNAME to
	// Tencent's CDN (dnsv1.com), Tencent Exmail (mxbiz1.qq.com).
	DomainTencent = "example-game.com"
	// DomainAWS is an agency on AWS: Route 53 name servers, www a CNAME
	// to CloudFront, mail on Microsoft 365.
	DomainAWS = "example-agency.gov"
	// DomainCloudflare is behind Cloudflare (IPv4 and IPv6), with Google
	// mail.
	DomainCloudflare = "example-news.com"
	// DomainSelf runs its own name servers (in-zone, with glue), has no
	// www and no mail.
	DomainSelf = "example-city.gov"
	// DomainV6 has only an IPv6 address, on Alibaba Cloud, and AWS DNS.
	DomainV6 = "example-v6.org"
	// DomainIDN is bücher.com in its A-label form.
	DomainIDN = "xn--bcher-kva.com"
	// DomainLoop has a www CNAME loop.
	DomainLoop = "example-loop.com"
	// DomainLongChain has a www CNAME chain of 20 hops.
	DomainLongChain = "example-chain.net"
	// DomainDangling has a www CNAME to a name that does not exist.
	DomainDangling = "example-dangling.com"
	// DomainLame is delegated to a server that does not serve it.
	DomainLame = "example-lame.gov"
	// DomainMissing does not exist.
	DomainMissing = "example-missing.com"
)

// Zones returns the zones of the synthetic internet (origin → zone text):
// a root, the TLDs com, net, org, gov and cn, the domains above, and the
// providers' zones holding their real host names (name servers, mail
// exchangers, CDN and storage hosts) with real provider addresses. Every
// glue record of a delegation points at 127.0.0.1.
func Zones() map[string]string {
	z := map[string]string{}
	z["."] = soa(".", "a.root-servers.net.") + `a.root-servers.net. IN A 127.0.0.1
com. IN NS a.gtld-servers.net.
net. IN NS a.gtld-servers.net.
org. IN NS a0.org.afilias-nst.org.
gov. IN NS a.ns.gov.
cn. IN NS a.dns.cn.
a.gtld-servers.net. IN A 127.0.0.1
a0.org.afilias-nst.org. IN A 127.0.0.1
a.ns.gov. IN A 127.0.0.1
a.dns.cn. IN A 127.0.0.1
`
	tlds := map[string]string{"com.": "a.gtld-servers.net.", "net.": "a.gtld-servers.net.", "org.": "a0.org.afilias-nst.org.", "gov.": "a.ns.gov.", "cn.": "a.dns.cn."}
	delegations := map[string][]string{
		DomainAlibaba + ".":    {"dns1.hichina.com.", "dns2.hichina.com."},
		DomainTencent + ".":    {"f1g1ns1.dnspod.net.", "f1g1ns2.dnspod.net."},
		DomainAWS + ".":        {"ns-1069.awsdns-05.org.", "ns-540.awsdns-03.net.", "ns-308.awsdns-38.com."},
		DomainCloudflare + ".": {"amos.ns.cloudflare.com.", "teresa.ns.cloudflare.com."},
		DomainSelf + ".":       {"ns1.example-city.gov.", "ns2.example-city.gov."},
		DomainV6 + ".":         {"ns-1069.awsdns-05.org.", "ns-540.awsdns-03.net."},
		DomainIDN + ".":        {"amos.ns.cloudflare.com.", "teresa.ns.cloudflare.com."},
		DomainLoop + ".":       {"f1g1ns1.dnspod.net."},
		DomainLongChain + ".":  {"f1g1ns1.dnspod.net."},
		DomainDangling + ".":   {"f1g1ns1.dnspod.net."},
		DomainLame + ".":       {"ns1.lame-provider.net."},
		// providers
		"hichina.com.":    {"dns1.hichina.com."},
		"mxhichina.com.":  {"dns1.hichina.com."},
		"aliyuncs.com.":   {"dns1.hichina.com."},
		"dnspod.net.":     {"f1g1ns1.dnspod.net."},
		"dnsv1.com.":      {"f1g1ns1.dnspod.net."},
		"qq.com.":         {"f1g1ns1.dnspod.net."},
		"awsdns-05.org.":  {"ns-1069.awsdns-05.org."},
		"awsdns-03.net.":  {"ns-1069.awsdns-05.org."},
		"awsdns-38.com.":  {"ns-1069.awsdns-05.org."},
		"cloudfront.net.": {"ns-1069.awsdns-05.org."},
		"outlook.com.":    {"ns-1069.awsdns-05.org."},
		"cloudflare.com.": {"amos.ns.cloudflare.com."},
		"google.com.":     {"amos.ns.cloudflare.com."},
	}
	glue := map[string]string{
		"ns1.example-city.gov.": "127.0.0.1",
		"ns2.example-city.gov.": "127.0.0.1",
	}
	for tld, ns := range tlds {
		var b strings.Builder
		b.WriteString(soa(tld, ns))
		names := make([]string, 0, len(delegations))
		for d := range delegations {
			names = append(names, d)
		}
		sort.Strings(names)
		for _, d := range names {
			if !strings.HasSuffix(d, "."+tld) {
				continue
			}
			for _, h := range delegations[d] {
				fmt.Fprintf(&b, "%s IN NS %s\n", d, h)
				if a, ok := glue[h]; ok && strings.HasSuffix(h, "."+d) {
					fmt.Fprintf(&b, "%s IN A %s\n", h, a)
				}
			}
		}
		z[tld] = b.String()
	}
	dom := func(name, body string) {
		o := name + "."
		z[o] = soa(o, delegations[o][0]) + body
		for _, h := range delegations[o][1:] {
			z[o] += fmt.Sprintf("@ IN NS %s\n", h)
		}
	}
	dom(DomainAlibaba, `@ IN A 47.88.1.1
www IN CNAME example-shop.oss-cn-hangzhou.aliyuncs.com.
@ IN MX 5 mxn.mxhichina.com.
@ IN MX 10 mxw.mxhichina.com.
`)
	dom(DomainTencent, `@ IN A 119.28.28.28
www IN CNAME www.example-game.com.cdn.dnsv1.com.
@ IN MX 10 mxbiz1.qq.com.
`)
	dom(DomainAWS, `@ IN A 52.94.236.248
www IN CNAME d111111abcdef8.cloudfront.net.
@ IN MX 0 example-agency-gov.mail.protection.outlook.com.
`)
	dom(DomainCloudflare, `@ IN A 104.16.1.1
@ IN AAAA 2606:4700::6810:101
www IN A 104.16.1.1
www IN AAAA 2606:4700::6810:101
@ IN MX 1 aspmx.l.google.com.
`)
	dom(DomainSelf, `@ IN A 198.51.100.80
ns1 IN A 198.51.100.53
ns2 IN A 198.51.100.54
`)
	dom(DomainV6, `@ IN AAAA 2400:3200::1
`)
	dom(DomainIDN, `@ IN A 104.16.2.2
`)
	dom(DomainLoop, `@ IN A 192.0.2.1
www IN CNAME a
a IN CNAME b
b IN CNAME a
`)
	var chain strings.Builder
	chain.WriteString("@ IN A 192.0.2.2\nwww IN CNAME c1\n")
	for i := 1; i < 20; i++ {
		fmt.Fprintf(&chain, "c%d IN CNAME c%d\n", i, i+1)
	}
	chain.WriteString("c20 IN A 192.0.2.20\n")
	dom(DomainLongChain, chain.String())
	dom(DomainDangling, `@ IN A 192.0.2.3
www IN CNAME gone.example-news.com.
`)
	// Providers, with their real host names and addresses.
	dom("hichina.com", `dns1 IN A 140.205.1.1
dns2 IN A 140.205.1.2
`)
	dom("mxhichina.com", `mxn IN A 106.11.1.1
mxw IN A 106.11.1.2
`)
	dom("aliyuncs.com", `example-shop.oss-cn-hangzhou IN A 120.24.1.1
`)
	dom("dnspod.net", `f1g1ns1 IN A 119.29.29.29
f1g1ns2 IN A 129.226.1.1
`)
	dom("dnsv1.com", `www.example-game.com.cdn IN A 43.154.1.1
`)
	dom("qq.com", `mxbiz1 IN A 183.60.82.1
`)
	dom("awsdns-05.org", `ns-1069 IN A 205.251.196.45
ns-1069 IN AAAA 2600:9000:5304:2d00::1
`)
	dom("awsdns-03.net", `ns-540 IN A 205.251.194.28
`)
	dom("awsdns-38.com", `ns-308 IN A 205.251.193.52
`)
	dom("cloudfront.net", `d111111abcdef8 IN A 18.64.0.1
d111111abcdef8 IN A 18.64.0.2
d111111abcdef8 IN AAAA 2600:9000:2000::1
`)
	dom("outlook.com", `example-agency-gov.mail.protection IN A 52.101.1.1
`)
	dom("cloudflare.com", `amos.ns IN A 173.245.58.1
amos.ns IN AAAA 2606:4700:50::1
teresa.ns IN A 108.162.192.1
`)
	dom("google.com", `aspmx.l IN A 142.250.1.1
`)
	return z
}

// An Internet is the synthetic internet of [Zones] served by NSD, with
// Unbound as a recursive resolver over it.
type Internet struct {
	// NSD serves every zone of the synthetic internet.
	NSD *Process
	// Lame is a second NSD that serves none of the synthetic domains;
	// DomainLame is delegated to it, so it refuses the queries.
	Lame *Process
	// Unbound is the recursive resolver over NSD.
	Unbound *Process
	// Resolver is Unbound's address, "127.0.0.1:port".
	Resolver string
}

// StartInternet writes the zones of [Zones] and extra (origin → zone text;
// an extra zone replaces a synthetic one of the same origin) under dir,
// starts NSD on them and Unbound over NSD. [DomainLame] gets a stub zone
// on a second NSD, which does not serve it: a lame delegation. Stop the
// Internet when done.
func StartInternet(dir string, extra map[string]string) (*Internet, error) {
	zones := Zones()
	for o, z := range extra {
		zones[o] = z
	}
	nsdDir, lameDir, ubDir := filepath.Join(dir, "nsd"), filepath.Join(dir, "nsd-lame"), filepath.Join(dir, "unbound")
	for _, d := range []string{nsdDir, lameDir, ubDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	nsd, err := StartNSD(nsdDir, zones)
	if err != nil {
		return nil, err
	}
	lame, err := StartNSD(lameDir, map[string]string{"lame-provider.net.": soa("lame-provider.net.", "ns1.lame-provider.net.")})
	if err != nil {
		nsd.Stop()
		return nil, err
	}
	stubs := make([]string, 0, len(zones))
	for o := range zones {
		stubs = append(stubs, o)
	}
	sort.Strings(stubs)
	ub, err := StartUnbound(ubDir, nsd.Addr, stubs, Stub{DomainLame + ".", lame.Addr})
	if err != nil {
		nsd.Stop()
		lame.Stop()
		return nil, err
	}
	return &Internet{NSD: nsd, Lame: lame, Unbound: ub, Resolver: ub.Addr}, nil
}

// Stop stops Unbound and the NSDs.
func (in *Internet) Stop() error {
	return errors.Join(in.Unbound.Stop(), in.NSD.Stop(), in.Lame.Stop())
}
