package collector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
	initTime  map[uint32]uint64     // IPFIX systemInitTimeMilliseconds per observation domain
	rates     map[samplerKey]uint32 // announced sampling rates

	version, packets, dropped, flows, misses, errors atomic.Uint64
	lastErr                                          atomic.Pointer[string]
	// The sampling rates applied to and announced for the latest flows.
	applied, announced atomic.Uint32
}

func newExporter(addr netip.AddrPort, worker int) *exporter {
	return &exporter{
		addr: addr, worker: worker,
		templates: &templateSystem{m: make(map[uint64]any)},
		initTime:  make(map[uint32]uint64),
		rates:     make(map[samplerKey]uint32),
	}
}

func (e *exporter) fail(err error) {
	e.errors.Add(1)
	s := err.Error()
	e.lastErr.Store(&s)
}

// Limits on the templates of one exporter, all its observation domains
// together. A template past them is refused, as a decode error; one that
// replaces a template already held (same version, domain and ID) is taken
// as long as the fields stay within bounds. Without them an exporter could
// grow the collector's memory without end (the key space is domain × ID).
const (
	maxTemplates      = 4096    // templates and options templates
	maxTemplateFields = 1 << 16 // their fields, in all (12 bytes each)
)

// templateSystem stores the templates of one exporter. It refuses those on
// which the decoder library would loop or allocate without bound (see
// checkTemplate), and those past maxTemplates and maxTemplateFields.
type templateSystem struct {
	mu     sync.Mutex
	m      map[uint64]any
	fields int // of the templates in m
}

func templateKey(version uint16, domain uint32, id uint16) uint64 {
	return uint64(version)<<48 | uint64(domain)<<16 | uint64(id)
}

var errEmptyTemplate = errors.New("template without fields")

// templateFields returns the fields of a template: scopes and options of
// an options template, one list of a data template.
func templateFields(t any) (a, b []netflow.Field, ok bool) {
	switch t := t.(type) {
	case netflow.TemplateRecord:
		return t.Fields, nil, true
	case netflow.IPFIXOptionsTemplateRecord:
		return t.Scopes, t.Options, true
	case netflow.NFv9OptionsTemplateRecord:
		return t.Scopes, t.Options, true
	}
	return nil, nil, false
}

// checkTemplate checks a template before it is stored, and returns its
// number of fields. It must have fields, and each must take at least one
// byte in a data record: a fixed length of 1 or more, or a variable length
// (0xffff, RFC 7011), whose length prefix takes one. The decoder library
// reads records while the set holds the template's fixed length; at 0 it
// would read empty records without end, allocating all the while, and a
// few 0-length fields beside a 1-byte one multiply each byte of data into
// thousands of values. With every field at least one byte, a packet's
// records times fields are at most its length.
func checkTemplate(t any) (int, error) {
	a, b, ok := templateFields(t)
	if !ok {
		return 0, fmt.Errorf("template of unknown type %T", t)
	}
	if len(a)+len(b) == 0 {
		return 0, errEmptyTemplate
	}
	n, i := len(a)+len(b), 0
	for _, fields := range [2][]netflow.Field{a, b} {
		for _, f := range fields {
			i++
			if f.Length == 0 {
				return 0, fmt.Errorf("field %d of %d (type %d) has length 0; every field must take at least one byte", i, n, f.Type)
			}
		}
	}
	return n, nil
}

