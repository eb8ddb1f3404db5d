package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sovmap/sovmap/internal/render"
	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/update"
)

const dataUpdateHelp = `Usage:
  sovmap data update [--from DIR] [--data-dir DIR] [--source NAME=URL]...
                     [--sources FILE] [--only NAME,...] [--force]
                     [--allow-private-redirects] [--json]
  sovmap data sources [--source NAME=URL]... [--sources FILE] [--json] [NAME...]

data update downloads the providers' official range feeds (AWS, Google
Cloud, Azure, Oracle, Cloudflare, Fastly, GitHub, Zscaler, the Linode,
DigitalOcean and Vultr geofeeds, ...), RouteViews prefix-to-AS data and the
RIRs' delegated statistics, checks each against the snapshot in use, and
writes a new snapshot to DIR/sovmap.snap, atomically. From then on 'sovmap ip'
and the other commands use it instead of the embedded one.

Health guards: a source whose download fails (after retries), whose file is
gone (--from), that shrank to less than half of its ranges or addresses,
grew more than 5x in ranges or 20x in addresses, or suddenly covers 0.0.0.0/0
or ::/0 is refused, with the reason; its previous data is kept, and the exit
status is 1. --force accepts such sources. Malformed entries are reported
with their file and entry and skipped.

Flags:
  --from DIR          read the sources' files from DIR instead of downloading
                      (offline; file names as 'sovmap data sources' lists)
  --data-dir DIR      where the snapshot and the raw files go (default:
                      $XDG_DATA_HOME/sovmap, or ~/.local/share/sovmap)
  --source NAME=URL   download NAME from URL, e.g. a mirror; "NAME=" disables
                      it (repeatable)
  --sources FILE      a YAML map of source names to URLs, read before --source
  --only NAME,...     update only these sources or groups (e.g. aws,cloudflare);
                      the others keep their previous data
  --force             accept sources that fail the health guards
  --allow-private-redirects
                      follow redirects to loopback, private, link-local and
                      other non-public addresses (refused by default: a
                      source's own URL may be such an address, a redirect
                      may not); for mirrors inside a network
  --json              print the report as JSON

Downloads: each attempt has 5 minutes, and fails when its body brings
less than 1 KiB in 30 seconds; timeouts, connection errors, 5xx, 408 and
429 are retried (4 attempts in all), other errors (404, a refused
redirect, a certificate that does not verify) are not.

Exit status: 0 when every source is healthy, 1 when some source was refused
or failed (the snapshot is written with its previous data), 2 for a usage
error, 3 when no snapshot could be written.

Examples:
  sovmap data update
  sovmap data update --source azure=https://download.microsoft.com/download/7/1/D/71D86715-5596-4529-9B13-DA13A5DE5B63/ServiceTags_Public_20260622.json
  sovmap data update --from /media/usb/feeds --data-dir /srv/sovmap
  sovmap data update --only aws,google-cloud
  sovmap data sources
`

// sourceFlags are the flags that configure the sources' URLs.
type sourceFlags struct {
	sources stringList
	file    string
}

// configure applies --sources and then --source to the registry.
func (s *sourceFlags) configure() ([]update.Source, error) {
	urls := map[string]string{}
	if s.file != "" {
		m, err := update.LoadSourcesFile(s.file)
		if err != nil {
			return nil, usagef("--sources: %v", err)
		}
		for k, v := range m {
			urls[k] = v
		}
	}
	for _, v := range s.sources {
		name, u, err := update.ParseSourceFlag(v)
		if err != nil {
			return nil, usagef("%v", err)
		}
		urls[name] = u
	}
	srcs, err := update.Configure(urls)
	if err != nil {
		return nil, usagef("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return srcs, nil
}

func dataDirOrDefault(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return update.DefaultDataDir()
}

func runDataUpdate(e *env, args []string) error {
	fs := newFlags("data update")
	from := fs.String("from", "", "")
	dataDir := fs.String("data-dir", "", "")
	var sf sourceFlags
	fs.Var(&sf.sources, "source", "")
	fs.StringVar(&sf.file, "sources", "", "")
	var only stringList
	fs.Var(&only, "only", "")
	force := fs.Bool("force", false, "")
	allowPrivate := fs.Bool("allow-private-redirects", false, "")
	asJSON := fs.Bool("json", false, "")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, dataUpdateHelp)
		return nil
	}
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("data update takes no arguments, only flags")
	}
	srcs, err := sf.configure()
	if err != nil {
		return err
	}
	var names []string
	for _, o := range only {
		for n := range strings.SplitSeq(o, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if _, err := update.Select(srcs, names); err != nil {
		return usagef("--only: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	dir, err := dataDirOrDefault(*dataDir)
	if err != nil {
		return err
	}
	rep, err := update.Run(e.ctx, update.Options{
		DataDir:  dir,
		From:     *from,
		Sources:  srcs,
		Only:     names,
		Force:    *force,
		Progress: e.stderr,
		Version:  Version,

		AllowPrivateRedirects: *allowPrivate,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(e, rep); err != nil {
			return err
		}
	} else {
		printUpdateReport(e.stdout, rep)
	}
	reportFailures(e, rep)
	if !rep.OK() {
		return &exitError{exitInvalid}
	}
	return nil
}

// printUpdateReport writes the report as text: what was written, then one
// line per source and dataset.
func printUpdateReport(w io.Writer, rep *update.Report) {
	if rep.Unchanged {
		render.Fprintf(w, "nothing new: no source brought data, so no snapshot was written; the data in use is still %s\n", rep.Previous)
	} else {
		render.Fprintf(w, "wrote %s (%s) in %.1fs, starting from %s\n", rep.Snapshot, render.IBytes(uint64(rep.Bytes)), rep.Seconds, rep.Previous)
	}
	fmt.Fprintf(w, "%d feeds with %d ranges\n\n", rep.Feeds, rep.Ranges)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "FEED\tSTATUS\tDATE\tRANGES\tCHANGE\tREASON\n")
	for _, s := range rep.Sources {
		if s.Kind != update.Feed.String() {
			continue
		}
		ranges, change := "-", ""
		if s.Stats != nil {
			ranges = fmt.Sprint(s.Stats.Ranges)
			if s.Previous != nil {
				change = fmt.Sprintf("%+d", s.Stats.Ranges-s.Previous.Ranges)
			} else {
				change = "new"
			}
		} else if s.Previous != nil {
			ranges = fmt.Sprint(s.Previous.Ranges)
		}
		render.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Status, dash(s.Date), ranges, change, s.Reason)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "DATASET\tSTATUS\tSOURCE\tREASON\n")
	for _, d := range rep.Datasets {
		render.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Dataset, d.Status, d.Source, d.Reason)
	}
	tw.Flush()
	var routing []update.SourceReport
	for _, s := range rep.Sources {
		if s.Kind == update.Routing.String() && s.Status != update.StatusUnused && !(s.Status == update.StatusKept && s.Reason == "not selected") {
			routing = append(routing, s)
		}
	}
	if len(routing) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "ROUTING FILE\tSTATUS\tDATE\tRECORDS\tBEFORE\tREASON\n")
		for _, s := range routing {
			render.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", s.Name, s.Status, dash(s.Date), s.Records, s.PreviousRecords, s.Reason)
		}
		tw.Flush()
	}
}

