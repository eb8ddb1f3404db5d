package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/sovmap/sovmap/internal/render"
	"github.com/sovmap/sovmap/internal/screen"
)

func screenCommand() *command {
	return &command{
		name:    "screen",
		summary: "screen vendor and equipment inventories against restricted-entity lists",
		help: `Usage: sovmap screen [flags] FILE...

Reads vendor or equipment inventories and matches every name against the
restricted-entity lists embedded in sovmap: the FCC Covered List (with the
date each entry was added) and the companies named in NDAA section 889, with
their subsidiaries, brands, affiliates and aliases in the languages they trade
under (华为, 海康威视, Лаборатория Касперского, …). See docs/screen.md.

An inventory is a CSV file (comma, semicolon or tab separated) or a CycloneDX
JSON SBOM, told apart by content ("-" reads standard input). In a CSV file the
columns of names are found from a header naming vendor, supplier,
manufacturer, company, name and the like, or chosen with --column. In an SBOM,
the supplier and manufacturer of the metadata and of every component, and
each component's publisher, authors, group and name are screened.

Names are compared after normalising legal forms (Co., Ltd., Inc., GmbH, S.A.,
有限公司, ООО), punctuation, case and full-width characters. Each match says
which list, since when, why (exact name, alias, subsidiary of …, contains the
name …, resembles … with the differing words) and a score. A hit is a listed
entity, its subsidiary, brand or affiliate; a near miss is a name that only
resembles one, contains a common word that is also a listed name, or names a
former subsidiary (Lorex, sold by Dahua in 2022): a person should look.

Only the first 1024 bytes of a name are screened (cut before a word split by
the limit); the summary counts the names that were cut, and --json marks them
"truncated".

Flags:
  --column COL      the CSV column of names: a header name or a number from 1
  --json            one JSON object per screened name with a match
  --all             also print the names that match nothing
  --list ID         only matches on this list: fcc-covered, ndaa-889 (repeatable)
  --fail-on LEVEL   exit 1 when a name is a hit (default), a near-miss (or
                    hit), or never (none)

Exit status: 0 when nothing reached --fail-on, 1 when something did or an
inventory could not be parsed, 2 for a usage error, 3 when a file cannot be
read (a directory, say); the other files are screened all the same.

Examples:
  sovmap screen vendors.csv
  sovmap screen --column "Supplier Name" suppliers.csv
  sovmap screen sbom.cdx.json
  sovmap screen --json --fail-on near-miss vendors.csv sbom.cdx.json > screen.ndjson
`,
		run: runScreen,
	}
}

// screenOut is one screened name in --json output.
type screenOut struct {
	File    string     `json:"file"`
	Line    int        `json:"line,omitempty"`
	Path    string     `json:"path,omitempty"`
	Field   string     `json:"field,omitempty"`
	Context string     `json:"context,omitempty"`
	Name    string     `json:"name"`
	Cut     bool       `json:"truncated,omitempty"` // the name was longer than screen.MaxNameLen: its beginning was screened
	Status  string     `json:"status"`
	Matches []matchOut `json:"matches"`
}

type matchOut struct {
	Entity     string       `json:"entity"`
	EntityName string       `json:"entity_name"`
	Status     string       `json:"status"`
	Method     string       `json:"method"`
	Score      float64      `json:"score"`
	Matched    string       `json:"matched"`
	Relation   string       `json:"relation"`
	Why        string       `json:"why"`
	Source     string       `json:"source,omitempty"`
	Listings   []listingOut `json:"listings"`
}

type listingOut struct {
	List     string `json:"list"`
	ListName string `json:"list_name"`
	Name     string `json:"name"`
	Since    string `json:"since"`
	Scope    string `json:"scope"`
	Source   string `json:"source"`
}

func runScreen(e *env, args []string) error {
	fs := newFlags("screen")
	column := fs.String("column", "", "")
	asJSON := fs.Bool("json", false, "")
	all := fs.Bool("all", false, "")
	failOn := fs.String("fail-on", "hit", "")
	var only stringList
	fs.Var(&only, "list", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("screen wants one or more inventory files (CSV or CycloneDX JSON), or - for standard input")
	}
	if !slices.Contains([]string{"hit", "near-miss", "none"}, *failOn) {
		return usagef("--fail-on %q: want hit, near-miss or none", *failOn)
	}
	lists, err := screen.Embedded()
	if err != nil {
		return err
	}
	for _, id := range only {
		if _, ok := lists.List(id); !ok {
			return usagef("--list %q: want one of %s", id, strings.Join(lists.ListIDs(), ", "))
		}
	}
	m := screen.NewMatcher(lists)
	w := bufio.NewWriterSize(e.stdout, 64*1024)
	enc := json.NewEncoder(w)
	var names, hits, near, cut, bad, failed int
	for _, name := range pos {
		label := "stdin"
		rr := &readErrReader{r: e.stdin}
		var f *os.File
		if name != "-" {
			label = name
			var err error
			if f, err = openInventory(name); err != nil {
				e.errorf("screen: %v", err)
				failed++
				continue
			}
			rr.r = f
		}
		items, format, err := screen.Read(rr, *column)
		if f != nil {
			f.Close()
		}
		if err != nil {
			e.errorf("screen: %s: %v", render.Safe(render.Clip(label, render.MaxShown)), err)
			if rr.err != nil {
				failed++
			} else {
				bad++
			}
			continue
		}
		for _, res := range m.Screen(items) {
			res.Matches = onLists(res.Matches, only)
			names++
			if res.Item.Truncated {
				cut++
			}
			st := res.Status()
			switch st {
			case screen.StatusHit:
				hits++
			case screen.StatusNearMiss:
				near++
			}
			if st == "clear" && !*all {
				continue
			}
			out := toScreenOut(lists, label, &res)
			if *asJSON {
				if err := enc.Encode(out); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				continue
			}
			writeScreenText(w, format, &out)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	summary := fmt.Sprintf("screen: %d name%s screened: %d hit%s, %d near miss%s", names, plural(names), hits, plural(hits), near, map[bool]string{true: "", false: "es"}[near == 1])
	if cut > 0 {
		summary += fmt.Sprintf("; %d name%s longer than %d bytes cut to %[3]d", cut, plural(cut), screen.MaxNameLen)
	}
	e.errorf("%s", summary)
	switch {
	case failed > 0:
		return &exitError{exitFailure}
	case bad > 0:
		return &exitError{exitInvalid}
	case *failOn == "hit" && hits > 0, *failOn == "near-miss" && hits+near > 0:
		return &exitError{exitInvalid}
	}
	return nil
}

// openInventory opens an inventory file; a directory is an error, as for
// flows and scan.
func openInventory(name string) (*os.File, error) {
	f, err := os.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s %s: %w", pe.Op, render.Safe(render.Clip(name, render.MaxShown)), pe.Err)
		}
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory", render.Safe(render.Clip(name, render.MaxShown)))
	}
	return f, nil
}

