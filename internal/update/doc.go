// Package update builds a local snapshot from upstream data: the providers'
// official range feeds, RouteViews prefix-to-AS data, the RIRs' delegated
// statistics and the ip-location-db compilation. It is "sovmap data update"
// (docs/data-update.md).
//
// # Sources
//
// [Sources] is the registry, one explicit slice: each [Source] has a name,
// a kind (a provider [Feed] or [Routing] data for one of the snapshot's
// datasets), a default URL, a file name, a parser, and for feeds the
// catalog provider and a per-range provider override (AWS's cn-* regions
// belong to aws-china). [Configure] replaces URLs (mirrors, air-gapped
// networks, Azure's weekly file), [Select] picks sources for --only. With
// [Options].From, files are read from a folder instead of downloaded.
//
// Routing sources come in groups that replace a dataset together (the five
// RIR files, the IPv4 and IPv6 prefix-to-AS files); for each dataset the
// first selected, available group in the registry's order is used, and the
// dataset is otherwise kept from the previous snapshot.
//
// # Health
//
// Each source is compared with the previous snapshot (the data directory's,
// or the embedded one). A source is refused when its download failed after
// retries (or, with From, its file is gone while the previous snapshot has
// it), when it cannot be parsed, when it has fewer than half the ranges or
// addresses it had, more than 5 times the ranges or 20 times the addresses,
// or when it covers 0.0.0.0/0 or ::/0. A refused source keeps its previous
// data, taken from the previous snapshot itself (its feed ranges with
// [snapshot.Table.FeedRanges], its datasets with [snapshot.Builder.AddTable]):
// the snapshot in use is the one record of what was accepted, complete and
// checksummed, whereas raw files may be missing, or be from a --from folder
// never copied. Its status says so in the new snapshot
// ([snapshot.FeedSource].Status) and in the [Report], and [Report.OK] is
// false. Options.Force accepts refused sources. Malformed entries of a feed
// are skipped and reported with their file and entry; they do not refuse
// the feed, the guards above do. Ranges inside special-use address space
// (documentation, 6to4, private) are dropped and noted, and so is a
// listing without a region or country of a prefix that the feed also lists
// with one.
//
// # Data directory
//
//	<data dir>/sovmap.snap        the snapshot, which sovmap uses when present
//	<data dir>/raw/<file>         the last accepted file of each source
//	<data dir>/raw/<file>.refused the last refused one, for inspection
//
// Every file is written to a temporary file in the same folder, synced and
// renamed into place ([WriteFileAtomic]); an update that fails or is
// cancelled leaves the previous snapshot as it was. The raw folder is itself
// a valid From folder.
package update
