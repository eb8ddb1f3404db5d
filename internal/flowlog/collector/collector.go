// Package collector receives NetFlow v5, NetFlow v9 and IPFIX export
// packets over UDP and turns their flow records into [flowlog.Record]s.
//
// Decoding is done by the netsampler/goflow2 decoders. Templates (NetFlow v9
// and IPFIX) are kept per exporter, an exporter being the source address and
// port of the packets (RFC 7011 scopes templates to the transport session),
// and within it per observation domain.
//
// # Never blocking the socket
//
// One goroutine reads the socket and does nothing else: it copies each
// packet into a small buffer and hands it to the decoder that owns its
// exporter, through a bounded queue. When the queue is full, in packets or
// in bytes, the packet is dropped and counted, per exporter and in total,
// rather than leaving the socket unread (where the kernel would drop
// packets without telling anyone). Decoders call [Collector.Sink] with the
// flows of each packet; a slow sink slows only the decoders, and their
// queues absorb bursts.
//
// # Limits
//
// Exporters are untrusted: anyone who can reach the socket can send
// anything, from any source port. What one packet makes the collector hold
// or allocate is bounded:
//
//   - Exporters: [Collector.MaxExporters] (default 4,096); packets from
//     more are rejected and counted.
//   - Waiting packets: [Collector.QueueLen] per decoder (default 4,096, at
//     most [MaxQueueLen]) and [Collector.QueueBytes] in all (default 256
//     MiB); decoders: at most [MaxWorkers].
//   - Templates: a template or options template must have fields, each
//     taking at least one byte in a data record (a fixed length of 1 or
//     more, or variable); the decoder library would loop without end on a
//     template whose fields take none. A template record must hold the
//     fields it counts. So a packet's records times fields are at most its
//     length, and decoding allocates a small multiple of it. An exporter
//     keeps at most 4,096 templates with 65,536 fields in all, over all its
//     observation domains. A template refused is a decode error, with the
//     reason as the exporter's last error.
//   - Per exporter, the time bases of at most 1,024 observation domains
//     and at most 1,024 sampling rates (domains and samplers) are kept.
//
// # Counts
//
// [Collector.Stats] reports, for the collector and for each exporter, the
// packets received and dropped, the flows decoded, the data sets that
// arrived before their template (template misses) and the packets that
// failed to decode. Counters only grow; [Stats.Sub] gives the counts of a
// window.
//
// # Times
//
// Flow start and end times are converted to absolute times where the
// packet allows: NetFlow v5 and v9 times are relative to the exporter's
// uptime and are placed with the packet header's clock; IPFIX absolute
// times (flowStartSeconds to flowEndNanoseconds) are used as they are, and
// uptime-relative ones with systemInitTimeMilliseconds when the exporter
// has sent it.
//
// # Sampling
//
// An exporter that samples counts one packet in N and may say so: in the
// NetFlow v5 header (sampling_interval), or in NetFlow v9 and IPFIX
// options or data records (samplingInterval, samplerRandomInterval, or
// samplingPacketInterval with samplingPacketSpace, the PSAMP count-based
// selector, whose rate is (interval+space)/interval). Announced rates are
// kept per exporter and observation domain, and per sampler when options
// name one (samplerId, selectorId) and data records refer to it. The bytes
// and packets of each flow are multiplied by the rate that applies to it:
// the one its data record gives, else that of the sampler it names, else
// the latest its domain announced, else [Collector.SamplingRate]. Flow
// counts are not scaled: a sampled exporter does not see every flow.
// [ExporterStats] reports the rate applied and the rate announced.
package collector

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// Defaults of a Collector's zero fields.
const (
	DefaultQueueLen     = 4096
	DefaultQueueBytes   = 256 << 20
	DefaultMaxExporters = 4096
	DefaultReadBuffer   = 4 << 20
)

// Upper bounds of a Collector's fields; Run refuses more.
const (
	MaxWorkers  = 256
	MaxQueueLen = 1 << 16
)

