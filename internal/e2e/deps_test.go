package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sovmap/sovmap"

// std stands for any standard-library package in an allow list.
const std = "std"

// A layer says what a package may import (its non-test imports) and why.
// Entries of allow are std, a module-relative package path
// ("internal/attribution"), a module-relative tree ("internal/source/feed/..."),
// an external package path ("go.yaml.in/yaml/v3") or an external tree
// ("cel.dev/cel-go/..."). Entries of deny are standard-library packages
// that std does not cover for this layer.
type layer struct {
	allow  []string
	deny   []string // standard-library packages excluded from std
	reason string
}

// sourceLayer is the layer of the feed parsers under internal/source.
var sourceLayer = layer{
	allow: []string{std, "internal/attribution", "internal/ipindex", "internal/iso", "internal/source/feed/..."},
	reason: "a feed parser turns one published feed into attribution values: it may use the shared feed helpers " +
		"(internal/source/feed/...), attribution, ipindex and iso's code rules, and never another parser, the catalog, the snapshot " +
		"or cli (STYLE §4.1: implementations never import each other)",
}

// flowReaderLayer is the layer of the flow-log readers under internal/flowlog.
var flowReaderLayer = layer{
	allow:  []string{std, "internal/flowlog"},
	reason: "a flow-log reader turns one format's lines into flow records: it sees flowlog only",
}

