package snapshot_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sovmap/sovmap/internal/ipindex"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// input is one CSV file given to a builder.
type input struct {
	ds   snapshot.Dataset
	name string
	csv  string
}

func asn4(csv string) input { return input{snapshot.ASNData, "asn-ipv4.csv", csv} }
func asn6(csv string) input { return input{snapshot.ASNData, "asn-ipv6.csv", csv} }
func reg4(csv string) input { return input{snapshot.RegistrationData, "asn-country-ipv4.csv", csv} }
func loc4(csv string) input {
	return input{snapshot.LocationData, "geo-whois-asn-country-ipv4.csv", csv}
}
func loc6(csv string) input {
	return input{snapshot.LocationData, "geo-whois-asn-country-ipv6.csv", csv}
}
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// build builds a snapshot from the inputs.
func build(t testing.TB, in ...input) (*snapshot.Table, []snapshot.Problem) {
	t.Helper()
	b := snapshot.NewBuilder(snapshot.Meta{Name: "test"})
	for _, x := range in {
		if err := b.AddFile(x.ds, x.name, strings.NewReader(x.csv)); err != nil {
			t.Fatalf("AddFile(%s): %v", x.name, err)
		}
	}
	tb, problems, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return tb, problems
}

// dump describes every routing segment of a family (0 for IPv4, 1 for
// IPv6) as "first-last AS<n> <name> <registration>/<location>", or
// "first-last -" where the routing data knows nothing. It checks that every
// address of a segment gets the segment's key. Provider feeds are left
// out: inside them a key also counts the feed hits (it is tb.Keys() or more),
// and its remainder is the routing key.
func dump(t testing.TB, tb *snapshot.Table, fam int) []string {
	t.Helper()
	v4, v6, err := tb.Index()
	if err != nil {
		t.Fatalf("Index: %v", err)
	}
	var out []string
	n := v4.Len()
	if fam == 1 {
		n = v6.Len()
	}
	for i := range n {
		var first, last netip.Addr
		var key uint32
		if fam == 0 {
			s, k := v4.Segment(i)
			e := uint32(1<<32 - 1)
			if i+1 < n {
				ns, _ := v4.Segment(i + 1)
				e = ns - 1
			}
			first, last, key = ipindex.U32Addr(s), ipindex.U32Addr(e), k
		} else {
			s, k := v6.Segment(i)
			e := ipindex.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
			if i+1 < n {
				ns, _ := v6.Segment(i + 1)
				e = ns.Sub1()
			}
			first, last, key = ipindex.U128Addr(s), ipindex.U128Addr(e), k
		}
		r, k, _ := tb.Lookup(first)
		r2, k2, _ := tb.Lookup(last)
		k, k2 = k%tb.Keys(), k2%tb.Keys()
		ok := k != 0
		if k2 != k || r2.ASN != r.ASN {
			t.Errorf("Lookup(%s) = key %d; Lookup(%s) = key %d: one segment, two answers", first, k, last, k2)
		}
		if !ok {
			if key != 0 {
				t.Errorf("segment %s-%s has key %d, but Lookup finds nothing", first, last, key)
			}
			out = append(out, fmt.Sprintf("%s-%s -", first, last))
			continue
		}
		if uint32(k) != key {
			t.Errorf("Lookup(%s) key = %d, want the segment's %d", first, k, key)
		}
		out = append(out, fmt.Sprintf("%s-%s AS%d %q %s/%s", first, last, r.ASN, r.ASName, dash(r.Registration), dash(r.Location)))
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// problemLines returns "file:line kind" for every problem, sorted, and
// checks that each names its file and line and says what was done.
func problemLines(t testing.TB, ps []snapshot.Problem) []string {
	t.Helper()
	var out []string
	for _, p := range ps {
		if p.File == "" || p.Line <= 0 || p.Detail == "" {
			t.Errorf("problem %+v lacks a file, line or detail", p)
		}
		out = append(out, fmt.Sprintf("%s:%d %s", p.File, p.Line, p.Kind))
	}
	slices.Sort(out)
	return out
}

var (
	gap4 = []string{"0.0.0.0-255.255.255.255 -"}
	gap6 = []string{"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff -"}
)

func TestBuilder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       []input
		want4    []string // nil: one empty segment
		want6    []string
		problems []string
	}{
		{
			name: "disjoint",
			in: []input{asn4(lines(
				`1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."`,
				`1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd`,
			))},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.0.255 AS13335 "Cloudflare, Inc." -/-`,
				"1.0.1.0-1.0.3.255 -",
				`1.0.4.0-1.0.7.255 AS38803 "Gtelecom Pty Ltd" -/-`,
				"1.0.8.0-255.255.255.255 -",
			},
		},
		{
			name: "adjacent ranges of one AS merge",
			in: []input{asn4(lines(
				"1.0.0.0,1.0.0.255,1,A",
				"1.0.1.0,1.0.1.255,1,A",
				"1.0.2.0,1.0.2.255,1,B", // another name: another tuple
			))},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.1.255 AS1 "A" -/-`,
				`1.0.2.0-1.0.2.255 AS1 "B" -/-`,
				"1.0.3.0-255.255.255.255 -",
			},
		},
		{
			name: "nested",
			in: []input{asn4(lines(
				"1.0.0.0,1.0.255.255,100,Outer",
				"1.0.16.0,1.0.16.255,200,Inner",
			))},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.15.255 AS100 "Outer" -/-`,
				`1.0.16.0-1.0.16.255 AS200 "Inner" -/-`,
				`1.0.17.0-1.0.255.255 AS100 "Outer" -/-`,
				"1.1.0.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:2 overlap-nested"},
		},
		{
			name: "nested inner listed first",
			in: []input{asn4(lines(
				"1.0.16.0,1.0.16.255,200,Inner",
				"1.0.0.0,1.0.255.255,100,Outer",
			))},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.15.255 AS100 "Outer" -/-`,
				`1.0.16.0-1.0.16.255 AS200 "Inner" -/-`,
				`1.0.17.0-1.0.255.255 AS100 "Outer" -/-`,
				"1.1.0.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:1 overlap-nested"},
		},
		{
			name: "nested three deep",
			in: []input{asn4(lines(
				"1.0.0.0,1.0.255.255,1,A",
				"1.0.16.0,1.0.31.255,2,B",
				"1.0.16.128,1.0.16.255,3,C",
				"1.0.64.0,1.0.64.255,4,D",
			))},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.15.255 AS1 "A" -/-`,
				`1.0.16.0-1.0.16.127 AS2 "B" -/-`,
				`1.0.16.128-1.0.16.255 AS3 "C" -/-`,
				`1.0.17.0-1.0.31.255 AS2 "B" -/-`,
				`1.0.32.0-1.0.63.255 AS1 "A" -/-`,
				`1.0.64.0-1.0.64.255 AS4 "D" -/-`,
				`1.0.65.0-1.0.255.255 AS1 "A" -/-`,
				"1.1.0.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:2 overlap-nested", "asn-ipv4.csv:3 overlap-nested", "asn-ipv4.csv:4 overlap-nested"},
		},
		{
			name: "nested to the last address",
			in: []input{asn4(lines(
				"1.0.0.0,1.0.255.255,1,A",
				"1.0.255.255,1.0.255.255,2,B",
			))},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.255.254 AS1 "A" -/-`,
				`1.0.255.255-1.0.255.255 AS2 "B" -/-`,
				"1.1.0.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:2 overlap-nested"},
		},
		{
			name: "partial overlaps",
			in: []input{asn4(lines(
				"2.0.0.0,2.0.1.127,1,A",   // 384 addresses
				"2.0.1.0,2.0.1.255,2,B",   // 256: wins the overlap
				"3.0.0.0,3.0.0.255,3,C",   // 256: wins the overlap
				"3.0.0.128,3.0.1.255,4,D", // 384
			))},
			want4: []string{
				"0.0.0.0-1.255.255.255 -",
				`2.0.0.0-2.0.0.255 AS1 "A" -/-`,
				`2.0.1.0-2.0.1.255 AS2 "B" -/-`,
				"2.0.2.0-2.255.255.255 -",
				`3.0.0.0-3.0.0.255 AS3 "C" -/-`,
				`3.0.1.0-3.0.1.255 AS4 "D" -/-`,
				"3.0.2.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:2 overlap-clipped", "asn-ipv4.csv:4 overlap-clipped"},
		},
		{
			name: "equal sizes: the earlier line wins the overlap",
			in: []input{asn4(lines(
				"2.0.0.128,2.0.1.127,2,B",
				"2.0.0.0,2.0.0.255,1,A",
			))},
			want4: []string{
				"0.0.0.0-1.255.255.255 -",
				`2.0.0.0-2.0.0.127 AS1 "A" -/-`,
				`2.0.0.128-2.0.1.127 AS2 "B" -/-`,
				"2.0.1.128-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:1 overlap-clipped"},
		},
		{
			name: "duplicate",
			in: []input{asn4(lines(
				"4.0.0.0,4.0.0.255,5,X",
				"4.0.0.0,4.0.0.255,5,X",
			))},
			want4: []string{
				"0.0.0.0-3.255.255.255 -",
				`4.0.0.0-4.0.0.255 AS5 "X" -/-`,
				"4.0.1.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:2 duplicate"},
		},
		{
			name: "conflict",
			in: []input{asn4(lines(
				"4.0.0.0,4.0.0.255,5,X",
				"4.0.0.0,4.0.0.255,6,Y",
				"4.0.0.0,4.0.0.255,5,Z", // same ASN, another name
			))},
			want4: []string{
				"0.0.0.0-3.255.255.255 -",
				`4.0.0.0-4.0.0.255 AS5 "X" -/-`,
				"4.0.1.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:2 conflict", "asn-ipv4.csv:3 conflict"},
		},
		{
			name: "reversed range",
			in: []input{asn4(lines(
				"5.0.0.255,5.0.0.0,7,R",
				"5.0.1.0,5.0.1.255,8,S",
			))},
			want4: []string{
				"0.0.0.0-5.0.0.255 -",
				`5.0.1.0-5.0.1.255 AS8 "S" -/-`,
				"5.0.2.0-255.255.255.255 -",
			},
			problems: []string{"asn-ipv4.csv:1 reversed-range"},
		},
		{
			name: "special use",
			in: []input{asn4(lines(
				"9.255.255.0,11.0.0.255,300,Span",            // across 10.0.0.0/8
				"192.168.1.0,192.168.1.255,301,Private",      // inside 192.168.0.0/16
				"198.18.0.0,198.51.100.255,302,Two",          // 198.18.0.0/15 and 198.51.100.0/24
				"0.0.0.0,1.0.0.255,303,Zero",                 // from 0.0.0.0/8
				"223.255.255.0,255.255.255.255,304,Mcast",    // into 224.0.0.0/4 and 240.0.0.0/4
				"100.63.255.255,100.128.0.0,305,SharedSpace", // around 100.64.0.0/10
			))},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.0.255 AS303 "Zero" -/-`,
				"1.0.1.0-9.255.254.255 -",
				`9.255.255.0-9.255.255.255 AS300 "Span" -/-`,
				"10.0.0.0-10.255.255.255 -",
				`11.0.0.0-11.0.0.255 AS300 "Span" -/-`,
				"11.0.1.0-100.63.255.254 -",
				`100.63.255.255-100.63.255.255 AS305 "SharedSpace" -/-`,
				"100.64.0.0-100.127.255.255 -",
				`100.128.0.0-100.128.0.0 AS305 "SharedSpace" -/-`,
				"100.128.0.1-198.19.255.255 -",
				`198.20.0.0-198.51.99.255 AS302 "Two" -/-`,
				"198.51.100.0-223.255.254.255 -",
				`223.255.255.0-223.255.255.255 AS304 "Mcast" -/-`,
				"224.0.0.0-255.255.255.255 -",
			},
			problems: []string{
				"asn-ipv4.csv:1 special-use-clipped",
				"asn-ipv4.csv:2 special-use-clipped",
				"asn-ipv4.csv:3 special-use-clipped",
				"asn-ipv4.csv:3 special-use-clipped",
				"asn-ipv4.csv:4 special-use-clipped",
				"asn-ipv4.csv:5 special-use-clipped",
				"asn-ipv4.csv:5 special-use-clipped",
				"asn-ipv4.csv:6 special-use-clipped",
			},
		},
		{
			name: "special use IPv6",
			in: []input{asn6(lines(
				"2001:d00::,2001:dff:ffff:ffff:ffff:ffff:ffff:ffff,400,V6",
				"fe80::,fe80::ffff,401,LinkLocal",
				"2a00::,2a00::ffff,402,Fine",
			))},
			want6: []string{
				"::-2001:cff:ffff:ffff:ffff:ffff:ffff:ffff -",
				`2001:d00::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff AS400 "V6" -/-`,
				"2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff -",
				`2001:db9::-2001:dff:ffff:ffff:ffff:ffff:ffff:ffff AS400 "V6" -/-`,
				"2001:e00::-29ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff -",
				`2a00::-2a00::ffff AS402 "Fine" -/-`,
				"2a00::1:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff -",
			},
			problems: []string{"asn-ipv6.csv:1 special-use-clipped", "asn-ipv6.csv:2 special-use-clipped"},
		},
		{
			name: "reserved ASNs",
			in: []input{asn4(lines(
				"6.0.0.0,6.0.0.255,0,Zero",
				"6.0.1.0,6.0.1.255,23456,AS_TRANS",
				"6.0.2.0,6.0.2.255,64496,Doc",
				"6.0.3.0,6.0.3.255,64511,Doc",
				"6.0.4.0,6.0.4.255,64512,Private",
				"6.0.5.0,6.0.5.255,65534,Private",
				"6.0.6.0,6.0.6.255,65535,Last16",
				"6.0.7.0,6.0.7.255,65536,Doc32",
				"6.0.8.0,6.0.8.255,65551,Doc32",
				"6.0.9.0,6.0.9.255,4200000000,Private32",
				"6.0.10.0,6.0.10.255,4294967294,Private32",
				"6.0.11.0,6.0.11.255,4294967295,Last32",
				"6.0.12.0,6.0.12.255,64495,Fine",
				"6.0.13.0,6.0.13.255,65552,Fine",
				"6.0.14.0,6.0.14.255,4199999999,Fine",
				"6.0.15.0,6.0.15.255,23455,Fine",
			))},
			want4: []string{
				"0.0.0.0-6.0.11.255 -",
				`6.0.12.0-6.0.12.255 AS64495 "Fine" -/-`,
				`6.0.13.0-6.0.13.255 AS65552 "Fine" -/-`,
				`6.0.14.0-6.0.14.255 AS4199999999 "Fine" -/-`,
				`6.0.15.0-6.0.15.255 AS23455 "Fine" -/-`,
				"6.0.16.0-255.255.255.255 -",
			},
			problems: []string{
				"asn-ipv4.csv:10 bad-asn", "asn-ipv4.csv:11 bad-asn", "asn-ipv4.csv:12 bad-asn",
				"asn-ipv4.csv:1 bad-asn", "asn-ipv4.csv:2 bad-asn", "asn-ipv4.csv:3 bad-asn",
				"asn-ipv4.csv:4 bad-asn", "asn-ipv4.csv:5 bad-asn", "asn-ipv4.csv:6 bad-asn",
				"asn-ipv4.csv:7 bad-asn", "asn-ipv4.csv:8 bad-asn", "asn-ipv4.csv:9 bad-asn",
			},
		},
		{
			name: "bad countries",
			in: []input{reg4(lines(
				"7.0.0.0,7.0.0.255,ZZ",
				"7.0.1.0,7.0.1.255,EU",
				"7.0.2.0,7.0.2.255,x1",
				"7.0.3.0,7.0.3.255,",
				"7.0.4.0,7.0.4.255,USA",
				"7.0.5.0,7.0.5.255,AP",
				"7.0.6.0,7.0.6.255,us", // lower case is accepted
				"7.0.7.0,7.0.7.255,DE",
			))},
			want4: []string{
				"0.0.0.0-7.0.5.255 -",
				`7.0.6.0-7.0.6.255 AS0 "" US/-`,
				`7.0.7.0-7.0.7.255 AS0 "" DE/-`,
				"7.0.8.0-255.255.255.255 -",
			},
			problems: []string{
				"asn-country-ipv4.csv:1 bad-country", "asn-country-ipv4.csv:2 bad-country",
				"asn-country-ipv4.csv:3 bad-country", "asn-country-ipv4.csv:4 bad-country",
				"asn-country-ipv4.csv:5 bad-country", "asn-country-ipv4.csv:6 bad-country",
			},
		},
		{
			name: "malformed lines",
			in: []input{
				asn4(lines(
					"start,end,asn,name",
					"8.0.0.0,8.0.0.255,15169,Google LLC",
					"garbage",
					"8.0.1.0,8.0.1.255,AS15169,Google LLC",
					`8.0.2.0,8.0.2.255,15169,"unterminated`,
					"8.0.3.0,2001:db8::1,15169,Mixed",
					"",
					"8.0.4.0,8.0.4.255,15169,Google LLC",
				)),
				loc4(lines("8.0.0.0,8.0.0.255,US", "8.0.0.0,8.0.0.256,US", "8.0.1.0")),
			},
			want4: []string{
				"0.0.0.0-7.255.255.255 -",
				`8.0.0.0-8.0.0.255 AS15169 "Google LLC" -/US`,
				"8.0.1.0-8.0.3.255 -",
				`8.0.4.0-8.0.4.255 AS15169 "Google LLC" -/-`,
				"8.0.5.0-255.255.255.255 -",
			},
			problems: []string{
				"asn-ipv4.csv:1 malformed", "asn-ipv4.csv:3 malformed", "asn-ipv4.csv:4 malformed",
				"asn-ipv4.csv:5 malformed", "asn-ipv4.csv:6 malformed",
				"geo-whois-asn-country-ipv4.csv:2 malformed", "geo-whois-asn-country-ipv4.csv:3 malformed",
			},
		},
		{
			name: "three datasets",
			in: []input{
				asn4(lines(`1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."`)),
				reg4(lines("1.0.0.0,1.0.3.255,AU")),
				loc4(lines("1.0.0.0,1.0.0.127,US", "1.0.0.128,1.0.1.255,AU")),
			},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.0.127 AS13335 "Cloudflare, Inc." AU/US`,
				`1.0.0.128-1.0.0.255 AS13335 "Cloudflare, Inc." AU/AU`,
				`1.0.1.0-1.0.1.255 AS0 "" AU/AU`,
				`1.0.2.0-1.0.3.255 AS0 "" AU/-`,
				"1.0.4.0-255.255.255.255 -",
			},
		},
		{
			name: "both families",
			in: []input{
				asn4(lines("8.8.8.0,8.8.8.255,15169,Google LLC")),
				asn6(lines("2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC")),
				loc6(lines("2a00:1450:4001::,2a00:1450:4001:ffff:ffff:ffff:ffff:ffff,ie")),
			},
			want4: []string{
				"0.0.0.0-8.8.7.255 -",
				`8.8.8.0-8.8.8.255 AS15169 "Google LLC" -/-`,
				"8.8.9.0-255.255.255.255 -",
			},
			want6: []string{
				"::-2a00:144f:ffff:ffff:ffff:ffff:ffff:ffff -",
				`2a00:1450::-2a00:1450:4000:ffff:ffff:ffff:ffff:ffff AS15169 "Google LLC" -/-`,
				`2a00:1450:4001::-2a00:1450:4001:ffff:ffff:ffff:ffff:ffff AS15169 "Google LLC" -/IE`,
				`2a00:1450:4002::-2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff AS15169 "Google LLC" -/-`,
				"2a00:1451::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff -",
			},
		},
		{
			name: "IPv4-mapped ranges count as IPv4",
			in: []input{
				asn6(lines("::ffff:9.9.9.0,::ffff:9.9.9.255,19281,Quad9")),
			},
			want4: []string{
				"0.0.0.0-9.9.8.255 -",
				`9.9.9.0-9.9.9.255 AS19281 "Quad9" -/-`,
				"9.9.10.0-255.255.255.255 -",
			},
		},
		{
			name: "two files of one dataset",
			in: []input{
				{snapshot.ASNData, "a.csv", lines("1.0.0.0,1.0.0.255,1,A")},
				{snapshot.ASNData, "b.csv", lines("1.0.0.0,1.0.0.255,2,B", "1.0.1.0,1.0.1.255,3,C")},
			},
			want4: []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.0.255 AS1 "A" -/-`,
				`1.0.1.0-1.0.1.255 AS3 "C" -/-`,
				"1.0.2.0-255.255.255.255 -",
			},
			problems: []string{"b.csv:1 conflict"},
		},
		{
			name: "empty",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb, problems := build(t, tc.in...)
			want4, want6 := tc.want4, tc.want6
			if want4 == nil {
				want4 = gap4
			}
			if want6 == nil {
				want6 = gap6
			}
			if diff := cmp.Diff(want4, dump(t, tb, 0)); diff != "" {
				t.Errorf("IPv4 segments mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want6, dump(t, tb, 1)); diff != "" {
				t.Errorf("IPv6 segments mismatch (-want +got):\n%s", diff)
			}
			wantP := slices.Clone(tc.problems)
			slices.Sort(wantP)
			if diff := cmp.Diff(wantP, problemLines(t, problems), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
				for _, p := range problems {
					t.Logf("  %v", p)
				}
			}
		})
	}
}

