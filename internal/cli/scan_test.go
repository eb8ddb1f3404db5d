package cli_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/cli"
	"github.com/sovmap/sovmap/internal/dnstest"
)

// scanResult is what one run of sovmap scan gave.
type scanResult struct {
	code           int
	stdout, stderr string
}

func (r scanResult) String() string {
	clip := func(s string) string {
		if len(s) > 3000 {
			return s[:3000] + "..."
		}
		return s
	}
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, clip(r.stdout), clip(r.stderr))
}

// scanRun runs sovmap in process with the embedded snapshot and catalog,
// failing the test if it does not return within a minute.
func scanRun(t *testing.T, stdin string, args ...string) scanResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if len(args) > 0 && args[0] == "scan" {
		args = append(args, "--snapshot", "embedded")
	}
	code := cli.Run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	if ctx.Err() != nil {
		t.Fatalf("sovmap %s did not finish within a minute", strings.Join(args, " "))
	}
	return scanResult{code, stdout.String(), stderr.String()}
}

// scanRecord mirrors the JSON contract of docs/scan.md. It is written out
// here, not taken from package dnsscan, so that a renamed field fails.
type scanRecord struct {
	Domain  string                    `json:"domain"`
	Input   string                    `json:"input"`
	Line    int                       `json:"line"`
	Status  string                    `json:"status"`
	Error   string                    `json:"error"`
	Layers  map[string][]scanHost     `json:"layers"`
	Summary map[string]scanLayerTotal `json:"summary"`
}

