package zeek

import (
	"bytes"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// nopParser takes lines and does nothing with them.
type nopParser struct{}

func (nopParser) Parse([]byte, *flowlog.Record) (bool, error) { return false, nil }

// splitParser only finds the fields of each line.
type splitParser struct{ ends []int32 }

func (p *splitParser) Parse(line []byte, _ *flowlog.Record) (bool, error) {
	flowlog.Split(line, '\t', p.ends)
	return false, nil
}

// BenchmarkStages breaks the TSV reader's cost down on the same synthetic
// conn.log: reading lines, finding fields, and the whole parser; and gives
// the baseline of performance.md §3.1, splitting on tabs with one
// bytes.IndexByte call per field, to compare machines and runs.
func BenchmarkStages(b *testing.B) {
	data := flowtest.ConnLog(200_000, flowtest.RemoteAddrs(50_000, 1), 1, false)
	for _, st := range []struct {
		name string
		p    func() flowlog.Parser
	}{
		{"lines", func() flowlog.Parser { return nopParser{} }},
		{"split", func() flowlog.Parser { return &splitParser{ends: make([]int32, 22)} }},
		{"parse", func() flowlog.Parser { return NewTSV() }},
	} {
		b.Run(st.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var tally flowlog.Tally
				sc := flowlog.NewScanner(bytes.NewReader(data), st.p(), &tally, tally.File("conn.log", ""), 0)
				var rec flowlog.Record
				for sc.Scan(&rec) {
				}
			}
		})
	}
	b.Run("indexbyte-baseline", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for d := data; ; {
				i := bytes.IndexByte(d, '\t')
				if i < 0 {
					break
				}
				d = d[i+1:]
			}
		}
	})
}
