package policyrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sovmap/sovmap/internal/policy"
)

// A Checker evaluates the records of streams, as "sovmap policy check"
// does: each document of a stream ([Reader]) is decoded
// ([policy.RecordJSON]), its kind is told from its fields unless Kind is
// given, and its records are evaluated by the run ([Run.Check]).
type Checker struct {
	Run  *Run
	Kind string // the kind of every record; "" to tell each from its fields
	// Emit is called with each record evaluated, in order, with the file
	// and line of the document it is in; an error stops the check.
	Emit func(file string, line int, c Checked) error
	// Problem, when set, is told of each document that is invalid: not a
	// JSON object, or over MaxRecordSize ([*LongError]). It gets an
	// [*InvalidError].
	Problem func(err error)

	Records int // documents of a known kind evaluated
	Skipped int // documents of no kind: error records, unknown shapes
	Invalid int // documents reported to Problem
}

// An InvalidError is a document of a stream that cannot be evaluated.
type InvalidError struct {
	File string
	Line int // the line the document starts on
	Err  error
}

// Error returns "FILE:LINE: error".
func (e *InvalidError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

func (e *InvalidError) Unwrap() error { return e.Err }

// Check evaluates the records of r, a stream named file in reports, until
// its end, an error reading it or from Emit, or the end of ctx. Invalid
// documents are reported to Problem and counted; the check goes on.
func (c *Checker) Check(ctx context.Context, r io.Reader, file string) error {
	rd := NewReader(r, MaxRecordSize)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, line, err := rd.Next()
		var long *LongError
		switch {
		case err == nil:
			if err := c.check(b, file, line); err != nil {
				return err
			}
		case errors.As(err, &long):
			c.problem(file, line, err)
		case errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("read %s: %w", file, err)
		}
	}
}

// check evaluates one document.
func (c *Checker) check(b []byte, file string, line int) error {
	rec, err := policy.RecordJSON(b)
	if err != nil {
		c.problem(file, line, fmt.Errorf("not a JSON object: %s", strings.TrimPrefix(err.Error(), "policy: record: ")))
		return nil
	}
	kind := c.Kind
	if kind == "" {
		kind = policy.DetectKind(rec)
	}
	if kind == "" {
		c.Skipped++
		return nil
	}
	c.Records++
	for _, x := range c.Run.Check(kind, rec, fmt.Sprintf("%s:%d: ", file, line)) {
		if err := c.Emit(file, line, x); err != nil {
			return err
		}
	}
	return nil
}

func (c *Checker) problem(file string, line int, err error) {
	c.Invalid++
	if c.Problem != nil {
		c.Problem(&InvalidError{File: file, Line: line, Err: err})
	}
}
