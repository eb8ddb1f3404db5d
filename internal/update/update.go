package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/fetch"
	"github.com/sovmap/sovmap/internal/progress"
	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/source/feed"
)

// Options configure an update. DataDir is required; the zero value of every
// other field is a useful default.
type Options struct {
	// DataDir is where the snapshot (sovmap.snap) and the raw files
	// (raw/<file>) are written.
	DataDir string
	// From, when set, is a folder to read the sources' files from instead
	// of downloading them (offline, air-gapped).
	From string
	// Sources is the registry to use, usually [Configure]'s; nil means
	// [Sources].
	Sources []Source
	// Only selects sources by name or group (see [Select]); none means all.
	// Sources not selected keep their previous data.
	Only []string
	// Force accepts sources that fail the health guards.
	Force bool
	// Client downloads; nil means a [fetch.Client] with its defaults.
	Client *fetch.Client
	// AllowPrivateRedirects lets the downloads follow redirects to
	// loopback, private and other non-public addresses (see package
	// fetch). It sets the default Client's; a given Client keeps its own.
	AllowPrivateRedirects bool
	// Previous is the snapshot to compare with and to keep data from; nil
	// means DataDir's snapshot when there is one, else the embedded one.
	Previous *snapshot.Table
	// Progress receives a progress line while downloading when it is a
	// terminal (usually stderr); nil means none.
	Progress io.Writer
	// Concurrency is the number of downloads at a time; 0 means 4.
	Concurrency int
	// Version is sovmap's version, sent in the User-Agent.
	Version string
	// Now returns the time; nil means time.Now.
	Now func() time.Time
}

// A Report says what an update did with each source.
type Report struct {
	DataDir  string          `json:"dataDir"`
	Snapshot string          `json:"snapshot"` // the file written
	Bytes    int64           `json:"bytes"`
	Previous string          `json:"previous"` // the snapshot the update started from
	From     string          `json:"from,omitempty"`
	Forced   bool            `json:"forced,omitempty"`
	Seconds  float64         `json:"seconds"`
	Sources  []SourceReport  `json:"sources"`
	Datasets []DatasetReport `json:"datasets"`
	Feeds    int             `json:"feeds"`  // feeds in the new snapshot
	Ranges   int             `json:"ranges"` // their ranges
	// Defects counts the input defects the snapshot builder repaired or
	// dropped, by kind (see docs/snapshot.md).
	Defects map[string]int `json:"defects,omitempty"`
	// Unchanged says that no source brought new data, so no snapshot was
	// written: the data in use (Previous) stays the default.
	Unchanged bool `json:"unchanged,omitempty"`
}

// brought reports whether some source or dataset brings new data.
func (r *Report) brought() bool {
	fresh := func(status string) bool { return status == StatusUpdated || status == StatusForced }
	return slices.ContainsFunc(r.Sources, func(s SourceReport) bool { return fresh(s.Status) }) ||
		slices.ContainsFunc(r.Datasets, func(d DatasetReport) bool { return fresh(d.Status) })
}

// OnlyFailed reports whether every source that failed did so in its
// download or read, none refused by a health guard: --force would not help.
func (r *Report) OnlyFailed() bool {
	return !slices.ContainsFunc(r.Sources, func(s SourceReport) bool { return s.Failed && s.Status == StatusRefused })
}

// Statuses of a source in a [SourceReport].
const (
	StatusUpdated = "updated" // new data in the snapshot
	StatusForced  = "forced"  // new data in the snapshot, though a health guard refused it (--force)
	StatusKept    = "kept"    // not updated, for a reason that is no failure; previous data kept
	StatusMissing = "missing" // no data now and none before; nothing to keep
	StatusUnused  = "unused"  // a routing alternative not needed: another source gives its dataset
	StatusRefused = "refused" // a health guard refused the new data; previous data kept (failure)
	StatusFailed  = "failed"  // download, read or parse failed; previous data kept (failure)
)

