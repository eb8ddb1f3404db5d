// Package flowfile opens flow-log inputs and reads them with the parser of
// their format, detected by content: a file name says nothing reliable
// about what is inside, and stdin has no name at all.
//
// An input is a path or "-" for standard input. Gzip-compressed inputs
// (detected by their magic bytes, not by a ".gz" suffix) are decompressed
// as they are read. The first bytes then decide the format (see [Detect]):
// a Zeek header or object, an AWS VPC header or default-format line, an
// nfdump CSV header, or an Argus CSV header. An input in no known format is
// not read: it is recorded as one skipped line with the reason
// "unrecognised format" (or "binary data"), and the run goes on with the
// next input.
package flowfile

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/argus"
	"github.com/sovmap/sovmap/internal/flowlog/nfdump"
	"github.com/sovmap/sovmap/internal/flowlog/vpc"
	"github.com/sovmap/sovmap/internal/flowlog/zeek"
)

// Format names.
const (
	ZeekTSV  = "zeek"      // Zeek TSV logs (conn.log)
	ZeekJSON = "zeek-json" // Zeek JSON-lines logs
	VPC      = "vpc"       // AWS VPC flow logs
	Nfdump   = "nfdump"    // nfdump -o csv
	Argus    = "argus"     // Argus binetflow CSV
)

// Formats lists the format names, in detection order.
var Formats = []string{ZeekTSV, ZeekJSON, Argus, Nfdump, VPC}

// NewParser returns a parser for the named format.
func NewParser(format string) (flowlog.Parser, error) {
	switch format {
	case ZeekTSV:
		return zeek.NewTSV(), nil
	case ZeekJSON:
		return zeek.NewJSON(), nil
	case VPC:
		return vpc.NewParser(), nil
	case Nfdump:
		return nfdump.NewParser(), nil
	case Argus:
		return argus.NewParser(), nil
	}
	return nil, fmt.Errorf("flowfile: unknown format %q (known: zeek, zeek-json, vpc, nfdump, argus)", format)
}

// headSize is how much of an input detection looks at.
const headSize = 64 << 10

// Detect returns the format of an input from its first bytes, or "" and the
// reason it knows none.
func Detect(head []byte) (format string, why *flowlog.LineError) {
	switch {
	case zeek.SniffTSV(head):
		return ZeekTSV, nil
	case zeek.SniffJSON(head):
		return ZeekJSON, nil
	case argus.Sniff(head):
		return Argus, nil
	case nfdump.Sniff(head):
		return Nfdump, nil
	case vpc.Sniff(head):
		return VPC, nil
	}
	if isBinary(head) {
		return "", &flowlog.LineError{Reason: flowlog.ReasonFormat, Detail: "binary data, not a text flow log"}
	}
	line, _, _ := bytes.Cut(head, []byte{'\n'})
	return "", &flowlog.LineError{Reason: flowlog.ReasonFormat, Detail: "first line " + flowlog.Quote(line) + " is not Zeek, AWS VPC, nfdump CSV or Argus CSV"}
}

func isBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	// Invalid UTF-8 beyond a cut-off last rune.
	if len(b) > 4 {
		b = b[:len(b)-4]
	}
	return !utf8.Valid(b)
}

// A Reader reads inputs and accounts for their lines. Set Tally before
// use; the other fields may be left zero.
type Reader struct {
	Tally   *flowlog.Tally
	Format  string    // a format name to use instead of detecting one
	MaxLine int       // longest line; 0 means flowlog.DefaultMaxLine
	Stdin   io.Reader // read for the input "-"
	// Fields, if set, are the parts of each record fn reads: parsers that
	// can may leave the others unparsed (see [flowlog.FieldSetter]).
	Fields flowlog.Fields
	// Progress, if set, is called with the number of bytes read from the
	// input (compressed bytes for a compressed input) as reading goes on;
	// by ReadParallel, from several goroutines at once.
	Progress func(n int64)
	// MinParallel is the smallest file ReadParallel splits; 0 means
	// DefaultMinParallel.
	MinParallel int64
}

