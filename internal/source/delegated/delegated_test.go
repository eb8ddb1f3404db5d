package delegated

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sovmap/sovmap/internal/iso"
	"github.com/sovmap/sovmap/internal/source/feed"
	"github.com/sovmap/sovmap/internal/source/feed/feedtest"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		wantHeader Header
		want       []Record
		wantErr    []string
	}{
		{name: "empty", in: ""},
		{
			name: "extended",
			in: strings.Join([]string{
				"# comment",
				"2.3|apnic|20260617|4|19830613|20260616|+1000",
				"apnic|*|asn|*|1|summary",
				"apnic|*|ipv4|*|2|summary",
				"apnic|*|ipv6|*|1|summary",
				"apnic|JP|asn|2500|1|19910401|allocated|A91E2C2A",
				"apnic|au|ipv4|1.0.0.0|256|20110811|assigned|A91872ED",
				"apnic|CN|ipv4|1.0.1.0|768|20110414|allocated|A92E1062",
				"apnic|JP|ipv6|2001:200::|35|19990813|allocated|A91E2C2A",
				"",
			}, "\n"),
			wantHeader: Header{Version: "2.3", Registry: "apnic", Serial: "20260617", Records: 4,
				StartDate: "19830613", EndDate: "20260616", UTCOffset: "+1000", Line: 2},
			want: []Record{
				{Registry: "apnic", CC: "JP", Type: "asn", ASN: 2500, ASNCount: 1, Date: "19910401", Status: "allocated", OpaqueID: "A91E2C2A", Line: 6},
				{Registry: "apnic", CC: "AU", Type: "ipv4", First: addr("1.0.0.0"), Last: addr("1.0.0.255"), Date: "20110811", Status: "assigned", OpaqueID: "A91872ED", Line: 7},
				{Registry: "apnic", CC: "CN", Type: "ipv4", First: addr("1.0.1.0"), Last: addr("1.0.3.255"), Date: "20110414", Status: "allocated", OpaqueID: "A92E1062", Line: 8},
				{Registry: "apnic", CC: "JP", Type: "ipv6", First: addr("2001:200::"), Last: addr("2001:200:1fff:ffff:ffff:ffff:ffff:ffff"), Date: "19990813", Status: "allocated", OpaqueID: "A91E2C2A", Line: 9},
			},
		},
		{
			name: "plain format, unassigned space",
			in: "2|arin|1700000000|2|19700101|20260616|-0400\n" +
				"arin||ipv4|23.128.0.0|1024||available\n" +
				"arin|ZZ|ipv6|2620:0:10::|48|20100101|reserved\n",
			wantHeader: Header{Version: "2", Registry: "arin", Serial: "1700000000", Records: 2,
				StartDate: "19700101", EndDate: "20260616", UTCOffset: "-0400", Line: 1},
			want: []Record{
				{Registry: "arin", Type: "ipv4", First: addr("23.128.0.0"), Last: addr("23.128.3.255"), Status: "available", Line: 2},
				{Registry: "arin", CC: "ZZ", Type: "ipv6", First: addr("2620:0:10::"), Last: addr("2620:0:10:ffff:ffff:ffff:ffff:ffff"), Date: "20100101", Status: "reserved", Line: 3},
			},
		},
		{
			name: "bad lines are skipped and named",
			in: strings.Join([]string{
				"2|ripencc|20260617|11|19830705|20260616|+0200",
				"ripencc|FR|ipv4|2.0.0.0|1048576|20100712",                 // 2: too few fields
				"ripencc|FRA|ipv4|2.0.0.0|1048576|20100712|allocated",      // 3: country
				"ripencc|FR|ipv4|2.0.0.0|x|20100712|allocated",             // 4: value
				"ripencc|FR|ipv4|2001::|256|20100712|allocated",            // 5: not IPv4
				"ripencc|FR|ipv4|255.255.255.0|512|20100712|allocated",     // 6: past the end
				"ripencc|FR|ipv4|2.0.0.0|0|20100712|allocated",             // 7: empty
				"ripencc|FR|ipv6|2001:db8::1|32|20100712|allocated",        // 8: host bits
				"ripencc|FR|ipv6|2001:db8::|129|20100712|allocated",        // 9: length
				"ripencc|FR|asn|x|1|20100712|allocated",                    // 10: ASN
				"ripencc|FR|route|1.2.3.4|1|20100712|allocated",            // 11: type
				"ripencc|NL|ipv4|2.56.0.0|1024|20190101|allocated|abc|ext", // 12: good, extension field
			}, "\n"),
			wantHeader: Header{Version: "2", Registry: "ripencc", Serial: "20260617", Records: 11,
				StartDate: "19830705", EndDate: "20260616", UTCOffset: "+0200", Line: 1},
			want: []Record{
				{Registry: "ripencc", CC: "NL", Type: "ipv4", First: addr("2.56.0.0"), Last: addr("2.56.3.255"), Date: "20190101", Status: "allocated", OpaqueID: "abc", Line: 12},
			},
			wantErr: []string{
				"delegated: line 2: want at least 7 fields, found 6",
				`delegated: line 3: country "FRA" is not a two-letter code`,
				`delegated: line 4: value "x" is not a number`,
				`delegated: line 5: start "2001::" is not an IPv4 address`,
				"delegated: line 6: 512 addresses from 255.255.255.0 run past the end of IPv4",
				"delegated: line 7: 0 addresses from 2.0.0.0",
				"delegated: line 8: 2001:db8::1/32 has host bits set",
				"delegated: line 9: prefix length 129 is out of range",
				`delegated: line 10: start "x" is not an AS number`,
				`delegated: line 11: unknown type "route"`,
			},
		},
		{
			name: "truncated file",
			in: "2|lacnic|20260617|3|19890101|20260616|-0300\n" +
				"lacnic|BR|ipv4|45.160.0.0|1024|20150101|allocated\n",
			wantHeader: Header{Version: "2", Registry: "lacnic", Serial: "20260617", Records: 3,
				StartDate: "19890101", EndDate: "20260616", UTCOffset: "-0300", Line: 1},
			want: []Record{
				{Registry: "lacnic", CC: "BR", Type: "ipv4", First: addr("45.160.0.0"), Last: addr("45.160.3.255"), Date: "20150101", Status: "allocated", Line: 2},
			},
			wantErr: []string{"delegated: line 1: the header announces 3 records, the file holds 1 (truncated?)"},
		},
		{
			name:    "bad header",
			in:      "2|afrinic|20260617|many|19930101|20260616|+0000\n",
			wantErr: []string{`delegated: line 1: version line: record count "many" is not a number`},
			wantHeader: Header{Version: "2", Registry: "afrinic", Serial: "20260617",
				StartDate: "19930101", EndDate: "20260616", UTCOffset: "+0000", Line: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []Record
			h, err := Read(strings.NewReader(tt.in), func(r Record) { got = append(got, r) })
			if diff := cmp.Diff(tt.wantHeader, h); diff != "" {
				t.Errorf("Read(%q) header mismatch (-want +got):\n%s", tt.in, diff)
			}
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("Read(%q) records mismatch (-want +got):\n%s", tt.in, diff)
			}
			feedtest.ErrContains(t, err, tt.wantErr)
			if !OnlyLineErrors(err) {
				t.Errorf("OnlyLineErrors(%v) = false, want true", err)
			}
		})
	}
}

func TestHeaderDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		h    Header
		want string
	}{
		{Header{Serial: "20260617", EndDate: "20260616"}, "2026-06-17"},
		{Header{Serial: "1700000000", EndDate: "20260616"}, "2026-06-16"},
		{Header{Serial: "20261399", EndDate: "00000000"}, ""},
		{Header{Serial: "20260230", EndDate: "20260228"}, "2026-02-28"}, // no 30 February
		{Header{}, ""},
	}
	for _, tt := range tests {
		if got := tt.h.Date(); got != tt.want {
			t.Errorf("%+v.Date() = %q, want %q", tt.h, got, tt.want)
		}
	}
}

func TestRecordDelegated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Record
		want bool
	}{
		{Record{CC: "FR", Status: "allocated"}, true},
		{Record{CC: "FR", Status: "assigned"}, true},
		{Record{CC: "", Status: "available"}, false},
		{Record{CC: "ZZ", Status: "reserved"}, false},
		{Record{CC: "ZZ", Status: "assigned"}, false},
	}
	for _, tt := range tests {
		if got := tt.r.Delegated(); got != tt.want {
			t.Errorf("%+v.Delegated() = %v, want %v", tt.r, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	f, err := Parse(strings.NewReader("apnic|JP|ipv4|1.0.0.0|256|20110811|assigned\nbad\n"))
	var pe *feed.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("Parse() error = %#v, want a *feed.ParseError for line 2", err)
	}
	if f == nil || len(f.Records) != 1 {
		t.Fatalf("Parse() = %+v, want one record", f)
	}
	// A read error (a line too long) is not a line error: no file.
	f, err = Parse(strings.NewReader(strings.Repeat("x", maxLine+1)))
	if f != nil || err == nil || OnlyLineErrors(err) {
		t.Fatalf("Parse(long line) = %v, %v; want nil and a read error", f, err)
	}
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	fh, err := os.Open("testdata/delegated-apnic-extended-latest")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := Parse(fh)
	if err != nil {
		t.Fatal(err)
	}
	if f.Header.Registry != "apnic" || f.Header.Date() != "2026-06-17" || len(f.Records) != f.Header.Records {
		t.Errorf("Parse(testdata) = header %+v, %d records", f.Header, len(f.Records))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		feedtest.ReadFile(f, "testdata/delegated-apnic-extended-latest"),
		"2|arin|1|1|1|1|+0\narin|US|ipv4|8.0.0.0|16777216|19921201|allocated\n",
		"arin|US|ipv6|2001:400::|32|19990803|allocated|x\n",
		"arin|US|asn|4294967295|1|0|assigned\n",
		"x|y|ipv4|255.255.255.255|1|0|z\n|||||||\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, err := Read(strings.NewReader(in), func(r Record) {
			switch r.Type {
			case "ipv4", "ipv6":
				if !r.First.IsValid() || !r.Last.IsValid() || r.Last.Less(r.First) || r.First.Is4() != r.Last.Is4() {
					t.Fatalf("bad range %+v", r)
				}
			case "asn":
				if r.ASNCount == 0 {
					t.Fatalf("bad AS range %+v", r)
				}
			default:
				t.Fatalf("bad type %q", r.Type)
			}
			if r.CC != "" && !iso.IsCountry(r.CC) {
				t.Fatalf("bad country %q", r.CC)
			}
		})
		if !OnlyLineErrors(err) {
			t.Fatalf("Read() = %v, want only line errors on an in-memory reader", err)
		}
	})
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }
