package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/render"
)

func ipCommand() *command {
	return &command{
		name:    "ip",
		summary: "attribute IP addresses to provider, operator, parent and jurisdiction",
		help: `Usage: sovmap ip [flags] [ADDRESS ...]

Attributes each address to the provider that serves it, the operator company,
the ultimate parent, and three countries kept apart: control (headquarters of
the ultimate parent), registration (RIR) and location (where the server is),
with the evidence behind each verdict. Works offline on the embedded data,
or on the snapshot that 'sovmap data update' builds from the providers'
official feeds.

With no addresses, or with "-", addresses are read from standard input, one
per line, and records are written as each line is read, so millions of
addresses can go through a pipe. Blank lines and lines starting with # are
skipped. A port ("192.0.2.1:443", "[2001:db8::1]:443") is ignored.

A line that is not an address gives an error record in its place
({"input":"…","error":"…"} with --json) and the run goes on.

Flags:
  --json            one JSON record per line (the contract of docs/json.md)
  --brief           one tab-separated line per address: ip, provider, control,
                    registration, location, ASN, AS name
  --catalog FILE    extend or override the catalog (repeatable)
  --snapshot FILE   use this snapshot file; "embedded" for the one in the
                    binary (default: the data directory's sovmap.snap when
                    'sovmap data update' has written one, else the embedded)
  --data-dir DIR    the data directory (default: $XDG_DATA_HOME/sovmap or
                    ~/.local/share/sovmap)
  --policy P        evaluate a policy pack (us-icts, fcc-covered, eu-residency,
                    concentration, all) or a policy file (repeatable): findings
                    join each record ("findings" in JSON, rows in text, an
                    eighth column with --brief)
  --fail-on SEV     exit 1 when a finding reaches info, low, medium, high or
                    critical
  --format FORMAT   text, brief, json, or sarif (SARIF 2.1.0 of the findings;
                    needs --policy)

Exit status: 0 when every input was attributed or explained, 1 when some
input was not an address or a finding reached --fail-on, 2 for a usage error,
3 when the data cannot be loaded or output fails.

Examples:
  sovmap ip 47.88.1.1 8.8.8.8 2a00:1450:4001::1
  sovmap ip --json 47.88.1.1
  cut -f3 conn.tsv | sovmap ip --json > records.ndjson
  sovmap ip --brief < addresses.txt | sort | uniq -c
  sovmap ip --catalog ours.yaml 203.0.113.7
  sovmap ip --policy us-icts --fail-on high 47.88.1.1
  sovmap ip --policy all --format sarif < addresses.txt > sovmap.sarif
`,
		run: runIP,
	}
}

type ipOutput int

const (
	outBlock ipOutput = iota
	outBrief
	outJSON
	outSARIF
)

