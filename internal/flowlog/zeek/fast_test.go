package zeek

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// TestFastPath checks that TSV.fast gives what the general path gives, line
// by line, record and error, on generated lines and lines of unusual
// shapes, with Zeek's markers and with markers that parse as numbers; and
// that without FieldExtra only Extra differs.
func TestFastPath(t *testing.T) {
	data := flowtest.ConnLog(3000, flowtest.RemoteAddrs(500, 9), 9, false)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
	last := lines[len(lines)-1]
	for _, c := range []struct {
		col int
		val string
	}{
		{4, "2a00:1450:4001:81c::200e"}, {4, "::ffff:8.8.8.8"}, {2, "fe80::1"}, {4, "1.2.3.04"},
		{8, "-"}, {9, "-"}, {17, "-"}, {18, "-"}, {0, "-"}, {3, "-"}, {5, "0x1bb"},
		{7, "(empty)"}, {11, "-"}, {6, "icmp"}, {6, "-"}, {6, "(empty)"}, {17, "0"}, {17, "1"}, {16, "1"}, {8, "0"}, {17, "(empty)"},
		{4, "8.8.8.300"}, {17, "x"}, {8, "1e3"}, {2, "-"}, {0, "12x"}, {5, "70000"},
		{5, "-"}, {16, "-"}, {19, "-"}, {17, "12345678901234567890"}, {17, "123456789012345678901"},
		{0, "1780000000.1234567891"}, {0, "1780000000."}, {0, "1780000000"}, {0, "1099511627777"}, {0, ".5"},
		{8, "."}, {8, "9999999999"}, {8, "9223372035.5"}, {8, "9223372034.5"}, {8, "12"},
		{4, "1.2.3.4.5"}, {4, "256.1.1.1"}, {4, "1.2.3"}, {4, "01.2.3.4"}, {4, "0.0.0.0"}, {4, "1.2.3.4 "}, {4, "1.2.3.1000"},
		{3, "65536"}, {3, "65535"}, {3, "0"}, {3, ""}, {6, "UDP"}, {6, "6"}, {20, "x\ty"}, {20, ""}, {1, ""}, {1, "C\x00x"},
		{0, ""}, {5, ""}, {8, ""}, {16, ""}, {17, ""}, {18, ""}, {19, ""}, {16, "\t"}, {19, "7\t"}, {18, " 1"}, {18, "+1"},
	} {
		f := bytes.Split(last, []byte{'\t'})
		f[c.col] = []byte(c.val)
		lines = append(lines, bytes.Join(f, []byte{'\t'}))
	}
	lines = append(lines, []byte("too\tfew"))
	// The same lines again: without the IP-level byte counts, so that the
	// payload counts are read (and the general steps taken); without the
	// last column (Zeek's default layout with nothing after it); and with
	// two more columns.
	for v, lines := range [][][]byte{lines, dropCols(lines, 17, 19), dropCols(lines, 20), addCols(lines, "x\ty")} {
		for _, markers := range []string{"", "#unset_field\t0\n#empty_field\t1\n"} {
			// Markers after the header's own, before the data.
			head := []byte(markers)
			for _, want := range []flowlog.Fields{0, flowlog.FieldCounts | flowlog.FieldTimes} {
				fast, general := NewTSV(), NewTSV()
				fast.SetFields(want)
				nfast, nstd := 0, 0
				for i, l := range lines {
					if i > 0 && lines[i-1][0] == '#' && l[0] != '#' {
						for _, h := range bytes.Split(head, []byte{'\n'}) {
							fast.Parse(h, new(flowlog.Record))
							general.Parse(h, new(flowlog.Record))
						}
					}
					var a, b flowlog.Record
					okA, errA := fast.Parse(l, &a)
					if fast.direct {
						nfast++
					}
					if fast.std {
						nstd++
					}
					general.direct = false
					okB, errB := general.Parse(l, &b)
					if want != 0 {
						b.Extra = flowlog.Extra{}
					}
					if okA != okB || fmt.Sprint(errA) != fmt.Sprint(errB) || a != b {
						t.Errorf("markers %q, fields %d, line %q:\nfast %v %v %+v\ngeneral %v %v %+v", markers, want, l, okA, errA, a, okB, errB, b)
					}
				}
				if nfast == 0 {
					t.Error("the fast path was not taken")
				}
				if wantStd := v != 1; wantStd != (nstd > 0) {
					t.Errorf("variant %d: default-layout path taken for %d lines, want it taken: %v", v, nstd, wantStd)
				}
			}
		}
	}
}

// addCols appends columns to the data lines of a TSV log, and names and
// types to its header.
func addCols(lines [][]byte, cols string) [][]byte {
	var out [][]byte
	for _, l := range lines {
		switch {
		case bytes.HasPrefix(l, []byte("#fields")):
			l = append(bytes.Clone(l), "\tvlan\tcommunity_id"...)
		case bytes.HasPrefix(l, []byte("#types")):
			l = append(bytes.Clone(l), "\tint\tstring"...)
		case len(l) > 0 && l[0] != '#':
			l = append(append(bytes.Clone(l), '\t'), cols...)
		}
		out = append(out, l)
	}
	return out
}

