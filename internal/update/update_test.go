package update

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/fetch"
	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/source/feed/feedtest"
)

// upstream serves the test data the way the sources' hosts do: feeds as
// files, CAIDA's creation logs pointing at gzip-compressed files, the RIR
// statistics with their MD5 files, ip-location-db CSVs. A test can replace
// any path's answer.
type upstream struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	body map[string][]byte
	fn   map[string]http.HandlerFunc
	hits map[string]int
}

// served maps each source the upstream serves to its path.
var served = map[string]string{
	"aws":               "/feeds/aws-ip-ranges.json",
	"google-cloud":      "/feeds/google-cloud-ip-ranges.json",
	"cloudflare-v4":     "/feeds/cloudflare-v4-ip-ranges.txt",
	"cloudflare-v6":     "/feeds/cloudflare-v6-ip-ranges.txt",
	"linode":            "/feeds/linode.txt",
	"pfx2as-v4":         "/caida/routeviews-prefix2as/pfx2as-creation.log",
	"pfx2as-v6":         "/caida/routeviews6-prefix2as/pfx2as-creation.log",
	"delegated-afrinic": "/rir/delegated-afrinic-extended-latest",
	"delegated-apnic":   "/rir/delegated-apnic-extended-latest",
	"delegated-arin":    "/rir/delegated-arin-extended-latest",
	"delegated-lacnic":  "/rir/delegated-lacnic-extended-latest",
	"delegated-ripencc": "/rir/delegated-ripencc-extended-latest",
	"ipdb-location-v4":  "/ipdb/geo-whois-asn-country-ipv4.csv",
	"ipdb-location-v6":  "/ipdb/geo-whois-asn-country-ipv6.csv",
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{t: t, body: map[string][]byte{}, fn: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	for _, name := range []string{"aws-ip-ranges.json", "google-cloud-ip-ranges.json", "cloudflare-v4-ip-ranges.txt", "cloudflare-v6-ip-ranges.txt", "linode.txt"} {
		u.body["/feeds/"+name] = readTestdata(t, "feeds/"+name)
	}
	for _, rir := range []string{"afrinic", "apnic", "arin", "lacnic", "ripencc"} {
		name := "delegated-" + rir + "-extended-latest"
		b := readTestdata(t, "routing/"+name)
		u.body["/rir/"+name] = b
		u.body["/rir/"+name+".md5"] = fmt.Appendf(nil, "MD5 (%s) = %x\n", name, md5.Sum(b))
	}
	for fam, dir := range map[string]string{"ipv4": "routeviews-prefix2as", "ipv6": "routeviews6-prefix2as"} {
		coll := map[string]string{"ipv4": "rv2", "ipv6": "rv6"}[fam]
		path := fmt.Sprintf("2026/08/routeviews-%s-20260801-1200.pfx2as.gz", coll)
		u.body["/caida/"+dir+"/pfx2as-creation.log"] = fmt.Appendf(nil,
			"# seqnum\ttimestamp\tpath\n1\t1753920000\t2026/07/routeviews-%s-20260731-1200.pfx2as.gz\n2\t1754049600\t%s\n", coll, path)
		u.body["/caida/"+dir+"/"+path] = gz(t, readTestdata(t, "routing/routeviews-prefix2as-"+fam+".txt"))
	}
	for _, name := range []string{"geo-whois-asn-country-ipv4.csv", "geo-whois-asn-country-ipv6.csv"} {
		u.body["/ipdb/"+name] = readTestdata(t, "routing/"+name)
	}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.hits[r.URL.Path]++
	fn, b, ok := u.fn[r.URL.Path], u.body[r.URL.Path], true
	if fn == nil && b == nil {
		ok = false
	}
	u.mu.Unlock()
	switch {
	case fn != nil:
		fn(w, r)
	case ok:
		w.Header().Set("Last-Modified", "Fri, 01 Aug 2026 12:00:00 GMT")
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// set replaces the body served at a source's path.
func (u *upstream) set(source string, b []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.body[served[source]] = b
}

// handle replaces the answer at a source's path.
func (u *upstream) handle(source string, fn http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.fn[served[source]] = fn
}

func (u *upstream) hitsOf(source string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[served[source]]
}

// sources returns the registry pointed at the upstream; the sources it does
// not serve are disabled.
func (u *upstream) sources(t *testing.T) []Source {
	t.Helper()
	urls := map[string]string{}
	for _, s := range Sources() {
		urls[s.Name] = ""
		if p, ok := served[s.Name]; ok {
			urls[s.Name] = u.srv.URL + p
		}
	}
	srcs, err := Configure(urls)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

// options returns options for an update from the upstream into dir, with
// short waits. A first update starts from an empty snapshot rather than the
// embedded one, whose ip-location-db files the tiny test files would
// rightly be refused against (they shrank).
func (u *upstream) options(t *testing.T, dir string) Options {
	opts := Options{
		DataDir: dir,
		Sources: u.sources(t),
		Client:  &fetch.Client{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 5 * time.Second},
		Now:     func() time.Time { return time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC) },
	}
	if _, err := os.Stat(SnapshotPath(dir)); err != nil {
		opts.Previous = emptySnapshot(t)
	}
	return opts
}

// emptySnapshot returns a snapshot with no data.
func emptySnapshot(t *testing.T) *snapshot.Table {
	t.Helper()
	tb, _, err := snapshot.NewBuilder(snapshot.Meta{Name: "empty"}).Build()
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustRun(t *testing.T, opts Options) *Report {
	t.Helper()
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func source(t *testing.T, rep *Report, name string) SourceReport {
	t.Helper()
	for _, s := range rep.Sources {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no source %s in the report", name)
	return SourceReport{}
}

func dataset(t *testing.T, rep *Report, ds string) DatasetReport {
	t.Helper()
	for _, d := range rep.Datasets {
		if d.Dataset == ds {
			return d
		}
	}
	t.Fatalf("no dataset %s in the report", ds)
	return DatasetReport{}
}

func loadSnapshot(t *testing.T, dir string) *snapshot.Table {
	t.Helper()
	tb, err := snapshot.Load(SnapshotPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func feedSource(tb *snapshot.Table, name string) *snapshot.FeedSource {
	for _, f := range tb.Meta().Feeds {
		if f.Name == name {
			return &f
		}
	}
	return nil
}

func dump(rep *Report) string {
	b, _ := json.MarshalIndent(rep, "", "  ")
	return string(b)
}

// healthy runs a first, healthy update into a new data directory.
func healthy(t *testing.T) (*upstream, string, *Report) {
	t.Helper()
	up := newUpstream(t)
	dir := t.TempDir()
	rep := mustRun(t, up.options(t, dir))
	if !rep.OK() {
		t.Fatalf("first update not healthy:\n%s", dump(rep))
	}
	return up, dir, rep
}

func TestRunHealthy(t *testing.T) {
	t.Parallel()
	up, dir, rep := healthy(t)
	for name := range served {
		s := source(t, rep, name)
		if s.Status != StatusUpdated || s.Failed {
			t.Errorf("%s: status %s (%s), want updated", name, s.Status, s.Reason)
		}
	}
	for _, ds := range []string{"asn", "registration", "location"} {
		if d := dataset(t, rep, ds); d.Status != StatusUpdated {
			t.Errorf("dataset %s: %+v, want updated", ds, d)
		}
	}
	if s := source(t, rep, "azure"); s.Status != StatusMissing || s.Failed {
		t.Errorf("azure (disabled): %+v, want missing and no failure", s)
	}
	if s := source(t, rep, "pfx2as-v4"); !strings.HasSuffix(s.URL, "/2026/08/routeviews-rv2-20260801-1200.pfx2as.gz") || s.Date != "2026-08-01" {
		t.Errorf("pfx2as-v4: URL %s, date %s; want the newest file of the creation log, dated 2026-08-01", s.URL, s.Date)
	}
	if s := source(t, rep, "delegated-arin"); !slices.ContainsFunc(s.Notes, func(n string) bool { return strings.HasPrefix(n, "MD5 checked") }) || s.Records != 5 {
		t.Errorf("delegated-arin: %+v, want the MD5 checked and 5 records", s)
	}
	if up.hitsOf("aws") != 1 {
		t.Errorf("aws fetched %d times, want 1", up.hitsOf("aws"))
	}

	tb := loadSnapshot(t, dir)
	m := tb.Meta()
	if len(m.Feeds) != 5 || m.Name != "local 2026-08-02" {
		t.Errorf("snapshot %q has %d feeds, want 5", m.Name, len(m.Feeds))
	}
	aws := feedSource(tb, "aws")
	if aws == nil || aws.Date != "2025-07-24" || aws.Stats.Ranges != 10 || aws.Status != "updated 2026-08-02" || aws.SHA256 == "" || aws.File != "aws-ip-ranges.json" {
		t.Errorf("aws feed = %+v", aws)
	}
	var names []string
	for _, s := range m.Sources {
		names = append(names, s.Dataset+" "+s.Name)
	}
	want := []string{"asn CAIDA/routeviews-prefix2as", "registration RIR/delegated-extended", "location @ip-location-db/geo-whois-asn-country"}
	if !slices.Equal(names, want) {
		t.Errorf("sources = %q, want %q", names, want)
	}

	// The routing data comes from the files: origins from pfx2as with the
	// embedded snapshot's AS names, countries from the RIR statistics.
	tests := []struct {
		addr           string
		asn            uint32
		reg, loc, feed string
	}{
		{"1.1.1.1", 13335, "AU", "AU", ""},
		{"3.5.140.7", 16509, "US", "KR", "aws"},
		{"3.100.0.1", 16509, "US", "", ""},
		{"35.180.1.1", 16509, "FR", "FR", "aws"},
		{"15.230.221.10", 0, "US", "US", "aws"}, // only the feed knows it
		{"192.0.2.1", 0, "", "", ""},            // a documentation prefix's reserved origin is dropped
		{"198.41.0.4", 397197, "", "", ""},      // multi-origin: the first
		{"2600:1f00::1", 16509, "US", "US", ""}, //
		{"2001:200::1", 0, "JP", "", ""},        // registered, not announced
		{"2a01:7e01::1", 0, "DE", "", "linode"}, // a geofeed range
		{"2400:cb00:2048::1", 13335, "", "", "cloudflare-v6"},
	}
	for _, tt := range tests {
		rt, _, _ := tb.Lookup(netip.MustParseAddr(tt.addr))
		feed := ""
		if len(rt.Feeds) > 0 {
			feed = rt.Feeds[0].Feed
		}
		if rt.ASN != tt.asn || rt.Registration != tt.reg || rt.Location != tt.loc || feed != tt.feed {
			t.Errorf("Lookup(%s) = AS%d reg %q loc %q feed %q; want AS%d %q %q %q", tt.addr, rt.ASN, rt.Registration, rt.Location, feed, tt.asn, tt.reg, tt.loc, tt.feed)
		}
		if rt.ASN == 13335 && rt.ASName == "" {
			t.Errorf("Lookup(%s): no AS name, want the embedded snapshot's", tt.addr)
		}
	}
	// The China regions belong to aws-china.
	rt, _, _ := tb.Lookup(netip.MustParseAddr("54.222.88.1"))
	if len(rt.Feeds) != 1 || rt.Feeds[0].Provider != "aws-china" || rt.Feeds[0].Region != "cn-north-1" {
		t.Errorf("Lookup(54.222.88.1) feeds = %+v, want aws-china in cn-north-1", rt.Feeds)
	}
	// The raw files are kept under the sources' names.
	for _, name := range []string{"aws-ip-ranges.json", "delegated-apnic-extended-latest", "routeviews-prefix2as-ipv4.txt.gz", "geo-whois-asn-country-ipv6.csv"} {
		if _, err := os.Stat(filepath.Join(dir, rawDir, name)); err != nil {
			t.Errorf("raw file: %v", err)
		}
	}
}

func TestRunFeedShrank(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	before := loadSnapshot(t, dir).FeedRanges("aws")
	up.set("aws", []byte(`{"createDate": "2026-08-02-01-00-00", "prefixes": [
		{"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "S3"},
		{"ip_prefix": "15.230.221.0/24", "region": "us-east-1", "service": "AMAZON"}]}`))
	rep := mustRun(t, up.options(t, dir))
	if rep.OK() {
		t.Fatalf("an update with a shrunk feed is OK:\n%s", dump(rep))
	}
	s := source(t, rep, "aws")
	if s.Status != StatusRefused || !s.Failed || !strings.Contains(s.Reason, "shrank from 10 to 2 ranges (-80%; fewer than half)") {
		t.Errorf("aws: %s: %s, want refused for shrinking", s.Status, s.Reason)
	}
	if g := source(t, rep, "google-cloud"); g.Status != StatusUpdated || g.Failed {
		t.Errorf("google-cloud: %+v, want updated: one bad feed does not stop the others", g)
	}
	tb := loadSnapshot(t, dir)
	if got := tb.FeedRanges("aws"); len(got) != len(before) {
		t.Errorf("aws ranges after a refused update: %d, want the previous %d", len(got), len(before))
	}
	fs := feedSource(tb, "aws")
	if fs == nil || !strings.HasPrefix(fs.Status, "kept previous: refused 2026-08-02: shrank") || fs.Date != "2025-07-24" {
		t.Errorf("aws feed after a refused update = %+v", fs)
	}
	if _, err := os.Stat(filepath.Join(dir, rawDir, "aws-ip-ranges.json.refused")); err != nil {
		t.Errorf("refused file not kept: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, rawDir, "aws-ip-ranges.json")); !bytes.Equal(b, readTestdata(t, "feeds/aws-ip-ranges.json")) {
		t.Errorf("the accepted raw file was replaced by the refused one")
	}

	// --force accepts it.
	opts := up.options(t, dir)
	opts.Force = true
	rep = mustRun(t, opts)
	if s := source(t, rep, "aws"); !rep.OK() || s.Status != StatusForced || !strings.Contains(s.Reason, "shrank") {
		t.Errorf("aws with --force: %+v", s)
	}
	tb = loadSnapshot(t, dir)
	if got := tb.FeedRanges("aws"); len(got) != 2 {
		t.Errorf("aws ranges after --force: %d, want 2", len(got))
	}
	if fs := feedSource(tb, "aws"); !strings.Contains(fs.Status, "despite: shrank") || fs.Date != "2026-08-02" {
		t.Errorf("aws feed after --force = %+v", fs)
	}
}

func TestRunFeedGrew(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "104.%d.%d.0/24\n", 16+i/256, i%256)
	}
	up.set("cloudflare-v4", []byte(b.String()))
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "cloudflare-v4")
	if rep.OK() || s.Status != StatusRefused || !strings.Contains(s.Reason, "grew from 15 to 300 ranges (20×; more than 5×)") {
		t.Errorf("cloudflare-v4: %s: %s, want refused for growing", s.Status, s.Reason)
	}
}

func TestRunDefaultRoute(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		source, body, want string
	}{
		{"cloudflare-v4", "173.245.48.0/20\n0.0.0.0/0\n", "covers 0.0.0.0/0"},
		{"cloudflare-v6", "2400:cb00::/32\n::/0\n", "covers ::/0"},
		{"linode", "::/0,US,US-NJ,Cedar Knolls,\n", "covers ::/0"},
	} {
		t.Run(tt.source, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			up.set(tt.source, []byte(tt.body))
			dir := t.TempDir()
			rep := mustRun(t, up.options(t, dir)) // even with no previous data
			s := source(t, rep, tt.source)
			if rep.OK() || s.Status != StatusRefused || !strings.Contains(s.Reason, tt.want) {
				t.Errorf("%s: %s: %s, want refused: %s", tt.source, s.Status, s.Reason, tt.want)
			}
			tb := loadSnapshot(t, dir)
			if feedSource(tb, tt.source) != nil {
				t.Errorf("the snapshot holds the refused feed %s", tt.source)
			}
			rt, _, _ := tb.Lookup(netip.MustParseAddr("9.9.9.9"))
			if len(rt.Feeds) != 0 {
				t.Errorf("9.9.9.9 is in feeds %+v", rt.Feeds)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	up.handle("google-cloud", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	opts := up.options(t, dir)
	opts.Client = &fetch.Client{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Timeout: 100 * time.Millisecond, Attempts: 2}
	rep := mustRun(t, opts)
	s := source(t, rep, "google-cloud")
	if rep.OK() || s.Status != StatusFailed || !strings.Contains(s.Reason, "download failed") || !strings.Contains(s.Reason, "no answer within 100ms (after 2 attempts)") {
		t.Errorf("google-cloud: %s: %s, want failed after a timeout", s.Status, s.Reason)
	}
	if up.hitsOf("google-cloud") != 3 { // one healthy, two timed out
		t.Errorf("google-cloud requested %d times, want 3", up.hitsOf("google-cloud"))
	}
	if fs := feedSource(loadSnapshot(t, dir), "google-cloud"); fs == nil || fs.Stats.Ranges != 8 || !strings.HasPrefix(fs.Status, "kept previous: failed") {
		t.Errorf("google-cloud after a timeout = %+v, want the previous 8 ranges kept", fs)
	}
}

func TestRunTruncated(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	body := readTestdata(t, "feeds/aws-ip-ranges.json")
	up.handle("aws", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2]) // the connection is cut
	})
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "aws")
	if rep.OK() || s.Status != StatusFailed || !strings.Contains(s.Reason, "download truncated") || !strings.Contains(s.Reason, fmt.Sprintf("of %d bytes", len(body))) {
		t.Errorf("aws: %s: %s, want failed as truncated", s.Status, s.Reason)
	}
	if got := loadSnapshot(t, dir).FeedRanges("aws"); len(got) != 10 {
		t.Errorf("aws ranges after a truncated download: %d, want the previous 10", len(got))
	}
}

func TestRunRetries(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	body := readTestdata(t, "feeds/linode.txt")
	var n int
	var mu sync.Mutex
	up.handle("linode", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k <= 2 {
			http.Error(w, "upstream busy", http.StatusServiceUnavailable)
			return
		}
		w.Write(body)
	})
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "linode")
	if !rep.OK() || s.Status != StatusUpdated || s.Attempts != 3 || s.Date != "2025-07-24" {
		t.Errorf("linode: %+v, want updated after 3 attempts", s)
	}
}

func TestRunEntryErrors(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	up.set("cloudflare-v4", []byte("173.245.48.0/20\n103.21.244.0/33\nnot a prefix\n104.16.0.0/13\n"))
	dir := t.TempDir()
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "cloudflare-v4")
	if !rep.OK() || s.Status != StatusUpdated || s.EntryErrorCount != 2 || s.Stats.Ranges != 2 {
		t.Fatalf("cloudflare-v4: %+v, want updated with 2 ranges and 2 bad entries", s)
	}
	for i, want := range []string{"cloudflare-v4-ip-ranges.txt: cidrlist: line 2: ", "cloudflare-v4-ip-ranges.txt: cidrlist: line 3: "} {
		if !strings.HasPrefix(s.EntryErrors[i], want) {
			t.Errorf("entry error %d = %q, want it to start %q", i, s.EntryErrors[i], want)
		}
	}
}

func TestRunUnreadable(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	up.set("aws", []byte("<html>maintenance</html>"))
	rep := mustRun(t, up.options(t, dir))
	if s := source(t, rep, "aws"); rep.OK() || s.Status != StatusFailed || !strings.HasPrefix(s.Reason, "unreadable: aws: ") {
		t.Errorf("aws: %s: %s, want failed as unreadable", s.Status, s.Reason)
	}
}

func TestRunSpecialUse(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	up.set("linode", []byte("2600:3c03::/32,US,US-NJ,Cedar Knolls,\n2002::/16,US,,,\n2001:db8::/32,US,,,\n192.168.1.0/24,US,,,\n"))
	dir := t.TempDir()
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "linode")
	if s.Status != StatusUpdated || s.Stats.Ranges != 1 || len(s.Notes) != 3 || !strings.Contains(s.Notes[0], "dropped 2002::/16: inside special-use block 2002::/16") {
		t.Errorf("linode: %+v, want the three special-use ranges dropped", s)
	}
}

func TestRunRoutingChecksumMismatch(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	before := loadSnapshot(t, dir)
	up.set("delegated-ripencc", append(readTestdata(t, "routing/delegated-ripencc-extended-latest"), "ripencc|NL|ipv4|2.56.0.0|1024|20190101|allocated|x\n"...))
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "delegated-ripencc")
	if rep.OK() || s.Status != StatusFailed || !strings.Contains(s.Reason, "MD5 mismatch") {
		t.Errorf("delegated-ripencc: %s: %s, want failed for its MD5", s.Status, s.Reason)
	}
	if o := source(t, rep, "delegated-apnic"); o.Status != StatusRefused || !strings.Contains(o.Reason, "a dataset is replaced whole") {
		t.Errorf("delegated-apnic: %s: %s, want refused with its group", o.Status, o.Reason)
	}
	if d := dataset(t, rep, "registration"); d.Status != StatusKept {
		t.Errorf("registration dataset: %+v, want kept", d)
	}
	if d := dataset(t, rep, "asn"); d.Status != StatusUpdated {
		t.Errorf("asn dataset: %+v, want updated", d)
	}
	tb := loadSnapshot(t, dir)
	reg := func(tb *snapshot.Table) *snapshot.SourceInfo {
		for _, s := range tb.Meta().Sources {
			if s.Dataset == "registration" {
				return &s
			}
		}
		return nil
	}
	if diff := cmp.Diff(reg(before), reg(tb)); diff != "" {
		t.Errorf("registration source after a refused update (-want +got):\n%s", diff)
	}
	if rt, _, _ := tb.Lookup(netip.MustParseAddr("35.180.1.1")); rt.Registration != "FR" {
		t.Errorf("registration of 35.180.1.1 = %q, want the previous FR", rt.Registration)
	}
}

