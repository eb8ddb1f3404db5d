package cli_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"path/filepath"
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
			Exporter      string `json:"exporter"`
			Version       int    `json:"version"`
			Packets       uint64 `json:"packets"`
			Flows         uint64 `json:"flows"`
			SamplingRate  uint32 `json:"sampling_rate"`
			AnnouncedRate uint32 `json:"announced_sampling_rate"`
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

// TestCollectSampling has softflowd export NetFlow v5 to "sovmap collect":
// sampling 1 packet in 4 and saying so in the header, then unsampled to a
// collector told --sampling-rate 10. The windows must hold the counts
// scaled by 4 (the capture's packets) and by 10, and the exporter's rate,
// in JSON and in the text table.
func TestCollectSampling(t *testing.T) {
	bin := flowtest.LookPath(t, "softflowd")[0]
	pkts := flowtest.Traffic(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	pcap := flowtest.WritePcapFile(t, pkts)
	v4 := flowtest.Sum(pkts, false)
	tests := []struct {
		name    string
		args    []string // collect flags
		sample  string   // softflowd -s
		packets uint64   // all windows together
		rate    uint32   // the exporter's rate, applied
		anno    uint32   // and announced
		cell    string   // the text table's SAMPLING cell
	}{
		{"announced", nil, "4", v4.Packets, 4, 4, "1:4"},
		{"assumed", []string{"--sampling-rate", "10"}, "0", 10 * v4.Packets, 10, 0, "1:10 assumed"},
		{"not scaled", []string{"--no-sampling-scale"}, "4", v4.Packets / 4, 1, 4, "1:4 not scaled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, asJSON := range []bool{true, false} {
				ctx, cancel := context.WithCancel(context.Background())
				var stdout, stderr syncBuffer
				code := make(chan int, 1)
				args := append([]string{"collect", "--listen", "127.0.0.1:0", "--interval", "100ms", "--by", "control"}, tt.args...)
				if asJSON {
					args = append(args, "--json")
				}
				go func() { code <- cli.Run(ctx, args, strings.NewReader(""), &stdout, &stderr) }()
				addr := waitListening(t, &stderr)
				sfArgs := []string{"-d", "-r", pcap, "-n", addr, "-v", "5", "-c", "none", "-p", filepath.Join(t.TempDir(), "softflowd.pid")}
				if tt.sample != "0" {
					sfArgs = append(sfArgs, "-s", tt.sample)
				}
				flowtest.Run(t, bin, sfArgs...)
				time.Sleep(300 * time.Millisecond) // a window or two after the packet
				cancel()
				if c := <-code; c != 0 {
					t.Fatalf("exit %d: %s", c, stderr.String())
				}
				out := stdout.String()
				if !asJSON {
					if !regexp.MustCompile(`(?m)^  127\.0\.0\.1:\d+\s+v5\s+1\s+\d+\s+` + regexp.QuoteMeta(tt.cell) + `\s`).MatchString(out) {
						t.Errorf("no exporter row with sampling %q:\n%s", tt.cell, out)
					}
					continue
				}
				var packets uint64
				seen := false
				for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
					var w collectWindow
					if err := json.Unmarshal([]byte(line), &w); err != nil {
						t.Fatalf("window %q: %v", line, err)
					}
					packets += w.Remote.Packets + w.Intern.Packets + w.Transit.Packets
					for _, e := range w.Collector.Exporters {
						seen = true
						if e.SamplingRate != tt.rate || e.AnnouncedRate != tt.anno {
							t.Errorf("exporter %+v, want rate %d applied, %d announced", e, tt.rate, tt.anno)
						}
					}
				}
				if packets != tt.packets || !seen {
					t.Errorf("packets %d (exporter seen: %v), want %d", packets, seen, tt.packets)
				}
			}
		})
	}
}

