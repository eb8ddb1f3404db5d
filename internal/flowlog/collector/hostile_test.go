package collector

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// repeat returns n copies of f.
func repeat(f field, n int) []field {
	return slices.Repeat([]field{f}, n)
}

// A hostileCase is packets from one exporter, and the decode errors and
// template misses they must count.
type hostileCase struct {
	name           string
	packets        [][]byte
	errors, misses uint64
}

// hostileCases are the packets of issue #10: templates whose fields take
// no bytes, then data for them, on which the decoder library looped
// without end, allocating about 250 MB/s, or multiplied each byte of data
// into thousands of values; and a template that counts more fields than
// it holds, for which it made room (786 KB) before reading them.
func hostileCases() []hostileCase {
	amplify := append([]field{{4, 1}}, repeat(field{8, 0}, 4000)...)
	data := make([]byte, 1400)
	return []hostileCase{{
		name: "v9 template of a 0-length field",
		packets: [][]byte{
			v9Packet(0, flowSet(0, tmplRecord(256, []uint16{1}, field{8, 0}))),
			v9Packet(0, flowSet(256, []byte{1, 2, 3, 4})),
		},
		errors: 1, misses: 1,
	}, {
		name: "IPFIX template of a 0-length field",
		packets: [][]byte{
			ipfixMessage(1, flowSet(2, tmplRecord(256, []uint16{1}, field{8, 0}))),
			ipfixMessage(1, flowSet(256, []byte{1, 2, 3, 4})),
		},
		errors: 1, misses: 1,
	}, {
		name: "v9 template and data in one packet",
		packets: [][]byte{v9Packet(0,
			flowSet(0, tmplRecord(300, []uint16{2}, field{8, 0}, field{12, 0})),
			flowSet(300, []byte{1, 2, 3, 4}))},
		errors: 1,
	}, {
		name: "v9 template of a 1-byte and 4000 0-length fields",
		packets: [][]byte{
			v9Packet(0, flowSet(0, tmplRecord(256, []uint16{uint16(len(amplify))}, amplify...))),
			v9Packet(0, flowSet(256, data)),
		},
		errors: 1, misses: 1,
	}, {
		name: "IPFIX template of a 1-byte and 4000 0-length fields",
		packets: [][]byte{
			ipfixMessage(1, flowSet(2, tmplRecord(256, []uint16{uint16(len(amplify))}, amplify...))),
			ipfixMessage(1, flowSet(256, data)),
		},
		errors: 1, misses: 1,
	}, {
		name: "v9 options template of 0-length fields",
		packets: [][]byte{
			v9Packet(0, flowSet(1, tmplRecord(257, []uint16{4, 4}, field{1, 0}, field{34, 0}))),
			v9Packet(0, flowSet(257, []byte{1, 2, 3, 4})),
		},
		errors: 1, misses: 1,
	}, {
		name: "IPFIX options template of 0-length fields",
		packets: [][]byte{
			ipfixMessage(1, flowSet(3, tmplRecord(257, []uint16{2, 1}, field{149, 0}, field{34, 0}))),
			ipfixMessage(1, flowSet(257, []byte{1, 2, 3, 4})),
		},
		errors: 1, misses: 1,
	}, {
		name: "IPFIX options template with 0-length options",
		packets: [][]byte{ipfixMessage(1,
			flowSet(3, tmplRecord(258, []uint16{3, 1}, field{149, 4}, field{34, 0}, field{36, 0})),
			flowSet(258, data))},
		errors: 1,
	}, {
		name:    "v9 template that counts 65535 fields and holds one",
		packets: [][]byte{v9Packet(0, flowSet(0, tmplRecord(256, []uint16{65535}, field{8, 4})))},
		errors:  1,
	}}
}

// heapAllocated returns the bytes allocated so far on the heap, by all
// goroutines. It does not stop the world.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// runaway ends the test binary: a decoder that loops cannot be stopped,
// and would go on taking the machine's memory through the tests that
// follow.
func runaway(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Errorf(format, args...)
	panic(fmt.Sprintf("runaway decoder: "+format, args...))
}

