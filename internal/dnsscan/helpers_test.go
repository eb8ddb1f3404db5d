package dnsscan_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/dnstest"
)

// routes is a small route table with the real origins of the provider
// addresses the tests use, so that attribution does not depend on the
// embedded snapshot of the day.
type routes []attribution.Route

func (rt routes) Lookup(a netip.Addr) (attribution.Route, int, bool) {
	for i, r := range rt {
		if r.Prefix.Contains(a) {
			return r, i, true
		}
	}
	return attribution.Route{}, 0, false
}

func (rt routes) Keys() int { return len(rt) }

var testRoutes = routes{
	{Prefix: netip.MustParsePrefix("47.88.0.0/14"), ASN: 45102, ASName: "Alibaba (US) Technology Co., Ltd.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("140.205.0.0/16"), ASN: 45102, ASName: "Alibaba (US) Technology Co., Ltd.", Registration: "CN", Location: "CN"},
	{Prefix: netip.MustParsePrefix("106.11.0.0/16"), ASN: 37963, ASName: "Hangzhou Alibaba Advertising Co.,Ltd.", Registration: "CN", Location: "CN"},
	{Prefix: netip.MustParsePrefix("120.24.0.0/14"), ASN: 37963, ASName: "Hangzhou Alibaba Advertising Co.,Ltd.", Registration: "CN", Location: "CN"},
	{Prefix: netip.MustParsePrefix("2400:3200::/32"), ASN: 37963, ASName: "Hangzhou Alibaba Advertising Co.,Ltd.", Registration: "CN", Location: "CN"},
	{Prefix: netip.MustParsePrefix("119.28.0.0/15"), ASN: 132203, ASName: "Shenzhen Tencent Computer Systems Company Limited", Registration: "CN", Location: "HK"},
	{Prefix: netip.MustParsePrefix("129.226.0.0/16"), ASN: 132203, ASName: "Shenzhen Tencent Computer Systems Company Limited", Registration: "SG", Location: "SG"},
	{Prefix: netip.MustParsePrefix("43.154.0.0/15"), ASN: 132203, ASName: "Shenzhen Tencent Computer Systems Company Limited", Registration: "SG", Location: "HK"},
	{Prefix: netip.MustParsePrefix("183.60.0.0/16"), ASN: 4134, ASName: "Chinanet", Registration: "CN", Location: "CN"},
	{Prefix: netip.MustParsePrefix("52.94.0.0/16"), ASN: 16509, ASName: "Amazon.com, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("18.64.0.0/14"), ASN: 16509, ASName: "Amazon.com, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("205.251.192.0/19"), ASN: 16509, ASName: "Amazon.com, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("2600:9000::/28"), ASN: 16509, ASName: "Amazon.com, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("104.16.0.0/13"), ASN: 13335, ASName: "Cloudflare, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("173.245.48.0/20"), ASN: 13335, ASName: "Cloudflare, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("108.162.192.0/18"), ASN: 13335, ASName: "Cloudflare, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("2606:4700::/32"), ASN: 13335, ASName: "Cloudflare, Inc.", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("52.96.0.0/12"), ASN: 8075, ASName: "Microsoft Corporation", Registration: "US", Location: "US"},
	{Prefix: netip.MustParsePrefix("142.250.0.0/15"), ASN: 15169, ASName: "Google LLC", Registration: "US", Location: "US"},
}

var (
	engineOnce sync.Once
	engine     *attribution.Engine
	engineErr  error
)

// testEngine returns an engine over the embedded catalog and testRoutes.
func testEngine(t testing.TB) *attribution.Engine {
	t.Helper()
	engineOnce.Do(func() {
		var c *attribution.Catalog
		c, engineErr = catalog.Load()
		engine = attribution.NewEngine(testRoutes, c, attribution.SourceLabels{ASN: "test routes"})
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

// startServer starts an in-process resolver with the zone.
func startServer(t testing.TB, zone string) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testCtx returns a context that ends before the test's deadline, so that
// a hang fails the test instead of the whole binary.
func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// hostNames returns the names of hosts.
func hostNames(hs []dnsscan.Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

// addrs returns the addresses of a host as strings.
func addrs(h dnsscan.Host) []string {
	var out []string
	for _, a := range h.Addresses {
		out = append(out, a.IP.String())
	}
	return out
}

// chain returns a host's chain as "a>b" strings.
func chain(h dnsscan.Host) []string {
	var out []string
	for _, c := range h.Chain {
		out = append(out, c.Name+">"+c.Target)
	}
	return out
}

// internet starts the synthetic internet on NSD and Unbound, or skips.
func internet(t testing.TB, extra map[string]string) *dnstest.Internet {
	t.Helper()
	for _, bin := range []string{"nsd", "unbound"} {
		if _, err := dnstest.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (Debian packages nsd and unbound): %v", bin, err)
		}
	}
	in, err := dnstest.StartInternet(t.TempDir(), extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Error(err)
		}
	})
	return in
}

func join(s []string) string { return strings.Join(s, ",") }

// checkJSON checks that the fast JSON encoding of a result is what
// encoding/json gives.
func checkJSON(t testing.TB, r *dnsscan.Result) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.AppendJSON(nil); string(got) != string(want) {
		t.Errorf("AppendJSON differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}
