package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/dnsscan"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/policy/policyrun"
	"github.com/sovmap/sovmap/internal/progress"
	"github.com/sovmap/sovmap/internal/render"
	"github.com/sovmap/sovmap/internal/zonefile"
)

func scanCommand() *command {
	return &command{
		name:    "scan",
		summary: "map domains to the providers behind their web, DNS and mail",
		help: `Usage:
  sovmap scan [flags] [FILE | -]
  sovmap scan --zone ZONEFILE [--origin NAME] [--summary] [--json]

Resolves each domain of FILE (one per line; standard input with "-" or no
FILE) in three layers and attributes everything it finds:
  web    the apex and www: A and AAAA records, through the CNAME chain
         (every hop is kept and attributed by its name)
  dns    the NS hosts and their addresses
  mail   the MX hosts and their addresses
Every host is attributed by its name (CNAME, NS and MX suffixes such as
aliyuncs.com, dnspod.net, mxhichina.com, cloudfront.net) and every address
as 'sovmap ip' attributes it: provider, operator, ultimate parent, and the
control, registration and location countries.

Queries go to recursive resolvers: those of /etc/resolv.conf, or those given
with --resolver. Each result is written as soon as it is complete.

Every input line gives exactly one record (blank lines and lines starting
with # are skipped), with a status:
  ok        the domain's NS, MX, A and AAAA queries were answered (an empty
            answer is an answer: a domain without MX is ok)
  nxdomain  the domain does not exist
  servfail  the resolver could not resolve it (a lame or broken delegation)
  timeout   no answer after every retry
  error     a refused query, a network error, or an input that is not a
            domain name or repeats an earlier line (the record says why)
A failure of one host (www, a name server, a CNAME loop) is shown on that
host and leaves the domain's status alone.

With --zone, no query is sent: the zone file (master format, gzip or not) is
read, and each domain it delegates gets its DNS layer from its NS names and
the glue the zone holds. With --summary, the share of domains per provider
and per control country is printed instead of one record per domain.

Output is one JSON record per line (NDJSON, see docs/scan.md) when standard
output is a file or a pipe, and a readable table on a terminal.

Flags:
  --json             NDJSON even on a terminal
  --text             the table even in a pipe
  --format F         text, json, or sarif (a SARIF 2.1.0 log of the findings;
                     needs --policy)
  --policy P         check every layer against a policy pack (us-icts,
                     fcc-covered, eu-residency, concentration, all) or a
                     policy file (repeatable): findings join each record
  --fail-on SEV      exit 1 when a finding reaches info, low, medium, high or
                     critical
  --summary          print the shares of domains per provider and control
                     country, per layer, instead of the records
  --resume FILE      append the records to FILE (an earlier --json output,
                     created if missing), skipping the domains it holds; a
                     partial last line left by an interrupted run is
                     dropped and its domain scanned again
  --ordered          write records in input order (default: as completed)
  --resolver ADDR    a recursive resolver, IP or IP:PORT ([IPv6]:PORT);
                     repeatable; retries go to the next one
  --concurrency N    domains scanned at once, and queries in flight (100)
  --rate QPS         at most QPS queries per second over all resolvers
                     (default: no limit; be gentle with shared resolvers)
  --timeout D        timeout of one query attempt (2s)
  --retries N        attempts after the first for a lost query (2)
  --zone FILE        read the delegations of a zone file instead ("-" for
                     standard input)
  --origin NAME      the zone's origin, for relative names and to tell the
                     apex from the delegations (default: from its SOA)
  --catalog FILE     extend or override the catalog (repeatable)
  --snapshot FILE    use this snapshot ("embedded" for the built-in one)
  --data-dir DIR     the data directory of 'sovmap data update'

Exit status: 0 when every domain was scanned (nxdomain, servfail and timeout
are results), 1 when some inputs were not domain names or were repeated (or
some zone lines could not be read), 2 for a usage error, 3 when the data
cannot be loaded, no resolver answered at all, or output fails.

Examples:
  sovmap scan domains.txt > results.ndjson
  sovmap scan --json - < domains.txt
  echo example.com | sovmap scan
  sovmap scan --resume results.ndjson domains.txt
  sovmap scan --resolver 127.0.0.1:5353 --concurrency 500 --rate 2000 domains.txt
  sovmap scan --summary domains.txt
  sovmap scan --zone gov.zone.txt.gz --summary
  sovmap scan --policy us-icts --fail-on high domains.txt
  sovmap scan --format sarif --policy us-icts domains.txt > sovmap.sarif
  sovmap scan --zone gov.zone --origin gov. --json | jq -r 'select(.summary.dns.controls | index("CN")) | .domain'
`,
		run: runScan,
	}
}