// A Collector reads export packets from a socket and decodes them. Set Conn
// and Sink; the other fields may be left zero.
type Collector struct {
	// Conn is the socket to read, usually a *net.UDPConn from
	// net.ListenUDP. Run closes it when its context ends.
	Conn net.PacketConn
	// Sink receives the flows of each packet, from the decoder goroutine
	// of the packet's exporter (worker is its index). The slice is reused
	// once Sink returns.
	Sink func(worker int, exporter netip.AddrPort, flows []flowlog.Record)
	// Workers is the number of decoder goroutines, at most MaxWorkers; 0
	// means one less than GOMAXPROCS, at least one and at most MaxWorkers.
	Workers int
	// QueueLen is the number of packets each decoder may have waiting, at
	// most MaxQueueLen; 0 means DefaultQueueLen.
	QueueLen int
	// QueueBytes bounds the memory of the packets waiting for the
	// decoders, all together: each decoder may have its share waiting
	// (QueueBytes/Workers, at least one largest datagram), counting a
	// buffer of at least 2 KiB a packet. A packet past it is dropped and
	// counted as a full queue is. 0 means DefaultQueueBytes.
	QueueBytes int
	// MaxExporters bounds the number of exporters tracked; packets from
	// further exporters are dropped and counted as rejected. 0 means
	// DefaultMaxExporters.
	MaxExporters int
	// Exporters, if not empty, are the networks exporters may send from;
	// packets from other sources are dropped unread and counted as
	// refused. Without it, anyone who can reach the socket (or spoof a
	// source address) is an exporter, up to MaxExporters.
	Exporters []netip.Prefix
	// ReadBuffer is the socket receive buffer asked of the kernel; 0 means
	// DefaultReadBuffer, negative leaves the system default.
	ReadBuffer int
	// SamplingRate is the sampling rate (one packet in SamplingRate) of
	// exporters that announce none; 0 and 1 take them as unsampled. A rate
	// an exporter announces is used instead.
	SamplingRate uint32
	// NoSamplingScale reports counters as exported: no sampling rate,
	// announced or SamplingRate, multiplies them. Announced rates are
	// still reported.
	NoSamplingScale bool

	received, dropped, rejected, refused, readErrors atomic.Uint64

	mu        sync.Mutex
	exporters []*exporter // in order of first packet
}

// Stats are the counts of a collector. Counters only grow.
type Stats struct {
	Packets    uint64          `json:"packets"`           // packets received from the socket
	Dropped    uint64          `json:"dropped"`           // packets dropped because a decoder queue was full
	Rejected   uint64          `json:"rejected"`          // packets from exporters beyond MaxExporters
	Refused    uint64          `json:"refused,omitempty"` // packets from sources outside Exporters
	ReadErrors uint64          `json:"read_errors"`       // failed socket reads
	Exporters  []ExporterStats `json:"exporters"`         // in order of first packet
	Flows      uint64          `json:"flows"`             // flows decoded, all exporters
	Errors     uint64          `json:"decode_errors"`     // packets that failed to decode, all exporters
	Misses     uint64          `json:"template_misses"`   // data sets without their template, all exporters
	Versions   []uint16        `json:"versions,omitzero"` // export versions seen
}

// ExporterStats are the counts of one exporter.
type ExporterStats struct {
	Exporter       netip.AddrPort `json:"exporter"`
	Version        uint16         `json:"version"` // of its latest packet: 5, 9 or 10 (IPFIX)
	Packets        uint64         `json:"packets"`
	Dropped        uint64         `json:"dropped"`
	Flows          uint64         `json:"flows"`
	TemplateMisses uint64         `json:"template_misses"`
	DecodeErrors   uint64         `json:"decode_errors"`
	LastError      string         `json:"last_error,omitempty"`
	// SamplingRate is the rate its latest flows' bytes and packets were
	// multiplied by; 1 when they were not scaled.
	SamplingRate uint32 `json:"sampling_rate"`
	// AnnouncedSamplingRate is the sampling rate it announced for its
	// latest flows; 0 when it announced none.
	AnnouncedSamplingRate uint32 `json:"announced_sampling_rate"`
}