func runIP(e *env, args []string) error {
	fs := newFlags("ip")
	asJSON := fs.Bool("json", false, "")
	brief := fs.Bool("brief", false, "")
	var df dataFlags
	df.register(fs)
	var pf policyFlags
	pf.register(fs)
	format := fs.String("format", "", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *asJSON && *brief {
		return usagef("--json and --brief exclude each other")
	}
	mode := outBlock
	switch {
	case *asJSON:
		mode = outJSON
	case *brief:
		mode = outBrief
	}
	if mode, err = ipFormat(mode, *format, *asJSON || *brief, &pf); err != nil {
		return err
	}
	eng, _, err := df.engine(e)
	if err != nil {
		return err
	}
	pr, err := pf.start(eng.Catalog())
	if err != nil {
		return reportPolicyError(e, "ip", err)
	}
	w := bufio.NewWriterSize(e.stdout, 256*1024)
	p := &ipPrinter{eng: eng, w: w, mode: mode}
	if pr != nil {
		p.pol = newIPPolicy(eng, pr, mode == outSARIF)
	}
	if len(pos) == 0 {
		pos = []string{"-"}
	}
	for _, a := range pos {
		if a != "-" {
			p.line(a, 0)
			continue
		}
		// Standard input is read in place of its "-".
		if err := p.stream(e, e.stdin); err != nil {
			w.Flush()
			return err
		}
	}
	p.flush()
	if p.pol != nil {
		if err := p.pol.finish(p); err != nil {
			w.Flush()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var polErr error
	if pr != nil {
		polErr = pr.exit(e, "ip")
	}
	if p.invalid > 0 {
		e.errorf("ip: %d of %d inputs were not IP addresses", p.invalid, p.n)
		return &exitError{exitInvalid}
	}
	return polErr
}

type ipPrinter struct {
	eng     *attribution.Engine
	w       *bufio.Writer
	mode    ipOutput
	buf     []byte
	n       int
	invalid int
	blocks  int
	pol     *ipPolicy // nil without --policy

	// JSON records are made in batches (see flush): the addresses waiting,
	// and the ends and keys of their records.
	pending    []netip.Addr
	ends, keys [ipBatch]int
	rec        []byte // one record and its findings
}

// ipBatch is how many addresses ip --json attributes together: their
// look-ups overlap (attribution.Engine.AppendJSONMany).
const ipBatch = 64

// stream reads addresses from r line by line. Output is flushed whenever no
// more input is buffered, so that a slow producer sees results at once.
func (p *ipPrinter) stream(e *env, r io.Reader) error {
	br := bufio.NewReaderSize(r, 256*1024)
	lineNo := 0
	for {
		if err := e.ctx.Err(); err != nil {
			p.flush()
			return err
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer is not an address: skip it.
			lineNo++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			p.n++
			p.fail(fmt.Sprintf("line %d", lineNo), "line too long to be an address", lineNo)
			if err != nil && err != io.EOF {
				p.flush()
				return fmt.Errorf("read: %w", err)
			}
			if err == io.EOF {
				p.flush()
				return nil
			}
			continue
		}
		if len(line) > 0 {
			lineNo++
			p.lineBytes(line, lineNo)
		}
		if err == io.EOF {
			p.flush()
			return nil
		}
		if err != nil {
			p.flush()
			return fmt.Errorf("read: %w", err)
		}
		if br.Buffered() == 0 {
			p.flush()
			if err := p.w.Flush(); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
	}
}

func (p *ipPrinter) lineBytes(line []byte, lineNo int) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return
	}
	if a, ok := parseIPv4(line); ok {
		p.n++
		p.addr(a)
		return
	}
	p.line(string(line), lineNo)
}

func (p *ipPrinter) line(s string, lineNo int) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return
	}
	p.n++
	a, err := parseAddr(s)
	if err != nil {
		p.fail(s, err.Error(), lineNo)
		return
	}
	p.addr(a)
}

// flush writes the JSON records of the addresses waiting, in order.
func (p *ipPrinter) flush() {
	if len(p.pending) == 0 {
		return
	}
	n := len(p.pending)
	b := p.eng.AppendJSONMany(p.buf[:0], p.pending, p.ends[:n], p.keys[:n])
	start := 0
	for i, a := range p.pending {
		rec := b[start:p.ends[i]]
		start = p.ends[i]
		if p.pol != nil {
			r := p.pol.ip.AppendJSON(append(p.rec[:0], rec...), a, p.keys[i])
			p.rec = append(r, '\n')
			p.w.Write(p.rec)
			continue
		}
		p.w.Write(rec)
		p.w.WriteByte('\n')
	}
	p.buf = b
	p.pending = p.pending[:0]
}

func (p *ipPrinter) fail(input, msg string, lineNo int) {
	p.flush()
	p.invalid++
	switch p.mode {
	case outJSON:
		b := append(p.buf[:0], `{"input":`...)
		b = attribution.AppendJSONString(b, input)
		b = append(b, `,"error":`...)
		b = attribution.AppendJSONString(b, msg)
		if lineNo > 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, int64(lineNo), 10)
		}
		b = append(b, "}\n"...)
		p.buf = b
		p.w.Write(b)
	case outSARIF:
	case outBrief:
		render.Fprintf(p.w, "%s\terror: %s\n", render.Clip(input, render.MaxShown), msg)
	default:
		p.sep()
		where := ""
		if lineNo > 0 {
			where = fmt.Sprintf(" (line %d)", lineNo)
		}
		render.Fprintf(p.w, "%s\n  error         %s%s\n", render.Clip(input, render.MaxShown), msg, where)
	}
}

func (p *ipPrinter) addr(a netip.Addr) {
	switch p.mode {
	case outJSON:
		if p.pending = append(p.pending, a); len(p.pending) == ipBatch {
			p.flush()
		}
	case outSARIF:
		_, p.buf = p.pol.ip.Findings(a, p.buf)
	case outBrief:
		r := p.eng.Attribute(a)
		if p.pol != nil {
			var fs []policy.Finding
			fs, p.buf = p.pol.ip.Findings(a, p.buf)
			writeBrief(p.w, &r, ruleList(fs))
			return
		}
		writeBrief(p.w, &r)
	default:
		r := p.eng.Attribute(a)
		p.sep()
		writeBlock(p.w, &r)
		if p.pol != nil {
			var fs []policy.Finding
			fs, p.buf = p.pol.ip.Findings(a, p.buf)
			writeFindingRows(p.w, fs)
		}
	}
}

