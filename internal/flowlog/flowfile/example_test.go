package flowfile_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowfile"
)

// A Reader detects the format of an input by its content (here a Zeek
// conn.log on standard input), calls a function with each record, and
// accounts for the lines that give none: a bad line is skipped and its
// position kept, and the reading goes on.
func ExampleReader_Read() {
	const connLog = "#separator \\x09\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\torig_pkts\tresp_pkts\n" +
		"1780000000.0\tC1\t10.0.0.5\t40000\t47.88.1.1\t443\ttcp\t900\t4800\t10\t12\n" +
		"1780000001.0\tC2\t10.0.0.5\t40001\t47.88.1.1\n" +
		"1780000002.0\tC3\t2001:db8::5\t5353\t2001:db8::53\t53\tudp\t50\t100\t1\t1\n"

	var tally flowlog.Tally
	r := flowfile.Reader{Tally: &tally, Stdin: strings.NewReader(connLog)}
	err := r.Read(context.Background(), "-", func(rec *flowlog.Record) {
		fmt.Printf("%s -> %s proto %d: %d bytes sent, %d bytes back\n", rec.Src, rec.Dst, rec.Proto, rec.SrcBytes, rec.DstBytes)
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	a := tally.Accounting()
	fmt.Printf("%s read as %s: %d lines, %d records, %d skipped\n", a.Files[0].Name, a.Files[0].Format, a.Lines, a.Records, a.Skipped)
	for _, s := range a.Skips {
		for _, p := range s.First {
			fmt.Printf("%s:%d: %s: %s\n", p.File, p.Line, s.Reason, p.Detail)
		}
	}
	// Output:
	// 10.0.0.5:40000 -> 47.88.1.1:443 proto 6: 900 bytes sent, 4800 bytes back
	// [2001:db8::5]:5353 -> [2001:db8::53]:53 proto 17: 50 bytes sent, 100 bytes back
	// stdin read as zeek: 5 lines, 2 records, 1 skipped
	// stdin:4: wrong field count: 5 fields, the header has 11
}
