package zonefile_test

import (
	"compress/gzip"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/sovmap/sovmap/internal/zonefile"
)

// readAll reads every record and every parse error of a zone.
func readAll(t *testing.T, r io.Reader, origin string) ([]zonefile.Record, []*zonefile.ParseError) {
	t.Helper()
	zr := zonefile.NewReader(r, origin)
	var recs []zonefile.Record
	var errs []*zonefile.ParseError
	for {
		rec, err := zr.Next()
		if err == io.EOF {
			return recs, errs
		}
		var pe *zonefile.ParseError
		if errors.As(err, &pe) {
			errs = append(errs, pe)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestRead(t *testing.T) {
	t.Parallel()
	const zone = `; a zone with every feature the reader handles
$ORIGIN Example.COM.
$TTL 1h
@	IN	SOA	ns1 hostmaster (
		2026082201 ; serial
		2h         ; refresh
		15M        ; retry
		1w         ; expire
		300 )      ; minimum
	IN NS	ns1
	IN NS	ns1.dnspod.net.
ns1	60 IN A	192.0.2.1
	IN	AAAA	2001:db8::1
www	IN CNAME @
mail	IN 300 MX 10 mx1.mxhichina.com.
mail	MX	( 20
		mail )
txt	TXT	"v=spf1 ; not a comment" "second (string)"
	TXT	"escaped \" quote"
sub	IN	DS	12345 8 2 ( 49FD46E6C4B45C55D4AC
		69CBD3CD34AC1AFE51DE )
$ORIGIN sub
host	A	198.51.100.7 ; relative to sub.example.com.
@	NS	ns.other.net.
*.wild.example.com.	A	203.0.113.9
`
	recs, errs := readAll(t, strings.NewReader(zone), "")
	if len(errs) > 0 {
		t.Fatalf("parse errors: %v", errs)
	}
	want := []zonefile.Record{
		{Line: 4, Name: "example.com.", TTL: 3600, Class: "IN", Type: "SOA", Target: "ns1.example.com.",
			SOA: &zonefile.SOA{Mbox: "hostmaster.example.com.", Serial: 2026082201, Refresh: 7200, Retry: 900, Expire: 604800, Minimum: 300}},
		{Line: 10, Name: "example.com.", TTL: 3600, Class: "IN", Type: "NS", Target: "ns1.example.com."},
		{Line: 11, Name: "example.com.", TTL: 3600, Class: "IN", Type: "NS", Target: "ns1.dnspod.net."},
		{Line: 12, Name: "ns1.example.com.", TTL: 60, Class: "IN", Type: "A", Addr: addr("192.0.2.1")},
		{Line: 13, Name: "ns1.example.com.", TTL: 3600, Class: "IN", Type: "AAAA", Addr: addr("2001:db8::1")},
		{Line: 14, Name: "www.example.com.", TTL: 3600, Class: "IN", Type: "CNAME", Target: "example.com."},
		{Line: 15, Name: "mail.example.com.", TTL: 300, Class: "IN", Type: "MX", Preference: 10, Target: "mx1.mxhichina.com."},
		{Line: 16, Name: "mail.example.com.", TTL: 3600, Class: "IN", Type: "MX", Preference: 20, Target: "mail.example.com."},
		{Line: 23, Name: "host.sub.example.com.", TTL: 3600, Class: "IN", Type: "A", Addr: addr("198.51.100.7")},
		{Line: 24, Name: "sub.example.com.", TTL: 3600, Class: "IN", Type: "NS", Target: "ns.other.net."},
		{Line: 25, Name: "*.wild.example.com.", TTL: 3600, Class: "IN", Type: "A", Addr: addr("203.0.113.9")},
	}
	if diff := cmp.Diff(want, recs, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
}

func TestReadSkipped(t *testing.T) {
	t.Parallel()
	zr := zonefile.NewReader(strings.NewReader("a.gov. DS 1 8 2 AB\nb.gov. DS 1 8 2 CD\nc.gov. TXT hi\nd.gov. TYPE65534 \\# 0\n"), "")
	if _, err := zr.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
	want := map[string]int{"DS": 2, "TXT": 1, "TYPE65534": 1}
	if diff := cmp.Diff(want, zr.Skipped()); diff != "" {
		t.Errorf("Skipped mismatch (-want +got):\n%s", diff)
	}
}

func TestReadTTLRules(t *testing.T) {
	t.Parallel()
	// Without $TTL the last stated TTL carries over; with neither, the
	// default applies.
	recs, errs := readAll(t, strings.NewReader("a. NS b.\nc. 77 NS d.\ne. NS f.\n$TTL 5m\ng. NS h.\n"), "")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []uint32
	for _, r := range recs {
		got = append(got, r.TTL)
	}
	if diff := cmp.Diff([]uint32{zonefile.DefaultTTL, 77, 77, 300}, got); diff != "" {
		t.Errorf("TTLs mismatch (-want +got):\n%s", diff)
	}
}

func TestReadOrigin(t *testing.T) {
	t.Parallel()
	recs, errs := readAll(t, strings.NewReader("www A 192.0.2.1\n@ NS ns.example.net.\n"), "Gov")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if recs[0].Name != "www.gov." || recs[1].Name != "gov." {
		t.Errorf("names with origin gov: %q, %q", recs[0].Name, recs[1].Name)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone string
		line       int
		msg        string
	}{
		{"relative without origin", "www A 192.0.2.1\n", 1, "needs an $ORIGIN"},
		{"at without origin", "@ NS a.b.\n", 1, `"@" needs an $ORIGIN`},
		{"bad address", "a. A 300.1.1.1\n", 1, "bad address"},
		{"v6 in A", "a. A 2001:db8::1\n", 1, "bad address"},
		{"v4 in AAAA", "a. AAAA 192.0.2.1\n", 1, "bad address"},
		{"missing field", "\n\na. MX 10\n", 3, "want 2 data fields"},
		{"extra field", "a. NS b. c.\n", 1, "too many data fields"},
		{"bad preference", "a. MX x b.\n", 1, "bad preference"},
		{"unknown type", "a. 300 IN FOO bar\n", 1, `unknown record type "FOO"`},
		{"bad ttl", "a. 1x NS b.\n", 1, "bad TTL"},
		{"missing type", "a. 300 IN\n", 1, "missing record type"},
		{"no owner", "  NS b.\n", 1, "no owner name"},
		{"unclosed paren", "a. SOA b. c. ( 1 2 3 4\n5\n", 1, "'(' without ')'"},
		{"close paren", "a. NS b. )\n", 1, "')' without '('"},
		{"unterminated quote", "a. TXT \"abc\n", 1, "unterminated quoted string"},
		{"include", "$INCLUDE other.zone\n", 1, "$INCLUDE is not supported"},
		{"generate", "$GENERATE 1-3 a$ A 1.2.3.$\n", 1, "$GENERATE is not supported"},
		{"unknown directive", "$FOO bar\n", 1, "unknown directive"},
		{"origin args", "$ORIGIN\n", 1, "$ORIGIN wants one name"},
		{"ttl directive", "$TTL forever\n", 1, "bad TTL"},
		{"empty label", "a..b. NS c.\n", 1, "empty label"},
		{"long label", strings.Repeat("a", 64) + ". NS c.\n", 1, "longer than 63"},
		{"long name", strings.Repeat("abcdefghi.", 26) + " NS c.\n", 1, "longer than 255"},
		{"bad escape", "a\\999. NS c.\n", 1, `bad \DDD escape`},
		{"soa serial", "a. SOA b. c. x 1 2 3 4\n", 1, "bad serial"},
		{"quoted target", "a. NS \"b.\"\n", 1, "quoted string"},
		{"long line", "a. TXT " + strings.Repeat("x", 70000) + "\n", 1, "longer than 64 KiB"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			// A good record after the bad one shows that reading goes on.
			zone := test.zone + "ok.example. NS ns.example.\n"
			recs, errs := readAll(t, strings.NewReader(zone), "")
			if len(errs) != 1 || errs[0].Line != test.line || !strings.Contains(errs[0].Msg, test.msg) {
				t.Fatalf("errors = %v, want one at line %d with %q", errs, test.line, test.msg)
			}
			if !strings.HasPrefix(errs[0].Error(), "line ") {
				t.Errorf("Error() = %q, want a line prefix", errs[0].Error())
			}
			if test.msg == "'(' without ')'" {
				return // the parenthesis swallows the rest
			}
			if len(recs) != 1 || recs[0].Name != "ok.example." {
				t.Errorf("records after the error = %v, want ok.example.", recs)
			}
		})
	}
}

func TestReadMultilineErrorLine(t *testing.T) {
	t.Parallel()
	zone := "a. NS b.\nc. SOA d. e. (\n 1 2 3\n 4 x )\nf. NS g.\n"
	recs, errs := readAll(t, strings.NewReader(zone), "")
	if len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Msg, "bad time value") {
		t.Errorf("errors = %v, want a bad time value at line 2", errs)
	}
	if len(recs) != 2 || recs[1].Line != 5 {
		t.Errorf("records = %v, want two, the second at line 5", recs)
	}
}

func TestReadOriginError(t *testing.T) {
	t.Parallel()
	zr := zonefile.NewReader(strings.NewReader("a. NS b.\n"), "a..b")
	if _, err := zr.Next(); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Errorf("Next with a bad origin = %v, want an origin error", err)
	}
}

// errReader fails after its data.
type errReader struct{ data io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.data.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func TestReadIOError(t *testing.T) {
	t.Parallel()
	zr := zonefile.NewReader(errReader{strings.NewReader("a. NS b.\nc. NS d.")}, "")
	var err error
	for range 5 {
		if _, err = zr.Next(); err != nil {
			break
		}
	}
	var pe *zonefile.ParseError
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &pe) {
		t.Fatalf("Next = %v, want the reader's error", err)
	}
	if _, again := zr.Next(); !errors.Is(again, io.ErrUnexpectedEOF) {
		t.Errorf("Next after a final error = %v, want it again", again)
	}
}

// miekgRecords reads a zone with miekg/dns's parser and returns the records
// of the decoded types in the reader's shape, as a reference.
func miekgRecords(t *testing.T, r io.Reader, origin string) []zonefile.Record {
	t.Helper()
	zp := dns.NewZoneParser(r, origin, "")
	var out []zonefile.Record
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		rec := zonefile.Record{Name: strings.ToLower(h.Name), TTL: h.Ttl, Class: dns.ClassToString[h.Class], Type: dns.TypeToString[h.Rrtype]}
		switch v := rr.(type) {
		case *dns.A:
			rec.Addr, _ = netip.AddrFromSlice(v.A.To4())
		case *dns.AAAA:
			rec.Addr, _ = netip.AddrFromSlice(v.AAAA)
		case *dns.NS:
			rec.Target = strings.ToLower(v.Ns)
		case *dns.CNAME:
			rec.Target = strings.ToLower(v.Target)
		case *dns.MX:
			rec.Preference, rec.Target = v.Preference, strings.ToLower(v.Mx)
		case *dns.SOA:
			rec.Target = strings.ToLower(v.Ns)
			rec.SOA = &zonefile.SOA{Mbox: strings.ToLower(v.Mbox), Serial: v.Serial, Refresh: v.Refresh, Retry: v.Retry, Expire: v.Expire, Minimum: v.Minttl}
		default:
			continue
		}
		out = append(out, rec)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("miekg/dns: %v", err)
	}
	return out
}

