package collector

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// exporterConn returns a socket to addr: one exporter, as the collector
// tells exporters by source address and port.
func exporterConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, packets ...[]byte) {
	t.Helper()
	for _, p := range packets {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
}

// waitStats polls the collector's stats until ok says so, or fails.
func waitStats(t *testing.T, c *Collector, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := c.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never became right: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTemplates sends data before its template (a miss), then the
// template and data, from two exporters whose template IDs collide.
func TestTemplates(t *testing.T) {
	var r received
	c, addr := startCollector(t, &r)
	flows := testFlows(3)
	one, two := exporterConn(t, addr), exporterConn(t, addr)
	send(t, one, ipfixPacket(1, 300, false, flows))
	waitStats(t, c, func(s Stats) bool { return s.Misses == 1 })
	send(t, one, ipfixPacket(1, 300, true, flows), ipfixPacket(1, 300, false, flows[:1]))
	// A second exporter with the same domain and template ID but no
	// template of its own: its data must not decode with the first one's.
	send(t, two, ipfixPacket(1, 300, false, flows))
	st := waitStats(t, c, func(s Stats) bool { return s.Flows == 4 && s.Misses == 2 })
	if len(st.Exporters) != 2 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	var want flowtest.Totals
	for _, f := range append(flows, flows[0]) {
		want.Bytes += f.SrcBytes
		want.Packets += f.SrcPackets
	}
	if got, _ := r.get(); got != want {
		t.Errorf("totals %+v, want %+v", got, want)
	}
	for _, rec := range r.recs {
		if !rec.Start.Equal(flows[0].Start) || !rec.End.Equal(flows[0].End) {
			t.Errorf("times %v to %v, want %v to %v", rec.Start, rec.End, flows[0].Start, flows[0].End)
		}
	}
}

// TestBadPackets sends garbage: truncated, unknown versions, a v5 header
// that claims more records than it holds, a template without fields (on
// which the decoder library would loop). Each is a decode error, and the
// collector goes on.
func TestBadPackets(t *testing.T) {
	var r received
	c, addr := startCollector(t, &r)
	good := ipfixPacket(7, 256, true, testFlows(2))
	v5 := make([]byte, 24+48)
	binary.BigEndian.PutUint16(v5, 5)
	binary.BigEndian.PutUint16(v5[2:], 30)
	empty := make([]byte, 16)
	binary.BigEndian.PutUint16(empty, 10)
	empty = append(empty, 0, 2, 0, 8, 1, 0, 0, 0) // template 256 with no fields
	empty = append(empty, 1, 0, 0, 8, 1, 2, 3, 4) // data for it
	binary.BigEndian.PutUint16(empty[2:], uint16(len(empty)))
	bad := [][]byte{
		{0, 10},
		{0, 7, 0, 0, 0, 0},
		good[:20],
		v5,
		empty,
		{0, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
	}
	conn := exporterConn(t, addr)
	send(t, conn, bad...)
	send(t, conn, good)
	st := waitStats(t, c, func(s Stats) bool { return s.Packets == uint64(len(bad)+1) && s.Flows == 2 })
	if st.Errors < 6 {
		t.Errorf("decode errors %d, want at least 6: %+v", st.Errors, st)
	}
	if e := st.Exporters[0]; e.LastError == "" {
		t.Errorf("no last error: %+v", e)
	}
}

// TestDrops has a sink that blocks: the reader must keep reading the
// socket and drop what the full queue cannot take, counting it.
func TestDrops(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var decoded atomic.Int64
	c := &Collector{Conn: conn, Workers: 1, QueueLen: 2, Sink: func(int, netipAddrPort, []flowlog.Record) {
		<-release
		decoded.Add(1)
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	pkt := ipfixPacket(1, 256, true, testFlows(1))
	const n = 50
	exp := exporterConn(t, conn.LocalAddr().String())
	for range n {
		send(t, exp, pkt)
	}
	st := waitStats(t, c, func(s Stats) bool { return s.Packets == n })
	// At most one packet in the sink and two in the queue; the rest are
	// dropped.
	if st.Dropped < n-3 || st.Exporters[0].Dropped != st.Dropped {
		t.Errorf("dropped %d (exporter %d), want at least %d", st.Dropped, st.Exporters[0].Dropped, n-3)
	}
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := decoded.Load(); got != int64(n-st.Dropped) {
		t.Errorf("decoded %d packets, want the %d not dropped", got, n-st.Dropped)
	}
}

// TestStatsSub checks window counts.
func TestStatsSub(t *testing.T) {
	var r received
	c, addr := startCollector(t, &r)
	exp := exporterConn(t, addr)
	send(t, exp, ipfixPacket(1, 256, true, testFlows(2)))
	first := waitStats(t, c, func(s Stats) bool { return s.Flows == 2 })
	send(t, exp, ipfixPacket(1, 256, false, testFlows(3)))
	second := waitStats(t, c, func(s Stats) bool { return s.Flows == 5 })
	d := second.Sub(first)
	if d.Packets != 1 || d.Flows != 3 || len(d.Exporters) != 1 || d.Exporters[0].Flows != 3 {
		t.Errorf("window stats %+v", d)
	}
	if e := second.Sub(second); len(e.Exporters) != 0 || e.Packets != 0 {
		t.Errorf("empty window stats %+v", e)
	}
}

// FuzzDecode decodes arbitrary packets, with and without a template known
// first: the decoder must neither panic (a panic would be caught and
// reported as a decode error, which this fuzz target treats as a bug) nor
// hang (2s a packet), nor allocate more than allocBound. The seeds are
// NetFlow v5, and NetFlow v9 and IPFIX templates, options templates and
// data, among them the hostile ones of hostileCases in one packet each.
func FuzzDecode(f *testing.F) {
	f.Add(ipfixPacket(1, 256, true, testFlows(2)))
	f.Add(ipfixPacket(1, 256, false, testFlows(1)))
	v9 := []byte{0, 9, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 12, 1, 0, 0, 1, 0, 8, 0, 4, 1, 0, 0, 8, 1, 2, 3, 4}
	f.Add(v9)
	f.Add(append([]byte{0, 5, 0, 1}, make([]byte, 20+48)...))
	f.Add(v5Packet(4, 10, 20))
	flows := values(flowFields, src4, dst4, 1000, 10)
	f.Add(v9Packet(1,
		flowSet(0, tmplRecord(256, []uint16{4}, flowFields...)),
		flowSet(1, tmplRecord(257, []uint16{4, 4}, field{1, 4}, field{34, 4})),
		flowSet(257, values([]field{{1, 4}, {34, 4}}, 1, 100)),
		flowSet(256, flows, flows)))
	f.Add(ipfixMessage(1,
		flowSet(2, tmplRecord(258, []uint16{uint16(len(flowFieldsIDfix))}, flowFieldsIDfix...)),
		flowSet(3, tmplRecord(259, []uint16{2, 1}, field{302, 4}, field{34, 4})),
		flowSet(259, values([]field{{302, 4}, {34, 4}}, 7, 100)),
		flowSet(258, values(flowFieldsIDfix, src4, dst4, 1000, 10, 7))))
	// Variable-length fields: a one-byte length, and 0xff then two bytes.
	f.Add(ipfixMessage(1,
		flowSet(2, tmplRecord(260, []uint16{3}, field{8, 4}, field{82, 0xffff}, field{83, 0xffff})),
		flowSet(260, []byte{10, 0, 0, 1, 3, 'e', 't', 'h', 0xff, 0, 2, 'x', 'y'})))
	for _, tc := range hostileCases() {
		f.Add(slices.Concat(tc.packets...)) // as one packet, in the fuzzer's corpus
		if len(tc.packets) == 2 {
			// Template and data sets in one packet of the version.
			hlen := 20
			if tc.packets[0][1] == 10 {
				hlen = 16
			}
			pkt := slices.Concat(tc.packets[0], tc.packets[1][hlen:])
			if hlen == 16 {
				binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
			} else {
				binary.BigEndian.PutUint16(pkt[2:], 2)
			}
			f.Add(pkt)
		}
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		e := newExporter(netipMustAddrPort("127.0.0.1:9"), 0)
		var n int
		d := decoder{sink: func(_ int, _ netipAddrPort, flows []flowlog.Record) { n += len(flows) }}
		d.decode(e, ipfixPacket(1, 256, true, nil))
		done := make(chan uint64, 1)
		go func() {
			before := heapAllocated()
			d.decode(e, pkt)
			done <- heapAllocated() - before
		}()
		timer := time.NewTimer(2 * time.Second)
		defer timer.Stop()
		select {
		case a := <-done:
			if a > allocBound(len(pkt)) {
				t.Fatalf("decoding a packet of %d bytes allocated %d bytes, more than %d", len(pkt), a, allocBound(len(pkt)))
			}
		case <-timer.C:
			t.Fatalf("decoding a packet of %d bytes took more than 2s", len(pkt))
		}
		if p := e.lastErr.Load(); p != nil && strings.Contains(*p, "panic") {
			t.Fatalf("decoder panicked: %s", *p)
		}
		if uint64(n) != e.flows.Load() {
			t.Fatalf("%d flows given to the sink, %d counted", n, e.flows.Load())
		}
	})
}

// TestRandomPackets throws random bytes with valid version numbers at the
// decoder.
func TestRandomPackets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := newExporter(netipMustAddrPort("127.0.0.1:9"), 0)
	d := decoder{sink: func(int, netipAddrPort, []flowlog.Record) {}}
	for i := range 20000 {
		pkt := make([]byte, rng.IntN(300))
		for k := range pkt {
			pkt[k] = byte(rng.Uint32())
		}
		if len(pkt) >= 2 {
			pkt[0], pkt[1] = 0, []byte{5, 9, 10}[i%3]
		}
		if i%3 == 2 && len(pkt) >= 4 {
			binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		}
		d.decode(e, pkt)
	}
	if p := e.lastErr.Load(); p != nil && strings.Contains(*p, "panic") {
		t.Errorf("decoder panicked: %s", *p)
	}
}

// TestV9Count decodes a NetFlow v9 packet whose header counts its data
// records only (as softflowd does), fewer than its sets: the data set
// after the templates must not be dropped.
func TestV9Count(t *testing.T) {
	t.Parallel()
	pkt := v9Packet(1,
		flowSet(0, tmplRecord(256, []uint16{4}, flowFields...)),
		flowSet(1, tmplRecord(257, []uint16{4, 4}, field{2, 4}, field{34, 4})),
		flowSet(257, values([]field{{2, 4}, {34, 4}}, 1, 1)),
		flowSet(256, values(flowFields, src4, dst4, 10, 1)))
	binary.BigEndian.PutUint16(pkt[2:], 1) // one data record
	e := newExporter(netipMustAddrPort("127.0.0.1:9"), 0)
	var n int
	d := decoder{sink: func(_ int, _ netipAddrPort, flows []flowlog.Record) { n += len(flows) }}
	d.decode(e, pkt)
	if p := e.lastErr.Load(); p != nil || n != 1 {
		t.Errorf("decoded %d flows (error %v), want 1", n, p)
	}
}