// scanOpts are the parsed flags of scan.
type scanOpts struct {
	json, text           bool
	summary, ordered     bool
	zone, origin, resume string
	resolvers            stringList
	concurrency, retries int
	rate                 float64
	timeout              time.Duration
	data                 dataFlags
	pol                  policyFlags
	format               string
}

func runScan(e *env, args []string) error {
	o, pos, err := parseScanArgs(e, args)
	if err != nil {
		return err
	}
	var servers []string
	for _, r := range o.resolvers {
		s, err := dnsscan.ParseServer(r)
		if err != nil {
			return usagef("%v", err)
		}
		servers = append(servers, s)
	}
	eng, _, err := o.data.engine(e)
	if err != nil {
		return err
	}
	if o.zone != "" {
		return scanZone(e, o, eng)
	}
	if len(servers) == 0 {
		servers, err = dnsscan.SystemServers("/etc/resolv.conf")
		if err != nil {
			e.errorf("scan: no resolver: %v", err)
			fmt.Fprintf(e.stderr, "hint: give one with --resolver ADDR\n")
			return &exitError{exitFailure}
		}
	}
	return scanDomains(e, o, pos, servers, eng)
}

// parseScanArgs parses and checks the command line of scan, returning the
// options and the positional arguments.
func parseScanArgs(e *env, args []string) (*scanOpts, []string, error) {
	o := &scanOpts{}
	fs := newFlags("scan")
	o.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := o.output(e); err != nil {
		return nil, nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.zone != "" {
		err = o.checkZone(set, pos)
	} else {
		err = o.checkDomains(set, pos)
	}
	if err != nil {
		return nil, nil, err
	}
	return o, pos, nil
}

// register defines the flags of scan.
func (o *scanOpts) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.text, "text", false, "")
	fs.StringVar(&o.format, "format", "", "")
	o.pol.register(fs)
	fs.BoolVar(&o.summary, "summary", false, "")
	fs.BoolVar(&o.ordered, "ordered", false, "")
	fs.StringVar(&o.zone, "zone", "", "")
	fs.StringVar(&o.origin, "origin", "", "")
	fs.StringVar(&o.resume, "resume", "", "")
	fs.Var(&o.resolvers, "resolver", "")
	fs.IntVar(&o.concurrency, "concurrency", dnsscan.DefaultConcurrency, "")
	fs.IntVar(&o.retries, "retries", 2, "")
	fs.Float64Var(&o.rate, "rate", 0, "")
	fs.DurationVar(&o.timeout, "timeout", dnsscan.DefaultTimeout, "")
	o.data.register(fs)
}

// output settles the output form from --json, --text and --format.
func (o *scanOpts) output(e *env) error {
	if o.json && o.text {
		return usagef("--json and --text exclude each other")
	}
	switch o.format {
	case "":
	case "json":
		o.json = true
	case "text":
		o.text = true
	case "sarif":
		if len(o.pol.names) == 0 {
			return usagef("--format sarif needs --policy")
		}
	default:
		return usagef("--format %q: want text, json or sarif", o.format)
	}
	// Records go to a file or a pipe as NDJSON, to a terminal as a table,
	// unless a flag says otherwise.
	if !o.json && !o.text {
		o.json = !progress.IsTerminal(e.stdout)
	}
	return nil
}

// checkZone checks the flags of a zone scan: set holds the flags given.
func (o *scanOpts) checkZone(set map[string]bool, pos []string) error {
	for _, f := range []string{"resolver", "concurrency", "rate", "timeout", "retries", "ordered", "resume"} {
		if set[f] {
			return usagef("--%s has no effect with --zone (no query is sent)", f)
		}
	}
	if len(pos) > 0 {
		return usagef("--zone takes no other input (got %q)", pos[0])
	}
	return nil
}

// checkDomains checks the flags of a scan that resolves domains: set
// holds the flags given.
func (o *scanOpts) checkDomains(set map[string]bool, pos []string) error {
	if set["origin"] {
		return usagef("--origin goes with --zone")
	}
	if len(pos) > 1 {
		return usagef("one input at a time (got %d); concatenate them: cat %s | sovmap scan -", len(pos), strings.Join(pos, " "))
	}
	switch {
	case o.concurrency < 1 || o.concurrency > 100000:
		return usagef("--concurrency %d: want 1 to 100000", o.concurrency)
	case o.retries < 0 || o.retries > 20:
		return usagef("--retries %d: want 0 to 20", o.retries)
	case o.rate < 0:
		return usagef("--rate %v: want a positive number of queries per second", o.rate)
	case o.timeout <= 0:
		return usagef("--timeout %v: want a positive duration", o.timeout)
	}
	if o.resume != "" && o.summary {
		return usagef("--summary cannot be combined with --resume (the summary would cover only the new domains)")
	}
	return nil
}

// scanOut writes results as NDJSON, as a text table, or into a tally.
type scanOut struct {
	w       *bufio.Writer
	json    bool
	summary bool
	pol     *recordPolicy // nil without --policy
	n       int           // records written
	tally   dnsscan.Tally
	buf     []byte
	header  bool
}

func (s *scanOut) write(r *dnsscan.Result) error {
	s.n++
	var fs []policy.Finding
	if s.pol != nil {
		s.buf = r.AppendJSON(s.buf[:0])
		var err error
		if fs, err = s.pol.check(s.buf, "scan", s.n); err != nil {
			return err
		}
		if s.pol.sarif {
			return nil
		}
	}
	switch {
	case s.summary:
		s.tally.Add(r)
		return nil
	case s.json:
		if s.pol == nil {
			s.buf = r.AppendJSON(s.buf[:0])
		}
		s.buf = append(policyrun.WithFindings(s.buf, fs), '\n')
		_, err := s.w.Write(s.buf)
		return err
	}
	defer writeFindingRows(s.w, fs)
	if !s.header {
		s.header = true
		fmt.Fprintf(s.w, "%-32s  %-8s  %-30s  %-30s  %s\n", "DOMAIN", "STATUS", "WEB", "DNS", "MAIL")
	}
	domain := render.Clip(r.Domain, render.MaxShown)
	if r.Layers == nil {
		_, err := render.Fprintf(s.w, "%-32s  %-8s  %s\n", domain, r.Status, render.Clip(r.Error, render.MaxShown))
		return err
	}
	_, err := render.Fprintf(s.w, "%-32s  %-8s  %-30s  %-30s  %s\n", domain, r.Status,
		scanCell(r, dnsscan.LayerWeb), scanCell(r, dnsscan.LayerDNS), scanCell(r, dnsscan.LayerMail))
	return err
}

// scanCell shows a layer's providers and control countries: "-" when the
// layer is empty or not resolved, "failed" when no host of it could be
// looked up, "unknown" when nothing is attributed.
func scanCell(r *dnsscan.Result, l attribution.Layer) string {
	hosts, ok := r.Layers[l]
	if !ok || len(hosts) == 0 {
		return "-"
	}
	s := r.Summary[l]
	if len(s.Providers) == 0 {
		for _, h := range hosts {
			if h.Status == "" {
				return "unknown"
			}
		}
		return "failed"
	}
	c := strings.Join(s.Providers, ",")
	if len(s.Controls) > 0 {
		c += " [" + strings.Join(s.Controls, ",") + "]"
	}
	return c
}

