package screen

import (
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var refNames = flag.Int("refnames", 400, "random names of each kind that TestMatchAgainstReference compares on the embedded lists (fewer on larger lists)")

// TestMatchAgainstReference checks that the indexed matcher returns exactly
// the matches of the unindexed one (refMatch) on the names of the tests,
// generated vendor names, the names of the lists mutated (letters changed,
// dropped, added and swapped, words added and removed, Russian endings), real
// organisation names when ../shared/data is present, and long names; over
// the embedded lists and over made-up lists with many long words.
func TestMatchAgainstReference(t *testing.T) {
	t.Parallel()
	n := *refNames
	if testing.Short() {
		n /= 10
	}
	lists := map[string]*Lists{"embedded": embedded(t), "made-up": madeUpLists(t, 300)}
	if l := with1260H(t); l != nil {
		lists["embedded+1260H"] = l
	}
	realList := realNamesOrNil(t)
	for name, l := range lists {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := NewMatcher(l)
			// The reference costs in proportion to the variants: fewer
			// names for the larger lists.
			n := max(n*150/len(m.variants), 20)
			r := rand.New(rand.NewPCG(3, uint64(len(name))))
			var names []string
			if name == "embedded" {
				names = fixedNames(t)
			}
			names = append(names, genNames(4, n)...)
			for range n {
				names = append(names, mutate(r, m.variants[r.IntN(len(m.variants))].name, m, r.IntN(4)))
			}
			for range min(n, len(realList)) {
				names = append(names, realList[r.IntN(len(realList))])
			}
			for range max(n/100, 3) {
				names = append(names, longName(r, m))
			}
			var hits, near int
			for _, s := range names {
				want := refMatch(m, s)
				if cut, ok := TruncateName(s); ok {
					want = refMatch(m, cut)
				}
				got := m.Match(s)
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(Match{}), cmp.Comparer(func(a, b *Entity) bool { return a == b })); diff != "" {
					t.Fatalf("Match(%.300q) mismatch (-reference +indexed):\n%s", s, diff)
				}
				res := Result{Matches: got}
				switch res.Status() {
				case StatusHit:
					hits++
				case StatusNearMiss:
					near++
				}
			}
			t.Logf("%d names, %d variants: %d hits, %d near misses, all as the reference", len(names), len(m.variants), hits, near)
			if hits == 0 || near == 0 {
				t.Errorf("the names make %d hits and %d near misses: want some of each", hits, near)
			}
		})
	}
}

// fixedNames returns the names of the tests: testdata/eval.csv and
// testdata/vendors.csv.
func fixedNames(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, file := range []string{"testdata/eval.csv", "testdata/vendors.csv"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			out = append(out, row...)
		}
	}
	return out
}

func realNamesOrNil(t *testing.T) []string {
	if _, err := os.Stat(sharedData); err != nil {
		return nil
	}
	return realNames(t)
}

var (
	latinLetters = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
	cyrLetters   = []rune("абвгдежзийклмнопрстуфхцчшщъыьэюя")
	ruEndingsS   = []string{"ого", "ому", "ой", "ая", "ую", "ий", "ым", "а", "у", "е", "ами", "ах"}
	latEndings   = []string{"iy", "ii", "ij", "ogo", "aya", "y", "i", "a", "om", "ov"}
)

