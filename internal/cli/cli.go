// Package cli implements the sovmap command line: it parses arguments, wires
// the snapshot, catalog and engine together, and writes results. It is the
// composition root; nothing imports it but cmd/sovmap.
//
// Output rules (docs/cli.md): stdout carries the answer, stderr everything
// else, prefixed "sovmap:". Exit status 0 means success, 1 that some input
// was invalid or a finding reached the failure level, 2 a usage error, and 3
// an operational failure (unreadable data, I/O error).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
	exitFailure = 3
)

// Version is the sovmap version, set at build time with -ldflags.
var Version = "dev"

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	warnedAge bool // the data's age was warned about (load.go)
}

func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "sovmap: "+format+"\n", args...)
}

// usageError is an error in the command line: exit status 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitError carries an exit status without a message (the command has
// already reported).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type command struct {
	name    string
	summary string
	help    string // long help, with examples
	run     func(e *env, args []string) error
}

func commands() []*command {
	return []*command{
		ipCommand(),
		scanCommand(),
		dataCommand(),
		catalogCommand(),
		flowsCommand(),
		collectCommand(),
		policyCommand(),
		screenCommand(),
		versionCommand(),
	}
}

// Run runs sovmap with the arguments (without the program name) and returns
// the exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, mainHelp())
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			return helpFor(e, args[1:])
		}
		fmt.Fprint(stdout, mainHelp())
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return finish(e, c, c.run(e, args[1:]))
		}
	}
	e.errorf("unknown command %q", name)
	fmt.Fprintf(stderr, "hint: run 'sovmap help' for the list of commands\n")
	return exitUsage
}

func finish(e *env, c *command, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, c.help)
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		e.errorf("%s: %s", c.name, ue.msg)
		fmt.Fprintf(e.stderr, "hint: run 'sovmap help %s'\n", c.name)
		return exitUsage
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return xe.code
	}
	// Multi-line errors (a catalog with several problems) get the prefix on
	// every line.
	for i, line := range strings.Split(err.Error(), "\n") {
		if i == 0 {
			e.errorf("%s: %s", c.name, strings.TrimPrefix(line, c.name+": "))
		} else {
			e.errorf("  %s", line)
		}
	}
	return exitFailure
}

func helpFor(e *env, args []string) int {
	for _, c := range commands() {
		if c.name == args[0] {
			fmt.Fprint(e.stdout, c.help)
			return exitOK
		}
	}
	e.errorf("help: unknown command %q", args[0])
	return exitUsage
}

func mainHelp() string {
	var b strings.Builder
	b.WriteString(`sovmap: who controls the infrastructure behind an address, where it sits,
and which jurisdiction it answers to.

Usage:
  sovmap <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Examples:
  sovmap ip 47.88.1.1 8.8.8.8 2a00:1450:4001::1
  sovmap ip --json < addresses.txt > records.ndjson
  sovmap scan domains.txt > results.ndjson
  sovmap scan --zone gov.zone.txt.gz --summary
  sovmap flows conn.log
  sovmap ip --policy us-icts --fail-on high < addresses.txt
  sovmap screen vendors.csv
  sovmap catalog list --control CN
  sovmap catalog show alibaba-cloud
  sovmap data info

Every verdict keeps three countries apart: control (home of the company that
ultimately controls the operator), registration (RIR) and location (where the
server is). Run 'sovmap help <command>' for a command's flags and examples.
`)
	return b.String()
}

// newFlags returns a flag set whose errors and usage go nowhere: Run reports
// them.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses flags anywhere among the arguments (flags after
// positional arguments are allowed), returning the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "-" {
			pos = append(pos, "-")
			args = args[1:]
			continue
		}
		// fs.Parse stops at the first non-flag; "--" ends flags for good.
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of sovmap (the data's is in 'sovmap data info')",
		help: `Usage: sovmap version

Prints the version of sovmap ("dev" for a build that was not given one).
The data in use, with the versions and dates of its sources, is shown by
'sovmap data info'.
`,
		run: func(e *env, args []string) error {
			fs := newFlags("version")
			if _, err := parseFlags(fs, args); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "sovmap %s\n", Version)
			return nil
		},
	}
}