// A SourceReport is what an update did with one source.
type SourceReport struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Provider string `json:"provider,omitempty"`
	Dataset  string `json:"dataset,omitempty"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// Failed marks a source that disappeared, failed or was refused: the
	// update's exit status is 1.
	Failed   bool   `json:"failed,omitempty"`
	URL      string `json:"url,omitempty"`
	File     string `json:"file,omitempty"` // the file read (--from) or written (raw/)
	Date     string `json:"date,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	// Stats and Previous measure a feed now and in the previous snapshot.
	Stats    *snapshot.Stats `json:"stats,omitempty"`
	Previous *snapshot.Stats `json:"previous,omitempty"`
	// Records and PreviousRecords count a routing file's records.
	Records         int `json:"records,omitempty"`
	PreviousRecords int `json:"previousRecords,omitempty"`
	// EntryErrors are the first malformed entries, each naming its file
	// and entry; EntryErrorCount counts them all. They were skipped.
	EntryErrors     []string `json:"entryErrors,omitempty"`
	EntryErrorCount int      `json:"entryErrorCount,omitempty"`
	Notes           []string `json:"notes,omitempty"`
}

// A DatasetReport says where a routing dataset of the new snapshot comes
// from.
type DatasetReport struct {
	Dataset string `json:"dataset"`
	Status  string `json:"status"` // updated, forced or kept
	Source  string `json:"source"` // the source group, or the previous snapshot's source
	Reason  string `json:"reason,omitempty"`
}

// OK reports whether every source was healthy: no source failed, was
// refused or disappeared.
func (r *Report) OK() bool {
	return !slices.ContainsFunc(r.Sources, func(s SourceReport) bool { return s.Failed })
}

// maxEntryErrors is how many malformed entries a report names per source.
const maxEntryErrors = 10

type updater struct {
	opts     Options
	client   *fetch.Client
	prev     *snapshot.Table
	embedded *snapshot.Table
	now      func() time.Time
	today    string
	rep      *Report
}

// Run updates the snapshot in opts.DataDir: it downloads (or, with From,
// reads) the selected sources, checks each against the previous snapshot,
// keeps the previous data of every source that is refused, fails or is not
// selected, builds the new snapshot and writes it atomically. Health
// failures are in the report ([Report.OK]); the error is for what stops the
// update as a whole (an unreadable previous snapshot, a data directory that
// cannot be written, a cancelled context), in which case the previous
// snapshot is left as it was.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if opts.DataDir == "" {
		return nil, errors.New("no data directory")
	}
	u := newUpdater(opts)
	srcs := opts.Sources
	if srcs == nil {
		srcs = Sources()
	}
	selected, err := Select(srcs, opts.Only)
	if err != nil {
		return nil, err
	}
	if err := u.prepare(); err != nil {
		return nil, err
	}
	// Plan: the feeds selected, and for each dataset the routing group to
	// read, then fetch them all.
	isSelected := func(s Source) bool {
		return slices.ContainsFunc(selected, func(x Source) bool { return x.Name == s.Name })
	}
	plan := u.planRouting(srcs, isSelected)
	u.setupClient()
	inputs, err := u.obtainAll(ctx, wanted(srcs, isSelected, plan))
	if err != nil {
		return nil, err
	}
	// Decide, then build from what was decided.
	feeds := u.feeds(srcs, inputs, isSelected)
	routing := u.routing(plan, inputs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dropParsed(inputs)
	if !u.rep.brought() {
		// Nothing new (all failed, or nothing selected changed): the data
		// in use stays as it is, rather than a copy of it dated today.
		u.rep.Unchanged = true
		u.rep.Seconds = time.Since(start).Seconds()
		return u.rep, nil
	}
	t, err := u.build(routing, feeds)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := SnapshotPath(opts.DataDir)
	n, err := WriteFileAtomic(path, t.Encode)
	if err != nil {
		return nil, fmt.Errorf("writing the snapshot: %w", err)
	}
	u.rep.Snapshot, u.rep.Bytes = path, n
	u.rep.Seconds = time.Since(start).Seconds()
	return u.rep, nil
}

func newUpdater(opts Options) *updater {
	u := &updater{opts: opts, now: opts.Now, rep: &Report{DataDir: opts.DataDir, From: opts.From, Forced: opts.Force}}
	if u.now == nil {
		u.now = time.Now
	}
	u.today = u.now().UTC().Format("2006-01-02")
	return u
}

// prepare checks the --from folder, loads the embedded and the previous
// snapshots and makes the data directory's raw folder.
func (u *updater) prepare() error {
	if u.opts.From != "" {
		if fi, err := os.Stat(u.opts.From); err != nil || !fi.IsDir() {
			return fmt.Errorf("--from %s: not a folder", u.opts.From)
		}
	}
	var err error
	if u.embedded, err = snapshot.Embedded(); err != nil {
		return err
	}
	if err := u.loadPrevious(); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(u.opts.DataDir, rawDir), 0o755)
}

