package policyrun

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestReader checks the reader of record streams: documents on one line or
// several, blank lines and comments skipped, and lines and documents over
// the limit (here 40 bytes) reported with their line and skipped, the
// reading going on after them.
func TestReader(t *testing.T) {
	t.Parallel()
	long := `{"a":"` + strings.Repeat("x", 40) + `"}`
	tests := []struct {
		name, in string
		want     []string // "LINE DOC", or "LINE !line" / "LINE !record" for an error
		max      int      // 40 if 0
	}{
		{"ndjson", "{\"a\":1}\n\n# note\n{\"b\":2}\r\n[3]\nnope", []string{`1 {"a":1}`, `4 {"b":2}`, `5 [3]`, `6 nope`}, 0},
		{"spanning lines", "{\n  \"a\": \"}{\",\n  \"b\": [1, {\"c\": \"\\\"]\"}]\n}\n{\"d\":4}\n", []string{"1 {  \"a\": \"}{\",\n  \"b\": [1, {\"c\": \"\\\"]\"}]\n}\n", `5 {"d":4}`}, 100},
		{"unfinished at the end", "{\"a\":1}\n{\n  \"b\": 2\n", []string{`1 {"a":1}`, "2 {  \"b\": 2\n"}, 0},
		{"newline in a string ends the document", "{\"a\": \"b\n\"}\n", []string{"1 {\"a\": \"b", `2 "}`}, 0},
		{"long line", "{\"a\":1}\n" + long + "\n{\"b\":2}\n", []string{`1 {"a":1}`, "2 !line", `3 {"b":2}`}, 0},
		{"long last line", "{\"a\":1}\n" + long, []string{`1 {"a":1}`, "2 !line"}, 0},
		{"exactly the limit", strings.Repeat(" ", 29) + "{\"a\":\"bcd\"}\r\n" + strings.Repeat(" ", 30) + "{\"a\":\"bcd\"}\r\n", []string{`1 {"a":"bcd"}`, "2 !line"}, 0},
		{"long document", "{\n" + strings.Repeat("  \"k\": \"vvvvvvvv\",\n", 4) + "  \"z\": {\"y\": 1}\n}\n{\"b\":2}\n", []string{"1 !record", `8 {"b":2}`}, 0},
		{"long line in a document", "{\n  \"a\": 1,\n" + long + "\n}\n", []string{"1 {  \"a\": 1,\n", "3 !line", "4 }"}, 0},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			max := test.max
			if max == 0 {
				max = 40
			}
			d := NewReader(strings.NewReader(test.in), max)
			var got []string
			for {
				b, line, err := d.Next()
				var le *LongError
				switch {
				case errors.As(err, &le) && le.Doc:
					got = append(got, fmt.Sprintf("%d !record", line))
				case errors.As(err, &le):
					got = append(got, fmt.Sprintf("%d !line", line))
				case err == nil:
					got = append(got, fmt.Sprintf("%d %s", line, b))
				case err == io.EOF:
				default:
					t.Fatal(err)
				}
				if err == io.EOF {
					break
				}
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Errorf("got %q\nwant %q", got, test.want)
			}
		})
	}
	if e := (&LongError{Max: MaxRecordSize}).Error(); e != "line longer than 16 MiB, skipped" {
		t.Errorf("LongError = %q", e)
	}
	if e := (&LongError{Doc: true, Max: 40}).Error(); e != "record longer than 40 bytes, skipped" {
		t.Errorf("LongError = %q", e)
	}
}
