package flowfile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// DefaultMinParallel is the smallest input [Reader.ReadParallel] splits.
const DefaultMinParallel = 32 << 20

// ReadParallel is [Reader.Read] on up to n goroutines: a large, plain
// (uncompressed) regular file of Zeek logs is cut into n parts at line
// boundaries, each read by its own parser, and fn is called with the
// number of the goroutine, from 0 to n-1, and a record. Calls with the same
// number come one after the other; calls with different numbers come at
// the same time, so fn must keep each goroutine's records apart (one
// aggregator each, merged at the end). The accounting is the one Read
// gives: the same counts, and the first positions of each reason in input
// order with their line numbers in the whole file.
//
// Every other input is read by Read on goroutine 0: standard input, a
// compressed file, a file smaller than MinParallel, a format other than
// Zeek TSV or JSON, and a Zeek TSV log whose header changes after its
// start (a header line, one starting with "#", after the first data line,
// other than a last "#close").
func (r *Reader) ReadParallel(ctx context.Context, name string, n int, fn func(worker int, rec *flowlog.Record)) error {
	seq := func() error { return r.Read(ctx, name, func(rec *flowlog.Record) { fn(0, rec) }) }
	if n <= 1 || name == "-" {
		return seq()
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	pl, ok := r.planParts(f)
	if !ok {
		return seq()
	}
	cuts, err := cutPoints(f, pl.start, pl.size, n)
	if err != nil {
		return err
	}
	return r.readParts(ctx, f, name, pl, cuts, fn)
}

// A partsPlan says how a file is read in parts.
type partsPlan struct {
	format   string
	preamble [][]byte // the lines before the first data line, which every part's parser reads first
	start    int64    // the offset of the first data line
	size     int64
}

// planParts decides whether f is read in parts: a large enough regular,
// uncompressed Zeek log whose header (TSV) stays the same. It reports
// false when f is to be read by Read.
func (r *Reader) planParts(f *os.File) (partsPlan, bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return partsPlan{}, false
	}
	minSize := r.MinParallel
	if minSize <= 0 {
		minSize = DefaultMinParallel
	}
	pl := partsPlan{size: st.Size()}
	if pl.size < minSize {
		return partsPlan{}, false
	}
	head := make([]byte, min(int64(headSize), pl.size))
	if _, err := io.ReadFull(f, head); err != nil {
		return partsPlan{}, false
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return partsPlan{}, false // gzip
	}
	pl.format = r.Format
	if pl.format == "" {
		pl.format, _ = Detect(head)
	}
	switch pl.format {
	case ZeekJSON:
		return pl, true
	case ZeekTSV:
		return pl, r.tsvPreamble(f, head, &pl)
	}
	return partsPlan{}, false
}

// tsvPreamble finds the header lines of a Zeek TSV log, which every part's
// parser reads first. It reports false when the log is to be read whole:
// a header longer than the head, a header that changes after the data
// begins, or a header line that the scanner would skip (binary, too long)
// or that the parser refuses, which Read accounts for.
func (r *Reader) tsvPreamble(f *os.File, head []byte, pl *partsPlan) bool {
	for pl.start < int64(len(head)) && head[pl.start] == '#' {
		nl := bytes.IndexByte(head[pl.start:], '\n')
		if nl < 0 {
			return false
		}
		line := head[pl.start : pl.start+int64(nl)]
		pl.preamble = append(pl.preamble, bytes.TrimSuffix(line, []byte{'\r'}))
		pl.start += int64(nl) + 1
	}
	if mid, err := laterHeader(f, pl.start, pl.size); err != nil || mid {
		return false
	}
	probe, _ := NewParser(pl.format)
	maxLine := r.MaxLine
	if maxLine <= 0 {
		maxLine = flowlog.DefaultMaxLine
	}
	for _, line := range pl.preamble {
		var rec flowlog.Record
		if bytes.IndexByte(line, 0) >= 0 || len(line) >= maxLine {
			return false
		}
		if _, err := probe.Parse(line, &rec); err != nil {
			return false
		}
	}
	return true
}

