package flowlog

import (
	"bytes"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" when invalid
	}{
		{"1.2.3.4", "1.2.3.4"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"47.88.1.1", "47.88.1.1"},
		{"256.1.1.1", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"01.2.3.4", ""},
		{"1..2.3", ""},
		{"1.2.3.", ""},
		{"", ""},
		{"-", ""},
		{"::", "::"},
		{"::1", "::1"},
		{"2a00:1450:4001::1", "2a00:1450:4001::1"},
		{"fe80::1cf4:44d2:904a:14f7", "fe80::1cf4:44d2:904a:14f7"},
		{"2001:db8:1234:a100:8d6e:3477:df66:f105", "2001:db8:1234:a100:8d6e:3477:df66:f105"},
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
		{"1:2:3:4:5:6:7:8:9", ""},
		{"1::2::3", ""},
		{"12345::1", ""},
		{"fe80::1%eth0", ""},
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
		{"1:2:3:4:5:6:7:8::", ""},
		{":1", ""},
		{"1:", ""},
		{"00:00:00:00:00:00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseAddr([]byte(tt.in))
			if tt.want == "" {
				if ok {
					t.Errorf("ParseAddr(%q) = %v, want invalid", tt.in, got)
				}
				return
			}
			if !ok || got.String() != tt.want {
				t.Errorf("ParseAddr(%q) = %v, %v, want %s", tt.in, got, ok, tt.want)
			}
		})
	}
}

// FuzzParseAddr checks ParseAddr against net/netip, its reference.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::1", "2a00:1450:4001::1", "::ffff:1.2.3.4", "1.2.3.04", "fe80::1%eth0", "1::2:3:4:5:6:7", "::1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if err == nil && want.Zone() != "" {
			err = errZone // zones are refused on purpose
		}
		if ok != (err == nil) {
			t.Fatalf("ParseAddr(%q) ok = %v, netip.ParseAddr err = %v", s, ok, err)
		}
		if ok && got != want.Unmap() {
			t.Fatalf("ParseAddr(%q) = %v, want %v", s, got, want.Unmap())
		}
	})
}

var errZone = strconv.ErrSyntax

func TestParseUint(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "1", "42", "18446744073709551615", "18446744073709551616", "99999999999999999999", "", "-1", "+1", "1.0", "1e3", " 1"} {
		got, ok := ParseUint([]byte(s))
		want, err := strconv.ParseUint(s, 10, 64)
		if s != "" && (s[0] == '+') {
			err = strconv.ErrSyntax
		}
		if ok != (err == nil) || ok && got != want {
			t.Errorf("ParseUint(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
	}
}

func FuzzParseUint(f *testing.F) {
	f.Add("12345")
	f.Add("18446744073709551616")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseUint([]byte(s))
		want, err := strconv.ParseUint(s, 10, 64)
		if err == nil && (s[0] < '0' || s[0] > '9' || strings.ContainsAny(s, "_xXoObB")) {
			err = strconv.ErrSyntax // strconv accepts "+1" and nothing else we refuse
		}
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("ParseUint(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
	})
}

func TestParsePort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int // -1 invalid
	}{
		{"443", 443}, {"0", 0}, {"65535", 65535}, {"65536", -1}, {"0x0303", 0x303}, {"0x", -1}, {"0xgg", -1}, {"", -1}, {"-", -1},
	}
	for _, tt := range tests {
		got, ok := ParsePort([]byte(tt.in))
		if tt.want < 0 && ok || tt.want >= 0 && (!ok || int(got) != tt.want) {
			t.Errorf("ParsePort(%q) = %d, %v, want %d", tt.in, got, ok, tt.want)
		}
	}
}

