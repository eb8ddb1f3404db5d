package render

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"Alibaba Cloud", "Alibaba Cloud"},
		{`JSC "Severen-Telecom"`, `JSC "Severen-Telecom"`}, // plain: quotes are printable
		{`C:\data`, `C:\data`},
		{"华为技术有限公司", "华为技术有限公司"},
		{"Касперский", "Касперский"},
		{"\uFFFD", "\uFFFD"}, // a real replacement character is printable
		{"a\tb", `"a\tb"`},
		{"a\nb", `"a\nb"`},
		{"\x1b[2J", `"\x1b[2J"`},
		{"del\x7f", `"del\x7f"`},
		{"c1\u0085\u009b", `"c1\u0085\u009b"`},
		{"Huawei \u202eTechnologies", `"Huawei \u202eTechnologies"`},
		{"\u2066isolate\u2069", `"\u2066isolate\u2069"`},
		{"line\u2028sep", `"line\u2028sep"`},
		{"zero\u200bwidth", `"zero\u200bwidth"`},
		{"nb\u00a0sp", `"nb\u00a0sp"`},
		{"\xff\xfe", `"\xff\xfe"`},
		{`say "hi"` + "\x07", `"say \"hi\"\a"`},
		{`back\slash` + "\x00", `"back\\slash\x00"`},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			if got := Safe(test.in); got != test.want {
				t.Errorf("Safe(%q) = %s, want %s", test.in, got, test.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"Huawei", `"Huawei"`},
		{"华为", `"华为"`},
		{`a "b" \c`, `"a \"b\" \\c"`},
		{"Hua\x1b[31mwei", `"Hua\x1b[31mwei"`},
		{"\u202e", `"\u202e"`},
		{"\xff", `"\xff"`},
	}
	for _, test := range tests {
		if got := Quote(test.in); got != test.want {
			t.Errorf("Quote(%q) = %s, want %s", test.in, got, test.want)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 4, "abcd"},
		{"abcde", 4, "a..."},
		{"abcd", 3, "..."},
		{"abcd", 0, "..."},
		{"abcd", -1, "..."},
		{"a long provider name", 9, "a long..."},
		{"华为技术", 9, "华为..."},
		{"华为技术", 10, "华为..."}, // not in the middle of 技
		{"华为技术", 11, "华为..."},
		{"华为技术", 12, "华为技术"},
		{"华为技术x", 12, "华为技..."},
		{"\xff\xff\xff\xff", 3, "..."},
		{"\xff\xff\xff\xff\xff", 4, "\xff..."},
		{strings.Repeat("x", MaxShown+1), MaxShown, strings.Repeat("x", MaxShown-3) + "..."},
	}
	for _, test := range tests {
		if got := Clip(test.in, test.n); got != test.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", test.in, test.n, got, test.want)
		}
	}
}

func TestFprintf(t *testing.T) {
	t.Parallel()
	type layer string
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"%-8s|%s", []any{"ok", "\x1b[2J"}, `ok      |"\x1b[2J"`},
		{"%s %d %v", []any{layer("we\tb"), 42, 1.5}, `"we\tb" 42 1.5`},
		{"%v", []any{errors.New("bad \u202e")}, `"bad \u202e"`},
		{"%s", []any{netip.MustParseAddr("2001:db8::1")}, "2001:db8::1"},
		{"%s", []any{stringer("\x07")}, `"\a"`},
		{"%v %v", []any{(*os.PathError)(nil), nil}, "<nil> <nil>"},
		// Only text arguments are made safe, and the format is trusted.
		{"%v\t", []any{[]string{"\x1b"}}, "[\x1b]\t"},
	}
	for _, test := range tests {
		var b strings.Builder
		Fprintf(&b, test.format, test.args...)
		if got := b.String(); got != test.want {
			t.Errorf("Fprintf(%q, %q) = %q, want %q", test.format, test.args, got, test.want)
		}
	}
}

func BenchmarkFprintf(b *testing.B) {
	b.ReportAllocs()
	var w bytes.Buffer
	addr := netip.MustParseAddr("47.88.1.1")
	for b.Loop() {
		w.Reset()
		Fprintf(&w, "%s\t%s\t%s\tAS%d\t%s\n", addr, "alibaba-cloud", "CN", 45102, `Alibaba (US) Technology Co., Ltd.`)
	}
}

// stringer is a string type with a String method.
type stringer string

func (s stringer) String() string { return string(s) }

