package pfx2as

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/source/feed"
	"github.com/sovmap/sovmap/internal/source/feed/feedtest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Entry
		wantErr []string
	}{
		{name: "empty", in: ""},
		{
			name: "single origins",
			in:   "1.0.0.0\t24\t13335\n1.0.4.0\t22\t38803\n2001:200::\t32\t2500\n",
			want: []Entry{
				{Prefix: pfx("1.0.0.0/24"), Origins: []uint32{13335}, Line: 1},
				{Prefix: pfx("1.0.4.0/22"), Origins: []uint32{38803}, Line: 2},
				{Prefix: pfx("2001:200::/32"), Origins: []uint32{2500}, Line: 3},
			},
		},
		{
			name: "multi-origin and AS set",
			in:   "8.8.8.0\t24\t15169_396982\n12.0.0.0\t8\t7018,7019\n23.0.0.0\t24\t64500_64501,64502\n",
			want: []Entry{
				{Prefix: pfx("8.8.8.0/24"), Origins: []uint32{15169, 396982}, MultiOrigin: true, Line: 1},
				{Prefix: pfx("12.0.0.0/8"), Origins: []uint32{7018, 7019}, ASSet: true, Line: 2},
				{Prefix: pfx("23.0.0.0/24"), Origins: []uint32{64500, 64501, 64502}, MultiOrigin: true, ASSet: true, Line: 3},
			},
		},
		{
			name: "dotted AS number, spaces, comments, IPv4-mapped",
			in:   "# comment\n\n5.0.0.0 16   1.10\n::ffff:9.9.9.0\t120\t19281\n",
			want: []Entry{
				{Prefix: pfx("5.0.0.0/16"), Origins: []uint32{65546}, Line: 3},
				{Prefix: pfx("9.9.9.0/24"), Origins: []uint32{19281}, Line: 4},
			},
		},
		{
			name: "bad lines are skipped and named",
			in: strings.Join([]string{
				"1.0.0.0\t24",             // 1: too few fields
				"1.0.0.300\t24\t1",        // 2: bad address
				"1.0.0.0\t33\t1",          // 3: length out of range
				"1.0.0.1\t24\t1",          // 4: host bits
				"1.0.0.0\tx\t1",           // 5: length not a number
				"1.0.0.0\t24\t1_",         // 6: empty AS
				"1.0.0.0\t24\t4294967296", // 7: AS too large
				"1.0.0.0\t24\t1.70000",    // 8: dotted half too large
				"9.0.0.0\t8\t3356",        // 9: good
				"fe80::%eth0\t64\t1",      // 10: zone
			}, "\n"),
			want: []Entry{{Prefix: pfx("9.0.0.0/8"), Origins: []uint32{3356}, Line: 9}},
			wantErr: []string{
				"pfx2as: line 1: want 3 fields",
				"pfx2as: line 2: ",
				"pfx2as: line 3: prefix length 33 is out of range",
				"pfx2as: line 4: 1.0.0.1/24 has host bits set",
				`pfx2as: line 5: prefix length "x" is not a number`,
				`pfx2as: line 6: AS number "" is not a 32-bit number`,
				`pfx2as: line 7: AS number "4294967296"`,
				`pfx2as: line 8: AS number "1.70000"`,
				`pfx2as: line 10: address "fe80::%eth0" has a zone`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(strings.NewReader(tt.in))
			if diff := cmp.Diff(tt.want, got, prefixCmp); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			feedtest.ErrContains(t, err, tt.wantErr)
		})
	}
}

func TestParseErrorType(t *testing.T) {
	t.Parallel()
	_, err := Parse(strings.NewReader("1.0.0.0\t24\t1\nbad\n"))
	var pe *feed.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("Parse() error = %#v, want a *feed.ParseError for line 2", err)
	}
}

func TestParseReadError(t *testing.T) {
	t.Parallel()
	r := strings.NewReader("1.0.0.0\t24\t1\n" + strings.Repeat("x", maxLine+1))
	got, err := Parse(r)
	if err == nil || got != nil {
		t.Fatalf("Parse(long line) = %v, %v; want no entries and an error", got, err)
	}
}

// TestOriginsShareNoState checks that the origins of one entry do not
// change when another entry's are appended to.
func TestOriginsShareNoState(t *testing.T) {
	t.Parallel()
	got, err := Parse(strings.NewReader("1.0.0.0\t24\t1_2\n2.0.0.0\t24\t3\n"))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got[0].Origins, 99)
	if got[1].Origins[0] != 3 {
		t.Fatalf("appending to entry 0's origins changed entry 1: %v", got[1].Origins)
	}
	if got[0].Origin() != 1 {
		t.Errorf("Origin() = %d, want 1", got[0].Origin())
	}
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/routeviews-rv2.pfx2as")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 {
		t.Errorf("Parse(testdata) = %d entries, want 12", len(got))
	}
	for _, e := range got {
		if !e.Prefix.IsValid() || e.Prefix != e.Prefix.Masked() || len(e.Origins) == 0 {
			t.Errorf("bad entry %+v", e)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		feedtest.ReadFile(f, "testdata/routeviews-rv2.pfx2as"),
		"1.0.0.0\t24\t13335\n",
		"8.8.8.0\t24\t15169_396982\n12.0.0.0\t8\t7018,7019\n",
		"2001:200::\t32\t2500\n::ffff:1.2.3.0\t120\t1.10\n",
		"1.0.0.1\t24\t1\n1.0.0.0\t24\t_\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		es, _ := Parse(strings.NewReader(in))
		for _, e := range es {
			p := e.Prefix
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("bad prefix %v", p)
			}
			if len(e.Origins) == 0 || e.Line < 1 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
