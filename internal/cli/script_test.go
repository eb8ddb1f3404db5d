package cli_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sovmap/sovmap/internal/cli"
)

var updateScripts = flag.Bool("update", false, "rewrite the golden outputs of testdata/script/*.txtar with what sovmap prints")

// TestMain makes the test binary double as the sovmap command of the
// scripts (testscript.Main runs it as "sovmap" when the scripts exec it),
// and keeps the tests of this package away from the user's data directory:
// sovmap uses <data dir>/sovmap.snap when 'data update' has written one,
// and the tests expect the embedded snapshot unless they say otherwise.
func TestMain(m *testing.M) {
	testscript.Main(dataHome{m}, map[string]func(){
		"sovmap": func() { os.Exit(sovmapMain()) },
	})
}

// sovmapMain is cmd/sovmap's main, returning the exit status. It also
// writes the status to the file $SOVMAP_TEST_STATUS names, for the
// scripts' status command.
func sovmapMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if file := os.Getenv("SOVMAP_TEST_STATUS"); file != "" {
		if err := os.WriteFile(file, []byte(strconv.Itoa(code)), 0o666); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 125
		}
	}
	return code
}

// dataHome runs the tests with XDG_DATA_HOME set to an empty temporary
// directory.
type dataHome struct{ m *testing.M }

func (d dataHome) Run() int {
	dir, err := os.MkdirTemp("", "sovmap-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_DATA_HOME", dir)
	os.Setenv("SOVMAP_DATA_MAX_AGE", "0") // no warning of the embedded data's age
	return d.m.Run()
}

// TestScript runs the scripts of testdata/script: each runs sovmap command
// lines on inputs held in the script and checks their output and exit
// status (see testdata/script/README). "go test -run TestScript -update"
// rewrites the expected outputs that the scripts compare with cmp.
func TestScript(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			// HOME is /no-home and XDG_DATA_HOME unset: the data
			// directory does not exist, sovmap uses the embedded
			// snapshot, and the path it names is the same on every
			// machine.
			e.Setenv("SOVMAP_TEST_STATUS", filepath.Join(e.WorkDir, ".status"))
			// The embedded data's age is warned about on stderr; the
			// scripts that check that warning set it back.
			e.Setenv("SOVMAP_DATA_MAX_AGE", "0")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status": cmdStatus,
		},
	})
}

// cmdStatus is the scripts' "status N" command: the last sovmap run
// exited with status N. testscript's "! exec" says only that a command
// failed; sovmap's statuses tell invalid input (1), usage errors (2) and
// failures (3) apart.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: status N")
	}
	file := ts.Getenv("SOVMAP_TEST_STATUS")
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		ts.Fatalf("status: no sovmap run since the last status")
	}
	ts.Check(err)
	ts.Check(os.Remove(file))
	if got := string(b); got != args[0] {
		ts.Fatalf("sovmap exited with status %s, want %s", got, args[0])
	}
}
