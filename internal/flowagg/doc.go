// Package flowagg turns a stream of flow records into sovmap's exposure
// summary: how many bytes, packets and flows went between our networks and
// infrastructure controlled from each country, run by each provider, owned by
// each parent, located in each country, announced by each AS, and at each
// remote address and service.
//
// # Streaming
//
// An [Aggregator] keeps one small set of counters per distinct remote
// address (about 100 bytes), and nothing per record: its memory grows with
// the number of remotes, not with the input. Each record is classified by
// [Local]: one local and one remote end makes it remote traffic, counted for
// the remote address in both directions (outbound is local to remote);
// two local ends make it internal, two remote ends transit (neither is
// counted per remote).
//
// # Attribution
//
// [Aggregator.Summarize] attributes each distinct remote address once, then
// groups the counters by the dimensions asked for, with the share of the
// traffic whose controlling jurisdiction is unknown and the top rows of each
// group. A [Summary] and its [Row]s are plain values with stable JSON names,
// the form later policy rules read.
//
// # Concurrency
//
// An Aggregator belongs to one goroutine; [Shards] spreads one over several,
// as the collector needs. Summaries are immutable values.
package flowagg
