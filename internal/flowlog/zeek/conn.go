package zeek

import (
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// The fields a record is built from, by slot.
const (
	fTS = iota
	fOrigH
	fOrigP
	fRespH
	fRespP
	fProto
	fService
	fDuration
	fOrigBytes
	fRespBytes
	fConnState
	fOrigPkts
	fOrigIPBytes
	fRespPkts
	fRespIPBytes
	numSlots
)

var slotNames = [numSlots]string{
	fTS:          "ts",
	fOrigH:       "id.orig_h",
	fOrigP:       "id.orig_p",
	fRespH:       "id.resp_h",
	fRespP:       "id.resp_p",
	fProto:       "proto",
	fService:     "service",
	fDuration:    "duration",
	fOrigBytes:   "orig_bytes",
	fRespBytes:   "resp_bytes",
	fConnState:   "conn_state",
	fOrigPkts:    "orig_pkts",
	fOrigIPBytes: "orig_ip_bytes",
	fRespPkts:    "resp_pkts",
	fRespIPBytes: "resp_ip_bytes",
}

// slotOf returns the slot of a field name, or -1.
func slotOf(name []byte) int {
	switch string(name) {
	case "ts":
		return fTS
	case "id.orig_h":
		return fOrigH
	case "id.orig_p":
		return fOrigP
	case "id.resp_h":
		return fRespH
	case "id.resp_p":
		return fRespP
	case "proto":
		return fProto
	case "service":
		return fService
	case "duration":
		return fDuration
	case "orig_bytes":
		return fOrigBytes
	case "resp_bytes":
		return fRespBytes
	case "conn_state":
		return fConnState
	case "orig_pkts":
		return fOrigPkts
	case "orig_ip_bytes":
		return fOrigIPBytes
	case "resp_pkts":
		return fRespPkts
	case "resp_ip_bytes":
		return fRespIPBytes
	}
	return -1
}

// values holds the raw value of each slot for one line; nil means absent or
// unset.
type values [numSlots][]byte

// fill builds rec from the slot values. It returns nil and leaves rec
// unfilled when the line names no connection ends at all.
func fill(rec *flowlog.Record, v *values, in *flowlog.Interner, jsonTime bool) *flowlog.LineError {
	if v[fOrigH] == nil && v[fRespH] == nil {
		return errNoEnds
	}
	src, ok := flowlog.ParseAddr(v[fOrigH])
	if !ok {
		return flowlog.Bad(flowlog.ReasonAddr, "id.orig_h", v[fOrigH])
	}
	dst, ok := flowlog.ParseAddr(v[fRespH])
	if !ok {
		return flowlog.Bad(flowlog.ReasonAddr, "id.resp_h", v[fRespH])
	}
	var sp, dp uint16
	if b := v[fOrigP]; b != nil {
		if sp, ok = flowlog.ParsePort(b); !ok {
			return flowlog.Bad(flowlog.ReasonPort, "id.orig_p", b)
		}
	}
	if b := v[fRespP]; b != nil {
		if dp, ok = flowlog.ParsePort(b); !ok {
			return flowlog.Bad(flowlog.ReasonPort, "id.resp_p", b)
		}
	}
	*rec = flowlog.Record{Src: netip.AddrPortFrom(src, sp), Dst: netip.AddrPortFrom(dst, dp)}
	if b := v[fProto]; b != nil {
		if rec.Proto, ok = flowlog.ParseProto(b); !ok {
			return flowlog.Bad(flowlog.ReasonProto, "proto", b)
		}
	}
	if b := v[fTS]; b != nil {
		t, ok := flowlog.ParseUnixTime(b)
		if !ok && jsonTime {
			t, ok = flowlog.ParseDateTime(b)
			if !ok {
				// A number in exponent form.
				if f, err := strconv.ParseFloat(string(b), 64); err == nil && f >= 0 && f < 1<<40 {
					sec := math.Floor(f)
					t, ok = time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), true
				}
			}
		}
		if !ok {
			return flowlog.Bad(flowlog.ReasonTime, "ts", b)
		}
		rec.Start, rec.End = t, t
		if d := v[fDuration]; d != nil {
			dur, ok := flowlog.ParseSeconds(d)
			if !ok {
				return flowlog.Bad(flowlog.ReasonNumber, "duration", d)
			}
			rec.End = t.Add(dur)
		}
	}
	// IP-level bytes when the log has them; the payload counters are then
	// not needed.
	bs, bd := fOrigBytes, fRespBytes
	if v[fOrigIPBytes] != nil || v[fRespIPBytes] != nil {
		bs, bd = fOrigIPBytes, fRespIPBytes
	}
	for _, c := range [...]struct {
		slot int
		dst  *uint64
	}{{bs, &rec.SrcBytes}, {bd, &rec.DstBytes}, {fOrigPkts, &rec.SrcPackets}, {fRespPkts, &rec.DstPackets}} {
		if b := v[c.slot]; b != nil {
			if *c.dst, ok = flowlog.ParseUint(b); !ok {
				return flowlog.Bad(flowlog.ReasonNumber, slotNames[c.slot], b)
			}
		}
	}
	rec.Extra.Service = in.String(v[fService])
	rec.Extra.State = in.String(v[fConnState])
	return nil
}

// errNoEnds marks a line of a log that names no connection ends.
var errNoEnds = &flowlog.LineError{Reason: "not a connection record", Detail: "no id.orig_h or id.resp_h", Ignored: true}