// Sub returns the counts of s since prev, an earlier Stats of the same
// collector. Exporters without packets since prev are left out.
func (s Stats) Sub(prev Stats) Stats {
	out := Stats{
		Packets:    s.Packets - prev.Packets,
		Dropped:    s.Dropped - prev.Dropped,
		Rejected:   s.Rejected - prev.Rejected,
		Refused:    s.Refused - prev.Refused,
		ReadErrors: s.ReadErrors - prev.ReadErrors,
	}
	old := make(map[netip.AddrPort]ExporterStats, len(prev.Exporters))
	for _, e := range prev.Exporters {
		old[e.Exporter] = e
	}
	for _, e := range s.Exporters {
		p := old[e.Exporter]
		d := ExporterStats{
			Exporter:       e.Exporter,
			Version:        e.Version,
			Packets:        e.Packets - p.Packets,
			Dropped:        e.Dropped - p.Dropped,
			Flows:          e.Flows - p.Flows,
			TemplateMisses: e.TemplateMisses - p.TemplateMisses,
			DecodeErrors:   e.DecodeErrors - p.DecodeErrors,

			SamplingRate:          e.SamplingRate,
			AnnouncedSamplingRate: e.AnnouncedSamplingRate,
		}
		if d.DecodeErrors > 0 {
			d.LastError = e.LastError
		}
		if d.Packets == 0 && d.Dropped == 0 {
			continue
		}
		out.Exporters = append(out.Exporters, d)
	}
	out.total()
	return out
}

func (s *Stats) total() {
	s.Flows, s.Errors, s.Misses, s.Versions = 0, 0, 0, nil
	for _, e := range s.Exporters {
		s.Flows += e.Flows
		s.Errors += e.DecodeErrors
		s.Misses += e.TemplateMisses
		if e.Version != 0 && !slices.Contains(s.Versions, e.Version) {
			s.Versions = append(s.Versions, e.Version)
		}
	}
	slices.Sort(s.Versions)
}

// Stats returns the counts so far.
func (c *Collector) Stats() Stats {
	s := Stats{
		Packets:    c.received.Load(),
		Dropped:    c.dropped.Load(),
		Rejected:   c.rejected.Load(),
		Refused:    c.refused.Load(),
		ReadErrors: c.readErrors.Load(),
	}
	c.mu.Lock()
	exps := slices.Clone(c.exporters)
	c.mu.Unlock()
	for _, e := range exps {
		es := ExporterStats{
			Exporter:       e.addr,
			Version:        uint16(e.version.Load()),
			Packets:        e.packets.Load(),
			Dropped:        e.dropped.Load(),
			Flows:          e.flows.Load(),
			TemplateMisses: e.misses.Load(),
			DecodeErrors:   e.errors.Load(),

			SamplingRate:          max(e.applied.Load(), 1),
			AnnouncedSamplingRate: e.announced.Load(),
		}
		if p := e.lastErr.Load(); p != nil {
			es.LastError = *p
		}
		s.Exporters = append(s.Exporters, es)
	}
	s.total()
	return s
}

// packet is one datagram waiting for its decoder.
type packet struct {
	exp *exporter
	buf *[]byte
}

// queue holds the packets waiting for one decoder.
type queue struct {
	ch    chan packet
	bytes atomic.Int64 // the capacity of their buffers
}

// smallPacket is the buffer size for most datagrams (an Ethernet MTU).
const smallPacket = 2048

// maxDatagram is the size of the largest UDP datagram.
const maxDatagram = 1 << 16

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, smallPacket); return &b }}

func getBuf(n int) *[]byte {
	if n > smallPacket {
		b := make([]byte, n)
		return &b
	}
	p := bufPool.Get().(*[]byte)
	*p = (*p)[:n]
	return p
}

func putBuf(p *[]byte) {
	if cap(*p) == smallPacket {
		bufPool.Put(p)
	}
}

// runSettings are a collector's settings with the defaults filled in.
type runSettings struct {
	workers      int
	queueLen     int
	budget       int64 // the bytes each decoder's queue may hold
	maxExporters int
}

// settings checks the collector's fields and fills in the defaults.
func (c *Collector) settings() (runSettings, error) {
	if c.Conn == nil || c.Sink == nil {
		return runSettings{}, errors.New("collector: Conn and Sink must be set")
	}
	if c.Workers > MaxWorkers {
		return runSettings{}, fmt.Errorf("collector: %d workers, more than the %d allowed", c.Workers, MaxWorkers)
	}
	if c.QueueLen > MaxQueueLen {
		return runSettings{}, fmt.Errorf("collector: queues of %d packets, more than the %d allowed", c.QueueLen, MaxQueueLen)
	}
	cfg := runSettings{workers: c.Workers, queueLen: c.QueueLen, maxExporters: c.MaxExporters}
	if cfg.workers <= 0 {
		cfg.workers = min(max(runtime.GOMAXPROCS(0)-1, 1), MaxWorkers)
	}
	if cfg.queueLen <= 0 {
		cfg.queueLen = DefaultQueueLen
	}
	qbytes := c.QueueBytes
	if qbytes <= 0 {
		qbytes = DefaultQueueBytes
	}
	// Each decoder's share, enough for the largest datagram.
	cfg.budget = int64(max(qbytes/cfg.workers, maxDatagram))
	if cfg.maxExporters <= 0 {
		cfg.maxExporters = DefaultMaxExporters
	}
	return cfg, nil
}

