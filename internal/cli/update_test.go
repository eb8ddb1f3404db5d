package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/cli"
	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/update"
)

// sovmap runs the command line in process.
func sovmap(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = cli.Run(context.Background(), args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

// feedServer serves the update package's test feeds; a test can replace a
// feed's body.
type feedServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	body map[string][]byte
}

var testFeeds = map[string]string{
	"aws":           "aws-ip-ranges.json",
	"google-cloud":  "google-cloud-ip-ranges.json",
	"cloudflare-v4": "cloudflare-v4-ip-ranges.txt",
	"cloudflare-v6": "cloudflare-v6-ip-ranges.txt",
	"linode":        "linode.txt",
}

const testFeedDir = "../update/testdata/feeds"

func newFeedServer(t *testing.T) *feedServer {
	t.Helper()
	fs := &feedServer{body: map[string][]byte{}}
	for _, file := range testFeeds {
		b, err := os.ReadFile(filepath.Join(testFeedDir, file))
		if err != nil {
			t.Fatal(err)
		}
		fs.body["/"+file] = b
	}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		b, ok := fs.body[r.URL.Path]
		fs.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

// sourcesFile writes a --sources file that points the test feeds at the
// server and disables every other source.
func (fs *feedServer) sourcesFile(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# every source of the registry: the test feeds on a local server, the rest disabled\n")
	for _, s := range update.Sources() {
		u := ""
		if file, ok := testFeeds[s.Name]; ok {
			u = fs.srv.URL + "/" + file
		}
		fmt.Fprintf(&b, "%s: %q\n", s.Name, u)
	}
	path := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeNoFeeds writes into the data directory dir a snapshot that holds
// nothing, for the updates that follow to start from. The test feeds
// (a few ranges each) are healthy against it, whereas against the
// embedded snapshot's real feeds they shrank and are refused.
func writeNoFeeds(t *testing.T, dir string) {
	t.Helper()
	tb, _, err := snapshot.NewBuilder(snapshot.Meta{Name: "no feeds"}).Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := update.WriteFileAtomic(update.SnapshotPath(dir), tb.Encode); err != nil {
		t.Fatal(err)
	}
}

// ipRecord is the part of the JSON contract this test reads.
type ipRecord struct {
	IP       string `json:"ip"`
	Provider *struct {
		ID string `json:"id"`
	} `json:"provider"`
	Control *struct {
		Country string `json:"country"`
	} `json:"control"`
	Location *struct {
		Country string `json:"country"`
		Region  string `json:"region"`
		Source  string `json:"source"`
	} `json:"location"`
	Evidence []struct {
		Method string `json:"method"`
		Source string `json:"source"`
	} `json:"evidence"`
}

func ipJSON(t *testing.T, args ...string) ipRecord {
	t.Helper()
	code, out, errs := sovmap(t, append([]string{"ip", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("sovmap ip %q: exit %d\n%s", args, code, errs)
	}
	var r ipRecord
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("sovmap ip %q: %v\n%s", args, err, out)
	}
	return r
}

// TestDataUpdate runs updates against a local server and checks that the
// commands then use the new snapshot. It sets XDG_DATA_HOME, so it does
// not run in parallel.
func TestDataUpdate(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	dataDir := filepath.Join(xdg, "sovmap")
	fs := newFeedServer(t)
	sources := fs.sourcesFile(t)
	const feedOnly = "15.230.221.10" // in AWS's us-east-1 feed; no routing data announces it

	// The embedded snapshot holds the providers' real feeds, which the
	// test feeds (a few ranges each) shrank from: a first update is
	// refused and keeps the embedded feeds.
	before := ipJSON(t, feedOnly)
	if before.Provider == nil || before.Provider.ID != "aws" || len(before.Evidence) == 0 || before.Evidence[0].Source != "aws 2025-07-24" {
		t.Fatalf("embedded snapshot: %s = %+v, want aws from its aws feed of 2025-07-24", feedOnly, before)
	}
	code, out, errs := sovmap(t, "data", "update", "--sources", sources)
	if code != 1 || !strings.Contains(out, "starting from embedded") {
		t.Errorf("sovmap data update from the embedded snapshot: exit %d, want 1\nstdout:\n%s", code, out)
	}
	for _, want := range []string{"sovmap: data update: aws: refused: shrank from 9,066 to 10 ranges", "kept the previous data (2025-07-24, 9,066 ranges)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("sovmap data update from the embedded snapshot: stderr lacks %q:\n%s", want, errs)
		}
	}

	// From a snapshot without feeds, the address is unknown until a
	// healthy update into the default data directory.
	writeNoFeeds(t, dataDir)
	if r := ipJSON(t, feedOnly); r.Provider != nil {
		t.Fatalf("%s attributed to %s by a snapshot without feeds", feedOnly, r.Provider.ID)
	}
	code, out, errs = sovmap(t, "data", "update", "--sources", sources)
	if code != 0 || errs != "" {
		t.Fatalf("sovmap data update: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, want := range []string{"wrote " + filepath.Join(dataDir, "sovmap.snap"), "starting from " + filepath.Join(dataDir, "sovmap.snap"), "aws ", "updated", "2025-07-24", "azure", "missing", "disabled by the configuration"} {
		if !strings.Contains(out, want) {
			t.Errorf("sovmap data update output lacks %q:\n%s", want, out)
		}
	}

	// ip uses the new snapshot: the feed-only address is AWS in us-east-1.
	r := ipJSON(t, feedOnly)
	if r.Provider == nil || r.Provider.ID != "aws" || r.Control == nil || r.Control.Country != "US" {
		t.Fatalf("after the update, %s = %+v, want aws controlled from US", feedOnly, r)
	}
	if r.Location == nil || r.Location.Country != "US" || r.Location.Region != "us-east-1" || r.Location.Source != "provider-feed" {
		t.Errorf("location of %s = %+v, want US, us-east-1 from the provider feed", feedOnly, r.Location)
	}
	if len(r.Evidence) == 0 || r.Evidence[0].Method != "feed" || r.Evidence[0].Source != "aws 2025-07-24" {
		t.Errorf("evidence of %s = %+v, want the aws feed of 2025-07-24 first", feedOnly, r.Evidence)
	}
	// The embedded snapshot stays one flag away, with its own feeds.
	if r := ipJSON(t, "--snapshot", "embedded", feedOnly); r.Provider == nil || r.Provider.ID != "aws" || len(r.Evidence) == 0 || r.Evidence[0].Source != "aws 2025-07-24" {
		t.Errorf("--snapshot embedded: %s = %+v, want aws from the embedded aws feed", feedOnly, r)
	}

	// data info says which snapshot is in use, and each feed's state.
	code, out, errs = sovmap(t, "data", "info")
	if code != 0 {
		t.Fatalf("sovmap data info: exit %d\n%s", code, errs)
	}
	for _, want := range []string{"in use:", filepath.Join(dataDir, "sovmap.snap"), "provider feeds:", "aws ", "2025-07-24", "updated 20"} {
		if !strings.Contains(out, want) {
			t.Errorf("sovmap data info lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ := sovmap(t, "data", "info", "--snapshot", "embedded"); !strings.Contains(out, "embedded in the binary (--snapshot embedded)") || !strings.Contains(out, "provider feeds:") || strings.Contains(out, "updated 20") {
		t.Errorf("sovmap data info --snapshot embedded:\n%s", out)
	}

	// A feed that shrank is refused: exit 1, the reason on stderr, the
	// previous ranges kept.
	fs.mu.Lock()
	fs.body["/aws-ip-ranges.json"] = []byte(`{"prefixes": [{"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "S3"}]}`)
	fs.mu.Unlock()
	code, out, errs = sovmap(t, "data", "update", "--sources", sources, "--json")
	if code != 1 {
		t.Fatalf("sovmap data update with a shrunk feed: exit %d, want 1\nstderr:\n%s", code, errs)
	}
	for _, want := range []string{
		"sovmap: data update: aws: refused: shrank from 10 to 1 ranges (-90%; fewer than half)",
		"kept the previous data (2025-07-24, 10 ranges)",
		"hint: ",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	var rep update.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.OK() {
		t.Errorf("--json report: %v, OK %v", err, rep.OK())
	}
	if r := ipJSON(t, feedOnly); r.Provider == nil || r.Provider.ID != "aws" {
		t.Errorf("after a refused update, %s = %+v, want aws still", feedOnly, r)
	}
	_, out, _ = sovmap(t, "data", "info")
	if !strings.Contains(out, "kept previous: refused") {
		t.Errorf("sovmap data info does not show the refused feed:\n%s", out)
	}

	// Offline, from a folder, into another data directory (whose snapshot
	// has no feeds: the folder lacks most of the embedded ones, which
	// would be reported as disappeared).
	other := t.TempDir()
	writeNoFeeds(t, other)
	code, out, errs = sovmap(t, "data", "update", "--from", testFeedDir, "--data-dir", other)
	if code != 0 {
		t.Fatalf("sovmap data update --from: exit %d\n%s\n%s", code, out, errs)
	}
	if r := ipJSON(t, "--data-dir", other, feedOnly); r.Provider == nil || r.Provider.ID != "aws" {
		t.Errorf("--data-dir %s: %s = %+v, want aws", other, feedOnly, r)
	}
}

func TestDataSources(t *testing.T) {
	t.Parallel()
	code, out, errs := sovmap(t, "data", "sources")
	if code != 0 || errs != "" {
		t.Fatalf("sovmap data sources: exit %d\n%s", code, errs)
	}
	for _, want := range []string{
		"https://ip-ranges.amazonaws.com/ip-ranges.json", "aws-ip-ranges.json",
		"azure", "ServiceTags_Public_YYYYMMDD.json", "microsoft-azure-ip-ranges.json",
		"pfx2as-creation.log", "delegated-ripencc-extended-latest", "asn data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sovmap data sources lacks %q", want)
		}
	}
	code, out, _ = sovmap(t, "data", "sources", "--json", "--source", "azure=https://mirror.example/st.json", "azure", "cloudflare")
	var got []struct {
		Name, URL, File, Kind, Provider string
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("sovmap data sources --json: exit %d, %v\n%s", code, err, out)
	}
	type source struct{ Name, URL, Provider string }
	var gotSources []source
	for _, s := range got {
		gotSources = append(gotSources, source{s.Name, s.URL, s.Provider})
	}
	want := []source{
		{"azure", "https://mirror.example/st.json", "azure"},
		{"cloudflare-v4", "https://www.cloudflare.com/ips-v4", "cloudflare"},
		{"cloudflare-v6", "https://www.cloudflare.com/ips-v6", "cloudflare"},
	}
	if diff := cmp.Diff(want, gotSources); diff != "" {
		t.Errorf("sovmap data sources --json azure cloudflare mismatch (-want +got):\n%s", diff)
	}
}

// TestDataUpdateRedirect points aws at a server on 127.0.0.1 that
// redirects to another loopback server: refused, with both URLs and the
// flag named, unless --allow-private-redirects is given.
func TestDataUpdateRedirect(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	sources := fs.sourcesFile(t)
	redirector := httptest.NewServer(http.RedirectHandler(fs.srv.URL+"/aws-ip-ranges.json", http.StatusFound))
	t.Cleanup(redirector.Close)
	from, to := redirector.URL+"/ip-ranges.json", fs.srv.URL+"/aws-ip-ranges.json"
	dataDir := t.TempDir()
	writeNoFeeds(t, dataDir) // the test feeds are healthy against no feeds, not against the embedded ones
	args := []string{"data", "update", "--sources", sources, "--source", "aws=" + from, "--data-dir", dataDir}

	code, out, errs := sovmap(t, args...)
	want := "sovmap: data update: aws: failed: download failed: redirect from " + from + " to " + to +
		" refused: 127.0.0.1 is a loopback address (--allow-private-redirects follows such redirects, if you trust them)"
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("sovmap data update with a redirect to loopback: exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errs)
	}

	code, out, errs = sovmap(t, append(args, "--allow-private-redirects")...)
	if code != 0 || errs != "" || !strings.Contains(out, "aws ") {
		t.Errorf("sovmap data update --allow-private-redirects: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}