// reportFailures writes, on stderr, each source that failed or was refused
// and the malformed entries that were skipped.
func reportFailures(e *env, rep *update.Report) {
	for _, s := range rep.Sources {
		if s.Failed {
			msg := fmt.Sprintf("data update: %s: %s: %s", s.Name, s.Status, render.Safe(s.Reason))
			for _, n := range s.Notes {
				if strings.HasPrefix(n, "kept the previous") {
					msg += "; " + n
				}
			}
			e.errorf("%s", msg)
		}
		if s.EntryErrorCount > 0 {
			e.errorf("data update: %s: %d malformed entries skipped:", s.Name, s.EntryErrorCount)
			for _, m := range s.EntryErrors {
				e.errorf("  %s", render.Safe(m))
			}
			if more := s.EntryErrorCount - len(s.EntryErrors); more > 0 {
				e.errorf("  and %d more", more)
			}
		}
	}
	switch {
	case rep.OK():
	case rep.OnlyFailed():
		fmt.Fprintf(e.stderr, "hint: the sources above could not be read (network, proxy or files); the data in use keeps their previous data. Check the connection, or build offline from files with --from DIR\n")
	default:
		fmt.Fprintf(e.stderr, "hint: a health guard refused the sources above and their previous data was kept; check them, or run again with --force to accept them as they are\n")
	}
}

func runDataSources(e *env, args []string) error {
	fs := newFlags("data sources")
	var sf sourceFlags
	fs.Var(&sf.sources, "source", "")
	fs.StringVar(&sf.file, "sources", "", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, dataUpdateHelp)
		return nil
	}
	if err != nil {
		return err
	}
	srcs, err := sf.configure()
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		if srcs, err = update.Select(srcs, pos); err != nil {
			return usagef("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	type sourceJSON struct {
		Name     string   `json:"name"`
		Group    string   `json:"group,omitempty"`
		Kind     string   `json:"kind"`
		Provider string   `json:"provider,omitempty"`
		Dataset  string   `json:"dataset,omitempty"`
		URL      string   `json:"url"`
		File     string   `json:"file"`
		Alt      []string `json:"alt,omitempty"`
		Checksum bool     `json:"md5,omitempty"`
		Note     string   `json:"note,omitempty"`
	}
	var out []sourceJSON
	for _, s := range srcs {
		j := sourceJSON{Name: s.Name, Group: s.Group, Kind: s.Kind.String(), URL: s.URL, File: s.File, Alt: s.Alt, Checksum: s.Checksum, Note: s.Note}
		if s.Kind == update.Feed {
			j.Provider = s.Provider
		} else {
			j.Dataset = s.Dataset.String()
		}
		out = append(out, j)
	}
	if *asJSON {
		return writeJSON(e, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SOURCE\tKIND\tGIVES\tFILE\tURL\n")
	for _, s := range out {
		gives := s.Provider
		if s.Kind == update.Routing.String() {
			gives = s.Dataset + " data"
		}
		render.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, gives, s.File, dash(s.URL))
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "\nnotes:\n")
	for _, s := range out {
		render.Fprintf(e.stdout, "  %s: %s\n", s.Name, s.Note)
	}
	return nil
}

// feedLines describes a snapshot's feeds for "data info".
func feedLines(w io.Writer, feeds []snapshot.FeedSource) {
	if len(feeds) == 0 {
		return
	}
	fmt.Fprintf(w, "\nprovider feeds:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  FEED\tPROVIDER\tDATE\tRANGES\tIPv4\tIPv6 /48\tSTATUS\n")
	for _, f := range feeds {
		render.Fprintf(tw, "  %s\t%s\t%s\t%d\t%.0f\t%.0f\t%s\n", f.Name, f.Provider, dash(f.Date), f.Stats.Ranges, f.Stats.IPv4, f.Stats.IPv6Slash48, dash(f.Status))
	}
	tw.Flush()
}