// readErrReader remembers the first error of its reader other than EOF, to
// tell an inventory that cannot be read (exit status 3) from one that cannot
// be parsed (1).
type readErrReader struct {
	r   io.Reader
	err error
}

func (r *readErrReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && r.err == nil {
		r.err = err
	}
	return n, err
}

// onLists keeps the matches whose entity is on one of the lists (all when
// lists is empty).
func onLists(ms []screen.Match, lists []string) []screen.Match {
	if len(lists) == 0 {
		return ms
	}
	var out []screen.Match
	for _, m := range ms {
		for _, ls := range m.Entity.Listings {
			if slices.Contains(lists, ls.List) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func toScreenOut(lists *screen.Lists, file string, res *screen.Result) screenOut {
	it := res.Item
	out := screenOut{File: file, Line: it.Line, Path: it.Path, Field: it.Field, Context: it.Context, Name: it.Name, Cut: it.Truncated, Status: res.Status(), Matches: []matchOut{}}
	for _, m := range res.Matches {
		mo := matchOut{
			Entity: m.Entity.ID, EntityName: m.Entity.Name, Status: m.Status, Method: m.Method,
			Score: m.Score, Matched: m.Matched, Relation: m.Relation, Why: m.Why, Source: lists.SourceURL(m.Source),
		}
		for _, ls := range m.Entity.Listings {
			info, _ := lists.List(ls.List)
			n := ls.Name
			if n == "" {
				n = m.Entity.Name
			}
			mo.Listings = append(mo.Listings, listingOut{List: ls.List, ListName: info.Name, Name: n, Since: ls.Since, Scope: ls.Scope, Source: lists.SourceURL(ls.Source)})
		}
		out.Matches = append(out.Matches, mo)
	}
	return out
}

// writeScreenText writes a screened name for a person. Everything that
// comes from the inventory follows render's terminal rule, so that a
// hostile file cannot write terminal escapes: names and components are
// always quoted, the file name, path and field only when they are not plain
// text, and each is cut to render.MaxShown bytes.
func writeScreenText(w *bufio.Writer, format string, o *screenOut) {
	render.Fprintf(w, "%s", render.Clip(o.File, render.MaxShown))
	switch {
	case o.Line > 0:
		fmt.Fprintf(w, ":%d", o.Line)
	case o.Path != "":
		render.Fprintf(w, " %s", o.Path)
	}
	if o.Field != "" && format == screen.FormatCSV {
		render.Fprintf(w, " %s", render.Clip(o.Field, render.MaxShown))
	}
	fmt.Fprintf(w, " %s", render.Quote(render.Clip(o.Name, render.MaxShown)))
	if o.Context != "" {
		fmt.Fprintf(w, " (component %s)", render.Quote(render.Clip(o.Context, render.MaxShown)))
	}
	if o.Cut {
		fmt.Fprintf(w, " (longer than %d bytes: its beginning was screened)", screen.MaxNameLen)
	}
	w.WriteByte('\n')
	if len(o.Matches) == 0 {
		fmt.Fprintf(w, "  clear\n")
	}
	for _, m := range o.Matches {
		label := "HIT"
		if m.Status == screen.StatusNearMiss {
			label = "near miss"
		}
		fmt.Fprintf(w, "  %s %s (%s, score %.2f)\n", label, m.EntityName, m.Method, m.Score)
		fmt.Fprintf(w, "    why: %s\n", render.Safe(m.Why))
		if m.Source != "" {
			fmt.Fprintf(w, "         %s\n", m.Source)
		}
		for _, ls := range m.Listings {
			fmt.Fprintf(w, "    %s since %s: %s\n", ls.ListName, ls.Since, ls.Name)
			fmt.Fprintf(w, "         %s\n", ls.Source)
		}
	}
}
