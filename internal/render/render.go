// Package render formats text for people: it makes strings from outside
// (input lines, file names, catalog and AS names, feed errors) safe to print
// on a terminal, and formats counts and byte sizes. Every command's human
// output goes through it, so that one rule holds everywhere.
//
// # The terminal rule
//
// A string is plain when it is valid UTF-8 and every character in it is
// printable as [strconv.IsPrint] defines it: letters, marks, numbers,
// punctuation, symbols and the ASCII space. Plain text, non-ASCII letters
// included (华为, Касперский), prints as it is. Any other string is printed
// as a Go string literal, as [strconv.Quote] writes it: control characters
// (C0, DEL and C1), bidirectional controls and other format characters,
// line and paragraph separators, and bytes that are not UTF-8 are escaped
// (\x1b, \u202e, \xff), and quotes and backslashes are escaped so that the
// literal reads back with [strconv.Unquote]. A hostile string therefore
// cannot move the cursor, recolour or clear the screen, reorder what
// follows it, or forge a line of output.
//
// [Safe] applies the rule; [Quote] always writes the literal (for names
// printed in quotes); [Fprintf] applies it to every string argument of a
// format. Length is a separate matter: [Clip] bounds a string before it is
// printed, and [MaxShown] is the bound for input echoed in messages.
//
// # Numbers
//
// [Comma] writes counts with thousands separators (12,345). [Bytes] writes
// decimal sizes (1.5 kB, as for traffic) and [IBytes] binary ones (1.5 KiB,
// as for files), after go-humanize's functions of the same names. [Percent]
// writes shares with one decimal (12.3%).
package render

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxShown is the most bytes of an input that a message shows: longer
// input is cut with [Clip].
const MaxShown = 200

// Safe returns s as it is when it is plain text, else quoted and escaped
// (see the package doc). The empty string is plain.
func Safe(s string) string {
	if plain(s) {
		return s
	}
	return strconv.Quote(s)
}

// Quote returns s as a Go string literal: in double quotes, with the
// characters that Safe would not print as they are escaped, and quotes and
// backslashes escaped. It is strconv.Quote, named here so that commands
// quote names by the package's rule.
func Quote(s string) string {
	return strconv.Quote(s)
}

// plain reports whether s prints on a terminal as it is: valid UTF-8 made
// of printable characters only.
func plain(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < ' ' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += n
	}
	return true
}

// Clip returns s when it is at most n bytes long; else the beginning of s,
// cut at a character boundary, followed by "...", n bytes long in all (or
// just "..." when n is less than 3).
func Clip(s string, n int) string {
	const dots = "..."
	if len(s) <= n {
		return s
	}
	n = max(n-len(dots), 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + dots
}

// Fprintf formats as fmt.Fprintf does, with every text argument made safe
// by [Safe] first: strings, values of a string type (attribution.Layer, say)
// and errors. Other arguments (numbers, addresses) print as fmt prints them.
// Only the format is trusted: print values from outside with %s verbs, as
// strings.
func Fprintf(w io.Writer, format string, args ...any) (int, error) {
	// Plain arguments are passed on as they are: in the common case,
	// nothing is copied or allocated.
	var safe []any
	for i, a := range args {
		b, changed := safeArg(a)
		if !changed {
			continue
		}
		if safe == nil {
			safe = slices.Clone(args)
		}
		safe[i] = b
	}
	if safe == nil {
		safe = args
	}
	return fmt.Fprintf(w, format, safe...)
}

// safeArg returns a as Fprintf prints it, and whether that differs from a:
// text that is not plain is quoted.
func safeArg(a any) (any, bool) {
	var s string
	switch v := a.(type) {
	case string:
		s = v
	case error:
		if isNilPointer(v) {
			return a, false // fmt prints <nil>
		}
		s = v.Error()
	case fmt.Stringer:
		if reflect.ValueOf(v).Kind() != reflect.String {
			return a, false
		}
		s = v.String()
	default:
		rv := reflect.ValueOf(a)
		if rv.Kind() != reflect.String {
			return a, false
		}
		s = rv.String()
	}
	if plain(s) {
		return a, false
	}
	return strconv.Quote(s), true
}

// isNilPointer reports whether a is a nil pointer, whose methods fmt does
// not call.
func isNilPointer(a any) bool {
	v := reflect.ValueOf(a)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