func TestRunRoutingShrank(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	up.set("pfx2as-v4", []byte("1\t1\t2026/08/routeviews-rv2-20260802-1200.pfx2as.gz\n"))
	up.mu.Lock()
	up.body["/caida/routeviews-prefix2as/2026/08/routeviews-rv2-20260802-1200.pfx2as.gz"] = gz(t, []byte("1.1.1.0\t24\t13335\n"))
	up.mu.Unlock()
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "pfx2as-v4")
	if rep.OK() || s.Status != StatusRefused || !strings.Contains(s.Reason, "shrank from 9 to 1 records") {
		t.Errorf("pfx2as-v4: %s: %s, want refused for shrinking", s.Status, s.Reason)
	}
	if rt, _, _ := loadSnapshot(t, dir).Lookup(netip.MustParseAddr("8.8.8.8")); rt.ASN != 15169 {
		t.Errorf("origin of 8.8.8.8 = AS%d, want the previous AS15169", rt.ASN)
	}
}

func TestRunOnly(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	up.set("google-cloud", []byte(`{"prefixes": []}`)) // would be refused
	opts := up.options(t, dir)
	opts.Only = []string{"aws", "cloudflare"}
	rep := mustRun(t, opts)
	if !rep.OK() {
		t.Fatalf("update --only aws,cloudflare:\n%s", dump(rep))
	}
	if s := source(t, rep, "google-cloud"); s.Status != StatusKept || s.Reason != "not selected" || up.hitsOf("google-cloud") != 1 {
		t.Errorf("google-cloud: %+v, fetched %d times; want kept, not fetched again", s, up.hitsOf("google-cloud"))
	}
	for _, n := range []string{"aws", "cloudflare-v4", "cloudflare-v6"} {
		if s := source(t, rep, n); s.Status != StatusUpdated {
			t.Errorf("%s: %+v, want updated", n, s)
		}
	}
	if d := dataset(t, rep, "asn"); d.Status != StatusKept {
		t.Errorf("asn dataset: %+v, want kept", d)
	}
	if fs := feedSource(loadSnapshot(t, dir), "google-cloud"); fs == nil || fs.Stats.Ranges != 8 || fs.Status != "kept previous: not selected" {
		t.Errorf("google-cloud feed = %+v", fs)
	}
	if _, err := Select(Sources(), []string{"nope"}); err == nil {
		t.Errorf("Select(nope) succeeded")
	}
}

