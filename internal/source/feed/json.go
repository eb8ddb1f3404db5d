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
// entries. The first such error comes back in entryErrs, as a [*ParseError]
// naming the field's path, for the caller to add the errors of its own
// entries to. Anything else (invalid JSON, data after the document, a read
// error) comes back as err, and v must not be used.
func DecodeJSON(name string, r io.Reader, v any) (entryErrs []error, err error) {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		entryErrs = append(entryErrs, TypeError(name, "", te))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the JSON document", name)
	}
	return entryErrs, nil
}

// DecodeObject reads a JSON document that is one object, calling fn with
// each member's key. fn must read the member's value from dec, e.g. with
// dec.Decode. Use it to read a large document a piece at a time, or to keep
// the order of its members.
func DecodeObject(dec *json.Decoder, fn func(key string) error) error {
	if err := ExpectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		if err := fn(key.(string)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON document")
	}
	return nil
}

// ExpectDelim reads the next token from dec and fails unless it is the
// delimiter want.
func ExpectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("found %v where %v belongs", tokenString(tok), want)
	}
	return nil
}

func tokenString(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		return tok.String()
	case string:
		return "a string"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T %v", tok, tok) // bool, float64 or json.Number
}

// TypeError returns the ParseError of a JSON value of the wrong type found
// at path in the document; te.Field, the path below it, is appended.
func TypeError(name, path string, te *json.UnmarshalTypeError) *ParseError {
	switch {
	case path == "":
		path = te.Field
	case te.Field != "":
		path += "." + te.Field
	}
	return &ParseError{Feed: name, Entry: path, Err: fmt.Errorf("JSON %s where %v belongs", te.Value, te.Type)}
}