// wanted returns the sources to obtain: the feeds selected and the members
// of each dataset's planned routing group.
func wanted(srcs []Source, selected func(Source) bool, plan []datasetPlan) []Source {
	var want []Source
	for _, s := range srcs {
		if s.Kind == Feed && selected(s) {
			want = append(want, s)
		}
	}
	for _, d := range plan {
		if d.group != nil {
			want = append(want, d.group.members...)
		}
	}
	return want
}

// A feedData is a feed accepted for the new snapshot, new or kept.
type feedData struct {
	src    snapshot.FeedSource
	ranges []attribution.FeedRange
}

// feeds decides each feed and reports it; it returns the feeds that the new
// snapshot holds.
func (u *updater) feeds(srcs []Source, inputs map[string]*input, selected func(Source) bool) []feedData {
	var out []feedData
	for _, s := range srcs {
		if s.Kind != Feed {
			continue
		}
		fs, rs, sr := u.feed(s, inputs[s.Name], selected(s))
		u.rep.Sources = append(u.rep.Sources, sr)
		if fs != nil {
			out = append(out, feedData{*fs, rs})
		}
	}
	return out
}

// dropParsed lets go of the inputs' bytes once they are parsed: what is
// parsed is all the build needs, but for the ip-location-db CSVs, which the
// builder reads itself.
func dropParsed(inputs map[string]*input) {
	for _, in := range inputs {
		in.raw = nil
		if in.src.Kind == Feed || in.src.format != formatIPDB {
			in.data = nil
		}
	}
}

// build builds the new snapshot: the new routing data, the previous
// snapshot's for the datasets kept, and the feeds.
func (u *updater) build(routing []datasetResult, feeds []feedData) (*snapshot.Table, error) {
	meta := snapshot.Meta{Name: "local " + u.today}
	var kept []snapshot.Dataset
	for _, r := range routing {
		if r.add == nil {
			kept = append(kept, r.dataset)
			continue
		}
		meta.Sources = append(meta.Sources, r.info)
		meta.Built = max(meta.Built, r.info.Date)
	}
	for _, f := range feeds {
		meta.Built = max(meta.Built, f.src.Date)
	}
	b := snapshot.NewBuilder(meta)
	for _, r := range routing {
		if r.add != nil {
			if err := r.add(b); err != nil {
				return nil, fmt.Errorf("%s data: %w", r.dataset, err)
			}
		}
	}
	if len(kept) > 0 {
		if err := b.AddTable(u.prev, kept...); err != nil {
			return nil, fmt.Errorf("previous snapshot: %w", err)
		}
	}
	for _, f := range feeds {
		b.AddFeed(f.src, f.ranges)
		u.rep.Feeds++
		u.rep.Ranges += len(f.ranges)
	}
	t, problems, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("building the snapshot: %w", err)
	}
	if len(problems) > 0 {
		u.rep.Defects = map[string]int{}
		for _, p := range problems {
			u.rep.Defects[p.Kind]++
		}
	}
	return t, nil
}

// loadPrevious finds the snapshot to compare with.
func (u *updater) loadPrevious() error {
	if u.opts.Previous != nil {
		u.prev, u.rep.Previous = u.opts.Previous, "given snapshot "+u.opts.Previous.Meta().Name
		return nil
	}
	path := SnapshotPath(u.opts.DataDir)
	t, err := snapshot.Load(path)
	switch {
	case err == nil:
		u.prev, u.rep.Previous = t, path
		return nil
	case errors.Is(err, fs.ErrNotExist):
		u.prev, u.rep.Previous = u.embedded, "embedded"
		return nil
	case u.opts.Force:
		u.prev, u.rep.Previous = u.embedded, fmt.Sprintf("embedded (%s is unreadable: %v)", path, err)
		return nil
	}
	return fmt.Errorf("previous snapshot: %w (remove it, or run with --force to start again from the embedded data)", err)
}

// setupClient picks the download client and draws progress through it.
func (u *updater) setupClient() {
	if u.opts.Client != nil {
		u.client = u.opts.Client
		return
	}
	u.client = newClient(nil, u.opts.Version)
	u.client.AllowPrivateRedirects = u.opts.AllowPrivateRedirects
}

