package flowagg

import (
	"sync"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// Shards is an aggregation spread over several goroutines: each adds to its
// own shard, under that shard's lock, and [Shards.Take] collects them all.
// It is safe for concurrent use.
type Shards struct {
	local  *Local
	shards []shard
	max    int
	att    Attributor
}

type shard struct {
	mu  sync.Mutex
	agg *Aggregator
	_   [48]byte // keep shards on separate cache lines
}

// NewShards returns n shards (at least one) telling local from remote ends
// with local.
func NewShards(n int, local *Local) *Shards {
	s := &Shards{local: local, shards: make([]shard, max(n, 1))}
	for i := range s.shards {
		s.shards[i].agg = New(local)
	}
	return s
}

// Bound bounds the remotes of each shard, and of what Take returns, as
// [Aggregator.Bound] does: each shard to its share of n, the merged
// aggregation to n. It must be called before the first Add.
func (s *Shards) Bound(n int, att Attributor) {
	s.max, s.att = n, att
	for i := range s.shards {
		s.shards[i].agg = s.fresh(len(s.shards))
	}
}

// fresh returns a new aggregator with the shards' bound split parts ways.
func (s *Shards) fresh(parts int) *Aggregator {
	a := New(s.local)
	if s.max > 0 {
		a.Bound(s.max/parts, s.att)
	}
	return a
}

// Add adds records to shard i.
func (s *Shards) Add(i int, recs []flowlog.Record) {
	sh := &s.shards[i%len(s.shards)]
	sh.mu.Lock()
	for k := range recs {
		sh.agg.Add(&recs[k])
	}
	sh.mu.Unlock()
}

// Take returns everything added since the last Take, merged, and starts
// every shard afresh.
func (s *Shards) Take() *Aggregator {
	out := s.fresh(1)
	for i := range s.shards {
		sh := &s.shards[i]
		fresh := s.fresh(len(s.shards))
		sh.mu.Lock()
		old := sh.agg
		sh.agg = fresh
		sh.mu.Unlock()
		if len(s.shards) == 1 {
			return old
		}
		out.Merge(old)
	}
	return out
}
