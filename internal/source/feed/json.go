package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeJSON decodes the one JSON document in r into v.
//
// A value of the wrong type is not fatal: as with [json.Unmarshal], decoding
// goes on and leaves the field zero, so that the caller can keep the other
// entries. The first such error comes back as entryErr, a [*ParseError]
// naming the field's path. Anything else (invalid JSON, data after the
// document, a read error) comes back as err, and v must not be used.
func DecodeJSON(name string, r io.Reader, v any) (entryErr, err error) {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		entryErr = &ParseError{Feed: name, Entry: te.Field, Err: fmt.Errorf("JSON %s where %v belongs", te.Value, te.Type)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the JSON document", name)
	}
	return entryErr, nil
}
