package e2e

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// skipDir reports whether a walk skips a directory: VCS and tool state,
// hidden and underscore folders, and testdata (the go tool ignores them).
func skipDir(name string) bool {
	return name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// goDirs returns the directories under cmd/ and internal/ that hold non-test
// .go files, with those files, keyed by slash path relative to root.
func goDirs(t *testing.T, root string) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	for _, top := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != filepath.Join(root, top) && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), ".go") && !strings.HasSuffix(d.Name(), "_test.go") {
				r, _ := filepath.Rel(root, filepath.Dir(path))
				r = filepath.ToSlash(r)
				dirs[r] = append(dirs[r], path)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return dirs
}

// TestPackageDocs checks that every package has its doc comment in exactly
// one file, in the form "Package x ..." or, for a command, "Command x ..."
// (STYLE §5 habit 14).
func TestPackageDocs(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	dirs := goDirs(t, root)
	if len(dirs) == 0 {
		t.Fatalf("no Go packages under %s/cmd or %s/internal", root, root)
	}
	for dir, files := range dirs {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			for _, p := range docProblems(dir, files) {
				t.Error(p)
			}
		})
	}
}

// docProblems returns what is wrong with the package docs of the files of
// one directory (dir is its slash path relative to the module root).
func docProblems(dir string, files []string) []string {
	var problems, docs []string
	for _, f := range files {
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if file.Doc == nil {
			continue
		}
		name := filepath.Base(f)
		docs = append(docs, name)
		text := file.Doc.Text()
		want := "Package " + file.Name.Name + " "
		if file.Name.Name == "main" {
			want = "Command " + path.Base(dir) + " "
		}
		if !strings.HasPrefix(text, want) {
			first, _, _ := strings.Cut(text, "\n")
			problems = append(problems, fmt.Sprintf("%s/%s: package doc starts %q, want %q", dir, name, first, want+"…"))
		}
	}
	switch len(docs) {
	case 1:
	case 0:
		problems = append(problems, fmt.Sprintf("%s: no file has a package doc comment; add one (usually doc.go) starting %q", dir, "// Package "+path.Base(dir)+" "))
	default:
		slices.Sort(docs)
		problems = append(problems, fmt.Sprintf("%s: %d files carry a package doc comment (%s), want exactly one", dir, len(docs), strings.Join(docs, ", ")))
	}
	return problems
}

// TestDocProblems checks the package doc rules on made-up packages.
func TestDocProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		dir   string
		files map[string]string
		want  []string // substrings, one per problem
	}{
		{"good", "internal/good", map[string]string{
			"doc.go": "// Package good does good.\npackage good\n",
			"a.go":   "package good\n",
		}, nil},
		{"command", "cmd/tool", map[string]string{"main.go": "// Command tool runs.\npackage main\n"}, nil},
		{"command worded as a package", "cmd/tool", map[string]string{"main.go": "// Package main runs.\npackage main\n"},
			[]string{`cmd/tool/main.go: package doc starts "Package main runs.", want "Command tool …"`}},
		{"none", "internal/none", map[string]string{"a.go": "package none\n", "b.go": "// not a doc\n\npackage none\n"},
			[]string{"internal/none: no file has a package doc comment"}},
		{"two", "internal/two", map[string]string{
			"a.go": "// Package two is a.\npackage two\n",
			"b.go": "// Package two is b.\npackage two\n",
		}, []string{"internal/two: 2 files carry a package doc comment (a.go, b.go)"}},
		{"wrong name", "internal/wrong", map[string]string{"doc.go": "// Package other is wrong.\npackage wrong\n"},
			[]string{`package doc starts "Package other is wrong."`}},
		{"no space after the name", "internal/x", map[string]string{"doc.go": "// Package xy.\npackage x\n"},
			[]string{`package doc starts "Package xy."`}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			var files []string
			for name, src := range test.files {
				f := filepath.Join(tmp, name)
				if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			got := docProblems(test.dir, files)
			if len(got) != len(test.want) {
				t.Fatalf("docProblems(%s) = %q, want %d problems %q", test.dir, got, len(test.want), test.want)
			}
			for i, w := range test.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("docProblems(%s)[%d] = %q, want it to contain %q", test.dir, i, got[i], w)
				}
			}
		})
	}
}

// TestNoHyphenatedGoFiles checks Go file names: lower_snake.go, never
// hyphens (STYLE §4.2).
func TestNoHyphenatedGoFiles(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".go") && strings.Contains(d.Name(), "-") {
			r, _ := filepath.Rel(root, path)
			t.Errorf("%s: Go file names use underscores, not hyphens (STYLE §4.2)", filepath.ToSlash(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// exitCalls are the calls that end the process, by import path.
var exitCalls = map[string][]string{
	"log": {"Fatal", "Fatalf", "Fatalln"},
	"os":  {"Exit"},
}

// TestNoExitOutsideMain checks that only the main.go of a program
// (cmd/sovmap, or a development tool such as connloggen) ends the process:
// libraries return errors (STYLE §5 habit 6, "no log.Fatal outside main").
// Test files may call os.Exit in TestMain only.
func TestNoExitOutsideMain(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	for _, top := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != filepath.Join(root, top) && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(d.Name(), ".go") {
				return nil
			}
			r, _ := filepath.Rel(root, path)
			r = filepath.ToSlash(r)
			if d.Name() == "main.go" && isMainPackage(t, path) {
				return nil // a program's main.go: cmd/sovmap, or a development tool
			}
			for _, c := range exitCallsIn(t, path) {
				t.Errorf("%s:%d: %s ends the process; return an error instead (only a program's main.go exits)", r, c.line, c.call)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// isMainPackage reports whether the Go file at path is in package main.
func isMainPackage(t *testing.T, path string) bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	return f.Name.Name == "main"
}

type exitCall struct {
	call string
	line int
}

// exitCallsIn returns the calls of exitCalls in a file, following import
// names, and skipping the body of TestMain in test files.
func exitCallsIn(t *testing.T, path string) []exitCall {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return nil
	}
	names := map[string]string{} // local name → import path
	for _, imp := range file.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if _, ok := exitCalls[p]; !ok {
			continue
		}
		name := p
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = p
	}
	if len(names) == 0 {
		return nil
	}
	var calls []exitCall
	for _, decl := range file.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Name.Name == "TestMain" && fn.Recv == nil && strings.HasSuffix(path, "_test.go") {
			continue
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			p, ok := names[id.Name]
			if !ok || !slices.Contains(exitCalls[p], sel.Sel.Name) {
				return true
			}
			calls = append(calls, exitCall{call: p + "." + sel.Sel.Name, line: fset.Position(sel.Pos()).Line})
			return true
		})
	}
	return calls
}

// TestExitCallsIn checks the detector on a small file.
func TestExitCallsIn(t *testing.T) {
	t.Parallel()
	src := `package x

import (
	"log"
	osx "os"
)

func f() {
	log.Fatalf("no")
	osx.Exit(2)
	log.Printf("fine")
	var os struct{ Exit func(int) }
	_ = os
}
`
	path := filepath.Join(t.TempDir(), "x.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range exitCallsIn(t, path) {
		got = append(got, c.call+":"+strconv.Itoa(c.line))
	}
	if want := []string{"log.Fatalf:9", "os.Exit:10"}; !slices.Equal(got, want) {
		t.Errorf("exitCallsIn(x.go) = %q, want %q", got, want)
	}
}
