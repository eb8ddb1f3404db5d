// Package snapshot builds, encodes and loads sovmap's IP data snapshot: for
// every IPv4 and IPv6 address, the origin AS and its name, the RIR
// registration country and the geolocation country, merged from the
// ip-location-db datasets into one table of disjoint segments.
//
// The binary format (docs/snapshot.md) is versioned and ends with a CRC-32C
// checksum; [Decode] refuses a file that is truncated, corrupted or of
// another version. The default snapshot is embedded in the binary
// (see [Embedded]).
//
// # Validation
//
// The upstream data has known defects. The [Builder] repairs what it can
// (overlapping ranges are clipped, special-use address space is cut out) and
// drops what it cannot (reversed ranges, reserved ASNs, codes that are not
// countries), and reports each defect as a [Problem] with its file and line.
package snapshot
