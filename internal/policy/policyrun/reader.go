package policyrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxRecordSize bounds a record of a stream: a line, or a document spanning
// lines.
const MaxRecordSize = 16 << 20

// A Reader reads a stream of records: NDJSON, or JSON documents of which
// one may span lines (an indented document). It skips blank lines and
// lines that start with '#'. A line, or a document spanning lines, longer
// than the reader's limit is skipped and reported as a [*LongError];
// reading goes on with the next line or document. It reads in time linear
// in its input and holds one record at a time.
type Reader struct {
	br       *bufio.Reader
	max      int
	line     int        // lines read
	buf      []byte     // the current line
	doc      []byte     // the document that spans lines, when inDoc
	inDoc    bool       // a document spans lines: doc holds its lines so far
	sc       docScanner // where the document is in its nesting
	skipping bool       // the document is over max: skip to its end
	held     bool       // an over-long line cut a document: report it next
}

// NewReader returns a reader of r whose records are at most max bytes long.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, min(max, 1<<20)), max: max}
}

// A LongError is a line, or a document spanning lines, over the limit of a
// [Reader].
type LongError struct {
	Doc bool // a document; else a line
	Max int  // the limit, in bytes
}

func (e *LongError) Error() string {
	size := fmt.Sprintf("%d bytes", e.Max)
	if e.Max%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", e.Max>>20)
	}
	if e.Doc {
		return "record longer than " + size + ", skipped"
	}
	return "line longer than " + size + ", skipped"
}

// Next returns the next document (valid JSON or not: the caller parses it)
// and the line it starts on. It returns a *LongError, with the line of the
// long line or the first line of the long document, and io.EOF at the end.
// The document is valid until the next call.
func (d *Reader) Next() ([]byte, int, error) {
	if d.held {
		d.held = false
		return nil, d.line, &LongError{Max: d.max}
	}
	start := 0
	for {
		b, long, err := d.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		if len(b) > 0 || long {
			d.line++
			switch {
			case long && d.inDoc:
				// The line cuts the document: the caller gets what came
				// before it, which it will find incomplete, then the line.
				d.inDoc, d.held = false, true
				return d.doc, start, nil
			case long:
				// Skipping a document, the depth is lost in the long line:
				// the lines after it are read afresh.
				d.skipping = false
				return nil, d.line, &LongError{Max: d.max}
			case d.skipping:
				d.skipping = !d.sc.scan(b)
			case d.inDoc:
				if len(d.doc)+len(b) > d.max {
					d.inDoc, d.skipping = false, !d.sc.scan(b)
					return nil, start, &LongError{Doc: true, Max: d.max}
				}
				d.doc = append(d.doc, b...)
				if d.sc.scan(b) {
					d.inDoc = false
					return d.doc, start, nil
				}
			default:
				t := bytes.TrimSpace(b)
				if len(t) == 0 || t[0] == '#' {
					break
				}
				d.sc = docScanner{}
				if (t[0] != '{' && t[0] != '[') || d.sc.scan(b) {
					return t, d.line, nil
				}
				// An object or array that goes on on the next lines.
				d.doc, d.inDoc, start = append(d.doc[:0], t...), true, d.line
			}
		}
		if err != nil { // io.EOF
			if d.inDoc {
				d.inDoc = false
				return d.doc, start, nil
			}
			return nil, 0, io.EOF
		}
	}
}

// readLine returns the next line with its end, and whether it is longer
// than max, not counting its end ("\n" or "\r\n"): then its bytes are not
// kept. At the end of the input it returns io.EOF, with the last line if it
// has no end.
func (d *Reader) readLine() (line []byte, long bool, err error) {
	d.buf = d.buf[:0]
	for {
		frag, err := d.br.ReadSlice('\n')
		if !long {
			n := len(d.buf) + len(frag)
			if bytes.HasSuffix(frag, []byte("\r\n")) {
				n -= 2
			} else if bytes.HasSuffix(frag, []byte("\n")) {
				n--
			}
			if n > d.max {
				long, d.buf = true, d.buf[:0]
			} else {
				d.buf = append(d.buf, frag...)
			}
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return d.buf, long, err
		}
	}
}

// A docScanner follows the nesting of a JSON document across lines, to tell
// where it ends without parsing it again for each line.
type docScanner struct {
	depth   int
	inStr   bool
	escaped bool
}

// scan reads the next bytes of the document and reports whether it has
// ended in them: its brackets are closed, or a string holds a newline, which
// JSON forbids (the parser reports it).
func (s *docScanner) scan(b []byte) bool {
	for _, c := range b {
		switch {
		case s.escaped:
			s.escaped = false
		case s.inStr:
			switch c {
			case '\\':
				s.escaped = true
			case '"':
				s.inStr = false
			case '\n':
				return true
			}
		case c == '"':
			s.inStr = true
		case c == '{' || c == '[':
			s.depth++
		case c == '}' || c == ']':
			s.depth--
			if s.depth <= 0 {
				return true
			}
		}
	}
	return false
}
