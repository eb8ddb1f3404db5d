package collector

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// v5Packet encodes a NetFlow v5 packet with the given sampling_interval
// header field and one record per element of pkts (bytes are ten times
// the packets).
func v5Packet(samplingInterval uint16, pkts ...uint32) []byte {
	b := make([]byte, 24, 24+48*len(pkts))
	binary.BigEndian.PutUint16(b, 5)
	binary.BigEndian.PutUint16(b[2:], uint16(len(pkts)))
	binary.BigEndian.PutUint32(b[4:], 60000) // uptime
	binary.BigEndian.PutUint32(b[8:], uint32(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).Unix()))
	binary.BigEndian.PutUint16(b[22:], samplingInterval)
	for i, n := range pkts {
		r := make([]byte, 48)
		copy(r[0:], []byte{10, 0, 0, byte(i + 1)})
		copy(r[4:], []byte{47, 88, 1, 1})
		binary.BigEndian.PutUint32(r[16:], n)
		binary.BigEndian.PutUint32(r[20:], 10*n)
		binary.BigEndian.PutUint32(r[24:], 50000)
		binary.BigEndian.PutUint32(r[28:], 59000)
		binary.BigEndian.PutUint16(r[32:], uint16(40000+i))
		binary.BigEndian.PutUint16(r[34:], 443)
		r[38] = 6
		b = append(b, r...)
	}
	return b
}

// A field is an information element number and length.
type field struct{ typ, len uint16 }

// flowSet encodes a set (flow set) of the given ID: a header and body,
// padded to four bytes.
func flowSet(id uint16, body ...[]byte) []byte {
	b := []byte{byte(id >> 8), byte(id), 0, 0}
	for _, p := range body {
		b = append(b, p...)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// tmplRecord encodes a template record: its ID, its field count, for
// options templates its scope count (IPFIX) or scope and option lengths
// in bytes (NetFlow v9), then the fields.
func tmplRecord(id uint16, head []uint16, fields ...field) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	for _, h := range head {
		b = binary.BigEndian.AppendUint16(b, h)
	}
	for _, f := range fields {
		b = binary.BigEndian.AppendUint16(b, f.typ)
		b = binary.BigEndian.AppendUint16(b, f.len)
	}
	return b
}

// values encodes a data record of the given fields with the given values.
func values(fields []field, vals ...uint64) []byte {
	var b []byte
	for i, f := range fields {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], vals[i])
		b = append(b, v[8-f.len:]...)
	}
	return b
}

// ipfixMessage encodes an IPFIX message of one observation domain.
func ipfixMessage(domain uint32, sets ...[]byte) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b, 10)
	binary.BigEndian.PutUint32(b[4:], uint32(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).Unix()))
	binary.BigEndian.PutUint32(b[12:], domain)
	for _, s := range sets {
		b = append(b, s...)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// v9Packet encodes a NetFlow v9 packet of one source ID.
func v9Packet(source uint32, sets ...[]byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b, 9)
	binary.BigEndian.PutUint16(b[2:], uint16(len(sets)))
	binary.BigEndian.PutUint32(b[4:], 60000)
	binary.BigEndian.PutUint32(b[8:], uint32(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).Unix()))
	binary.BigEndian.PutUint32(b[16:], source)
	for _, s := range sets {
		b = append(b, s...)
	}
	return b
}

// The data template of the IPFIX and v9 cases: addresses and 8-byte
// counters, and with a sampler ID or a sampling interval of its own.
var (
	flowFields      = []field{{8, 4}, {12, 4}, {1, 8}, {2, 8}}
	flowFieldsIDv9  = append(flowFields[:4:4], field{48, 1})
	flowFieldsIDfix = append(flowFields[:4:4], field{302, 4})
	flowFieldsRate  = append(flowFields[:4:4], field{34, 4})
)

const (
	src4 = 10<<24 | 5                 // 10.0.0.5
	dst4 = 47<<24 | 88<<16 | 1<<8 | 1 // 47.88.1.1
)

