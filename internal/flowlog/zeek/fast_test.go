package zeek

import (
	"bytes"
	"fmt"
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
	} {
		f := bytes.Split(last, []byte{'\t'})
		f[c.col] = []byte(c.val)
		lines = append(lines, bytes.Join(f, []byte{'\t'}))
	}
	lines = append(lines, []byte("too\tfew"))
	for _, markers := range []string{"", "#unset_field\t0\n#empty_field\t1\n"} {
		// Markers after the header's own, before the data.
		head := []byte(markers)
		for _, want := range []flowlog.Fields{0, flowlog.FieldCounts | flowlog.FieldTimes} {
			fast, general := NewTSV(), NewTSV()
			fast.SetFields(want)
			nfast := 0
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
		}
	}
}