func TestParseTimes(t *testing.T) {
	t.Parallel()
	u := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	unix := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1521911720.865716", time.Unix(1521911720, 865716000).UTC(), true},
		{"1521911720", time.Unix(1521911720, 0).UTC(), true},
		{"22.335172", time.Unix(22, 335172000).UTC(), true},
		{"1.1234567891", time.Unix(1, 123456789).UTC(), true},
		{"1.", time.Time{}, false},
		{".5", time.Time{}, false},
		{"-1", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range unix {
		got, ok := ParseUnixTime([]byte(tt.in))
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseUnixTime(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	dates := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2018-03-24T17:15:20.615923Z", u("2018-03-24T17:15:20.615923Z"), true},
		{"2021-06-06T15:59:46.457984+0200", u("2021-06-06T13:59:46.457984Z"), true},
		{"2021-06-06T15:59:46+02:00", u("2021-06-06T13:59:46Z"), true},
		{"2019/04/04 16:23:00.325010", u("2019-04-04T16:23:00.32501Z"), true},
		{"2026-12-14 10:37:20", u("2026-12-14T10:37:20Z"), true},
		{"2026-12-14 10:37:20.554", u("2026-12-14T10:37:20.554Z"), true},
		{"2026-13-14 10:37:20", time.Time{}, false},
		{"2026-12-14 10:37", time.Time{}, false},
		{"2026-12-14 10:37:20.", time.Time{}, false},
		{"2026-12-14 10:37:20 UTC", time.Time{}, false},
		{"2026/12-14 10:37:20", time.Time{}, false},
	}
	for _, tt := range dates {
		got, ok := ParseDateTime([]byte(tt.in))
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseDateTime(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParseDateTime checks ParseDateTime against time.Parse on RFC 3339.
func FuzzParseDateTime(f *testing.F) {
	f.Add("2018-03-24T17:15:20.615923Z")
	f.Add("2021-06-06T15:59:46+02:00")
	f.Fuzz(func(t *testing.T, s string) {
		// ParseDateTime is stricter than time.Parse (two-digit hours), so
		// only the times both read must agree.
		got, ok := ParseDateTime([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if err == nil && ok && !got.Equal(want) {
			t.Fatalf("ParseDateTime(%q) = %v, time.Parse = %v", s, got, want)
		}
	})
}

// splitSlow is the reference for Split.
func splitSlow(line []byte, sep byte) [][]byte { return bytes.Split(line, []byte{sep}) }

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "\t", "a\tb", "a\tb\t", "\t\t\t\t\t\t\t\t\t", "1521911720.865716\tCqKst53mF3det3eDV9\t10.47.1.100\t41772\t10.0.0.100\t53\tudp"} {
		checkSplit(t, []byte(s), '\t')
	}
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte("a\tb\tc"), byte('\t'))
	f.Add([]byte("1,2,,3,,,,,,,,,,,,,,4"), byte(','))
	f.Fuzz(func(t *testing.T, line []byte, sep byte) { checkSplit(t, line, sep) })
}

func checkSplit(t *testing.T, line []byte, sep byte) {
	t.Helper()
	want := splitSlow(line, sep)
	for _, size := range []int{0, 1, 3, len(want), len(want) + 1} {
		ends := make([]int32, size)
		n := Split(line, sep, ends)
		if n != len(want) {
			t.Fatalf("Split(%q, %q) = %d fields, want %d", line, sep, n, len(want))
		}
		for k := 0; k < min(n, size); k++ {
			if got := Field(line, ends, k); !bytes.Equal(got, want[k]) {
				t.Fatalf("Split(%q, %q): field %d = %q, want %q", line, sep, k, got, want[k])
			}
		}
	}
}

func TestParseProto(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]uint8{"tcp": 6, "TCP": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "17": 17, "unknown_transport": 0} {
		if got, ok := ParseProto([]byte(in)); !ok || got != want {
			t.Errorf("ParseProto(%q) = %d, %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "300", "bogus", "a-very-long-protocol-name"} {
		if got, ok := ParseProto([]byte(in)); ok {
			t.Errorf("ParseProto(%q) = %d, want invalid", in, got)
		}
	}
}

func TestInterner(t *testing.T) {
	var in Interner
	a := in.String([]byte("dns"))
	b := in.String([]byte("dns"))
	if a != "dns" || b != "dns" || in.String(nil) != "" {
		t.Fatalf("Interner.String = %q, %q", a, b)
	}
	if n := testing.AllocsPerRun(100, func() { in.String([]byte("dns")) }); n != 0 {
		t.Errorf("Interner.String of a known value allocates %v times", n)
	}
}

func TestParseAllocs(t *testing.T) {
	v4, v6 := []byte("47.88.1.1"), []byte("2a00:1450:4001::1")
	ts := []byte("2018-03-24T17:15:20.615923Z")
	n := testing.AllocsPerRun(100, func() {
		ParseAddr(v4)
		ParseAddr(v6)
		ParseDateTime(ts)
		ParseUnixTime([]byte("1521911720.865716"))
	})
	if n != 0 {
		t.Errorf("parsing allocates %v times", n)
	}
}

// TestRecordScale checks that Scale multiplies every counter and
// saturates instead of wrapping.
func TestRecordScale(t *testing.T) {
	r := Record{SrcBytes: 10, DstBytes: 1 << 62, UnsplitBytes: 3, SrcPackets: 1, DstPackets: 0, UnsplitPackets: 7}
	r.Scale(4)
	want := Record{SrcBytes: 40, DstBytes: math.MaxUint64, UnsplitBytes: 12, SrcPackets: 4, DstPackets: 0, UnsplitPackets: 28}
	if r != want {
		t.Errorf("Scale(4) = %+v, want %+v", r, want)
	}
}
