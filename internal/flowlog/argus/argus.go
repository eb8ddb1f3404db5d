// Package argus reads Argus bidirectional flow records in CSV form (the
// "binetflow" files that "ra -c , -s ..." writes, as in the CTU-13 and
// Stratosphere data sets) as flow records.
//
// The first line names the columns (StartTime, Dur, Proto, SrcAddr, Sport,
// Dir, DstAddr, Dport, State, TotPkts, TotBytes, SrcBytes, SrcPkts, ...) and
// fixes the separator, a comma or a tab. Columns are found by name, so other
// field selections read too.
//
// A record is bidirectional: SrcAddr started the flow and sent SrcBytes and
// SrcPkts; the destination sent the rest of TotBytes and TotPkts. Without a
// SrcPkts column the packets are counted as unsplit. Argus writes ICMP type
// and code in the port columns in hexadecimal ("0x0008"). Records of non-IP
// traffic (ARP, LLC, Argus management records) carry no IP flow and are
// ignored. StartTime has no zone; it is read as UTC.
package argus

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sovmap/sovmap/internal/flowlog"
)

const (
	fStart = iota
	fDur
	fProto
	fSrcAddr
	fSrcPort
	fDir
	fDstAddr
	fDstPort
	fState
	fTotPkts
	fTotBytes
	fSrcBytes
	fSrcPkts
	fDstBytes
	fDstPkts
	numSlots
)

var slotNames = [numSlots]string{"StartTime", "Dur", "Proto", "SrcAddr", "Sport", "Dir", "DstAddr", "Dport", "State", "TotPkts", "TotBytes", "SrcBytes", "SrcPkts", "DstBytes", "DstPkts"}

func slotOf(name []byte) int {
	name = bytes.TrimSpace(name)
	for i, n := range slotNames {
		if strings.EqualFold(n, string(name)) {
			return i
		}
	}
	return -1
}

// Parser parses the lines of one Argus CSV input.
type Parser struct {
	sep    byte
	fields int // 0 before the header
	slots  [numSlots]int
	ends   []int32
	in     flowlog.Interner
}

// NewParser returns a parser for one input.
func NewParser() *Parser { return &Parser{} }

var (
	errNotIP   = &flowlog.LineError{Reason: "not an IP flow", Detail: "ARP, LLC or other non-IP traffic", Ignored: true}
	errMgmt    = &flowlog.LineError{Reason: "not an IP flow", Detail: "an Argus management record", Ignored: true}
	errNoStart = &flowlog.LineError{Reason: flowlog.ReasonNoHeader, Detail: "no StartTime/SrcAddr header line before the data"}
)

// header reports the separator of a header line, or 0 if line is not one.
func header(line []byte) byte {
	for _, sep := range []byte{',', '\t', ';', '|'} {
		var src, dst bool
		for f := range bytes.SplitSeq(line, []byte{sep}) {
			switch slotOf(f) {
			case fSrcAddr:
				src = true
			case fDstAddr:
				dst = true
			}
		}
		if src && dst {
			return sep
		}
	}
	return 0
}

// Parse implements [flowlog.Parser].
func (p *Parser) Parse(line []byte, rec *flowlog.Record) (bool, error) {
	if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
		return false, nil
	}
	if sep := header(line); sep != 0 {
		p.layout(line, sep)
		return false, nil
	}
	if p.fields == 0 {
		return false, errNoStart
	}
	if n := flowlog.Split(line, p.sep, p.ends); n != p.fields {
		return false, &flowlog.LineError{Reason: flowlog.ReasonFieldCount, Detail: fmt.Sprintf("%d fields, the header has %d", n, p.fields)}
	}
	var v [numSlots][]byte
	for s, col := range p.slots {
		if col >= 0 {
			v[s] = bytes.TrimSpace(flowlog.Field(line, p.ends, col))
		}
	}
	if err := endpoints(&v, rec); err != nil {
		return false, err
	}
	if err := counters(&v, rec); err != nil {
		return false, err
	}
	if err := times(&v, rec); err != nil {
		return false, err
	}
	rec.Extra.State = p.in.String(v[fState])
	rec.Extra.Direction = p.in.String(v[fDir])
	return true, nil
}

// layout reads a header line, whose fields are separated by sep: the
// column of each slot, and the number of fields.
func (p *Parser) layout(line []byte, sep byte) {
	p.sep = sep
	for i := range p.slots {
		p.slots[i] = -1
	}
	p.fields = 0
	for f := range bytes.SplitSeq(line, []byte{sep}) {
		if s := slotOf(f); s >= 0 && p.slots[s] < 0 {
			p.slots[s] = p.fields
		}
		p.fields++
	}
	p.ends = make([]int32, p.fields+1)
}