// fromDir lays out the test data as a folder for --from.
func fromDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"feeds", "routing"} {
		es, err := os.ReadDir(filepath.Join("testdata", sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			b := readTestdata(t, filepath.Join(sub, e.Name()))
			name := e.Name()
			if name == "routeviews-prefix2as-ipv4.txt" {
				name, b = "routeviews-rv2-20260801-1200.pfx2as.gz", gz(t, b) // CAIDA's own name
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestRunFrom(t *testing.T) {
	t.Parallel()
	from := fromDir(t)
	dir := t.TempDir()
	opts := Options{DataDir: dir, From: from, Client: &fetch.Client{HTTP: &http.Client{Transport: failTransport{t}}}, Previous: emptySnapshot(t)}
	rep := mustRun(t, opts)
	opts.Previous = nil // from now on, the data directory's
	if !rep.OK() {
		t.Fatalf("update --from:\n%s", dump(rep))
	}
	for _, n := range []string{"aws", "google-cloud", "linode", "pfx2as-v4", "pfx2as-v6", "delegated-arin", "ipdb-location-v4"} {
		if s := source(t, rep, n); s.Status != StatusUpdated || !strings.HasPrefix(s.File, from) {
			t.Errorf("%s: %+v, want updated from %s", n, s, from)
		}
	}
	if s := source(t, rep, "pfx2as-v4"); !strings.HasSuffix(s.File, "routeviews-rv2-20260801-1200.pfx2as.gz") || s.Date != "2026-08-01" {
		t.Errorf("pfx2as-v4 read from %s dated %s; want CAIDA's file name and its date", s.File, s.Date)
	}
	if s := source(t, rep, "vultr"); s.Status != StatusMissing || s.Failed {
		t.Errorf("vultr (no file, never seen): %+v, want missing", s)
	}
	if s := source(t, rep, "aws"); s.URL != "" {
		t.Errorf("aws read from a folder has URL %q", s.URL)
	}

	// A feed whose file is gone has disappeared: refused, previous kept.
	if err := os.Remove(filepath.Join(from, "linode.txt")); err != nil {
		t.Fatal(err)
	}
	rep = mustRun(t, opts)
	s := source(t, rep, "linode")
	if rep.OK() || s.Status != StatusFailed || s.Reason != "disappeared: no linode.txt in "+from {
		t.Errorf("linode: %s: %s, want failed as disappeared", s.Status, s.Reason)
	}
	if fs := feedSource(loadSnapshot(t, dir), "linode"); fs == nil || fs.Stats.Ranges != 8 {
		t.Errorf("linode after disappearing = %+v, want the previous 8 ranges", fs)
	}

	// The raw files of the data directory are a --from folder themselves.
	opts2 := Options{DataDir: t.TempDir(), From: filepath.Join(dir, rawDir), Client: opts.Client, Previous: emptySnapshot(t)}
	rep = mustRun(t, opts2)
	if !rep.OK() || source(t, rep, "linode").Status != StatusUpdated || source(t, rep, "pfx2as-v4").Status != StatusUpdated {
		t.Errorf("update --from the raw files:\n%s", dump(rep))
	}
}

// failTransport fails a test that makes a request.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL)
	return nil, fmt.Errorf("no network in this test")
}

// TestRunAtomic checks that an update that stops half-way leaves the
// previous snapshot whole and no temporary file behind.
func TestRunAtomic(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	before, err := os.ReadFile(SnapshotPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up.handle("aws", func(w http.ResponseWriter, r *http.Request) {
		cancel() // the user presses ^C during the download
		<-r.Context().Done()
	})
	if _, err := Run(ctx, up.options(t, dir)); err == nil {
		t.Fatal("a cancelled update returned no error")
	}
	after, err := os.ReadFile(SnapshotPath(dir))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the snapshot changed after a cancelled update (err %v)", err)
	}
	for _, d := range []string{dir, filepath.Join(dir, rawDir)} {
		es, _ := os.ReadDir(d)
		for _, e := range es {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("temporary file left: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

func TestRunCorruptPrevious(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	dir := t.TempDir()
	if err := os.WriteFile(SnapshotPath(dir), []byte("SOVMAPDB garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), up.options(t, dir)); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Run over a corrupt snapshot: %v, want an error with a hint", err)
	}
	opts := up.options(t, dir)
	opts.Force = true
	rep := mustRun(t, opts)
	if !strings.HasPrefix(rep.Previous, "embedded (") {
		t.Errorf("previous = %q, want the embedded snapshot", rep.Previous)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if _, err := WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("old")); return err }); err != nil {
		t.Fatal(err)
	}
	_, err := WriteFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return fmt.Errorf("disk full")
	})
	if err == nil {
		t.Fatal("WriteFileAtomic returned no error")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("file after a failed write = %q, want old", b)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("%d files in the folder, want 1 (no temporary file left)", len(es))
	}
	n, err := WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("new!")); return err })
	if b, _ := os.ReadFile(path); err != nil || n != 4 || string(b) != "new!" {
		t.Errorf("WriteFileAtomic = %d, %v; file %q", n, err, b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

// sharedFeeds returns the folder of the real feeds in the shared data, or
// skips the test.
func sharedFeeds(t testing.TB) string {
	t.Helper()
	return feedtest.Dir(t)
}

// TestRunRealDrift updates from the real feeds of 2024-07 and then from
// those of 2025-07: a year of real change passes the health guards.
func TestRunRealDrift(t *testing.T) {
	t.Parallel()
	feeds := sharedFeeds(t)
	dir := t.TempDir()
	rep := mustRun(t, Options{DataDir: dir, From: filepath.Join(feeds, "snapshot-2024-07"), Only: []string{"aws", "google-cloud", "oracle-cloud"}, Previous: emptySnapshot(t)})
	if !rep.OK() {
		t.Fatalf("update from the 2024-07 feeds:\n%s", dump(rep))
	}
	rep = mustRun(t, Options{DataDir: dir, From: feeds})
	if !rep.OK() {
		t.Fatalf("update from the 2025-07 feeds:\n%s", dump(rep))
	}
	for _, n := range []string{"aws", "google-cloud", "oracle-cloud"} {
		s := source(t, rep, n)
		if s.Status != StatusUpdated || s.Previous == nil {
			t.Errorf("%s: %+v, want updated over the 2024 data", n, s)
			continue
		}
		t.Logf("%s: %d → %d ranges, %s → %s IPv4 addresses (data of %s)", n, s.Previous.Ranges, s.Stats.Ranges,
			count(s.Previous.IPv4), count(s.Stats.IPv4), s.Date)
	}
	if s := source(t, rep, "azure"); s.Status != StatusUpdated || s.EntryErrorCount != 0 {
		t.Errorf("azure: %+v", s)
	}
}

// TestRunRedirectRefused serves a feed that redirects to another loopback
// server: the download fails at once, naming both URLs and the flag, and
// Options.AllowPrivateRedirects follows it.
func TestRunRedirectRefused(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	var otherHits atomic.Int32
	body := readTestdata(t, "feeds/aws-ip-ranges.json")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		w.Write(body)
	}))
	t.Cleanup(other.Close)
	up.handle("aws", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/ip-ranges.json", http.StatusFound)
	})
	opts := up.options(t, dir)
	opts.Client = nil // the default client, which Options.AllowPrivateRedirects sets
	rep := mustRun(t, opts)
	s := source(t, rep, "aws")
	for _, want := range []string{
		"download failed: redirect from " + up.srv.URL + served["aws"] + " to " + other.URL + "/ip-ranges.json refused: 127.0.0.1 is a loopback address",
		"--allow-private-redirects",
	} {
		if !strings.Contains(s.Reason, want) {
			t.Errorf("aws: reason %q lacks %q", s.Reason, want)
		}
	}
	if rep.OK() || s.Status != StatusFailed || up.hitsOf("aws") != 2 || otherHits.Load() != 0 {
		t.Errorf("aws: %s after %d requests, %d to the redirect's target; want failed after 2 (one healthy) and none", s.Status, up.hitsOf("aws"), otherHits.Load())
	}

	opts.AllowPrivateRedirects = true
	rep = mustRun(t, opts)
	if s := source(t, rep, "aws"); !rep.OK() || s.Status != StatusUpdated || otherHits.Load() != 1 {
		t.Errorf("aws with private redirects allowed: %s: %s, want updated from the redirect's target", s.Status, s.Reason)
	}
}

