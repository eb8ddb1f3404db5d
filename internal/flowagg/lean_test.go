package flowagg

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowfile"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// oddLines returns data lines of unusual shapes, made from a generated
// Zeek TSV line: unset and empty values, IPv6 and IPv4-mapped addresses,
// invalid values.
func oddLines(t *testing.T, line []byte) [][]byte {
	t.Helper()
	const (
		origH, respH, proto, service, duration, origBytes, state, origIPBytes, respPkts = 2, 4, 6, 7, 8, 9, 11, 17, 18
	)
	var out [][]byte
	for _, c := range []struct {
		col int
		val string
	}{
		{respH, "2a00:1450:4001:81c::200e"}, {respH, "::ffff:8.8.8.8"}, {origH, "fe80::1"},
		{duration, "-"}, {origBytes, "-"}, {origIPBytes, "-"}, {respPkts, "-"},
		{service, "(empty)"}, {state, "-"}, {proto, "icmp"}, {proto, "-"},
		{respH, "8.8.8.300"}, {origIPBytes, "x"}, {duration, "1e3"}, {origH, "-"},
	} {
		f := bytes.Split(line, []byte{'\t'})
		f[c.col] = []byte(c.val)
		out = append(out, bytes.Join(f, []byte{'\t'}))
	}
	return append(out, []byte("too\tfew"))
}

// TestLeanSummary checks that reading with the fields an aggregator needs
// (as "sovmap flows" does) gives the same summary and the same accounting
// as reading every field.
func TestLeanSummary(t *testing.T) {
	data := flowtest.ConnLog(5000, flowtest.RemoteAddrs(700, 3), 3, false)
	last := data[bytes.LastIndexByte(data[:len(data)-1], '\n')+1 : len(data)-1]
	for _, l := range oddLines(t, last) {
		data = append(append(data, l...), '\n')
	}
	path := filepath.Join(t.TempDir(), "conn.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	summary := func(fields flowlog.Fields) ([]byte, flowlog.Accounting) {
		var tally flowlog.Tally
		a := New(NewLocal(DefaultLocal()))
		r := flowfile.Reader{Tally: &tally, Fields: fields}
		if err := r.Read(context.Background(), path, a.Add); err != nil {
			t.Fatal(err)
		}
		s := a.Summarize(&fakeAttributor{}, Options{By: Dimensions, Top: 5})
		b, err := json.MarshalIndent(s, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return b, tally.Accounting()
	}
	full, fullAcc := summary(0)
	lean, leanAcc := summary(Fields)
	if !bytes.Equal(full, lean) {
		t.Errorf("lean summary differs:\n%s\nfull:\n%s", lean, full)
	}
	fa, _ := json.Marshal(fullAcc)
	la, _ := json.Marshal(leanAcc)
	if !bytes.Equal(fa, la) {
		t.Errorf("lean accounting %s, full %s", la, fa)
	}
	if fullAcc.Skipped == 0 || fullAcc.Records < 5000 {
		t.Errorf("accounting %s: the odd lines are not all there", fa)
	}
}