// layers lists every package of the module. A new package must be added
// here, with the layer it belongs to: the test fails on a package it does
// not know, so that no package joins the module without a decision on what
// it may depend on (STYLE §4.1, tailscale's deptest).
var layers = map[string]layer{
	"cmd/sovmap": {
		allow:  []string{std, "internal/cli"},
		reason: "main is a page long: signal.NotifyContext, cli.Run, os.Exit (STYLE §5 habit 1)",
	},
	"internal/cli": {
		allow:  []string{std, "internal/..."},
		reason: "cli is the composition root: it alone wires the implementations together (STYLE §4.1)",
	},
	"internal/attribution": {
		allow: []string{std, "internal/iso"},
		reason: "attribution is the domain vocabulary at the bottom of the layers: standard library only (STYLE §4.1), " +
			"and iso, the leaf that owns the country-code and date rules its catalog checks",
	},
	"internal/iso": {
		allow: []string{std},
		reason: "iso holds the one copy of the ISO 3166 country-code and YYYY-MM-DD date rules that the catalog, " +
			"policy, screening lists, feeds and snapshot check: a leaf below attribution",
	},
	"internal/ipindex": {
		allow:  []string{std},
		reason: "ipindex is a leaf data structure (a flattened longest-prefix-match index): standard library only; bart appears in its benchmarks only",
	},
	"internal/catalog": {
		allow:  []string{std, "internal/attribution", "go.yaml.in/yaml/v3"},
		reason: "the catalog loader decodes YAML into attribution types and nothing else",
	},
	"internal/snapshot": {
		allow:  []string{std, "internal/attribution", "internal/ipindex", "internal/iso", "internal/source/ipdb"},
		reason: "the snapshot compiles ip-location-db data (source/ipdb) into an ipindex serving attribution routes; iso checks its country codes",
	},
	"internal/progress": {
		allow:  []string{std},
		reason: "progress is a terminal progress line for cli's long runs: a leaf that knows nothing of sovmap's domain",
	},
	"internal/render": {
		allow:  []string{std},
		reason: "render is the text rule of every command's human output (terminal-safe strings, counts, sizes): a leaf that knows nothing of sovmap's domain",
	},
	"internal/policy": {
		allow: []string{std, "internal/attribution", "internal/iso", "cel.dev/cel-go/...", "go.yaml.in/yaml/v3"},
		deny:  []string{"net", "net/http", "os", "os/exec"},
		reason: "policy is pure: it parses rules and evaluates them over records with CEL, " +
			"and does no I/O, so it imports neither net, net/http nor os (STYLE §4.1, §5 habit 12); iso checks its sources' dates",
	},
	"internal/dnsname": {
		allow:  []string{std, "internal/attribution", "golang.org/x/net/idna"},
		reason: "dnsname normalises domain names (UTS #46 through x/net/idna); it is a leaf beside the implementations",
	},
	"internal/zonefile": {
		allow:  []string{std, "internal/dnsname", "github.com/miekg/dns"},
		reason: "zonefile reads master-format zone files; miekg/dns gives record types, dnsname the name rules",
	},
	"internal/dnsscan": {
		allow:  []string{std, "internal/attribution", "internal/dnsname", "internal/zonefile", "github.com/miekg/dns", "golang.org/x/net/publicsuffix"},
		reason: "dnsscan resolves domains with miekg/dns and attributes hosts and addresses through the attribution engine; publicsuffix finds the registrable domain of a name",
	},
	"internal/dnstest": {
		allow:  []string{std, "github.com/miekg/dns"},
		reason: "dnstest is an in-process DNS server for tests: miekg/dns only",
	},
	"internal/fetch": {
		allow:  []string{std},
		reason: "fetch downloads files for data update: net/http with retries, limits and checksums; a leaf",
	},
	"internal/update": {
		allow:  []string{std, "internal/attribution", "internal/snapshot", "internal/source/...", "internal/fetch", "internal/progress", "go.yaml.in/yaml/v3"},
		reason: "update runs 'sovmap data update' for cli: it wires the source parsers, the downloader and the snapshot builder",
	},
	"internal/screen": {
		allow:  []string{std, "internal/iso", "go.yaml.in/yaml/v3", "golang.org/x/text/..."},
		reason: "screen matches vendor and equipment names against restricted-entity lists it loads from its own YAML data; iso checks the lists' dates",
	},
	"internal/policy/policytest": {
		allow:  []string{std, "internal/policy", "go.yaml.in/yaml/v3"},
		reason: "policytest runs users' rule test files against the pure policy engine",
	},
	"internal/policy/policyrun": {
		allow: []string{std, "internal/attribution", "internal/policy"},
		deny:  []string{"net", "net/http", "os", "os/exec"},
		reason: "policyrun evaluates policies over a command's records for cli (counts, populations, limit reports, " +
			"the per-route cache of ip records, findings spliced into JSON, record streams): it sees policy and " +
			"attribution's records and engine, and does no I/O of its own, like policy (STYLE §4.1, §5 habit 12)",
	},
	"internal/flowlog": {
		allow:  []string{std},
		reason: "flowlog is the flow record and line accounting shared by the readers: a leaf",
	},
	"internal/flowlog/zeek":   flowReaderLayer,
	"internal/flowlog/vpc":    flowReaderLayer,
	"internal/flowlog/nfdump": flowReaderLayer,
	"internal/flowlog/argus":  flowReaderLayer,
	"internal/flowlog/flowfile": {
		allow:  []string{std, "internal/flowlog/..."},
		reason: "flowfile opens inputs and detects their format among the readers",
	},
	"internal/flowlog/collector": {
		allow:  []string{std, "internal/flowlog", "github.com/netsampler/goflow2/v2/..."},
		reason: "the collector decodes NetFlow/IPFIX with goflow2's decoders into flow records",
	},
	"internal/policy/sariftest": {
		allow:  []string{std, "github.com/santhosh-tekuri/jsonschema/v6"},
		reason: "sariftest validates SARIF logs against the official 2.1.0 schema, for tests",
	},
	"internal/flowlog/flowtest": {
		allow:  []string{std, "internal/flowlog/..."},
		reason: "flowtest writes pcaps and drives softflowd and nfdump for tests",
	},
	"internal/flowlog/flowtest/connloggen": {
		allow:  []string{std, "internal/flowlog/flowtest"},
		reason: "connloggen writes the flows benchmarks' synthetic conn.log, to time sovmap flows as a process",
	},
	"internal/flowlog/flowtest/addrgen": {
		allow:  []string{std, "internal/flowlog/flowtest"},
		reason: "addrgen writes the address sample that scripts/cli-outputs feeds to sovmap ip",
	},
	"internal/flowagg": {
		allow:  []string{std, "internal/attribution", "internal/flowlog", "github.com/gaissmai/bart"},
		reason: "flowagg aggregates flow records by remote address and attributes each remote once; bart holds the local networks",
	},
	"internal/e2e": {
		allow:  []string{std},
		reason: "e2e holds tests only; its package file has no imports",
	},
	"internal/source/feed":          sourceLayer,
	"internal/source/feed/feedtest": sourceLayer,
	"internal/source/aws":           sourceLayer,
	"internal/source/azure":         sourceLayer,
	"internal/source/cidrlist":      sourceLayer,
	"internal/source/fastly":        sourceLayer,
	"internal/source/gcp":           sourceLayer,
	"internal/source/geofeed":       sourceLayer,
	"internal/source/github":        sourceLayer,
	"internal/source/ipdb":          sourceLayer,
	"internal/source/pfx2as":        sourceLayer,
	"internal/source/delegated":     sourceLayer,
	"internal/source/oracle":        sourceLayer,
	"internal/source/zscaler":       sourceLayer,
}

// banned are imports no package may have, tests included, and why.
var banned = map[string]string{
	"io/ioutil":                   "deprecated since Go 1.16: use io and os (STYLE §6)",
	"github.com/pkg/errors":       "use the standard errors package and fmt.Errorf with %w (STYLE §5 habit 5)",
	"github.com/sirupsen/logrus":  "log with log/slog (STYLE §5 habit 6)",
	"go.uber.org/zap":             "log with log/slog (STYLE §5 habit 6)",
	"github.com/stretchr/testify": "no assertion libraries: std testing and go-cmp (STYLE §5 habit 8)",
}

// goPackage is the part of `go list -json` output the tests read.
type goPackage struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// moduleRoot returns the directory holding go.mod, walking up from the
// test's working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// listPackages runs `go list -json ./...` at the module root.
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Dir,Name,GoFiles,Imports,TestImports,XTestImports,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list ./... found no packages in %s", root)
	}
	return pkgs
}

// isStd reports whether an import path is in the standard library: its
// first element has no dot.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// rel returns a module package's path relative to the module, and whether
// it is in the module.
func rel(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	return strings.CutPrefix(path, module+"/")
}

