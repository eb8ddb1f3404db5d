package attribution_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/policy"
)

// jsonStrings are strings that exercise every escape of encoding/json.
var jsonStrings = []string{
	"",
	"plain ASCII",
	`quote " and backslash \`,
	"<script>alert(1)</script> & more",
	"line\nfeed\rcarriage\ttab\bbackspace\fformfeed",
	"\x00\x01\x1f\x7f",
	"line separator \u2028 and paragraph separator \u2029",
	"阿里巴巴集团 Alibaba (US) Technology Co., Ltd.",
	"emoji 🌍 and combining é",
	"invalid \xff\xfe UTF-8",
	"truncated rune \xe4\xb8",
	"lone surrogate \xed\xa0\x80",
	"\xc0\xaf overlong",
	"\ufffd replacement char itself",
	"trailing backslash \\",
	strings.Repeat("long ", 500),
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, in := range jsonStrings {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			checkJSONString(t, in)
		})
	}
}

// checkJSONString checks AppendJSONString(in) against encoding/json.
func checkJSONString(t *testing.T, in string) {
	t.Helper()
	want, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("json.Marshal(%q): %v", in, err)
	}
	got := attribution.AppendJSONString(nil, in)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendJSONString(%q) = %s, want %s", in, got, want)
	}
	// It appends: the prefix is kept.
	got = attribution.AppendJSONString([]byte("x:"), in)
	if !bytes.Equal(got, append([]byte("x:"), want...)) {
		t.Errorf("AppendJSONString(x:, %q) = %s, want x:%s", in, got, want)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkJSONString(t, in)
		if got := attribution.AppendJSONString(nil, in); !utf8.Valid(got) || !json.Valid(got) {
			t.Errorf("AppendJSONString(%q) = %q, not valid UTF-8 JSON", in, got)
		}
	})
}

// testRecords are records of every shape the engine gives, and some it does
// not (empty strings, empty sub-objects), for the JSON encoder.
func testRecords() map[string]attribution.Record {
	full := attribution.Record{
		IP:           netip.MustParseAddr("47.88.1.1"),
		Prefix:       netip.MustParsePrefix("47.88.0.0/15"),
		ASN:          45102,
		ASName:       "Alibaba (US) Technology Co., Ltd.",
		Provider:     &attribution.Ref{ID: "alibaba-cloud", Name: "Alibaba Cloud", Kind: "cloud"},
		Operator:     &attribution.Ref{ID: "alibaba-us", Name: "Alibaba (US) Technology Co., Ltd.", Country: "US"},
		Parent:       &attribution.Ref{ID: "alibaba-group", Name: "Alibaba Group Holding Limited", Country: "CN"},
		Control:      &attribution.Control{Country: "CN", Basis: "ultimate parent Alibaba Group Holding Limited, headquartered in Hangzhou", Source: "catalog"},
		Registration: &attribution.Registration{Country: "US", Source: "rir"},
		Location:     &attribution.Location{Country: "US", Region: "us-east-1", City: "Ashburn", Area: "US-VA", Source: "provider-feed"},
		Evidence: []attribution.Evidence{
			{Method: "asn", Detail: "origin AS45102 listed for alibaba-cloud", Source: "ip-location-db asn 2026-06-17", Provider: "alibaba-cloud"},
			{Method: "as-name", Detail: "no provider", Source: "catalog"},
		},
		Confidence: "high",
	}
	special := "<b>&\"\\\n\u2028\u2029\x00\xff"
	return map[string]attribution.Record{
		"full":    full,
		"minimal": {IP: netip.MustParseAddr("192.0.2.1"), Confidence: "none"},
		"zero":    {},
		"ipv6": {
			IP: netip.MustParseAddr("2a00:1450:4001::1"), Prefix: netip.MustParsePrefix("2a00:1450::/32"),
			ASN: 15169, ASName: "Google LLC", Confidence: "none",
			Registration: &attribution.Registration{Country: "IE", Source: "rir"},
		},
		"prefix without asn": {IP: netip.MustParseAddr("2001:db8::1"), Prefix: netip.MustParsePrefix("2001:db8::/32"), Confidence: "none"},
		"max asn":            {IP: netip.MustParseAddr("192.0.2.1"), ASN: 4294967295, Confidence: "low"},
		"special characters": {
			IP:           netip.MustParseAddr("192.0.2.2"),
			Prefix:       netip.MustParsePrefix("192.0.2.0/24"),
			ASN:          1,
			ASName:       special,
			Provider:     &attribution.Ref{ID: special, Name: special, Kind: special, Country: special},
			Operator:     &attribution.Ref{ID: "", Name: ""},
			Parent:       &attribution.Ref{ID: "p", Name: "P & <Q>"},
			Control:      &attribution.Control{Country: special, Basis: special},
			Registration: &attribution.Registration{Country: special, Source: special},
			Location:     &attribution.Location{Country: special, Region: special, City: special, Area: special, Source: special},
			Evidence:     []attribution.Evidence{{Method: special, Detail: special, Source: special, Provider: special}},
			Confidence:   special,
		},
		"empty sub-objects": {
			IP:           netip.MustParseAddr("::1"),
			Provider:     &attribution.Ref{},
			Control:      &attribution.Control{},
			Registration: &attribution.Registration{},
			Location:     &attribution.Location{},
			Evidence:     []attribution.Evidence{{}},
		},
		"empty evidence slice": {IP: netip.MustParseAddr("192.0.2.3"), Evidence: []attribution.Evidence{}, Confidence: "none"},
		"location city only":   {IP: netip.MustParseAddr("192.0.2.4"), Location: &attribution.Location{Country: "DE", City: "Frankfurt am Main", Source: "geofeed"}, Confidence: "none"},
		"location area only":   {IP: netip.MustParseAddr("192.0.2.8"), Location: &attribution.Location{Country: "US", Area: "US-VA", Source: "geofeed"}, Confidence: "none"},
		"cjk and emoji":        {IP: netip.MustParseAddr("192.0.2.5"), ASName: "阿里云 🌍 U+2028:\u2028", Confidence: "none"},
		"ipv4-mapped":          {IP: netip.MustParseAddr("::ffff:192.0.2.6"), Confidence: "none"},
	}
}

func TestRecordAppendJSON(t *testing.T) {
	t.Parallel()
	for name, r := range testRecords() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkRecordJSON(t, name, r)
		})
	}
}

func checkRecordJSON(t *testing.T, name string, r attribution.Record) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal(%s): %v", name, err)
	}
	got := r.AppendJSON(nil)
	if !bytes.Equal(got, want) {
		t.Errorf("Record(%s).AppendJSON() =\n%s\nwant (encoding/json)\n%s", name, got, want)
	}
	if got := r.AppendJSON([]byte("[")); !bytes.Equal(got, append([]byte("["), want...)) {
		t.Errorf("Record(%s).AppendJSON([) = %s, want [%s", name, got, want)
	}
}

// TestRecordJSONShape pins the field names and order of DESIGN §6 on the
// example record.
func TestRecordJSONShape(t *testing.T) {
	t.Parallel()
	r := testRecords()["full"]
	got := string(r.AppendJSON(nil))
	want := `{"ip":"47.88.1.1","prefix":"47.88.0.0/15","asn":45102,"as_name":"Alibaba (US) Technology Co., Ltd.",` +
		`"provider":{"id":"alibaba-cloud","name":"Alibaba Cloud","kind":"cloud"},` +
		`"operator":{"id":"alibaba-us","name":"Alibaba (US) Technology Co., Ltd.","country":"US"},` +
		`"parent":{"id":"alibaba-group","name":"Alibaba Group Holding Limited","country":"CN"},` +
		`"control":{"country":"CN","basis":"ultimate parent Alibaba Group Holding Limited, headquartered in Hangzhou","source":"catalog"},` +
		`"registration":{"country":"US","source":"rir"},` +
		`"location":{"country":"US","region":"us-east-1","city":"Ashburn","area":"US-VA","source":"provider-feed"},` +
		`"evidence":[{"method":"asn","detail":"origin AS45102 listed for alibaba-cloud","source":"ip-location-db asn 2026-06-17","provider":"alibaba-cloud"},` +
		`{"method":"as-name","detail":"no provider","source":"catalog"}],` +
		`"confidence":"high"}`
	if got != want {
		t.Errorf("Record(full).AppendJSON() =\n%s\nwant\n%s", got, want)
	}
}

// TestRecordJSONRoundTrip decodes the fast encoding back into a Record.
func TestRecordJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for name, r := range testRecords() {
		if name == "special characters" || name == "empty evidence slice" {
			continue // invalid UTF-8 is replaced; an empty slice decodes as nil
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got attribution.Record
			if err := json.Unmarshal(r.AppendJSON(nil), &got); err != nil {
				t.Fatalf("json.Unmarshal(AppendJSON(%s)): %v", name, err)
			}
			if diff := cmp.Diff(r, got, addrComparers); diff != "" {
				t.Errorf("json.Unmarshal(AppendJSON(%s)) mismatch (-want +got):\n%s", name, diff)
			}
		})
	}
}

func FuzzRecordAppendJSON(f *testing.F) {
	f.Add("Alibaba (US) Technology Co., Ltd.", "alibaba-cloud", "ultimate parent, headquartered in Hangzhou", "us-east-1", uint32(45102), true)
	f.Add("<&>\u2028\xff", "", "", "", uint32(0), false)
	f.Fuzz(func(t *testing.T, asName, id, basis, region string, asn uint32, full bool) {
		r := attribution.Record{IP: netip.MustParseAddr("192.0.2.1"), ASN: asn, ASName: asName, Confidence: basis}
		if full {
			r.Prefix = netip.MustParsePrefix("192.0.2.0/24")
			r.Provider = &attribution.Ref{ID: id, Name: asName, Kind: region}
			r.Operator = &attribution.Ref{ID: id, Name: basis, Country: region}
			r.Control = &attribution.Control{Country: id, Basis: basis}
			r.Location = &attribution.Location{Country: id, Region: region, City: basis, Area: asName, Source: asName}
			r.Evidence = []attribution.Evidence{{Method: id, Detail: basis, Source: region, Provider: asName}}
		}
		checkRecordJSON(t, "fuzz", r)
	})
}

// TestEngineAppendJSON checks that the engine's fast path equals the record
// it would build, for every kind of verdict, cached or not.
func TestEngineAppendJSON(t *testing.T) {
	t.Parallel()
	addrs := []string{
		"192.0.2.7", "192.0.2.200", "198.51.100.1", "203.0.113.9", "2001:db8:1::5", "2001:db8:2::1",
		"2001:db8:3::1", "100.64.1.1", "8.8.8.8", "::ffff:192.0.2.7", "::ffff:8.8.8.8", "::", "0.0.0.0",
	}
	engines := map[string]*attribution.Engine{
		"full":       testEngine(t),
		"no catalog": attribution.NewEngine(testRoutes(), nil, testLabels),
		"no routes":  attribution.NewEngine(nil, mustCatalog(t, testData()), testLabels),
	}
	for name, e := range engines {
		for _, a := range addrs {
			t.Run(name+"/"+a, func(t *testing.T) {
				addr := netip.MustParseAddr(a)
				for i := range 2 { // first call fills the cache, second reads it
					r := e.Attribute(addr)
					want := r.AppendJSON(nil)
					got := e.AppendJSON(nil, addr)
					if !bytes.Equal(got, want) {
						t.Errorf("Engine(%s).AppendJSON(%s) call %d =\n%s\nwant Attribute(%s).AppendJSON()\n%s", name, a, i, got, a, want)
					}
					marshalled, err := json.Marshal(r)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, marshalled) {
						t.Errorf("Engine(%s).AppendJSON(%s) =\n%s\nwant json.Marshal\n%s", name, a, got, marshalled)
					}
				}
				// It appends to what is there.
				if got, want := e.AppendJSON([]byte("x"), addr), append([]byte("x"), e.AppendJSON(nil, addr)...); !bytes.Equal(got, want) {
					t.Errorf("Engine(%s).AppendJSON(x, %s) = %s, want %s", name, a, got, want)
				}
			})
		}
	}
}

// TestEngineAppendJSONFirst calls AppendJSON before Attribute for a fresh
// engine, so that the cached tail is built by the fast path.
func TestEngineAppendJSONFirst(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ref := testEngine(t)
	for _, a := range []string{"192.0.2.7", "198.51.100.1", "203.0.113.9", "2001:db8:1::5", "192.0.2.200"} {
		addr := netip.MustParseAddr(a)
		got := e.AppendJSON(nil, addr)
		r := ref.Attribute(addr)
		if want := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON(%s) on a fresh engine =\n%s\nwant\n%s", a, got, want)
		}
	}
}

// TestRecordMap checks that the map form of a record is what policy rules
// would get from its JSON, for every shape of record.
func TestRecordMap(t *testing.T) {
	t.Parallel()
	for name, r := range testRecords() {
		if name == "special characters" {
			continue // JSON replaces invalid UTF-8; the map keeps strings as they are
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := policy.RecordJSON(r.AppendJSON(nil))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, r.Map()); diff != "" {
				t.Errorf("Record(%s).Map() mismatch (-policy.RecordJSON(AppendJSON) +Map):\n%s", name, diff)
			}
		})
	}
}
