package dnsscan

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sovmap/sovmap/internal/dnsname"
)

// DefaultConcurrency is the number of domains a zero Runner scans at once.
const DefaultConcurrency = 100

// maxLine bounds an input line; a longer one is reported as malformed.
const maxLine = 4096

// A Runner scans a stream of domain names, one per line, and hands each
// result to Emit as soon as it is complete (or, when Ordered, as soon as
// every earlier one has been handed over).
//
// Every input line that is not blank or a comment (starting with #) gives
// exactly one result: a name that is not a domain name, or that repeats an
// earlier line, gives a result with status error and a reason, and the
// run goes on. Names listed in Done are skipped without a result.
//
// Memory is bounded by the concurrency (and the reorder window when
// Ordered), plus about 40 bytes per distinct name for duplicate detection
// (a 20-byte hash in a map).
type Runner struct {
	// Scan scans one normalised domain name, usually [Scanner.Scan].
	// Required.
	Scan func(ctx context.Context, domain string) Result
	// Concurrency is the number of domains scanned at once; zero means
	// [DefaultConcurrency].
	Concurrency int
	// Ordered hands results over in input order. A reorder window of
	// 8×Concurrency results bounds the memory: when the oldest domain is
	// slow, the scan waits for it.
	Ordered bool
	// Done holds the names already in an earlier output (see [ReadDone]);
	// they are skipped. Nil skips nothing.
	Done *DoneSet
	// Emit receives each result, from one goroutine at a time. An error
	// stops the run.
	Emit func(*Result) error
	// Idle, if set, is called when no result is waiting to be handed over:
	// the moment to flush buffered output.
	Idle func() error
}

// Stats counts the inputs of a run.
type Stats struct {
	Inputs     int            // non-blank, non-comment input lines
	Skipped    int            // names skipped because Done holds them
	Malformed  int            // lines that are not domain names
	Duplicates int            // names that repeat an earlier line
	Statuses   map[string]int // results by status (malformed and duplicate lines count as error)
}

// item is one input line on its way to a result.
type item struct {
	seq     int
	line    int
	input   string
	domain  string
	res     *Result // set for a line that is not scanned, and once scanned
	drop    bool    // cancelled before it completed: not handed over
	scanned bool    // sent to a worker
	dups    []*item // duplicates waiting for this item to be handed over
}

