// Package vpc reads AWS VPC flow logs, versions 2 to 8, as flow records.
//
// A VPC flow log line is a space-separated list of fields. In the default
// format (version 2) the fields are version, account-id, interface-id,
// srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, end,
// action and log-status. A custom format names its fields in a header line
// (as S3 delivery writes it: "version vpc-id subnet-id ..."); the parser
// follows the latest header it has seen, so concatenated files with
// different formats read correctly. Lines without a header are read in the
// order AWS documents for all fields (the default fields, then vpc-id,
// subnet-id, instance-id, tcp-flags, type, pkt-srcaddr, pkt-dstaddr, region,
// az-id, sublocation-type, sublocation-id, pkt-src-aws-service,
// pkt-dst-aws-service, flow-direction, traffic-path, the ECS fields and
// reject-reason), which is what the v3 to v8 "all fields" formats give.
//
// A record covers one direction: srcaddr sent bytes and packets to dstaddr
// between start and end. Records whose log-status is NODATA (no traffic in
// the interval) or SKIPDATA (AWS skipped records) carry no flow: they are
// counted as ignored, with their reason. A "-" is an absent value.
package vpc

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// The fields a record is built from, by slot.
const (
	fSrcAddr = iota
	fDstAddr
	fSrcPort
	fDstPort
	fProtocol
	fPackets
	fBytes
	fStart
	fEnd
	fAction
	fLogStatus
	fInterface
	fDirection
	numSlots
)

// allFields is the documented order of every field, the order of lines
// without a header.
var allFields = []string{
	"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
	"protocol", "packets", "bytes", "start", "end", "action", "log-status",
	"vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
	"region", "az-id", "sublocation-type", "sublocation-id",
	"pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
	"ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
	"ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
	"ecs-task-arn", "ecs-task-id", "reject-reason",
}

// defaultFields is the number of fields of the default format.
const defaultFields = 14

func slotOf(name []byte) int {
	switch string(name) {
	case "srcaddr":
		return fSrcAddr
	case "dstaddr":
		return fDstAddr
	case "srcport":
		return fSrcPort
	case "dstport":
		return fDstPort
	case "protocol":
		return fProtocol
	case "packets":
		return fPackets
	case "bytes":
		return fBytes
	case "start":
		return fStart
	case "end":
		return fEnd
	case "action":
		return fAction
	case "log-status":
		return fLogStatus
	case "interface-id":
		return fInterface
	case "flow-direction":
		return fDirection
	}
	return -1
}

// Parser parses the lines of one VPC flow log input.
type Parser struct {
	header bool          // a header line has set the layout
	fields int           // fields in the header; with no header, the minimum
	slots  [numSlots]int // column of each slot, -1 if absent
	ends   []int32
	in     flowlog.Interner
}

// NewParser returns a parser for one input.
func NewParser() *Parser {
	p := &Parser{}
	p.layout(nil)
	return p
}

// layout sets the columns from a header's names, or the documented order
// when names is nil.
func (p *Parser) layout(names [][]byte) {
	for i := range p.slots {
		p.slots[i] = -1
	}
	if names == nil {
		p.header = false
		p.fields = defaultFields
		for i, n := range allFields {
			if s := slotOf([]byte(n)); s >= 0 {
				p.slots[s] = i
			}
		}
		p.ends = make([]int32, len(allFields)+1)
		return
	}
	p.header = true
	p.fields = len(names)
	for i, n := range names {
		if s := slotOf(n); s >= 0 {
			p.slots[s] = i
		}
	}
	p.ends = make([]int32, len(names)+1)
}

var (
	errNoData   = &flowlog.LineError{Reason: "NODATA record", Detail: "no traffic on the interface in the interval", Ignored: true}
	errSkipData = &flowlog.LineError{Reason: "SKIPDATA record", Detail: "AWS skipped flow records in the interval", Ignored: true}
)