type scanHost struct {
	Name       string `json:"name"`
	Preference *int   `json:"preference"`
	Chain      []struct {
		Name        string    `json:"name"`
		Target      string    `json:"target"`
		Attribution *scanAttr `json:"attribution"`
	} `json:"chain"`
	Attribution *scanAttr `json:"attribution"`
	Addresses   []struct {
		IP       string `json:"ip"`
		ASN      uint32 `json:"asn"`
		ASName   string `json:"as_name"`
		Provider *struct {
			ID string `json:"id"`
		} `json:"provider"`
		Control *struct {
			Country string `json:"country"`
		} `json:"control"`
		Confidence string `json:"confidence"`
	} `json:"addresses"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

type scanAttr struct {
	Provider *struct {
		ID string `json:"id"`
	} `json:"provider"`
	Control *struct {
		Country string `json:"country"`
	} `json:"control"`
	Confidence string `json:"confidence"`
}

type scanLayerTotal struct {
	Providers []string `json:"providers"`
	Controls  []string `json:"controls"`
}

func decodeScan(t *testing.T, out string) []scanRecord {
	t.Helper()
	var recs []scanRecord
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var r scanRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// scanZone is what the in-process resolver of these tests knows.
const scanZone = `
shop.example. IN A 47.88.1.1
shop.example. IN NS f1g1ns1.dnspod.net.
shop.example. IN MX 5 mxn.mxhichina.com.
www.shop.example. IN CNAME shop.oss-cn-hangzhou.aliyuncs.com.
shop.oss-cn-hangzhou.aliyuncs.com. IN A 47.88.1.2
f1g1ns1.dnspod.net. IN A 119.29.29.29
mxn.mxhichina.com. IN A 47.88.1.3
news.example. IN A 104.16.1.1
news.example. IN NS amos.ns.cloudflare.com.
amos.ns.cloudflare.com. IN A 173.245.58.1
`

func startScanServer(t *testing.T) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start(scanZone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestScanJSON(t *testing.T) {
	t.Parallel()
	srv := startScanServer(t)
	in := "shop.example\n# comment\n\nNEWS.example.\nnot a domain\nshop.example\nmissing.example\n"
	res := scanRun(t, in, "scan", "--json", "--resolver", srv.Addr, "--ordered", "-")
	if res.code != 1 || !strings.Contains(res.stderr, "sovmap: scan: 2 of 5 inputs were not scanned: 1 not domain names, 1 repeated") {
		t.Fatalf("want exit 1 and a count of bad inputs: %s", res)
	}
	for _, l := range strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n") {
		if !strings.HasPrefix(l, "sovmap: ") && !strings.HasPrefix(l, "hint: ") {
			t.Errorf("stderr line %q lacks the sovmap: prefix", l)
		}
	}
	recs := decodeScan(t, res.stdout)
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%d %s %s", r.Line, r.Domain, r.Status))
	}
	want := []string{"1 shop.example ok", "4 news.example ok", "5 not a domain error", "6 shop.example error", "7 missing.example nxdomain"}
	if !slices.Equal(got, want) {
		t.Errorf("records = %q, want %q", got, want)
	}
	checkShopRecord(t, recs[0])
	if n := recs[1]; n.Input != "NEWS.example." || n.Summary["dns"].Providers[0] != "cloudflare" {
		t.Errorf("news = %+v, want its input kept and cloudflare DNS", n)
	}
	if recs[2].Error != "not a domain name: contains white space" || recs[3].Error != "duplicate of line 1" {
		t.Errorf("errors = %q, %q", recs[2].Error, recs[3].Error)
	}
	// The keys of the contract, at each level.
	checkScanKeys(t, strings.SplitN(res.stdout, "\n", 2)[0])
}

// checkShopRecord checks the record of shop.example from the test server:
// its layers, CNAME chain, addresses and attributions.
func checkShopRecord(t *testing.T, shop scanRecord) {
	t.Helper()
	if len(shop.Layers["web"]) != 2 || len(shop.Layers["dns"]) != 1 || len(shop.Layers["mail"]) != 1 {
		t.Fatalf("shop layers = %+v", shop.Layers)
	}
	www := shop.Layers["web"][1]
	if len(www.Chain) != 1 || www.Chain[0].Target != "shop.oss-cn-hangzhou.aliyuncs.com" || www.Chain[0].Attribution == nil || www.Chain[0].Attribution.Provider.ID != "alibaba-cloud" {
		t.Errorf("www chain = %+v, want one hop to aliyuncs.com attributed to alibaba-cloud", www.Chain)
	}
	a := shop.Layers["web"][0].Addresses
	if len(a) != 1 || a[0].IP != "47.88.1.1" || a[0].ASN != 45102 || a[0].Provider == nil || a[0].Provider.ID != "alibaba-cloud" || a[0].Control.Country != "CN" {
		t.Errorf("apex addresses = %+v, want 47.88.1.1 on AS45102, alibaba-cloud, control CN", a)
	}
	if ns := shop.Layers["dns"][0]; ns.Attribution == nil || ns.Attribution.Provider.ID != "dnspod" {
		t.Errorf("NS host = %+v, want dnspod by name", ns)
	}
	if mx := shop.Layers["mail"][0]; mx.Preference == nil || *mx.Preference != 5 {
		t.Errorf("MX host = %+v, want preference 5", mx)
	}
	if s := shop.Summary["web"]; !slices.Contains(s.Providers, "alibaba-cloud") || !slices.Contains(s.Controls, "CN") {
		t.Errorf("web summary = %+v", s)
	}
}

// checkScanKeys checks the keys of a scan record, at each level, against
// the JSON contract.
func checkScanKeys(t *testing.T, first string) {
	t.Helper()
	var raw struct {
		Top    map[string]json.RawMessage
		Layers map[string][]map[string]json.RawMessage `json:"layers"`
	}
	json.Unmarshal([]byte(first), &raw.Top)
	json.Unmarshal([]byte(first), &raw)
	keys := func(m map[string]json.RawMessage) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return strings.Join(ks, ",")
	}
	for _, c := range []struct{ got, want string }{
		{keys(raw.Top), "domain,layers,line,status,summary"},
		{keys(raw.Layers["web"][1]), "addresses,chain,name"},
		{keys(raw.Layers["mail"][0]), "addresses,attribution,name,preference"},
	} {
		if c.got != c.want {
			t.Errorf("keys %s, want %s", c.got, c.want)
		}
	}
	for _, k := range []string{`"as_name":`, `"registration":{"country":`, `"evidence":[{"method":"hostname"`, `"confidence":"high"`} {
		if !strings.Contains(first, k) {
			t.Errorf("record lacks %s", k)
		}
	}
}

func TestScanText(t *testing.T) {
	t.Parallel()
	srv := startScanServer(t)
	res := scanRun(t, "shop.example\nnews.example\nmissing.example\n", "scan", "--text", "--resolver", srv.Addr, "--ordered")
	if res.code != 0 {
		t.Fatalf("%s", res)
	}
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "DOMAIN") {
		t.Fatalf("want a header and three rows:\n%s", res.stdout)
	}
	for i, want := range [][]string{
		{"shop.example", "ok", "alibaba-cloud [CN]", "dnspod"},
		{"news.example", "ok", "cloudflare [US]", "-"},
		{"missing.example", "nxdomain", "-"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %q lacks %q", lines[i+1], w)
			}
		}
	}
}

func TestScanSummary(t *testing.T) {
	t.Parallel()
	srv := startScanServer(t)
	res := scanRun(t, "shop.example\nnews.example\nmissing.example\n", "scan", "--summary", "--text", "--resolver", srv.Addr)
	for _, want := range []string{"3 domains: 2 ok, 1 nxdomain", "Web layer: 2 domains", "alibaba-cloud", "CONTROL COUNTRY", "50.0%"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("summary lacks %q: %s", want, res)
		}
	}
	res = scanRun(t, "shop.example\nnews.example\n", "scan", "--summary", "--json", "--resolver", srv.Addr)
	var s struct {
		Domains int `json:"domains"`
		Layers  map[string]struct {
			Domains   int `json:"domains"`
			Providers []struct {
				ID      string  `json:"id"`
				Domains int     `json:"domains"`
				Share   float64 `json:"share"`
			} `json:"providers"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &s); err != nil || s.Domains != 2 || s.Layers["dns"].Domains != 2 {
		t.Fatalf("summary JSON: %v: %s", err, res)
	}
}

func TestScanResume(t *testing.T) {
	t.Parallel()
	srv := startScanServer(t)
	out := filepath.Join(t.TempDir(), "results.ndjson")
	// An interrupted run: two records, and half of a third.
	os.WriteFile(out, []byte(`{"domain":"shop.example","line":1,"status":"ok"}`+"\n"+
		`{"domain":"x y","line":2,"status":"error","error":"not a domain name: contains white space"}`+"\n"+`{"domain":"news.ex`), 0o644)
	in := "shop.example\nx y\nnews.example\nshop.example\nmissing.example\n"
	res := scanRun(t, in, "scan", "--resume", out, "--resolver", srv.Addr, "-")
	if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, "2 domains already in") {
		t.Fatalf("want exit 1 (one repeat), nothing on stdout: %s", res)
	}
	b, _ := os.ReadFile(out)
	var got []string
	for _, r := range decodeScan(t, string(b)) {
		got = append(got, r.Domain+" "+r.Status)
	}
	want := []string{"shop.example ok", "x y error", "news.example ok", "shop.example error", "missing.example nxdomain"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("file after resume = %q, want %q", got, want)
	}
	// Resuming a complete file scans nothing more.
	res = scanRun(t, in, "scan", "--resume", out, "--resolver", srv.Addr, "-")
	b2, _ := os.ReadFile(out)
	if !bytes.Equal(b, b2) || res.code != 0 {
		t.Errorf("second resume changed the file or failed: %s", res)
	}
	// A file that is not a scan output is refused.
	bad := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(bad, []byte(`{"ip":"1.2.3.4"}`+"\n"), 0o644)
	if res := scanRun(t, in, "scan", "--resume", bad, "--resolver", srv.Addr); res.code != 3 || !strings.Contains(res.stderr, "line 1: not a scan record") {
		t.Errorf("resume from a non-scan file: %s", res)
	}
}

func TestScanFromFile(t *testing.T) {
	t.Parallel()
	srv := startScanServer(t)
	f := filepath.Join(t.TempDir(), "domains.txt")
	os.WriteFile(f, []byte("shop.example\r\nnews.example\r\n"), 0o644)
	res := scanRun(t, "", "scan", "--json", "--resolver", srv.Addr, f)
	if res.code != 0 || len(decodeScan(t, res.stdout)) != 2 {
		t.Errorf("scan of a file: %s", res)
	}
	if res := scanRun(t, "", "scan", "--resolver", srv.Addr, filepath.Join(t.TempDir(), "missing.txt")); res.code != 3 {
		t.Errorf("scan of a missing file: %s", res)
	}
}

func TestScanNoResolver(t *testing.T) {
	t.Parallel()
	srv := startScanServer(t)
	addr := srv.Addr
	srv.Close()
	res := scanRun(t, "shop.example\n", "scan", "--json", "--resolver", addr, "--timeout", "100ms", "--retries", "0")
	if res.code != 3 || !strings.Contains(res.stderr, "no resolver answered") {
		t.Errorf("want exit 3: %s", res)
	}
	if recs := decodeScan(t, res.stdout); len(recs) != 1 || recs[0].Status != "error" {
		t.Errorf("the domain still has its record: %s", res)
	}
}

func TestScanInterrupted(t *testing.T) {
	t.Parallel()
	srv := startScanServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, []string{"scan", "--json", "--resolver", srv.Addr, "--snapshot", "embedded"}, strings.NewReader("shop.example\n"), &stdout, &stderr)
	if code != 3 || !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "--resume") {
		t.Errorf("cancelled scan: exit %d\n%s", code, stderr.String())
	}
}

