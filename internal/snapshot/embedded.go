package snapshot

import (
	_ "embed"
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// embeddedData is the default snapshot, built by scripts/build-embedded.sh
// from the pinned ip-location-db packages (scripts/fetch-ipdb.sh) and the
// providers' official range feeds (docs/snapshot.md). It is never
// modified.
//
//go:embed data/sovmap.snap
var embeddedData []byte

var loadEmbedded = sync.OnceValues(func() (*Table, error) {
	if len(embeddedData) == 0 {
		return nil, fmt.Errorf("embedded snapshot: %w: empty", ErrCorrupt)
	}
	// The table reads the embedded bytes in place as a string: they are
	// read-only for the life of the program, so no copy is needed.
	s := unsafe.String(&embeddedData[0], len(embeddedData))
	t, err := decode(embeddedData, s)
	if err != nil {
		return nil, fmt.Errorf("embedded snapshot: %w", err)
	}
	return t, nil
})

// Embedded returns the snapshot embedded in the binary. It is decoded once.
func Embedded() (*Table, error) { return loadEmbedded() }

// Load reads and decodes a snapshot file.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: %w: empty file", path, ErrCorrupt)
	}
	// The buffer is ours and never written again: the table reads it in
	// place as a string, as it reads the embedded file, without a copy.
	t, err := decode(b, unsafe.String(&b[0], len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
