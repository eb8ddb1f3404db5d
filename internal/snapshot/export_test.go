package snapshot

import (
	"math"

	"github.com/sovmap/sovmap/internal/ipindex"
)

// Test hooks.

// EmbeddedBytes is the embedded snapshot file. Tests must not modify it.
var EmbeddedBytes = embeddedData

// VersionDate is versionDate.
var VersionDate = versionDate

const (
	AutoExpand = autoExpand
	BlockSize  = blockSize
)

// Index expands the table and returns its segment indexes.
func (t *Table) Index() (*ipindex.V4, *ipindex.V6, error) {
	if err := t.Expand(); err != nil {
		return nil, nil, err
	}
	return t.fam[0].v4, t.fam[1].v6x, nil
}

// Expanded reports whether an address family (0 for IPv4, 1 for IPv6) has
// been decoded whole.
func (t *Table) Expanded(fam int) bool { return t.fam[fam].expanded.Load() }

// NoAutoExpand keeps the table on the lazy lookup path: it never expands
// itself (Expand still works).
func (t *Table) NoAutoExpand() {
	for i := range t.fam {
		t.fam[i].lookups.Store(math.MinInt64 / 2)
		t.feeds.fam[i].lookups.Store(math.MinInt64 / 2)
	}
}
