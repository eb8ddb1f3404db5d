package collector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// exporter is the state and counts of one exporter. Its templates are used
// only by the decoder it is assigned to.
type exporter struct {
	addr   netip.AddrPort
	worker int

	templates netflow.NetFlowTemplateSystem
	initTime  map[uint32]uint64 // IPFIX systemInitTimeMilliseconds per observation domain

	version, packets, dropped, flows, misses, errors atomic.Uint64
	lastErr                                          atomic.Pointer[string]
}

func newExporter(addr netip.AddrPort, worker int) *exporter {
	return &exporter{addr: addr, worker: worker, templates: &templateSystem{m: make(map[uint64]any)}, initTime: make(map[uint32]uint64)}
}

func (e *exporter) fail(err error) {
	e.errors.Add(1)
	s := err.Error()
	e.lastErr.Store(&s)
}

// templateSystem stores the templates of one exporter. It refuses templates
// without fields, on which the decoder would loop without end.
type templateSystem struct {
	mu sync.Mutex
	m  map[uint64]any
}

func templateKey(version uint16, domain uint32, id uint16) uint64 {
	return uint64(version)<<48 | uint64(domain)<<16 | uint64(id)
}

var errEmptyTemplate = errors.New("template without fields")

// AddTemplate stores a template, refusing one without fields.
func (ts *templateSystem) AddTemplate(version uint16, domain uint32, id uint16, t any) error {
	switch t := t.(type) {
	case netflow.TemplateRecord:
		if len(t.Fields) == 0 {
			return errEmptyTemplate
		}
	case netflow.IPFIXOptionsTemplateRecord:
		if len(t.Scopes)+len(t.Options) == 0 {
			return errEmptyTemplate
		}
	case netflow.NFv9OptionsTemplateRecord:
		if len(t.Scopes)+len(t.Options) == 0 {
			return errEmptyTemplate
		}
	}
	ts.mu.Lock()
	ts.m[templateKey(version, domain, id)] = t
	ts.mu.Unlock()
	return nil
}

// GetTemplate returns a template or netflow.ErrorTemplateNotFound.
func (ts *templateSystem) GetTemplate(version uint16, domain uint32, id uint16) (any, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t, ok := ts.m[templateKey(version, domain, id)]; ok {
		return t, nil
	}
	return nil, netflow.ErrorTemplateNotFound
}

// RemoveTemplate removes and returns a template.
func (ts *templateSystem) RemoveTemplate(version uint16, domain uint32, id uint16) (any, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	k := templateKey(version, domain, id)
	t, ok := ts.m[k]
	if !ok {
		return nil, netflow.ErrorTemplateNotFound
	}
	delete(ts.m, k)
	return t, nil
}

// GetTemplates returns a copy of all templates.
func (ts *templateSystem) GetTemplates() netflow.FlowBaseTemplateSet {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make(netflow.FlowBaseTemplateSet, len(ts.m))
	for k, v := range ts.m {
		out[k] = v
	}
	return out
}

// decoder decodes the packets of the exporters assigned to one worker.
type decoder struct {
	worker int
	sink   func(int, netip.AddrPort, []flowlog.Record)
	flows  []flowlog.Record
}

// decode decodes one packet and hands its flows to the sink.
func (d *decoder) decode(e *exporter, b []byte) {
	d.flows = d.flows[:0]
	defer func() {
		// The decoders are third-party code fed by the network: a panic on
		// a hostile packet must cost that packet, not the collector.
		if r := recover(); r != nil {
			e.fail(fmt.Errorf("decoder panic: %v", r))
		}
	}()
	if len(b) < 4 {
		e.fail(fmt.Errorf("packet of %d bytes is too short", len(b)))
		return
	}
	version := binary.BigEndian.Uint16(b)
	e.version.Store(uint64(version))
	switch version {
	case 5:
		d.v5(e, b)
	case 9, 10:
		d.v9(e, b, version)
	default:
		e.fail(fmt.Errorf("unknown export version %d", version))
		return
	}
	if len(d.flows) > 0 {
		e.flows.Add(uint64(len(d.flows)))
		d.sink(d.worker, e.addr, d.flows)
	}
}

