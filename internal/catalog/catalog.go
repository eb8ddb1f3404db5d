// Package catalog loads sovmap's catalog of companies, providers and
// jurisdiction groups: the embedded catalog and users' own files, which
// override or extend it.
//
// A catalog file is YAML with the top-level keys sources, companies,
// providers, traps, groups and regions (see docs/catalog.md). Unknown keys
// are errors, so that a misspelt field never silently drops a claim.
//
// The YAML files under data/ are the source of the embedded catalog. They are
// compiled into compiled.json, which is what the binary embeds, because
// decoding JSON is an order of magnitude faster than decoding YAML and a
// fresh "sovmap ip" process must start in milliseconds. After editing data/,
// run "go test ./internal/catalog -update"; a test fails while compiled.json
// is stale.
package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sovmap/sovmap/internal/attribution"
)

// MaxFileSize is the size of the largest catalog file that Parse reads.
// Decoding YAML takes about 0.2 s and 40 MB of memory a MiB: a file at the
// bound (some 500,000 range claims) takes about 7 s and 1.2 GB. The bound
// stops a mistaken or hostile --catalog file (/dev/zero, a stray dump)
// there; the embedded catalog is under 1 MiB.
const MaxFileSize = 32 << 20

// Parse decodes one YAML catalog file. Name is used in error messages.
//
// A catalog file is hostile input, so Parse is bounded: it reads at most
// [MaxFileSize] bytes, the YAML decoder refuses nesting deeper than 10,000
// levels and documents made mostly of alias expansions (a "billion laughs"),
// and the message of an error lists at most [attribution.MaxShownProblems]
// problems.
//
// Parse leaves the data's Lines empty: [Load] and [Compile] find them when
// the catalog has problems to report.
func Parse(name string, r io.Reader) (attribution.CatalogData, error) {
	b, err := readFile(name, r)
	if err != nil {
		return attribution.CatalogData{File: name}, err
	}
	return parse(name, b)
}

// readFile reads a catalog file of at most MaxFileSize bytes.
func readFile(name string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", name, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("catalog: %s: larger than %d MiB, the limit for a catalog file", name, MaxFileSize>>20)
	}
	return b, nil
}

func parse(name string, b []byte) (attribution.CatalogData, error) {
	d := attribution.CatalogData{File: name}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return attribution.CatalogData{File: name}, nil
		}
		return d, fmt.Errorf("catalog: %w", yamlError(name, err))
	}
	return d, nil
}

// check merges and checks the data with NewCatalog. Raw holds the YAML
// that data[i] was decoded from, or nil. When NewCatalog finds problems,
// check finds the lines of the entries in the YAML and checks again, so that
// each problem names its line: finding lines decodes the files a second
// time, which only a failing catalog pays.
func check(data []attribution.CatalogData, raw [][]byte) (*attribution.Catalog, error) {
	c, err := attribution.NewCatalog(data...)
	var ce *attribution.CatalogError
	if err == nil || !errors.As(err, &ce) || !slices.ContainsFunc(raw, func(b []byte) bool { return b != nil }) {
		return c, err
	}
	for i, b := range raw {
		if b != nil {
			data[i].Lines = entryLines(b)
		}
	}
	return attribution.NewCatalog(data...)
}

// yamlError returns a decoding error as a list of problems with the file
// name and line, so that a file with a million unknown fields makes a short
// message.
func yamlError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	ce := &attribution.CatalogError{Problems: make([]attribution.Problem, 0, len(msgs))}
	for _, m := range msgs {
		p := attribution.Problem{File: name, Msg: m}
		if rest, ok := strings.CutPrefix(m, "line "); ok {
			if n, msg, ok := strings.Cut(rest, ": "); ok {
				if line, err := strconv.Atoi(n); err == nil {
					p.Line, p.Msg = line, msg
				}
			}
		}
		ce.Problems = append(ce.Problems, p)
	}
	return ce
}

// entryLines returns the line of each entry of each top-level list, for
// [attribution.CatalogData.Lines]. It decodes the file to nodes, a second
// decoding, because the decoder that rejects unknown fields cannot decode
// from nodes.
func entryLines(b []byte) map[string][]int {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	top := unalias(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		return nil
	}
	lines := map[string][]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		list := unalias(top.Content[i+1])
		if list.Kind != yaml.SequenceNode {
			continue
		}
		ls := make([]int, len(list.Content))
		for j, n := range list.Content {
			ls[j] = n.Line
		}
		lines[top.Content[i].Value] = ls
	}
	return lines
}

// unalias returns the node an alias stands for.
func unalias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// Embedded returns the contents of the embedded catalog, file by file.
func Embedded() ([]attribution.CatalogData, error) {
	var out []attribution.CatalogData
	if err := json.Unmarshal(compiled, &out); err != nil {
		return nil, fmt.Errorf("embedded catalog: %w", err)
	}
	return out, nil
}

// Load returns the embedded catalog extended and overridden by the given
// YAML files, in order.
func Load(files ...string) (*attribution.Catalog, error) {
	data, err := Embedded()
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, len(data), len(data)+len(files))
	for _, f := range files {
		b, err := readPath(f)
		if err != nil {
			return nil, err
		}
		d, err := parse(f, b)
		if err != nil {
			return nil, err
		}
		data = append(data, d)
		raw = append(raw, b)
	}
	c, err := check(data, raw)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return c, nil
}

// readPath reads the catalog file at path.
func readPath(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("catalog: %s: larger than %d MiB, the limit for a catalog file", path, MaxFileSize>>20)
	}
	return readFile(path, f)
}

// Compile reads the YAML files of a folder, in file-name order, and returns
// them as the JSON that the binary embeds. It checks that they form a valid
// catalog.
func Compile(dir string) ([]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var all []attribution.CatalogData
	var raw [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		d, err := parse(filepath.Base(n), b)
		if err != nil {
			return nil, err
		}
		all = append(all, d)
		raw = append(raw, b)
	}
	if _, err := check(all, raw); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(all); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
