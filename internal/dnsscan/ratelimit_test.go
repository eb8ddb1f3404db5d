package dnsscan

import (
	"context"
	"testing"
	"time"
)

// TestLimiter checks the token bucket on a fake clock.
func TestLimiter(t *testing.T) {
	t.Parallel()
	if newLimiter(0) != nil || newLimiter(-1) != nil {
		t.Fatalf("newLimiter(0) is not nil: no limit wanted")
	}
	now := time.Unix(1000, 0)
	l := newLimiter(100) // burst 10
	l.now = func() time.Time { return now }
	for i := range 10 {
		if d := l.reserve(); d != 0 {
			t.Fatalf("reserve %d within the burst waits %v", i, d)
		}
	}
	if d := l.reserve(); d != 10*time.Millisecond {
		t.Errorf("reserve past the burst waits %v, want 10ms", d)
	}
	if d := l.reserve(); d != 20*time.Millisecond {
		t.Errorf("second reserve past the burst waits %v, want 20ms", d)
	}
	l.cancel()
	if d := l.reserve(); d != 20*time.Millisecond {
		t.Errorf("reserve after a cancel waits %v, want 20ms", d)
	}
	now = now.Add(time.Second) // refills, capped at the burst
	for i := range 10 {
		if d := l.reserve(); d != 0 {
			t.Fatalf("reserve %d after a second waits %v", i, d)
		}
	}
	if d := l.reserve(); d == 0 {
		t.Errorf("the bucket holds more than its burst")
	}
}

func TestLimiterWait(t *testing.T) {
	t.Parallel()
	var nilLim *limiter
	if err := nilLim.wait(context.Background()); err != nil {
		t.Errorf("nil limiter: %v", err)
	}
	l := newLimiter(1) // burst 1
	if err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx); err == nil {
		t.Errorf("wait with a cancelled context and no token succeeded")
	}
	// The cancelled wait gave its token back: the next one waits one
	// token's time, not two.
	if d := l.reserve(); d > 1100*time.Millisecond {
		t.Errorf("reserve after a cancelled wait: %v, want at most 1s", d)
	}
}
