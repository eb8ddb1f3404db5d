package dnsscan_test

import (
	"context"
	"fmt"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/dnstest"
)

// benchPool is the number of distinct domains the benchmark serves. A cold
// run of more domains than this scans some twice (warm).
const benchPool = 4000

// benchZones returns a TLD "bench." of benchPool domains, each on DNSPod
// name servers, with an Alibaba apex (IPv4 and IPv6), a www CNAME to its
// own OSS bucket and Alibaba mail: 6 queries per domain, 7 for Unbound.
func benchZones() map[string]string {
	z := map[string]string{}
	z["."] = dnstest.Zones()["."] + "bench. IN NS a.gtld-servers.net.\n"
	var tld, oss strings.Builder
	tld.WriteString("$ORIGIN bench.\n$TTL 86400\n@ IN SOA a.gtld-servers.net. h.bench. 1 7200 900 1209600 86400\n@ IN NS a.gtld-servers.net.\n")
	oss.WriteString(dnstest.Zones()["aliyuncs.com."])
	for i := range benchPool {
		d := fmt.Sprintf("d%d.bench.", i)
		fmt.Fprintf(&tld, "%s IN NS f1g1ns1.dnspod.net.\n%s IN NS f1g1ns2.dnspod.net.\n", d, d)
		z[d] = fmt.Sprintf(`$ORIGIN %s
$TTL 86400
@ IN SOA f1g1ns1.dnspod.net. h.%s 1 7200 900 1209600 86400
@ IN NS f1g1ns1.dnspod.net.
@ IN NS f1g1ns2.dnspod.net.
@ IN A 47.88.%d.%d
@ IN AAAA 2400:3200::%x
www IN CNAME d%d.oss-cn-hangzhou.aliyuncs.com.
@ IN MX 10 mxn.mxhichina.com.
`, d, d, i/250, i%250+1, i+1, i)
		fmt.Fprintf(&oss, "d%d.oss-cn-hangzhou IN A 120.24.%d.%d\n", i, i/250, i%250+1)
	}
	z["bench."] = tld.String()
	z["aliyuncs.com."] = oss.String()
	return z
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapPeak samples the live heap until stop is closed.
func heapPeak(stop <-chan struct{}) func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()
	return func() uint64 { <-done; return peak.Load() }
}

// BenchmarkScanUnbound scans domains through Unbound over NSD, end to end
// (resolution, attribution, JSON encoding), at several concurrencies, with
// Unbound's cache cold (restarted before each run) or warm. Run a cold
// benchmark with -benchtime=Nx, N ≤ 4000, so that every domain is new:
//
//	go test -run '^$' -bench ScanUnbound -benchtime 4000x ./internal/dnsscan/
func BenchmarkScanUnbound(b *testing.B) {
	benchNet := internet(b, benchZones())
	stubs := make([]string, 0, len(dnstest.Zones())+benchPool+1)
	for o := range dnstest.Zones() {
		stubs = append(stubs, o)
	}
	stubs = append(stubs, "bench.")
	for i := range benchPool {
		stubs = append(stubs, fmt.Sprintf("d%d.bench.", i))
	}
	eng := testEngine(b)
	for _, mode := range []string{"cold", "warm"} {
		for _, conc := range []int{64, 256, 1024} {
			b.Run(fmt.Sprintf("%s/c=%d", mode, conc), func(b *testing.B) {
				resolver := benchNet.Resolver
				var ub *dnstest.Process
				if mode == "cold" {
					var err error
					ub, err = dnstest.StartUnbound(b.TempDir(), benchNet.NSD.Addr, stubs)
					if err != nil {
						b.Fatal(err)
					}
					defer ub.Stop()
					resolver = ub.Addr
				} else {
					ub = benchNet.Unbound
				}
				c := &dnsscan.Client{Servers: []string{resolver}, Timeout: 2 * time.Second, Retries: 2, MaxInFlight: conc}
				defer c.Close()
				sc := &dnsscan.Scanner{Resolver: c, Engine: eng}
				run := func(from, n int) (int, map[string]int) {
					var in strings.Builder
					for i := range n {
						fmt.Fprintf(&in, "d%d.bench\n", (from+i)%benchPool)
					}
					got := 0
					var buf []byte
					r := &dnsscan.Runner{Scan: sc.Scan, Concurrency: conc, Emit: func(res *dnsscan.Result) error {
						buf = append(res.AppendJSON(buf[:0]), '\n')
						got++
						return nil
					}}
					st, err := r.Run(context.Background(), strings.NewReader(in.String()))
					if err != nil {
						b.Fatal(err)
					}
					return got, st.Statuses
				}
				if mode == "warm" {
					run(0, benchPool)
				}
				q0, cpu0, ub0 := c.Stats().Sent, cpuTime(), ub.CPUTime()
				stop := make(chan struct{})
				peak := heapPeak(stop)
				start := time.Now()
				b.ResetTimer()
				total, bad := 0, map[string]int{}
				for done := 0; done < b.N; {
					n := min(b.N-done, benchPool)
					got, statuses := run(done, n)
					total += got
					for s, k := range statuses {
						if s != dnsscan.StatusOK {
							bad[s] += k
						}
					}
					done += n
				}
				b.StopTimer()
				el := time.Since(start)
				close(stop)
				if total != b.N || len(bad) > 0 {
					b.Fatalf("%d results for %d domains, failures %v", total, b.N, bad)
				}
				b.ReportMetric(float64(b.N)/el.Seconds(), "domains/s")
				b.ReportMetric(float64(c.Stats().Sent-q0)/float64(b.N), "queries/domain")
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/domain")
				b.ReportMetric(float64(ub.CPUTime()-ub0)/float64(time.Microsecond)/float64(b.N), "unbound-cpu-µs/domain")
				b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
			})
		}
	}
}
