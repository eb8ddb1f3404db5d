package screen

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A word is a word of a normalised name with the forms it is compared by.
// Russian names change their endings with grammatical case ("Лаборатория
// Касперского", "Лабораторией Касперского", "Касперский") and are written in
// Latin letters in several ways ("Kaspersky", "Kasperskiy", "Kasperskogo"):
// two words are the same word when they share a form.
type word struct {
	text string
	// forms holds the Latin transliteration of text first ("kasperskogo"),
	// then its stems without case endings ("kaspersk"), and for a Russian
	// generic word the English one ("технологии": "technologies"). A stem
	// left by a feminine ending only ("-ая", "-ую") ends in "/f", so that
	// "Касперская" (a woman's surname) is not "Kaspersky". A Han word's
	// only form is itself.
	forms   []string
	generic bool   // a word many companies share: it counts for little
	han     bool   // a run of Han characters (or kana)
	key     []rune // forms[0], for edit distances
	n       int    // letters of text
}

// minStem is the fewest letters a Cyrillic word keeps when a case ending is
// stripped: shorter words are left whole.
const minStem = 4

// ending is a case or gender ending; fem says whether it is feminine only
// (ruFem), feminine or not (ruEither), or not feminine (0).
type ending struct {
	s   string
	fem int
}

const (
	ruFem    = 1
	ruEither = 2
)

// ruEndings are the case endings of Russian nouns and adjectives.
var ruEndings = []ending{
	{"ого", 0}, {"его", 0}, {"ому", 0}, {"ему", 0}, {"ими", 0}, {"ыми", 0}, {"ами", 0}, {"ями", 0},
	{"ий", 0}, {"ый", 0}, {"ых", 0}, {"их", 0}, {"ым", 0}, {"им", 0}, {"ах", 0}, {"ях", 0},
	{"ам", 0}, {"ям", 0}, {"ов", 0}, {"ев", 0}, {"ом", 0}, {"ем", 0}, {"ие", 0}, {"ые", 0},
	{"ое", 0}, {"ее", 0}, {"ой", ruEither}, {"ей", ruEither}, {"ая", ruFem}, {"яя", ruFem},
	{"ую", ruFem}, {"юю", ruFem},
	{"у", 0}, {"ю", 0}, {"а", 0}, {"я", 0}, {"ы", 0}, {"и", 0}, {"е", 0}, {"о", 0}, {"ь", 0},
}

// skEndings are the endings of Russian adjectives and surnames in "-sk-" as
// they are transliterated: Kaspersky, Kasperskiy, Kasperskii, Kasperskij,
// Kasperskogo, Kasperskaya. A bare "-i" is not one: "Kasperski" is also a
// Polish surname.
var skEndings = []ending{
	{"y", 0}, {"iy", 0}, {"ii", 0}, {"ij", 0}, {"yi", 0}, {"yy", 0}, {"ogo", 0}, {"omu", 0},
	{"im", 0}, {"ym", 0}, {"om", 0}, {"ikh", 0}, {"ih", 0},
	{"oy", ruEither}, {"oi", ruEither}, {"oj", ruEither},
	{"aya", ruFem}, {"aja", ruFem}, {"aia", ruFem}, {"uyu", ruFem}, {"uju", ruFem},
}

// ruGeneric maps the transliterated stems of Russian generic words to the
// English generic word they mean, so that "Технологии" and "Tekhnologii" are
// "technologies". A Latin word is one of them when it is the stem and one of
// latinEndings.
var ruGeneric = map[string]string{
	"tekhnologi":    "technologies",
	"laboratori":    "lab",
	"sistem":        "systems",
	"kommunikatsi":  "communications",
	"telekom":       "telecom",
	"grupp":         "group",
	"kholding":      "holding",
	"tsifrov":       "digital",
	"informatsionn": "information",
	"bezopasnost":   "security",
	"servis":        "services",
	"resheni":       "solutions",
	"elektronik":    "electronics",
	"mezhdunarodn":  "international",
	"investitsi":    "investment",
	"oborudovani":   "equipment",
	"innovatsi":     "innovation",
}

// skSuffixes are the skEndings after "sk".
var skSuffixes = func() []string {
	out := make([]string, len(skEndings))
	for i, e := range skEndings {
		out[i] = "sk" + e.s
	}
	return out
}()

// ruGenericStems holds ruGeneric as a slice, sorted by stem, and
// minGenericStem is the length of its shortest stem.
var ruGenericStems, minGenericStem = func() ([]struct{ stem, en string }, int) {
	var out []struct{ stem, en string }
	least := 0
	for stem, en := range ruGeneric {
		out = append(out, struct{ stem, en string }{stem, en})
		if least == 0 || len(stem) < least {
			least = len(stem)
		}
	}
	slices.SortFunc(out, func(a, b struct{ stem, en string }) int { return strings.Compare(a.stem, b.stem) })
	return out, least
}()

