package dnsscan_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/dnsscan"
)

// fakeScan returns ok after a random short delay, or nxdomain for names
// starting with "nx".
func fakeScan(ctx context.Context, domain string) dnsscan.Result {
	select {
	case <-time.After(time.Duration(rand.IntN(2000)) * time.Microsecond):
	case <-ctx.Done():
		return dnsscan.Result{Domain: domain, Status: dnsscan.StatusTimeout}
	}
	if strings.HasPrefix(domain, "nx") {
		return dnsscan.Result{Domain: domain, Status: dnsscan.StatusNXDomain}
	}
	return dnsscan.Result{Domain: domain, Status: dnsscan.StatusOK}
}

// collect runs a runner and returns the results.
func collect(t *testing.T, r *dnsscan.Runner, input string) ([]dnsscan.Result, dnsscan.Stats, error) {
	t.Helper()
	var out []dnsscan.Result
	if r.Scan == nil {
		r.Scan = fakeScan
	}
	r.Emit = func(res *dnsscan.Result) error {
		checkJSON(t, res)
		out = append(out, *res)
		return nil
	}
	st, err := r.Run(testCtx(t, 30*time.Second), strings.NewReader(input))
	return out, st, err
}

func TestRunEveryLineOnce(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	want := map[int]string{}
	line := 0
	for i := range 3000 {
		line++
		name := fmt.Sprintf("d%d.example", i)
		switch i % 100 {
		case 7:
			name = "nx" + name
		case 13:
			in.WriteString("# a comment\n\n")
			line += 2
		}
		fmt.Fprintf(&in, "%s\n", name)
		want[line] = name
	}
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered %v", ordered), func(t *testing.T) {
			t.Parallel()
			out, st, err := collect(t, &dnsscan.Runner{Concurrency: 64, Ordered: ordered}, in.String())
			if err != nil {
				t.Fatal(err)
			}
			got := map[int]string{}
			for _, r := range out {
				if _, dup := got[r.Line]; dup {
					t.Errorf("line %d twice", r.Line)
				}
				got[r.Line] = r.Domain
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results by line (-want +got):\n%s", diff)
			}
			if ordered && !slices.IsSortedFunc(out, func(a, b dnsscan.Result) int { return a.Line - b.Line }) {
				t.Errorf("ordered results are not in input order")
			}
			if st.Inputs != 3000 || st.Statuses[dnsscan.StatusNXDomain] != 30 || st.Statuses[dnsscan.StatusOK] != 2970 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestRunBadInput(t *testing.T) {
	t.Parallel()
	input := "Example.COM.\nnot a name\nexample.com\nbücher.de\nxn--bcher-kva.de\n\n# comment\n192.0.2.1\n" +
		strings.Repeat("x", 5000) + "\nEXAMPLE.com\nlast.example"
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered %v", ordered), func(t *testing.T) {
			t.Parallel()
			out, st, err := collect(t, &dnsscan.Runner{Concurrency: 4, Ordered: ordered}, input)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(out, func(a, b dnsscan.Result) int { return a.Line - b.Line })
			type row struct {
				Line                         int
				Domain, Input, Status, Error string
			}
			var got []row
			for _, r := range out {
				got = append(got, row{r.Line, r.Domain, r.Input, r.Status, r.Error})
			}
			want := []row{
				{1, "example.com", "Example.COM.", "ok", ""},
				{2, "not a name", "", "error", "not a domain name: contains white space"},
				{3, "example.com", "", "error", "duplicate of line 1"},
				{4, "xn--bcher-kva.de", "bücher.de", "ok", ""},
				{5, "xn--bcher-kva.de", "", "error", "duplicate of line 4"},
				{8, "192.0.2.1", "", "error", "not a domain name: an IP address, not a domain name"},
				{9, strings.Repeat("x", 80) + "...", "", "error", "not a domain name: line longer than 4096 bytes"},
				{10, "example.com", "EXAMPLE.com", "error", "duplicate of line 1"},
				{11, "last.example", "", "ok", ""},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if st.Malformed != 3 || st.Duplicates != 3 || st.Inputs != 9 {
				t.Errorf("stats = %+v, want 3 malformed, 3 duplicates, 9 inputs", st)
			}
		})
	}
}

// TestRunDuplicateAfterOriginal checks that, unordered, a duplicate is
// handed over after the result of the line it repeats, even when that one
// is slow: a crash between the two must not leave the duplicate alone in
// the output.
func TestRunDuplicateAfterOriginal(t *testing.T) {
	t.Parallel()
	slow := func(ctx context.Context, d string) dnsscan.Result {
		if d == "slow.example" {
			time.Sleep(100 * time.Millisecond)
		}
		return dnsscan.Result{Domain: d, Status: dnsscan.StatusOK}
	}
	out, _, err := collect(t, &dnsscan.Runner{Scan: slow, Concurrency: 8}, "slow.example\na.example\nslow.example\nb.example\nslow.example\n")
	if err != nil {
		t.Fatal(err)
	}
	first := slices.IndexFunc(out, func(r dnsscan.Result) bool { return r.Domain == "slow.example" })
	if first < 0 || out[first].Status != dnsscan.StatusOK {
		t.Fatalf("results %+v: the first slow.example is not the scanned one", out)
	}
	if len(out) != 5 {
		t.Errorf("%d results, want 5", len(out))
	}
}

