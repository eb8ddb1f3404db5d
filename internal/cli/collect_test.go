package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/cli"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// syncBuffer is a buffer safe to write and read at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// collectWindow mirrors one line of "sovmap collect --json".
type collectWindow struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	flowSummary
	Collector struct {
		Packets   uint64 `json:"packets"`
		Dropped   uint64 `json:"dropped"`
		Flows     uint64 `json:"flows"`
		Errors    uint64 `json:"decode_errors"`
		Misses    uint64 `json:"template_misses"`
		Exporters []struct {
			Exporter string `json:"exporter"`
			Version  int    `json:"version"`
			Packets  uint64 `json:"packets"`
			Flows    uint64 `json:"flows"`
		} `json:"exporters"`
	} `json:"collector"`
}

// TestCollectSoftflowd runs "sovmap collect" on a loopback port and has
// softflowd export a capture to it as NetFlow v9 and as IPFIX at once. The
// windows together must hold exactly the capture's bytes and packets
// (twice), Alibaba's share under CN, and both exporters.
func TestCollectSoftflowd(t *testing.T) {
	flowtest.LookPath(t, "softflowd")
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	pcap := flowtest.WritePcapFile(t, pkts)
	all := flowtest.Sum(pkts, true)
	var cn uint64
	for _, p := range pkts {
		if p.Src.Addr().String() == "47.88.1.1" || p.Dst.Addr().String() == "47.88.1.1" {
			cn += uint64(p.IPLen())
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- cli.Run(ctx, []string{"collect", "--listen", "127.0.0.1:0", "--interval", "200ms", "--json", "--by", "control,remote-ip"}, strings.NewReader(""), outW, &stderr)
		outW.Close()
	}()
	addr := waitListening(t, &stderr)

	windows := make(chan collectWindow)
	go func() {
		defer close(windows)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var w collectWindow
			if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
				t.Errorf("window %q: %v", sc.Text(), err)
				continue
			}
			windows <- w
		}
	}()

	var wg sync.WaitGroup
	for _, v := range []string{"9", "10"} {
		wg.Go(func() { flowtest.Softflowd(t, pcap, addr, v) })
	}
	wg.Wait()

	var bytes, packets, cnBytes, flows uint64
	exporters := map[string]int{}
	deadline := time.After(20 * time.Second)
	for bytes < 2*all.Bytes {
		select {
		case w, ok := <-windows:
			if !ok {
				t.Fatalf("collect ended early: %s", stderr.String())
			}
			if w.WindowEnd.Before(w.WindowStart) {
				t.Errorf("window %v to %v", w.WindowStart, w.WindowEnd)
			}
			bytes += w.Remote.Bytes + w.Intern.Bytes + w.Transit.Bytes
			packets += w.Remote.Packets + w.Intern.Packets + w.Transit.Packets
			cnBytes += w.group("control")["CN"].Bytes
			flows += w.Collector.Flows
			for _, e := range w.Collector.Exporters {
				exporters[e.Exporter] = e.Version
			}
			if w.Collector.Dropped+w.Collector.Errors+w.Collector.Misses > 0 {
				t.Errorf("window collector counts %+v", w.Collector)
			}
		case <-deadline:
			t.Fatalf("after 20s: %d bytes, want %d", bytes, 2*all.Bytes)
		}
	}
	cancel()
	for range windows { // the last window, written on the way out
	}
	if c := <-code; c != 0 {
		t.Errorf("exit %d, stderr %s", c, stderr.String())
	}
	if bytes != 2*all.Bytes || packets != 2*all.Packets || cnBytes != 2*cn {
		t.Errorf("bytes %d, packets %d, CN bytes %d; want %d, %d, %d", bytes, packets, cnBytes, 2*all.Bytes, 2*all.Packets, 2*cn)
	}
	if len(exporters) != 2 || flows == 0 {
		t.Errorf("exporters %v, flows %d", exporters, flows)
	}
}

var listening = regexp.MustCompile(`listening on udp (127\.0\.0\.1:\d+)`)

func waitListening(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	for range 500 {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("collect did not start: %s", stderr.String())
	return ""
}

// TestCollectText checks the text form and a clean stop with no traffic.
func TestCollectText(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- cli.Run(ctx, []string{"collect", "--listen", "127.0.0.1:0", "--interval", "100ms"}, strings.NewReader(""), &stdout, &stderr)
	}()
	waitListening(t, &stderr)
	time.Sleep(250 * time.Millisecond)
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "== window ") || !strings.Contains(out, "0 packets, 0 flows from 0 exporters") {
		t.Errorf("output:\n%s", out)
	}
}

func TestCollectErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"collect", "--interval", "1ms"},
		{"collect", "--listen", "nowhere:port"},
		{"collect", "--queue", "0"},
		{"collect", "--by", "nothing"},
		{"collect", "file.log"},
	} {
		if res := run(t, "", args...); res.code != 2 {
			t.Errorf("sovmap %s: %s, want exit 2", strings.Join(args, " "), res)
		}
	}
	// A port that cannot be bound: an operational failure.
	if res := run(t, "", "collect", "--listen", "192.0.2.1:2055"); res.code != 3 {
		t.Errorf("collect on an address not ours: %s, want exit 3", res)
	}
}
