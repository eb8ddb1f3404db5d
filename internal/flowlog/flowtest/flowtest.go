// Package flowtest helps the flow-log tests: it writes packet captures of
// known traffic for real exporters (softflowd) to read, sums what a correct
// collector must report for them, and finds and runs the Debian tools the
// tests drive. It is imported by tests only.
package flowtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A Packet is one TCP or UDP packet of test traffic.
type Packet struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Proto    uint8 // 6 (TCP) or 17 (UDP)
	Payload  int   // bytes after the transport header
}

// IPLen returns the packet's length at the IP layer, as flow exporters
// count bytes.
func (p Packet) IPLen() int {
	l := 20 + p.transportLen() + p.Payload
	if p.Src.Addr().Is6() {
		l = 40 + p.transportLen() + p.Payload
	}
	return l
}

func (p Packet) transportLen() int {
	if p.Proto == 6 {
		return 20
	}
	return 8
}

// Traffic returns a few hundred packets, starting at start, between local
// (private, shared and unique-local) addresses and public ones: Alibaba
// Cloud (47.88.1.1), AWS CloudFront (13.32.0.1), Google (8.8.8.8,
// 2a00:1450:4001::1), Cloudflare (1.1.1.1), plus some internal traffic.
func Traffic(start time.Time) []Packet {
	ap := netip.MustParseAddrPort
	type conv struct {
		a, b     netip.AddrPort
		proto    uint8
		n        int // packets each way
		aPayload int // payload of a's packets (grows by one per packet)
		bPayload int
	}
	convs := []conv{
		{ap("10.0.0.5:40000"), ap("47.88.1.1:443"), 6, 60, 100, 1200},
		{ap("192.168.1.9:5353"), ap("13.32.0.1:53"), 17, 40, 50, 120},
		{ap("172.16.0.7:51000"), ap("8.8.8.8:53"), 17, 20, 40, 90},
		{ap("10.0.0.5:40001"), ap("10.0.0.6:22"), 6, 20, 60, 300},
		{ap("100.64.3.3:1234"), ap("1.1.1.1:443"), 6, 20, 200, 1000},
		{ap("[fd00::5]:40002"), ap("[2a00:1450:4001::1]:443"), 6, 30, 80, 900},
	}
	var pkts []Packet
	t := start
	for _, c := range convs {
		for i := range c.n {
			pkts = append(pkts,
				Packet{Time: t, Src: c.a, Dst: c.b, Proto: c.proto, Payload: c.aPayload + i},
				Packet{Time: t.Add(500 * time.Microsecond), Src: c.b, Dst: c.a, Proto: c.proto, Payload: c.bPayload + i})
			t = t.Add(time.Millisecond)
		}
	}
	return pkts
}

// Totals are the bytes (at the IP layer) and packets of some traffic.
type Totals struct {
	Bytes, Packets uint64
}

// Sum returns the totals of pkts, of IPv4 packets only unless v6 is set.
func Sum(pkts []Packet, v6 bool) Totals {
	var t Totals
	for _, p := range pkts {
		if p.Src.Addr().Is6() && !v6 {
			continue
		}
		t.Bytes += uint64(p.IPLen())
		t.Packets++
	}
	return t
}

// WritePcap writes pkts as a pcap file of Ethernet frames.
func WritePcap(w io.Writer, pkts []Packet) error {
	var gh [24]byte
	binary.LittleEndian.PutUint32(gh[0:], 0xa1b2c3d4) // microsecond pcap
	binary.LittleEndian.PutUint16(gh[4:], 2)
	binary.LittleEndian.PutUint16(gh[6:], 4)
	binary.LittleEndian.PutUint32(gh[16:], 65535) // snaplen
	binary.LittleEndian.PutUint32(gh[20:], 1)     // LINKTYPE_ETHERNET
	if _, err := w.Write(gh[:]); err != nil {
		return err
	}
	for _, p := range pkts {
		frame := p.frame()
		var ph [16]byte
		binary.LittleEndian.PutUint32(ph[0:], uint32(p.Time.Unix()))
		binary.LittleEndian.PutUint32(ph[4:], uint32(p.Time.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(ph[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(ph[12:], uint32(len(frame)))
		if _, err := w.Write(ph[:]); err != nil {
			return err
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
	}
	return nil
}

// frame returns the packet as an Ethernet frame.
func (p Packet) frame() []byte {
	b := make([]byte, 14+p.IPLen())
	copy(b[0:6], []byte{0x02, 0, 0, 0, 0, 2})  // destination MAC
	copy(b[6:12], []byte{0x02, 0, 0, 0, 0, 1}) // source MAC
	var l4 []byte
	if p.Src.Addr().Is4() {
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		ip := b[14:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(p.IPLen()))
		ip[8] = 64
		ip[9] = p.Proto
		s, d := p.Src.Addr().As4(), p.Dst.Addr().As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], checksum(ip[:20]))
		l4 = ip[20:]
	} else {
		binary.BigEndian.PutUint16(b[12:], 0x86dd)
		ip := b[14:]
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(p.IPLen()-40))
		ip[6] = p.Proto
		ip[7] = 64
		s, d := p.Src.Addr().As16(), p.Dst.Addr().As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		l4 = ip[40:]
	}
	binary.BigEndian.PutUint16(l4[0:], p.Src.Port())
	binary.BigEndian.PutUint16(l4[2:], p.Dst.Port())
	if p.Proto == 6 {
		binary.BigEndian.PutUint32(l4[4:], 1000) // sequence number
		l4[12] = 5 << 4                          // data offset
		l4[13] = 0x18                            // PSH, ACK
		binary.BigEndian.PutUint16(l4[14:], 65535)
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(8+p.Payload))
	}
	return b
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// LookPath returns the paths of the named programs, or skips the test
// saying which one is missing and which Debian package has it.
func LookPath(t testing.TB, names ...string) []string {
	t.Helper()
	pkg := map[string]string{"softflowd": "softflowd", "nfcapd": "nfdump", "nfdump": "nfdump", "nfreplay": "nfdump"}
	var paths []string
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			t.Skipf("%s not installed (apt-get install %s): %v", n, pkg[n], err)
		}
		paths = append(paths, p)
	}
	return paths
}