// TestSampling decodes packets that announce sampling rates in each way
// the collector reads, with and without a default rate and scaling: the
// bytes and packets of each flow must be multiplied by the rate that
// applies, and the exporter must report it.
func TestSampling(t *testing.T) {
	t.Parallel()
	ipfixTmpl := flowSet(2, tmplRecord(256, []uint16{4}, flowFields...))
	tests := []struct {
		name          string
		rate          uint32 // Collector.SamplingRate
		noScale       bool
		packets       [][]byte
		want          []uint64 // packets of each flow, after scaling
		applied, anno uint32   // the exporter's stats after the last packet
	}{
		{name: "v5 deterministic 1:100", packets: [][]byte{v5Packet(1<<14|100, 3, 4)}, want: []uint64{300, 400}, applied: 100, anno: 100},
		{name: "v5 random 1:64", packets: [][]byte{v5Packet(2<<14|64, 1)}, want: []uint64{64}, applied: 64, anno: 64},
		{name: "v5 unannounced", packets: [][]byte{v5Packet(0, 3)}, want: []uint64{3}, applied: 1},
		{name: "v5 unannounced, default 50", rate: 50, packets: [][]byte{v5Packet(0, 3)}, want: []uint64{150}, applied: 50},
		{name: "v5 announced beats default", rate: 50, packets: [][]byte{v5Packet(1<<14|100, 3)}, want: []uint64{300}, applied: 100, anno: 100},
		{name: "v5 not scaled", noScale: true, packets: [][]byte{v5Packet(1<<14|100, 3)}, want: []uint64{3}, applied: 1, anno: 100},
		{name: "v5 announced 1, default 50", rate: 50, packets: [][]byte{v5Packet(1<<14|1, 3)}, want: []uint64{3}, applied: 1, anno: 1},
		{
			// softflowd's form: an options record scoped to an interface
			// with samplingInterval and samplingAlgorithm.
			name: "v9 samplingInterval",
			packets: [][]byte{v9Packet(1,
				flowSet(0, tmplRecord(256, []uint16{4}, flowFields...)),
				flowSet(1, tmplRecord(257, []uint16{4, 8}, field{2, 4}, field{34, 4}, field{35, 1})),
				flowSet(257, values([]field{{2, 4}, {34, 4}, {35, 1}}, 1, 10, 1)),
				flowSet(256, values(flowFields, src4, dst4, 70, 7)))},
			want: []uint64{70}, applied: 10, anno: 10,
		},
		{
			// Cisco's form: a sampler table (sampler ID, random interval)
			// and data records that name their sampler.
			name: "v9 sampler table",
			packets: [][]byte{v9Packet(1,
				flowSet(0, tmplRecord(256, []uint16{5}, flowFieldsIDv9...)),
				flowSet(1, tmplRecord(257, []uint16{4, 8}, field{1, 4}, field{48, 1}, field{50, 4})),
				flowSet(257, values([]field{{1, 4}, {48, 1}, {50, 4}}, 0, 3, 20), values([]field{{1, 4}, {48, 1}, {50, 4}}, 0, 4, 40)),
				flowSet(256, values(flowFieldsIDv9, src4, dst4, 10, 1, 3), values(flowFieldsIDv9, src4, dst4, 10, 1, 4), values(flowFieldsIDv9, src4, dst4, 10, 1, 9)))},
			// Sampler 9 is unknown: the latest rate of the domain.
			want: []uint64{20, 40, 40}, applied: 40, anno: 40,
		},
		{
			// softflowd's IPFIX form, PSAMP count-based: 1 packet taken,
			// 99 skipped.
			name: "ipfix samplingPacketInterval and Space",
			packets: [][]byte{ipfixMessage(1,
				ipfixTmpl,
				flowSet(3, tmplRecord(257, []uint16{3, 1}, field{143, 4}, field{305, 4}, field{306, 4})),
				flowSet(257, values([]field{{143, 4}, {305, 4}, {306, 4}}, 1, 1, 99)),
				flowSet(256, values(flowFields, src4, dst4, 10, 2)))},
			want: []uint64{200}, applied: 100, anno: 100,
		},
		{
			name: "ipfix selectorId",
			packets: [][]byte{ipfixMessage(1,
				flowSet(2, tmplRecord(256, []uint16{5}, flowFieldsIDfix...)),
				flowSet(3, tmplRecord(257, []uint16{2, 1}, field{302, 4}, field{34, 4})),
				flowSet(257, values([]field{{302, 4}, {34, 4}}, 7, 1000), values([]field{{302, 4}, {34, 4}}, 8, 10)),
				flowSet(256, values(flowFieldsIDfix, src4, dst4, 10, 1, 7)))},
			want: []uint64{1000}, applied: 1000, anno: 1000,
		},
		{
			name: "ipfix rate in the data record",
			rate: 5,
			packets: [][]byte{ipfixMessage(1,
				flowSet(2, tmplRecord(256, []uint16{5}, flowFieldsRate...)),
				flowSet(256, values(flowFieldsRate, src4, dst4, 10, 3, 7)))},
			want: []uint64{21}, applied: 7, anno: 7,
		},
		{
			name: "ipfix rate of another domain",
			packets: [][]byte{
				ipfixMessage(1,
					flowSet(3, tmplRecord(257, []uint16{2, 1}, field{143, 4}, field{34, 4})),
					flowSet(257, values([]field{{143, 4}, {34, 4}}, 1, 10))),
				ipfixMessage(2, ipfixTmpl, flowSet(256, values(flowFields, src4, dst4, 10, 3))),
			},
			want: []uint64{3}, applied: 1,
		},
		{
			name: "ipfix rate kept across packets",
			rate: 5,
			packets: [][]byte{
				ipfixMessage(1,
					flowSet(3, tmplRecord(257, []uint16{2, 1}, field{143, 4}, field{34, 4})),
					flowSet(257, values([]field{{143, 4}, {34, 4}}, 1, 10))),
				ipfixMessage(1, ipfixTmpl, flowSet(256, values(flowFields, src4, dst4, 10, 3))),
			},
			want: []uint64{30}, applied: 10, anno: 10,
		},
		{
			name: "ipfix saturates",
			packets: [][]byte{ipfixMessage(1,
				flowSet(2, tmplRecord(256, []uint16{5}, flowFieldsRate...)),
				flowSet(256, values(flowFieldsRate, src4, dst4, 10, math.MaxUint64/2, 4)))},
			want: []uint64{math.MaxUint64}, applied: 4, anno: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []uint64
			var recs []flowlog.Record
			e := newExporter(netip.MustParseAddrPort("127.0.0.1:9"), 0)
			d := decoder{rate: tt.rate, noScale: tt.noScale, sink: func(_ int, _ netip.AddrPort, flows []flowlog.Record) {
				for _, f := range flows {
					got = append(got, f.SrcPackets)
					recs = append(recs, f)
				}
			}}
			for _, p := range tt.packets {
				d.decode(e, p)
			}
			if p := e.lastErr.Load(); p != nil {
				t.Fatalf("decode error: %s", *p)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("scaled packets mismatch (-want +got):\n%s", diff)
			}
			for _, r := range recs {
				if r.SrcBytes == 0 || r.DstBytes != 0 || r.Flows != 0 {
					t.Errorf("record %+v", r)
				}
			}
			if a, n := e.applied.Load(), e.announced.Load(); a != tt.applied || n != tt.anno {
				t.Errorf("applied, announced = %d, %d; want %d, %d", a, n, tt.applied, tt.anno)
			}
		})
	}
}