const testZoneFile = `$ORIGIN gov.
$TTL 3600
@ IN SOA a.ns.gov. dns.cloudflare.com. 1 2 3 4 5
@ IN NS a.ns.gov.
cloud IN NS ns-1069.awsdns-05.org.
cloud IN NS ns-540.awsdns-03.net.
flare IN NS amos.ns.cloudflare.com.
self IN NS ns1.self
ns1.self IN A 104.16.1.1
bad IN A 300.1.1.1
cn IN NS f1g1ns1.dnspod.net.
`

// TestScanZoneGzip checks that a gzip-compressed zone file gives what the
// plain one gives (testdata/script/scan_zone.txtar pins that output).
func TestScanZoneGzip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "gov.zone")
	if err := os.WriteFile(plain, []byte(testZoneFile), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(testZoneFile))
	zw.Close()
	packed := filepath.Join(dir, "gov.zone.gz")
	if err := os.WriteFile(packed, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want := scanRun(t, "", "scan", "--zone", plain, "--json")
	got := scanRun(t, "", "scan", "--zone", packed, "--json")
	got.stderr = strings.ReplaceAll(got.stderr, packed, plain)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(scanResult{})); diff != "" {
		t.Errorf("sovmap scan --zone gov.zone.gz mismatch with gov.zone (-want +got):\n%s", diff)
	}
}

