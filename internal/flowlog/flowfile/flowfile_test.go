package flowfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// samples are a few lines of each format, written here.
var samples = map[string]string{
	ZeekTSV:  flowtest.ConnLogHeader + "1\tC1\t10.0.0.5\t1\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t100\t1\t200\t-\n",
	ZeekJSON: `{"ts":1,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":1,"id.resp_h":"47.88.1.1","id.resp_p":443,"orig_ip_bytes":100,"resp_ip_bytes":200}` + "\n",
	VPC:      "2 1 eni-1 10.0.0.5 47.88.1.1 1 443 6 1 100 1418530010 1418530070 ACCEPT OK\n",
	Nfdump:   "ts,te,td,sa,da,sp,dp,pr,ipkt,ibyt,opkt,obyt\n2026-06-01 12:00:00,2026-06-01 12:00:01,1.0,10.0.0.5,47.88.1.1,1,443,TCP,1,100,1,200\n",
	Argus:    "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes,SrcBytes,SrcPkts\n2019/04/04 16:23:00.325010,1.0,tcp,10.0.0.5,1,   ->,47.88.1.1,443,CON,2,300,100,1\n",
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for want, text := range samples {
		if got, why := Detect([]byte(text)); got != want {
			t.Errorf("Detect(%s sample) = %q (%v), want %q", want, got, why, want)
		}
	}
	for _, text := range []string{"hello world\n", "\x00\x01\x02binary", "\xff\xfe\xfd\xfc\xfb\xfa\xf9 not utf-8", `{"src_ip":"1.2.3.4"}`} {
		if got, why := Detect([]byte(text)); got != "" || why == nil || why.Reason != flowlog.ReasonFormat {
			t.Errorf("Detect(%q) = %q, %v; want an unrecognised format", text, got, why)
		}
	}
}

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// read reads inputs and returns the records' bytes and the accounting.
func read(t *testing.T, r *Reader, names ...string) (uint64, flowlog.Accounting, error) {
	t.Helper()
	var tally flowlog.Tally
	r.Tally = &tally
	var sum uint64
	var err error
	for _, n := range names {
		if e := r.Read(context.Background(), n, func(rec *flowlog.Record) { sum += rec.Bytes() }); e != nil && err == nil {
			err = e
		}
	}
	return sum, tally.Accounting(), err
}

// TestRead reads every format, plain and gzip-compressed under a name
// that says nothing, and from standard input.
func TestRead(t *testing.T) {
	t.Parallel()
	for format, text := range samples {
		t.Run(format, func(t *testing.T) {
			plain := write(t, "plain", []byte(text))
			packed := write(t, "packed.log", gz(t, []byte(text)))
			r := &Reader{Stdin: strings.NewReader(text)}
			sum, a, err := read(t, r, plain, packed, "-")
			if err != nil {
				t.Fatal(err)
			}
			want := uint64(300)
			if format == VPC {
				want = 100
			}
			if sum != 3*want || a.Records != 3 || a.Skipped != 0 {
				t.Errorf("bytes %d, accounting %+v; want %d bytes in 3 records", sum, a, 3*want)
			}
			for _, f := range a.Files {
				if f.Format != format {
					t.Errorf("file %s read as %q, want %q", f.Name, f.Format, format)
				}
			}
			if a.Files[2].Name != "stdin" {
				t.Errorf("stdin is named %q", a.Files[2].Name)
			}
		})
	}
}