// TestSamplingBytes checks that bytes are scaled with packets.
func TestSamplingBytes(t *testing.T) {
	t.Parallel()
	var recs []flowlog.Record
	e := newExporter(netip.MustParseAddrPort("127.0.0.1:9"), 0)
	d := decoder{sink: func(_ int, _ netip.AddrPort, flows []flowlog.Record) { recs = append(recs, flows...) }}
	d.decode(e, v5Packet(1<<14|8, 5))
	if len(recs) != 1 || recs[0].SrcPackets != 40 || recs[0].SrcBytes != 400 {
		t.Errorf("records %+v, want 40 packets and 400 bytes", recs)
	}
}

// TestSamplingStats sends a sampled v5 packet to a collector over
// loopback: its stats report the rates, and a window keeps them.
func TestSamplingStats(t *testing.T) {
	var r received
	c, addr := startCollector(t, &r)
	exp := exporterConn(t, addr)
	send(t, exp, v5Packet(1<<14|10, 2))
	first := waitStats(t, c, func(s Stats) bool { return s.Flows == 1 })
	x := first.Exporters[0]
	if x.SamplingRate != 10 || x.AnnouncedSamplingRate != 10 {
		t.Errorf("exporter stats %+v, want rate 10 applied and announced", x)
	}
	send(t, exp, v5Packet(0, 2))
	second := waitStats(t, c, func(s Stats) bool { return s.Flows == 2 })
	w := second.Sub(first).Exporters[0]
	if w.SamplingRate != 1 || w.AnnouncedSamplingRate != 0 {
		t.Errorf("window exporter stats %+v, want unsampled", w)
	}
	if got, _ := r.get(); got.Packets != 22 || got.Bytes != 220 {
		t.Errorf("totals %+v, want 22 packets, 220 bytes", got)
	}
}
