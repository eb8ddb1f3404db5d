package screen

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// legalTokens are words of legal form that say nothing about who a company
// is: "Co., Ltd.", "Inc.", "GmbH", "S.A.", "OOO", … They are dropped from
// names, wherever they stand, unless nothing else is left.
var legalTokens = map[string]bool{
	"co": true, "cos": true, "corp": true, "corporation": true, "company": true, "companies": true,
	"inc": true, "incorporated": true, "ltd": true, "limited": true, "llc": true, "llp": true,
	"lp": true, "plc": true, "gmbh": true, "mbh": true, "ag": true, "kg": true, "sa": true,
	"sas": true, "sarl": true, "srl": true, "spa": true, "bv": true, "nv": true, "oy": true,
	"oyj": true, "ab": true, "as": true, "asa": true, "aps": true, "kk": true, "pte": true,
	"pty": true, "sdn": true, "bhd": true, "pvt": true, "jsc": true, "ojsc": true, "pjsc": true,
	"ao": true, "ooo": true, "pao": true, "zao": true, "oao": true, "zrt": true, "kft": true,
	"sro": true, "doo": true, "ltda": true, "cia": true, "sl": true, "slu": true, "ulc": true,
	"lda": true, "the": true, "and": true, "of": true,
	// Cyrillic forms (after lower-casing).
	"ооо": true, "ао": true, "пао": true, "зао": true, "оао": true, "нао": true, "ип": true,
}

// hanSuffixes are Chinese and Japanese legal forms, dropped from the end of a
// run of Han characters, longest first.
var hanSuffixes = []string{
	"股份有限公司", "有限责任公司", "有限責任公司", "集团有限公司", "集團有限公司", "有限公司",
	"股份公司", "株式会社", "集团", "集團", "公司",
}

// Normalize returns the comparable form of a company name: Unicode
// full-width forms folded to ASCII, Latin diacritics removed, lower case,
// punctuation turned into spaces, runs of single letters joined ("S.A." →
// "sa"), legal forms dropped ("Co., Ltd.", "GmbH", "有限公司", "ООО",
// "Акционерное общество") and spaces collapsed. Han characters are kept; a
// run of them is one word. Words keep their endings: the matcher also
// compares Russian words by their stems and Latin transliterations.
func Normalize(s string) string {
	return strings.Join(Tokens(s), " ")
}

// Tokens returns the words of a normalised name.
func Tokens(s string) []string {
	ws := parse(s)
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.text
	}
	return out
}

// parse returns the words of a normalised name with their forms.
func parse(s string) []word {
	var b strings.Builder
	b.Grow(len(s))
	prevHan := false
	for _, r := range s {
		r = fold(r)
		han := isHan(r)
		switch {
		case han:
			if !prevHan {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if prevHan {
				b.WriteByte(' ')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteByte(' ')
		}
		prevHan = han
	}
	raw := strings.Fields(b.String())
	// Join runs of single Latin letters: "s a" → "sa", "l l c" → "llc".
	var words []string
	for i := 0; i < len(raw); i++ {
		if isSingleLetter(raw[i]) {
			j := i
			var run strings.Builder
			for j < len(raw) && isSingleLetter(raw[j]) {
				run.WriteString(raw[j])
				j++
			}
			if j-i > 1 {
				words = append(words, run.String())
				i = j - 1
				continue
			}
		}
		words = append(words, raw[i])
	}
	var out []word
	for _, w := range words {
		if isHanWord(w) {
			w = trimHanSuffix(w)
			if w == "" {
				continue
			}
		} else if legalTokens[w] {
			continue
		}
		out = append(out, newWord(w))
	}
	if len(out) == 0 {
		// A name made only of legal words: keep them.
		for _, w := range words {
			out = append(out, newWord(w))
		}
		return out
	}
	return dropLegalPhrases(out)
}

// isWordRune reports whether r is part of a word: a letter or digit.
func isWordRune(r rune) bool {
	r = fold(r)
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isSingleLetter(w string) bool {
	r, n := utf8.DecodeRuneInString(w)
	return n == len(w) && r < 0x80 && unicode.IsLetter(r)
}

func trimHanSuffix(w string) string {
	for changed := true; changed; {
		changed = false
		for _, suf := range hanSuffixes {
			if len(w) > len(suf) && strings.HasSuffix(w, suf) {
				w = strings.TrimSuffix(w, suf)
				changed = true
			}
		}
	}
	return w
}

// isHan reports whether r is a CJK ideograph (or kana): such text has no
// spaces between words.
func isHan(r rune) bool {
	if r < 0x2E80 { // the first of the three scripts: CJK Radicals Supplement
		return false
	}
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

func isHanWord(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return isHan(r)
}

// fold maps full-width ASCII forms to ASCII, the ideographic space to a
// space, and Latin letters with diacritics to their base letter.
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	case r < 0xC0 || r > 0x17F:
		return r
	}
	if b, ok := latinBase[r]; ok {
		return b
	}
	return r
}

// latinBase maps the letters of Latin-1 Supplement and Latin Extended-A that
// carry diacritics to their base letter.
var latinBase = func() map[rune]rune {
	m := map[rune]rune{}
	add := func(base rune, letters string) {
		for _, r := range letters {
			m[r] = base
		}
	}
	add('a', "àáâãäåāăą")
	add('A', "ÀÁÂÃÄÅĀĂĄ")
	add('c', "çćĉċč")
	add('C', "ÇĆĈĊČ")
	add('d', "ďđ")
	add('D', "ĎĐ")
	add('e', "èéêëēĕėęě")
	add('E', "ÈÉÊËĒĔĖĘĚ")
	add('g', "ĝğġģ")
	add('G', "ĜĞĠĢ")
	add('h', "ĥħ")
	add('H', "ĤĦ")
	add('i', "ìíîïĩīĭįı")
	add('I', "ÌÍÎÏĨĪĬĮİ")
	add('j', "ĵ")
	add('J', "Ĵ")
	add('k', "ķ")
	add('K', "Ķ")
	add('l', "ĺļľŀł")
	add('L', "ĹĻĽĿŁ")
	add('n', "ñńņňŉ")
	add('N', "ÑŃŅŇ")
	add('o', "òóôõöøōŏő")
	add('O', "ÒÓÔÕÖØŌŎŐ")
	add('r', "ŕŗř")
	add('R', "ŔŖŘ")
	add('s', "śŝşš")
	add('S', "ŚŜŞŠ")
	add('t', "ţťŧ")
	add('T', "ŢŤŦ")
	add('u', "ùúûüũūŭůűų")
	add('U', "ÙÚÛÜŨŪŬŮŰŲ")
	add('w', "ŵ")
	add('W', "Ŵ")
	add('y', "ýÿŷ")
	add('Y', "ÝŶŸ")
	add('z', "źżž")
	add('Z', "ŹŻŽ")
	return m
}()
