package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/update"
)

func dataCommand() *command {
	return &command{
		name:    "data",
		summary: "show, update or build the IP data snapshot (data info, update, sources, build)",
		help: `Usage:
  sovmap data info [--snapshot FILE|embedded] [--data-dir DIR] [--json]
  sovmap data update [--from DIR] [--data-dir DIR] [--source NAME=URL]...
                     [--sources FILE] [--only NAME,...] [--force] [--json]
  sovmap data sources [--source NAME=URL]... [--sources FILE] [--json] [NAME...]
  sovmap data build --from DIR [-o FILE] [--json]

data info shows which snapshot is in use (the data directory's sovmap.snap
when 'data update' has written one, else the one embedded in the binary): its
sources with versions, dates, licenses and record counts, each provider
feed's date, size and health status, and the input defects found when it was
built.

data update downloads the providers' official feeds, RouteViews and RIR
data, checks their health against the snapshot in use, and writes a new
snapshot into the data directory; see 'sovmap data update --help' and
docs/data-update.md. data sources lists the sources with their URLs and
file names.

data build compiles the ip-location-db packages unpacked under DIR (as
scripts/fetch-ipdb.sh lays them out) into a snapshot file. It validates what
it compiles: overlapping, nested or reversed ranges, special-use address
space, reserved ASNs and codes that are not countries are repaired where
possible and dropped otherwise, and every defect is reported with its file
and line. The file is written atomically.

Examples:
  sovmap data info
  sovmap data info --snapshot embedded
  sovmap data update
  sovmap data update --from /media/usb/feeds
  sovmap data sources
  scripts/fetch-ipdb.sh .cache/ipdb
  sovmap data build --from .cache/ipdb -o internal/snapshot/data/sovmap.snap
`,
		run: runData,
	}
}

func runData(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: info, update, sources or build")
	}
	switch args[0] {
	case "info":
		return runDataInfo(e, args[1:])
	case "update":
		return runDataUpdate(e, args[1:])
	case "sources":
		return runDataSources(e, args[1:])
	case "build":
		return runDataBuild(e, args[1:])
	case "-h", "-help", "--help":
		return flagErrHelp
	}
	return usagef("unknown subcommand %q (want info, update, sources or build)", args[0])
}

func runDataInfo(e *env, args []string) error {
	fs := newFlags("data info")
	snapPath := fs.String("snapshot", "", "snapshot `file` to describe (\"embedded\" for the one in the binary)")
	dataDir := fs.String("data-dir", "", "the data `directory` whose snapshot to describe")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("data info takes no arguments")
	}
	t, where, err := openSnapshotIn(*snapPath, *dataDir)
	if err != nil {
		return err
	}
	m := t.Meta()
	if *asJSON {
		out := struct {
			Path string `json:"path"`
			snapshot.Meta
		}{where, m}
		return writeJSON(e, out)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "snapshot:\t%s\n", m.Name)
	fmt.Fprintf(w, "in use:\t%s\n", where)
	fmt.Fprintf(w, "format:\tversion %d\n", m.Format)
	fmt.Fprintf(w, "data date:\t%s\n", m.Built)
	v4, v6 := t.Segments()
	fmt.Fprintf(w, "segments:\t%d IPv4, %d IPv6 (%d distinct records, %d AS names)\n", v4, v6, m.Counts.Tuples, m.Counts.Names)
	w.Flush()
	fmt.Fprintf(e.stdout, "\nsources:\n")
	w = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "  DATASET\tPACKAGE\tVERSION\tDATE\tRANGES\tLICENSE\n")
	for _, s := range m.Sources {
		n := 0
		for ds := range m.Counts.Ranges {
			if snapshot.Dataset(ds).String() == s.Dataset {
				n = m.Counts.Ranges[ds]
			}
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%d\t%s\n", s.Dataset, s.Name, dash(s.Version), s.Date, n, s.License)
	}
	w.Flush()
	for _, s := range m.Sources {
		fmt.Fprintf(e.stdout, "  %s: %s\n", s.Name, s.Attribution)
	}
	feedLines(e.stdout, m.Feeds)
	if len(m.Problems) > 0 {
		fmt.Fprintf(e.stdout, "\ninput defects found at build time (repaired or dropped):\n")
		for _, p := range m.Problems {
			fmt.Fprintf(e.stdout, "  %-20s %d\n", p.Kind, p.Count)
		}
	}
	return nil
}

func runDataBuild(e *env, args []string) error {
	fs := newFlags("data build")
	from := fs.String("from", "", "`dir` holding the unpacked ip-location-db packages")
	out := fs.String("o", "", "output `file` (default: print the report only)")
	name := fs.String("name", "embedded", "snapshot `name` recorded in the file")
	asJSON := fs.Bool("json", false, "print the build report as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *from == "" {
		return usagef("data build needs --from DIR and no arguments")
	}
	start := time.Now()
	t, problems, err := snapshot.BuildDir(*from, *name)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	size := 0
	if *out != "" {
		n, err := update.WriteFileAtomic(*out, t.Encode)
		if err != nil {
			return err
		}
		size = int(n)
	}
	m := t.Meta()
	if *asJSON {
		return writeJSON(e, struct {
			Output  string        `json:"output,omitempty"`
			Bytes   int           `json:"bytes,omitempty"`
			Seconds float64       `json:"seconds"`
			Meta    snapshot.Meta `json:"meta"`
		}{*out, size, elapsed.Seconds(), m})
	}
	v4, v6 := t.Segments()
	fmt.Fprintf(e.stdout, "built snapshot %q from %s in %.2fs: %d IPv4 and %d IPv6 segments, %d records\n", m.Name, *from, elapsed.Seconds(), v4, v6, m.Counts.Tuples)
	if *out != "" {
		fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n", *out, size)
	}
	repaired, dropped := 0, 0
	for _, p := range problems {
		if p.Repaired() {
			repaired++
		} else {
			dropped++
		}
	}
	fmt.Fprintf(e.stdout, "input defects: %d repaired, %d dropped\n", repaired, dropped)
	for _, s := range m.Problems {
		fmt.Fprintf(e.stdout, "  %-20s %6d  e.g. %s\n", s.Kind, s.Count, s.Examples[0])
	}
	return nil
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