// endpoints sets rec to a record of the protocol, addresses and ports of a
// line's values, or says why the line is not one of IP traffic or is bad.
func endpoints(v *[numSlots][]byte, rec *flowlog.Record) error {
	if nonIP(v[fProto], v[fSrcAddr]) {
		if string(v[fProto]) == "man" {
			return errMgmt
		}
		return errNotIP
	}
	proto, protoOK := flowlog.ParseProto(v[fProto])
	src, ok := flowlog.ParseAddr(v[fSrcAddr])
	if !ok {
		return flowlog.Bad(flowlog.ReasonAddr, "SrcAddr", v[fSrcAddr])
	}
	dst, ok := flowlog.ParseAddr(v[fDstAddr])
	if !ok {
		return flowlog.Bad(flowlog.ReasonAddr, "DstAddr", v[fDstAddr])
	}
	if !protoOK {
		return flowlog.Bad(flowlog.ReasonProto, "Proto", v[fProto])
	}
	var port [2]uint16
	for i, s := range [...]int{fSrcPort, fDstPort} {
		if b := v[s]; len(b) > 0 {
			if port[i], ok = flowlog.ParsePort(b); !ok {
				return flowlog.Bad(flowlog.ReasonPort, slotNames[s], b)
			}
		}
	}
	*rec = flowlog.Record{Src: netip.AddrPortFrom(src, port[0]), Dst: netip.AddrPortFrom(dst, port[1]), Proto: proto}
	return nil
}

// counters sets the bytes and packets of rec: each direction's when the
// line gives both or one and the total, else the total unsplit.
func counters(v *[numSlots][]byte, rec *flowlog.Record) error {
	var n [numSlots]uint64
	for _, s := range [...]int{fTotPkts, fTotBytes, fSrcBytes, fSrcPkts, fDstBytes, fDstPkts} {
		if b := v[s]; len(b) > 0 {
			var ok bool
			if n[s], ok = flowlog.ParseUint(b); !ok {
				return flowlog.Bad(flowlog.ReasonNumber, slotNames[s], b)
			}
		}
	}
	var err error
	rec.SrcBytes, rec.DstBytes, rec.UnsplitBytes, err = split(v, &n, fSrcBytes, fDstBytes, fTotBytes)
	if err != nil {
		return err
	}
	rec.SrcPackets, rec.DstPackets, rec.UnsplitPackets, err = split(v, &n, fSrcPkts, fDstPkts, fTotPkts)
	return err
}

// split returns a count by direction, from the source's and the
// destination's, or the source's and the total; else the total, unsplit.
func split(v *[numSlots][]byte, n *[numSlots]uint64, src, dst, tot int) (s, d, unsplit uint64, err error) {
	switch {
	case len(v[src]) > 0 && len(v[dst]) > 0:
		return n[src], n[dst], 0, nil
	case len(v[src]) > 0 && len(v[tot]) > 0:
		if n[src] > n[tot] {
			return 0, 0, 0, &flowlog.LineError{Reason: flowlog.ReasonNumber, Detail: fmt.Sprintf("%s %d exceeds %s %d", slotNames[src], n[src], slotNames[tot], n[tot])}
		}
		return n[src], n[tot] - n[src], 0, nil
	}
	return 0, 0, n[tot], nil
}

// times sets the start and end of rec from StartTime and Dur.
func times(v *[numSlots][]byte, rec *flowlog.Record) error {
	b := v[fStart]
	if len(b) == 0 {
		return nil
	}
	t, ok := flowlog.ParseDateTime(b)
	if !ok {
		if t, ok = flowlog.ParseUnixTime(b); !ok {
			return flowlog.Bad(flowlog.ReasonTime, "StartTime", b)
		}
	}
	rec.Start, rec.End = t, t
	if d := v[fDur]; len(d) > 0 {
		dur, ok := flowlog.ParseSeconds(d)
		if !ok {
			return flowlog.Bad(flowlog.ReasonNumber, "Dur", d)
		}
		rec.End = t.Add(dur)
	}
	return nil
}

// nonIP reports whether a record is of non-IP traffic: its protocol is not
// carried in IP, or its address is a MAC address.
func nonIP(proto, addr []byte) bool {
	if len(proto) <= 8 {
		var low [8]byte
		for i, c := range proto {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		switch string(low[:len(proto)]) {
		case "arp", "rarp", "llc", "man", "lldp", "stp", "ipx", "ipx/spx":
			return true
		}
	}
	// A MAC address, as Argus writes for non-IP frames.
	return len(addr) == 17 && bytes.Count(addr, []byte{':'}) == 5 || len(addr) == 1 && addr[0] == '0'
}

// Sniff reports whether head, the first bytes of an input, looks like Argus
// CSV: a header line naming SrcAddr and DstAddr.
func Sniff(head []byte) bool {
	line, _, _ := bytes.Cut(head, []byte{'\n'})
	return header(bytes.TrimRight(line, "\r")) != 0
}