// TestBuilderProblemDetails pins the wording of each kind of problem.
func TestBuilderProblemDetails(t *testing.T) {
	t.Parallel()
	_, problems := build(t,
		asn4(lines(
			"1.0.0.0,1.0.255.255,100,Outer",
			"1.0.16.0,1.0.16.255,200,Inner",
			"2.0.0.0,2.0.1.127,1,A",
			"2.0.1.0,2.0.1.255,2,B",
			"4.0.0.0,4.0.0.255,5,X",
			"4.0.0.0,4.0.0.255,5,X",
			"4.0.0.0,4.0.0.255,6,Y",
			"5.0.0.255,5.0.0.0,7,R",
			"9.255.255.0,11.0.0.255,300,Span",
			"6.0.0.0,6.0.0.255,64512,Private",
			"garbage",
		)),
		reg4(lines("7.0.0.0,7.0.0.255,EU")),
	)
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	slices.Sort(got)
	want := []string{
		"asn-country-ipv4.csv:1: bad-country: \"EU\" is not an ISO 3166 country code; range 7.0.0.0-7.0.0.255 dropped",
		"asn-ipv4.csv:10: bad-asn: AS64512 is private use (RFC 6996); range 6.0.0.0-6.0.0.255 dropped",
		"asn-ipv4.csv:11: malformed: want at least 3 fields; line skipped",
		"asn-ipv4.csv:2: overlap-nested: range lies inside the range of line 1; it wins there, the outer range keeps the rest",
		"asn-ipv4.csv:4: overlap-clipped: range overlaps the range of line 3; the smaller range wins where they overlap",
		"asn-ipv4.csv:6: duplicate: same range as asn-ipv4.csv:5; dropped",
		"asn-ipv4.csv:7: conflict: same range as asn-ipv4.csv:5 with another value; that line wins",
		"asn-ipv4.csv:8: reversed-range: range end before start; dropped",
		"asn-ipv4.csv:9: special-use-clipped: range overlaps special-use block 10.0.0.0/8; that part removed",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Problem.String mismatch (-want +got):\n%s", diff)
	}
}

