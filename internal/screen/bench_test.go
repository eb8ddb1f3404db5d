package screen

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Word pools of generated vendor names: made-up distinctive words, the
// generic words and legal forms real names carry, places, and the listed
// names (some misspelt) that make a name a hit or a near miss.
var (
	genDistinct = []string{
		"Acme", "Zenith", "Norvale", "Brightpath", "Quorra", "Velmont", "Astrid", "Kestrel", "Orbis",
		"Halvard", "Lumen", "Tessaro", "Corvid", "Pinecrest", "Ridgeway", "Solano", "Tarkin", "Umbra",
		"Wexford", "Yarrow", "Meridian", "Cobalt", "Sterling", "Fairmont", "Granite", "Harbor", "Ironwood",
		"Juniper", "Keystone", "Lakeside", "Maple", "Northwind", "Oakridge", "Pioneer", "Redwood",
		"Silverline", "Summit", "Trident", "Vanguard", "Westbrook", "Cisco", "Siemens", "Bosch", "Axis",
		"Hanwha", "Hisense", "Lenovo", "Xiaomi", "Samsung", "Ericsson", "Nokia", "Juniper", "Arista",
	}
	genGeneric = []string{
		"Technology", "Technologies", "Systems", "Networks", "Communications", "Digital", "Electronics",
		"Security", "Solutions", "Services", "Group", "Holdings", "International", "Software", "Cloud",
		"Data", "Video", "Devices", "Industrial", "Trading", "Global", "Mobile", "Labs", "Engineering",
		"Supply", "Logistics", "Consulting", "Partners", "Manufacturing", "Components",
	}
	genPlaces = []string{"Shenzhen", "Hangzhou", "Beijing", "Shanghai", "USA", "Europe", "UK", "Asia Pacific", "America", "Deutschland"}
	genLegal  = []string{"Inc.", "Co., Ltd.", "LLC", "GmbH", "S.A.", "Ltd", "Corp.", "B.V.", "Pty Ltd", "AG", "OOO", "Limited", "S.r.l."}
	genListed = []string{
		"Huawei", "Huawai", "ZTE", "Hikvision", "Hikvison", "Dahua", "Hytera", "Kaspersky", "Kasperskiy",
		"EZVIZ", "HiSilicon", "Lorex", "Honor", "China Mobile", "China Telecom", "China Unicom", "Pacific Networks",
		"DJI", "Autel", "ComNet",
	}
	genOther = []string{
		"华为技术有限公司", "海康威视", "浙江大华技术股份有限公司", "深圳市某某科技有限公司", "北京字节跳动科技有限公司",
		"ООО «Лаборатория Касперского»", "АО «Ромашка»", "Лабораторией Касперского", "Ростелеком",
		"ＨＵＡＷＥＩ", "Société Générale S.A.", "Zürich Telecom GmbH & Co. KG",
	}
)

// genName returns a realistic vendor name: one or two distinctive words, a
// generic word or two, sometimes a place, a legal form; one name in ten
// carries a listed name, one in twenty is in Chinese or Russian.
func genName(r *rand.Rand) string {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	switch n := r.IntN(20); {
	case n == 0:
		return pick(genOther)
	case n <= 2:
		return pick(genListed) + " " + pick(genGeneric) + " " + pick(genLegal)
	}
	var ws []string
	if r.IntN(4) == 0 {
		ws = append(ws, pick(genPlaces))
	}
	ws = append(ws, pick(genDistinct))
	if r.IntN(3) == 0 {
		ws = append(ws, pick(genDistinct))
	}
	for range r.IntN(3) {
		ws = append(ws, pick(genGeneric))
	}
	if r.IntN(3) > 0 {
		ws = append(ws, pick(genLegal))
	}
	return strings.Join(ws, " ")
}