// TestRunCreationLogElsewhere serves a CAIDA creation log that lists a
// file on another server, which is a redirect by content: refused.
func TestRunCreationLogElsewhere(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	t.Cleanup(other.Close)
	up.set("pfx2as-v4", fmt.Appendf(nil, "1\t1754049600\t%s/routeviews-rv2-20260802-1200.pfx2as.gz\n", other.URL))
	rep := mustRun(t, up.options(t, dir))
	s := source(t, rep, "pfx2as-v4")
	if rep.OK() || s.Status != StatusFailed || !strings.Contains(s.Reason, "which is not on its server") || otherHits.Load() != 0 {
		t.Errorf("pfx2as-v4: %s: %s, %d requests to the other server; want failed, none", s.Status, s.Reason, otherHits.Load())
	}
}

// TestRunNothingNew has every source fail, as without a network: no
// snapshot is written, the previous one stays in place byte for byte, and
// the report says so; none of the failures is one --force would fix.
func TestRunNothingNew(t *testing.T) {
	t.Parallel()
	up, dir, _ := healthy(t)
	before, err := os.ReadFile(SnapshotPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	down := func(w http.ResponseWriter, r *http.Request) {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close() // the connection drops: no answer at all
				return
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}
	for name := range served {
		up.handle(name, down)
	}
	opts := up.options(t, dir)
	opts.Now = func() time.Time { return time.Date(2026, 8, 3, 10, 0, 0, 0, time.UTC) }
	rep := mustRun(t, opts)
	if !rep.Unchanged || rep.Snapshot != "" || rep.OK() || !rep.OnlyFailed() {
		t.Errorf("report: unchanged %v, snapshot %q, ok %v, only failed %v; want unchanged, none written, failures of reading only",
			rep.Unchanged, rep.Snapshot, rep.OK(), rep.OnlyFailed())
	}
	after, err := os.ReadFile(SnapshotPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the snapshot in use was replaced by an update that brought nothing")
	}
}

// TestRunFromOverEmbedded reads a folder without the feeds that the
// embedded snapshot holds, on a fresh install: they did not disappear, the
// folder just does not bring them, so the embedded ones are kept and that
// is no failure. (The folder's tiny feeds are refused against the embedded
// ones, which is the health guards' job, not this test's.)
func TestRunFromOverEmbedded(t *testing.T) {
	t.Parallel()
	from := fromDir(t)
	if err := os.Remove(filepath.Join(from, "linode.txt")); err != nil {
		t.Fatal(err)
	}
	opts := Options{DataDir: t.TempDir(), From: from, Client: &fetch.Client{HTTP: &http.Client{Transport: failTransport{t}}}}
	rep := mustRun(t, opts)
	s := source(t, rep, "linode")
	if s.Status != StatusKept || s.Failed || !strings.Contains(s.Reason, "the embedded data is kept") {
		t.Errorf("linode: %s (%s), failed %v; want kept from the embedded snapshot, no failure", s.Status, s.Reason, s.Failed)
	}
	emb, err := snapshot.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(loadSnapshot(t, opts.DataDir).FeedRanges("linode")), len(emb.FeedRanges("linode")); got != want || want == 0 {
		t.Errorf("linode ranges after the update: %d, want the embedded %d", got, want)
	}
}