func TestRunResume(t *testing.T) {
	t.Parallel()
	previous := `{"domain":"a.example","status":"ok"}
{"domain":"not a name","status":"error","error":"not a domain name"}
{"domain":"b.example","status":"timeout"}
{"domain":"a.example","status":"error","error":"duplicate of line 1"}

{"domain":"c.exa`
	done, size, err := dnsscan.ReadDone(strings.NewReader(previous))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(strings.LastIndexByte(previous, '\n') + 1); size != want {
		t.Errorf("ReadDone size = %d, want %d (the partial line left out)", size, want)
	}
	if done.Len() != 4 || !done.Has("a.example") || done.Has("c.example") {
		t.Errorf("ReadDone = %d records, has a %v, c %v", done.Len(), done.Has("a.example"), done.Has("c.example"))
	}
	out, st, err := collect(t, &dnsscan.Runner{Done: done}, "a.example\nnot a name\nb.example\nA.example\nc.example\na.example\nd.example\n")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b dnsscan.Result) int { return a.Line - b.Line })
	var got []string
	for _, r := range out {
		got = append(got, fmt.Sprintf("%d %s %s %s", r.Line, r.Domain, r.Status, r.Error))
	}
	want := []string{"5 c.example ok ", "6 a.example error duplicate of line 1", "7 d.example ok "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resumed results (-want +got):\n%s", diff)
	}
	if st.Skipped != 4 {
		t.Errorf("skipped %d, want 4", st.Skipped)
	}
}

func TestReadDoneErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"not json\n", `{"ip":"1.2.3.4"}` + "\n", `{"domain":"a.example"}` + "\n"} {
		if _, _, err := dnsscan.ReadDone(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ReadDone(%q) = %v, want an error at line 1", in, err)
		}
	}
}

// TestRunCancel checks that cancelling drops the results not complete, and
// hands over nothing twice.
func TestRunCancel(t *testing.T) {
	t.Parallel()
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered %v", ordered), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(testCtx(t, 30*time.Second))
			var mu sync.Mutex
			seen := map[string]int{}
			n := 0
			r := &dnsscan.Runner{
				Concurrency: 16,
				Ordered:     ordered,
				Scan: func(ctx context.Context, d string) dnsscan.Result {
					if d == "d500.example" {
						cancel()
					}
					return fakeScan(ctx, d)
				},
				Emit: func(res *dnsscan.Result) error {
					mu.Lock()
					defer mu.Unlock()
					seen[res.Domain]++
					n++
					if res.Status != dnsscan.StatusOK {
						t.Errorf("handed over %+v after cancel", res)
					}
					return nil
				},
			}
			var in strings.Builder
			for i := range 2000 {
				fmt.Fprintf(&in, "d%d.example\n", i)
			}
			_, err := r.Run(ctx, strings.NewReader(in.String()))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
			for d, c := range seen {
				if c != 1 {
					t.Errorf("%s handed over %d times", d, c)
				}
			}
			if n >= 2000 {
				t.Errorf("%d results after cancelling", n)
			}
		})
	}
}

func TestRunEmitError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	calls := 0
	r := &dnsscan.Runner{Scan: fakeScan, Emit: func(*dnsscan.Result) error {
		calls++
		return boom
	}}
	var in strings.Builder
	for i := range 500 {
		fmt.Fprintf(&in, "d%d.example\n", i)
	}
	if _, err := r.Run(testCtx(t, 30*time.Second), strings.NewReader(in.String())); !errors.Is(err, boom) {
		t.Errorf("Run = %v, want the emit error", err)
	}
	if calls != 1 {
		t.Errorf("Emit called %d times after failing, want 1", calls)
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("device gone") }

func TestRunReadError(t *testing.T) {
	t.Parallel()
	r := &dnsscan.Runner{Scan: fakeScan, Emit: func(*dnsscan.Result) error { return nil }}
	if _, err := r.Run(testCtx(t, 10*time.Second), failReader{}); err == nil || !strings.Contains(err.Error(), "device gone") {
		t.Errorf("Run = %v, want the read error", err)
	}
}

func TestRunIdle(t *testing.T) {
	t.Parallel()
	idle := 0
	r := &dnsscan.Runner{Idle: func() error { idle++; return nil }}
	if _, _, err := collect(t, r, "a.example\nb.example\n"); err != nil {
		t.Fatal(err)
	}
	if idle == 0 {
		t.Errorf("Idle never called")
	}
}
