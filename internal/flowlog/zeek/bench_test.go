package zeek

import (
	"bytes"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// benchParse measures a parser alone, through a Scanner, over a synthetic
// conn.log of 200,000 connections to 50,000 remote addresses.
func benchParse(b *testing.B, asJSON bool, newParser func() flowlog.Parser) {
	data := flowtest.ConnLog(200_000, flowtest.RemoteAddrs(50_000, 1), 1, asJSON)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var records int64
	cpu0 := flowtest.CPUTime()
	for b.Loop() {
		var tally flowlog.Tally
		sc := flowlog.NewScanner(bytes.NewReader(data), newParser(), &tally, tally.File("conn.log", ""), 0)
		var rec flowlog.Record
		for sc.Scan(&rec) {
			records++
		}
		if a := tally.Accounting(); a.Skipped != 0 {
			b.Fatalf("skipped %+v", a.Skips)
		}
	}
	flowtest.ReportRates(b, cpu0, records, int64(len(data)))
}

func BenchmarkTSV(b *testing.B) {
	benchParse(b, false, func() flowlog.Parser { return NewTSV() })
}

func BenchmarkJSON(b *testing.B) {
	benchParse(b, true, func() flowlog.Parser { return NewJSON() })
}
