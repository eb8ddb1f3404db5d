package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/cli"
)

// result is what one run of sovmap gave.
type result struct {
	code           int
	stdout, stderr string
}

// run runs sovmap in process with the real embedded snapshot and catalog.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, clip(r.stdout), clip(r.stderr))
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// lines splits output into lines, without the final newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// record is what the tests here read of a JSON record of sovmap ip: the
// address, or the input, error and line of an error record.
// testdata/script/ip_json.txtar pins whole records.
type record struct {
	IP    string `json:"ip"`
	Input string `json:"input"`
	Error string `json:"error"`
	Line  int    `json:"line"`
}

func decode(t *testing.T, line string) record {
	t.Helper()
	var r record
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", clip(line), err)
	}
	return r
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIPStreamHostile feeds sovmap ip the lines that a script cannot hold
// (testdata/script/ip_stdin.txtar has the others): a CR line ending, a line
// of 100 KB, bytes that are not UTF-8, and a last line without a newline.
// Each line gives its record in order; the long line is echoed whole in
// JSON and clipped in text; bytes that are not UTF-8 never pass through.
func TestIPStreamHostile(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("9", 100*1024)
	stdin := "8.8.4.4\r\n" + long + "\n\xff\xfe\n1.1.1.1"
	const stderr = "sovmap: ip: 2 of 4 inputs were not IP addresses\n"
	clipped := strings.Repeat("9", 197) + "..." // 200 bytes

	type summary struct {
		Code    int
		Stderr  string
		Records []record // for --json: IP, or Input, Error and Line
		Heads   []string // for text and --brief: the first field of each record
	}
	tests := []struct {
		args []string
		want summary
	}{
		{[]string{"ip", "--json"}, summary{1, stderr, []record{
			{IP: "8.8.4.4"},
			{Input: long, Error: "not an IP address", Line: 2},
			{Input: "\ufffd\ufffd", Error: "not an IP address", Line: 3},
			{IP: "1.1.1.1"},
		}, nil}},
		{[]string{"ip", "--brief"}, summary{1, stderr, nil, []string{"8.8.4.4", clipped, `"\xff\xfe"`, "1.1.1.1"}}},
		{[]string{"ip"}, summary{1, stderr, nil, []string{"8.8.4.4", clipped, `"\xff\xfe"`, "1.1.1.1"}}},
	}
	for _, test := range tests {
		t.Run(strings.Join(test.args, " "), func(t *testing.T) {
			t.Parallel()
			res := run(t, stdin, test.args...)
			got := summary{Code: res.code, Stderr: res.stderr}
			switch test.args[len(test.args)-1] {
			case "--json":
				for _, l := range lines(res.stdout) {
					got.Records = append(got.Records, decode(t, l))
				}
			case "--brief":
				for _, l := range lines(res.stdout) {
					head, _, _ := strings.Cut(l, "\t")
					got.Heads = append(got.Heads, head)
				}
			default:
				for _, b := range strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n\n") {
					head, _, _ := strings.Cut(b, "\n")
					got.Heads = append(got.Heads, head)
				}
			}
			if diff := cmp.Diff(test.want, got); diff != "" {
				t.Errorf("sovmap %s mismatch (-want +got):\n%s", strings.Join(test.args, " "), diff)
			}
		})
	}
}