func (p *ipPrinter) sep() {
	if p.blocks > 0 {
		p.w.WriteByte('\n')
	}
	p.blocks++
}

// parseAddr parses an address, allowing a port and brackets, refusing
// zones and prefixes with a clear message.
func parseAddr(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, errors.New("an address with a zone is not a public address")
		}
		return a.Unmap(), nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Addr().Zone() != "" {
			return netip.Addr{}, errors.New("an address with a zone is not a public address")
		}
		return ap.Addr().Unmap(), nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return parseAddr(s[1 : len(s)-1])
	}
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err == nil {
			return netip.Addr{}, errors.New("a prefix, not an address (give one address of it)")
		}
	}
	return netip.Addr{}, errors.New("not an IP address")
}

// parseIPv4 is the fast path for a dotted-quad IPv4 address.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, digits, val := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return netip.Addr{}, false
			}
			ip[field] = byte(val)
			field++
			digits, val = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(val)
	return netip.AddrFrom4(ip), true
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeBrief(w *bufio.Writer, r *attribution.Record, extra ...string) {
	var prov, ctl, reg, loc, asn string
	if r.Provider != nil {
		prov = r.Provider.ID
	}
	if r.Control != nil {
		ctl = r.Control.Country
	}
	if r.Registration != nil {
		reg = r.Registration.Country
	}
	if r.Location != nil {
		loc = r.Location.Country
	}
	if r.ASN != 0 {
		asn = "AS" + strconv.FormatUint(uint64(r.ASN), 10)
	}
	render.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s", r.IP, dash(prov), dash(ctl), dash(reg), dash(loc), dash(asn), dash(r.ASName))
	for _, x := range extra {
		w.WriteString("\t" + x)
	}
	w.WriteByte('\n')
}

func writeBlock(w *bufio.Writer, r *attribution.Record) {
	fmt.Fprintf(w, "%s\n", r.IP)
	// Names and details come from the catalog and the snapshot: every
	// string is printed by render's terminal rule.
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "  %-13s ", k)
		render.Fprintf(w, format, args...)
		w.WriteByte('\n')
	}
	if r.Provider != nil {
		row("provider", "%s (%s, %s)", r.Provider.Name, r.Provider.ID, r.Provider.Kind)
	} else {
		row("provider", "unknown: no catalog entry matches this network")
	}
	if r.Operator != nil {
		row("operator", "%s [%s]", r.Operator.Name, r.Operator.Country)
	}
	if r.Parent != nil && (r.Operator == nil || r.Parent.ID != r.Operator.ID) {
		row("parent", "%s [%s]", r.Parent.Name, r.Parent.Country)
	}
	switch {
	case r.Control != nil && r.Control.Source == attribution.ControlRegistry:
		row("control", "%s (registry only, unverified): %s", r.Control.Country, r.Control.Basis)
	case r.Control != nil:
		row("control", "%s: %s", r.Control.Country, r.Control.Basis)
	default:
		row("control", "unknown")
	}
	if r.Registration != nil {
		row("registration", "%s (%s)", r.Registration.Country, r.Registration.Source)
	}
	if r.Location != nil {
		loc := r.Location.Country
		if r.Location.City != "" {
			loc += ", " + r.Location.City
		}
		if r.Location.Area != "" {
			loc += ", " + r.Location.Area
		}
		if r.Location.Region != "" {
			loc += ", region " + r.Location.Region
		}
		if r.Location.Anycast {
			row("location", "anycast: served from many countries (%s %s)", r.Location.Source, loc)
		} else {
			row("location", "%s (%s)", loc, r.Location.Source)
		}
	}
	switch {
	case r.ASN != 0 && r.Prefix.IsValid():
		row("network", "AS%d %s, %s", r.ASN, r.ASName, r.Prefix)
	case r.ASN != 0:
		row("network", "AS%d %s", r.ASN, r.ASName)
	case r.Prefix.IsValid():
		row("network", "%s", r.Prefix)
	}
	row("confidence", "%s", r.Confidence)
	for i, ev := range r.Evidence {
		k := ""
		if i == 0 {
			k = "evidence"
		}
		row(k, "%s: %s [%s]", ev.Method, ev.Detail, ev.Source)
	}
}
