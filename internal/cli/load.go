package cli

import (
	"errors"
	"flag"
	"io/fs"

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

// engine loads the snapshot and catalog and returns an engine over them.
func (d *dataFlags) engine() (*attribution.Engine, *snapshot.Table, error) {
	t, _, err := openSnapshotIn(d.snapshot, d.dataDir)
	if err != nil {
		return nil, nil, err
	}
	c, err := catalog.Load(d.catalogs...)
	if err != nil {
		return nil, nil, err
	}
	m := t.Meta()
	labels := attribution.SourceLabels{ASN: m.Label(snapshot.ASNData)}
	return attribution.NewEngine(t, c, labels), t, nil
}