// TestScanGovZone measures the real .gov zone.
func TestScanGovZone(t *testing.T) {
	t.Parallel()
	const gov = "../../../shared/data/cisagov-dotgov-data/gov.zone.txt.gz"
	if _, err := os.Stat(gov); err != nil {
		t.Skipf("the real .gov zone is not here: %v", err)
	}
	res := scanRun(t, "", "scan", "--zone", gov, "--summary", "--json")
	if res.code != 0 {
		t.Fatalf("%s", res)
	}
	var s struct {
		Zone struct {
			Apex        string `json:"apex"`
			Delegations int    `json:"delegations"`
		} `json:"zone"`
		Layers map[string]struct {
			Providers []struct {
				ID string `json:"id"`
			} `json:"providers"`
			Controls []struct {
				Country string `json:"country"`
			} `json:"controls"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Zone.Apex != "gov." || s.Zone.Delegations < 10000 {
		t.Errorf("zone = %+v", s.Zone)
	}
	var top []string
	for i, p := range s.Layers["dns"].Providers {
		if i < 10 {
			top = append(top, p.ID)
		}
	}
	// The .gov zone's name servers are dominated by Cloudflare, GoDaddy,
	// Akamai, AWS Route 53 and Azure DNS.
	for _, p := range []string{"cloudflare", "godaddy", "aws", "azure", "akamai"} {
		if !slices.Contains(top, p) {
			t.Errorf("top DNS providers %v lack %s", top, p)
		}
	}
	if c := s.Layers["dns"].Controls; len(c) == 0 || c[0].Country != "US" {
		t.Errorf("controls = %+v, want US first", c)
	}
}

// TestScanEndToEnd runs sovmap scan against Unbound over NSD serving the
// synthetic internet, with the embedded data.
func TestScanEndToEnd(t *testing.T) {
	t.Parallel()
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
	domains := []string{dnstest.DomainAlibaba, dnstest.DomainTencent, dnstest.DomainAWS, dnstest.DomainCloudflare,
		dnstest.DomainSelf, dnstest.DomainLoop, dnstest.DomainLame, dnstest.DomainMissing}
	res := scanRun(t, strings.Join(domains, "\n"), "scan", "--json", "--ordered", "--resolver", in.Resolver)
	if res.code != 0 {
		t.Fatalf("%s", res)
	}
	recs := decodeScan(t, res.stdout)
	if len(recs) != len(domains) {
		t.Fatalf("%d records for %d domains", len(recs), len(domains))
	}
	status := map[string]string{}
	for i, r := range recs {
		if r.Domain != domains[i] {
			t.Errorf("record %d is %s, want %s", i, r.Domain, domains[i])
		}
		status[r.Domain] = r.Status
	}
	for d, want := range map[string]string{dnstest.DomainAlibaba: "ok", dnstest.DomainLoop: "ok", dnstest.DomainLame: "servfail", dnstest.DomainMissing: "nxdomain"} {
		if status[d] != want {
			t.Errorf("%s: status %q, want %q", d, status[d], want)
		}
	}
	shop := recs[0]
	if s := shop.Summary["web"]; !slices.Contains(s.Providers, "alibaba-cloud") || !slices.Contains(s.Controls, "CN") {
		t.Errorf("shop web summary = %+v, want alibaba-cloud, CN", s)
	}
	if s := shop.Summary["mail"]; !slices.Contains(s.Providers, "alibaba-cloud") {
		t.Errorf("shop mail summary = %+v, want alibaba-cloud (mxhichina.com)", s)
	}
	if s := recs[2].Summary["dns"]; !slices.Contains(s.Providers, "aws") {
		t.Errorf("agency dns summary = %+v, want aws (awsdns)", s)
	}
	if www := recs[5].Layers["web"][1]; www.Status == "" {
		t.Errorf("loop www = %+v, want a failure on the host", www)
	}
}
