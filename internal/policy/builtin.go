package policy

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed packs/*.yaml
var packFiles embed.FS

// Packs returns the names of the built-in policy packs, sorted.
func Packs() []string {
	ents, err := packFiles.ReadDir("packs")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// PackSource returns the YAML text of a built-in pack, for users to read or
// copy.
func PackSource(name string) ([]byte, bool) {
	b, err := packFiles.ReadFile("packs/" + name + ".yaml")
	return b, err == nil
}

// Pack parses a built-in pack by name.
func Pack(name string) (*Policy, error) {
	b, ok := PackSource(name)
	if !ok {
		return nil, fmt.Errorf("policy: no built-in pack %q (have %s)", name, strings.Join(Packs(), ", "))
	}
	return Parse(name, bytes.NewReader(b))
}
