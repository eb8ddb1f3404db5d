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
//
// A run has three parts: one feeder goroutine reads the lines ([run.feed]),
// Concurrency workers scan the names ([run.work]), and the calling
// goroutine hands the results over ([run.emitAll]).
func (r *Runner) Run(ctx context.Context, in io.Reader) (Stats, error) {
	ru := r.newRun(ctx)
	defer ru.cancel()
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		defer close(ru.jobs)
		ru.feed(in)
	}()
	var wg sync.WaitGroup
	for range ru.conc {
		wg.Go(ru.work)
	}
	go func() {
		<-feedDone
		wg.Wait()
		close(ru.results)
	}()
	ru.emitAll()
	return ru.st, ru.err()
}

// A run is the state of one [Runner.Run], shared by its feeder, workers
// and emitter. Each field says who writes it; the emitter reads what the
// feeder wrote only once results is closed, after the feeder has returned.
type run struct {
	r      *Runner
	conc   int
	ctx    context.Context // cancelled when the run stops early
	cancel context.CancelFunc

	jobs    chan *item    // feeder → workers: names to scan
	results chan *item    // feeder and workers → emitter
	slots   chan struct{} // bounds the items between the feeder and the emitter

	mu      sync.Mutex
	waiting map[string]*item // unordered: scanned items not yet handed over, by domain (feeder and emitter, under mu)

	st      Stats              // counts of the inputs: feeder; Statuses: emitter
	readErr error              // feeder
	seen    map[[20]byte]int32 // feeder: the line of each name met, by hash
	seq     int                // feeder: the sequence number of the next item
	emitErr error              // emitter
	pending map[int]*item      // emitter, ordered: results waiting for earlier ones
	next    int                // emitter, ordered: the sequence number to hand over next
}

func (r *Runner) newRun(ctx context.Context) *run {
	conc := r.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	window := 2*conc + 64
	if r.Ordered {
		window = 8*conc + 64
	}
	ctx, cancel := context.WithCancel(ctx)
	return &run{
		r:       r,
		conc:    conc,
		ctx:     ctx,
		cancel:  cancel,
		jobs:    make(chan *item),
		results: make(chan *item, conc),
		slots:   make(chan struct{}, window),
		waiting: make(map[string]*item),
		st:      Stats{Statuses: make(map[string]int)},
		seen:    make(map[[20]byte]int32),
		pending: make(map[int]*item),
	}
}

// feed reads the input, line by line, until its end, a read error (which
// cancels the run) or the run's cancellation.
func (ru *run) feed(in io.Reader) {
	br := bufio.NewReaderSize(in, 64<<10)
	lineNo := 0
	for {
		raw, err := readLine(br)
		if len(raw) > 0 || err == nil {
			lineNo++
		}
		if err != nil && err != io.EOF && !errors.Is(err, errLongLine) {
			ru.readErr = fmt.Errorf("read: %w", err)
			ru.cancel()
			return
		}
		if !ru.feedLine(lineNo, raw, errors.Is(err, errLongLine)) || err == io.EOF {
			return
		}
	}
}

// feedLine turns one input line into an item: skipped when Done holds it,
// handed straight to the emitter when it is malformed or a duplicate, sent
// to the workers otherwise. Long says the line was cut at maxLine. It
// returns false when the run was cancelled.
func (ru *run) feedLine(lineNo int, raw []byte, long bool) bool {
	s := strings.TrimSpace(string(raw))
	if long {
		s = s[:min(len(s), 80)] + "..."
	}
	if s == "" || s[0] == '#' {
		return true
	}
	ru.st.Inputs++
	domain, nerr := dnsname.Normalize(s)
	if long {
		nerr = &dnsname.Error{Input: s, Reason: "line longer than 4096 bytes"}
	}
	key := domain
	if nerr != nil {
		key = s
	}
	if ru.r.Done.take(key) {
		ru.st.Skipped++
		if k := hashKey(domain); nerr == nil && ru.seen[k] == 0 {
			ru.seen[k] = int32(lineNo)
		}
		return true
	}
	select {
	case ru.slots <- struct{}{}:
	case <-ru.ctx.Done():
		return false
	}
	it := &item{seq: ru.seq, line: lineNo, input: s}
	ru.seq++
	var de *dnsname.Error
	switch {
	case errors.As(nerr, &de):
		ru.malformed(it, de)
	case nerr == nil && ru.seen[hashKey(domain)] != 0:
		ru.duplicate(it, domain)
	default:
		return ru.schedule(it, domain)
	}
	return true
}

