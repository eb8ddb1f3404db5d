//go:build ignore

// Command build_embedded compiles the embedded snapshot: the routing data of
// the ip-location-db packages unpacked under -ipdb (scripts/fetch-ipdb.sh)
// and the provider feeds found in -feeds (file names as 'sovmap data
// sources' lists them), read and checked as 'sovmap data update --from'
// reads them. scripts/build-embedded.sh runs it; see docs/snapshot.md.
//
//	go run scripts/build_embedded.go -ipdb .cache/ipdb -feeds DIR -o internal/snapshot/data/sovmap.snap
//
// The output depends only on the input files (and, for a feed whose file
// states no date, on the file's modification time, as with --from): the
// snapshot is named "embedded", and the feeds carry no update status.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/update"
)

func main() {
	ipdb := flag.String("ipdb", ".cache/ipdb", "`dir` holding the unpacked ip-location-db packages")
	feeds := flag.String("feeds", "", "`dir` holding the provider feeds")
	out := flag.String("o", "internal/snapshot/data/sovmap.snap", "output `file`")
	flag.Parse()
	if err := run(*ipdb, *feeds, *out); err != nil {
		fmt.Fprintf(os.Stderr, "build_embedded: %v\n", err)
		os.Exit(1)
	}
}

func run(ipdb, feedDir, out string) error {
	if feedDir == "" {
		return fmt.Errorf("no -feeds folder")
	}
	feeds, err := readFeeds(feedDir)
	if err != nil {
		return err
	}
	// The data date is the newest source's: the packages' (AddDir) or a
	// feed's.
	meta := snapshot.Meta{Name: "embedded"}
	for _, f := range feeds.Meta().Feeds {
		meta.Built = max(meta.Built, f.Date)
	}
	b := snapshot.NewBuilder(meta)
	if err := b.AddDir(ipdb); err != nil {
		return err
	}
	ranges := 0
	for _, f := range feeds.Meta().Feeds {
		rs := feeds.FeedRanges(f.Name)
		f.Status = "" // no update made it; the date says how old it is
		b.AddFeed(f, rs)
		ranges += len(rs)
		fmt.Fprintf(os.Stderr, "feed %-14s %-13s %s %6d ranges  sha256 %s\n", f.Name, f.Provider, f.Date, len(rs), f.SHA256)
	}
	t, _, err := b.Build()
	if err != nil {
		return err
	}
	n, err := update.WriteFileAtomic(out, t.Encode)
	if err != nil {
		return err
	}
	m := t.Meta()
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes): data of %s, %d feeds with %d ranges (%d entries), %d IPv4 and %d IPv6 segments\n",
		out, n, m.Built, len(m.Feeds), ranges, m.Counts.FeedEntries, m.Counts.IPv4Segments, m.Counts.IPv6Segments)
	return nil
}

// readFeeds reads the feeds of dir as 'sovmap data update --from dir
// --only <every feed>' does, over an empty snapshot (so that nothing is
// kept from the snapshot this program was built with), and returns the
// snapshot it writes into a temporary data directory. A feed that fails or
// is refused fails the build; a feed whose file is absent is left out.
func readFeeds(dir string) (*snapshot.Table, error) {
	tmp, err := os.MkdirTemp("", "sovmap-embedded-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	empty, _, err := snapshot.NewBuilder(snapshot.Meta{Name: "empty"}).Build()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range update.Sources() {
		if s.Kind == update.Feed {
			names = append(names, s.Name)
		}
	}
	rep, err := update.Run(context.Background(), update.Options{
		DataDir:  tmp,
		From:     dir,
		Only:     names,
		Previous: empty,
		Now:      func() time.Time { return time.Unix(0, 0).UTC() },
	})
	if err != nil {
		return nil, err
	}
	for _, s := range rep.Sources {
		switch {
		case s.Failed:
			return nil, fmt.Errorf("feed %s: %s: %s", s.Name, s.Status, s.Reason)
		case s.Kind == update.Feed.String() && s.Status == update.StatusMissing:
			fmt.Fprintf(os.Stderr, "feed %-14s left out: %s\n", s.Name, s.Reason)
		case s.EntryErrorCount > 0:
			fmt.Fprintf(os.Stderr, "feed %-14s %d malformed entries skipped, e.g. %s\n", s.Name, s.EntryErrorCount, s.EntryErrors[0])
		}
	}
	return snapshot.Load(rep.Snapshot)
}
