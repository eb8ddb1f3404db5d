package screen

import (
	"encoding/csv"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/catalog"
)

func embedded(t testing.TB) *Lists {
	t.Helper()
	l, err := Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	return l
}

func TestEmbeddedLists(t *testing.T) {
	t.Parallel()
	l := embedded(t)
	if got, want := l.ListIDs(), []string{"fcc-covered", "ndaa-889"}; !slices.Equal(got, want) {
		t.Errorf("ListIDs() = %v, want %v", got, want)
	}
	// The five companies of section 889, each with its date.
	var ndaa []string
	for _, e := range l.Entities() {
		for _, ls := range e.Listings {
			if ls.List == "ndaa-889" {
				ndaa = append(ndaa, e.ID)
				if ls.Since != "2018-08-13" {
					t.Errorf("%s: NDAA 889 since %s, want 2018-08-13", e.ID, ls.Since)
				}
			}
		}
	}
	if want := []string{"dahua", "hikvision", "huawei", "hytera", "zte"}; !slices.Equal(ndaa, want) {
		t.Errorf("NDAA 889 entities = %v, want %v", ndaa, want)
	}
	// Every source is an https URL (no http, no invented scheme).
	for _, e := range l.Entities() {
		for _, ls := range e.Listings {
			if u := l.SourceURL(ls.Source); !strings.HasPrefix(u, "https://") {
				t.Errorf("%s listing %s: source %q is not https", e.ID, ls.List, u)
			}
		}
	}
}

// TestEveryEntryHasASource builds lists with one claim stripped of its source
// at a time: New must refuse each.
func TestEveryEntryHasASource(t *testing.T) {
	t.Parallel()
	base := func() Data {
		return Data{
			Lists:   []ListInfo{{ID: "l", Name: "L", URL: "https://example.org/l"}},
			Sources: []Source{{ID: "s", URL: "https://example.org/s", Date: "2024-01-01", Title: "S"}},
			Entities: []Entity{{
				ID: "e", Name: "Example Corp",
				Listings: []Listing{{List: "l", Since: "2024-01-01", Scope: "all", Source: "s"}},
				Names:    []Name{{Name: "Example", Kind: KindBrand, Source: "s"}},
				Related:  []Related{{Name: "Example Sub Ltd", Relation: RelSubsidiary, Source: "s"}},
			}},
		}
	}
	if _, err := New(base()); err != nil {
		t.Fatalf("New(valid) = %v", err)
	}
	tests := []struct {
		name   string
		break_ func(d *Data)
		want   string
	}{
		{"listing", func(d *Data) { d.Entities[0].Listings[0].Source = "" }, "entity e listing l: no source"},
		{"name", func(d *Data) { d.Entities[0].Names[0].Source = "" }, `entity e name "Example": no source`},
		{"related", func(d *Data) { d.Entities[0].Related[0].Source = "" }, `entity e related "Example Sub Ltd": no source`},
		{"unknown source", func(d *Data) { d.Entities[0].Names[0].Source = "nope" }, `unknown source "nope"`},
		{"source url", func(d *Data) { d.Sources[0].URL = "example.org" }, `source s: url "example.org" is not an http(s) URL`},
		{"source date", func(d *Data) { d.Sources[0].Date = "" }, `source s: date "" is not YYYY-MM-DD`},
		{"source date out of range", func(d *Data) { d.Sources[0].Date = "2026-99-99" }, `source s: date "2026-99-99" is not YYYY-MM-DD`},
		{"source date not in the month", func(d *Data) { d.Sources[0].Date = "2026-02-30" }, `source s: date "2026-02-30" is not YYYY-MM-DD`},
		{"listing date", func(d *Data) { d.Entities[0].Listings[0].Since = "March 2021" }, `since "March 2021"`},
		{"no listing", func(d *Data) { d.Entities[0].Listings = nil }, "entity e: no listing"},
		{"unknown list", func(d *Data) { d.Entities[0].Listings[0].List = "x" }, "listing x: unknown list"},
		{"former without until", func(d *Data) { d.Entities[0].Related[0].Relation = RelFormer }, "needs until"},
		{"bad relation", func(d *Data) { d.Entities[0].Related[0].Relation = "cousin" }, `relation "cousin"`},
		{"bad kind", func(d *Data) { d.Entities[0].Names[0].Kind = "nickname" }, `kind "nickname"`},
		{"empty name", func(d *Data) { d.Entities[0].Names[0].Name = "Co., Ltd." + " " }, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			d := base()
			test.break_(&d)
			_, err := New(d)
			if test.want == "" {
				return // accepted or refused: both fine, it must not panic
			}
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("New(%s) error = %v, want %q", test.name, err, test.want)
			}
		})
	}
}

