package screen

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func TestReadCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, column string
		want             []Item
		wantErr          string
	}{
		{"vendor and manufacturer columns", "Vendor ID,Vendor Name,Manufacturer\nV1,Cisco,Huawei\nV2,,Dahua\n", "",
			[]Item{{Name: "Cisco", Field: "Vendor Name", Line: 2}, {Name: "Huawei", Field: "Manufacturer", Line: 2}, {Name: "Dahua", Field: "Manufacturer", Line: 3}}, ""},
		{"semicolons and a BOM", "\ufeffSupplier;Amount\nZTE Corporation;12\n", "",
			[]Item{{Name: "ZTE Corporation", Field: "Supplier", Line: 2}}, ""},
		{"tabs and quotes", "name\tnote\n\"Hytera, Inc.\"\tx\n", "",
			[]Item{{Name: "Hytera, Inc.", Field: "name", Line: 2}}, ""},
		{"one column without header", "Huawei\nCisco\n\n", "",
			[]Item{{Name: "Huawei", Field: "column 1", Line: 1}, {Name: "Cisco", Field: "column 1", Line: 2}}, ""},
		{"column by name", "a,b,Party\n1,2,Dahua\n", "party",
			[]Item{{Name: "Dahua", Field: "Party", Line: 2}}, ""},
		{"column by number, no header", "1,Dahua\n2,Cisco\n", "2",
			[]Item{{Name: "Dahua", Field: "column 2", Line: 1}, {Name: "Cisco", Field: "column 2", Line: 2}}, ""},
		{"column by number with a header", "id,Company\n1,Dahua\n", "2",
			[]Item{{Name: "Dahua", Field: "Company", Line: 2}}, ""},
		{"multi-line field keeps record lines", "company,comment\n\"Huawei\",\"two\nlines\"\nDahua,x\n", "",
			[]Item{{Name: "Huawei", Field: "company", Line: 2}, {Name: "Dahua", Field: "company", Line: 4}}, ""},
		{"short rows", "vendor,x\n\nHuawei\n", "", []Item{{Name: "Huawei", Field: "vendor", Line: 3}}, ""},
		{"vendor number is not a name", "Vendor Number,Amount\n1,2\n", "", nil, "cannot tell which column"},
		{"unknown column", "a,b\n1,2\n", "vendor", nil, `no column "vendor"`},
		{"column 0", "a\n", "0", nil, "columns count from 1"},
		{"column past the file", "a,b\n1,2\n", "3000000000", nil, "column 3000000000: no line has that many columns (the widest, line 1, has 2)"},
		{"column past every line", "1,Dahua\n2,Cisco,x\n", "4", nil, "(the widest, line 2, has 3)"},
		{"column of a long line only", "1,Dahua\n2,Cisco,Hytera\n", "3",
			[]Item{{Name: "Hytera", Field: "column 3", Line: 2}}, ""},
		{"header quoted in errors", "a\x1b[2J,b\n1,2\n", "", nil, `(header: "a\x1b[2J", "b")`},
		{"unknown column quoted", "a,b\n1,2\n", "\x1b]0;x\a", nil, `no column "\x1b]0;x\a" in the header ("a", "b")`},
		{"empty", "", "", nil, ""},
		{"long name cut", "vendor\n" + strings.Repeat("Acme ", 300) + "\n", "",
			[]Item{{Name: strings.TrimSpace(strings.Repeat("Acme ", 205)), Field: "vendor", Line: 2, Truncated: true}}, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := ReadCSV(strings.NewReader(test.in), test.column)
			if test.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), test.wantErr) {
					t.Errorf("ReadCSV error = %v, want %q", err, test.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(test.want, got); diff != "" {
				t.Errorf("ReadCSV mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadErrorsQuoteInput checks that the errors of hostile inventories
// carry no control characters and no long excerpts of the input.
func TestReadErrorsQuoteInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10_000)
	tests := []struct{ name, in, column string }{
		{"escape in the header", "\x1b[31mred,b\n1,2\n", ""},
		{"bidi override in the header", "\u202eabc\u202c,b\n1,2\n", ""},
		{"many long header fields", strings.Repeat(long+",", 50) + "\n1\n", ""},
		{"escape in --column", "a,b\n1,2\n", "\x1b[2J" + long},
		{"escape in bomFormat", `{"bomFormat":"\u001b[2J` + long + `"}`, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, _, err := Read(strings.NewReader(test.in), test.column)
			if err == nil {
				t.Fatal("Read = nil error")
			}
			msg := err.Error()
			if i := strings.IndexFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
				t.Errorf("Read error has an unprintable character at %d: %q", i, msg)
			}
			if len(msg) > 1000 {
				t.Errorf("Read error is %d bytes long: %.200q...", len(msg), msg)
			}
		})
	}
}