func scanDomains(e *env, o *scanOpts, pos []string, servers []string, eng *attribution.Engine) error {
	var in io.Reader = e.stdin
	name := "standard input"
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, pos[0]
	}
	rp, err := scanPolicy(e, o, eng)
	if err != nil {
		return err
	}
	out := &scanOut{json: o.json, summary: o.summary, pol: rp}
	var done *dnsscan.DoneSet
	if o.resume != "" {
		f, d, err := scanOpenResume(o.resume)
		if err != nil {
			e.errorf("scan: --resume %s: %v", o.resume, err)
			fmt.Fprintf(e.stderr, "hint: --resume takes the NDJSON output of an earlier scan (sovmap scan --json)\n")
			return &exitError{exitFailure}
		}
		defer f.Close()
		done = d
		out.w = bufio.NewWriterSize(f, 64<<10)
		out.json = true
	} else {
		out.w = bufio.NewWriterSize(e.stdout, 64<<10)
	}

	var total int64
	if f, ok := in.(*os.File); ok && progress.IsTerminal(e.stderr) {
		total = scanCountInputs(f)
	}
	bar := progress.Start(e.stderr, "scan", total, 250*time.Millisecond)
	if done.Len() > 0 {
		bar.Add(int64(done.Len()))
	}

	client := &dnsscan.Client{Servers: servers, Timeout: o.timeout, Retries: o.retries, Rate: o.rate, MaxInFlight: o.concurrency}
	defer client.Close()
	scanner := &dnsscan.Scanner{Resolver: client, Engine: eng, DomainTimeout: max(10*time.Second, 3*time.Duration(o.retries+1)*o.timeout)}
	runner := &dnsscan.Runner{
		Scan:        scanner.Scan,
		Concurrency: o.concurrency,
		Ordered:     o.ordered,
		Done:        done,
		Emit: func(r *dnsscan.Result) error {
			bar.Add(1)
			if r.Status != dnsscan.StatusOK && r.Status != dnsscan.StatusNXDomain {
				bar.AddError()
			}
			if err := out.write(r); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			return nil
		},
		Idle: out.w.Flush,
	}
	st, err := runner.Run(e.ctx, in)
	bar.Finish()
	if ferr := out.w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write: %w", ferr)
	}
	if err != nil {
		if e.ctx.Err() != nil {
			return scanInterrupted(e, o, st)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	polErr, err := out.finish(e, o, nil, name)
	if err != nil {
		return err
	}
	return scanDomainsStatus(e, o, client.Stats(), servers, st, polErr)
}

// scanPolicy starts the policies of --policy for scan: nil without.
func scanPolicy(e *env, o *scanOpts, eng *attribution.Engine) (*recordPolicy, error) {
	pr, err := o.pol.start(eng.Catalog())
	if err != nil {
		return nil, reportPolicyError(e, "scan", err)
	}
	if pr == nil {
		return nil, nil
	}
	return &recordPolicy{run: pr, sarif: o.format == "sarif"}, nil
}

// finish writes the summary of --summary (of a zone when zone is not nil)
// and the results of --policy for the input name. It returns the exit
// status of the policies, and apart from it an error that ends the scan.
func (s *scanOut) finish(e *env, o *scanOpts, zone *scanZoneInfo, name string) (polErr, err error) {
	if o.summary {
		if err := scanPrintSummary(e, o, s.tally.Summary(0), zone); err != nil {
			return nil, err
		}
	}
	if s.pol == nil {
		return nil, nil
	}
	polErr = s.pol.finish(e, bufio.NewWriter(e.stdout), "scan", name)
	if _, ok := polErr.(*exitError); polErr != nil && !ok {
		return nil, polErr
	}
	return polErr, nil
}

// scanInterrupted reports a scan stopped by its context, with how to go on.
func scanInterrupted(e *env, o *scanOpts, st dnsscan.Stats) error {
	e.errorf("scan: interrupted after %d records", scanTotal(st.Statuses))
	if o.resume != "" {
		fmt.Fprintf(e.stderr, "hint: run the same command again to go on\n")
	} else {
		fmt.Fprintf(e.stderr, "hint: scan with --resume FILE to be able to go on after an interruption\n")
	}
	return &exitError{exitFailure}
}

// scanDomainsStatus reports what the resolvers' counts (cs) and the run's
// (st) say about a scan of domains and returns its exit status: failure
// when no resolver answered, invalid when inputs were not scanned, else
// that of the policies.
func scanDomainsStatus(e *env, o *scanOpts, cs dnsscan.ClientStats, servers []string, st dnsscan.Stats, polErr error) error {
	if cs.Queries > 0 && cs.Answers == 0 {
		e.errorf("scan: no resolver answered (%s)", strings.Join(servers, ", "))
		fmt.Fprintf(e.stderr, "hint: check the resolvers, or give one with --resolver ADDR\n")
		return &exitError{exitFailure}
	}
	if o.resume != "" && st.Skipped > 0 {
		e.errorf("scan: %d domains already in %s were skipped", st.Skipped, o.resume)
	}
	if bad := st.Malformed + st.Duplicates; bad > 0 {
		e.errorf("scan: %d of %d inputs were not scanned: %d not domain names, %d repeated", bad, st.Inputs, st.Malformed, st.Duplicates)
		return &exitError{exitInvalid}
	}
	return polErr
}

func scanTotal(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// scanOpenResume opens (or creates) the output of an earlier scan, reads the
// domains it holds, drops a partial last line, and leaves the file ready
// for appending.
func scanOpenResume(path string) (*os.File, *dnsscan.DoneSet, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	done, size, err := dnsscan.ReadDone(f)
	if err == nil {
		err = f.Truncate(size)
	}
	if err == nil {
		_, err = f.Seek(size, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, done, nil
}

// scanCountInputs counts the lines of a regular file that are neither blank
// nor comments, and rewinds it; 0 if it cannot.
func scanCountInputs(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) > 0 && l[0] != '#' {
			n++
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0
	}
	return n
}

// scanZoneInfo describes the zone a summary comes from.
type scanZoneInfo struct {
	File        string         `json:"file"`
	Apex        string         `json:"apex"`
	Records     int            `json:"records"`
	Skipped     map[string]int `json:"skipped,omitempty"`
	Errors      int            `json:"errors"`
	Delegations int            `json:"delegations"`
}

func scanZone(e *env, o *scanOpts, eng *attribution.Engine) error {
	var in io.Reader = e.stdin
	if o.zone != "-" {
		f, err := os.Open(o.zone)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	br := bufio.NewReaderSize(in, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: %w", o.zone, err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	zr := zonefile.NewReader(br, o.origin)
	g := zonefile.NewGrouper(o.origin)
	bad := 0
	for {
		rec, err := zr.Next()
		if err == io.EOF {
			break
		}
		var pe *zonefile.ParseError
		if errors.As(err, &pe) {
			bad++
			if bad <= 20 {
				e.errorf("scan: %s:%d: %s", o.zone, pe.Line, pe.Msg)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o.zone, err)
		}
		g.Add(rec)
	}
	if bad > 20 {
		e.errorf("scan: %s: %d more lines could not be read", o.zone, bad-20)
	}
	dels := g.Delegations()
	info := &scanZoneInfo{File: o.zone, Apex: g.Apex(), Records: zr.Records(), Skipped: zr.Skipped(), Errors: bad, Delegations: len(dels)}
	rp, err := scanPolicy(e, o, eng)
	if err != nil {
		return err
	}
	out := &scanOut{w: bufio.NewWriterSize(e.stdout, 256<<10), json: o.json, summary: o.summary, pol: rp}
	for _, d := range dels {
		r := dnsscan.FromDelegation(eng, d)
		if err := out.write(&r); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := out.w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	polErr, err := out.finish(e, o, info, o.zone)
	if err != nil {
		return err
	}
	if len(dels) == 0 {
		e.errorf("scan: %s delegates no domain (apex %q)", o.zone, g.Apex())
	}
	if bad > 0 {
		e.errorf("scan: %d of the lines of %s could not be read", bad, o.zone)
		return &exitError{exitInvalid}
	}
	return polErr
}

// scanSummaryTop is how many rows of each list the text summary shows.
const scanSummaryTop = 15

func scanPrintSummary(e *env, o *scanOpts, s dnsscan.Summary, zone *scanZoneInfo) error {
	if o.json {
		return writeJSON(e, struct {
			Zone *scanZoneInfo `json:"zone,omitempty"`
			dnsscan.Summary
		}{zone, s})
	}
	w := bufio.NewWriter(e.stdout)
	if zone != nil {
		render.Fprintf(w, "zone %s (%s): %s records read, %s delegations", zone.Apex, zone.File, render.Comma(zone.Records), render.Comma(zone.Delegations))
		if zone.Errors > 0 {
			fmt.Fprintf(w, ", %s lines not read", render.Comma(zone.Errors))
		}
		fmt.Fprintf(w, "\nOnly the DNS layer is known from a zone: name servers by name, glue by address.\n")
	} else {
		fmt.Fprintf(w, "%s domains:", render.Comma(s.Domains))
		for i, st := range []string{dnsscan.StatusOK, dnsscan.StatusNXDomain, dnsscan.StatusServFail, dnsscan.StatusTimeout, dnsscan.StatusError} {
			if i > 0 {
				w.WriteString(",")
			}
			fmt.Fprintf(w, " %s %s", render.Comma(s.Statuses[st]), st)
		}
		w.WriteString("\n")
	}
	names := map[attribution.Layer]string{dnsscan.LayerWeb: "Web", dnsscan.LayerDNS: "DNS", dnsscan.LayerMail: "Mail"}
	for _, l := range dnsscan.Layers {
		ls, ok := s.Layers[l]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "\n%s layer: %s domains with hosts; %s (%s) with no provider identified.\n",
			names[l], render.Comma(ls.Domains), render.Comma(ls.Unattributed), scanPct(ls.Unattributed, ls.Domains))
		fmt.Fprintf(w, "A domain with several providers counts for each.\n")
		fmt.Fprintf(w, "  %-28s %-40s %9s %7s\n", "PROVIDER", "NAME", "DOMAINS", "SHARE")
		for i, p := range ls.Providers {
			if i == scanSummaryTop {
				fmt.Fprintf(w, "  ... %d more (--json lists them all)\n", len(ls.Providers)-scanSummaryTop)
				break
			}
			render.Fprintf(w, "  %-28s %-40s %9s %7s\n", p.ID, render.Clip(p.Name, 40), render.Comma(p.Domains), scanPct(p.Domains, ls.Domains))
		}
		fmt.Fprintf(w, "  %-69s %9s %7s\n", "CONTROL COUNTRY", "DOMAINS", "SHARE")
		for i, c := range ls.Controls {
			if i == scanSummaryTop {
				fmt.Fprintf(w, "  ... %d more (--json lists them all)\n", len(ls.Controls)-scanSummaryTop)
				break
			}
			render.Fprintf(w, "  %-69s %9s %7s\n", c.Country, render.Comma(c.Domains), scanPct(c.Domains, ls.Domains))
		}
		if len(ls.RegistryControls) > 0 {
			fmt.Fprintf(w, "  %-69s %9s %7s\n", "REGISTRY ONLY (AS HOLDER'S COUNTRY, NO CATALOG PROVIDER)", "DOMAINS", "SHARE")
			for i, c := range ls.RegistryControls {
				if i == scanSummaryTop {
					fmt.Fprintf(w, "  ... %d more (--json lists them all)\n", len(ls.RegistryControls)-scanSummaryTop)
					break
				}
				render.Fprintf(w, "  %-69s %9s %7s\n", c.Country, render.Comma(c.Domains), scanPct(c.Domains, ls.Domains))
			}
		}
		if len(ls.UnattributedSuffixes) > 0 {
			fmt.Fprintf(w, "  %-69s %9s %7s\n", "UNATTRIBUTED HOST DOMAIN", "DOMAINS", "SHARE")
			for i, u := range ls.UnattributedSuffixes {
				if i == 10 {
					break
				}
				render.Fprintf(w, "  %-69s %9s %7s\n", render.Clip(u.Suffix, render.MaxShown), render.Comma(u.Domains), scanPct(u.Domains, ls.Domains))
			}
		}
	}
	return w.Flush()
}

func scanPct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return render.Percent(100 * float64(n) / float64(of))
}