// dropCols removes data columns from the lines of a TSV log, and their
// names and types from its header.
func dropCols(lines [][]byte, cols ...int) [][]byte {
	var out [][]byte
	for _, l := range lines {
		f := bytes.Split(l, []byte{'\t'})
		shift := 0
		switch {
		case bytes.HasPrefix(l, []byte("#fields")), bytes.HasPrefix(l, []byte("#types")):
			shift = 1
		case len(l) > 0 && l[0] == '#', len(f) < 21:
			out = append(out, l)
			continue
		}
		var kept [][]byte
		for i, v := range f {
			if !slices.Contains(cols, i-shift) || i < shift {
				kept = append(kept, v)
			}
		}
		out = append(out, bytes.Join(kept, []byte{'\t'}))
	}
	return out
}

// FuzzFastPath checks that the one-pass parser gives what the general path
// gives, record and error, for any data line under a conn.log header.
func FuzzFastPath(f *testing.F) {
	f.Add("1521911720.865716\tC1\t10.0.0.5\t40000\t47.88.1.1\t443\ttcp\tssl\t1.5\t900\t4800\tSF\tT\tF\t0\tS\t10\t1420\t12\t5424\t-")
	f.Add("1521911720.12345678901\tC1\t10.0.0.5\t-\t2a00:1450::1\t443\tudp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t123456789012345678\t1420\t12\t5424\t-")
	f.Add("99999999999999999\tC1\t255.255.255.255\t65535\t0.0.0.0\t0\ticmp\t(empty)\t0.000001\t0\t0\t-\tT\tF\t0\t-\t0\t0\t0\t0\t(empty)")
	header := bytes.Split([]byte(strings.TrimSuffix(flowtest.ConnLogHeader, "\n")), []byte{'\n'})
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") || strings.HasPrefix(line, "#") {
			return
		}
		for _, want := range []flowlog.Fields{0, flowlog.FieldCounts | flowlog.FieldTimes} {
			fast, general := NewTSV(), NewTSV()
			fast.SetFields(want)
			general.SetFields(want)
			for _, h := range header {
				fast.Parse(h, new(flowlog.Record))
				general.Parse(h, new(flowlog.Record))
			}
			general.direct = false
			var a, b flowlog.Record
			okA, errA := fast.Parse([]byte(line), &a)
			okB, errB := general.Parse([]byte(line), &b)
			if okA != okB || fmt.Sprint(errA) != fmt.Sprint(errB) || a != b {
				t.Fatalf("fields %d, line %q:\nfast %v %v %+v\ngeneral %v %v %+v", want, line, okA, errA, a, okB, errB, b)
			}
		}
	})
}

// TestQuad checks quad against netip.ParseAddr on random strings of
// digits, dots and other bytes, and on every dotted quad of short octets.
func TestQuad(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	alphabet := []byte("0123456789........\t\"a:/ \xff")
	check := func(s []byte) {
		var b [16]byte
		copy(b[:], s)
		lo, hi := binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])
		for _, term := range []byte{'\t', '"'} {
			ip, n, ok := quad(lo, hi, term)
			end := bytes.IndexByte(s, term)
			want, err := netip.ParseAddr(string(s[:max(end, 0)]))
			wantOK := end >= 0 && end < 16 && err == nil && want.Is4()
			if ok != wantOK || ok && (n != end || netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}) != want) {
				t.Fatalf("quad(%q, %q) = %d, %d, %v; ParseAddr of %q gives %v, %v", s, term, ip, n, ok, s[:max(end, 0)], want, err)
			}
		}
	}
	for range 300_000 {
		s := make([]byte, 16)
		for k := range s {
			s[k] = alphabet[rng.IntN(len(alphabet))]
		}
		if rng.IntN(2) == 0 { // mostly a quad, then a terminator
			q := fmt.Sprintf("%d.%d.%d.%d", rng.IntN(3000), rng.IntN(256), rng.IntN(1000), rng.IntN(2560))
			if rng.IntN(4) == 0 {
				q = strings.Replace(q, ".", ".0", rng.IntN(2)+1)
			}
			copy(s, q+"\t\"")
		}
		check(s)
	}
	for _, q := range []string{"0.0.0.0\t", "255.255.255.255\t", "1.2.3.4\"", "01.2.3.4\t", "1.2.3.04\t", "1.2.3.256\t", "1.2.3\t", "1.2.3.4.5\t", "1..2.3\t", ".1.2.3\t", "255.255.255.2555",
		"1234.1.1.1\t", "1.1234.1.1\t", "1.1.1234.1\t", "1.1.1.1234\t", "0001.1.1.1\t", "100.200.1.1\"", "9.9.9.9\t"} {
		check([]byte(q))
	}
}
