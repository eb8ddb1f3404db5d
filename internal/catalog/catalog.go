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
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/sovmap/sovmap/internal/attribution"
)

// Parse decodes one YAML catalog file. Name is used in error messages.
func Parse(name string, r io.Reader) (attribution.CatalogData, error) {
	d := attribution.CatalogData{File: name}
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return attribution.CatalogData{File: name}, nil
		}
		return d, fmt.Errorf("catalog %s: %w", name, err)
	}
	return d, nil
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
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		d, err := Parse(f, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		data = append(data, d)
	}
	c, err := attribution.NewCatalog(data...)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return c, nil
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
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		d, err := Parse(filepath.Base(n), bytes.NewReader(b))
		d.File = filepath.Base(n)
		if err != nil {
			return nil, err
		}
		all = append(all, d)
	}
	if _, err := attribution.NewCatalog(all...); err != nil {
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