// TestIPStreamTooLong feeds a line longer than the read buffer: it gives one
// error record, without the line, and the lines after it are still read.
func TestIPStreamTooLong(t *testing.T) {
	t.Parallel()
	stdin := "8.8.8.8\n" + strings.Repeat("x", 600*1024) + "\n1.1.1.1\n" + strings.Repeat("y", 300*1024)
	res := run(t, stdin, "ip", "--json")
	type summary struct {
		Code    int
		Stderr  string
		Records []record
	}
	got := summary{Code: res.code, Stderr: res.stderr}
	for _, l := range lines(res.stdout) {
		got.Records = append(got.Records, decode(t, l))
	}
	want := summary{1, "sovmap: ip: 2 of 4 inputs were not IP addresses\n", []record{
		{IP: "8.8.8.8"},
		{Input: "line 2", Error: "line too long to be an address", Line: 2},
		{IP: "1.1.1.1"},
		{Input: "line 4", Error: "line too long to be an address", Line: 4},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sovmap ip --json with overlong lines mismatch (-want +got):\n%s", diff)
	}
}

// TestIPStreamValid checks that 1000 addresses among comments and blank
// lines give 1000 records, in input order.
func TestIPStreamValid(t *testing.T) {
	t.Parallel()
	type summary struct {
		Code   int
		Stderr string
		IPs    []string
	}
	var b strings.Builder
	want := summary{}
	for i := range 1000 {
		ip := fmt.Sprintf("47.88.%d.%d", i/256, i%256)
		fmt.Fprintln(&b, ip)
		want.IPs = append(want.IPs, ip)
		if i%100 == 0 {
			b.WriteString("# checkpoint\n\n")
		}
	}
	res := run(t, b.String(), "ip", "--json")
	got := summary{Code: res.code, Stderr: res.stderr}
	for _, l := range lines(res.stdout) {
		got.IPs = append(got.IPs, decode(t, l).IP)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sovmap ip --json on 1000 valid lines mismatch (-want +got):\n%s", diff)
	}
}

// TestReadme checks that the commands the README gives a newcomer still
// exist, and that its example output is what sovmap prints.
func TestReadme(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	blocks := codeBlocks(readme)
	if len(blocks) == 0 {
		t.Fatalf("README.md has no code block")
	}
	first := blocks[0]
	for _, w := range []string{"go run ./cmd/sovmap ip", "go test ./..."} {
		if !strings.Contains(first.body, w) {
			t.Errorf("README.md's first code block lacks %q:\n%s", w, first.body)
		}
	}
	// Run the go run line's arguments in process.
	for _, l := range lines(first.body) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "go run ./cmd/sovmap ")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "#")
		args := strings.Fields(rest)
		if res := run(t, "", args...); res.code != 0 || res.stderr != "" {
			t.Errorf("README: sovmap %s: %s", strings.Join(args, " "), res)
		}
	}
	// Every "$ sovmap …" example in a console block prints what follows it.
	for _, bl := range blocks {
		if bl.lang != "console" {
			continue
		}
		cmd, want, ok := strings.Cut(bl.body, "\n")
		args, isCmd := strings.CutPrefix(cmd, "$ sovmap ")
		if !ok || !isCmd {
			continue
		}
		res := run(t, "", strings.Fields(args)...)
		if res.code != 0 || res.stdout != want {
			t.Errorf("README: sovmap %s printed\n%s\nREADME shows\n%s", args, res.stdout, want)
		}
	}
	// Every command of the "sh" examples parses (exit 0, 1 or 3, never 2),
	// except those that need files the reader does not have.
	for _, bl := range blocks[1:] {
		if bl.lang != "sh" {
			continue
		}
		for _, l := range lines(bl.body) {
			cmd, _, _ := strings.Cut(l, "#")
			args, ok := strings.CutPrefix(strings.TrimSpace(cmd), "sovmap ")
			if !ok || strings.ContainsAny(args, "<>|") || strings.Contains(args, ".yaml") {
				continue
			}
			// A collector runs until stopped, and an update goes online:
			// neither belongs in a unit test (they have their own tests).
			if strings.HasPrefix(args, "collect") || strings.HasPrefix(args, "data update") {
				continue
			}
			if res := run(t, "", strings.Fields(args)...); res.code == 2 {
				t.Errorf("README: sovmap %s: usage error\n%s", args, res)
			}
		}
	}
}

type codeBlock struct{ lang, body string }

// codeBlocks returns the fenced code blocks of a Markdown text.
func codeBlocks(md string) []codeBlock {
	var out []codeBlock
	var cur *codeBlock
	var body strings.Builder
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			if cur == nil {
				cur = &codeBlock{lang: strings.TrimSpace(strings.TrimPrefix(l, "```"))}
				body.Reset()
			} else {
				cur.body = body.String()
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			body.WriteString(l)
			body.WriteByte('\n')
		}
	}
	return out
}

// TestRunCancelled checks that a cancelled context stops reading stdin.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, []string{"ip", "--json"}, strings.NewReader("1.1.1.1\n"), &stdout, &stderr)
	if code == 0 {
		t.Errorf("sovmap ip --json with a cancelled context: exit 0, want a failure\nstdout %q\nstderr %q", stdout.String(), stderr.String())
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestIPWriteError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"ip", "--json", "1.1.1.1"}, strings.NewReader(""), errWriter{}, &stderr)
	if code != 3 || !strings.HasPrefix(stderr.String(), "sovmap: ") {
		t.Errorf("sovmap ip --json to a failing stdout: exit %d, stderr %q, want exit 3 and a message", code, stderr.String())
	}
}
