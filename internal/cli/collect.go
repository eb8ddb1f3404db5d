package cli

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/flowagg"
	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/collector"
	"github.com/sovmap/sovmap/internal/render"
)

func collectCommand() *command {
	return &command{
		name:    "collect",
		summary: "collect NetFlow v5/v9 and IPFIX over UDP and summarize it live",
		help: `Usage: sovmap collect [flags]

Listens for NetFlow v5, NetFlow v9 and IPFIX export packets on UDP,
attributes the remote end of every flow (as 'sovmap flows' does), and every
interval writes the summary of that window: bytes, packets and flows by
controlling country, provider, location, remote address and service, the
unattributed share, and the collector's own counts per exporter (packets,
flows, sampling rate, template misses, decode errors, drops). Several
exporters may send at once; NetFlow v9 and IPFIX templates are kept per
exporter.

Sampled exports are scaled: the bytes and packets of an exporter that
announces it samples one packet in N (NetFlow v5 header, NetFlow v9 and
IPFIX samplingInterval, samplerRandomInterval or samplingPacketInterval
and samplingPacketSpace) are multiplied by N. Flow counts are not scaled.

The socket is read by a goroutine that does nothing else and never waits:
packets go to the decoders through bounded queues, and a packet that finds
its queue full is dropped and counted. Data that arrives before its
template is counted as a template miss. Interrupt (Ctrl-C, SIGTERM) stops
the collector: the packets already received are decoded and a last
summary is written.

Exporters are not trusted: give --exporters on a network where others
can reach the port, since UDP sources are easily spoofed. A template is refused, as a decode error, when
it has no fields or a field of length 0, or when its exporter already holds
4096 templates or 65536 template fields (over all its observation
domains); at most 4096 exporters are tracked.

Flags:
  --listen ADDR     UDP address to listen on (default 127.0.0.1:2055; use
                    0.0.0.0:2055 or [::]:2055 for exporters on the network,
                    port 0 for any free port)
  --interval D      summary interval (default 1m)
  --json            one JSON object per window (NDJSON): the 'flows'
                    summary plus window_start, window_end and collector
  --by LIST         groups, as for 'sovmap flows' (default
                    control,provider,location,remote-ip,service)
  --top N           rows per group (default 10; 0 shows all)
  --local NETS      our networks (replaces the private and special-use
                    ranges)
  --exporters NETS  accept packets only from these networks or addresses
                    (comma-separated or repeated); others are dropped and
                    counted as refused (default: any source)
  --max-remotes N   remote addresses tracked one by one per window
                    (default 1000000, about 300 MB; 0 for no bound); past
                    it the rarer half are folded into their group, so
                    totals and groups stay exact (see 'sovmap flows')
  --queue N         packets each decoder may have waiting (default 4096, at
                    most 65536); all decoders together hold at most 256 MiB
                    of waiting packets
  --workers N       decoder goroutines (default: one less than the CPUs, at
                    most 256)
  --sampling-rate N the sampling rate (1 in N packets) of exporters that
                    announce none; an announced rate wins (default 1:
                    unsampled)
  --no-sampling-scale
                    report bytes and packets as exported, never multiplied
                    by a sampling rate (the announced rate is still shown)
  --catalog FILE    extend or override the catalog (repeatable)
  --snapshot FILE   use this snapshot instead of the embedded one

Exit status: 0 after an interrupt when every packet was decoded, 1 when
packets were dropped, failed to decode or missed their template, 2 for a
usage error, 3 when the address cannot be bound or the data not loaded.

Examples:
  sovmap collect --listen 127.0.0.1:2055 --interval 10s
  sovmap collect --listen 0.0.0.0:2055 --json >> flows.ndjson
  sovmap collect --local 10.0.0.0/8,192.0.2.0/24 --by control,provider
  sovmap collect --sampling-rate 1000           # routers that sample 1:1000 silently
  softflowd -i eth0 -n 127.0.0.1:2055 -v 10     # an exporter to try it
`,
		run: runCollect,
	}
}

// collectWindow is one window's output: the flows summary, the window and
// the collector's counts for it.
type collectWindow struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	*flowagg.Summary
	Collector collector.Stats `json:"collector"`
}

