package flowfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
)

// sharedData holds real third-party logs (see its README). Tests that read
// it skip when it is absent.
const sharedData = "../../../../shared/data"

// TestRealLogs reads every well-formed real log of the shared data set and
// checks that no line is skipped and that records come out.
func TestRealLogs(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("shared data not present (%v)", err)
	}
	tests := []struct {
		glob   string
		format string
		flows  string // the file name prefix of logs that must give records
	}{
		{"zed-sample-data-zeek/zeek-default/*.log.gz", ZeekTSV, "ssl"},
		{"zed-sample-data-zeek/zeek-json/*.json.gz", ZeekJSON, "ssl"},
		{"stratosphere-slips-dataset/test9-mixed-zeek-dir/*.log.gz", ZeekJSON, "conn"},
		{"stratosphere-slips-dataset/test18-malicious-ctu-sme-11-win/*.labeled.gz", ZeekTSV, "conn"},
		{"stratosphere-slips-dataset/*.binetflow*", Argus, "test"},
		{"elastic-vpcflow-format-samples/*.log", VPC, "test-extra"},
	}
	for _, tt := range tests {
		files, _ := filepath.Glob(filepath.Join(sharedData, tt.glob))
		if len(files) == 0 {
			t.Errorf("%s: no files", tt.glob)
		}
		for _, f := range files {
			t.Run(filepath.Base(f), func(t *testing.T) {
				var tally flowlog.Tally
				r := Reader{Tally: &tally}
				var n int64
				if err := r.Read(context.Background(), f, func(rec *flowlog.Record) {
					n++
					if !rec.Src.Addr().IsValid() || !rec.Dst.Addr().IsValid() {
						t.Fatalf("record with an invalid address: %+v", rec)
					}
				}); err != nil {
					t.Fatal(err)
				}
				a := tally.Accounting()
				if got := a.Files[0].Format; got != tt.format {
					t.Errorf("format = %q, want %q", got, tt.format)
				}
				if a.Skipped != 0 {
					t.Errorf("skipped %d lines: %+v", a.Skipped, a.Skips)
				}
				if strings.HasPrefix(filepath.Base(f), tt.flows) && n == 0 {
					t.Errorf("no records")
				}
				t.Logf("%d lines, %d records, %d ignored %v", a.Lines, a.Records, a.Ignored, a.Ignores)
			})
		}
	}
}
