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
	safe := make([]any, len(args))
	for i, a := range args {
		safe[i] = safeArg(a)
	}
	return fmt.Fprintf(w, format, safe...)
}

// safeArg returns a as Fprintf prints it: through Safe when it is text.
func safeArg(a any) any {
	switch v := a.(type) {
	case string:
		return Safe(v)
	case error:
		return Safe(v.Error())
	case fmt.Stringer:
		if reflect.ValueOf(v).Kind() == reflect.String {
			return Safe(v.String())
		}
		return a
	}
	if v := reflect.ValueOf(a); v.Kind() == reflect.String {
		return Safe(v.String())
	}
	return a
}