// obtainAll downloads or reads the sources, a few at a time.
func (u *updater) obtainAll(ctx context.Context, srcs []Source) (map[string]*input, error) {
	n := u.opts.Concurrency
	if n <= 0 {
		n = 4
	}
	var bar *progress.Bar
	if u.opts.Progress != nil && u.opts.From == "" && u.opts.Client == nil {
		bar = progress.Start(u.opts.Progress, "downloading (bytes)", 0, 250*time.Millisecond)
		var mu sync.Mutex
		var total int64
		u.client.Progress = func(t, k int64) {
			if k == 0 && t > 0 {
				mu.Lock()
				total += t
				bar.SetTotal(total)
				mu.Unlock()
			}
			bar.Add(k)
		}
	}
	inputs := make(map[string]*input, len(srcs))
	var mu sync.Mutex
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			in := u.obtain(ctx, s)
			if in.err != nil && bar != nil {
				bar.AddError()
			}
			mu.Lock()
			inputs[s.Name] = in
			mu.Unlock()
		}()
	}
	wg.Wait()
	if bar != nil {
		bar.Finish()
	}
	return inputs, ctx.Err()
}

// prevFeed returns the previous snapshot's description of a feed.
func (u *updater) prevFeed(name string) *snapshot.FeedSource {
	for _, f := range u.prev.Meta().Feeds {
		if f.Name == name {
			return &f
		}
	}
	return nil
}

// feed decides what the new snapshot holds for a feed: the new ranges, the
// previous ones, or nothing (nil).
func (u *updater) feed(src Source, in *input, selected bool) (*snapshot.FeedSource, []attribution.FeedRange, SourceReport) {
	rep := SourceReport{Name: src.Name, Kind: src.Kind.String(), Provider: src.Provider, URL: src.URL}
	prev := u.prevFeed(src.Name)
	if prev != nil {
		st := prev.Stats
		rep.Previous = &st
	}
	// keep keeps the previous ranges, if any, with the reason why.
	keep := func(status, reason string, failed bool) (*snapshot.FeedSource, []attribution.FeedRange, SourceReport) {
		rep.Status, rep.Reason, rep.Failed = status, reason, failed
		if prev == nil {
			if status == StatusKept {
				rep.Status = StatusMissing
			}
			return nil, nil, rep
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("kept the previous data (%s, %s ranges)", orUnknown(prev.Date), count(float64(prev.Stats.Ranges))))
		fs := *prev
		if failed {
			fs.Status = fmt.Sprintf("kept previous: %s %s: %s", status, u.today, reason)
		} else {
			fs.Status = "kept previous: " + reason
		}
		return &fs, u.prev.FeedRanges(src.Name), rep
	}
	switch {
	case !selected:
		return keep(StatusKept, "not selected", false)
	case in == nil:
		return keep(StatusFailed, "not obtained", true)
	case in.missing != "" && u.opts.From != "" && prev != nil && u.prev == u.embedded:
		// The folder lacks a feed that only the embedded snapshot has:
		// nothing disappeared, the folder just does not bring it.
		return keep(StatusKept, in.missing+"; the embedded data is kept", false)
	case in.missing != "" && u.opts.From != "" && prev != nil:
		return keep(StatusFailed, "disappeared: "+in.missing, true)
	case in.missing != "":
		return keep(StatusKept, in.missing, false)
	case in.err != nil:
		verb := "download failed"
		if u.opts.From != "" {
			verb = "read failed"
		}
		reason := verb + ": " + in.err.Error()
		if re, ok := errors.AsType[*fetch.RedirectError](in.err); ok && re.Private {
			reason += " (--allow-private-redirects follows such redirects, if you trust them)"
		}
		return keep(StatusFailed, reason, true)
	}
	rep.URL, rep.Date, rep.SHA256, rep.Attempts, rep.Notes = in.url, in.date, in.sha256, in.attempts, in.notes
	if in.path != "" {
		rep.File = in.path
	}
	ranges, err := src.parse(bytes.NewReader(in.data))
	if err != nil && !onlyEntryErrors(err) {
		u.keepRaw(&rep, in, true)
		return keep(StatusFailed, "unreadable: "+err.Error(), true)
	}
	u.entryErrors(&rep, in, err)
	ranges = u.adjust(src, ranges, &rep)
	st := snapshot.FeedStats(ranges)
	rep.Stats = &st
	fs := &snapshot.FeedSource{Name: src.Name, Provider: src.Provider, URL: in.url, Date: in.date, SHA256: in.sha256, Stats: st}
	why := feedHealth(ranges, st, rep.Previous)
	switch {
	case len(why) > 0 && !u.opts.Force:
		u.keepRaw(&rep, in, true)
		return keep(StatusRefused, strings.Join(why, "; "), true)
	case len(why) > 0:
		rep.Status, rep.Reason = StatusForced, strings.Join(why, "; ")
		fs.Status = fmt.Sprintf("updated %s despite: %s (--force)", u.today, rep.Reason)
	default:
		rep.Status = StatusUpdated
		fs.Status = "updated " + u.today
	}
	fs.File = u.keepRaw(&rep, in, false)
	return fs, ranges, rep
}