// latinEndings are the case endings of Russian nouns and adjectives as they
// are transliterated.
var latinEndings = map[string]bool{
	"": true, "a": true, "e": true, "i": true, "o": true, "u": true, "y": true, "ii": true, "ie": true,
	"iy": true, "ya": true, "ia": true, "iya": true, "yu": true, "iu": true, "iyu": true, "ey": true,
	"ei": true, "oy": true, "oi": true, "om": true, "ov": true, "am": true, "ami": true, "akh": true,
	"ah": true, "ykh": true, "ikh": true, "ym": true, "im": true, "ymi": true, "imi": true, "ye": true,
	"iye": true, "yam": true, "yami": true, "yakh": true, "iyam": true, "iyami": true, "iyakh": true,
}

// ruLegalPhrases are Russian legal forms written out, dropped from names in
// any grammatical case ("Акционерного общества «Лаборатория Касперского»").
// Their abbreviations (ООО, АО, ПАО) are legal tokens.
var ruLegalPhrases = func() [][]word {
	var out [][]word
	for _, p := range []string{
		"общество с ограниченной ответственностью",
		"публичное акционерное общество",
		"непубличное акционерное общество",
		"закрытое акционерное общество",
		"открытое акционерное общество",
		"акционерное общество",
		"индивидуальный предприниматель",
	} {
		var ws []word
		for _, t := range strings.Fields(p) {
			ws = append(ws, newWord(t))
		}
		out = append(out, ws)
	}
	return out
}()

// legalPhraseStart reports whether a form is a form of the first word of a
// Russian legal phrase: no phrase starts at a word without one.
func legalPhraseStart(f string) bool { return legalPhraseStarts[f] }

var legalPhraseStarts = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range ruLegalPhrases {
		for _, f := range p[0].forms {
			m[f] = true
		}
	}
	return m
}()

// newWord returns a normalised word with its forms.
func newWord(t string) word {
	if isHanWord(t) {
		return word{text: t, forms: []string{t}, han: true, key: []rune(t), n: utf8.RuneCountInString(t)}
	}
	key := translit(t)
	w := word{text: t, forms: []string{key}}
	add := func(stem string, fem int) {
		if fem != ruFem {
			w.forms = append(w.forms, stem)
		}
		if fem != 0 {
			w.forms = append(w.forms, stem+"/f")
		}
	}
	last, _ := utf8.DecodeLastRuneInString(t)
	switch {
	case unicode.Is(unicode.Cyrillic, last):
		n := utf8.RuneCountInString(t)
		for _, e := range ruEndings {
			if strings.HasSuffix(t, e.s) && n-utf8.RuneCountInString(e.s) >= minStem {
				add(translit(strings.TrimSuffix(t, e.s)), e.fem)
			}
		}
	case last < utf8.RuneSelf:
		if strings.Contains(key, "sk") {
			for i, e := range skEndings {
				if strings.HasSuffix(key, skSuffixes[i]) && len(key)-len(e.s) >= 5 {
					add(strings.TrimSuffix(key, e.s), e.fem)
				}
			}
		}
	}
	for _, f := range w.forms {
		if strings.HasSuffix(f, "/f") || len(f) < minGenericStem {
			continue
		}
		for _, g := range ruGenericStems {
			if strings.HasPrefix(f, g.stem) && latinEndings[f[len(g.stem):]] && !slices.Contains(w.forms, g.en) {
				w.forms = append(w.forms, g.en)
			}
		}
	}
	w.generic = slices.ContainsFunc(w.forms, func(f string) bool { return genericWords[f] })
	w.key = []rune(key)
	w.n = utf8.RuneCountInString(t)
	return w
}

// same reports whether a and b are the same word: equal, or sharing a stem
// or transliteration.
func (a word) same(b word) bool {
	if a.text == b.text {
		return true
	}
	for _, f := range a.forms {
		if slices.Contains(b.forms, f) {
			return true
		}
	}
	return false
}

// sameWords reports whether a and b are the same words in the same order.
func sameWords(a, b []word) bool {
	return slices.EqualFunc(a, b, word.same)
}

// dropLegalPhrases removes Russian legal forms written out, unless nothing
// else is left.
func dropLegalPhrases(ws []word) []word {
	if !slices.ContainsFunc(ws, func(w word) bool { return slices.ContainsFunc(w.forms, legalPhraseStart) }) {
		return ws
	}
	var out []word
	for i := 0; i < len(ws); {
		n := 0
		for _, p := range ruLegalPhrases {
			if i+len(p) <= len(ws) && sameWords(ws[i:i+len(p)], p) {
				n = len(p)
				break
			}
		}
		if n == 0 {
			out = append(out, ws[i])
			n = 1
		}
		i += n
	}
	if len(out) == 0 {
		return ws
	}
	return out
}

// translit writes the Cyrillic letters of a lower-case word in Latin letters
// (the BGN/PCGN romanisation without its apostrophes and diacritics: х is
// kh, й and ы are y, ь and ъ are dropped). Other letters are kept.
func translit(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x400 && unicode.Is(unicode.Cyrillic, r) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if l, ok := cyrLatin[r]; ok {
			b.WriteString(l)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var cyrLatin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z",
	'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r",
	'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh",
	'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya",
	// Ukrainian and Belarusian letters.
	'і': "i", 'ї': "yi", 'є': "ye", 'ґ': "g", 'ў': "u",
}
