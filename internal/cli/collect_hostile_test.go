package cli_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hostilePackets are the packets of issue #10, as NetFlow v9 and as IPFIX:
// a template whose one field has length 0, then a data set for it. The
// decoder library looped on them without end, allocating about 250 MB/s,
// and "sovmap collect" no longer stopped on SIGTERM.
func hostilePackets(t *testing.T) [][]byte {
	t.Helper()
	v9 := "0009 0001 00000000 00000000 00000000 00000000" // version, count, uptime, time, sequence, source
	ipfix := "000a 0000 00000000 00000000 00000001"       // version, length, time, sequence, domain
	var pkts [][]byte
	for _, p := range []string{
		v9 + "0000 000c 0100 0001 0008 0000", // template set: template 256, one field (8) of length 0
		v9 + "0100 0008 01020304",            // data set of template 256
		ipfix + "0002 000c 0100 0001 0008 0000",
		ipfix + "0100 0008 01020304",
	} {
		b, err := hex.DecodeString(strings.ReplaceAll(p, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		if b[1] == 10 {
			b[2], b[3] = 0, byte(len(b))
		}
		pkts = append(pkts, b)
	}
	return pkts
}

// buildSovmap builds the sovmap command into a temporary directory.
func buildSovmap(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the sovmap command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	bin := filepath.Join(t.TempDir(), "sovmap")
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/sovmap/sovmap/cmd/sovmap").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// rss returns the resident memory of a process in bytes, or false where
// /proc does not tell.
func rss(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// TestCollectHostileProcess runs the sovmap command's collector, sends it
// hostilePackets, and checks that it counts them (each template a decode
// error, each data set a template miss) without its memory growing, and
// that it stops on SIGTERM: within 5s, writing its last window, with exit
// status 1 since packets failed to decode.
func TestCollectHostileProcess(t *testing.T) {
	t.Parallel()
	bin := buildSovmap(t)
	cmd := exec.Command(bin, "collect", "--listen", "127.0.0.1:0", "--interval", "100ms", "--json", "--workers", "1")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The decode errors and template misses of the windows so far.
	var counts atomic.Value
	exited := make(chan struct{})
	var waitErr error
	go func() {
		defer close(exited)
		var errs, misses uint64
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var w collectWindow
			if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
				t.Errorf("window %q: %v", sc.Text(), err)
				continue
			}
			errs += w.Collector.Errors
			misses += w.Collector.Misses
			counts.Store([2]uint64{errs, misses})
		}
		waitErr = cmd.Wait()
	}()
	// Whatever happens, the process must not outlive the test.
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := waitListening(t, &stderr)
	base, haveRSS := rss(cmd.Process.Pid)

	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range hostilePackets(t) {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	// The packets are counted, and the collector's memory stays near what
	// it was: the old one grew by 250 MB a second.
	const growth = 128 << 20
	grown := func() (uint64, bool) {
		m, ok := rss(cmd.Process.Pid)
		return m, ok && haveRSS && m > base+growth
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m, over := grown(); over {
			t.Errorf("resident memory grew from %d MiB to %d MiB", base>>20, m>>20)
			break
		}
		got, _ := counts.Load().([2]uint64)
		if got == [2]uint64{2, 2} {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after 10s, %d decode errors and %d template misses, want 2 and 2", got[0], got[1])
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// SIGTERM stops it within 5s. A collector that does not stop is
	// killed at once if its memory grows on (cleanup kills it otherwise).
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		select {
		case <-exited:
			var ee *exec.ExitError
			if !errors.As(waitErr, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1; stderr:\n%s", waitErr, stderr.String())
			}
			if s := stderr.String(); !strings.Contains(s, "2 failed to decode, 2 data sets missed their template") {
				t.Errorf("stderr:\n%s", s)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		if m, over := grown(); over && m > base+4*growth {
			t.Fatalf("collect did not stop on SIGTERM, and its resident memory grew to %d MiB", m>>20)
		}
		if time.Now().After(deadline) {
			t.Fatalf("collect did not stop within 5s of SIGTERM; stderr:\n%s", stderr.String())
		}
	}
}
