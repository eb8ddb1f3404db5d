package flowlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A Parser parses the lines of one input in one format. A parser keeps the
// state its format needs (a header line, a field order), so each input gets
// its own.
type Parser interface {
	// Parse parses one line, without its line terminator, into rec. It
	// returns true when rec now holds a flow; false with a nil error for a
	// line that carries none by design (a header, a comment, a blank
	// line); and false with a *LineError for a line that is skipped or
	// ignored.
	Parse(line []byte, rec *Record) (bool, error)
}

// Reasons for skipping a line. Parsers use these where they fit, so that the
// counts of different formats read alike.
const (
	ReasonLongLine   = "line too long"
	ReasonBinary     = "binary data"
	ReasonFieldCount = "wrong field count"
	ReasonAddr       = "invalid address"
	ReasonPort       = "invalid port"
	ReasonNumber     = "invalid number"
	ReasonTime       = "invalid time"
	ReasonProto      = "invalid protocol"
	ReasonSyntax     = "malformed line"
	ReasonMissing    = "missing field"
	ReasonNoHeader   = "data before header"
	ReasonHeader     = "invalid header"
	ReasonFormat     = "unrecognised format"
	ReasonCorrupt    = "corrupt or truncated input"
)

// A LineError says why a line gave no record.
type LineError struct {
	Reason  string // short and stable, one of the Reason constants where one fits
	Detail  string // what was wrong with this line, for the first few of a reason
	Ignored bool   // the line is well formed but carries no flow: not a skip
}

// Error returns the reason and the detail.
func (e *LineError) Error() string {
	if e.Detail == "" {
		return e.Reason
	}
	return e.Reason + ": " + e.Detail
}

// Bad returns a skip error for a field of a line, quoting at most 64 bytes of
// its value.
func Bad(reason, field string, value []byte) *LineError {
	return &LineError{Reason: reason, Detail: field + " " + Quote(value)}
}

// Quote quotes at most 64 bytes of b for an error message.
func Quote(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "..."
	}
	return strconv.Quote(string(b))
}

// DefaultMaxLine is the longest line a [Scanner] reads by default.
const DefaultMaxLine = 1 << 20

// A Scanner reads the lines of an input and hands them to a parser, counting
// every line in a [Tally]. A line longer than MaxLine is discarded as it is
// read, never held whole.
type Scanner struct {
	r      *bufio.Reader
	nul    *nulWatch // the source of r
	pos    int64     // offset of the next line in the input
	p      Parser
	t      *Tally
	f      *FileStats
	line   int64
	err    error
	closed bool
}

// nulWatch notes where the first NUL byte of its source is, as the data
// goes by in large reads, so that lines read before it (nearly all of
// them: text logs have none) need not be searched for one each.
type nulWatch struct {
	r     io.Reader
	off   int64 // bytes read so far
	first int64 // offset of the first NUL, -1 while none was seen
}

// Read implements io.Reader.
func (w *nulWatch) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if w.first < 0 {
		if i := bytes.IndexByte(p[:n], 0); i >= 0 {
			w.first = w.off + int64(i)
		}
	}
	w.off += int64(n)
	return n, err
}

// NewScanner returns a scanner of r that parses lines with p and accounts for
// them in t under the file f (from [Tally.File]). maxLine is the longest line
// accepted; 0 means [DefaultMaxLine].
func NewScanner(r io.Reader, p Parser, t *Tally, f *FileStats, maxLine int) *Scanner {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	w := &nulWatch{r: r, first: -1}
	return &Scanner{r: bufio.NewReaderSize(w, max(maxLine, 16)), nul: w, p: p, t: t, f: f}
}

// Line returns the number of the line last read.
func (s *Scanner) Line() int64 { return s.line }

// Err returns the first read error other than io.EOF.
func (s *Scanner) Err() error { return s.err }

// Scan reads lines until one gives a record, which it stores in rec, and
// reports true; it reports false at the end of the input or on a read
// error (see [Scanner.Err]).
func (s *Scanner) Scan(rec *Record) bool {
	if s.closed {
		return false
	}
	for {
		line, err := s.r.ReadSlice('\n')
		start := s.pos
		s.pos += int64(len(line))
		if err != nil && errors.Is(err, bufio.ErrBufferFull) {
			s.line++
			s.f.Lines++
			n := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = s.r.ReadSlice('\n')
				n += int64(len(line))
				s.pos += int64(len(line))
			}
			s.t.Skip(s.f, s.line, &LineError{Reason: ReasonLongLine, Detail: fmt.Sprintf("%d bytes or more, the limit is %d", n, s.r.Size())})
			if err != nil {
				return s.end(err)
			}
			continue
		}
		if err != nil && err != io.EOF {
			// The input broke off (a truncated or damaged compressed
			// file, a read error): what is left of the line, if
			// anything, is that break, and counts as the line it
			// happened on, not as a line to parse.
			s.line++
			s.f.Lines++
			return s.end(err)
		}
		if len(line) == 0 {
			return s.end(err)
		}
		s.line++
		s.f.Lines++
		if line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		// Every byte of the line has gone through the watch: if its first
		// NUL is past the line (or none was seen), the line has none.
		if first := s.nul.first; first >= 0 && first < s.pos && (first >= start || bytes.IndexByte(line, 0) >= 0) {
			s.t.Skip(s.f, s.line, &LineError{Reason: ReasonBinary, Detail: "a NUL byte in the line"})
		} else if ok, perr := s.p.Parse(line, rec); ok {
			s.f.Records++
			return true
		} else if perr != nil {
			var le *LineError
			if !errors.As(perr, &le) {
				le = &LineError{Reason: ReasonSyntax, Detail: perr.Error()}
			}
			s.t.Skip(s.f, s.line, le)
		}
		if err != nil {
			return s.end(err)
		}
	}
}

func (s *Scanner) end(err error) bool {
	s.closed = true
	if err != nil && err != io.EOF {
		s.err = err
	}
	return false
}