func runCollect(e *env, args []string) error {
	a, err := parseCollectArgs(args)
	if err != nil {
		return err
	}
	eng, _, err := a.data.engine(e)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp", a.addr)
	if err != nil {
		return err
	}
	shards := flowagg.NewShards(a.workers, flowagg.NewLocal(a.local))
	if a.maxRemotes > 0 {
		// Spoofed sources must not grow a window without bound.
		shards.Bound(a.maxRemotes, eng)
	}
	c := &collector.Collector{
		Conn:     conn,
		Workers:  a.workers,
		QueueLen: a.queue,
		Sink: func(worker int, _ netip.AddrPort, flows []flowlog.Record) {
			shards.Add(worker, flows)
		},
		SamplingRate:    uint32(a.rate),
		NoSamplingScale: a.noScale,
		Exporters:       a.exporters,
	}
	e.errorf("collect: listening on udp %s for NetFlow v5, v9 and IPFIX; a summary every %v", conn.LocalAddr(), a.interval)
	switch {
	case a.noScale:
		e.errorf("collect: bytes and packets are reported as exported, not scaled by sampling rates")
	case a.rate > 1:
		e.errorf("collect: exporters that announce no sampling rate are taken to sample 1 packet in %d", a.rate)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(e.ctx) }()
	win := &windows{w: bufio.NewWriter(e.stdout), a: a, c: c, shards: shards, eng: eng, start: time.Now()}
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := win.emit(); err != nil {
				// Output is gone (a closed pipe): stop collecting.
				conn.Close()
				<-done
				return fmt.Errorf("write: %w", err)
			}
		case runErr := <-done:
			return collectEnd(e, c, runErr, win.emit())
		}
	}
}

// collectArgs are the parsed command line of collect.
type collectArgs struct {
	flowOptions
	listen    string
	interval  time.Duration
	queue     int
	workers   int // the flag's value, or the number chosen for 0
	rate      uint64
	noScale   bool
	exporters []netip.Prefix // nil for any

	opt   flowagg.Options
	local []netip.Prefix
	addr  *net.UDPAddr
}

// parseCollectArgs parses and checks the command line of collect.
func parseCollectArgs(args []string) (*collectArgs, error) {
	fs := newFlags("collect")
	a := &collectArgs{}
	a.register(fs)
	fs.StringVar(&a.listen, "listen", "127.0.0.1:2055", "")
	fs.DurationVar(&a.interval, "interval", time.Minute, "")
	fs.IntVar(&a.queue, "queue", collector.DefaultQueueLen, "")
	fs.IntVar(&a.workers, "workers", 0, "")
	fs.Uint64Var(&a.rate, "sampling-rate", 0, "")
	fs.BoolVar(&a.noScale, "no-sampling-scale", false, "")
	var exporters stringList
	fs.Var(&exporters, "exporters", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("unexpected argument %q (collect reads the network, not files; see 'sovmap flows')", pos[0])
	}
	if a.opt, a.local, err = a.parse(); err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	for _, l := range exporters {
		p, err := flowagg.ParseLocal(l)
		if err != nil {
			return nil, usagef("--exporters: %v", err)
		}
		a.exporters = append(a.exporters, p...)
	}
	if len(exporters) > 0 && len(a.exporters) == 0 {
		return nil, usagef("--exporters: no networks given")
	}
	if a.workers == 0 {
		a.workers = min(max(runtime.GOMAXPROCS(0)-1, 1), collector.MaxWorkers)
	}
	if a.addr, err = net.ResolveUDPAddr("udp", a.listen); err != nil {
		return nil, usagef("--listen %q: %v", a.listen, err)
	}
	return a, nil
}

// check checks the ranges of collect's numeric flags.
func (a *collectArgs) check() error {
	switch {
	case a.interval < 100*time.Millisecond:
		return usagef("--interval %v is too short (at least 100ms)", a.interval)
	case a.queue < 1 || a.queue > collector.MaxQueueLen:
		return usagef("--queue %d is out of range (1 to %d)", a.queue, collector.MaxQueueLen)
	case a.workers < 0 || a.workers > collector.MaxWorkers:
		return usagef("--workers %d is out of range (0, automatic, to %d)", a.workers, collector.MaxWorkers)
	case a.rate > math.MaxUint32:
		return usagef("--sampling-rate %d is too large (at most %d)", a.rate, uint32(math.MaxUint32))
	case a.rate > 1 && a.noScale:
		return usagef("--sampling-rate and --no-sampling-scale exclude each other")
	}
	return nil
}

