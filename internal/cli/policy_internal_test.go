package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/policy/policyrun"
)

// BenchmarkIPJSON compares "sovmap ip --json" record encoding without a
// policy and with the built-in packs, per address, over addresses spread
// across the table (the policy cost is paid once per route, then a map
// lookup and a copy):
//
//	go test -run '^$' -bench IPJSON -benchmem ./internal/cli
func BenchmarkIPJSON(b *testing.B) {
	var df dataFlags
	eng, _, err := df.engine(nil)
	if err != nil {
		b.Fatal(err)
	}
	addrs := flowtest.SpreadAddrs(1 << 16)
	for _, pol := range []string{"none", "us-icts", "fcc-covered", "eu-residency", "all"} {
		b.Run("policy="+pol, func(b *testing.B) {
			p := &ipPrinter{eng: eng, w: bufio.NewWriterSize(io.Discard, 256*1024), mode: outJSON}
			if pol != "none" {
				set, err := compilePolicies([]string{pol}, "", eng.Catalog())
				if err != nil {
					b.Fatal(err)
				}
				p.pol = newIPPolicy(eng, newPolicyRun(set, 0), false)
			}
			for _, a := range addrs { // warm the engine's and the policy's caches
				p.addr(a)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p.addr(addrs[i&(len(addrs)-1)])
				i++
			}
		})
	}
}

// BenchmarkIPJSONPolicyOverhead measures the cost --policy adds to the
// record encoding of "sovmap ip --json" once the caches are warm, as a
// ratio robust to a noisy machine: batches of addresses are encoded without
// and with the policy in turn, so that both see the same load. Addresses are
// spread uniformly over the address space or drawn as in traffic logs
// (zipf). It reports ns per address for each and the overhead in percent.
//
//	go test -run '^$' -bench IPJSONPolicyOverhead ./internal/cli
func BenchmarkIPJSONPolicyOverhead(b *testing.B) {
	var df dataFlags
	eng, _, err := df.engine(nil)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 2048
	for _, dist := range []string{"uniform", "zipf"} {
		addrs := flowtest.SpreadAddrs(1 << 16)
		if dist == "zipf" {
			addrs = zipfAddrs(1 << 16)
		}
		for _, pol := range []string{"us-icts", "fcc-covered", "eu-residency", "concentration", "all"} {
			b.Run("addrs="+dist+"/policy="+pol, func(b *testing.B) {
				set, err := compilePolicies([]string{pol}, "", eng.Catalog())
				if err != nil {
					b.Fatal(err)
				}
				plain := &ipPrinter{eng: eng, w: bufio.NewWriterSize(io.Discard, 256*1024), mode: outJSON}
				with := &ipPrinter{eng: eng, w: bufio.NewWriterSize(io.Discard, 256*1024), mode: outJSON}
				with.pol = newIPPolicy(eng, newPolicyRun(set, 0), false)
				for _, a := range addrs { // warm the caches
					plain.addr(a)
					with.addr(a)
				}
				var tPlain, tWith time.Duration
				n, off := 0, 0
				for b.Loop() {
					part := addrs[off : off+batch]
					off = (off + batch) % len(addrs)
					first, second := plain, with
					if n%2 == 1 {
						first, second = with, plain
					}
					t0 := time.Now()
					for _, a := range part {
						first.addr(a)
					}
					t1 := time.Now()
					for _, a := range part {
						second.addr(a)
					}
					t2 := time.Now()
					if n%2 == 0 {
						tPlain, tWith = tPlain+t1.Sub(t0), tWith+t2.Sub(t1)
					} else {
						tWith, tPlain = tWith+t1.Sub(t0), tPlain+t2.Sub(t1)
					}
					n++
				}
				addrsDone := float64(n * batch)
				b.ReportMetric(float64(tPlain.Nanoseconds())/addrsDone, "ns/addr-plain")
				b.ReportMetric(float64(tWith.Nanoseconds())/addrsDone, "ns/addr-policy")
				b.ReportMetric(100*(float64(tWith)/float64(tPlain)-1), "%overhead")
			})
		}
	}
}

// zipfAddrs returns n addresses in the style of traffic logs: a few
// thousand /24 networks spread over the address space, drawn with a Zipf
// distribution (a few networks carry most addresses).
func zipfAddrs(n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(3, 4))
	nets := flowtest.SpreadAddrs(4000)
	z := rand.NewZipf(rng, 1.1, 1, uint64(len(nets)-1))
	out := make([]netip.Addr, n)
	for i := range out {
		b := nets[z.Uint64()].As16()
		b[15] = byte(rng.IntN(256))
		out[i] = netip.AddrFrom16(b).Unmap()
	}
	return out
}