func TestReadCycloneDX(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/sbom.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	items, format, err := Read(f, "")
	if err != nil || format != FormatCycloneDX {
		t.Fatalf("Read(sbom) = %v, %q", err, format)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Path+"="+it.Name+" ("+it.Field+", "+it.Context+")")
	}
	want := []string{
		"metadata.supplier.name=Example Integrator GmbH (supplier, )",
		"metadata.manufacturer.name=Example Cameras Ltd (manufacturer, )",
		"metadata.component.supplier.name=Example Integrator GmbH (supplier, Lobby camera kit@2.1)",
		"metadata.component.name=Lobby camera kit (name, Lobby camera kit@2.1)",
		"components[0].supplier.name=Hangzhou Hikvision Digital Technology Co., Ltd. (supplier, IPC firmware@5.7.3)",
		"components[0].manufacturer.name=EZVIZ Inc. (manufacturer, IPC firmware@5.7.3)",
		"components[0].name=IPC firmware (name, IPC firmware@5.7.3)",
		"components[1].publisher=Huawei Technologies Co., Ltd. (publisher, com.huawei.hms/push@6.11.0)",
		"components[1].group=com.huawei.hms (group, com.huawei.hms/push@6.11.0)",
		"components[1].name=push (name, com.huawei.hms/push@6.11.0)",
		"components[2].authors[0].name=The OpenSSL Project Authors (author, openssl@3.0.13)",
		"components[2].name=openssl (name, openssl@3.0.13)",
		"components[2].components[0].author=Jean-loup Gailly and Mark Adler (author, zlib@1.3.1)",
		"components[2].components[0].name=zlib (name, zlib@1.3.1)",
		"components[3].manufacturer.name=海能达通信股份有限公司 (manufacturer, Radio handset PD985)",
		"components[3].name=Radio handset PD985 (name, Radio handset PD985)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadCycloneDX mismatch (-want +got):\n%s", diff)
	}
	// Screening finds Hikvision twice, Huawei twice (publisher and Maven
	// group) and Hytera.
	hits := map[string]int{}
	for _, r := range NewMatcher(embedded(t)).Screen(items) {
		if r.Status() == StatusHit {
			hits[r.Matches[0].Entity.ID]++
		}
	}
	if diff := cmp.Diff(map[string]int{"hikvision": 2, "huawei": 2, "hytera": 1}, hits); diff != "" {
		t.Errorf("SBOM hits mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"bomFormat":"SPDX"}`, `{"bomFormat":`, `{"bomFormat":"CycloneDX","components":{}}`} {
		if _, err := ReadCycloneDX(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadCycloneDX(%s) = nil error", bad)
		}
	}
}

func TestReadSniffsCSV(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/vendors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	items, format, err := Read(f, "")
	if err != nil || format != FormatCSV {
		t.Fatalf("Read(vendors.csv) = %v, %q", err, format)
	}
	if len(items) != 13 {
		t.Errorf("Read(vendors.csv) = %d items, want 13 (vendor names and manufacturers)", len(items))
	}
}

// FuzzReadCSV checks that no input panics the CSV reader and that every item
// has a name and a line.
func FuzzReadCSV(f *testing.F) {
	b, _ := os.ReadFile("testdata/vendors.csv")
	f.Add(string(b), "")
	f.Add("Huawei\n", "1")
	f.Add("a;b\n\"x;\"\"y\";z\n", "b")
	f.Add("\ufeffvendor\n\"unterminated\n", "")
	f.Add("a,b\n1,2\n", "3000000000") // once allocated a slice of that length
	f.Add("Huawei\n", "10000000")
	f.Add("\x1b[2J,b\n1,2\n", "")
	f.Fuzz(func(t *testing.T, in, column string) {
		// Time and memory must be bounded by the input, whatever the
		// column: a generous hang detector, and an allocation bound.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		items, err := ReadCSV(strings.NewReader(in), column)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("ReadCSV(%d bytes, column %.20q) took %v", len(in), column, d)
		}
		runtime.ReadMemStats(&after)
		if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(in)+16<<20); alloc > limit {
			t.Fatalf("ReadCSV(%d bytes, column %.20q) allocated %d bytes, more than %d", len(in), column, alloc, limit)
		}
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Name == "" || it.Line < 1 {
				t.Fatalf("item %+v without name or line", it)
			}
		}
	})
}

// FuzzReadCycloneDX checks that no input panics the SBOM reader.
func FuzzReadCycloneDX(f *testing.F) {
	b, _ := os.ReadFile("testdata/sbom.cdx.json")
	f.Add(string(b))
	f.Add(`{"bomFormat":"CycloneDX","components":[{"components":[{"components":[{"name":"x"}]}]}]}`)
	f.Add(`{"bomFormat":"CycloneDX","metadata":{"manufacture":{"name":"Dahua"}}}`)
	f.Fuzz(func(t *testing.T, in string) {
		items, err := ReadCycloneDX(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Name == "" || it.Path == "" {
				t.Fatalf("item %+v without name or path", it)
			}
		}
	})
}

// FuzzMatch checks that normalising and matching any name never panics,
// that scores stay within 0 and 1, and that the matches are those of the
// unindexed reference matcher.
func FuzzMatch(f *testing.F) {
	m := NewMatcher(embedded(f))
	for _, s := range []string{"Huawei Technologies Co., Ltd.", "ＨＵＡＷＥＩ", "大华银行", "АО Лаборатория Касперского", "S.A.", "", "Hikvison Digital",
		"Hikvsion Digitl Tehcnology Hangzhou", "Kasperskaya Laboratoriya", "Uralskiy vagonostroitelnyy zavod", "China Mobile Games & Entertainment"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := m.Match(s)
		for _, mt := range got {
			if mt.Score <= 0 || mt.Score > 1 || mt.Why == "" {
				t.Fatalf("Match(%q) = %+v", s, mt)
			}
		}
		cut, _ := TruncateName(s)
		if diff := cmp.Diff(refMatch(m, cut), got, cmp.AllowUnexported(Match{}), cmp.Comparer(func(a, b *Entity) bool { return a == b })); diff != "" {
			t.Fatalf("Match(%q) mismatch (-reference +indexed):\n%s", s, diff)
		}
	})
}
