// Package nfdump reads the CSV output of nfdump ("nfdump -r FILE -o csv")
// as flow records.
//
// The first line names the columns ("ts,te,td,sa,da,sp,dp,pr,...,ipkt,ibyt,
// opkt,obyt,..."); the parser follows it, so column orders of other nfdump
// versions read too. Output made with -q has no header: it is read in the
// column order of nfdump 1.6 and 1.7. Reading stops being about flows at the
// "Summary" line nfdump appends; the lines after it are not counted as
// records.
//
// Each line is one flow from sa:sp to da:dp. The input counters (ipkt, ibyt)
// are the source's bytes and packets; the output counters (opkt, obyt),
// non-zero for bidirectional flows (NSEL, IPFIX biflows), are the
// destination's. Times (ts, te) are written by nfdump in the local time of
// the machine that ran it, without a zone; they are read as UTC.
//
// A line of aggregated output (nfdump -a, -A, -b) may sum several flows.
// The "-o csv" of nfdump 1.6 to 1.7.4 does not say how many; a flows
// column ("fl", or "flows" as nfdump 1.7.5 and later name it in "-o csv"
// and "-o csv:FORMAT") does, and fills [flowlog.Record.Flows]. Without it
// each line counts as one flow.
//
// nfdump's CSV has no sampling column: the counters are as nfcapd stored
// them, multiplied by the sampling rate when nfcapd knew it (see "nfcapd
// -s" and "nfdump -E").
package nfdump

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/sovmap/sovmap/internal/flowlog"
)

const (
	fStart = iota
	fEnd
	fSrcAddr
	fDstAddr
	fSrcPort
	fDstPort
	fProto
	fInPkts
	fInBytes
	fOutPkts
	fOutBytes
	fFlows
	numSlots
)