// TestCatalogLinks checks that the catalog IDs the lists link exist in the
// catalog, and that the Chinese carriers and Huawei are linked.
func TestCatalogLinks(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Load()
	if err != nil {
		t.Fatalf("catalog.Load: %v", err)
	}
	l := embedded(t)
	linked := map[string]string{}
	for _, e := range l.Entities() {
		for _, id := range slices.Concat(e.Catalog.Entity, e.Catalog.Group) {
			if _, ok := cat.Company(id); !ok {
				t.Errorf("entity %s links catalog company %q, which the catalog lacks", e.ID, id)
			}
			linked[id] = e.ID
		}
	}
	for id, entity := range map[string]string{
		"china-telecom-americas": "china-telecom-americas",
		"china-telecom-group":    "china-telecom-americas",
		"china-mobile-group":     "china-mobile-usa",
		"china-unicom-americas":  "china-unicom-americas",
		"china-unicom-group":     "china-unicom-americas",
		"pacific-networks":       "pacnet-comnet",
		"comnet-usa":             "pacnet-comnet",
		"citic-telecom-intl":     "pacnet-comnet",
		"huawei-technologies":    "huawei",
		"huawei-investment":      "huawei",
	} {
		if linked[id] != entity {
			t.Errorf("catalog company %s is linked to %q, want %q", id, linked[id], entity)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Huawei Technologies Co., Ltd.", "huawei technologies"},
		{"HUAWEI TECHNOLOGIES CO LTD", "huawei technologies"},
		{"ＨＵＡＷＥＩ　Ｔｅｃｈ", "huawei tech"},
		{"Société Générale S.A.", "societe generale"},
		{"Hikvision Europe B.V.", "hikvision europe"},
		{"ComNet (USA) L.L.C.", "comnet usa"},
		{"AO Kaspersky Lab", "kaspersky lab"},
		{"ООО «Лаборатория Касперского»", "лаборатория касперского"},
		{"Акционерное общество «Лаборатория Касперского»", "лаборатория касперского"},
		{"Общества с ограниченной ответственностью «Ромашка»", "ромашка"}, // a legal form in the genitive
		{"Акционерное общество", "акционерное общество"},                  // only legal words: kept
		{"Открытые технологии", "открытые технологии"},                    // "открытое" alone is no legal form
		{"杭州海康威视数字技术股份有限公司", "杭州海康威视数字技术"},
		{"中国电信集团有限公司", "中国电信"},
		{"Huawei 华为技术有限公司", "huawei 华为技术"},
		{"株式会社日立製作所", "株式会社日立製作所"}, // a leading legal form stays: trimmed only at the end
		{"Co., Ltd.", "co ltd"}, // only legal words: kept
		{"The Huawei & ZTE Company", "huawei zte"},
		{"  ", ""},
		{"Zürich Telecom GmbH & Co. KG", "zurich telecom"},
	}
	for _, test := range tests {
		if got := Normalize(test.in); got != test.want {
			t.Errorf("Normalize(%q) = %q, want %q", test.in, got, test.want)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	m := NewMatcher(embedded(t))
	type want struct {
		entity, status, method, relation string
		why                              string // a part of the explanation
	}
	tests := []struct {
		name string
		want []want
	}{
		{"Huawei Technologies Co., Ltd.", []want{{"huawei", StatusHit, MethodExact, "entity", `the name is the legal name "Huawei Technologies Co., Ltd." of Huawei Technologies Company`}}},
		{"HUAWEI TECHNOLOGIES COMPANY", []want{{"huawei", StatusHit, MethodExact, "entity", "the name is the listed name of Huawei Technologies Company"}}},
		{"Huawei Technologies Corp", []want{{"huawei", StatusHit, MethodExact, "entity", "but for legal form, case and punctuation, the name is the listed name of Huawei Technologies Company"}}},
		{"HUAWEI TECH INVESTMENT", []want{{"huawei", StatusHit, MethodContains, "entity", `contains "huawei", the brand "Huawei"`}}},
		{"Hikvision Digital Technology", []want{{"hikvision", StatusHit, MethodFuzzy, "entity", "missing hangzhou"}}},
		{"EZVIZ Inc", []want{{"hikvision", StatusHit, MethodExact, RelSubsidiary, "Hangzhou EZVIZ Network Co., Ltd. (as \"EZVIZ\"), a subsidiary of"}}},
		{"China Telecom Corp", []want{{"china-telecom-americas", StatusHit, MethodExact, RelAffiliate, "an affiliate of China Telecom (Americas) Corp."}}},
		{"DJI Enterprise", []want{{"dji", StatusHit, MethodContains, "entity", `the word "dji"`}}},
		{"Zeta Technologies", nil},
		{"Huawai Trading LLC", []want{{"huawei", StatusNearMiss, MethodFuzzy, "entity", `"huawai" ≈ "huawei" (1 edit); other words trading`}}},
		{"Hikvison", []want{{"hikvision", StatusNearMiss, MethodFuzzy, "entity", `"hikvison" ≈ "hikvision" (1 edit)`}}},
		{"大华银行", []want{{"dahua", StatusNearMiss, MethodContains, "entity", "a common word"}}},
		{"Lorex Technology Inc.", []want{{"dahua", StatusNearMiss, MethodExact, RelFormer, "a former subsidiary of Dahua Technology Company until 2022-11-24"}}},
		{"Honor Bright Industries", []want{{"huawei", StatusNearMiss, MethodFuzzy, RelFormer, "a former subsidiary of Huawei Technologies Company until 2020-11-17"}}},
		{"Honor", []want{{"huawei", StatusNearMiss, MethodExact, RelFormer, "a former subsidiary"}}},
		{"China Mobile Games & Entertainment", []want{{"china-mobile-usa", StatusNearMiss, MethodContains, RelAffiliate, `contains "china mobile", a common name`}}},
		{"Siemens AG", nil},
		{"Касперского", []want{{"kaspersky", StatusHit, MethodExact, "entity", `but for inflection or alphabet, the name is the brand "Kaspersky"`}}},
		{"Лабораторией Касперского", []want{{"kaspersky", StatusHit, MethodExact, "entity", `the legal name "Лаборатория Касперского"`}}},
		{"Kasperskiy", []want{{"kaspersky", StatusHit, MethodExact, "entity", `the brand "Kaspersky"`}}},
		{"Антивирус Касперского", []want{{"kaspersky", StatusHit, MethodContains, "entity", `contains "касперского", the brand "Kaspersky"`}}},
		{"Касперская", []want{{"kaspersky", StatusNearMiss, MethodFuzzy, "entity", `"касперская" ≈ "kaspersky" (2 edits)`}}},
		{"Kasperski Transport", []want{{"kaspersky", StatusNearMiss, MethodFuzzy, "entity", `"kasperski" ≈ "kaspersky" (1 edit)`}}},
		{"Лаборатория Цифровых Технологий", nil},
		{"", nil},
		{"Co., Ltd.", nil},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			var got []want
			for _, mt := range m.Match(test.name) {
				got = append(got, want{mt.Entity.ID, mt.Status, mt.Method, mt.Relation, mt.Why})
				if mt.Score <= 0 || mt.Score > 1 || mt.Source == "" || mt.Matched == "" {
					t.Errorf("match %+v: score, source and matched name are required", mt)
				}
			}
			if len(got) != len(test.want) {
				t.Fatalf("Match(%q) = %+v, want %+v", test.name, got, test.want)
			}
			for i := range got {
				w := test.want[i]
				g := got[i]
				if g.entity != w.entity || g.status != w.status || g.method != w.method || g.relation != w.relation || !strings.Contains(g.why, w.why) {
					t.Errorf("Match(%q)[%d] = %+v, want %+v", test.name, i, g, w)
				}
			}
		})
	}
}

func TestSameWord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"касперский", "касперского", true},
		{"касперскому", "касперским", true},
		{"касперский", "kaspersky", true},
		{"kasperskiy", "kaspersky", true},
		{"kasperskii", "kasperskogo", true},
		{"kаspersky", "kaspersky", true}, // a Cyrillic а
		{"лаборатория", "лабораторией", true},
		{"лаборатории", "laboratoriya", true},
		{"ростелеком", "ростелекома", true}, // a noun whose last letters look like an ending
		{"газпром", "газпрому", true},
		{"технологии", "technologies", true},
		{"tekhnologii", "technologies", true},
		{"касперская", "касперской", true},
		{"касперская", "kaspersky", false}, // feminine: a woman's surname
		{"kasperskaya", "касперского", false},
		{"kasperski", "kaspersky", false}, // also a Polish surname
		{"каспий", "каспер", false},
		{"sikorsky", "kaspersky", false},
		{"сети", "сеть", false}, // too short to stem
		{"huawei", "хуавэй", false},
	}
	for _, test := range tests {
		a, b := newWord(test.a), newWord(test.b)
		if got := a.same(b); got != test.want {
			t.Errorf("newWord(%q).same(%q) = %v, want %v (forms %q, %q)", test.a, test.b, got, test.want, a.forms, b.forms)
		}
		if got := b.same(a); got != test.want {
			t.Errorf("newWord(%q).same(%q) = %v, want %v", test.b, test.a, got, test.want)
		}
	}
}

