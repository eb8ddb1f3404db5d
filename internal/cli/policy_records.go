package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/sovmap/sovmap/internal/policy"
)

// recordPolicy applies --policy to the records that scan and flows write:
// a scan record is checked layer by layer, a flows summary group by group.
// Findings join JSON records as a "findings" array, follow text rows, or are
// kept for a SARIF log written at the end.
type recordPolicy struct {
	run     *policyRun
	sarif   bool
	located []policy.Located
}

// check evaluates one record given as JSON and returns its findings. Line
// is the record's place in the output, for SARIF.
func (rp *recordPolicy) check(b []byte, file string, line int) ([]policy.Finding, error) {
	rec, err := policy.RecordJSON(b)
	if err != nil {
		return nil, err
	}
	var all []policy.Finding
	add := func(kind string, r map[string]any) {
		fs := rp.run.evaluate(kind, r)
		if rp.sarif {
			subject := policy.Subject(kind, r)
			for _, f := range fs {
				rp.located = append(rp.located, policy.Located{Finding: f, Kind: kind, Subject: subject, File: file, Line: line})
			}
		}
		all = append(all, fs...)
	}
	switch policy.DetectKind(rec) {
	case "domain":
		for _, l := range policy.Layers(rec) {
			add(policy.KindScanLayer, l)
		}
	case "flows":
		for _, row := range policy.FlowRows(rec) {
			add(policy.KindFlowGroup, row)
		}
	}
	return all, nil
}

// withFindings returns a JSON object with the findings added as its last
// field; b must end with '}'.
func withFindings(b []byte, fs []policy.Finding) []byte {
	if len(fs) == 0 {
		return b
	}
	b = bytes.TrimRight(b, " \n")
	b = append(b[:len(b)-1], `,"findings":`...)
	b = appendFindings(b, fs)
	return append(b, '}')
}

// finish evaluates the population rules over what was seen, writes the SARIF
// log when asked for, reports the findings on stderr and returns the exit
// error of --fail-on.
func (rp *recordPolicy) finish(e *env, w *bufio.Writer, cmd, name string) error {
	for _, pop := range rp.run.populations(name) {
		if rp.sarif {
			subject := policy.Subject(policy.KindPopulation, pop.rec)
			for _, f := range pop.findings {
				rp.located = append(rp.located, policy.Located{Finding: f, Kind: policy.KindPopulation, Subject: subject, File: name})
			}
			continue
		}
		for _, f := range pop.findings {
			fmt.Fprintf(w, "population %s: %s %s: %s\n", pop.name, f.Severity, f.Rule, f.Message)
		}
	}
	if rp.sarif {
		if err := policy.WriteSARIF(w, sarifTool(), rp.run.set.Rules(), rp.located); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	e.errorf("%s: %s", cmd, rp.run.summary())
	return rp.run.exit(e, cmd)
}

// A docReader reads the records of "policy check": NDJSON, or a stream of
// JSON documents of which one may span lines (an indented document). It
// skips blank lines and lines that start with '#'. A line, or a document
// spanning lines, longer than max is skipped and reported as a *longError;
// reading goes on with the next line or document.
type docReader struct {
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

func newDocReader(r io.Reader, max int) *docReader {
	return &docReader{br: bufio.NewReaderSize(r, min(max, 1<<20)), max: max}
}

// A longError is a line, or a document spanning lines, over the limit.
type longError struct {
	doc bool // a document; else a line
	max int
}

func (e *longError) Error() string {
	size := fmt.Sprintf("%d bytes", e.max)
	if e.max%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", e.max>>20)
	}
	if e.doc {
		return "record longer than " + size + ", skipped"
	}
	return "line longer than " + size + ", skipped"
}

// next returns the next document (valid JSON or not: the caller parses it)
// and the line it starts on. It returns a *longError, with the line of the
// long line or the first line of the long document, and io.EOF at the end.
// The document is valid until the next call.
func (d *docReader) next() ([]byte, int, error) {
	if d.held {
		d.held = false
		return nil, d.line, &longError{max: d.max}
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
				return nil, d.line, &longError{max: d.max}
			case d.skipping:
				d.skipping = !d.sc.scan(b)
			case d.inDoc:
				if len(d.doc)+len(b) > d.max {
					d.inDoc, d.skipping = false, !d.sc.scan(b)
					return nil, start, &longError{doc: true, max: d.max}
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
func (d *docReader) readLine() (line []byte, long bool, err error) {
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
