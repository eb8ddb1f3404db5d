package cli

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/flowagg"
	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowfile"
	"github.com/sovmap/sovmap/internal/policy"
	"github.com/sovmap/sovmap/internal/policy/policyrun"
	"github.com/sovmap/sovmap/internal/progress"
	"github.com/sovmap/sovmap/internal/render"
)

func flowsCommand() *command {
	return &command{
		name:    "flows",
		summary: "sum flow logs by controlling country, provider, location and remote address",
		help: `Usage: sovmap flows [flags] [FILE ...]

Reads flow logs and answers: how many bytes, packets and flows went between
our networks and infrastructure controlled from each country, run by each
provider, located in each country, and which remote addresses and services
carry the most. Each distinct remote address is attributed once, as
'sovmap ip' would; memory grows with the number of remote addresses, not
with the size of the logs, up to --max-remotes.

Formats, detected by content (not by file name), gzip-compressed or not:
  zeek        Zeek conn.log, TSV with its #fields header (other Zeek logs
              that name both ends, such as ssl.log, count flows only)
  zeek-json   Zeek JSON lines
  vpc         AWS VPC flow logs, versions 2 to 8, default or custom fields
              with their header line; NODATA and SKIPDATA records are ignored
  nfdump      nfdump CSV (nfdump -r FILE -o csv)
  argus       Argus binetflow CSV (ra -c , ...)
With no FILE, or with "-", standard input is read.

Local and remote: a record with one end in a local network and the other
outside is remote traffic; outbound means from the local end to the remote
one. Records with both ends local are counted as internal, with neither as
transit. The local networks are by default the private and special-use
ranges (RFC 1918, 100.64.0.0/10, loopback, link-local, documentation,
multicast, fc00::/7, fe80::/10, ...); --local replaces them.

Bad input does not stop the run: a truncated line, a wrong field count, an
invalid address, binary data or a line longer than 1 MiB is skipped, counted
by reason, and the first positions of each reason (file:line) are shown.

Flags:
  --by LIST        groups to show, comma-separated, in order: control,
                   provider, operator, parent, location, asn, remote-ip,
                   service
                   (default control,provider,location,remote-ip,service)
  --top N          rows per group, the rest summed as "other" (default 10;
                   0 shows all)
  --local NETS     our networks, comma-separated or repeated (replaces the
                   default private and special-use ranges)
  --format NAME    read every input as this format instead of detecting it
  --parallel N     read a large Zeek log (TSV or JSON, not compressed) on N
                   goroutines, each part with its own parser and
                   aggregator, so N times the memory of the remotes
                   (default: the number of CPUs, at most 4; 1 reads in one
                   piece); the output is the same
  --max-remotes N  track at most N remote addresses one by one (default
                   1000000, about 300 MB; 0 for no bound); past it the
                   rarer half are folded into their group (same control,
                   provider, operator, parent, location and AS), so every
                   total and group stays exact and only the remote-ip rows
                   lose the folded addresses, which the output says
  --sampling-rate N
                   multiply the bytes and packets of every record by N,
                   for logs of sampled traffic (1 in N packets) whose
                   counters were not scaled (default 1)
  --json           the summary as one JSON object (the groups, the
                   unattributed share and the input accounting;
                   docs/flows.md)
  --policy P       check every group against a policy pack (us-icts,
                   eu-residency, concentration, all) or a policy file
                   (repeatable); findings follow the summary
  --fail-on SEV    exit 1 when a finding reaches info, low, medium, high or
                   critical
  --catalog FILE   extend or override the catalog (repeatable)
  --snapshot FILE  use this snapshot instead of the embedded one

Exit status: 0 when every line was read, 1 when some lines were skipped or
an input was in no known format, 2 for a usage error, 3 when an input or the
data cannot be read.

Examples:
  sovmap flows conn.log
  sovmap flows --local 10.0.0.0/8 vpc/*.log
  sovmap flows --by control,provider --json flows.csv
  sovmap flows --policy eu-residency conn.log
  zcat conn.*.log.gz | sovmap flows --by provider --top 20
  sovmap flows --by remote-ip --top 50 conn.log
  sovmap flows --by operator --policy fcc-covered conn.log
  nfdump -r nfcapd.202606011200 -o csv | sovmap flows -
  nfdump -r nfcapd.202606011200 -o csv | sovmap flows --sampling-rate 100 -
`,
		run: runFlows,
	}
}