// BenchmarkIPStreamPolicyOverhead measures the whole "sovmap ip --json"
// command on standard input, without and with --policy, alternately: one
// op is one run of each over the same million addresses, either spread
// uniformly over the address space (the worst case for the per-route
// cache: nearly every address is a new route) or drawn as in traffic logs
// (zipf). It reports addresses per second and the overhead in percent.
//
//	go test -run '^$' -bench IPStreamPolicyOverhead -benchtime 5x ./internal/cli
func BenchmarkIPStreamPolicyOverhead(b *testing.B) {
	inputs := map[string][]byte{}
	for name, addrs := range map[string][]netip.Addr{"uniform": flowtest.SpreadAddrs(streamN), "zipf": zipfAddrs(streamN)} {
		var in bytes.Buffer
		for _, a := range addrs {
			in.WriteString(a.String())
			in.WriteByte('\n')
		}
		inputs[name] = in.Bytes()
	}
	for _, dist := range []string{"uniform", "zipf"} {
		for _, pol := range []string{"us-icts", "fcc-covered", "eu-residency", "all"} {
			b.Run("addrs="+dist+"/policy="+pol, func(b *testing.B) {
				input := inputs[dist]
				var tPlain, tWith time.Duration
				n := 0
				runOnce := func(args ...string) time.Duration {
					t0 := time.Now()
					if code := Run(context.Background(), args, bytes.NewReader(input), io.Discard, io.Discard); code != 0 {
						b.Fatalf("sovmap %v: exit %d", args, code)
					}
					return time.Since(t0)
				}
				for b.Loop() {
					if n%2 == 0 {
						tPlain += runOnce("ip", "--json")
						tWith += runOnce("ip", "--json", "--policy", pol)
					} else {
						tWith += runOnce("ip", "--json", "--policy", pol)
						tPlain += runOnce("ip", "--json")
					}
					n++
				}
				addrs := float64(n) * streamN
				b.ReportMetric(addrs/tPlain.Seconds()/1e6, "Maddr/s-plain")
				b.ReportMetric(addrs/tWith.Seconds()/1e6, "Maddr/s-policy")
				b.ReportMetric(100*(float64(tWith)/float64(tPlain)-1), "%overhead")
			})
		}
	}
}

// streamN is the number of addresses of BenchmarkIPStreamPolicyOverhead.
const streamN = 1000000

// TestPolicyRunLimits checks how ip, scan and flows report the rule
// evaluations stopped by a limit: at the end, the first maxReported with
// their record, then how many more, and exit status 1; the other rules and
// records are evaluated.
func TestPolicyRunLimits(t *testing.T) {
	t.Parallel()
	p, err := policy.Parse("pairs.yaml", strings.NewReader(`rules:
  - id: t/pairs
    title: Two hosts whose names differ by a final dot
    severity: low
    applies_to: [scan-layer]
    expr: r.hosts.exists(h, r.hosts.exists(g, g.host == h.host + "."))
    message: pairs
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
  - id: t/layer
    title: A layer
    severity: info
    applies_to: [scan-layer]
    expr: "true"
    message: a layer
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Compile(policy.Env{}, p)
	if err != nil {
		t.Fatal(err)
	}
	hosts := make([]any, 2000)
	for i := range hosts {
		hosts[i] = map[string]any{"host": fmt.Sprintf("h%d", i)}
	}
	run := newPolicyRun(set, policy.SeverityNone)
	for i := range policyrun.MaxReported + 2 {
		rec := map[string]any{"domain": fmt.Sprintf("d%d.example", i), "layer": "dns", "hosts": hosts}
		if fs := run.Evaluate(policy.KindScanLayer, rec, ""); len(fs) != 1 || fs[0].Rule != "t/layer" {
			t.Fatalf("record %d: findings %v, want t/layer", i, fs)
		}
	}
	var stderr bytes.Buffer
	err = run.exit(&env{stderr: &stderr}, "scan")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitInvalid {
		t.Errorf("exit = %v, want exit status 1", err)
	}
	// The cost limit or, on a slow machine (the race detector), the
	// deadline stops the rule first: either will do.
	first := regexp.MustCompile(`^sovmap: scan: d0\.example dns: rule t/pairs: expr: evaluation limit exceeded: (cost over 1000000 units \(policy\.MaxCost\)|took over 1s \(policy\.EvalTimeout\))\n`)
	if !first.MatchString(stderr.String()) || strings.Count(stderr.String(), "evaluation limit exceeded") != policyrun.MaxReported ||
		!strings.Contains(stderr.String(), "sovmap: scan: 2 more rule evaluations stopped by a limit not shown\n") ||
		!strings.HasSuffix(stderr.String(), "sovmap: scan: 12 rule evaluations stopped by a limit (docs/policy.md, Limits): such a rule counts as not broken by its record\n") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// TestPolicyCheckTerminal checks that the text output of policy check
// prints record fields by the terminal rule (package render): a control
// character in a domain is escaped, never written.
func TestPolicyCheckTerminal(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(path, []byte(`rules:
  - id: t/layer
    title: A layer
    severity: info
    applies_to: [scan-layer]
    expr: "true"
    message: ${r.domain}
    source: {title: T, url: "https://example.org/t", date: 2024-01-02}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	in := `{"domain":"a\u001b[2J.example","layer":"dns"}`
	code := Run(context.Background(), []string{"policy", "check", "--policy", path, "-"}, strings.NewReader(in), &stdout, &stderr)
	want := `stdin:1: INFO t/layer "a\x1b[2J.example dns": "a\x1b[2J.example"` + "\n"
	if code != 0 || stdout.String() != want {
		t.Errorf("exit %d, stdout %q, want %q", code, stdout.String(), want)
	}
}
