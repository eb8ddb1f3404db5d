// Package zeek reads Zeek logs, TSV and JSON lines, as flow records.
//
// conn.log is the log that carries traffic: each line is one connection
// with its originator (id.orig_h, id.orig_p), responder (id.resp_h,
// id.resp_p), protocol, service, state, and the bytes and packets each side
// sent. Bytes are taken at the IP level (orig_ip_bytes, resp_ip_bytes) when
// the log has them, as NetFlow counts them, and from the payload counters
// (orig_bytes, resp_bytes) otherwise. Other logs that name both ends of a
// connection (ssl.log, dns.log, http.log) are read too, as records without
// counters: they count connections only.
//
// # TSV
//
// The TSV reader follows the log's own header: #separator (with its \xHH
// escape), #fields, #empty_field and #unset_field. A new header in the middle
// of the input (concatenated logs) replaces the old one. A line whose field
// count differs from its header's is skipped.
//
// # JSON
//
// The JSON reader does not decode whole objects: it scans each line once
// and keeps only the keys above, skipping the others (nested values
// included) without allocating. Timestamps may be numbers (epoch seconds) or
// RFC 3339 strings, as Zeek writes either.
package zeek
