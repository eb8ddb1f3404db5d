package flowlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"testing"
)

// lineParser is a test format: each line is "SRC DST BYTES".
type lineParser struct{}

func (lineParser) Parse(line []byte, rec *Record) (bool, error) {
	if len(line) == 0 || line[0] == '#' {
		return false, nil
	}
	if bytes.Equal(line, []byte("IGNORE")) {
		return false, &LineError{Reason: "ignored on purpose", Ignored: true}
	}
	f := bytes.Fields(line)
	if len(f) != 3 {
		return false, &LineError{Reason: ReasonFieldCount, Detail: fmt.Sprintf("%d fields", len(f))}
	}
	src, ok1 := ParseAddr(f[0])
	dst, ok2 := ParseAddr(f[1])
	if !ok1 || !ok2 {
		return false, Bad(ReasonAddr, "addr", f[0])
	}
	n, ok := ParseUint(f[2])
	if !ok {
		return false, errors.New("not a number") // not a *LineError
	}
	*rec = Record{Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 0), SrcBytes: n}
	return true, nil
}

func scanAll(t *testing.T, r io.Reader, maxLine int) ([]Record, Accounting, error) {
	t.Helper()
	var tally Tally
	sc := NewScanner(r, lineParser{}, &tally, tally.File("in", "test"), maxLine)
	var recs []Record
	var rec Record
	for sc.Scan(&rec) {
		recs = append(recs, rec)
	}
	return recs, tally.Accounting(), sc.Err()
}

func TestScanner(t *testing.T) {
	t.Parallel()
	in := "# comment\n10.0.0.1 47.88.1.1 100\r\n\n" +
		"10.0.0.1 47.88.1.1\n" + // wrong field count
		"10.0.0.x 47.88.1.1 5\n" + // invalid address
		"IGNORE\n" +
		"10.0.0.1 1.1.1.1 nan\n" + // a plain error
		"10.0.0.1 \x00\x01\x02 7\n" + // binary
		"10.0.0.2 47.88.1.1 200" // no final newline
	recs, a, err := scanAll(t, strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].SrcBytes != 100 || recs[1].SrcBytes != 200 {
		t.Errorf("records = %+v, want 100 and 200 bytes", recs)
	}
	want := Accounting{
		Files: []FileStats{{Name: "in", Format: "test", Lines: 9, Records: 2, Skipped: 4, Ignored: 1}},
		Lines: 9, Records: 2, Skipped: 4, Ignored: 1,
	}
	a.Skips, a.Ignores = nil, nil
	if fmt.Sprint(a) != fmt.Sprint(want) {
		t.Errorf("accounting = %+v, want %+v", a, want)
	}
	_, full, _ := scanAll(t, strings.NewReader(in), 0)
	lines := map[string]int64{}
	for _, r := range full.Skips {
		lines[r.Reason] = r.First[0].Line
	}
	for reason, line := range map[string]int64{ReasonFieldCount: 4, ReasonAddr: 5, ReasonSyntax: 7, ReasonBinary: 8} {
		if lines[reason] != line {
			t.Errorf("first %q at line %d, want %d (all: %+v)", reason, lines[reason], line, full.Skips)
		}
	}
}

// endless yields n bytes of 'a' without holding them.
type endless struct{ n int64 }

var as = bytes.Repeat([]byte{'a'}, 64<<10)

func (e *endless) Read(b []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := copy(b[:min(int64(len(b)), e.n)], as)
	e.n -= int64(k)
	return k, nil
}

// TestScannerHugeLine feeds a 1 GiB line between good ones: it is skipped
// as one line without being held in memory, and the lines after it count.
func TestScannerHugeLine(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 1 GiB")
	}
	const huge = 1 << 30
	in := io.MultiReader(
		strings.NewReader("10.0.0.1 47.88.1.1 1\n"),
		&endless{n: huge},
		strings.NewReader("\n10.0.0.1 47.88.1.1 2\n10.0.0.1 47.88.1.1 3\n"),
	)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	recs, a, err := scanAll(t, in, 64<<10)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || a.Lines != 4 || a.Skipped != 1 {
		t.Errorf("%d records, accounting %+v; want 3 records of 4 lines, 1 skipped", len(recs), a)
	}
	if len(a.Skips) != 1 || a.Skips[0].Reason != ReasonLongLine || a.Skips[0].First[0].Line != 2 {
		t.Errorf("skips = %+v, want one long line at line 2", a.Skips)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("scanning a 1 GiB line allocated %d bytes", alloc)
	}
}

func TestTallyPositions(t *testing.T) {
	t.Parallel()
	var tally Tally
	f := tally.File("x", "test")
	for i := range 100 {
		tally.Skip(f, int64(i+1), &LineError{Reason: "r"})
	}
	tally.Skip(f, 200, &LineError{Reason: "s"})
	a := tally.Accounting()
	if a.Skipped != 101 || len(a.Skips) != 2 || a.Skips[0].Count != 100 || len(a.Skips[0].First) != DefaultPositions || a.Skips[1].Reason != "s" {
		t.Errorf("accounting = %+v", a)
	}
}

// TestScannerNUL checks that lines with a NUL byte are skipped as binary
// and the others read, wherever the NULs are: none, in the first line, in
// lines after the first NUL, across the reads of a small buffer, in a line
// too long to keep, and in a line's carriage return position.
func TestScannerNUL(t *testing.T) {
	t.Parallel()
	good := "10.0.0.1 47.88.1.1 5\n"
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"none", strings.Repeat(good, 50)},
		{"first line", "10.0.0.1\x00 47.88.1.1 5\n" + strings.Repeat(good, 30)},
		{"several", strings.Repeat(good, 7) + "a\x00b\n" + strings.Repeat(good, 9) + "\x00\n" + strings.Repeat(good, 11) + "x y \x00\n" + strings.Repeat(good, 5)},
		{"last byte", strings.Repeat(good, 20) + "10.0.0.1 47.88.1.1 5\x00"},
		{"before the newline", strings.Repeat(good, 20) + "10.0.0.1 47.88.1.1 5\x00\r\n" + good},
		{"long line", strings.Repeat(good, 3) + strings.Repeat("z", 200) + "\x00" + strings.Repeat("z", 200) + "\n" + strings.Repeat(good, 3) + "q\x00\n" + good},
	} {
		for _, maxLine := range []int{64, 0} {
			recs, acct, err := scanAll(t, strings.NewReader(tc.in), maxLine)
			if err != nil {
				t.Fatal(err)
			}
			// The reference: each line checked on its own.
			wantRecs, wantBinary := 0, 0
			for l := range strings.SplitSeq(strings.TrimSuffix(tc.in, "\n"), "\n") {
				switch {
				case maxLine > 0 && len(l)+1 > maxLine:
				case strings.Contains(l, "\x00"):
					wantBinary++
				case strings.TrimSuffix(l, "\r") == strings.TrimSuffix(good, "\n"):
					wantRecs++
				}
			}
			binary := int64(0)
			for _, r := range acct.Skips {
				if r.Reason == ReasonBinary {
					binary = r.Count
				}
			}
			if len(recs) != wantRecs || binary != int64(wantBinary) {
				t.Errorf("%s, maxLine %d: %d records, %d binary lines; want %d and %d (skips %+v)", tc.name, maxLine, len(recs), binary, wantRecs, wantBinary, acct.Skips)
			}
		}
	}
}