func (d *decoder) v5(e *exporter, b []byte) {
	// Check the count against the length first: the decoder would make
	// room for the count and fill what is missing with zero records.
	const header, record = 24, 48
	if len(b) < header {
		e.fail(fmt.Errorf("netflow v5: packet of %d bytes is shorter than its header", len(b)))
		return
	}
	count := int(binary.BigEndian.Uint16(b[2:]))
	if have := (len(b) - header) / record; count > have {
		e.fail(fmt.Errorf("netflow v5: header counts %d records, the packet holds %d", count, have))
		return
	}
	var p netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(b), &p); err != nil {
		e.fail(err)
		return
	}
	// The clock of the exporter when it sent the packet, in ms since 1970,
	// less its uptime: the base of the records' uptime-relative times.
	boot := int64(p.UnixSecs)*1000 + int64(p.UnixNSecs)/1e6 - int64(p.SysUptime)
	for _, r := range p.Records[:count] {
		var rec flowlog.Record
		rec.Src = netip.AddrPortFrom(addr4(uint32(r.SrcAddr)), r.SrcPort)
		rec.Dst = netip.AddrPortFrom(addr4(uint32(r.DstAddr)), r.DstPort)
		rec.Proto = r.Proto
		rec.SrcBytes = uint64(r.DOctets)
		rec.SrcPackets = uint64(r.DPkts)
		rec.Start = time.UnixMilli(boot + int64(r.First)).UTC()
		rec.End = time.UnixMilli(boot + int64(r.Last)).UTC()
		d.flows = append(d.flows, rec)
	}
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// checkSets checks that the sets (flow sets) after a header of hlen bytes
// fit the packet: the decoder library reads a cut set as a shorter one
// rather than failing.
func checkSets(b []byte, hlen int, version uint16) error {
	if len(b) < hlen {
		return fmt.Errorf("packet of %d bytes is shorter than its %d-byte header", len(b), hlen)
	}
	if version == 10 {
		if n := int(binary.BigEndian.Uint16(b[2:])); n != len(b) {
			return fmt.Errorf("ipfix: message length %d, but the packet has %d bytes", n, len(b))
		}
	}
	for rest := b[hlen:]; len(rest) >= 4; {
		n := int(binary.BigEndian.Uint16(rest[2:]))
		if n == 0 && !slices.ContainsFunc(rest, func(c byte) bool { return c != 0 }) {
			break // zero padding after the last set
		}
		if n < 4 || n > len(rest) {
			return fmt.Errorf("set %d of %d bytes, but %d bytes remain", binary.BigEndian.Uint16(rest), n, len(rest))
		}
		rest = rest[n:]
	}
	return nil
}