// genNames returns n distinct generated names (numbered past the first
// repeat, so that no cache of names seen before helps).
func genNames(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		s := genName(r)
		if seen[s] {
			s = fmt.Sprintf("%s %d", s, len(out))
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// sharedData is the third-party evaluation data of the developers' machines.
const sharedData = "../../../shared/data"

// realNames returns organisation names from ../shared/data: US .gov domain
// registrants, datacenter operators and the companies of the DoD 1260H list.
// It skips the test when the data is absent.
func realNames(tb testing.TB) []string {
	tb.Helper()
	if _, err := os.Stat(sharedData); err != nil {
		tb.Skip("../shared/data is absent")
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	column := func(path string, gz bool, cols ...int) {
		f, err := os.Open(filepath.Join(sharedData, path))
		if err != nil {
			tb.Logf("real names: %v", err)
			return
		}
		defer f.Close()
		var r io.Reader = bufio.NewReader(f)
		if gz {
			zr, err := gzip.NewReader(r)
			if err != nil {
				tb.Fatal(err)
			}
			r = zr
		}
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		cr.LazyQuotes = true
		rows, err := cr.ReadAll()
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		for _, row := range rows[1:] {
			for _, c := range cols {
				if c < len(row) {
					add(row[c])
				}
			}
		}
	}
	column("cisagov-dotgov-data/current-full.csv.gz", true, 2, 3)
	column("cisagov-dotgov-data/agencies-and-subs.csv", false, 0, 1)
	column("client9-ipcat/datacenters.csv", false, 2)
	column("opensanctions-us-lists/us_dod_1260h_chinese_military_companies.csv", false, 0, 1, 2, 3, 4)
	if len(out) == 0 {
		tb.Skip("no real names in ../shared/data")
	}
	return out
}

func benchScreen(b *testing.B, m *Matcher, names []string) {
	items := make([]Item, len(names))
	for i, n := range names {
		items[i] = Item{Name: n}
	}
	b.ReportAllocs()
	screened := 0
	for b.Loop() {
		m.Screen(items)
		screened += len(items)
	}
	b.ReportMetric(float64(screened)/b.Elapsed().Seconds(), "names/s")
}

// BenchmarkScreenGenerated screens 10,000 distinct generated vendor names.
func BenchmarkScreenGenerated(b *testing.B) {
	benchScreen(b, NewMatcher(embedded(b)), genNames(1, 10_000))
}

// BenchmarkScreenReal screens the organisation names of ../shared/data.
func BenchmarkScreenReal(b *testing.B) {
	benchScreen(b, NewMatcher(embedded(b)), realNames(b))
}

// BenchmarkScreenReal1260H screens the organisation names of
// ../shared/data against lists six times larger: the embedded ones and the
// companies of the DoD 1260H list.
func BenchmarkScreenReal1260H(b *testing.B) {
	l := with1260H(b)
	if l == nil {
		b.Skip("../shared/data is absent")
	}
	benchScreen(b, NewMatcher(l), realNames(b))
}

// BenchmarkMatchLong matches one long name of generated words, and one
// word of a letter repeated: the time per byte should not grow with the
// length, and names past MaxNameLen cost as much as one of MaxNameLen.
func BenchmarkMatchLong(b *testing.B) {
	m := NewMatcher(embedded(b))
	r := rand.New(rand.NewPCG(2, 2))
	for _, size := range []int{64, 256, 1 << 10, 16 << 20} {
		var sb strings.Builder
		for sb.Len() < size {
			sb.WriteString(genName(r))
			sb.WriteByte(' ')
		}
		name := sb.String()[:size]
		b.Run(fmt.Sprintf("words/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(len(name)))
			for b.Loop() {
				m.Match(name)
			}
		})
		one := strings.Repeat("a", size)
		b.Run(fmt.Sprintf("oneword/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(len(one)))
			for b.Loop() {
				m.Match(one)
			}
		})
	}
}

// with1260H returns the embedded lists with the companies of the DoD 1260H
// list (from ../shared/data, absent on most machines) added, their aliases
// and former names too: a list three times larger.
func with1260H(t testing.TB) *Lists {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData, "opensanctions-us-lists/us_dod_1260h_chinese_military_companies.csv"))
	if err != nil {
		return nil
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	all, err := embeddedData()
	if err != nil {
		t.Fatal(err)
	}
	d := Data{
		Lists:   []ListInfo{{ID: "dod-1260h", Name: "DoD 1260H", URL: "https://example.org/1260h"}},
		Sources: []Source{{ID: "os-1260h", URL: "https://example.org/1260h", Date: "2025-01-07", Title: "transcription"}},
	}
	for i, row := range rows[1:] {
		name := strings.TrimSpace(row[1])
		if Normalize(name) == "" {
			continue
		}
		e := Entity{
			ID: fmt.Sprintf("dod%d", i), Name: name,
			Listings: []Listing{{List: "dod-1260h", Since: "2025-01-07", Scope: "all", Source: "os-1260h"}},
		}
		for _, a := range strings.Split(row[2], ";") {
			if a = strings.TrimSpace(a); Normalize(a) != "" {
				kind := KindAlias
				if utf8.RuneCountInString(a) <= 5 && strings.ToUpper(a) == a {
					kind = KindAcronym
				}
				e.Names = append(e.Names, Name{Name: a, Kind: kind, Source: "os-1260h"})
			}
		}
		if p := strings.TrimSpace(row[3]); Normalize(p) != "" {
			e.Names = append(e.Names, Name{Name: p, Kind: KindFormerName, Source: "os-1260h"})
		}
		d.Entities = append(d.Entities, e)
	}
	l, err := New(append(all, d)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