// Read reads one input, a path or "-", and calls fn with each record. The
// record is overwritten after fn returns. Bad lines are recorded in the
// tally and do not stop the reading; Read returns an error only when the
// input cannot be opened or read, or ctx ends.
func (r *Reader) Read(ctx context.Context, name string, fn func(*flowlog.Record)) error {
	var src io.Reader
	label := name
	if name == "-" {
		if r.Stdin == nil {
			return errors.New("flowfile: no standard input")
		}
		src, label = r.Stdin, "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return fmt.Errorf("%s is a directory", name)
		}
		src = f
	}
	if r.Progress != nil {
		src = &progressReader{r: src, fn: r.Progress}
	}
	// Decompress by magic bytes.
	br := bufio.NewReaderSize(src, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			r.corrupt(label, err)
			return nil
		}
		defer zr.Close()
		// Decompress on another goroutine: inflating costs about as much
		// as parsing, so with two cores the two overlap.
		ra := newReadAhead(zr)
		defer ra.Close()
		src = ra
	} else {
		src = br
	}
	head, err := readHead(src)
	if err != nil && err != io.EOF && !isCorrupt(err) {
		return err
	}
	format := r.Format
	if format == "" {
		if len(head) == 0 && err == io.EOF {
			r.Tally.File(label, "empty")
			return nil
		}
		var why *flowlog.LineError
		if format, why = Detect(head); format == "" {
			if err != nil && err != io.EOF {
				why = &flowlog.LineError{Reason: flowlog.ReasonCorrupt, Detail: err.Error()}
			}
			fs := r.Tally.File(label, "")
			fs.Lines = 1 // the first line, read and not understood
			r.Tally.Skip(fs, 1, why)
			return nil
		}
	}
	p, perr := NewParser(format)
	if perr != nil {
		return perr
	}
	if fsp, ok := p.(flowlog.FieldSetter); ok && r.Fields != 0 {
		fsp.SetFields(r.Fields)
	}
	fs := r.Tally.File(label, format)
	var in io.Reader = bytes.NewReader(head)
	switch {
	case err == nil:
		in = io.MultiReader(in, src)
	case err != io.EOF:
		in = io.MultiReader(in, errReader{err})
	}
	sc := flowlog.NewScanner(in, p, r.Tally, fs, r.MaxLine)
	var rec flowlog.Record
	for i := 0; sc.Scan(&rec); i++ {
		fn(&rec)
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if isCorrupt(err) {
			r.Tally.Skip(fs, sc.Line(), &flowlog.LineError{Reason: flowlog.ReasonCorrupt, Detail: err.Error()})
			return nil
		}
		return fmt.Errorf("%s: line %d: %w", label, sc.Line(), err)
	}
	return nil
}

// readAhead reads its source on a goroutine of its own, a few blocks ahead
// of its reader.
type readAhead struct {
	blocks chan []byte // filled blocks, in order
	free   chan []byte // emptied blocks, for reuse
	done   chan struct{}
	block  []byte // the block being read from
	cur    []byte // its unread part
	errc   chan error
	err    error // the source's error, after the last block
}

const (
	aheadBlock  = 256 << 10
	aheadBlocks = 4
)

func newReadAhead(src io.Reader) *readAhead {
	ra := &readAhead{
		blocks: make(chan []byte, aheadBlocks),
		free:   make(chan []byte, aheadBlocks+1),
		done:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	for range aheadBlocks + 1 {
		ra.free <- make([]byte, aheadBlock)
	}
	go func() {
		defer close(ra.blocks)
		for {
			var b []byte
			select {
			case b = <-ra.free:
			case <-ra.done:
				return
			}
			n, err := fill(src, b)
			if n > 0 {
				select {
				case ra.blocks <- b[:n]:
				case <-ra.done:
					return
				}
			}
			if err != nil {
				ra.errc <- err
				return
			}
		}
	}()
	return ra
}

// fill reads until b is full or src fails, and returns that error as it
// is (io.ReadFull would turn a source's io.EOF into
// io.ErrUnexpectedEOF, which here means a truncated gzip stream).
func fill(src io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := src.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Read implements io.Reader.
func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.block != nil {
			ra.free <- ra.block[:cap(ra.block)]
			ra.block = nil
		}
		b, ok := <-ra.blocks
		if !ok {
			if ra.err == nil {
				ra.err = <-ra.errc
			}
			return 0, ra.err
		}
		ra.block, ra.cur = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the reading goroutine.
func (ra *readAhead) Close() {
	close(ra.done)
}

// readHead reads up to headSize bytes. Its error is nil when the head is
// full, io.EOF when the input ended before, or the read error.
func readHead(r io.Reader) ([]byte, error) {
	head := make([]byte, headSize)
	n := 0
	for n < len(head) {
		m, err := r.Read(head[n:])
		n += m
		if err != nil {
			return head[:n], err
		}
	}
	return head, nil
}

type errReader struct{ err error }

// Read returns the error.
func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (r *Reader) corrupt(label string, err error) {
	fs := r.Tally.File(label, "")
	fs.Lines = 1 // the unreadable start, as one line
	r.Tally.Skip(fs, 1, &flowlog.LineError{Reason: flowlog.ReasonCorrupt, Detail: err.Error()})
}

// isCorrupt reports whether err comes from damaged compressed data rather
// than from the system.
func isCorrupt(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ce)
}

type progressReader struct {
	r  io.Reader
	fn func(int64)
}

// Read reads and reports how much.
func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(int64(n))
	}
	return n, err
}
