package flowlog

import (
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"time"
)

// A Record is one flow as a log or an exporter reports it.
//
// Src and Dst are the two ends. For bidirectional formats (Zeek, Argus,
// nfdump with bidirectional counters) Src is the end that opened the
// connection; for unidirectional formats (AWS VPC, NetFlow, IPFIX) a record
// covers one direction, Src to Dst. Counters that the format does not carry
// are zero.
type Record struct {
	Src, Dst netip.AddrPort // addresses are unmapped (IPv4-in-IPv6 becomes IPv4)
	Proto    uint8          // IP protocol number; 0 when unknown

	SrcBytes, DstBytes     uint64 // bytes sent by Src and by Dst
	SrcPackets, DstPackets uint64 // packets sent by Src and by Dst
	// UnsplitBytes and UnsplitPackets count traffic whose direction the
	// format does not give (an Argus total without its source share).
	UnsplitBytes, UnsplitPackets uint64
	// Flows is the number of flows the record stands for, for formats
	// whose records may sum several (nfdump aggregated output); 0 means 1.
	Flows uint64

	Start, End time.Time // zero when unknown

	Extra Extra
}

// Extra holds the format-specific facts of a record. Fields a format does
// not have are empty.
type Extra struct {
	Service   string // Zeek service ("dns", "ssl", "http,ssl")
	State     string // Zeek conn_state, Argus State
	Action    string // AWS action (ACCEPT, REJECT)
	Direction string // AWS flow-direction (ingress, egress), Argus Dir ("->", "<->")
	Interface string // AWS interface-id
}

// Bytes returns the record's bytes in both directions.
func (r *Record) Bytes() uint64 { return r.SrcBytes + r.DstBytes + r.UnsplitBytes }

// Packets returns the record's packets in both directions.
func (r *Record) Packets() uint64 { return r.SrcPackets + r.DstPackets + r.UnsplitPackets }

// Scale multiplies the record's bytes and packets by a sampling rate (the
// record counts 1 in rate packets), saturating at the largest uint64.
func (r *Record) Scale(rate uint64) {
	for _, c := range [...]*uint64{&r.SrcBytes, &r.DstBytes, &r.UnsplitBytes, &r.SrcPackets, &r.DstPackets, &r.UnsplitPackets} {
		hi, lo := bits.Mul64(*c, rate)
		if hi != 0 {
			lo = math.MaxUint64
		}
		*c = lo
	}
}

// IP protocol numbers the readers name.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoGRE    = 47
	ProtoESP    = 50
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// ProtoName returns the usual name of an IP protocol ("tcp", "udp",
// "icmp"), or its number.
func ProtoName(p uint8) string {
	switch p {
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoGRE:
		return "gre"
	case ProtoESP:
		return "esp"
	case ProtoICMPv6:
		return "icmp6"
	case ProtoSCTP:
		return "sctp"
	case 0:
		return "unknown"
	}
	return strconv.Itoa(int(p))
}

// ParseProto parses a protocol name as the formats write it ("tcp", "TCP",
// "ipv6-icmp", "6"). It reports false for a name it does not know.
func ParseProto(b []byte) (uint8, bool) {
	switch string(b) { // the common spellings first, without folding case
	case "tcp":
		return ProtoTCP, true
	case "udp":
		return ProtoUDP, true
	}
	if n, ok := ParseUint(b); ok {
		if n > 255 {
			return 0, false
		}
		return uint8(n), true
	}
	var low [24]byte
	if len(b) > len(low) {
		return 0, false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(b)]) {
	case "tcp":
		return ProtoTCP, true
	case "udp":
		return ProtoUDP, true
	case "icmp":
		return ProtoICMP, true
	case "icmp6", "icmpv6", "ipv6-icmp", "ipv6icmp":
		return ProtoICMPv6, true
	case "gre":
		return ProtoGRE, true
	case "esp":
		return ProtoESP, true
	case "sctp":
		return ProtoSCTP, true
	case "igmp":
		return 2, true
	case "ipv6", "ipnip":
		return 41, true
	case "ipencap", "ipip", "ipv4":
		return 4, true
	case "ah":
		return 51, true
	case "pim":
		return 103, true
	case "unknown_transport", "unknown", "unas":
		return 0, true
	}
	return 0, false
}

// Fields says which parts of a [Record] a consumer reads, so that a parser
// may leave the others unparsed. The zero value means all of them.
type Fields uint8

// The parts of a record. The addresses, ports and protocol are always
// filled.
const (
	FieldCounts Fields = 1 << iota // bytes and packets
	FieldTimes                     // Start and End
	FieldExtra                     // Extra

	AllFields = FieldCounts | FieldTimes | FieldExtra
)

// Has reports whether f asks for all of g; the zero Fields asks for
// everything.
func (f Fields) Has(g Fields) bool { return f == 0 || f&g == g }

// A FieldSetter is a [Parser] that can skip the parts of a record its
// consumer does not read. SetFields is called before the first line; parts
// not asked for may be left zero. A parser skips only what it can skip
// without changing which lines it accepts: lines are accepted, skipped and
// counted exactly as with all fields.
type FieldSetter interface {
	SetFields(Fields)
}