func withoutLines(recs []zonefile.Record) []zonefile.Record {
	out := make([]zonefile.Record, len(recs))
	for i, r := range recs {
		r.Line = 0
		out[i] = r
	}
	return out
}

// TestReadAgainstMiekg compares the reader with miekg/dns's zone parser on
// a zone written in many styles.
func TestReadAgainstMiekg(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/styles.zone")
	if err != nil {
		t.Fatal(err)
	}
	got, errs := readAll(t, strings.NewReader(string(b)), "example.org.")
	if len(errs) > 0 {
		t.Fatalf("parse errors: %v", errs)
	}
	want := miekgRecords(t, strings.NewReader(string(b)), "example.org.")
	if len(want) < 20 {
		t.Fatalf("reference read only %d records", len(want))
	}
	if diff := cmp.Diff(want, withoutLines(got), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("records mismatch with miekg/dns (-miekg +ours):\n%s", diff)
	}
}

const govZone = "../../../shared/data/cisagov-dotgov-data/gov.zone.txt.gz"

func openGov(t testing.TB) io.Reader {
	t.Helper()
	f, err := os.Open(govZone)
	if err != nil {
		t.Skipf("the real .gov zone is not here (%v)", err)
	}
	t.Cleanup(func() { f.Close() })
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return gz
}

