// Package policyrun evaluates compiled policies over the records of a
// command: the attribution records of "sovmap ip", the scan records of
// "sovmap scan", the flows summary of "sovmap flows", and the record
// streams that "sovmap policy check" reads.
//
// Package policy holds the rule language: it parses rules, compiles them
// and evaluates one record. This package holds what a command needs around
// that, so that the command keeps only its flags, its output and its exit
// status:
//
//   - [Run] counts the findings by severity, tallies the records into
//     populations when population rules are loaded, keeps the rule
//     evaluations that a limit stopped ([policy.ErrLimit]) for the command
//     to report, and keeps the located findings of a SARIF log.
//   - [IP] evaluates the records of an [attribution.Engine] once per route,
//     with placeholders for the address, and splices the findings into the
//     records' JSON: --policy keeps "sovmap ip --json" fast.
//   - [Run.CheckJSON] evaluates a scan record layer by layer and a flows
//     summary group by group; [AppendFindings] and [WithFindings] add
//     findings to a record's JSON.
//   - [Reader] reads a stream of JSON documents, one a line or spanning
//     lines, each bounded in size, in linear time; [Checker] evaluates the
//     records of such streams.
//
// Like package policy it does no I/O of its own: it reads the io.Reader and
// calls the functions it is given. A Run and the values that use it are not
// safe for concurrent use.
package policyrun