// windows writes collect's windows: each takes the flows gathered since
// the last and the collector's counts for them.
type windows struct {
	w      *bufio.Writer
	a      *collectArgs
	c      *collector.Collector
	shards *flowagg.Shards
	eng    *attribution.Engine
	start  time.Time       // of the current window
	prev   collector.Stats // the collector's counts at its start
}

// emit writes the current window and starts the next.
func (x *windows) emit() error {
	agg := x.shards.Take()
	now := time.Now()
	st := x.c.Stats()
	win := collectWindow{WindowStart: x.start.UTC(), WindowEnd: now.UTC(), Summary: agg.Summarize(x.eng, x.a.opt), Collector: st.Sub(x.prev)}
	x.start, x.prev = now, st
	var err error
	if x.a.json {
		err = writeJSONLine(x.w, &win)
	} else {
		writeWindow(x.w, &win, len(x.a.locals) == 0)
	}
	if ferr := x.w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// collectEnd returns the exit status of collect once the collector has
// stopped with runErr and the last window was written with writeErr:
// invalid when packets were lost.
func collectEnd(e *env, c *collector.Collector, runErr, writeErr error) error {
	if runErr != nil {
		return runErr
	}
	if writeErr != nil {
		return fmt.Errorf("write: %w", writeErr)
	}
	total := c.Stats()
	if lost := total.Dropped + total.Errors + total.Misses + total.Rejected + total.Refused; lost > 0 {
		e.errorf("collect: %d packets dropped, %d rejected, %d refused, %d failed to decode, %d data sets missed their template",
			total.Dropped, total.Rejected, total.Refused, total.Errors, total.Misses)
		return &exitError{exitInvalid}
	}
	return nil
}

// writeWindow writes the human form of one window.
func writeWindow(w io.Writer, win *collectWindow, defaultLocal bool) {
	st := &win.Collector
	fmt.Fprintf(w, "== window %s to %s: %s packets, %s flows from %d exporters\n",
		win.WindowStart.Format(time.DateTime), win.WindowEnd.Format(time.DateTime+" MST"),
		render.Comma(st.Packets), render.Comma(st.Flows), len(st.Exporters))
	if st.Dropped+st.Rejected+st.Refused+st.ReadErrors > 0 {
		fmt.Fprintf(w, "   dropped %d packets (queues full), rejected %d (too many exporters), refused %d (not from --exporters), %d read errors\n", st.Dropped, st.Rejected, st.Refused, st.ReadErrors)
	}
	if len(st.Exporters) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  EXPORTER\tVERSION\tPACKETS\tFLOWS\tSAMPLING\tDROPPED\tTEMPLATE MISSES\tDECODE ERRORS\t\n")
		for _, x := range st.Exporters {
			v := fmt.Sprint("v", x.Version)
			if x.Version == 10 {
				v = "IPFIX"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%s\n", x.Exporter, v, x.Packets, x.Flows, samplingCell(&x), x.Dropped, x.TemplateMisses, x.DecodeErrors, render.Safe(x.LastError))
		}
		tw.Flush()
	}
	if st.Packets == 0 && win.Remote.Flows+win.Internal.Flows+win.Transit.Flows == 0 {
		return
	}
	fmt.Fprintln(w)
	writeSummary(w, win.Summary, defaultLocal)
	fmt.Fprintln(w)
}

// samplingCell describes the sampling of an exporter's latest flows: the
// rate their counters were multiplied by, and whether the exporter
// announced it.
func samplingCell(x *collector.ExporterStats) string {
	applied, announced := x.SamplingRate, x.AnnouncedSamplingRate
	switch {
	case applied > 1 && announced == 0:
		return fmt.Sprintf("1:%d assumed", applied)
	case applied > 1:
		return fmt.Sprintf("1:%d", applied)
	case announced > 1:
		return fmt.Sprintf("1:%d not scaled", announced)
	}
	return "none"
}