// flowOptions are the flags that flows and collect share.
type flowOptions struct {
	by         string
	top        int
	locals     stringList
	json       bool
	maxRemotes int
	data       dataFlags
}

func (o *flowOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.by, "by", "", "")
	fs.IntVar(&o.top, "top", 10, "")
	fs.Var(&o.locals, "local", "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.IntVar(&o.maxRemotes, "max-remotes", flowagg.DefaultMaxRemotes, "")
	o.data.register(fs)
}

// parse checks the shared flags and returns the summary options and the
// local networks.
func (o *flowOptions) parse() (flowagg.Options, []netip.Prefix, error) {
	var opt flowagg.Options
	if o.by != "" {
		by, err := flowagg.ParseBy(o.by)
		if err != nil {
			return opt, nil, usagef("--by: %v", err)
		}
		opt.By = by
	}
	if o.top < 0 {
		return opt, nil, usagef("--top must be 0 (all) or more")
	}
	opt.Top = o.top
	if o.maxRemotes < 0 {
		return opt, nil, usagef("--max-remotes must be 0 (no bound) or more")
	}
	local := flowagg.DefaultLocal()
	if len(o.locals) > 0 {
		local = nil
		for _, l := range o.locals {
			p, err := flowagg.ParseLocal(l)
			if err != nil {
				return opt, nil, usagef("--local: %v", err)
			}
			local = append(local, p...)
		}
		if len(local) == 0 {
			return opt, nil, usagef("--local: no networks given")
		}
	}
	return opt, local, nil
}