// readParts reads the parts between the cuts, each on its own goroutine,
// and accounts for them in order in r.Tally. The first part to fail stops
// the others.
func (r *Reader) readParts(ctx context.Context, f *os.File, label string, pl partsPlan, cuts []int64, fn func(worker int, rec *flowlog.Record)) error {
	fs := r.Tally.File(label, pl.format)
	fs.Lines = int64(len(pl.preamble))
	parts := make([]flowlog.Tally, len(cuts)-1)
	errs := make([]error, len(cuts)-1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var progress func(int64)
	if r.Progress != nil {
		r.Progress(pl.start)
		progress = r.Progress
	}
	var wg sync.WaitGroup
	for w := range len(cuts) - 1 {
		wg.Go(func() {
			errs[w] = r.readPart(ctx, f, pl.format, pl.preamble, cuts[w], cuts[w+1], &parts[w], progress, func(rec *flowlog.Record) { fn(w, rec) })
			if errs[w] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	base := int64(len(pl.preamble))
	for w := range parts {
		parts[w].Positions = r.Tally.Positions
		r.Tally.AddFile(fs, &parts[w], base)
		if errs[w] != nil {
			if ctxErr := ctx.Err(); errors.Is(errs[w], context.Canceled) && ctxErr != nil {
				continue // stopped because another part failed, or by the caller
			}
			return fmt.Errorf("%s: line %d: %w", label, base+parts[w].Lines(), errs[w])
		}
		base += parts[w].Lines()
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// readPart reads the bytes [from, to) of f, which start and end at line
// boundaries, with a new parser of format that has read the preamble first,
// and accounts for its lines in part (numbered from 1 within the part).
func (r *Reader) readPart(ctx context.Context, f *os.File, format string, preamble [][]byte, from, to int64, part *flowlog.Tally, progress func(int64), fn func(*flowlog.Record)) error {
	p, err := NewParser(format)
	if err != nil {
		return err
	}
	if fsp, ok := p.(flowlog.FieldSetter); ok && r.Fields != 0 {
		fsp.SetFields(r.Fields)
	}
	var rec flowlog.Record
	for _, line := range preamble {
		if _, err := p.Parse(line, &rec); err != nil {
			return err
		}
	}
	var src io.Reader = io.NewSectionReader(f, from, to-from)
	if progress != nil {
		src = &progressReader{r: src, fn: progress}
	}
	fs := part.File("", format)
	sc := flowlog.NewScanner(src, p, part, fs, r.MaxLine)
	for i := 0; sc.Scan(&rec); i++ {
		fn(&rec)
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// laterHeader reports whether a Zeek TSV log has a header line after the
// data begins at start, other than a last "#close" line: a header that
// changes mid-file, which parts read on their own would miss.
func laterHeader(f *os.File, start, size int64) (bool, error) {
	const block = 1 << 20
	buf := make([]byte, block+1)
	for off := start; off < size; off += block {
		// Each block with the byte before it, to see a '#' that starts a
		// line at the block's first byte.
		from := max(off-1, start)
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-from)], from)
		if err != nil && err != io.EOF {
			return false, err
		}
		b := buf[:n]
		for i := 0; ; {
			k := bytes.Index(b[i:], []byte("\n#"))
			if k < 0 {
				break
			}
			at := from + int64(i+k) + 1
			if !isLastClose(f, at, size) {
				return true, nil
			}
			i += k + 1
		}
	}
	return false, nil
}

// isLastClose reports whether the line at off is a "#close" line that ends
// the file.
func isLastClose(f *os.File, off, size int64) bool {
	if size-off > 256 {
		return false
	}
	b := make([]byte, size-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return false
	}
	b = bytes.TrimRight(b, "\r\n")
	return bytes.HasPrefix(b, []byte("#close")) && bytes.IndexByte(b, '\n') < 0
}

// cutPoints returns n+1 offsets that cut [start, size) into up to n parts
// of about equal size, each cut just after a newline; parts may be empty
// only when a line is longer than a part.
func cutPoints(f *os.File, start, size int64, n int) ([]int64, error) {
	cuts := []int64{start}
	step := (size - start) / int64(n)
	br := bufio.NewReaderSize(nil, 64<<10)
	for k := 1; k < n; k++ {
		at := max(start+int64(k)*step, cuts[len(cuts)-1])
		if at <= start {
			continue
		}
		if at >= size {
			break
		}
		// The cut goes just after the first newline at or after at-1, so
		// that a line ending at at-1 ends the part before.
		br.Reset(io.NewSectionReader(f, at-1, size-at+1))
		skipped := int64(0)
		for {
			chunk, err := br.ReadSlice('\n')
			skipped += int64(len(chunk))
			if err == nil {
				break
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err == io.EOF {
				skipped = size - at + 1
				break
			}
			return nil, err
		}
		c := at - 1 + skipped
		if c > cuts[len(cuts)-1] && c < size {
			cuts = append(cuts, c)
		}
	}
	return append(cuts, size), nil
}