// decodeQueue decodes the packets of a queue until it is closed, as
// decoder number worker.
func (c *Collector) decodeQueue(worker int, q *queue) {
	d := decoder{worker: worker, sink: c.Sink, rate: c.SamplingRate, noScale: c.NoSamplingScale}
	for p := range q.ch {
		d.decode(p.exp, *p.buf)
		size := int64(cap(*p.buf))
		putBuf(p.buf)
		q.bytes.Add(-size)
	}
}

// Run reads and decodes packets until ctx ends, then closes the socket,
// lets the decoders finish the packets already queued, and returns nil. It
// returns an error if the socket fails otherwise.
func (c *Collector) Run(ctx context.Context) error {
	cfg, err := c.settings()
	if err != nil {
		return err
	}
	workers, budget, maxExp := cfg.workers, cfg.budget, cfg.maxExporters
	if uc, ok := c.Conn.(*net.UDPConn); ok && c.ReadBuffer >= 0 {
		rb := c.ReadBuffer
		if rb == 0 {
			rb = DefaultReadBuffer
		}
		_ = uc.SetReadBuffer(rb) // best effort: the system may cap it
	}
	queues := make([]queue, workers)
	var wg sync.WaitGroup
	for i := range queues {
		q := &queues[i]
		q.ch = make(chan packet, cfg.queueLen)
		wg.Go(func() { c.decodeQueue(i, q) })
	}
	stop := context.AfterFunc(ctx, func() { c.Conn.Close() })
	defer stop()

	seed := maphash.MakeSeed()
	byAddr := make(map[netip.AddrPort]*exporter)
	scratch := make([]byte, maxDatagram)
	uc, _ := c.Conn.(*net.UDPConn)
	for {
		var n int
		var from netip.AddrPort
		var rerr error
		if uc != nil {
			n, from, rerr = uc.ReadFromUDPAddrPort(scratch)
		} else {
			var a net.Addr
			n, a, rerr = c.Conn.ReadFrom(scratch)
			if ua, ok := a.(*net.UDPAddr); ok {
				from = ua.AddrPort()
			}
		}
		if rerr != nil {
			if ctx.Err() != nil || errors.Is(rerr, net.ErrClosed) {
				if ctx.Err() == nil {
					err = rerr
				}
				break
			}
			c.readErrors.Add(1)
			var ne net.Error
			if errors.As(rerr, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			continue
		}
		c.received.Add(1)
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		exp := byAddr[from]
		if exp == nil {
			if len(c.Exporters) > 0 && !slices.ContainsFunc(c.Exporters, func(p netip.Prefix) bool { return p.Contains(from.Addr()) }) {
				c.refused.Add(1)
				continue
			}
			if len(byAddr) >= maxExp {
				c.rejected.Add(1)
				continue
			}
			h := maphash.Comparable(seed, from)
			exp = newExporter(from, int(h%uint64(workers)))
			byAddr[from] = exp
			c.mu.Lock()
			c.exporters = append(c.exporters, exp)
			c.mu.Unlock()
		}
		exp.packets.Add(1)
		q := &queues[exp.worker]
		size := int64(max(n, smallPacket)) // cap(*getBuf(n))
		if q.bytes.Load()+size > budget {
			exp.dropped.Add(1)
			c.dropped.Add(1)
			continue
		}
		buf := getBuf(n)
		copy(*buf, scratch[:n])
		q.bytes.Add(size)
		select {
		case q.ch <- packet{exp: exp, buf: buf}:
		default:
			q.bytes.Add(-size)
			putBuf(buf)
			exp.dropped.Add(1)
			c.dropped.Add(1)
		}
	}
	for i := range queues {
		close(queues[i].ch)
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("collector: read: %w", err)
	}
	return nil
}