// IsHeader reports whether line is a header line: field names, among them
// srcaddr and dstaddr.
func IsHeader(line []byte) bool {
	if len(line) == 0 || line[0] < 'a' || line[0] > 'z' {
		return false
	}
	var src, dst bool
	for f := range bytes.SplitSeq(line, []byte{' '}) {
		switch string(f) {
		case "srcaddr", "pkt-srcaddr":
			src = true
		case "dstaddr", "pkt-dstaddr":
			dst = true
		}
		for _, c := range f {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return src && dst
}

// Parse implements [flowlog.Parser].
func (p *Parser) Parse(line []byte, rec *flowlog.Record) (bool, error) {
	line = bytes.TrimRight(line, " ")
	if len(line) == 0 || line[0] == '#' {
		return false, nil
	}
	if IsHeader(line) {
		p.layout(bytes.Split(line, []byte{' '}))
		return false, nil
	}
	n := flowlog.Split(line, ' ', p.ends)
	if p.header && n != p.fields || !p.header && n < p.fields {
		want := fmt.Sprint(p.fields)
		if !p.header {
			want = "at least " + want
		}
		return false, &flowlog.LineError{Reason: flowlog.ReasonFieldCount, Detail: fmt.Sprintf("%d fields, want %s", n, want)}
	}
	var v [numSlots][]byte
	for s, col := range p.slots {
		if col < 0 || col >= n {
			continue
		}
		b := flowlog.Field(line, p.ends, col)
		if len(b) == 1 && b[0] == '-' {
			continue
		}
		v[s] = b
	}
	switch string(v[fLogStatus]) {
	case "NODATA":
		return false, errNoData
	case "SKIPDATA":
		return false, errSkipData
	}
	if err := endpoints(&v, rec); err != nil {
		return false, err
	}
	if err := numbers(&v, rec); err != nil {
		return false, err
	}
	rec.Extra.Action = p.in.String(v[fAction])
	rec.Extra.Interface = p.in.String(v[fInterface])
	rec.Extra.Direction = p.in.String(v[fDirection])
	return true, nil
}

// endpoints sets rec to a record of the addresses and ports of a line's
// values ("-" left out), which must have both addresses.
func endpoints(v *[numSlots][]byte, rec *flowlog.Record) error {
	if v[fSrcAddr] == nil {
		return &flowlog.LineError{Reason: flowlog.ReasonMissing, Detail: "no srcaddr"}
	}
	if v[fDstAddr] == nil {
		return &flowlog.LineError{Reason: flowlog.ReasonMissing, Detail: "no dstaddr"}
	}
	src, ok := flowlog.ParseAddr(v[fSrcAddr])
	if !ok {
		return flowlog.Bad(flowlog.ReasonAddr, "srcaddr", v[fSrcAddr])
	}
	dst, ok := flowlog.ParseAddr(v[fDstAddr])
	if !ok {
		return flowlog.Bad(flowlog.ReasonAddr, "dstaddr", v[fDstAddr])
	}
	var sp, dp uint16
	if b := v[fSrcPort]; b != nil {
		if sp, ok = flowlog.ParsePort(b); !ok {
			return flowlog.Bad(flowlog.ReasonPort, "srcport", b)
		}
	}
	if b := v[fDstPort]; b != nil {
		if dp, ok = flowlog.ParsePort(b); !ok {
			return flowlog.Bad(flowlog.ReasonPort, "dstport", b)
		}
	}
	*rec = flowlog.Record{Src: netip.AddrPortFrom(src, sp), Dst: netip.AddrPortFrom(dst, dp)}
	return nil
}

// numbers sets the protocol, bytes, packets, start and end of rec from a
// line's values, those present.
func numbers(v *[numSlots][]byte, rec *flowlog.Record) error {
	var ok bool
	if b := v[fProtocol]; b != nil {
		if rec.Proto, ok = flowlog.ParseProto(b); !ok {
			return flowlog.Bad(flowlog.ReasonProto, "protocol", b)
		}
	}
	if b := v[fBytes]; b != nil {
		if rec.SrcBytes, ok = flowlog.ParseUint(b); !ok {
			return flowlog.Bad(flowlog.ReasonNumber, "bytes", b)
		}
	}
	if b := v[fPackets]; b != nil {
		if rec.SrcPackets, ok = flowlog.ParseUint(b); !ok {
			return flowlog.Bad(flowlog.ReasonNumber, "packets", b)
		}
	}
	for _, s := range [...]int{fStart, fEnd} {
		b := v[s]
		if b == nil {
			continue
		}
		sec, ok := flowlog.ParseUint(b)
		if !ok || sec > 1<<40 {
			return flowlog.Bad(flowlog.ReasonTime, allFieldName(s), b)
		}
		t := time.Unix(int64(sec), 0).UTC()
		if s == fStart {
			rec.Start = t
		} else {
			rec.End = t
		}
	}
	return nil
}

func allFieldName(s int) string {
	if s == fStart {
		return "start"
	}
	return "end"
}

// Sniff reports whether head, the first bytes of an input, looks like a VPC
// flow log: a header line naming srcaddr and dstaddr, or a default-format
// line (a version number, then at least 13 more fields, with addresses or
// "-" in the srcaddr and dstaddr places).
func Sniff(head []byte) bool {
	line, _, _ := bytes.Cut(head, []byte{'\n'})
	line = bytes.TrimRight(line, "\r ")
	if IsHeader(line) {
		return true
	}
	f := bytes.Split(line, []byte{' '})
	if len(f) < defaultFields {
		return false
	}
	if _, ok := flowlog.ParseUint(f[0]); !ok {
		return false
	}
	for _, b := range f[3:5] {
		if _, ok := flowlog.ParseAddr(b); !ok && !bytes.Equal(b, []byte("-")) {
			return false
		}
	}
	switch string(f[13]) {
	case "OK", "NODATA", "SKIPDATA":
		return true
	}
	return false
}
