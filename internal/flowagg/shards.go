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
	out := New(s.local)
	for i := range s.shards {
		sh := &s.shards[i]
		fresh := New(s.local)
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