// AddTemplate stores a template, refusing it if checkTemplate does or if
// it would take the exporter past maxTemplates or maxTemplateFields.
func (ts *templateSystem) AddTemplate(version uint16, domain uint32, id uint16, t any) error {
	n, err := checkTemplate(t)
	if err != nil {
		return fmt.Errorf("template %d refused: %w", id, err)
	}
	k := templateKey(version, domain, id)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	old, replaces := ts.m[k]
	fields := ts.fields + n
	if replaces {
		a, b, _ := templateFields(old)
		fields -= len(a) + len(b)
	}
	switch {
	case !replaces && len(ts.m) >= maxTemplates:
		return fmt.Errorf("template %d of domain %d refused: the exporter holds %d templates, the most kept per exporter", id, domain, len(ts.m))
	case fields > maxTemplateFields:
		return fmt.Errorf("template %d of domain %d refused: its %d fields would take the exporter's templates to %d fields, past the %d kept per exporter", id, domain, n, fields, maxTemplateFields)
	}
	ts.m[k] = t
	ts.fields = fields
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
	a, b, _ := templateFields(t)
	ts.fields -= len(a) + len(b)
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
	worker  int
	sink    func(int, netip.AddrPort, []flowlog.Record)
	rate    uint32 // sampling rate of exporters that announce none
	noScale bool   // report counters as exported

	flows              []flowlog.Record
	applied, announced uint32 // sampling rates of the latest flow
	scratch            []byte // a packet to amend
}

