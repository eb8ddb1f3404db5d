// Package policy evaluates policies as code over sovmap's records: an
// attribution record of "sovmap ip", one layer of a scanned domain, a group
// of flows, or a population summary.
//
// A policy is a YAML file of rules. Each rule has an ID, a title, a severity,
// the kinds of record it applies to, a CEL expression that is true when the
// record breaks the rule, a message template, and the source (legal or
// business) that the rule implements. See docs/policy.md for the format and
// the built-in packs (us-icts, fcc-covered, eu-residency, concentration).
//
// # Records
//
// Records reach the rules as maps built from their JSON form ([Record]), so
// that the policy layer knows nothing of the Go types of the commands that
// produce them, and a field added to a record is visible to rules at once.
// In CEL the record is the variable r (of type dyn) and the policy's params
// are the variable params.
//
// # Purity
//
// [Parse] reads a policy from an io.Reader and checks its syntax; [Compile]
// type-checks the rules against an [Env], which carries everything rules may
// look up (jurisdiction groups, company parent chains, restricted-entity
// lists) as values and functions. [Set.Evaluate] does no I/O: loading files
// is the caller's business. A compiled [Set] is immutable and safe for
// concurrent use.
//
// # Limits
//
// Each expression of a rule is held to [MaxCost] CEL cost units per
// evaluation and, when its cost depends on the record, to [EvalTimeout]. An
// expression whose estimated worst-case cost is over MaxCost on a record of
// [SizeHint] (and [NestedSizeHint]) elements per list is refused by
// [Compile]; one that reaches a limit on a larger record stops with an
// [*EvalError] wrapping [ErrLimit], and the record's other rules are
// evaluated.
//
// # Errors
//
// Errors in a policy name the file, the rule and the position (line and
// column of the YAML node, refined by the position CEL reports inside an
// expression), as [*Error] values joined with errors.Join.
package policy
