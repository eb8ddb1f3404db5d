package flowtest

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime returns the CPU time the process has used so far. On a shared
// machine it says what work costs better than the wall clock does.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportRates reports records per second of wall time and, from the CPU
// time used since cpu0 (a CPUTime), bytes and records per CPU second, for
// a benchmark whose every iteration reads size bytes.
func ReportRates(b *testing.B, cpu0 time.Duration, records, size int64) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	if cpu := CPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
		b.ReportMetric(float64(records)/cpu.Seconds(), "records/cpu-s")
	}
}