// malformed hands over the error result of a line that is not a domain name.
func (ru *run) malformed(it *item, de *dnsname.Error) {
	ru.st.Malformed++
	it.res = &Result{Domain: it.input, Line: it.line, Status: StatusError, Error: "not a domain name: " + de.Reason}
	ru.results <- it
}

// duplicate hands over the error result of a name that repeats an earlier
// line. Unordered, a duplicate of a name still being scanned waits for it,
// so that it never comes before the result it refers to.
func (ru *run) duplicate(it *item, domain string) {
	ru.st.Duplicates++
	it.domain = domain
	it.res = &Result{Domain: domain, Line: it.line, Status: StatusError,
		Error: fmt.Sprintf("duplicate of line %d", ru.seen[hashKey(domain)])}
	if it.input != domain {
		it.res.Input = it.input
	}
	if !ru.r.Ordered {
		ru.mu.Lock()
		orig := ru.waiting[domain]
		if orig != nil {
			orig.dups = append(orig.dups, it)
		}
		ru.mu.Unlock()
		if orig != nil {
			return
		}
	}
	ru.results <- it
}

// schedule sends a name to the workers; it returns false when the run was
// cancelled first.
func (ru *run) schedule(it *item, domain string) bool {
	ru.seen[hashKey(domain)] = int32(it.line)
	it.domain = domain
	if !ru.r.Ordered {
		ru.mu.Lock()
		ru.waiting[domain] = it
		ru.mu.Unlock()
	}
	select {
	case ru.jobs <- it:
		return true
	case <-ru.ctx.Done():
		return false
	}
}

// work scans names until jobs is closed. A scan that ends after the run
// was cancelled is dropped.
func (ru *run) work() {
	for it := range ru.jobs {
		res := ru.r.Scan(ru.ctx, it.domain)
		if ru.ctx.Err() != nil {
			it.drop = true
		}
		res.Line = it.line
		if it.input != it.domain {
			res.Input = it.input
		}
		it.res = &res
		it.scanned = true
		ru.results <- it
	}
}

// emitAll hands the results over until results is closed, then calls Idle
// a last time.
func (ru *run) emitAll() {
	for {
		it, ok := ru.receive()
		if !ok {
			break
		}
		if ru.r.Ordered {
			ru.emitInOrder(it)
		} else {
			ru.emitWithDuplicates(it)
		}
	}
	if ru.emitErr == nil && ru.r.Idle != nil {
		ru.emitErr = ru.r.Idle()
	}
}

// receive returns the next result, calling Idle first when none is waiting.
func (ru *run) receive() (*item, bool) {
	select {
	case it, ok := <-ru.results:
		return it, ok
	default:
	}
	if ru.r.Idle != nil && ru.emitErr == nil {
		if err := ru.r.Idle(); err != nil {
			ru.emitErr = err
			ru.cancel()
		}
	}
	it, ok := <-ru.results
	return it, ok
}

// emitInOrder keeps a result until every earlier one is handed over, and
// hands over those it completes.
func (ru *run) emitInOrder(it *item) {
	ru.pending[it.seq] = it
	for {
		p, ok := ru.pending[ru.next]
		if !ok {
			return
		}
		delete(ru.pending, ru.next)
		ru.next++
		if p.drop {
			// Nothing after a dropped result may be handed over.
			ru.emitErr = cmpErr(ru.emitErr, ru.ctx.Err())
		}
		ru.emit(p)
	}
}

// emitWithDuplicates hands over a result and then the duplicates that
// waited for it.
func (ru *run) emitWithDuplicates(it *item) {
	var dups []*item
	if it.scanned {
		ru.mu.Lock()
		if ru.waiting[it.domain] == it {
			delete(ru.waiting, it.domain)
		}
		dups = it.dups
		ru.mu.Unlock()
	}
	ru.emit(it)
	for _, d := range dups {
		d.drop = it.drop
		ru.emit(d)
	}
}

// emit hands one result over, unless it was dropped or the run failed, and
// frees its slot.
func (ru *run) emit(it *item) {
	<-ru.slots
	if it.drop || ru.emitErr != nil {
		return
	}
	ru.st.Statuses[it.res.Status]++
	if err := ru.r.Emit(it.res); err != nil {
		ru.emitErr = err
		ru.cancel()
	}
}

// err returns the error of the run: a read error first, then an Emit or
// Idle error, then the context's.
func (ru *run) err() error {
	switch {
	case ru.readErr != nil:
		return ru.readErr
	case ru.emitErr != nil && !errors.Is(ru.emitErr, context.Canceled):
		return ru.emitErr
	}
	return ru.ctx.Err()
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