func runFlows(e *env, args []string) error {
	a, err := parseFlowsArgs(e, args)
	if err != nil {
		return err
	}
	eng, _, err := a.data.engine(e)
	if err != nil {
		return err
	}
	pr, err := a.pol.start(eng.Catalog())
	if err != nil {
		return reportPolicyError(e, "flows", err)
	}
	agg, acct, failed, err := readFlows(e, a, eng)
	if err != nil {
		return err
	}
	sum := agg.Summarize(eng, a.opt)
	sum.Input = &acct
	var rp *recordPolicy
	var findings []policy.Finding
	if pr != nil {
		rp = &recordPolicy{run: pr}
		if findings, err = checkFlows(rp, sum); err != nil {
			return err
		}
	}
	err = writeFlows(e, a, sum, rp != nil, findings)
	var polErr error
	if err == nil && rp != nil {
		polErr = rp.finish(e, bufio.NewWriter(e.stdout), "flows", strings.Join(a.inputs, ", "))
		if _, ok := polErr.(*exitError); polErr != nil && !ok {
			return polErr
		}
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return flowsStatus(e, sum, failed, polErr)
}

// flowsArgs are the parsed command line of flows.
type flowsArgs struct {
	flowOptions
	format  string
	rate    uint64
	workers int
	pol     policyFlags
	inputs  []string // files, "-" for standard input

	opt   flowagg.Options
	local []netip.Prefix
}

// parseFlowsArgs parses and checks the command line of flows.
func parseFlowsArgs(e *env, args []string) (*flowsArgs, error) {
	fs := newFlags("flows")
	a := &flowsArgs{}
	a.register(fs)
	fs.StringVar(&a.format, "format", "", "")
	fs.Uint64Var(&a.rate, "sampling-rate", 1, "")
	fs.IntVar(&a.workers, "parallel", min(runtime.GOMAXPROCS(0), maxDefaultParallel), "")
	a.pol.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if a.opt, a.local, err = a.parse(); err != nil {
		return nil, err
	}
	switch {
	case a.rate == 0:
		return nil, usagef("--sampling-rate must be 1 (unsampled) or more")
	case a.workers < 1:
		return nil, usagef("--parallel must be 1 or more")
	case a.format != "" && !slices.Contains(flowfile.Formats, a.format):
		return nil, usagef("--format %q: want one of %s", a.format, strings.Join(flowfile.Formats, ", "))
	}
	if len(pos) == 0 {
		if isTerminalReader(e.stdin) {
			return nil, usagef("no input: give flow-log files, or pipe one into standard input")
		}
		pos = []string{"-"}
	}
	if countOf(pos, "-") > 1 {
		return nil, usagef("standard input (-) can be read only once")
	}
	a.inputs = pos
	return a, nil
}

// readFlows reads the inputs and returns their flows aggregated, the
// accounting of their lines, and how many inputs could not be read. Each
// input is read in parts, one aggregator per part, merged at the end; the
// parts share the bound on remotes. The error is the context's only: an
// input that cannot be read is reported and counted.
func readFlows(e *env, a *flowsArgs, eng *attribution.Engine) (*flowagg.Aggregator, flowlog.Accounting, int, error) {
	var total int64
	for _, p := range a.inputs {
		if st, err := os.Stat(p); err == nil && p != "-" {
			total += st.Size()
		}
	}
	bar := progress.Start(e.stderr, "flows: bytes read", total, 250*time.Millisecond)
	lo := flowagg.NewLocal(a.local)
	aggs := make([]*flowagg.Aggregator, a.workers)
	for w := range aggs {
		aggs[w] = flowagg.New(lo)
		if a.maxRemotes > 0 {
			aggs[w].Bound(max(a.maxRemotes/a.workers, 1), eng)
		}
	}
	var tally flowlog.Tally
	r := flowfile.Reader{Tally: &tally, Format: a.format, Stdin: e.stdin, Progress: bar.Add, Fields: flowagg.Fields, MinParallel: minParallel}
	add := func(w int, rec *flowlog.Record) { aggs[w].Add(rec) }
	if a.rate > 1 {
		add = func(w int, rec *flowlog.Record) {
			rec.Scale(a.rate)
			aggs[w].Add(rec)
		}
	}
	failed := 0
	for _, p := range a.inputs {
		if err := r.ReadParallel(e.ctx, p, a.workers, add); err != nil {
			if e.ctx.Err() != nil {
				bar.Finish()
				return nil, flowlog.Accounting{}, 0, e.ctx.Err()
			}
			e.errorf("flows: %s: %v", p, err)
			failed++
		}
	}
	agg := aggs[0]
	if a.maxRemotes > 0 {
		agg.Bound(a.maxRemotes, eng) // the merged whole gets the whole bound
	}
	for _, x := range aggs[1:] {
		agg.Merge(x)
	}
	bar.Finish()
	return agg, tally.Accounting(), failed, nil
}

// checkFlows evaluates the policies of rp on the summary as one record.
func checkFlows(rp *recordPolicy, sum *flowagg.Summary) ([]policy.Finding, error) {
	b, err := json.Marshal(sum)
	if err != nil {
		return nil, err
	}
	return rp.check(b, "flows", 1)
}

// writeFlows writes the summary to standard output, as JSON or as text,
// with the findings of --policy when withPolicy.
func writeFlows(e *env, a *flowsArgs, sum *flowagg.Summary, withPolicy bool, findings []policy.Finding) error {
	if a.json {
		if !withPolicy {
			return writeJSON(e, sum)
		}
		b, _ := json.MarshalIndent(sum, "", "  ")
		b = append(policyrun.WithFindings(b, findings), '\n')
		_, err := e.stdout.Write(b)
		return err
	}
	w := bufio.NewWriter(e.stdout)
	writeSummary(w, sum, len(a.locals) == 0)
	writeInput(w, sum.Input)
	if len(findings) > 0 {
		fmt.Fprintln(w)
		writeFindingRows(w, findings)
	}
	return w.Flush()
}

// flowsStatus reports what the summary and the reading say about the run
// and returns its exit status: failure when an input could not be read,
// invalid when lines were skipped, else that of the policies.
func flowsStatus(e *env, sum *flowagg.Summary, failed int, polErr error) error {
	if sum.Remote.Flows == 0 && sum.Transit.Flows > 0 {
		e.errorf("flows: no record had one local and one remote end; %d had neither end local", sum.Transit.Flows)
		fmt.Fprintf(e.stderr, "hint: say which networks are yours with --local (e.g. --local 10.0.0.0/8,198.51.100.0/24)\n")
	}
	switch {
	case failed > 0:
		return &exitError{exitFailure}
	case sum.Input.Skipped > 0:
		e.errorf("flows: %d of %d lines skipped (see the input section of the output)", sum.Input.Skipped, sum.Input.Lines)
		return &exitError{exitInvalid}
	}
	return polErr
}

// maxDefaultParallel caps the default of --parallel: each part holds its
// own remote addresses, so memory grows with the parts.
const maxDefaultParallel = 4

// minParallel is the smallest file flows reads in parts; 0 means
// flowfile.DefaultMinParallel. Tests lower it.
var minParallel int64

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// isTerminalReader reports whether r is a terminal (so reading it would
// wait for typing).
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	return progress.IsTerminal(f)
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// writeSummary writes the human form of a summary.
func writeSummary(w io.Writer, s *flowagg.Summary, defaultLocal bool) {
	if !s.Start.IsZero() {
		fmt.Fprintf(w, "flow times %s to %s\n", s.Start.Format(time.DateTime), s.End.Format(time.DateTime+" MST"))
	}
	if defaultLocal {
		fmt.Fprintf(w, "local networks: private and special-use ranges (set with --local)\n")
	} else {
		ps := make([]string, len(s.Local))
		for i, p := range s.Local {
			ps[i] = p.String()
		}
		fmt.Fprintf(w, "local networks: %s\n", strings.Join(ps, ", "))
	}
	r := &s.Remote
	fmt.Fprintf(w, "\nremote traffic  %s out, %s in, %s packets, %s flows, %s remote addresses\n",
		render.Bytes(r.BytesOut), render.Bytes(r.BytesIn), render.Comma(r.Packets), render.Comma(r.Flows), render.Comma(s.Remotes))
	if unsplit := r.Bytes - r.BytesOut - r.BytesIn; unsplit > 0 {
		fmt.Fprintf(w, "                %s of unknown direction\n", render.Bytes(unsplit))
	}
	if f := s.Folded; f != nil {
		fmt.Fprintf(w, "                %s remote addresses folded into their groups past --max-remotes %s:\n", render.Comma(f.Remotes), render.Comma(f.MaxRemotes))
		fmt.Fprintf(w, "                totals and groups exact, the remote-ip rows without them\n")
	}
	fmt.Fprintf(w, "registry only   %s of the remote %s (control from the AS holders' registration: networks not in the catalog, low confidence)\n", render.Percent(100*s.RegistryOnlyShare), s.ShareOf)
	fmt.Fprintf(w, "unattributed    %s of the remote %s (control unknown)\n", render.Percent(100*s.UnattributedShare), s.ShareOf)
	fmt.Fprintf(w, "internal        %s, %s flows (both ends local)\n", render.Bytes(s.Internal.Bytes), render.Comma(s.Internal.Flows))
	fmt.Fprintf(w, "transit         %s, %s flows (neither end local)\n", render.Bytes(s.Transit.Bytes), render.Comma(s.Transit.Flows))
	for _, g := range s.Groups {
		writeGroup(w, &g)
	}
}

func writeGroup(w io.Writer, g *flowagg.Group) {
	fmt.Fprintf(w, "\nby %s (%d)\n", g.By, g.Count)
	if len(g.Rows) == 0 {
		fmt.Fprintf(w, "  (none)\n")
		return
	}
	// The key column is padded here so that it reads left-aligned while
	// the numbers align right.
	keys := make([]string, len(g.Rows))
	width := len(g.By)
	for i := range g.Rows {
		keys[i] = g.Rows[i].Key
		if keys[i] == "" {
			keys[i] = "unknown"
		}
		keys[i] = render.Safe(keys[i])
		if g.By == flowagg.ByControl && g.Rows[i].RegistryControl != "" {
			keys[i] += " (registry)"
		}
		width = max(width, len(keys[i]))
	}
	other := ""
	if g.Other != nil {
		other = fmt.Sprintf("%d others", g.Count-len(g.Rows))
		if g.Count-len(g.Rows) == 1 {
			other = "1 other"
		}
		width = max(width, len(other))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-*s\tSHARE\tOUT\tIN\tPACKETS\tFLOWS\tREMOTES\t\n", width, strings.ToUpper(g.By))
	row := func(key string, r *flowagg.Row, about string) {
		key = fmt.Sprintf("%-*s", width, key)
		remotes := "-"
		if r.Remotes > 0 {
			remotes = render.Comma(r.Remotes)
		}
		if about != "" {
			about = "  " + about
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", key, render.Percent(100*r.Share), render.Bytes(r.BytesOut), render.Bytes(r.BytesIn),
			render.Comma(r.Packets), render.Comma(r.Flows), remotes, about)
	}
	for i := range g.Rows {
		row(keys[i], &g.Rows[i], about(g.By, &g.Rows[i]))
	}
	if g.Other != nil {
		row(other, g.Other, "")
	}
	tw.Flush()
}

// about describes a row beyond its key.
func about(by string, r *flowagg.Row) string {
	var parts []string
	if r.Name != "" {
		parts = append(parts, r.Name)
	}
	if r.Provider != "" && by != flowagg.ByProvider && (by != flowagg.ByRemoteIP || r.Name == "") {
		parts = append(parts, "provider "+r.Provider)
	}
	if r.Control != "" && by != flowagg.ByControl {
		parts = append(parts, "control "+r.Control)
	}
	if r.RegistryControl != "" {
		if by == flowagg.ByControl {
			parts = append(parts, "AS holders' registration country; networks not in the catalog")
		} else {
			parts = append(parts, "control "+r.RegistryControl+" (registry only)")
		}
	}
	if r.Location != "" && by != flowagg.ByLocation && (by == flowagg.ByRemoteIP || by == flowagg.ByASN) {
		parts = append(parts, "location "+r.Location)
	}
	if r.ASN != 0 && by == flowagg.ByRemoteIP {
		parts = append(parts, "AS"+strconv.FormatUint(uint64(r.ASN), 10))
	}
	if by == flowagg.ByControl && r.Key == "" {
		parts = append(parts, "no route or no registry country")
	}
	return render.Safe(strings.Join(parts, ", "))
}

func writeInput(w io.Writer, a *flowlog.Accounting) {
	fmt.Fprintf(w, "\ninput: %s lines, %s records, %s skipped, %s ignored\n", render.Comma(a.Lines), render.Comma(a.Records), render.Comma(a.Skipped), render.Comma(a.Ignored))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	const maxFiles = 20 // the JSON form lists them all
	for i, f := range a.Files {
		if i == maxFiles {
			fmt.Fprintf(tw, "  ... and %d more files\n", len(a.Files)-maxFiles)
			break
		}
		format := f.Format
		if format == "" {
			format = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d lines\t%d records\t%d skipped\t%d ignored\n", render.Safe(f.Name), format, f.Lines, f.Records, f.Skipped, f.Ignored)
	}
	tw.Flush()
	reasons := func(title string, rs []flowlog.Reason) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, r := range rs {
			fmt.Fprintf(w, "  %s: %d\n", r.Reason, r.Count)
			for _, p := range r.First {
				d := ""
				if p.Detail != "" {
					d = ": " + render.Safe(p.Detail)
				}
				fmt.Fprintf(w, "    %s:%d%s\n", render.Safe(p.File), p.Line, d)
			}
		}
	}
	reasons("skipped", a.Skips)
	reasons("ignored", a.Ignores)
}