// TestBuilderSpecialUseProblemLine: a special-use problem must name the
// line whose range reaches into special-use space, also when the builder
// has merged that range with an adjacent range of the same AS from another
// line.
func TestBuilderSpecialUseProblemLine(t *testing.T) {
	t.Parallel()
	tb, problems := build(t, asn4(lines(
		"9.0.0.0,9.255.255.255,300,Same", // fine
		"10.0.0.0,10.0.0.255,300,Same",   // all special use
	)))
	want4 := []string{
		"0.0.0.0-8.255.255.255 -",
		`9.0.0.0-9.255.255.255 AS300 "Same" -/-`,
		"10.0.0.0-255.255.255.255 -",
	}
	if diff := cmp.Diff(want4, dump(t, tb, 0)); diff != "" {
		t.Errorf("IPv4 segments mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"asn-ipv4.csv:2 special-use-clipped"}, problemLines(t, problems)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
}

// TestBuilderDuplicateBehindNested: a line that repeats an earlier range
// must be reported as a duplicate or conflict even when a smaller range
// with the same start lies between them. (Line 3 loses everywhere to line
// 1, so its data is dropped whole.)
func TestBuilderDuplicateBehindNested(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		third, want string
	}{
		{"1.0.0.0,1.0.255.255,100,Outer", "asn-ipv4.csv:3 duplicate"},
		{"1.0.0.0,1.0.255.255,300,Other", "asn-ipv4.csv:3 conflict"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			tb, problems := build(t, asn4(lines(
				"1.0.0.0,1.0.255.255,100,Outer",
				"1.0.0.0,1.0.0.255,200,Inner",
				tc.third,
			)))
			want4 := []string{
				"0.0.0.0-0.255.255.255 -",
				`1.0.0.0-1.0.0.255 AS200 "Inner" -/-`,
				`1.0.1.0-1.0.255.255 AS100 "Outer" -/-`,
				"1.1.0.0-255.255.255.255 -",
			}
			if diff := cmp.Diff(want4, dump(t, tb, 0)); diff != "" {
				t.Errorf("IPv4 segments mismatch (-want +got):\n%s", diff)
			}
			want := []string{"asn-ipv4.csv:2 overlap-nested", tc.want}
			if diff := cmp.Diff(want, problemLines(t, problems)); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProblemRepaired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind string
		want bool
	}{
		{"overlap-clipped", true},
		{"overlap-nested", true},
		{"special-use-clipped", true},
		{"duplicate", true},
		{"conflict", true},
		{"reversed-range", false},
		{"bad-asn", false},
		{"bad-country", false},
		{"malformed", false},
	}
	for _, tc := range tests {
		if got := (snapshot.Problem{Kind: tc.kind}).Repaired(); got != tc.want {
			t.Errorf("Problem{Kind: %q}.Repaired() = %v, want %v", tc.kind, got, tc.want)
		}
	}
}

func TestProblemString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    snapshot.Problem
		want string
	}{
		{snapshot.Problem{Kind: "bad-asn", File: "f.csv", Line: 3, Detail: "d"}, "f.csv:3: bad-asn: d"},
		{snapshot.Problem{Kind: "x", File: "f.csv", Detail: "d"}, "f.csv: x: d"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestDatasetString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ds   snapshot.Dataset
		want string
	}{
		{snapshot.ASNData, "asn"},
		{snapshot.RegistrationData, "registration"},
		{snapshot.LocationData, "location"},
		{snapshot.Dataset(7), "dataset(7)"},
	}
	for _, tc := range tests {
		if got := tc.ds.String(); got != tc.want {
			t.Errorf("Dataset(%d).String() = %q, want %q", int(tc.ds), got, tc.want)
		}
	}
}

func TestBuildMeta(t *testing.T) {
	t.Parallel()
	b := snapshot.NewBuilder(snapshot.Meta{Name: "m", Built: "2026-01-02"})
	for _, x := range []input{
		asn4(lines("1.0.0.0,1.0.0.255,1,A", "1.0.1.0,1.0.1.255,0,Zero", "1.0.0.0,1.0.0.255,1,A", "bad")),
		asn6(lines("2a00::,2a00::ffff,1,A")),
		reg4(lines("1.0.0.0,1.0.0.255,AU", "1.0.0.0,1.0.0.255,ZZ")),
		loc6(lines("2a00::,2a00::ff,DE", "2a00::100,2a00::1ff,FR", "3a00::,2a00::,DE")),
	} {
		if err := b.AddFile(x.ds, x.name, strings.NewReader(x.csv)); err != nil {
			t.Fatal(err)
		}
	}
	tb, problems, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	m := tb.Meta()
	v4, v6 := tb.Segments()
	want := snapshot.Meta{
		Format: snapshot.FormatVersion,
		Name:   "m",
		Built:  "2026-01-02",
		Counts: snapshot.Counts{
			// Ranges counts the lines that were read, reversed ones
			// included; bad ASNs, bad countries and malformed lines are not.
			Ranges:       [3]int{3, 1, 3},
			IPv4Segments: v4,
			IPv6Segments: v6,
			Tuples:       tb.Keys(),
			Names:        2, // "" and "A"
		},
		Problems: []snapshot.ProblemSummary{
			{Kind: "bad-asn", Count: 1, Examples: []string{problemString(problems, "bad-asn")}},
			{Kind: "bad-country", Count: 1, Examples: []string{problemString(problems, "bad-country")}},
			{Kind: "duplicate", Count: 1, Examples: []string{problemString(problems, "duplicate")}},
			{Kind: "malformed", Count: 1, Examples: []string{problemString(problems, "malformed")}},
			{Kind: "reversed-range", Count: 1, Examples: []string{problemString(problems, "reversed-range")}},
		},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("Meta mismatch (-want +got):\n%s", diff)
	}
	if v4 != 3 || v6 != 5 {
		t.Errorf("Segments() = %d, %d; want 3, 5", v4, v6)
	}
	// Tuples: none, AS1 alone, AS1 with AU, AS1 with DE, AS1 with FR.
	if got := tb.Keys(); got != 5 {
		t.Errorf("Keys() = %d, want 5", got)
	}
}

func problemString(ps []snapshot.Problem, kind string) string {
	for _, p := range ps {
		if p.Kind == kind {
			return p.String()
		}
	}
	return ""
}

// TestProblemSummaryExamples checks that the summary counts every problem
// and keeps five examples of a kind.
func TestProblemSummaryExamples(t *testing.T) {
	t.Parallel()
	var ls []string
	for i := range 12 {
		ls = append(ls, fmt.Sprintf("1.0.%d.0,1.0.%d.255,0,Zero", i, i))
	}
	tb, problems := build(t, asn4(lines(ls...)))
	if len(problems) != 12 {
		t.Fatalf("Build reported %d problems, want 12", len(problems))
	}
	got := tb.Meta().Problems
	want := []snapshot.ProblemSummary{{Kind: "bad-asn", Count: 12}}
	for _, p := range problems[:5] {
		want[0].Examples = append(want[0].Examples, p.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Meta().Problems mismatch (-want +got):\n%s", diff)
	}
}

// TestBuilderLargeRandom builds a table from many random, overlapping
// ranges and checks every segment against a naive reference: the smallest
// range that holds the address wins, the earliest line among equals, and
// special-use space is empty.
func TestBuilderLargeRandom(t *testing.T) {
	t.Parallel()
	type r4 struct {
		first, last uint32
		asn         uint32
	}
	rnd := newRand(9)
	var rs []r4
	var ls []string
	for len(rs) < 600 {
		base := uint32(rnd.IntN(8)+1)<<24 | uint32(rnd.IntN(4))<<16 // 1.0.0.0 to 8.3.0.0
		first := base + uint32(rnd.IntN(1<<12))<<4
		last := first + uint32(rnd.IntN(1<<14))
		asn := uint32(rnd.IntN(50) + 1)
		rs = append(rs, r4{first, last, asn})
		ls = append(ls, fmt.Sprintf("%s,%s,%d,AS%d", ipindex.U32Addr(first), ipindex.U32Addr(last), asn, asn))
	}
	tb, _ := build(t, asn4(lines(ls...)))
	want := func(a uint32) uint32 {
		best := -1
		for i, r := range rs {
			if r.first <= a && a <= r.last && (best < 0 || r.last-r.first < rs[best].last-rs[best].first) {
				best = i
			}
		}
		if best < 0 || a>>24 == 0 || a>>24 == 10 { // 0.0.0.0/8, 10.0.0.0/8
			return 0
		}
		return rs[best].asn
	}
	v4, _, err := tb.Index()
	if err != nil {
		t.Fatal(err)
	}
	var qs []uint32
	for i := range v4.Len() {
		s, _ := v4.Segment(i)
		qs = append(qs, s, s-1, s+1)
	}
	for _, r := range rs {
		qs = append(qs, r.first, r.last, r.first+(r.last-r.first)/2)
	}
	bad := 0
	for _, a := range qs {
		r, _, _ := tb.Lookup(ipindex.U32Addr(a))
		if w := want(a); r.ASN != w {
			t.Errorf("Lookup(%s) = AS%d, want AS%d", ipindex.U32Addr(a), r.ASN, w)
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
}

func TestVersionDate(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"2.3.2026061719", "2026-06-17"},
		{"2.3.20260617", "2026-06-17"},
		{"20260617", "2026-06-17"},
		{"2.3.2026061", ""},
		{"2.3.2026x61719", ""},
		{"2.3.", ""},
		{"", ""},
		{"1.0.0", ""},
	}
	for _, tc := range tests {
		if got := snapshot.VersionDate(tc.in); got != tc.want {
			t.Errorf("versionDate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMetaLabel(t *testing.T) {
	t.Parallel()
	m := snapshot.Meta{Name: "fallback", Sources: []snapshot.SourceInfo{
		{Dataset: "asn", Name: "@ip-location-db/asn", Date: "2026-06-17"},
		{Dataset: "location", Name: "@ip-location-db/geo-whois-asn-country", Date: "2026-06-16"},
	}}
	tests := []struct {
		ds   snapshot.Dataset
		want string
	}{
		{snapshot.ASNData, "ip-location-db asn 2026-06-17"},
		{snapshot.LocationData, "ip-location-db geo-whois-asn-country 2026-06-16"},
		{snapshot.RegistrationData, "fallback"},
	}
	for _, tc := range tests {
		if got := m.Label(tc.ds); got != tc.want {
			t.Errorf("Meta.Label(%v) = %q, want %q", tc.ds, got, tc.want)
		}
	}
}

// writePackages lays out the three ip-location-db packages under dir as
// scripts/fetch-ipdb.sh does, with the given CSV content per file name.
func writePackages(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for _, p := range snapshot.Packages {
		pdir := filepath.Join(dir, p.Dir)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			t.Fatal(err)
		}
		pj := fmt.Sprintf(`{"name": "@ip-location-db/%s", "version": "2.3.2026061719", "license": "x"}`, p.Dir)
		must(t, os.WriteFile(filepath.Join(pdir, "package.json"), []byte(pj), 0o644))
		must(t, os.WriteFile(filepath.Join(pdir, "INTEGRITY"), []byte("sha512-"+p.Dir+"\n"), 0o644))
		for _, fam := range []string{"ipv4", "ipv6"} {
			name := p.Prefix + "-" + fam + ".csv"
			must(t, os.WriteFile(filepath.Join(pdir, name), []byte(files[name]), 0o644))
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestBuildDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"asn-ipv4.csv":                   lines("8.8.8.0,8.8.8.255,15169,Google LLC", "bad line"),
		"asn-ipv6.csv":                   lines("2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC"),
		"asn-country-ipv4.csv":           lines("8.8.8.0,8.8.8.255,US"),
		"asn-country-ipv6.csv":           "",
		"geo-whois-asn-country-ipv4.csv": lines("8.8.8.0,8.8.8.255,US"),
		"geo-whois-asn-country-ipv6.csv": lines("2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,IE"),
	}
	writePackages(t, dir, files)
	tb, problems, err := snapshot.BuildDir(dir, "test")
	if err != nil {
		t.Fatalf("BuildDir: %v", err)
	}
	if diff := cmp.Diff([]string{filepath.Join("asn", "asn-ipv4.csv") + ":2 malformed"}, problemLines(t, problems)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
	m := tb.Meta()
	if m.Name != "test" || m.Built != "2026-06-17" || len(m.Sources) != 3 {
		t.Fatalf("Meta = %+v, want name test, built 2026-06-17, 3 sources", m)
	}
	for i, p := range snapshot.Packages {
		s := m.Sources[i]
		var wantFiles []snapshot.FileInfo
		for _, fam := range []string{"ipv4", "ipv6"} {
			name := p.Prefix + "-" + fam + ".csv"
			sum := sha256.Sum256([]byte(files[name]))
			wantFiles = append(wantFiles, snapshot.FileInfo{Name: name, SHA256: hex.EncodeToString(sum[:]), Lines: strings.Count(files[name], "\n")})
		}
		want := snapshot.SourceInfo{
			Dataset:     p.Dataset.String(),
			Name:        "@ip-location-db/" + p.Dir,
			Version:     "2.3.2026061719",
			Date:        "2026-06-17",
			License:     p.License,
			Attribution: p.Attribution,
			URL:         "https://github.com/sapics/ip-location-db",
			Integrity:   "sha512-" + p.Dir,
			Files:       wantFiles,
		}
		if diff := cmp.Diff(want, s); diff != "" {
			t.Errorf("Sources[%d] mismatch (-want +got):\n%s", i, diff)
		}
	}
	r, _, ok := tb.Lookup(netip.MustParseAddr("2a00:1450:4001::1"))
	if !ok || r.ASN != 15169 || r.Location != "IE" || r.Prefix != netip.MustParsePrefix("2a00:1450::/32") {
		t.Errorf("Lookup(2a00:1450:4001::1) = %+v, %v; want AS15169 in 2a00:1450::/32, located IE", r, ok)
	}
}

func TestBuildDirErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing package", func(t *testing.T) {
		_, _, err := snapshot.BuildDir(t.TempDir(), "x")
		if err == nil || !strings.Contains(err.Error(), "package asn") || !strings.Contains(err.Error(), "fetch-ipdb.sh") {
			t.Errorf("BuildDir(empty dir) = %v, want an error naming the package and the fetch script", err)
		}
	})
	t.Run("bad package.json", func(t *testing.T) {
		dir := t.TempDir()
		writePackages(t, dir, nil)
		must(t, os.WriteFile(filepath.Join(dir, "asn-country", "package.json"), []byte("{"), 0o644))
		_, _, err := snapshot.BuildDir(dir, "x")
		if err == nil || !strings.Contains(err.Error(), filepath.Join("asn-country", "package.json")) {
			t.Errorf("BuildDir(bad package.json) = %v, want an error naming the file", err)
		}
	})
	t.Run("missing csv", func(t *testing.T) {
		dir := t.TempDir()
		writePackages(t, dir, nil)
		must(t, os.Remove(filepath.Join(dir, "geo-whois-asn-country", "geo-whois-asn-country-ipv6.csv")))
		_, _, err := snapshot.BuildDir(dir, "x")
		if err == nil || !strings.Contains(err.Error(), "geo-whois-asn-country-ipv6.csv") {
			t.Errorf("BuildDir(missing csv) = %v, want an error naming the file", err)
		}
	})
}

// TestAddFileIOError checks that AddFile returns the reader's error and
// keeps what it read before.
func TestAddFileIOError(t *testing.T) {
	t.Parallel()
	b := snapshot.NewBuilder(snapshot.Meta{})
	r := &failReader{data: []byte(lines("1.0.0.0,1.0.0.255,1,A"))}
	err := b.AddFile(snapshot.ASNData, "asn-ipv4.csv", r)
	if err == nil || !strings.Contains(err.Error(), "asn-ipv4.csv") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("AddFile = %v, want the read error with the file name", err)
	}
	tb, _, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if r, _, ok := tb.Lookup(netip.MustParseAddr("1.0.0.1")); !ok || r.ASN != 1 {
		t.Errorf("Lookup(1.0.0.1) = %+v, %v; want the range read before the error", r, ok)
	}
}

type failReader struct{ data []byte }

func (r *failReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, fmt.Errorf("boom")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestAddTable rebuilds snapshots from snapshots: all datasets give the
// same segments back, and some datasets combine with new files.
func TestAddTable(t *testing.T) {
	t.Parallel()
	src := lookupTable(t)
	t.Run("all datasets", func(t *testing.T) {
		t.Parallel()
		b := snapshot.NewBuilder(snapshot.Meta{Name: "again"})
		if err := b.AddTable(src); err != nil {
			t.Fatal(err)
		}
		tb, problems, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) != 0 {
			t.Errorf("rebuilding reported %v", problems)
		}
		for fam := range 2 {
			if diff := cmp.Diff(dump(t, src, fam), dump(t, tb, fam)); diff != "" {
				t.Errorf("family %d segments mismatch (-source +rebuilt):\n%s", fam, diff)
			}
		}
	})
	t.Run("replace registration", func(t *testing.T) {
		t.Parallel()
		b := snapshot.NewBuilder(snapshot.Meta{Name: "update"})
		if err := b.AddTable(src, snapshot.ASNData, snapshot.LocationData); err != nil {
			t.Fatal(err)
		}
		if err := b.AddFile(snapshot.RegistrationData, "asn-country-ipv4.csv", strings.NewReader(lines("8.8.8.0,8.8.8.255,CA"))); err != nil {
			t.Fatal(err)
		}
		tb, _, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			in       string
			asn      uint32
			reg, loc string
		}{
			{"8.8.8.8", 15169, "CA", "US"},
			{"8.8.9.200", 15169, "", "CA"},
			{"1.0.16.5", 200, "", ""},
			{"2a00:1450:4001::1", 15169, "", "IE"},
		} {
			r, _, ok := tb.Lookup(netip.MustParseAddr(tc.in))
			if !ok || r.ASN != tc.asn || r.Registration != tc.reg || r.Location != tc.loc {
				t.Errorf("Lookup(%s) = %+v, %v; want AS%d, registration %q, location %q", tc.in, r, ok, tc.asn, tc.reg, tc.loc)
			}
		}
	})
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("rebuilds the embedded snapshot")
		}
		emb := decode(t, snapshot.EmbeddedBytes)
		b := snapshot.NewBuilder(snapshot.Meta{Name: "embedded"})
		if err := b.AddTable(emb); err != nil {
			t.Fatal(err)
		}
		tb, problems, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) != 0 {
			t.Errorf("rebuilding the embedded snapshot reported %d problems, first %v", len(problems), problems[0])
		}
		if diff := cmp.Diff(emb.Meta().Sources, tb.Meta().Sources); diff != "" {
			t.Errorf("Sources mismatch (-embedded +rebuilt):\n%s", diff)
		}
		for fam := range 2 {
			want, got := dump(t, emb, fam), dump(t, tb, fam)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("family %d: %d and %d segments; mismatch (-embedded +rebuilt):\n%s", fam, len(want), len(got), diff)
			}
		}
	})
}
