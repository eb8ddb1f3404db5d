package cli

import (
	"flag"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/snapshot"
)

var flagErrHelp = flag.ErrHelp

// openSnapshot returns the snapshot at path, or the embedded one when path
// is empty, and a description of where it came from.
func openSnapshot(path string) (*snapshot.Table, string, error) {
	if path == "" {
		t, err := snapshot.Embedded()
		return t, "embedded in the binary", err
	}
	t, err := snapshot.Load(path)
	return t, path, err
}

// dataFlags are the flags that choose the data a command attributes with.
type dataFlags struct {
	snapshot string
	catalogs stringList
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.snapshot, "snapshot", "", "use the snapshot `file` instead of the embedded one")
	fs.Var(&d.catalogs, "catalog", "extend or override the catalog with a YAML `file` (repeatable)")
}

// engine loads the snapshot and catalog and returns an engine over them.
func (d *dataFlags) engine() (*attribution.Engine, *snapshot.Table, error) {
	t, _, err := openSnapshot(d.snapshot)
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