// mutate changes a name of the lists up to ops times (0: only case and
// punctuation), the way real names differ from listed ones and a little
// more: letters changed, dropped, added or swapped, words added, dropped
// or merged, endings changed.
func mutate(r *rand.Rand, name string, m *Matcher, ops int) string {
	rs := []rune(name)
	letter := func() rune {
		if len(rs) > 0 && r.IntN(2) == 0 {
			return rs[r.IntN(len(rs))] // a letter of the name: swaps and doubles
		}
		if slices.ContainsFunc(rs, func(c rune) bool { return unicode.Is(unicode.Cyrillic, c) }) {
			return cyrLetters[r.IntN(len(cyrLetters))]
		}
		return latinLetters[r.IntN(len(latinLetters))]
	}
	for range ops {
		if len(rs) == 0 {
			break
		}
		i := r.IntN(len(rs))
		switch r.IntN(9) {
		case 0, 1:
			rs[i] = letter()
		case 2:
			rs = slices.Delete(rs, i, i+1)
		case 3:
			rs = slices.Insert(rs, i, letter())
		case 4:
			if i+1 < len(rs) {
				rs[i], rs[i+1] = rs[i+1], rs[i]
			}
		case 5:
			rs = slices.Insert(rs, i, ' ')
		case 6:
			ws := strings.Fields(string(rs))
			if len(ws) > 1 {
				k := r.IntN(len(ws))
				ws = slices.Delete(ws, k, k+1)
			}
			rs = []rune(strings.Join(ws, " "))
		case 7:
			ends := latEndings
			if len(rs) == 0 {
				break
			}
			if unicode.Is(unicode.Cyrillic, rs[len(rs)-1]) {
				ends = ruEndingsS
			}
			rs = append(rs, []rune(ends[r.IntN(len(ends))])...)
		case 8:
			other := m.variants[r.IntN(len(m.variants))].name
			rs = append(append(rs, ' '), []rune(other)...)
		}
	}
	s := string(rs)
	switch r.IntN(6) {
	case 0:
		s = strings.ToUpper(s)
	case 1:
		s = strings.ToLower(s) + " " + genLegal[r.IntN(len(genLegal))]
	case 2:
		s = genPlaces[r.IntN(len(genPlaces))] + " " + s + " " + genGeneric[r.IntN(len(genGeneric))]
	case 3:
		s = strings.ReplaceAll(s, " ", ".")
	}
	return s
}

// longName returns a name longer than MaxNameLen made of listed names and
// other words, cut inside a word or not.
func longName(r *rand.Rand, m *Matcher) string {
	var b strings.Builder
	for b.Len() < MaxNameLen+r.IntN(200) {
		if r.IntN(3) == 0 {
			b.WriteString(m.variants[r.IntN(len(m.variants))].name)
		} else {
			b.WriteString(genName(r))
		}
		b.WriteByte(" ,-"[r.IntN(3)])
	}
	return b.String()
}

// madeUpLists returns lists of n made-up companies whose names have words of
// 2 to 24 letters, Latin and Cyrillic, with aliases, acronyms and related
// companies, weak and former ones: more variants and more long words than
// the embedded lists.
func madeUpLists(t *testing.T, n int) *Lists {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 5))
	word := func() string {
		const cons, vow = "bcdfghklmnprstvz", "aeiou"
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteByte(cons[r.IntN(len(cons))])
			if b.Len() < 24 {
				b.WriteByte(vow[r.IntN(len(vow))])
			}
		}
		s := b.String()
		if r.IntN(8) == 0 {
			s = translitBack(s)
		}
		rs := []rune(s)
		return string(unicode.ToUpper(rs[0])) + string(rs[1:])
	}
	name := func() string {
		ws := []string{word()}
		for range r.IntN(3) {
			if r.IntN(2) == 0 {
				ws = append(ws, genGeneric[r.IntN(len(genGeneric))])
			} else {
				ws = append(ws, word())
			}
		}
		if r.IntN(2) == 0 {
			ws = append(ws, genLegal[r.IntN(len(genLegal))])
		}
		return strings.Join(ws, " ")
	}
	d := Data{
		Lists:   []ListInfo{{ID: "l", Name: "L", URL: "https://example.org/l"}},
		Sources: []Source{{ID: "s", URL: "https://example.org/s", Date: "2024-01-01", Title: "S"}},
	}
	for i := range n {
		e := Entity{
			ID: fmt.Sprintf("e%d", i), Name: name(),
			Listings: []Listing{{List: "l", Since: "2024-01-01", Scope: "all", Source: "s"}},
		}
		for range r.IntN(3) {
			e.Names = append(e.Names, Name{Name: name(), Kind: []string{KindLegal, KindAlias, KindBrand, KindFormerName}[r.IntN(4)], Weak: r.IntN(10) == 0, Source: "s"})
		}
		if r.IntN(5) == 0 {
			acr := []byte{'A' + byte(r.IntN(26)), 'A' + byte(r.IntN(26)), 'A' + byte(r.IntN(26))}
			e.Names = append(e.Names, Name{Name: string(acr), Kind: KindAcronym, Source: "s"})
		}
		for range r.IntN(3) {
			rel := Related{Name: name(), Relation: []string{RelSubsidiary, RelBrand, RelAffiliate, RelFormer}[r.IntN(4)], Source: "s"}
			if rel.Relation == RelFormer {
				rel.Until = "2020-01-01"
			}
			if r.IntN(3) == 0 {
				rel.Aliases = []string{name()}
			}
			if r.IntN(5) == 0 {
				rel.WeakAliases = []string{word()}
			}
			e.Related = append(e.Related, rel)
		}
		d.Entities = append(d.Entities, e)
	}
	l, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// translitBack writes a Latin word in Cyrillic letters, one for one.