// v5Packets encodes flows from local to each remote as NetFlow v5 packets
// of up to 30 records; flow i carries i+1 bytes and one packet.
func v5Packets(local netip.Addr, remotes []netip.Addr) [][]byte {
	var pkts [][]byte
	for start := 0; start < len(remotes); start += 30 {
		n := min(30, len(remotes)-start)
		b := make([]byte, 24+48*n)
		binary.BigEndian.PutUint16(b[0:], 5)
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		binary.BigEndian.PutUint32(b[4:], 1000)       // uptime, ms
		binary.BigEndian.PutUint32(b[8:], 1780000000) // export time
		for k := range n {
			r := b[24+48*k:]
			src, dst := local.As4(), remotes[start+k].As4()
			copy(r[0:], src[:])
			copy(r[4:], dst[:])
			binary.BigEndian.PutUint32(r[16:], 1)                 // packets
			binary.BigEndian.PutUint32(r[20:], uint32(start+k+1)) // octets
			binary.BigEndian.PutUint32(r[24:], 500)               // first
			binary.BigEndian.PutUint32(r[28:], 900)               // last
			binary.BigEndian.PutUint16(r[32:], 40000)             // source port
			binary.BigEndian.PutUint16(r[34:], 443)               // destination port
			r[38] = 6                                             // TCP
		}
		pkts = append(pkts, b)
	}
	return pkts
}

// TestCollectMaxRemotes sends flows to 3,000 remotes, as spoofed or
// scanning sources would, to a collector bound to 200: the window holds
// every byte, says how many remotes were folded, and groups them exactly.
func TestCollectMaxRemotes(t *testing.T) {
	t.Parallel()
	remotes := flowtest.RemoteAddrs(3000, 9)
	var want uint64
	for i := range remotes {
		want += uint64(i + 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	args := []string{"collect", "--listen", "127.0.0.1:0", "--interval", "1h", "--json", "--by", "control,provider", "--top", "0", "--max-remotes", "200"}
	go func() { code <- cli.Run(ctx, args, strings.NewReader(""), &stdout, &stderr) }()
	addr := waitListening(t, &stderr)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, p := range v5Packets(netip.MustParseAddr("10.0.0.1"), remotes) {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // keep within the socket's buffer
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
	var w struct {
		collectWindow
		Folded struct {
			Remotes    int `json:"remotes"`
			MaxRemotes int `json:"max_remotes"`
		} `json:"folded"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout.String())), &w); err != nil {
		t.Fatalf("%v:\n%s", err, clip(stdout.String()))
	}
	if w.Collector.Flows != 3000 || w.Remote.Bytes != want {
		t.Errorf("%d flows, %d bytes; want 3000 flows and %d bytes", w.Collector.Flows, w.Remote.Bytes, want)
	}
	if w.Folded.Remotes < 2800 || w.Folded.MaxRemotes != 200 {
		t.Errorf("folded %+v, want at least 2800 remotes past 200", w.Folded)
	}
	var sum uint64
	for _, g := range w.Groups {
		if g.By != "control" {
			continue
		}
		for _, r := range g.Rows { // a country may have a catalog row and a registry row
			sum += r.Bytes
		}
		if g.Other != nil {
			sum += g.Other.Bytes
		}
	}
	if sum != want {
		t.Errorf("the control rows hold %d bytes, want %d", sum, want)
	}
}

// TestCollectExporters sends the same packet to a collector that accepts
// only another network, and to one that accepts loopback: the first
// refuses it unread, the second decodes it.
func TestCollectExporters(t *testing.T) {
	t.Parallel()
	pkt := v5Packets(netip.MustParseAddr("10.0.0.1"), []netip.Addr{netip.MustParseAddr("47.88.1.1")})[0]
	for _, tt := range []struct {
		allow          string
		flows, refused uint64
	}{
		{"192.0.2.0/24,198.51.100.7", 0, 1},
		{"127.0.0.1", 1, 0},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		code := make(chan int, 1)
		args := []string{"collect", "--listen", "127.0.0.1:0", "--interval", "1h", "--json", "--exporters", tt.allow}
		go func() { code <- cli.Run(ctx, args, strings.NewReader(""), &stdout, &stderr) }()
		addr := waitListening(t, &stderr)
		conn, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(pkt); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		time.Sleep(200 * time.Millisecond)
		cancel()
		<-code
		var w struct {
			Collector struct {
				Flows   uint64 `json:"flows"`
				Refused uint64 `json:"refused"`
			} `json:"collector"`
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(stdout.String())), &w); err != nil {
			t.Fatalf("--exporters %s: %v:\n%s", tt.allow, err, clip(stdout.String()))
		}
		if w.Collector.Flows != tt.flows || w.Collector.Refused != tt.refused {
			t.Errorf("--exporters %s: %d flows, %d refused; want %d and %d", tt.allow, w.Collector.Flows, w.Collector.Refused, tt.flows, tt.refused)
		}
	}
	if res := run(t, "", "collect", "--exporters", "not-a-network"); res.code != 2 {
		t.Errorf("--exporters not-a-network: %s", res)
	}
}
