// Package dnsscan maps domains to the providers behind their web, DNS and
// mail: it resolves the layers of DESIGN §5 for each domain through
// recursive resolvers and attributes every host and address it finds.
//
// # Parts
//
//   - [Client] talks to recursive resolvers: UDP with EDNS0 and a TCP
//     fallback on truncation, a timeout per attempt, retries with backoff
//     on the next server, a global rate limit (a token bucket) and a bound
//     on queries in flight.
//   - [Scanner] resolves one domain: the web layer (the apex and www, A
//     and AAAA through the CNAME chain, every hop kept, loops and chains
//     longer than [MaxChain] cut with an error), the DNS layer (the NS hosts
//     and their addresses) and the mail layer (the MX hosts and their
//     addresses). Every host gets hostname attribution and every address
//     its attribution record. NS and MX hosts, shared by many domains, are
//     looked up once and cached.
//   - [Runner] schedules a stream of names: thousands in flight, each result
//     handed over as soon as it is complete (or in input order), every input
//     line accounted for exactly once, duplicates and malformed names
//     reported as results, names of an earlier output skipped ([ReadDone]).
//   - [FromDelegation] builds the DNS layer of a domain from a zone file's
//     NS records and glue, without a query; [Tally] aggregates results into
//     the share of domains per provider and control country.
//
// # Statuses
//
// A result's status is that of the domain's own queries — NS, MX, and A and
// AAAA at the apex: ok (an empty answer is an answer), nxdomain, servfail,
// timeout, or error (a refused query, a network error, a server that is not
// a recursive resolver, or an input that is not a domain name or repeats an
// earlier one). A failure of one host — www, a name server, a mail server,
// a CNAME target — is recorded on that host and leaves the domain's status
// alone. Every failure ends in a status: nothing waits longer than the
// scanner's DomainTimeout.
//
// # Concurrency
//
// A Client, a Scanner and a Runner are safe for concurrent use once their
// fields are set. Results share immutable attribution parts; callers must
// not modify them.
package dnsscan