var slotNames = [numSlots]string{"ts", "te", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt", "opkt", "obyt", "fl"}

func slotOf(name []byte) int {
	switch string(bytes.TrimSpace(name)) {
	case "ts", "firstSeen":
		return fStart
	case "te", "lastSeen":
		return fEnd
	case "sa", "srcAddr":
		return fSrcAddr
	case "da", "dstAddr":
		return fDstAddr
	case "sp", "srcPort":
		return fSrcPort
	case "dp", "dstPort":
		return fDstPort
	case "pr", "proto":
		return fProto
	case "ipkt", "pkt", "packets", "inPackets":
		return fInPkts
	case "ibyt", "byt", "bytes", "inBytes":
		return fInBytes
	case "opkt", "outPackets":
		return fOutPkts
	case "obyt", "outBytes":
		return fOutBytes
	case "fl", "flows":
		return fFlows
	}
	return -1
}

// defaultHeader is the column order of "nfdump -o csv" in versions 1.6 and
// 1.7, for output made with -q.
const defaultHeader = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"

// Parser parses the lines of one nfdump CSV input.
type Parser struct {
	fields  int
	slots   [numSlots]int
	ends    []int32
	summary bool // past the "Summary" line
}

// NewParser returns a parser for one input.
func NewParser() *Parser {
	p := &Parser{}
	p.layout([]byte(defaultHeader))
	return p
}

func (p *Parser) layout(header []byte) {
	for i := range p.slots {
		p.slots[i] = -1
	}
	p.fields = 0
	for name := range bytes.SplitSeq(header, []byte{','}) {
		if s := slotOf(name); s >= 0 && p.slots[s] < 0 {
			p.slots[s] = p.fields
		}
		p.fields++
	}
	p.ends = make([]int32, p.fields+1)
}

// IsHeader reports whether line is an nfdump CSV header: comma-separated
// names, among them the source and destination addresses.
func IsHeader(line []byte) bool {
	var src, dst bool
	for f := range bytes.SplitSeq(line, []byte{','}) {
		switch slotOf(f) {
		case fSrcAddr:
			src = true
		case fDstAddr:
			dst = true
		}
	}
	return src && dst && len(line) > 0 && (line[0] < '0' || line[0] > '9')
}

// Parse implements [flowlog.Parser].
func (p *Parser) Parse(line []byte, rec *flowlog.Record) (bool, error) {
	if len(line) == 0 || p.summary {
		return false, nil
	}
	if bytes.Equal(line, []byte("Summary")) {
		p.summary = true
		return false, nil
	}
	if bytes.Equal(line, []byte("No matching flows")) {
		return false, nil
	}
	if IsHeader(line) {
		p.layout(line)
		return false, nil
	}
	if n := flowlog.Split(line, ',', p.ends); n != p.fields {
		return false, &flowlog.LineError{Reason: flowlog.ReasonFieldCount, Detail: fmt.Sprintf("%d fields, the header has %d", n, p.fields)}
	}
	var v [numSlots][]byte
	for s, col := range p.slots {
		if col >= 0 {
			v[s] = bytes.TrimSpace(flowlog.Field(line, p.ends, col))
		}
	}
	src, ok := flowlog.ParseAddr(v[fSrcAddr])
	if !ok {
		return false, flowlog.Bad(flowlog.ReasonAddr, "sa", v[fSrcAddr])
	}
	dst, ok := flowlog.ParseAddr(v[fDstAddr])
	if !ok {
		return false, flowlog.Bad(flowlog.ReasonAddr, "da", v[fDstAddr])
	}
	var port [2]uint16
	for i, s := range [...]int{fSrcPort, fDstPort} {
		if b := v[s]; len(b) > 0 {
			// nfdump writes ICMP type and code as "8.0".
			if p, ok := flowlog.ParsePort(b); ok {
				port[i] = p
			} else if t, c, ok := icmp(b); ok {
				port[i] = t<<8 | c
			} else {
				return false, flowlog.Bad(flowlog.ReasonPort, slotNames[s], b)
			}
		}
	}
	*rec = flowlog.Record{Src: netip.AddrPortFrom(src, port[0]), Dst: netip.AddrPortFrom(dst, port[1])}
	if b := v[fProto]; len(b) > 0 {
		if rec.Proto, ok = flowlog.ParseProto(b); !ok {
			return false, flowlog.Bad(flowlog.ReasonProto, "pr", b)
		}
	}
	counters := [...]*uint64{fInPkts: &rec.SrcPackets, fInBytes: &rec.SrcBytes, fOutPkts: &rec.DstPackets, fOutBytes: &rec.DstBytes}
	for s := fInPkts; s <= fOutBytes; s++ {
		if b := v[s]; len(b) > 0 {
			if *counters[s], ok = flowlog.ParseUint(b); !ok {
				return false, flowlog.Bad(flowlog.ReasonNumber, slotNames[s], b)
			}
		}
	}
	if b := v[fFlows]; len(b) > 0 {
		if rec.Flows, ok = flowlog.ParseUint(b); !ok {
			return false, flowlog.Bad(flowlog.ReasonNumber, slotNames[fFlows], b)
		}
	}
	for _, s := range [...]int{fStart, fEnd} {
		if b := v[s]; len(b) > 0 {
			t, ok := flowlog.ParseDateTime(b)
			if !ok {
				return false, flowlog.Bad(flowlog.ReasonTime, slotNames[s], b)
			}
			if s == fStart {
				rec.Start = t
			} else {
				rec.End = t
			}
		}
	}
	return true, nil
}

func icmp(b []byte) (typ, code uint16, ok bool) {
	t, c, found := bytes.Cut(b, []byte{'.'})
	if !found {
		return 0, 0, false
	}
	tn, ok1 := flowlog.ParseUint(t)
	cn, ok2 := flowlog.ParseUint(c)
	if !ok1 || !ok2 || tn > 255 || cn > 255 {
		return 0, 0, false
	}
	return uint16(tn), uint16(cn), true
}

// Sniff reports whether head, the first bytes of an input, looks like
// nfdump CSV: a header naming sa and da, or (output made with -q) a first
// line with nfdump's column count and a date in the first column.
func Sniff(head []byte) bool {
	line, _, _ := bytes.Cut(head, []byte{'\n'})
	line = bytes.TrimRight(line, "\r")
	if IsHeader(line) {
		return true
	}
	f := bytes.Split(line, []byte{','})
	if len(f) != bytes.Count([]byte(defaultHeader), []byte{','})+1 {
		return false
	}
	_, ok := flowlog.ParseDateTime(f[0])
	return ok
}
