package dnsscan

import (
	"context"
	"sync"
	"time"
)

// A limiter is a token bucket: it lets rate events through per second on
// average, with bursts of at most burst events. Waiters are served in the
// order they reserve, each at the time its token becomes available; a
// waiter that gives up returns its token.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64 // may go negative: tokens reserved by waiters
	last   time.Time
	now    func() time.Time
}

// newLimiter returns a limiter of rate events per second; nil when rate is
// not positive (no limit). The burst is a tenth of a second's worth, at
// least one.
func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return nil
	}
	burst := max(rate/10, 1)
	return &limiter{rate: rate, burst: burst, tokens: burst, now: time.Now}
}

// reserve takes a token and returns how long to wait before using it.
func (l *limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// cancel gives back a token reserved but not used.
func (l *limiter) cancel() {
	l.mu.Lock()
	l.tokens = min(l.burst, l.tokens+1)
	l.mu.Unlock()
}

// wait blocks until a token is available or ctx is done. A nil limiter
// never blocks.
func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	d := l.reserve()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.cancel()
		return ctx.Err()
	}
}
