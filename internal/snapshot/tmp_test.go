package snapshot

import (
	"os"
	"testing"
	"crypto/sha256"
	"time"
)

func BenchmarkTmpDecode(b *testing.B) {
	buf, _ := os.ReadFile("/tmp/sb/test.snap")
	t0 := time.Now(); sha256.Sum256(buf); b.Logf("sha %v", time.Since(t0))
	for b.Loop() {
		if _, err := Decode(buf); err != nil { b.Fatal(err) }
	}
}