func translitBack(s string) string {
	const lat, cyr = "abcdefghiklmnoprstuvz", "абцдефгхиклмнопрстувз"
	cr := []rune(cyr)
	var b strings.Builder
	for _, c := range s {
		if i := strings.IndexRune(lat, c); i >= 0 {
			b.WriteRune(cr[i])
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func TestTruncateName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", MaxNameLen-4)
	tests := []struct {
		name, in, want string
		cut            bool
	}{
		{"short", "Huawei Technologies", "Huawei Technologies", false},
		{"at the limit", strings.Repeat("a", MaxNameLen), strings.Repeat("a", MaxNameLen), false},
		{"one long word", strings.Repeat("a", 5000), strings.Repeat("a", MaxNameLen), true},
		{"a word split", long + " Huaweiabc", long, true},
		{"a word whole", long + " Hua Acme", long + " Hua", true},
		{"a word ends at the cut", long + ",abc,def", long + ",abc", true},
		{"Han characters", strings.Repeat("华为", 300), strings.Repeat("华为", 170) + "华", true},
		{"Cyrillic word", strings.Repeat("ж", 600), strings.Repeat("ж", 512), true},
		{"a split character", "a" + strings.Repeat("ж", 600), "a" + strings.Repeat("ж", 511), true},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, cut := TruncateName(test.in)
			if got != test.want || cut != test.cut {
				t.Errorf("TruncateName(%.40q...) = %.40q... (%d bytes), %v; want %.40q... (%d bytes), %v", test.in, got, len(got), cut, test.want, len(test.want), test.cut)
			}
			if len(got) > MaxNameLen || !utf8.ValidString(got) {
				t.Errorf("TruncateName(%.40q...) = %d bytes, valid UTF-8 %v", test.in, len(got), utf8.ValidString(got))
			}
		})
	}
}

// TestMatchLongName checks that names of megabytes are matched by their
// first MaxNameLen bytes, in bounded time.
func TestMatchLongName(t *testing.T) {
	t.Parallel()
	m := NewMatcher(embedded(t))
	for _, name := range []string{
		"Huawei " + strings.Repeat("x", 16<<20),
		strings.Repeat("Huawei Technologies ", 1<<20),
		strings.Repeat("华为", 4<<20),
		strings.Repeat("Лаборатория Касперского ", 1<<19),
	} {
		done := make(chan []Match, 1)
		go func() { done <- m.Match(name) }()
		select {
		case ms := <-done:
			if len(ms) == 0 || ms[0].Status != StatusHit {
				t.Errorf("Match(%.40q... of %d bytes) = %+v, want a hit", name, len(name), ms)
			}
		case <-time.After(2 * time.Minute): // a hang detector, not a timing
			t.Fatalf("Match(%.40q... of %d bytes): no answer after 2 minutes", name, len(name))
		}
	}
}
