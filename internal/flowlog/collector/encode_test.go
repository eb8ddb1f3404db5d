package collector

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// ipfixTemplate is the template the test encoder uses: IPv4 addresses,
// ports, protocol, 8-byte counters and millisecond times.
var ipfixTemplate = [][2]uint16{{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 8}, {2, 8}, {152, 8}, {153, 8}}

const ipfixRecordLen = 4 + 4 + 2 + 2 + 1 + 8 + 8 + 8 + 8

// ipfixPacket encodes an IPFIX message of one observation domain: the
// template (if withTemplate) and a data set of flows (IPv4 only).
func ipfixPacket(domain uint32, tmplID uint16, withTemplate bool, flows []flowlog.Record) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b, 10)
	binary.BigEndian.PutUint32(b[4:], uint32(time.Now().Unix()))
	binary.BigEndian.PutUint32(b[12:], domain)
	if withTemplate {
		set := binary.BigEndian.AppendUint16(nil, 2)
		set = binary.BigEndian.AppendUint16(set, uint16(4+4+4*len(ipfixTemplate)))
		set = binary.BigEndian.AppendUint16(set, tmplID)
		set = binary.BigEndian.AppendUint16(set, uint16(len(ipfixTemplate)))
		for _, f := range ipfixTemplate {
			set = binary.BigEndian.AppendUint16(set, f[0])
			set = binary.BigEndian.AppendUint16(set, f[1])
		}
		b = append(b, set...)
	}
	if len(flows) > 0 {
		set := binary.BigEndian.AppendUint16(nil, tmplID)
		set = binary.BigEndian.AppendUint16(set, uint16(4+ipfixRecordLen*len(flows)))
		for _, f := range flows {
			s, d := f.Src.Addr().As4(), f.Dst.Addr().As4()
			set = append(set, s[:]...)
			set = append(set, d[:]...)
			set = binary.BigEndian.AppendUint16(set, f.Src.Port())
			set = binary.BigEndian.AppendUint16(set, f.Dst.Port())
			set = append(set, f.Proto)
			set = binary.BigEndian.AppendUint64(set, f.SrcBytes)
			set = binary.BigEndian.AppendUint64(set, f.SrcPackets)
			set = binary.BigEndian.AppendUint64(set, uint64(f.Start.UnixMilli()))
			set = binary.BigEndian.AppendUint64(set, uint64(f.End.UnixMilli()))
		}
		b = append(b, set...)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// testFlows returns n IPv4 flows from local hosts to public addresses.
func testFlows(n int) []flowlog.Record {
	flows := make([]flowlog.Record, n)
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range flows {
		flows[i] = flowlog.Record{
			Src:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(40000+i)),
			Dst:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{47, 88, byte(i >> 8), byte(i)}), 443),
			Proto: 6, SrcBytes: uint64(100 + i), SrcPackets: uint64(1 + i%7),
			Start: t0, End: t0.Add(time.Second),
		}
	}
	return flows
}

type netipAddrPort = netip.AddrPort

var netipMustAddrPort = netip.MustParseAddrPort