func (d *decoder) v9(e *exporter, b []byte, version uint16) {
	hlen := 20 // NetFlow v9 header
	if version == 10 {
		hlen = 16
	}
	if err := checkSets(b, hlen, version); err != nil {
		e.fail(err)
		return
	}
	var p9 netflow.NFv9Packet
	var pfix netflow.IPFIXPacket
	err := netflow.DecodeMessageVersion(bytes.NewBuffer(b), e.templates, &p9, &pfix)
	var sets []any
	var domain uint32
	var base timeBase
	if version == 9 {
		sets, domain = p9.FlowSets, p9.SourceId
		base.boot = int64(p9.UnixSeconds)*1000 - int64(p9.SystemUptime)
		base.hasBoot = true
	} else {
		sets, domain = pfix.FlowSets, pfix.ObservationDomainId
	}
	// Options first: they may give the time base of the data records of
	// the same packet.
	for _, s := range sets {
		if s, ok := s.(netflow.OptionsDataFlowSet); ok {
			for _, r := range s.Records {
				for _, f := range r.OptionsValues {
					if !f.PenProvided && f.Type == netflow.IPFIX_FIELD_systemInitTimeMilliseconds {
						_, known := e.initTime[domain]
						if v, ok := f.Value.([]byte); ok && len(v) > 0 && (known || len(e.initTime) < maxDomains) {
							e.initTime[domain] = uintBE(v)
						}
					}
				}
			}
		}
	}
	if version == 10 {
		if t, ok := e.initTime[domain]; ok {
			base.boot, base.hasBoot = int64(t), true
		}
	}
	for _, s := range sets {
		switch s := s.(type) {
		case netflow.DataFlowSet:
			for _, r := range s.Records {
				if rec, ok := fromFields(r.Values, &base); ok {
					d.flows = append(d.flows, rec)
				}
			}
		case netflow.RawFlowSet:
			if s.Id >= 256 {
				e.misses.Add(1)
			}
		}
	}
	if err != nil && !onlyTemplateMisses(err) {
		e.fail(err)
	}
}

// onlyTemplateMisses reports whether every error joined in err is a
// missing template (counted apart, as misses).
func onlyTemplateMisses(err error) bool {
	for {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				if !onlyTemplateMisses(e) {
					return false
				}
			}
			return true
		}
		if err == netflow.ErrorTemplateNotFound {
			return true
		}
		u := errors.Unwrap(err)
		if u == nil {
			return false
		}
		err = u
	}
}

// maxDomains bounds the observation domains whose time base an exporter
// keeps.
const maxDomains = 1024

// timeBase places uptime-relative times.
type timeBase struct {
	boot    int64 // the exporter's boot time, ms since 1970
	hasBoot bool
}

// Reverse-direction information elements of IPFIX biflows (RFC 5103) carry
// this enterprise number.
const reversePEN = 29305

