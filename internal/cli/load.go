package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/update"
)

var flagErrHelp = flag.ErrHelp

// embeddedName is the --snapshot value that chooses the embedded snapshot.
const embeddedName = "embedded"

// openSnapshotIn returns the snapshot at path and a description of where
// it came from. Path "embedded" is the snapshot in the binary; path "" is
// the snapshot of the data directory dataDir ("" for the default) when
// 'sovmap data update' has written one, else the embedded one.
func openSnapshotIn(path, dataDir string) (*snapshot.Table, string, error) {
	switch path {
	case embeddedName:
		t, err := snapshot.Embedded()
		return t, "embedded in the binary (--snapshot embedded)", err
	case "":
		dir, err := dataDirOrDefault(dataDir)
		if err != nil {
			t, err := snapshot.Embedded()
			return t, "embedded in the binary (no data directory)", err
		}
		p := update.SnapshotPath(dir)
		t, err := snapshot.Load(p)
		switch {
		case err == nil:
			return t, p + " (written by 'sovmap data update')", nil
		case errors.Is(err, fs.ErrNotExist):
			t, err := snapshot.Embedded()
			return t, "embedded in the binary (no " + p + "; 'sovmap data update' writes one)", err
		}
		return nil, "", errors.New(err.Error() + " (run 'sovmap data update' again, or use --snapshot embedded)")
	}
	t, err := snapshot.Load(path)
	return t, path, err
}

// dataFlags are the flags that choose the data a command attributes with.
type dataFlags struct {
	snapshot string
	dataDir  string
	catalogs stringList
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.snapshot, "snapshot", "", "use the snapshot `file` (\"embedded\" for the one in the binary) instead of the data directory's")
	fs.StringVar(&d.dataDir, "data-dir", "", "the data `directory` whose sovmap.snap to use when it has one")
	fs.Var(&d.catalogs, "catalog", "extend or override the catalog with a YAML `file` (repeatable)")
}

// engine loads the snapshot and catalog and returns an engine over them,
// warning on e's stderr when the data is old (see warnDataAge).
func (d *dataFlags) engine(e *env) (*attribution.Engine, *snapshot.Table, error) {
	t, _, err := openSnapshotIn(d.snapshot, d.dataDir)
	if err != nil {
		return nil, nil, err
	}
	warnDataAge(e, t.Meta().Built, time.Now())
	c, err := catalog.Load(d.catalogs...)
	if err != nil {
		return nil, nil, err
	}
	m := t.Meta()
	labels := attribution.SourceLabels{ASN: m.Label(snapshot.ASNData)}
	return attribution.NewEngine(t, c, labels), t, nil
}

// defaultMaxDataAge is the age in days past which the data in use is
// warned about.
const defaultMaxDataAge = 90

// warnDataAge warns, once per command, when the data in use (built from
// sources of the date built) is older than $SOVMAP_DATA_MAX_AGE days
// (default 90; 0 turns the warning off), with the command that refreshes
// it.
func warnDataAge(e *env, built string, now time.Time) {
	if e == nil || e.warnedAge {
		return
	}
	maxAge := defaultMaxDataAge
	if v := os.Getenv("SOVMAP_DATA_MAX_AGE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			e.errorf("SOVMAP_DATA_MAX_AGE=%q is not a number of days; using %d", v, defaultMaxDataAge)
		} else {
			maxAge = n
		}
	}
	if msg := dataAgeWarning(built, now, maxAge); msg != "" {
		e.warnedAge = true
		e.errorf("%s", msg)
	}
}

// dataAgeWarning returns the warning for data built on the date built
// (YYYY-MM-DD) at time now, or "" when it is at most maxAge days old (or
// maxAge is 0, or the date is unknown).
func dataAgeWarning(built string, now time.Time, maxAge int) string {
	if maxAge == 0 {
		return ""
	}
	d, err := time.Parse(time.DateOnly, built)
	if err != nil {
		return ""
	}
	days := int(now.Sub(d).Hours() / 24)
	if days <= maxAge {
		return ""
	}
	return fmt.Sprintf("warning: the IP data in use is from %s, %d days old (over %d): providers move ranges and networks change hands; refresh it with 'sovmap data update' (or set SOVMAP_DATA_MAX_AGE=0 to silence this)", built, days, maxAge)
}
