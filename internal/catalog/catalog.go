// Package catalog loads sovmap's catalog of companies, providers and
// jurisdiction groups: the embedded files under data/ and users' own files,
// which override or extend them.
//
// A catalog file is YAML with the top-level keys sources, companies,
// providers, traps and groups (see docs/catalog.md). Unknown keys are errors,
// so that a misspelt field never silently drops a claim.
package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/sovmap/sovmap/internal/attribution"
)

//go:embed data/*.yaml
var embedded embed.FS

// Parse decodes one catalog file. Name is used in error messages.
func Parse(name string, r io.Reader) (attribution.CatalogData, error) {
	var d attribution.CatalogData
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return d, nil
		}
		return d, fmt.Errorf("catalog %s: %w", name, err)
	}
	return d, nil
}

// Embedded returns the contents of the embedded catalog files, in file-name
// order.
func Embedded() ([]attribution.CatalogData, error) {
	names, err := fs.Glob(embedded, "data/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []attribution.CatalogData
	for _, n := range names {
		b, err := embedded.ReadFile(n)
		if err != nil {
			return nil, err
		}
		d, err := Parse(path.Base(n), bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Load returns the embedded catalog extended and overridden by the given
// files, in order.
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