// adjust sets each range's provider where it differs from the feed's and
// drops ranges inside special-use address space.
func (u *updater) adjust(src Source, rs []attribution.FeedRange, rep *SourceReport) []attribution.FeedRange {
	out := rs[:0]
	dropped := 0
	for _, r := range rs {
		if b, ok := specialBlock(r.Prefix); ok {
			if dropped < maxEntryErrors {
				rep.Notes = append(rep.Notes, fmt.Sprintf("dropped %s: inside special-use block %s", r.Prefix, b))
			}
			dropped++
			continue
		}
		if src.provider != nil {
			r.Provider = src.provider(r)
		}
		out = append(out, r)
	}
	if dropped > maxEntryErrors {
		rep.Notes = append(rep.Notes, fmt.Sprintf("dropped %d ranges inside special-use blocks in all", dropped))
	}
	return dropUnplaced(out)
}

// dropUnplaced drops the ranges that say nothing of where they are (no
// region, no country) when the feed lists the same prefix again with a
// place: Azure lists most prefixes under a global service tag and again
// under a regional one. The regional listing gives the verdict its location
// whichever comes first, and the feed layer stays smaller.
func dropUnplaced(rs []attribution.FeedRange) []attribution.FeedRange {
	placed := make(map[netip.Prefix]bool, len(rs))
	for _, r := range rs {
		if r.Region != "" || r.Country != "" {
			placed[r.Prefix] = true
		}
	}
	if len(placed) == 0 {
		return rs
	}
	out := rs[:0]
	for _, r := range rs {
		if r.Region == "" && r.Country == "" && placed[r.Prefix] {
			continue
		}
		out = append(out, r)
	}
	return out
}

// entryErrors records the malformed entries that a parser skipped.
func (u *updater) entryErrors(rep *SourceReport, in *input, err error) {
	errs := leafErrors(err)
	rep.EntryErrorCount = len(errs)
	name := in.src.File
	if in.path != "" {
		name = in.path
	}
	for _, e := range errs[:min(len(errs), maxEntryErrors)] {
		rep.EntryErrors = append(rep.EntryErrors, name+": "+e.Error())
	}
}

// leafErrors flattens joined errors.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// onlyEntryErrors reports whether a parser's error holds only malformed
// entries (which were skipped), not a failure to read the file.
func onlyEntryErrors(err error) bool {
	for _, e := range leafErrors(err) {
		var pe *feed.ParseError
		if !errors.As(e, &pe) {
			return false
		}
	}
	return true
}

// keepRaw keeps the file as obtained in the data directory: under its
// source's file name when accepted, with ".refused" appended when not (for
// inspection; the accepted file stays). It returns the name written, ""
// when writing failed, which is noted in the report: the snapshot does not
// depend on it.
func (u *updater) keepRaw(rep *SourceReport, in *input, refused bool) string {
	name := in.src.File
	other := name + ".gz"
	if in.gz && !strings.HasSuffix(name, ".gz") {
		name, other = name+".gz", name
	}
	if refused {
		name += ".refused"
	}
	path := filepath.Join(u.opts.DataDir, rawDir, name)
	if rep.File == "" {
		rep.File = path
	}
	if in.path != "" && sameFile(in.path, path) {
		return name
	}
	if _, err := WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(in.raw); return err }); err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("raw file not kept: %v", err))
		return ""
	}
	if !refused {
		os.Remove(filepath.Join(u.opts.DataDir, rawDir, other))
		os.Remove(filepath.Join(u.opts.DataDir, rawDir, in.src.File+".refused"))
		os.Remove(filepath.Join(u.opts.DataDir, rawDir, in.src.File+".gz.refused"))
	}
	return name
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func orUnknown(s string) string {
	if s == "" {
		return "date unknown"
	}
	return s
}
