package catalog

import _ "embed"

// compiled is data/*.yaml compiled by Compile; see the package doc.
//
//go:embed compiled.json
var compiled []byte
