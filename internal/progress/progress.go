// Package progress draws a one-line progress report on a terminal for long
// work: done and total, rate, errors and elapsed time. It draws nothing when
// its writer is not a terminal, so pipes and logs stay clean.
//
// A Bar is safe for concurrent use: workers call [Bar.Add] and
// [Bar.AddError] from any goroutine; drawing happens on a timer.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// A Bar reports progress on a terminal.
type Bar struct {
	w      io.Writer
	label  string
	total  atomic.Int64 // 0 if unknown
	done   atomic.Int64
	errs   atomic.Int64
	start  time.Time
	stop   chan struct{}
	wg     sync.WaitGroup
	active bool
}

// Start returns a bar that draws to w every interval while w is a terminal;
// otherwise it returns a bar that only counts. Total may be 0 if unknown.
func Start(w io.Writer, label string, total int64, interval time.Duration) *Bar {
	b := &Bar{w: w, label: label, start: time.Now(), stop: make(chan struct{})}
	b.total.Store(total)
	if !IsTerminal(w) {
		return b
	}
	b.active = true
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.draw(false)
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// SetTotal sets the total once it is known.
func (b *Bar) SetTotal(n int64) { b.total.Store(n) }

// Add counts n items done.
func (b *Bar) Add(n int64) { b.done.Add(n) }

// AddError counts one failed item (it is also counted as done by Add).
func (b *Bar) AddError() { b.errs.Add(1) }

// Finish stops drawing and clears the line.
func (b *Bar) Finish() {
	if !b.active {
		return
	}
	close(b.stop)
	b.wg.Wait()
	b.draw(true)
}

func (b *Bar) draw(final bool) {
	done, total, errs := b.done.Load(), b.total.Load(), b.errs.Load()
	el := time.Since(b.start)
	rate := float64(done) / max(el.Seconds(), 1e-9)
	var line string
	if total > 0 {
		line = fmt.Sprintf("%s %d/%d (%.0f%%)  %.0f/s  %d errors  %s", b.label, done, total, 100*float64(done)/float64(total), rate, errs, el.Truncate(time.Second))
	} else {
		line = fmt.Sprintf("%s %d  %.0f/s  %d errors  %s", b.label, done, rate, errs, el.Truncate(time.Second))
	}
	if final {
		fmt.Fprintf(b.w, "\r\033[K")
		return
	}
	fmt.Fprintf(b.w, "\r\033[K%s", line)
}