// TestReadBad checks that bad inputs are accounted for, with their file and
// line, and that the inputs after them are still read.
func TestReadBad(t *testing.T) {
	t.Parallel()
	good := write(t, "good", []byte(samples[ZeekTSV]))
	binary := write(t, "binary", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00"))
	text := write(t, "text", []byte("just some notes\nand more\n"))
	empty := write(t, "empty", nil)
	whole := gz(t, []byte(strings.Repeat(samples[VPC], 5000)))
	truncated := write(t, "truncated.gz", whole[:len(whole)/2])
	header := write(t, "header.gz", whole[:5])
	mixed := write(t, "mixed", []byte(samples[ZeekTSV]+
		"1\tC1\t10.0.0.5\t1\t47.88.1\n"+ // truncated line
		"1\tC1\t10.0.0.5\t1\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t100\t1\t200\n"+ // a field short
		"1\tC1\t10.0.0.5\t1\t47.88.1.999\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t100\t1\t200\t-\n"+ // bad address
		"\x00\x01\x02\x03\n"+ // binary
		"1\tC1\t10.0.0.5\t1\t47.88.1.1\t443\ttcp\t-\t-\t-\t-\tSF\t-\t-\t0\t-\t1\t100\t1\t200\t-\n"))
	sum, a, err := read(t, &Reader{}, binary, text, empty, truncated, header, mixed, good)
	if err != nil {
		t.Fatal(err)
	}
	if sum != 300*3+100*uint64(a.Files[3].Records) || a.Files[3].Records == 0 {
		t.Errorf("bytes %d with %d records from the truncated file", sum, a.Files[3].Records)
	}
	// No skip is on a line the file's count leaves out ("1 of 0 lines
	// skipped").
	lines := map[string]int64{}
	for _, f := range a.Files {
		lines[f.Name] = f.Lines
	}
	firsts := map[string][]string{}
	for _, r := range a.Skips {
		for _, p := range r.First {
			if p.Line < 1 || p.Line > lines[p.File] {
				t.Errorf("%s skipped at %s:%d, but the file has %d lines", r.Reason, filepath.Base(p.File), p.Line, lines[p.File])
			}
			firsts[r.Reason] = append(firsts[r.Reason], filepath.Base(p.File)+":"+itoa(p.Line))
		}
	}
	want := map[string][]string{
		flowlog.ReasonFormat: {"binary:1", "text:1"},
		// The truncation is on the line it cut, the file's last: not a
		// line past it, and the cut line is not parsed as a short one.
		flowlog.ReasonCorrupt:    {"truncated.gz:" + itoa(a.Files[3].Lines), "header.gz:1"},
		flowlog.ReasonFieldCount: {"mixed:10", "mixed:11"},
		flowlog.ReasonAddr:       {"mixed:12"},
		flowlog.ReasonBinary:     {"mixed:13"},
	}
	for reason, w := range want {
		if strings.Join(firsts[reason], " ") != strings.Join(w, " ") {
			t.Errorf("%s at %v, want %v", reason, firsts[reason], w)
		}
	}
	if a.Files[2].Format != "empty" || a.Files[2].Lines != 0 {
		t.Errorf("empty file: %+v", a.Files[2])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestReadErrors(t *testing.T) {
	t.Parallel()
	r := &Reader{}
	if _, _, err := read(t, r, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file: no error")
	}
	if _, _, err := read(t, r, t.TempDir()); err == nil {
		t.Error("a directory: no error")
	}
	if _, _, err := read(t, &Reader{}, "-"); err == nil {
		t.Error("stdin without Stdin: no error")
	}
	forced := &Reader{Format: VPC}
	if _, a, err := read(t, forced, write(t, "zeek", []byte(samples[ZeekTSV]))); err != nil || a.Records != 0 || a.Skipped == 0 {
		t.Errorf("a Zeek log read as VPC: %+v, %v; want skipped lines", a, err)
	}
}

func TestReadCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var tally flowlog.Tally
	r := &Reader{Tally: &tally}
	big := write(t, "big", []byte(strings.Repeat(samples[VPC], 100000)))
	if err := r.Read(ctx, big, func(*flowlog.Record) {}); err == nil {
		t.Error("Read with a cancelled context: no error")
	}
}

// FuzzRead feeds arbitrary input, compressed or not, through detection and
// the parsers: nothing panics, and every line is accounted for once.
func FuzzRead(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("#separator \\x09\n#fields\tid.orig_h\tid.resp_h\n1.1.1.1\t::1\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		if compress {
			data = gz(t, data)
		}
		var tally flowlog.Tally
		r := &Reader{Tally: &tally, Stdin: bytes.NewReader(data), MaxLine: 256}
		var n int64
		if err := r.Read(context.Background(), "-", func(rec *flowlog.Record) {
			n++
			if !rec.Src.Addr().IsValid() || !rec.Dst.Addr().IsValid() {
				t.Fatalf("record with an invalid address: %+v", rec)
			}
		}); err != nil {
			t.Fatal(err)
		}
		a := tally.Accounting()
		if a.Records != n || a.Records+a.Skipped+a.Ignored > a.Lines+1 {
			t.Fatalf("%d records seen, accounting %+v", n, a)
		}
	})
}
