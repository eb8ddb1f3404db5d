// Package feedtest helps test the feed parsers: it finds the real feeds of
// the project's shared data, and checks parsers' output against the promises
// every parser makes.
package feedtest

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/source/feed"
)

// dataDir is where the mirrors of the providers' feeds live, relative to a
// folder that the work tree is in.
const dataDir = "shared/data/femueller-cloud-ip-ranges"

// Dir returns the folder of the real feeds: shared/data/femueller-cloud-ip-ranges
// in the nearest folder above the test's working directory that has one.
// It skips the test when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, dataDir)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			t.Skipf("no %s above %s", dataDir, wd)
			return ""
		}
	}
}

// Open opens a real feed by its file name in [Dir], decompressing it when
// the name ends in ".gz". It skips the test when the file is absent and
// closes it when the test ends.
func Open(t testing.TB, name string) io.Reader {
	t.Helper()
	f, err := os.Open(filepath.Join(Dir(t), name))
	if os.IsNotExist(err) {
		t.Skipf("no real feed %s", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if !strings.HasSuffix(name, ".gz") {
		return f
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// Check fails the test when a range breaks a parser's promises: every
// prefix valid, masked and never IPv4-mapped, and no range listed twice.
func Check(t testing.TB, rs []attribution.FeedRange) {
	t.Helper()
	if err := feed.Check(rs); err != nil {
		t.Fatal(err)
	}
	seen := make(map[attribution.FeedRange]bool, len(rs))
	for _, r := range rs {
		if seen[r] {
			t.Fatalf("range %+v returned twice", r)
		}
		seen[r] = true
	}
}

// A Parser is the Parse function of a feed package.
type Parser func(io.Reader) ([]attribution.FeedRange, error)

// A Case is one test of a parser: its input, the ranges it must return, and
// substrings that its error must contain, in order (none for no error).
type Case struct {
	Name    string
	In      string
	Want    []attribution.FeedRange
	WantErr []string
}

// Run runs each case as a parallel subtest.
func Run(t *testing.T, parse Parser, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			got, err := parse(strings.NewReader(c.In))
			if !slices.Equal(got, c.Want) {
				t.Errorf("Parse(%q) =\n%v\nwant\n%v", c.In, got, c.Want)
			}
			ErrContains(t, err, c.WantErr)
		})
	}
}

// ErrContains fails the test unless err's message contains each of want in
// order; with no want, unless err is nil.
func ErrContains(t testing.TB, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("error = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Errorf("error = nil, want %q", want)
		return
	}
	msg := err.Error()
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < 0 {
			t.Errorf("error = %q, want it to contain %q", err, w)
			return
		}
		msg = msg[i+len(w):]
	}
}

// Fuzz seeds f with the inputs and fuzzes parse, checking that it never
// panics and that whatever it returns keeps the promises of [Check].
func Fuzz(f *testing.F, parse Parser, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rs, _ := parse(strings.NewReader(in))
		Check(t, rs)
	})
}

// ReadFile returns the contents of a file for use as a fuzz seed, failing
// the test when it cannot be read.
func ReadFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ReadAll returns the contents of a real feed, as [Open] finds it, for
// benchmarks.
func ReadAll(t testing.TB, name string) []byte {
	t.Helper()
	b, err := io.ReadAll(Open(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
