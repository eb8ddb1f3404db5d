package update

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseSourceFlag parses the value of a --source flag, "NAME=URL". An empty
// URL ("NAME=") disables the source.
func ParseSourceFlag(v string) (name, u string, err error) {
	name, u, ok := strings.Cut(v, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", fmt.Errorf("--source %q: want NAME=URL", v)
	}
	return name, strings.TrimSpace(u), nil
}

// LoadSourcesFile reads a YAML file that maps source names to URLs, for
// mirrors and air-gapped networks:
//
//	azure: https://mirror.example/ServiceTags_Public_20260622.json
//	aws: https://mirror.example/ip-ranges.json
//	akamai-v4: ""        # disabled
func LoadSourcesFile(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: want a map of source names to URLs: %w", path, err)
	}
	return m, nil
}

// Configure returns the registry with the given URLs in place of the
// defaults (an empty URL disables a source). It fails on a name that is
// not a source and on a URL that is not http or https.
func Configure(urls map[string]string) ([]Source, error) {
	srcs := Sources()
	names := make([]string, 0, len(urls))
	for n := range urls {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		i := slices.IndexFunc(srcs, func(s Source) bool { return s.Name == n })
		if i < 0 {
			errs = append(errs, fmt.Errorf("unknown source %q (see 'sovmap data sources')", n))
			continue
		}
		u := urls[n]
		if u != "" {
			if err := checkURL(u); err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", n, err))
				continue
			}
		}
		srcs[i].URL = u
		srcs[i].configured = true
	}
	return srcs, errors.Join(errs...)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("URL %q: want an http or https URL", s)
	}
	return nil
}

// Select returns the sources that names select: a name selects the source
// of that name or every source of that group. With no names it returns
// every source. It fails on a name that selects nothing.
func Select(srcs []Source, names []string) ([]Source, error) {
	if len(names) == 0 {
		return srcs, nil
	}
	var errs []error
	for _, n := range names {
		if !slices.ContainsFunc(srcs, func(s Source) bool { return s.Name == n || s.group() == n }) {
			errs = append(errs, fmt.Errorf("unknown source or group %q (see 'sovmap data sources')", n))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []Source
	for _, s := range srcs {
		if slices.ContainsFunc(names, func(n string) bool { return s.Name == n || s.group() == n }) {
			out = append(out, s)
		}
	}
	return out, nil
}