// fromFields builds a record from the fields of a data record.
func fromFields(vals []netflow.DataField, base *timeBase) (flowlog.Record, bool) {
	var rec flowlog.Record
	var src, dst netip.Addr
	var sp, dp uint16
	var deltaBytes, deltaPkts, totalBytes, totalPkts, initBytes, initPkts uint64
	var haveDelta, haveDeltaPkts, haveTotal, haveTotalPkts bool
	var startUp, endUp int64 = -1, -1
	var start, end time.Time
	for _, f := range vals {
		v, _ := f.Value.([]byte)
		if len(v) == 0 {
			continue
		}
		if f.PenProvided {
			if f.Pen == reversePEN {
				switch f.Type {
				case netflow.IPFIX_FIELD_octetDeltaCount, netflow.IPFIX_FIELD_octetTotalCount:
					rec.DstBytes += uintBE(v)
				case netflow.IPFIX_FIELD_packetDeltaCount, netflow.IPFIX_FIELD_packetTotalCount:
					rec.DstPackets += uintBE(v)
				}
			}
			continue
		}
		switch f.Type {
		case netflow.IPFIX_FIELD_sourceIPv4Address, netflow.IPFIX_FIELD_sourceIPv6Address:
			if a, ok := netip.AddrFromSlice(v); ok {
				src = a.Unmap()
			}
		case netflow.IPFIX_FIELD_destinationIPv4Address, netflow.IPFIX_FIELD_destinationIPv6Address:
			if a, ok := netip.AddrFromSlice(v); ok {
				dst = a.Unmap()
			}
		case netflow.IPFIX_FIELD_sourceTransportPort:
			sp = uint16(uintBE(v))
		case netflow.IPFIX_FIELD_destinationTransportPort:
			dp = uint16(uintBE(v))
		case netflow.IPFIX_FIELD_protocolIdentifier:
			rec.Proto = uint8(uintBE(v))
		case netflow.IPFIX_FIELD_octetDeltaCount:
			deltaBytes, haveDelta = deltaBytes+uintBE(v), true
		case netflow.IPFIX_FIELD_packetDeltaCount:
			deltaPkts, haveDeltaPkts = deltaPkts+uintBE(v), true
		case netflow.IPFIX_FIELD_octetTotalCount:
			totalBytes, haveTotal = uintBE(v), true
		case netflow.IPFIX_FIELD_packetTotalCount:
			totalPkts, haveTotalPkts = uintBE(v), true
		case netflow.IPFIX_FIELD_initiatorOctets:
			initBytes = uintBE(v)
		case netflow.IPFIX_FIELD_responderOctets:
			rec.DstBytes += uintBE(v)
		case netflow.IPFIX_FIELD_initiatorPackets:
			initPkts = uintBE(v)
		case netflow.IPFIX_FIELD_responderPackets:
			rec.DstPackets += uintBE(v)
		case netflow.IPFIX_FIELD_flowStartSysUpTime:
			startUp = int64(uintBE(v))
		case netflow.IPFIX_FIELD_flowEndSysUpTime:
			endUp = int64(uintBE(v))
		case netflow.IPFIX_FIELD_flowStartSeconds:
			start = time.Unix(int64(uintBE(v)), 0)
		case netflow.IPFIX_FIELD_flowEndSeconds:
			end = time.Unix(int64(uintBE(v)), 0)
		case netflow.IPFIX_FIELD_flowStartMilliseconds:
			start = time.UnixMilli(int64(uintBE(v)))
		case netflow.IPFIX_FIELD_flowEndMilliseconds:
			end = time.UnixMilli(int64(uintBE(v)))
		case netflow.IPFIX_FIELD_flowStartMicroseconds, netflow.IPFIX_FIELD_flowStartNanoseconds:
			start = ntpTime(v)
		case netflow.IPFIX_FIELD_flowEndMicroseconds, netflow.IPFIX_FIELD_flowEndNanoseconds:
			end = ntpTime(v)
		}
	}
	if !src.IsValid() || !dst.IsValid() {
		return rec, false
	}
	rec.Src = netip.AddrPortFrom(src, sp)
	rec.Dst = netip.AddrPortFrom(dst, dp)
	switch {
	case haveDelta:
		rec.SrcBytes = deltaBytes
	case haveTotal:
		rec.SrcBytes = totalBytes
	default:
		rec.SrcBytes = initBytes
	}
	switch {
	case haveDeltaPkts:
		rec.SrcPackets = deltaPkts
	case haveTotalPkts:
		rec.SrcPackets = totalPkts
	default:
		rec.SrcPackets = initPkts
	}
	if start.IsZero() && startUp >= 0 && base.hasBoot {
		start = time.UnixMilli(base.boot + startUp)
	}
	if end.IsZero() && endUp >= 0 && base.hasBoot {
		end = time.UnixMilli(base.boot + endUp)
	}
	if !start.IsZero() {
		rec.Start = start.UTC()
	}
	if !end.IsZero() {
		rec.End = end.UTC()
	}
	return rec, true
}

// uintBE reads an unsigned big-endian number of up to 8 bytes (IPFIX
// reduced-size encoding); longer values keep their last 8 bytes.
func uintBE(b []byte) uint64 {
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// ntpEpoch is the NTP era 0 epoch, 1900-01-01, in Unix seconds.
const ntpEpoch = -2208988800

// ntpTime reads an IPFIX dateTimeMicroseconds/Nanoseconds value: NTP
// seconds and fraction.
func ntpTime(b []byte) time.Time {
	if len(b) != 8 {
		return time.Time{}
	}
	sec := int64(binary.BigEndian.Uint32(b))
	frac := uint64(binary.BigEndian.Uint32(b[4:]))
	return time.Unix(sec+ntpEpoch, int64(frac*1e9>>32))
}
