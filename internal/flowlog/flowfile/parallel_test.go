package flowfile

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// readAll reads one input with Read (n = 1) or ReadParallel and returns its
// records in a canonical order, the accounting, and how many goroutines
// gave records.
func readAll(t *testing.T, name string, n int, r Reader) ([]flowlog.Record, flowlog.Accounting, int) {
	t.Helper()
	var tally flowlog.Tally
	tally.Positions = 3
	r.Tally = &tally
	r.MinParallel = 1
	var mu sync.Mutex
	var recs []flowlog.Record
	workers := map[int]bool{}
	var err error
	if n == 1 {
		err = r.Read(context.Background(), name, func(rec *flowlog.Record) { recs = append(recs, *rec) })
		workers[0] = true
	} else {
		err = r.ReadParallel(context.Background(), name, n, func(w int, rec *flowlog.Record) {
			mu.Lock()
			recs = append(recs, *rec)
			workers[w] = true
			mu.Unlock()
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(recs, func(a, b flowlog.Record) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Src.String(), b.Src.String()); c != 0 {
			return c
		}
		return cmp.Compare(a.SrcBytes, b.SrcBytes)
	})
	return recs, tally.Accounting(), len(workers)
}

// oddLog returns a generated log with bad lines (a wrong field count, an
// invalid address, a NUL byte, a line longer than 1,000 bytes) spread
// through it, and blank lines.
func oddLog(asJSON bool, lines int) []byte {
	data := flowtest.ConnLog(lines, flowtest.RemoteAddrs(300, 3), 3, asJSON)
	var out bytes.Buffer
	for i, l := range bytes.SplitAfter(data, []byte{'\n'}) {
		out.Write(l)
		if i > 10 && i%997 == 0 {
			switch i / 997 % 5 {
			case 0:
				out.WriteString("too\tfew\n")
			case 1:
				out.WriteString(strings.Replace(string(l), "10.", "300.", 1))
			case 2:
				out.WriteString("bad\x00line\n")
			case 3:
				out.WriteString(strings.Repeat("x", 3000) + "\n")
			case 4:
				out.WriteString("\n")
			}
		}
	}
	return out.Bytes()
}

// TestReadParallel checks that reading in parts gives the records and the
// accounting (counts, and the first positions with their line numbers) of
// reading in one piece, for Zeek TSV and JSON, and that inputs which
// cannot be cut are read in one piece.
func TestReadParallel(t *testing.T) {
	t.Parallel()
	tsv := oddLog(false, 20_000)
	tests := []struct {
		name     string
		data     []byte
		parallel bool
	}{
		{"tsv", tsv, true},
		{"json", oddLog(true, 20_000), true},
		{"tsv-close", append(bytes.Clone(tsv), "#close\t2026-06-02-00-00-00\n"...), true},
		{"tsv-crlf", bytes.ReplaceAll(tsv, []byte("\n"), []byte("\r\n")), true},
		{"tsv-header-mid-file", append(bytes.Clone(tsv), tsv...), false},
		{"tsv-gzip", gz(t, tsv), false},
		{"vpc", []byte(strings.Repeat(samples[VPC], 3000)), false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			path := write(t, test.name, test.data)
			for _, r := range []Reader{{}, {Fields: flowlog.FieldCounts | flowlog.FieldTimes}, {MaxLine: 1000}} {
				want, wantAcct, _ := readAll(t, path, 1, r)
				for _, n := range []int{2, 3, 7} {
					got, gotAcct, workers := readAll(t, path, n, r)
					if (workers > 1) != test.parallel {
						t.Errorf("%d goroutines: records came from %d, want parallel %v", n, workers, test.parallel)
					}
					if len(got) != len(want) {
						t.Fatalf("%d goroutines: %d records, want %d", n, len(got), len(want))
					}
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("%d goroutines: record %d = %+v, want %+v", n, i, got[i], want[i])
						}
					}
					if diff := gocmp.Diff(wantAcct, gotAcct); diff != "" {
						t.Errorf("%d goroutines, MaxLine %d: accounting (-one piece +parts):\n%s", n, r.MaxLine, diff)
					}
				}
			}
			if len(test.data) > 0 && test.parallel {
				_, acct, _ := readAll(t, path, 1, Reader{})
				if acct.Skipped == 0 {
					t.Error("the log has no skipped lines: the test checks nothing of the accounting")
				}
			}
		})
	}
}

// TestCutPoints checks that parts start after a newline and cover the
// input, also when lines are longer than parts.
func TestCutPoints(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		"a\nb\nc\nd\ne\nf\ng\nh\n",
		"short\n" + strings.Repeat("y", 5000) + "\nz\n",
		strings.Repeat("q", 100) + "\n",
		"no newline at the end\nx",
	} {
		path := write(t, "cuts", []byte(data))
		f := must(os.Open(path))
		for n := 1; n <= 9; n++ {
			cuts, err := cutPoints(f, 0, int64(len(data)), n)
			if err != nil {
				t.Fatal(err)
			}
			if cuts[0] != 0 || cuts[len(cuts)-1] != int64(len(data)) || len(cuts) > n+1 {
				t.Errorf("%q, %d parts: cuts %v", data, n, cuts)
			}
			for _, c := range cuts[1 : len(cuts)-1] {
				if data[c-1] != '\n' {
					t.Errorf("%q, %d parts: cut %d not after a newline (cuts %v)", data, n, c, cuts)
				}
			}
			if !slices.IsSorted(cuts) || len(slices.Compact(slices.Clone(cuts))) != len(cuts) {
				t.Errorf("%q, %d parts: cuts %v not increasing", data, n, cuts)
			}
		}
		f.Close()
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}
