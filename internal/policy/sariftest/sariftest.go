// Package sariftest validates SARIF logs against the official SARIF 2.1.0
// JSON schema (sarif-schema-2.1.0.json beside this file; its source and
// licence are in README.md), for the tests of the packages that write
// SARIF. It is used by tests only.
package sariftest

import (
	"bytes"
	_ "embed"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed sarif-schema-2.1.0.json
var schemaJSON []byte

// schemaURL is the schema's own $id.
const schemaURL = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// schema is the schema compiled with format assertions on.
var schema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(schemaURL)
})

// Validate reports whether b is a SARIF 2.1.0 log that the official schema
// accepts; the error says where it is not.
func Validate(b []byte) error {
	sch, err := schema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}
