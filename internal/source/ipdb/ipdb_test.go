package ipdb_test

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sovmap/sovmap/internal/source/ipdb"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestParseLine(t *testing.T) {
	t.Parallel()
	a := netip.MustParseAddr
	tests := []struct {
		name    string
		line    string
		kind    ipdb.Kind
		want    ipdb.Range
		wantErr string // substring of the error; "" for success
	}{
		{
			name: "asn plain name",
			line: "1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd",
			want: ipdb.Range{First: a("1.0.4.0"), Last: a("1.0.7.255"), ASN: 38803, Name: "Gtelecom Pty Ltd"},
		},
		{
			name: "asn quoted name with comma",
			line: `1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."`,
			want: ipdb.Range{First: a("1.0.0.0"), Last: a("1.0.0.255"), ASN: 13335, Name: "Cloudflare, Inc."},
		},
		{
			name: "asn quoted name with doubled quotes",
			line: `2.0.0.0,2.0.0.255,64,"The ""Best"" ISP, Ltd"`,
			want: ipdb.Range{First: a("2.0.0.0"), Last: a("2.0.0.255"), ASN: 64, Name: `The "Best" ISP, Ltd`},
		},
		{
			name: "asn quoted name ending in a doubled quote",
			line: `2.0.0.0,2.0.0.255,64,"Name """`,
			want: ipdb.Range{First: a("2.0.0.0"), Last: a("2.0.0.255"), ASN: 64, Name: `Name "`},
		},
		{
			name: "asn quoted empty name",
			line: `2.0.0.0,2.0.0.255,64,""`,
			want: ipdb.Range{First: a("2.0.0.0"), Last: a("2.0.0.255"), ASN: 64},
		},
		{
			name: "asn unquoted name with comma",
			line: "2.0.0.0,2.0.0.255,64,Foo, Bar",
			want: ipdb.Range{First: a("2.0.0.0"), Last: a("2.0.0.255"), ASN: 64, Name: "Foo, Bar"},
		},
		{
			name: "asn name with spaces around",
			line: `2.0.0.0,2.0.0.255,64,  "Foo"  `,
			want: ipdb.Range{First: a("2.0.0.0"), Last: a("2.0.0.255"), ASN: 64, Name: "Foo"},
		},
		{
			name: "asn without name",
			line: "2.0.0.0,2.0.0.255,64",
			want: ipdb.Range{First: a("2.0.0.0"), Last: a("2.0.0.255"), ASN: 64},
		},
		{
			name: "asn max",
			line: "2.0.0.0,2.0.0.255,4294967295,X",
			want: ipdb.Range{First: a("2.0.0.0"), Last: a("2.0.0.255"), ASN: 4294967295, Name: "X"},
		},
		{
			name: "asn ipv6",
			line: "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project",
			want: ipdb.Range{First: a("2001:200::"), Last: a("2001:200:1b9:ffff:ffff:ffff:ffff:ffff"), ASN: 2500, Name: "WIDE Project"},
		},
		{
			name: "asn ipv4-mapped is unmapped",
			line: "::ffff:1.2.3.0,::ffff:1.2.3.255,7,X",
			want: ipdb.Range{First: a("1.2.3.0"), Last: a("1.2.3.255"), ASN: 7, Name: "X"},
		},
		{
			name: "mixed mapped and plain ipv4",
			line: "::ffff:1.2.3.0,1.2.3.255,7,X",
			want: ipdb.Range{First: a("1.2.3.0"), Last: a("1.2.3.255"), ASN: 7, Name: "X"},
		},
		{
			name: "reversed range is not the parser's business",
			line: "1.2.3.255,1.2.3.0,7,X",
			want: ipdb.Range{First: a("1.2.3.255"), Last: a("1.2.3.0"), ASN: 7, Name: "X"},
		},
		{
			name: "country",
			line: "1.0.1.0,1.0.3.255,CN",
			kind: ipdb.Country,
			want: ipdb.Range{First: a("1.0.1.0"), Last: a("1.0.3.255"), Country: "CN"},
		},
		{
			name: "country as written",
			line: "1.0.1.0,1.0.3.255, zz ,extra",
			kind: ipdb.Country,
			want: ipdb.Range{First: a("1.0.1.0"), Last: a("1.0.3.255"), Country: "zz"},
		},
		{
			name: "country ipv6",
			line: "2001:4:112::,2001:4:112:ffff:ffff:ffff:ffff:ffff,US",
			kind: ipdb.Country,
			want: ipdb.Range{First: a("2001:4:112::"), Last: a("2001:4:112:ffff:ffff:ffff:ffff:ffff"), Country: "US"},
		},
		{
			name: "country empty",
			line: "1.0.1.0,1.0.3.255,",
			kind: ipdb.Country,
			want: ipdb.Range{First: a("1.0.1.0"), Last: a("1.0.3.255")},
		},
		{name: "empty", line: "", wantErr: "want at least 3 fields"},
		{name: "one field", line: "1.0.0.0", wantErr: "want at least 3 fields"},
		{name: "two fields", line: "1.0.0.0,1.0.0.255", wantErr: "want at least 3 fields"},
		{name: "two fields country", line: "1.0.0.0,1.0.0.255", kind: ipdb.Country, wantErr: "want at least 3 fields"},
		{name: "header", line: "start,end,asn,name", wantErr: "range start"},
		{name: "bad start", line: "1.0.0,1.0.0.255,1,X", wantErr: "range start"},
		{name: "bad end", line: "1.0.0.0,1.0.0.256,1,X", wantErr: "range end"},
		{name: "space before address", line: " 1.0.0.0,1.0.0.255,1,X", wantErr: "range start"},
		{name: "cidr instead of address", line: "1.0.0.0/24,1.0.0.255,1,X", wantErr: "range start"},
		{name: "zone", line: "fe80::1%eth0,fe80::2,1,X", wantErr: "zone"},
		{name: "zone in end", line: "fe80::1,fe80::2%1,1,X", wantErr: "zone"},
		{name: "mixed families", line: "1.0.0.0,2001:db8::1,1,X", wantErr: "mixes IPv4 and IPv6"},
		{name: "mixed families reversed", line: "2001:db8::1,1.0.0.0,1,X", wantErr: "mixes IPv4 and IPv6"},
		{name: "asn not a number", line: "1.0.0.0,1.0.0.255,AS13335,X", wantErr: `ASN "AS13335"`},
		{name: "asn empty", line: "1.0.0.0,1.0.0.255,,X", wantErr: `ASN ""`},
		{name: "asn negative", line: "1.0.0.0,1.0.0.255,-1,X", wantErr: "ASN"},
		{name: "asn too big", line: "1.0.0.0,1.0.0.255,4294967296,X", wantErr: "not a 32-bit number"},
		{name: "asn with space", line: "1.0.0.0,1.0.0.255, 13335,X", wantErr: "ASN"},
		{name: "asn quoted", line: `1.0.0.0,1.0.0.255,"13335",X`, wantErr: "ASN"},
		{name: "stray quote unquoted", line: `1.0.0.0,1.0.0.255,1,Foo "Bar"`, wantErr: "stray quote"},
		{name: "stray quote inside quotes", line: `1.0.0.0,1.0.0.255,1,"Foo "Bar""`, wantErr: "stray quote"},
		{name: "three quotes", line: `1.0.0.0,1.0.0.255,1,"""`, wantErr: "stray quote"},
		{name: "lone quote", line: `1.0.0.0,1.0.0.255,1,"`, wantErr: "unterminated"},
		{name: "unterminated", line: `1.0.0.0,1.0.0.255,1,"Foo, Inc.`, wantErr: "unterminated"},
		{name: "text after closing quote", line: `1.0.0.0,1.0.0.255,1,"Foo" Inc`, wantErr: "unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ipdb.ParseLine(tc.line, tc.kind)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLine(%q) = %+v, %v; want error containing %q", tc.line, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLine(%q) error: %v", tc.line, err)
			}
			if diff := cmp.Diff(tc.want, got, addrCmp); diff != "" {
				t.Errorf("ParseLine(%q) mismatch (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

func TestRead(t *testing.T) {
	t.Parallel()
	a := netip.MustParseAddr
	in := strings.Join([]string{
		`1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."`, // 1
		``,                                         // 2: empty lines are skipped but counted
		`1.0.4.0,1.0.7.255,notanumber,X`,           // 3
		`garbage`,                                  // 4
		"1.0.16.0,1.0.16.255,2519,ARTERIA\r",       // 5: CRLF
		`1.0.0.0,::1,1,X`,                          // 6
		`2001:200::,2001:200::ffff,2500,WIDE`,      // 7
		`1.0.32.0,1.0.32.255,1,"unterminated`,      // 8
		`1.0.64.0,1.0.64.255,4294967295,"A ""B"""`, // 9, no final newline
	}, "\n")
	var got []ipdb.Range
	lineErrs, err := ipdb.Read("asn-ipv4.csv", strings.NewReader(in), ipdb.ASN, func(r ipdb.Range) { got = append(got, r) })
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	want := []ipdb.Range{
		{First: a("1.0.0.0"), Last: a("1.0.0.255"), ASN: 13335, Name: "Cloudflare, Inc.", Line: 1},
		{First: a("1.0.16.0"), Last: a("1.0.16.255"), ASN: 2519, Name: "ARTERIA", Line: 5},
		{First: a("2001:200::"), Last: a("2001:200::ffff"), ASN: 2500, Name: "WIDE", Line: 7},
		{First: a("1.0.64.0"), Last: a("1.0.64.255"), ASN: 4294967295, Name: `A "B"`, Line: 9},
	}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("Read ranges mismatch (-want +got):\n%s", diff)
	}
	type lineErr struct {
		File string
		Line int
		Msg  string
	}
	var gotErrs []lineErr
	for _, le := range lineErrs {
		gotErrs = append(gotErrs, lineErr{le.File, le.Line, le.Error()})
		if le.Unwrap() == nil || !errors.Is(le, le.Err) {
			t.Errorf("LineError %v does not unwrap to its cause", le)
		}
	}
	wantErrs := []lineErr{
		{"asn-ipv4.csv", 3, `asn-ipv4.csv:3: ASN "notanumber": not a 32-bit number`},
		{"asn-ipv4.csv", 4, "asn-ipv4.csv:4: want at least 3 fields"},
		{"asn-ipv4.csv", 6, "asn-ipv4.csv:6: range mixes IPv4 and IPv6"},
		{"asn-ipv4.csv", 8, "asn-ipv4.csv:8: unterminated quoted AS name"},
	}
	if diff := cmp.Diff(wantErrs, gotErrs); diff != "" {
		t.Errorf("Read line errors mismatch (-want +got):\n%s", diff)
	}
}

func TestReadCountry(t *testing.T) {
	t.Parallel()
	in := "1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.3.255,CN\n1.0.4.0,1.0.7.255\n2001::,2001::ffff,us\n"
	var got []string
	lineErrs, err := ipdb.Read("asn-country-ipv4.csv", strings.NewReader(in), ipdb.Country, func(r ipdb.Range) {
		got = append(got, r.First.String()+" "+r.Last.String()+" "+r.Country)
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	want := []string{"1.0.0.0 1.0.0.255 AU", "1.0.1.0 1.0.3.255 CN", "2001:: 2001::ffff us"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read mismatch (-want +got):\n%s", diff)
	}
	if len(lineErrs) != 1 || lineErrs[0].Line != 3 || lineErrs[0].File != "asn-country-ipv4.csv" {
		t.Errorf("Read line errors = %v, want one on line 3", lineErrs)
	}
}

func TestReadEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\n", "\n\n\r\n"} {
		n := 0
		lineErrs, err := ipdb.Read("f", strings.NewReader(in), ipdb.ASN, func(ipdb.Range) { n++ })
		if err != nil || n != 0 || len(lineErrs) != 0 {
			t.Errorf("Read(%q) = %d ranges, %v, %v; want none", in, n, lineErrs, err)
		}
	}
}

func TestReadIOError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	in := "1.0.0.0,1.0.0.255,1,A\nbad\n1.0.1.0,1.0.1.255,2,B\n"
	r := io.MultiReader(strings.NewReader(in), iotest.ErrReader(boom))
	var got []uint32
	lineErrs, err := ipdb.Read("asn-ipv4.csv", r, ipdb.ASN, func(r ipdb.Range) { got = append(got, r.ASN) })
	if !errors.Is(err, boom) {
		t.Fatalf("Read error = %v, want %v", err, boom)
	}
	if want := "asn-ipv4.csv: line 4: boom"; err.Error() != want {
		t.Errorf("Read error = %q, want %q", err, want)
	}
	if diff := cmp.Diff([]uint32{1, 2}, got); diff != "" {
		t.Errorf("Read ranges before the error mismatch (-want +got):\n%s", diff)
	}
	if len(lineErrs) != 1 || lineErrs[0].Line != 2 {
		t.Errorf("Read line errors = %v, want one on line 2", lineErrs)
	}
}

func TestReadLongLine(t *testing.T) {
	t.Parallel()
	in := "1.0.0.0,1.0.0.255,1,A\n1.0.1.0,1.0.1.255,2," + strings.Repeat("x", 2<<20) + "\n1.0.2.0,1.0.2.255,3,C\n"
	var got []uint32
	_, err := ipdb.Read("f.csv", strings.NewReader(in), ipdb.ASN, func(r ipdb.Range) { got = append(got, r.ASN) })
	if err == nil || !strings.Contains(err.Error(), "f.csv: line 2:") {
		t.Errorf("Read error = %v, want a too-long error on line 2", err)
	}
	if diff := cmp.Diff([]uint32{1}, got); diff != "" {
		t.Errorf("Read ranges mismatch (-want +got):\n%s", diff)
	}
}

// FuzzParseLine checks that ParseLine never panics, and that what it
// accepts is a range of one family with valid, unmapped, zone-free ends.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		// ASN files
		`1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."`,
		`2.0.0.0,2.0.0.255,64,"The ""Best"" ISP"`,
		"2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project",
		"::ffff:1.2.3.0,1.2.3.255,7,X",
		`1.0.0.0,1.0.0.255,1,"`,
		`1.0.0.0,1.0.0.255,1,"""`,
		"fe80::1%eth0,fe80::2,1,X",
		"1.0.0.0,2001:db8::1,1,X",
		"1.0.0.0,1.0.0.255,4294967296,X",
		// country files
		"1.0.1.0,1.0.3.255,CN",
		"1.0.1.0,1.0.3.255,",
		// neither
		"",
		",,",
		"garbage",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, line string, country bool) {
		kind := ipdb.ASN
		if country {
			kind = ipdb.Country
		}
		r, err := ipdb.ParseLine(line, kind)
		if err != nil {
			return
		}
		if !r.First.IsValid() || !r.Last.IsValid() {
			t.Fatalf("ParseLine(%q) = %+v: invalid address", line, r)
		}
		if r.First.Is4() != r.Last.Is4() {
			t.Fatalf("ParseLine(%q) = %+v: mixed families", line, r)
		}
		if r.First.Is4In6() || r.Last.Is4In6() || r.First.Zone() != "" || r.Last.Zone() != "" {
			t.Fatalf("ParseLine(%q) = %+v: mapped or zoned address", line, r)
		}
		if kind == ipdb.Country && (r.ASN != 0 || r.Name != "") {
			t.Fatalf("ParseLine(%q, Country) = %+v: ASN fields set", line, r)
		}
		if kind == ipdb.ASN && r.Country != "" {
			t.Fatalf("ParseLine(%q, ASN) = %+v: country set", line, r)
		}
		if r.Line != 0 {
			t.Fatalf("ParseLine(%q) = %+v: line set", line, r)
		}
		// What was accepted must read back the same through Read.
		var got []ipdb.Range
		if !strings.ContainsAny(line, "\r\n") {
			lineErrs, err := ipdb.Read("f", strings.NewReader(line), kind, func(x ipdb.Range) { got = append(got, x) })
			want := r
			want.Line = 1
			if err != nil || len(lineErrs) != 0 || len(got) != 1 || !cmp.Equal(want, got[0], addrCmp, cmpopts.EquateEmpty()) {
				t.Fatalf("Read(%q) = %+v, %v, %v; want %+v", line, got, lineErrs, err, want)
			}
		}
	})
}
