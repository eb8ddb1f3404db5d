// Package flowlog is the vocabulary of sovmap's flow-log readers: the flow
// [Record] they all produce, the [Parser] contract each format implements,
// the [Scanner] that feeds lines to a parser, and the [Tally] that accounts
// for every line read.
//
// The formats live in subpackages (zeek, vpc, nfdump, argus), each a small
// line parser with a fuzz target; flowfile opens files (gzip, stdin) and
// detects their format by content; collector receives NetFlow and IPFIX over
// UDP. None of them attributes addresses: that is flowagg's job.
//
// # Lines
//
// A [Scanner] reads lines of at most [Scanner.MaxLine] bytes. A longer line
// is never held in memory whole: the scanner discards it up to its end and
// records one skipped line. Every line that gives no record is either
// skipped (bad input: a [LineError] with a reason, counted and kept with its
// file and line for the first few of each reason) or ignored (well formed
// but carrying no flow, such as an AWS NODATA record), and the scan goes on.
//
// # Speed
//
// The hot path allocates nothing per line: fields are split in place
// ([Split]), addresses and numbers are parsed from bytes ([ParseAddr],
// [ParseUint]), and the few strings a record carries are interned
// ([Interner]). A record's strings stay valid after the next scan; the
// record itself is overwritten.
//
// # Concurrency
//
// Scanners, parsers and tallies belong to one goroutine. Records are plain
// values.
package flowlog