// TestReadGovZone reads the real .gov zone and compares it with miekg/dns.
func TestReadGovZone(t *testing.T) {
	t.Parallel()
	got, errs := readAll(t, openGov(t), "")
	if len(errs) > 0 {
		t.Fatalf("%d parse errors, first: %v", len(errs), errs[0])
	}
	want := miekgRecords(t, openGov(t), "")
	if diff := cmp.Diff(want, withoutLines(got), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("records mismatch with miekg/dns (-miekg +ours):\n%s", diff)
	}
	if len(got) < 40000 {
		t.Errorf("read %d records, want the 40,000+ of the .gov zone", len(got))
	}
}

// FuzzRead checks that the reader never panics, terminates, reports
// plausible line numbers, and returns only well-formed records.
func FuzzRead(f *testing.F) {
	b, err := os.ReadFile("testdata/styles.zone")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b), "example.org.")
	for _, s := range []string{
		"", "\n", "(", ")", "\"", "a. NS b.", "$ORIGIN .\n@ NS a.", "a. SOA b. c. ( 1 2 3 4 5 )",
		" A 1.2.3.4", "a\\. NS b\\046.", "a. 1w2d3h4m5s NS b.", "$TTL 1h\n\t\tIN MX 0 .",
		"a. TXT \"x\\\"y\" ; c", "a. AAAA ::ffff:1.2.3.4", "a. A 01.2.3.4", "\x00\xff (\n\"",
	} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, zone, origin string) {
		lines := strings.Count(zone, "\n") + 1
		zr := zonefile.NewReader(strings.NewReader(zone), origin)
		for i := 0; ; i++ {
			if i > lines+2 {
				t.Fatalf("more than %d results from %d lines", i, lines)
			}
			rec, err := zr.Next()
			if err == io.EOF {
				return
			}
			var pe *zonefile.ParseError
			if errors.As(err, &pe) {
				if pe.Line < 1 || pe.Line > lines {
					t.Fatalf("error %v: line out of 1..%d", pe, lines)
				}
				continue
			}
			if err != nil {
				if _, again := zr.Next(); again == nil {
					t.Fatalf("Next succeeded after the final error %v", err)
				}
				return
			}
			if rec.Line < 1 || rec.Line > lines {
				t.Fatalf("record %+v: line out of 1..%d", rec, lines)
			}
			for _, n := range []string{rec.Name, rec.Target} {
				if n != "" && (!strings.HasSuffix(n, ".") || n != strings.ToLower(n)) {
					t.Fatalf("record %+v: name %q not fully qualified lower case", rec, n)
				}
			}
			if (rec.Type == "A" || rec.Type == "AAAA") != rec.Addr.IsValid() {
				t.Fatalf("record %+v: address and type disagree", rec)
			}
			if (rec.Type == "SOA") != (rec.SOA != nil) {
				t.Fatalf("record %+v: SOA fields and type disagree", rec)
			}
		}
	})
}
