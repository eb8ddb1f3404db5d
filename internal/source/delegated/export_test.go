package delegated

import (
	"errors"
	"io"

	"github.com/sovmap/sovmap/internal/source/feed"
)

// The whole-file form of Read, for the tests: update reads records as they
// come.

// A File is a whole parsed file.
type File struct {
	Header  Header
	Records []Record
}

// Parse reads a whole file into memory; see [Read] for the errors. A read
// error returns a nil file.
func Parse(r io.Reader) (*File, error) {
	f := &File{}
	h, err := Read(r, func(rec Record) { f.Records = append(f.Records, rec) })
	if err != nil && !OnlyLineErrors(err) {
		return nil, err
	}
	f.Header = h
	return f, err
}

// OnlyLineErrors reports whether err consists only of [*feed.ParseError]
// values, so that the good records of the file can still be used.
func OnlyLineErrors(err error) bool {
	if err == nil {
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !OnlyLineErrors(e) {
				return false
			}
		}
		return true
	}
	var pe *feed.ParseError
	return errors.As(err, &pe)
}