func TestComma(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{12345, "12,345"},
		{123456, "123,456"},
		{1234567, "1,234,567"},
		{-1, "-1"},
		{-999, "-999"},
		{-1000, "-1,000"},
		{-1234567, "-1,234,567"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, test := range tests {
		if got := Comma(test.in); got != test.want {
			t.Errorf("Comma(%d) = %q, want %q", test.in, got, test.want)
		}
	}
	// The other integer types.
	if got, want := Comma(uint64(math.MaxUint64)), "18,446,744,073,709,551,615"; got != want {
		t.Errorf("Comma(MaxUint64) = %q, want %q", got, want)
	}
	if got, want := Comma(int8(math.MinInt8)), "-128"; got != want {
		t.Errorf("Comma(MinInt8) = %q, want %q", got, want)
	}
	if got, want := Comma(1_000_000), "1,000,000"; got != want {
		t.Errorf("Comma(1_000_000) = %q, want %q", got, want)
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       uint64
		dec, iec string
	}{
		{0, "0 B", "0 B"},
		{999, "999 B", "999 B"},
		{1000, "1.0 kB", "1000 B"},
		{1023, "1.0 kB", "1023 B"},
		{1024, "1.0 kB", "1.0 KiB"},
		{1536, "1.5 kB", "1.5 KiB"},
		{1_500_000, "1.5 MB", "1.4 MiB"},
		{5 << 20, "5.2 MB", "5.0 MiB"},
		{3 << 30, "3.2 GB", "3.0 GiB"},
		{2e12, "2.0 TB", "1.8 TiB"},
		{7e15, "7.0 PB", "6.2 PiB"},
		{math.MaxUint64, "18446.7 PB", "16384.0 PiB"}, // the last unit takes the rest
	}
	for _, test := range tests {
		if got := Bytes(test.in); got != test.dec {
			t.Errorf("Bytes(%d) = %q, want %q", test.in, got, test.dec)
		}
		if got := IBytes(test.in); got != test.iec {
			t.Errorf("IBytes(%d) = %q, want %q", test.in, got, test.iec)
		}
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0%"},
		{12.345, "12.3%"},
		{99.96, "100.0%"},
		{100, "100.0%"},
		{0.04, "0.0%"},
		{-5, "-5.0%"},
	}
	for _, test := range tests {
		if got := Percent(test.in); got != test.want {
			t.Errorf("Percent(%v) = %q, want %q", test.in, got, test.want)
		}
	}
}

// unsafeRune reports whether r must not reach a terminal as it is: a C0 or
// C1 control, DEL, a bidirectional control, or a line or paragraph
// separator. It is written out, not derived from the unicode tables that
// the package uses, to check them.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// checkSafe fails if out, printed for in, could upset a terminal or does
// not read back as in.
func checkSafe(t *testing.T, name, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s(%q) = %q: not UTF-8", name, in, out)
	}
	if i := strings.IndexFunc(out, unsafeRune); i >= 0 {
		t.Fatalf("%s(%q) = %q: unsafe character at %d", name, in, out, i)
	}
	if out == in {
		return
	}
	back, err := strconv.Unquote(out)
	if err != nil || back != in {
		t.Fatalf("%s(%q) = %s, which reads back as %q (%v)", name, in, out, back, err)
	}
}

func FuzzSafe(f *testing.F) {
	for _, s := range []string{
		"", "plain", `JSC "Quoted"`, "华为", "\x1b[31mred", "\u202eevil", "\xff", "a\x00b",
		"\u0085", "\u2028", "\uFFFD", "\U000E0001", strings.Repeat("é", 150),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSafe(t, "Safe", s, Safe(s))
		q := Quote(s)
		checkSafe(t, "Quote", s, q)
		if q == s {
			t.Fatalf("Quote(%q) = %s, not quoted", s, q)
		}
		c := Clip(s, MaxShown)
		if len(c) > MaxShown || !strings.HasPrefix(s, strings.TrimSuffix(c, "...")) {
			t.Fatalf("Clip(%q, %d) = %q", s, MaxShown, c)
		}
		if utf8.ValidString(s) && !utf8.ValidString(c) {
			t.Fatalf("Clip(%q, %d) = %q: cut in a character", s, MaxShown, c)
		}
	})
}

func FuzzComma(f *testing.F) {
	for _, n := range []int64{0, 1, -1, 999, 1000, -1000, math.MaxInt64, math.MinInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		got := Comma(n)
		if plainDigits := strings.ReplaceAll(got, ",", ""); plainDigits != strconv.FormatInt(n, 10) {
			t.Fatalf("Comma(%d) = %q: digits differ", n, got)
		}
		groups := strings.Split(strings.TrimPrefix(got, "-"), ",")
		for i, g := range groups {
			if len(g) > 3 || len(g) == 0 || i > 0 && len(g) != 3 {
				t.Fatalf("Comma(%d) = %q: group %q", n, got, g)
			}
		}
	})
}

func TestRuneTables(t *testing.T) {
	t.Parallel()
	// Every rune that unsafeRune names is escaped on its own.
	for r := rune(0); r <= 0x2069; r++ {
		if !unsafeRune(r) {
			continue
		}
		if s := string(r); Safe(s) == s {
			t.Errorf("Safe(%q) prints U+%04X as it is", s, r)
		}
	}
}
