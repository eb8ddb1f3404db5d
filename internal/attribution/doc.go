// Package attribution is the vocabulary of sovmap and its attribution engine.
//
// It defines the catalog types (companies, providers, jurisdiction groups and
// the sources behind every claim), the routing facts that an IP data snapshot
// provides ([Route]), the output record of the JSON contract ([Record]), and
// the [Engine] that turns an address into a record.
//
// # Three countries
//
// A record keeps three countries apart and never derives one from another:
// location (where the server is), registration (where the address block or AS
// is registered) and control (the headquarters country of the company that
// ultimately controls the operator, found by walking the catalog's parent
// chain). Unknown parts are left empty, never guessed.
//
// # Precedence
//
// Evidence is collected from every source and all of it is kept in the record.
// The verdict follows one fixed order: user overrides, provider-published
// ranges, the origin ASN matched against the catalog, hostname suffixes, and
// last the AS organisation name matched against catalog aliases. Name matching
// never overrides a trap entry of the catalog (an unrelated network whose name
// looks like a provider's).
//
// # Concurrency
//
// A [Catalog] and an [Engine] are immutable once built and safe for use by
// many goroutines. Records returned by the engine share immutable parts with
// each other; callers must not modify the referenced values.
//
// This package imports only the standard library.
package attribution