// TestHostileTemplates sends the packets of hostileCases to a collector
// over loopback, one exporter each. Each must be counted, as a decode
// error or a template miss; the collector's allocations and goroutines
// must stay bounded, and it must stop when its context ends. It is not
// parallel: it measures the whole process's allocations.
func TestHostileTemplates(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var r received
	c := &Collector{Conn: conn, Sink: r.sink, Workers: 2}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	before := heapAllocated()
	var packets, errs, misses uint64
	for _, tc := range hostileCases() {
		send(t, exporterConn(t, conn.LocalAddr().String()), tc.packets...)
		packets += uint64(len(tc.packets))
		errs += tc.errors
		misses += tc.misses
	}
	// The packets are a few tens of kilobytes; decoding them allocates
	// less than a megabyte. The old decoder took that in milliseconds.
	const bound = 64 << 20
	deadline := time.Now().Add(10 * time.Second)
	var st Stats
	for {
		if a := heapAllocated() - before; a > bound {
			runaway(t, "decoding %d packets allocated %d MiB, more than %d MiB", packets, a>>20, bound>>20)
		}
		st = c.Stats()
		if st.Packets == packets && st.Errors+st.Misses == errs+misses {
			break
		}
		if time.Now().After(deadline) {
			runaway(t, "after 10s the collector counted %d packets, %d decode errors and %d misses; want %d, %d and %d", st.Packets, st.Errors, st.Misses, packets, errs, misses)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Errors != errs || st.Misses != misses || st.Flows != 0 {
		t.Errorf("%d decode errors, %d misses, %d flows; want %d, %d, 0", st.Errors, st.Misses, st.Flows, errs, misses)
	}
	for i, tc := range hostileCases() {
		e := st.Exporters[i]
		if e.DecodeErrors != tc.errors || e.TemplateMisses != tc.misses {
			t.Errorf("%s: %d decode errors, %d misses; want %d, %d", tc.name, e.DecodeErrors, e.TemplateMisses, tc.errors, tc.misses)
		}
		if !strings.Contains(e.LastError, "has length 0") && !strings.Contains(e.LastError, "fields, the set holds") {
			t.Errorf("%s: last error %q", tc.name, e.LastError)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		runaway(t, "the collector did not stop within 5s of its context's end")
	}
	// The decoder goroutines are gone.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the collector stopped, %d before it started", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allocBound is what decoding one packet of n bytes may allocate. Each
// field of a data record takes at least one byte of the packet, and costs
// the decoder library about 50 bytes (a value and its boxed slice), its
// record about 100 more (its list of values, its place in the growing list
// of records). The costliest packets (TestDecodeMemory), options records
// of two 1-byte fields, take about 180 bytes a byte; typical ones 25.
func allocBound(n int) uint64 {
	return 1<<20 + 512*uint64(n)
}

// TestDecodeMemory decodes the packets that cost the decoder the most
// allocation for their size, within the rules on templates: records of
// one 1-byte field or one variable-length field, records of 16,000 1-byte
// fields, options records of a 1-byte scope and option; and a typical
// packet. Each must allocate less than allocBound.
func TestDecodeMemory(t *testing.T) {
	const n = 64000 // bytes of data records
	fill := func(b byte) []byte { return slices.Repeat([]byte{b}, n) }
	many := repeat(field{8, 1}, 16000)
	typical := ipfixPacket(1, 256, true, testFlows(30))
	for _, tt := range []struct {
		name     string
		template []byte // set
		data     []byte // set
	}{
		{"typical", typical[16 : 16+4+4+4*len(ipfixTemplate)], typical[16+4+4+4*len(ipfixTemplate):]},
		{"1-byte field", flowSet(2, tmplRecord(256, []uint16{1}, field{8, 1})), flowSet(256, fill(1))},
		{"variable field", flowSet(2, tmplRecord(256, []uint16{1}, field{8, 0xffff})), flowSet(256, fill(0))},
		{"16,000 fields", flowSet(2, tmplRecord(256, []uint16{16000}, many...)), flowSet(256, fill(1))},
		{"options", flowSet(3, tmplRecord(256, []uint16{2, 1}, field{149, 1}, field{34, 1})), flowSet(256, fill(1))},
		{"variable options", flowSet(3, tmplRecord(256, []uint16{2, 1}, field{149, 0xffff}, field{34, 0xffff})), flowSet(256, fill(0))},
	} {
		e := newExporter(netipMustAddrPort("127.0.0.1:9"), 0)
		d := decoder{sink: func(int, netipAddrPort, []flowlog.Record) {}}
		d.decode(e, ipfixMessage(1, tt.template))
		if p := e.lastErr.Load(); p != nil {
			t.Fatalf("%s: template: %s", tt.name, *p)
		}
		pkt := ipfixMessage(1, tt.data)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		d.decode(e, pkt)
		runtime.ReadMemStats(&ms)
		a := ms.TotalAlloc - before
		t.Logf("%s: %d bytes allocated for a packet of %d, %.0f a byte", tt.name, a, len(pkt), float64(a)/float64(len(pkt)))
		if a > allocBound(len(pkt)) {
			t.Errorf("%s: %d bytes allocated for a packet of %d, more than %d", tt.name, a, len(pkt), allocBound(len(pkt)))
		}
	}
}

// TestTemplateLimits fills an exporter's templates: past maxTemplates
// (over all its observation domains) or maxTemplateFields a new template
// is refused, as a decode error; one that replaces a template it holds is
// taken.
func TestTemplateLimits(t *testing.T) {
	t.Parallel()
	e := newExporter(netipMustAddrPort("127.0.0.1:9"), 0)
	d := decoder{sink: func(int, netipAddrPort, []flowlog.Record) {}}
	decode := func(pkt []byte) string {
		t.Helper()
		before := e.errors.Load()
		d.decode(e, pkt)
		if e.errors.Load() == before {
			return ""
		}
		return *e.lastErr.Load()
	}
	templates := func(first, n int, fields ...field) []byte {
		var recs [][]byte
		for id := range n {
			recs = append(recs, tmplRecord(uint16(first+id), []uint16{uint16(len(fields))}, fields...))
		}
		return flowSet(2, recs...)
	}

	// 4,095 templates in domain 1, one in domain 2.
	if err := decode(ipfixMessage(1, templates(256, maxTemplates-1, field{8, 4}))); err != "" {
		t.Fatalf("%d templates: %s", maxTemplates-1, err)
	}
	if err := decode(ipfixMessage(2, templates(256, 1, field{8, 4}))); err != "" {
		t.Fatalf("the last template: %s", err)
	}
	if err := decode(ipfixMessage(1, templates(256+maxTemplates, 1, field{8, 4}))); !strings.Contains(err, "holds 4096 templates") {
		t.Errorf("a template past the limit: error %q", err)
	}
	if err := decode(ipfixMessage(1, templates(300, 1, field{8, 4}, field{12, 4}))); err != "" {
		t.Errorf("a template replaced: %s", err)
	}
	if ts := e.templates.(*templateSystem); len(ts.m) != maxTemplates || ts.fields != maxTemplates+1 {
		t.Errorf("%d templates of %d fields, want %d of %d", len(ts.m), ts.fields, maxTemplates, maxTemplates+1)
	}

	// Templates of 16,000 fields: the fifth would take the exporter past
	// 65,536 fields; a smaller one replacing the fourth still fits.
	e = newExporter(netipMustAddrPort("127.0.0.1:9"), 0)
	for id := range 4 {
		if err := decode(ipfixMessage(1, templates(256+id, 1, repeat(field{8, 4}, 16000)...))); err != "" {
			t.Fatalf("template %d: %s", id, err)
		}
	}
	if err := decode(ipfixMessage(1, templates(260, 1, repeat(field{8, 4}, 16000)...))); !strings.Contains(err, "past the 65536 kept") {
		t.Errorf("a template past the field limit: error %q", err)
	}
	if err := decode(ipfixMessage(1, templates(259, 1, repeat(field{8, 4}, 1536)...))); err != "" {
		t.Errorf("a smaller template replacing one: %s", err)
	}
	ts := e.templates.(*templateSystem)
	if _, err := ts.RemoveTemplate(10, 1, 259); err != nil || ts.fields != 48000 {
		t.Errorf("after removing a template: %d fields (error %v), want 48000", ts.fields, err)
	}
}

// TestTemplateSetCheck checks the template records of template sets
// against the fields they count, before the decoder library makes room
// for them.
func TestTemplateSetCheck(t *testing.T) {
	t.Parallel()
	pen := []byte{0x80, 1, 0, 4, 0, 0, 0x72, 0x59} // type 1 of enterprise 29305, 4 bytes
	for _, tt := range []struct {
		name    string
		body    []byte
		id, ver uint16
		ok      bool
	}{
		{"v9 template", tmplRecord(256, []uint16{2}, field{8, 4}, field{12, 4}), 0, 9, true},
		{"v9 template short", tmplRecord(256, []uint16{3}, field{8, 4}, field{12, 4}), 0, 9, false},
		{"v9 options", tmplRecord(256, []uint16{4, 8}, field{1, 4}, field{34, 4}, field{35, 1}), 1, 9, true},
		{"v9 options short", tmplRecord(256, []uint16{4, 12}, field{1, 4}, field{34, 4}, field{35, 1}), 1, 9, false},
		{"IPFIX enterprise field", append(tmplRecord(256, []uint16{2}, field{8, 4}), pen...), 2, 10, true},
		{"IPFIX enterprise field cut", append(tmplRecord(256, []uint16{2}, field{8, 4}), pen[:6]...), 2, 10, false},
		{"IPFIX options", tmplRecord(256, []uint16{2, 1}, field{149, 4}, field{34, 4}), 3, 10, true},
		{"IPFIX options, more scopes than fields", tmplRecord(256, []uint16{1, 2}, field{149, 4}, field{34, 4}), 3, 10, false},
		{"data set", []byte{1, 2, 3}, 256, 10, true},
		{"padding", append(tmplRecord(256, []uint16{1}, field{8, 4}), 0, 0), 0, 9, true},
	} {
		err := checkTemplateSet(tt.body, tt.id, tt.ver)
		if (err == nil) != tt.ok {
			t.Errorf("%s: error %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestRunLimits checks that Run refuses more workers or longer queues than
// it allows.
func TestRunLimits(t *testing.T) {
	t.Parallel()
	for _, c := range []*Collector{{Workers: MaxWorkers + 1}, {QueueLen: MaxQueueLen + 1}} {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		c.Conn = conn
		c.Sink = func(int, netipAddrPort, []flowlog.Record) {}
		if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("Run with %d workers, queues of %d: error %v", c.Workers, c.QueueLen, err)
		}
		conn.Close()
	}
}

// TestQueueBytes has a sink that blocks and sends datagrams of 60,000
// bytes: the queue takes what its share of QueueBytes holds and drops the
// rest, long before QueueLen.
func TestQueueBytes(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	c := &Collector{Conn: conn, Workers: 1, QueueLen: 1000, QueueBytes: 4 * 60000, Sink: func(int, netipAddrPort, []flowlog.Record) {
		<-release
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	// One v5 packet with a flow, padded: the decoder hands it to the sink.
	pkt := make([]byte, 60000)
	copy(pkt, v5Packet(0, 1))
	binary.BigEndian.PutUint16(pkt[2:], 1)
	const n = 20
	exp := exporterConn(t, conn.LocalAddr().String())
	var st Stats
	for i := range n {
		// One at a time: the socket's buffer may hold only a few.
		send(t, exp, pkt)
		st = waitStats(t, c, func(s Stats) bool { return s.Packets == uint64(i+1) })
	}
	// At most one packet in the sink and four in the queue.
	if st.Dropped < n-5 {
		t.Errorf("dropped %d of %d packets, want at least %d", st.Dropped, n, n-5)
	}
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