// Run reads names from in until its end and scans them. It returns when
// every result has been handed over, when Emit fails, when reading fails,
// or when ctx is cancelled (then results not yet complete are dropped, not
// handed over, so that a resumed run scans them).
func (r *Runner) Run(ctx context.Context, in io.Reader) (Stats, error) {
	conc := r.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	window := 2*conc + 64
	if r.Ordered {
		window = 8*conc + 64
	}
	st := Stats{Statuses: make(map[string]int)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		jobs    = make(chan *item)
		results = make(chan *item, conc)
		slots   = make(chan struct{}, window)
		mu      sync.Mutex
		waiting = make(map[string]*item) // unordered: scanned items not yet handed over, by domain
		readErr error
		wg      sync.WaitGroup
	)

	// Feeder.
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		defer close(jobs)
		seen := make(map[[20]byte]int32)
		seq := 0
		br := bufio.NewReaderSize(in, 64<<10)
		lineNo := 0
		for {
			raw, err := readLine(br)
			if len(raw) > 0 || err == nil {
				lineNo++
			}
			if err != nil && err != io.EOF && !errors.Is(err, errLongLine) {
				readErr = fmt.Errorf("read: %w", err)
				cancel()
				return
			}
			s := strings.TrimSpace(string(raw))
			if errors.Is(err, errLongLine) {
				s = s[:min(len(s), 80)] + "..."
			}
			if s != "" && s[0] != '#' {
				it := &item{line: lineNo, input: s}
				st.Inputs++
				domain, nerr := dnsname.Normalize(s)
				if errors.Is(err, errLongLine) {
					nerr = &dnsname.Error{Input: s, Reason: "line longer than 4096 bytes"}
				}
				key := domain
				if nerr != nil {
					key = s
				}
				if r.Done.take(key) {
					st.Skipped++
					if k := hashKey(domain); nerr == nil && seen[k] == 0 {
						seen[k] = int32(lineNo)
					}
				} else {
					select {
					case slots <- struct{}{}:
					case <-ctx.Done():
						return
					}
					it.seq = seq
					seq++
					var de *dnsname.Error
					switch {
					case errors.As(nerr, &de):
						st.Malformed++
						it.res = &Result{Domain: s, Line: lineNo, Status: StatusError, Error: "not a domain name: " + de.Reason}
						results <- it
					case nerr == nil && seen[hashKey(domain)] != 0:
						st.Duplicates++
						it.domain = domain
						it.res = &Result{Domain: domain, Line: lineNo, Status: StatusError,
							Error: fmt.Sprintf("duplicate of line %d", seen[hashKey(domain)])}
						if s != domain {
							it.res.Input = s
						}
						mu.Lock()
						orig := waiting[domain]
						if orig != nil && !r.Ordered {
							orig.dups = append(orig.dups, it)
						}
						mu.Unlock()
						if orig == nil || r.Ordered {
							results <- it
						}
					default:
						seen[hashKey(domain)] = int32(lineNo)
						it.domain = domain
						if !r.Ordered {
							mu.Lock()
							waiting[domain] = it
							mu.Unlock()
						}
						select {
						case jobs <- it:
						case <-ctx.Done():
							return
						}
					}
				}
			}
			if err == io.EOF {
				return
			}
		}
	}()

	// Workers.
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				res := r.Scan(ctx, it.domain)
				if ctx.Err() != nil {
					it.drop = true
				}
				res.Line = it.line
				if it.input != it.domain {
					res.Input = it.input
				}
				it.res = &res
				it.scanned = true
				results <- it
			}
		}()
	}
	go func() {
		<-feedDone
		wg.Wait()
		close(results)
	}()

	// Emitter: this goroutine.
	var emitErr error
	emit := func(it *item) {
		<-slots
		if it.drop || emitErr != nil {
			return
		}
		st.Statuses[it.res.Status]++
		if err := r.Emit(it.res); err != nil {
			emitErr = err
			cancel()
		}
	}
	pending := make(map[int]*item) // ordered: results waiting for earlier ones
	next := 0
	for {
		var it *item
		var ok bool
		select {
		case it, ok = <-results:
		default:
			if r.Idle != nil && emitErr == nil {
				if err := r.Idle(); err != nil {
					emitErr = err
					cancel()
				}
			}
			it, ok = <-results
		}
		if !ok {
			break
		}
		if r.Ordered {
			pending[it.seq] = it
			for {
				p, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				if p.drop {
					// Nothing after a dropped result may be handed over.
					emitErr = cmpErr(emitErr, ctx.Err())
				}
				emit(p)
			}
			continue
		}
		var dups []*item
		if it.scanned {
			mu.Lock()
			if waiting[it.domain] == it {
				delete(waiting, it.domain)
			}
			dups = it.dups
			mu.Unlock()
		}
		emit(it)
		for _, d := range dups {
			d.drop = it.drop
			emit(d)
		}
	}
	if emitErr == nil && r.Idle != nil {
		emitErr = r.Idle()
	}
	switch {
	case readErr != nil:
		return st, readErr
	case emitErr != nil && !errors.Is(emitErr, context.Canceled):
		return st, emitErr
	}
	return st, ctx.Err()
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var errLongLine = errors.New("line too long")

// readLine returns the next line without its end. A line longer than
// maxLine returns its first maxLine bytes and errLongLine, the rest being
// skipped.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || (err == nil && len(line) > maxLine+1) {
		head := bytes.Clone(line[:min(len(line), maxLine)])
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		return head, errLongLine
	}
	return bytes.TrimRight(line, "\r\n"), err
}

func hashKey(s string) [20]byte {
	h := sha256.Sum256([]byte(s))
	return [20]byte(h[:20])
}

// A DoneSet holds the names an earlier output already has, with the
// number of records of each, so that a resumed run skips as many input
// lines of each name.
type DoneSet struct {
	m map[[20]byte]int32
}

// Len returns the number of records counted.
func (d *DoneSet) Len() int {
	if d == nil {
		return 0
	}
	n := 0
	for _, c := range d.m {
		n += int(c)
	}
	return n
}

// Has reports whether the set still counts a record of name.
func (d *DoneSet) Has(name string) bool { return d != nil && d.m[hashKey(name)] > 0 }

// take counts one record of name as used, reporting whether there was one.
func (d *DoneSet) take(name string) bool {
	if d == nil {
		return false
	}
	k := hashKey(name)
	if d.m[k] <= 0 {
		return false
	}
	d.m[k]--
	return true
}

// ReadDone reads an earlier NDJSON output of scan and returns the names it
// holds, and the length of its complete lines: a final line without a line
// end (a run that stopped while writing it) is not counted, and the caller
// should truncate the file to that length before appending. A complete
// line that is not a scan record is an error.
func ReadDone(r io.Reader) (*DoneSet, int64, error) {
	d := &DoneSet{m: make(map[[20]byte]int32)}
	br := bufio.NewReaderSize(r, 1<<20)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return d, off, nil // a partial last line is left out
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read: %w", err)
		}
		off += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct {
			Domain *string `json:"domain"`
			Status string  `json:"status"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || rec.Domain == nil || rec.Status == "" {
			return nil, 0, fmt.Errorf("line %d: not a scan record", lineNo)
		}
		d.m[hashKey(*rec.Domain)]++
	}
}