// decode decodes one packet and hands its flows to the sink.
func (d *decoder) decode(e *exporter, b []byte) {
	d.flows = d.flows[:0]
	d.applied, d.announced = 1, 0
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
		e.applied.Store(d.applied)
		e.announced.Store(d.announced)
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
	// The top two bits are the sampling mode, the other 14 the interval.
	announced := uint32(p.SamplingInterval & 0x3fff)
	for _, r := range p.Records[:count] {
		var rec flowlog.Record
		rec.Src = netip.AddrPortFrom(addr4(uint32(r.SrcAddr)), r.SrcPort)
		rec.Dst = netip.AddrPortFrom(addr4(uint32(r.DstAddr)), r.DstPort)
		rec.Proto = r.Proto
		rec.SrcBytes = uint64(r.DOctets)
		rec.SrcPackets = uint64(r.DPkts)
		rec.Start = time.UnixMilli(boot + int64(r.First)).UTC()
		rec.End = time.UnixMilli(boot + int64(r.Last)).UTC()
		d.scale(&rec, announced)
		d.flows = append(d.flows, rec)
	}
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// checkSets checks that the sets (flow sets) after a header of hlen bytes
// fit the packet, and the template records of template sets theirs (see
// checkTemplateSet), and returns the number of sets: the decoder library
// reads a cut set as a shorter one rather than failing.
func checkSets(b []byte, hlen int, version uint16) (int, error) {
	if len(b) < hlen {
		return 0, fmt.Errorf("packet of %d bytes is shorter than its %d-byte header", len(b), hlen)
	}
	if version == 10 {
		if n := int(binary.BigEndian.Uint16(b[2:])); n != len(b) {
			return 0, fmt.Errorf("ipfix: message length %d, but the packet has %d bytes", n, len(b))
		}
	}
	sets := 0
	for rest := b[hlen:]; len(rest) >= 4; sets++ {
		n := int(binary.BigEndian.Uint16(rest[2:]))
		if n == 0 && !slices.ContainsFunc(rest, func(c byte) bool { return c != 0 }) {
			break // zero padding after the last set
		}
		id := binary.BigEndian.Uint16(rest)
		if n < 4 || n > len(rest) {
			return 0, fmt.Errorf("set %d of %d bytes, but %d bytes remain", id, n, len(rest))
		}
		if err := checkTemplateSet(rest[4:n], id, version); err != nil {
			return 0, err
		}
		rest = rest[n:]
	}
	return sets, nil
}

// checkTemplateSet checks that each template record of the set body b,
// of set ID id, holds the fields its header counts. The decoder library
// makes room for the count (up to 65,535 fields, 786 KB) before it reads
// them, so a 24-byte packet could make it allocate that much; checked,
// what it allocates for a template is bounded by the template's bytes.
// Data sets are left alone, and so are records the library would refuse
// anyway: headers cut short, padding.
func checkTemplateSet(b []byte, id, version uint16) error {
	var hlen int
	switch {
	case version == 9 && id == 0, version == 10 && id == 2:
		hlen = 4 // template ID, field count
	case version == 9 && id == 1, version == 10 && id == 3:
		hlen = 6 // template ID, then scope and option lengths in bytes (v9) or field and scope counts (IPFIX)
	default:
		return nil
	}
	for len(b) >= hlen {
		tid, count := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		switch {
		case version == 9 && id == 1:
			count = count/4 + int(binary.BigEndian.Uint16(b[4:]))/4
		case version == 10 && id == 3:
			if scopes := int(binary.BigEndian.Uint16(b[4:])); scopes > count {
				return fmt.Errorf("options template %d: %d scope fields of %d fields", tid, scopes, count)
			}
		}
		b = b[hlen:]
		for i := range count {
			n := 4 // type, length
			if version == 10 && len(b) > 0 && b[0]&0x80 != 0 {
				n = 8 // and an enterprise number
			}
			if len(b) < n {
				return fmt.Errorf("template %d counts %d fields, the set holds %d", tid, count, i)
			}
			b = b[n:]
		}
	}
	return nil
}

func (d *decoder) v9(e *exporter, b []byte, version uint16) {
	hlen := 20 // NetFlow v9 header
	if version == 10 {
		hlen = 16
	}
	nsets, err := checkSets(b, hlen, version)
	if err != nil {
		e.fail(err)
		return
	}
	if version == 9 && int(binary.BigEndian.Uint16(b[2:])) < nsets {
		// The NetFlow v9 header counts records (RFC 3954), but the decoder
		// library reads that many sets and silently drops the rest; some
		// exporters (softflowd) count data records only, fewer than the
		// sets of a packet that carries templates. Make it read them all,
		// in a copy: b may be the caller's.
		d.scratch = append(d.scratch[:0], b...)
		b = d.scratch
		binary.BigEndian.PutUint16(b[2:], uint16(nsets))
	}
	var p9 netflow.NFv9Packet
	var pfix netflow.IPFIXPacket
	err = netflow.DecodeMessageVersion(bytes.NewBuffer(b), e.templates, &p9, &pfix)
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
	// Options first: they may give the time base and the sampling rate of
	// the data records of the same packet.
	for _, s := range sets {
		if s, ok := s.(netflow.OptionsDataFlowSet); ok {
			for _, r := range s.Records {
				var sm sampling
				for _, f := range r.ScopesValues {
					if v, ok := f.Value.([]byte); ok && !f.PenProvided {
						sm.field(f.Type, v)
					}
				}
				for _, f := range r.OptionsValues {
					v, ok := f.Value.([]byte)
					if !ok || len(v) == 0 || f.PenProvided {
						continue
					}
					if f.Type == netflow.IPFIX_FIELD_systemInitTimeMilliseconds {
						if _, known := e.initTime[domain]; known || len(e.initTime) < maxDomains {
							e.initTime[domain] = uintBE(v)
						}
					}
					sm.field(f.Type, v)
				}
				e.announce(domain, &sm)
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
				var sm sampling
				if rec, ok := fromFields(r.Values, &base, &sm); ok {
					d.scale(&rec, e.announcedRate(domain, &sm))
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

// fromFields builds a record from the fields of a data record, and notes in
// sm what they say of sampling.
//
// Written out as one switch over the information elements: it runs for
// every field of every flow record, and each case is a line or two.
//
//gocyclo:ignore
func fromFields(vals []netflow.DataField, base *timeBase, sm *sampling) (flowlog.Record, bool) {
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
		case netflow.IPFIX_FIELD_samplingInterval, netflow.IPFIX_FIELD_samplerRandomInterval,
			netflow.IPFIX_FIELD_samplingPacketInterval, netflow.IPFIX_FIELD_samplingPacketSpace,
			netflow.IPFIX_FIELD_samplerId, netflow.IPFIX_FIELD_selectorId:
			sm.field(f.Type, v)
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

// A samplerKey names the sampling rate of an observation domain (id unset)
// or of one sampler in it.
type samplerKey struct {
	domain uint32
	id     uint64
	hasID  bool
}

// maxSamplers bounds the sampling rates an exporter keeps.
const maxSamplers = 1024

// sampling is what the fields of one record say of sampling.
type sampling struct {
	interval, random      uint64 // samplingInterval, samplerRandomInterval
	pktInterval, pktSpace uint64 // PSAMP count-based selection
	hasPktSpace           bool
	id                    uint64 // samplerId or selectorId
	hasID                 bool
}

// field notes one field, if it is about sampling. NetFlow v9 gives these
// fields the numbers IPFIX gives them (34, 48, 50); the v9 scope types (1
// to 5) are none of them.
func (s *sampling) field(typ uint16, v []byte) {
	if len(v) == 0 {
		return
	}
	switch typ {
	case netflow.IPFIX_FIELD_samplingInterval:
		s.interval = uintBE(v)
	case netflow.IPFIX_FIELD_samplerRandomInterval:
		s.random = uintBE(v)
	case netflow.IPFIX_FIELD_samplingPacketInterval:
		s.pktInterval = uintBE(v)
	case netflow.IPFIX_FIELD_samplingPacketSpace:
		s.pktSpace, s.hasPktSpace = uintBE(v), true
	case netflow.IPFIX_FIELD_samplerId, netflow.IPFIX_FIELD_selectorId:
		s.id, s.hasID = uintBE(v), true
	}
}

// rate returns the sampling rate the fields give, 0 if none. PSAMP
// count-based selection takes interval packets and skips space: one packet
// in (interval+space)/interval, rounded.
func (s *sampling) rate() uint32 {
	var r uint64
	switch {
	case s.pktInterval > 0 && s.hasPktSpace:
		i, sp := min(s.pktInterval, math.MaxUint32), min(s.pktSpace, math.MaxUint32)
		r = (i + sp + i/2) / i
	case s.pktInterval > 0:
		r = s.pktInterval // without a space, as goflow2 reads it
	case s.random > 0:
		r = s.random
	default:
		r = s.interval
	}
	return uint32(min(r, math.MaxUint32))
}

// announce keeps the sampling rate an options record gives, for its
// domain and for the sampler it names.
func (e *exporter) announce(domain uint32, sm *sampling) {
	r := sm.rate()
	if r == 0 {
		return
	}
	set := func(k samplerKey) {
		if _, known := e.rates[k]; known || len(e.rates) < maxSamplers {
			e.rates[k] = r
		}
	}
	set(samplerKey{domain: domain})
	if sm.hasID {
		set(samplerKey{domain: domain, id: sm.id, hasID: true})
	}
}

// announcedRate returns the sampling rate announced for a data record of
// domain whose fields say sm: the record's own, else that of the sampler
// it names, else the latest of its domain; 0 if none.
func (e *exporter) announcedRate(domain uint32, sm *sampling) uint32 {
	if r := sm.rate(); r > 0 {
		return r
	}
	if len(e.rates) == 0 {
		return 0
	}
	if sm.hasID {
		if r, ok := e.rates[samplerKey{domain: domain, id: sm.id, hasID: true}]; ok {
			return r
		}
	}
	return e.rates[samplerKey{domain: domain}]
}

// scale multiplies the counters of rec by the sampling rate that applies
// to it: announced, else the decoder's default.
func (d *decoder) scale(rec *flowlog.Record, announced uint32) {
	rate := announced
	if rate == 0 {
		rate = d.rate
	}
	if d.noScale || rate <= 1 {
		rate = 1
	}
	d.applied, d.announced = rate, announced
	if rate == 1 {
		return
	}
	rec.Scale(uint64(rate))
}