// allowed reports whether a package in layer l may import path.
func (l layer) allowed(path string) bool {
	if slices.Contains(l.deny, path) {
		return false
	}
	for _, a := range l.allow {
		switch {
		case a == std:
			if isStd(path) {
				return true
			}
		case strings.HasSuffix(a, "/..."):
			tree := strings.TrimSuffix(a, "/...")
			if r, ok := rel(path); ok && (r == tree || strings.HasPrefix(r, tree+"/")) {
				return true
			}
			if !isStd(tree) && (path == tree || strings.HasPrefix(path, tree+"/")) {
				return true
			}
		default:
			if r, ok := rel(path); ok && r == a {
				return true
			}
			if path == a {
				return true
			}
		}
	}
	return false
}

func TestImportLayers(t *testing.T) {
	t.Parallel()
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		if p.Error != nil {
			// Another change may be in progress; the compiler reports it.
			t.Logf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		r, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		seen[r] = true
		if len(p.GoFiles) == 0 && len(p.Imports) == 0 {
			// Tests only (a package being started): no layer to check yet.
			t.Logf("%s has no non-test Go files; it needs a layers entry once it has", r)
			continue
		}
		l, known := layers[r]
		if !known {
			t.Errorf("package %s is not in the layers of deps_test.go: add it to the layers map with what it may import and why (STYLE §4.1)", r)
			continue
		}
		for _, imp := range p.Imports {
			if imp == p.ImportPath {
				continue
			}
			if !l.allowed(imp) {
				t.Errorf("%s imports %s, which its layer does not allow: %s", r, imp, l.reason)
			}
		}
	}
	for r := range layers {
		if !seen[r] {
			t.Logf("layers lists %s, which go list did not find; remove it if the package is gone", r)
		}
	}
}

func TestNothingImportsCLI(t *testing.T) {
	t.Parallel()
	const cli = module + "/internal/cli"
	for _, p := range listPackages(t) {
		if p.ImportPath == module+"/cmd/sovmap" {
			continue
		}
		for _, imp := range allImports(p) {
			if imp == cli && p.ImportPath != cli { // cli's own tests may
				t.Errorf("%s imports internal/cli: cli is the composition root and only cmd/sovmap may import it (STYLE §4.1: nothing imports cli)", p.ImportPath)
			}
		}
	}
}

func TestBannedImports(t *testing.T) {
	t.Parallel()
	for _, p := range listPackages(t) {
		for _, imp := range allImports(p) {
			for b, why := range banned {
				if imp == b || strings.HasPrefix(imp, b+"/") {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
				}
			}
		}
	}
}

// allImports returns a package's imports, those of its tests included.
func allImports(p goPackage) []string {
	all := slices.Concat(p.Imports, p.TestImports, p.XTestImports)
	slices.Sort(all)
	return slices.Compact(all)
}

// TestLayerAllowed checks the allow-list matching itself.
func TestLayerAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pkg, imp string
		want     bool
	}{
		{"internal/attribution", "net/netip", true},
		{"internal/attribution", module + "/internal/ipindex", false},
		{"internal/attribution", "go.yaml.in/yaml/v3", false},
		{"internal/catalog", "go.yaml.in/yaml/v3", true},
		{"internal/catalog", "go.yaml.in/yaml/v3/sub", false},
		{"internal/ipindex", module + "/internal/source/aws", false},
		{"internal/source/aws", module + "/internal/source/feed", true},
		{"internal/source/aws", module + "/internal/source/feed/feedtest", true},
		{"internal/source/aws", module + "/internal/source/feedx", false},
		{"internal/source/aws", module + "/internal/source/gcp", false},
		{"internal/source/aws", module + "/internal/catalog", false},
		{"internal/source/aws", module + "/internal/ipindex", true},
		{"internal/snapshot", module + "/internal/source/ipdb", true},
		{"internal/snapshot", module + "/internal/source/aws", false},
		{"internal/snapshot", module + "/internal/catalog", false},
		{"internal/cli", module + "/internal/snapshot", true},
		{"internal/cli", "github.com/other/module", false},
		{"cmd/sovmap", module + "/internal/cli", true},
		{"cmd/sovmap", module + "/internal/attribution", false},
		{"internal/policy", "cel.dev/cel-go/cel", true},
		{"internal/policy", "cel.dev/cel-go", true},
		{"internal/policy", "cel.dev/cel-gox", false},
		{"internal/policy", "strings", true},
		{"internal/policy", "os", false},
		{"internal/policy", "net/http", false},
		{"internal/policy", "net/netip", true},
		{"internal/policy", module + "/internal/snapshot", false},
		{"internal/policy/policyrun", module + "/internal/policy", true},
		{"internal/policy/policyrun", module + "/internal/attribution", true},
		{"internal/policy/policyrun", module + "/internal/screen", false},
		{"internal/policy/policyrun", "os", false},
	}
	for _, test := range tests {
		if got := layers[test.pkg].allowed(test.imp); got != test.want {
			t.Errorf("layers[%q].allowed(%q) = %v, want %v", test.pkg, test.imp, got, test.want)
		}
	}
}