// TestTransliteratedAlias checks, on lists made up for the test, that a
// Latin name matches its Russian forms and transliterations, and a Russian
// name its inflected forms.
func TestTransliteratedAlias(t *testing.T) {
	t.Parallel()
	l, err := New(Data{
		Lists:   []ListInfo{{ID: "l", Name: "L", URL: "https://example.org/l"}},
		Sources: []Source{{ID: "s", URL: "https://example.org/s", Date: "2024-01-01", Title: "S"}},
		Entities: []Entity{{
			ID: "pt", Name: "Positive Technologies",
			Listings: []Listing{{List: "l", Since: "2024-01-01", Scope: "all", Source: "s"}},
			Names:    []Name{{Name: "Позитив Текнолоджиз", Kind: KindLegal, Source: "s"}},
		}, {
			ID: "uvz", Name: "Uralvagonzavod",
			Listings: []Listing{{List: "l", Since: "2024-01-01", Scope: "all", Source: "s"}},
			Names:    []Name{{Name: "Уральский вагоностроительный завод", Kind: KindLegal, Source: "s"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(l)
	tests := []struct {
		name, want string // want: the status of the best match, or "clear"
	}{
		{"Positive Tekhnologii", StatusHit},
		{"POSITIVE TECHNOLOGIES", StatusHit},
		{"АО «Позитив Текнолоджиз»", StatusHit},
		{"Позитив Энерджи", "clear"},
		{"Уральского вагоностроительного завода", StatusHit},
		{"Уральским вагоностроительным заводом", StatusHit},
		{"Uralskiy vagonostroitelnyy zavod", StatusHit},
		{"Уральский завод", "clear"},
	}
	for _, test := range tests {
		res := Result{Matches: m.Match(test.name)}
		if got := res.Status(); got != test.want {
			t.Errorf("Match(%q): status %s, want %s", test.name, got, test.want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"huawei", "huawai", 1}, {"hikvision", "hikvison", 1},
		{"zte", "zeta", 2}, {"ab", "ba", 1}, {"kaspersky", "kasperksy", 1}, {"华为", "华维", 1},
	}
	for _, test := range tests {
		if got := edits(test.a, test.b); got != test.want {
			t.Errorf("edits(%q, %q) = %d, want %d", test.a, test.b, got, test.want)
		}
		if got := edits(test.b, test.a); got != test.want {
			t.Errorf("edits(%q, %q) = %d, want %d", test.b, test.a, got, test.want)
		}
	}
}

// TestEvaluation measures precision and recall of hits on a labelled set of
// real vendor names (testdata/eval.csv): listed entities, their subsidiaries,
// brands and affiliates as positives; unrelated vendors and look-alike traps
// as negatives. Near misses count as negative predictions; the near misses
// expected by the note column are checked too.
func TestEvaluation(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/eval.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(embedded(t))
	type counts struct{ tp, fp, fn, tn int }
	var all, holdout, ru counts
	var nearWanted, nearGot int
	for _, row := range rows[1:] {
		name, label, entity, note := row[0], row[1], row[2], row[3]
		res := Result{Matches: m.Match(name)}
		hit := res.Status() == StatusHit
		cs := []*counts{&all}
		switch {
		case strings.HasPrefix(note, "holdout"):
			cs = append(cs, &holdout)
		case strings.HasPrefix(note, "ru:"):
			cs = append(cs, &ru)
		}
		for _, c := range cs {
			switch {
			case label == "hit" && hit:
				c.tp++
			case label == "hit":
				c.fn++
			case hit:
				c.fp++
			default:
				c.tn++
			}
		}
		switch {
		case label == "hit" && hit && res.Matches[0].Entity.ID != entity:
			t.Errorf("%q: hit %s, want %s", name, res.Matches[0].Entity.ID, entity)
		case label == "hit" && !hit:
			t.Logf("missed: %q (%s)", name, note)
		case label != "hit" && hit:
			t.Logf("false hit: %q: %s", name, res.Matches[0].Why)
		}
		if strings.Contains(note, "near miss") {
			nearWanted++
			if res.Status() == StatusNearMiss {
				nearGot++
			} else {
				t.Errorf("%q: status %s, want a near miss (%s)", name, res.Status(), note)
			}
		}
	}
	pr := func(c counts) (float64, float64) {
		return float64(c.tp) / float64(c.tp+c.fp), float64(c.tp) / float64(c.tp+c.fn)
	}
	precision, recall := pr(all)
	hp, hr := pr(holdout)
	t.Logf("%d names: %d true hits, %d false hits, %d missed, %d true clear; precision %.3f, recall %.3f; near misses %d of %d",
		len(rows)-1, all.tp, all.fp, all.fn, all.tn, precision, recall, nearGot, nearWanted)
	t.Logf("holdout (%d names written after the matcher was tuned): precision %.3f, recall %.3f", holdout.tp+holdout.fp+holdout.fn+holdout.tn, hp, hr)
	rp, rr := pr(ru)
	t.Logf("Russian forms (%d names): precision %.3f, recall %.3f", ru.tp+ru.fp+ru.fn+ru.tn, rp, rr)
	if precision < 0.97 || recall < 0.95 {
		t.Errorf("precision %.3f, recall %.3f: want at least 0.97 and 0.95", precision, recall)
	}
}

func TestScreenCaches(t *testing.T) {
	t.Parallel()
	m := NewMatcher(embedded(t))
	res := m.Screen([]Item{{Name: "Dahua", Line: 2}, {Name: "Cisco", Line: 3}, {Name: "Dahua", Line: 4}})
	got := []string{res[0].Status(), res[1].Status(), res[2].Status()}
	if diff := cmp.Diff([]string{StatusHit, "clear", StatusHit}, got); diff != "" {
		t.Errorf("Screen statuses mismatch (-want +got):\n%s", diff)
	}
	if res[2].Item.Line != 4 {
		t.Errorf("Screen lost the item of a cached name")
	}
}