// FreeUDPPort returns a loopback UDP port that was free a moment ago, for
// a tool that must be told its port.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Run runs a program to its end, failing the test if it fails or takes
// longer than a minute, and returns its combined output.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// WritePcapFile writes pkts to a new capture file in a temporary directory
// of the test and returns its path.
func WritePcapFile(t testing.TB, pkts []Packet) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "traffic.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePcap(f, pkts); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Softflowd has softflowd read the capture at pcap and export its flows to
// addr (host:port) with the export version ("5", "9", "10"), and waits for
// it to finish. IPv6 flows are exported unless the version is 5.
func Softflowd(t testing.TB, pcap, addr, version string) {
	t.Helper()
	bin := LookPath(t, "softflowd")[0]
	// -c none: softflowd 1.1.0 reading a file otherwise waits on its
	// control socket and never ends.
	args := []string{"-d", "-r", pcap, "-n", addr, "-v", version, "-c", "none", "-p", filepath.Join(t.TempDir(), "softflowd.pid")}
	if version != "5" {
		args = append(args, "-6")
	}
	Run(t, bin, args...)
}

// NfcapdFile has softflowd export the capture at pcap (as NetFlow v9) to a
// real nfcapd on loopback, stops nfcapd, and returns the nfcapd file it
// wrote.
func NfcapdFile(t testing.TB, pcap string) string {
	t.Helper()
	bins := LookPath(t, "nfcapd", "softflowd")
	dir := t.TempDir()
	// The port can be taken between FreeUDPPort and nfcapd's bind (by a
	// parallel test, or by the probe below): start again on another port
	// when nfcapd exits early.
	var cmd *exec.Cmd
	var out bytes.Buffer
	var port int
	for attempt := 0; ; attempt++ {
		port = FreeUDPPort(t)
		out.Reset()
		cmd = exec.Command(bins[0], "-b", "127.0.0.1", "-p", strconv.Itoa(port), "-w", dir, "-t", "3600")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Process.Wait(); close(exited) }()
		bound := false
		for i := 0; i < 150 && !bound; i++ {
			select {
			case <-exited:
				i = 150
				continue
			case <-time.After(20 * time.Millisecond):
			}
			c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				bound = true // nfcapd holds the port
				break
			}
			c.Close()
		}
		if bound {
			break
		}
		cmd.Process.Kill()
		<-exited
		if attempt == 4 {
			t.Fatalf("nfcapd did not bind a port in 5 attempts:\n%s", out.String())
		}
	}
	Softflowd(t, pcap, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "9")
	time.Sleep(200 * time.Millisecond) // let nfcapd read the last datagrams
	cmd.Process.Signal(syscall.SIGTERM)
	// The process is reaped by the goroutine above; give it time to write.
	for i := 0; i < 250; i++ {
		if cmd.ProcessState != nil {
			break
		}
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "nfcapd.*"))
	var best string
	var size int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Size() > size {
			best, size = f, st.Size()
		}
	}
	if best == "" {
		t.Fatalf("nfcapd wrote no file:\n%s", out.String())
	}
	return best
}

// SampledBySoftflowd returns the packets softflowd's "-s n" keeps of pkts:
// it counts the packets it reads and takes those it reads when the count
// is a multiple of n; a packet it then ignores (IPv6 without -6) does not
// advance the count (softflowd 1.1.0, flow_cb).
func SampledBySoftflowd(pkts []Packet, n int, v6 bool) []Packet {
	var out []Packet
	count := 0
	for _, p := range pkts {
		if count%n != 0 {
			count++
			continue
		}
		if p.Src.Addr().Is6() && !v6 {
			continue
		}
		out = append(out, p)
		count++
	}
	return out
}
