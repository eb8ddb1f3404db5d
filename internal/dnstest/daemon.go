package dnstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// LookPath finds a program in PATH or in the sbin directories where Debian
// installs daemons (which a non-root PATH often lacks).
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("dnstest: %s not found in PATH or /usr/sbin", name)
}

// A Process is a DNS daemon started for a test, listening on a loopback
// port over UDP and TCP.
type Process struct {
	Name string // "nsd" or "unbound"
	Addr string // "127.0.0.1:port"
	Dir  string // where its configuration, zones and state are

	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error // from Wait, once done is closed
}

// Stop stops the daemon (SIGTERM, then SIGKILL after five seconds) and
// waits for it.
func (p *Process) Stop() error {
	if !p.Exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	// Whatever the daemon forked and left behind.
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	return nil
}

// Exited reports whether the daemon has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output returns what the daemon wrote to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// CPUTime returns the user and system CPU time the daemon has used, from
// /proc (0 where /proc is missing).
func (p *Process) CPUTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name in parentheses: state is field 3;
	// utime and stime are fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck
}

// A lockedBuffer collects a daemon's output from its pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write keeps the first MiB of a daemon's output.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

// String returns the output kept.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a loopback port free for both UDP and TCP.
func freePort() (int, error) {
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		pc.Close()
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("dnstest: no free loopback port")
}

// start runs a daemon and waits until it answers the probe query.
func start(name, dir, addr string, args []string, probe string) (*Process, error) {
	bin, err := LookPath(name)
	if err != nil {
		return nil, err
	}
	p := &Process{Name: name, Addr: addr, Dir: dir, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own process group, so that Stop can end the daemon's children
	// too; killed with the test process if that dies first.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("dnstest: start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(probe, dns.TypeSOA)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return nil, fmt.Errorf("dnstest: %s exited (%v):\n%s%s", name, p.err, p.Output(), logTail(dir, name))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		r, _, err := c.ExchangeContext(ctx, m, addr)
		cancel()
		if err == nil && r.Rcode == dns.RcodeSuccess {
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Stop()
	return nil, fmt.Errorf("dnstest: %s did not answer on %s within 15s:\n%s%s", name, addr, p.Output(), logTail(dir, name))
}

func logTail(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name+".log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return "\n" + name + ".log:\n" + string(b)
}

// zoneFile names the file of a zone.
func zoneFile(origin string) string {
	if origin == "." {
		return "root.zone"
	}
	return strings.TrimSuffix(origin, ".") + ".zone"
}

// StartNSD starts NSD in dir (which must exist and be writable), serving
// zones (origin → zone text in master format) on a free loopback port, in
// the foreground, without privileges, chroot or control socket.
func StartNSD(dir string, zones map[string]string) (*Process, error) {
	origins := make([]string, 0, len(zones))
	for o := range zones {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for _, o := range origins {
		if err := os.WriteFile(filepath.Join(dir, zoneFile(o)), []byte(zones[o]), 0o644); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		var conf strings.Builder
		fmt.Fprintf(&conf, `server:
	ip-address: 127.0.0.1@%d
	port: %d
	do-ip4: yes
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: %q
	database: ""
	zonelistfile: %q
	xfrdfile: %q
	xfrdir: %q
	pidfile: %q
	logfile: %q
	cookie-secret-file: %q
	verbosity: 1
	server-count: 1
	hide-version: yes
	refuse-any: no
	round-robin: no
	tcp-count: 256
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
`, port, port, dir, filepath.Join(dir, "zone.list"), filepath.Join(dir, "xfrd.state"), dir,
			filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "nsd.log"), filepath.Join(dir, "cookiesecrets.txt"))
		for _, o := range origins {
			fmt.Fprintf(&conf, "zone:\n\tname: %q\n\tzonefile: %q\n", o, zoneFile(o))
		}
		cf := filepath.Join(dir, "nsd.conf")
		if err := os.WriteFile(cf, []byte(conf.String()), 0o644); err != nil {
			return nil, err
		}
		probe := origins[0]
		p, err := start("nsd", dir, fmt.Sprintf("127.0.0.1:%d", port), []string{"-d", "-c", cf}, probe)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// notLoopback are the IPv4 blocks outside 127.0.0.0/8: Unbound is told
// never to query them.
var notLoopback = []string{
	"0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/4", "112.0.0.0/5", "120.0.0.0/6",
	"124.0.0.0/7", "126.0.0.0/8", "128.0.0.0/1", "::/0",
}

// A Stub is a zone Unbound reaches at a given server.
type Stub struct {
	Zone string // e.g. "example.com."
	Addr string // "127.0.0.1:port"
}

// StartUnbound starts Unbound in dir as a recursive resolver on a free
// loopback port. It reaches each of zones through a stub zone at authority
// ("127.0.0.1:port", usually NSD), and each of the extra stubs at its own
// server, with DNSSEC validation off, and may send queries nowhere but
// 127.0.0.0/8.
func StartUnbound(dir, authority string, zones []string, extra ...Stub) (*Process, error) {
	stubs := make([]Stub, 0, len(zones)+len(extra))
	for _, z := range zones {
		stubs = append(stubs, Stub{z, authority})
	}
	stubs = append(stubs, extra...)
	for _, s := range stubs {
		if _, _, err := net.SplitHostPort(s.Addr); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		var conf strings.Builder
		fmt.Fprintf(&conf, `server:
	interface: 127.0.0.1@%d
	port: %d
	do-daemonize: no
	chroot: ""
	username: ""
	directory: %q
	pidfile: %q
	logfile: ""
	use-syslog: no
	verbosity: 0
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	outgoing-interface: 127.0.0.1
	module-config: "iterator"
	qname-minimisation: no
	harden-referral-path: no
	prefetch: no
	target-fetch-policy: "0 0 0 0 0"
	num-threads: 1
	num-queries-per-thread: 4096
	outgoing-range: 8192
	so-rcvbuf: 4m
	so-sndbuf: 4m
	ratelimit: 0
	ip-ratelimit: 0
	unwanted-reply-threshold: 0
	minimal-responses: yes
	msg-cache-size: 64m
	rrset-cache-size: 128m
	infra-keep-probing: yes
	edns-buffer-size: 1232
	hide-identity: yes
	hide-version: yes
`, port, port, dir, filepath.Join(dir, "unbound.pid"))
		for _, nb := range notLoopback {
			fmt.Fprintf(&conf, "\tdo-not-query-address: %s\n", nb)
		}
		conf.WriteString("remote-control:\n\tcontrol-enable: no\n")
		for _, s := range stubs {
			host, port, _ := net.SplitHostPort(s.Addr)
			fmt.Fprintf(&conf, "stub-zone:\n\tname: %q\n\tstub-addr: %s@%s\n", s.Zone, host, port)
		}
		cf := filepath.Join(dir, "unbound.conf")
		if err := os.WriteFile(cf, []byte(conf.String()), 0o644); err != nil {
			return nil, err
		}
		probe := "."
		if len(stubs) > 0 {
			probe = stubs[0].Zone
		}
		p, err := start("unbound", dir, fmt.Sprintf("127.0.0.1:%d", port), []string{"-d", "-p", "-c", cf}, probe)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}
