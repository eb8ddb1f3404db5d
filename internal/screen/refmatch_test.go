package screen

// The matcher as it was before it was indexed (sovmap issue #10): names
// normalised as they were, every name compared with every variant of the
// lists, words compared by a full edit distance. It is slow and obviously
// right; TestMatchAgainstReference checks that the indexed matcher returns
// the same matches. The variants are the matcher's.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// refMatch returns the entities a name matches, at most one match per entity
// (the best), hits first, then by score.
func refMatch(m *Matcher, name string) []Match {
	in := refParse(name)
	if len(in) == 0 {
		return nil
	}
	best := map[string]Match{}
	former := map[string]Match{} // the most specific former-subsidiary match per entity
	consider := func(mt Match) {
		mt.Status = StatusHit
		if mt.Relation == RelFormer {
			mt.Status = StatusNearMiss
			if prev, ok := former[mt.Entity.ID]; !ok || mt.words > prev.words {
				former[mt.Entity.ID] = mt
			}
		}
		if prev, ok := best[mt.Entity.ID]; ok && !better(mt, prev) {
			return
		}
		best[mt.Entity.ID] = mt
	}
	near := func(mt Match) {
		mt.Status = StatusNearMiss
		if prev, ok := best[mt.Entity.ID]; ok && !better(mt, prev) {
			return
		}
		best[mt.Entity.ID] = mt
	}
	key := strings.Join(texts(in), " ")
	if vs := m.exact[key]; len(vs) > 0 {
		// Of the names that normalise alike, prefer per entity the one
		// written as the input is, else the shortest.
		raw := strings.TrimSpace(name)
		chosen := map[string]*variant{}
		for _, v := range vs {
			c := chosen[v.entity.ID]
			switch {
			case c == nil, strings.EqualFold(v.name, raw) && !strings.EqualFold(c.name, raw),
				!strings.EqualFold(c.name, raw) && len(v.name) < len(c.name):
				chosen[v.entity.ID] = v
			}
		}
		for _, v := range vs {
			if chosen[v.entity.ID] != v {
				continue
			}
			how := "the name is "
			if !strings.EqualFold(v.name, raw) {
				how = "but for legal form, case and punctuation, the name is "
			}
			consider(v.match(MethodExact, 1, how+v.describe()))
		}
	}
	for _, v := range m.variants {
		if strings.Join(v.tokens, " ") == key {
			continue
		}
		if sameWords(in, v.words) {
			// The same words in another grammatical case or alphabet:
			// "Касперского" or "Kasperskiy" for "Kaspersky".
			consider(v.match(MethodExact, 1, "but for inflection or alphabet, the name is "+v.describe()))
			continue
		}
		switch {
		case v.acronym:
			if slices.ContainsFunc(in, v.words[0].same) {
				consider(v.match(MethodContains, 0.9, fmt.Sprintf("the name has the word %q, %s", v.tokens[0], v.describe())))
			}
		case v.han:
			if refHanContains(in, v.tokens[0]) {
				mt := v.match(MethodContains, 0.9, fmt.Sprintf("the name contains %s, %s", v.name, v.describe()))
				if v.weak {
					mt.Score = 0.6
					mt.Why = fmt.Sprintf("the name contains %s, a common word that is also %s", v.name, v.describe())
					near(mt)
				} else {
					consider(mt)
				}
			}
		default:
			if i := refContainsRun(in, v.words); i >= 0 {
				run := strings.Join(texts(in[i:i+len(v.words)]), " ")
				mt := v.match(MethodContains, 0.9, fmt.Sprintf("the name contains %q, %s", run, v.describe()))
				if v.weak {
					mt.Score = 0.6
					mt.Why = fmt.Sprintf("the name contains %q, a common name that is also %s", run, v.describe())
					near(mt)
				} else {
					consider(mt)
				}
				continue
			}
			if v.weak {
				continue // a common word: only as a whole word of the name
			}
			if mt, ok := refFuzzy(v, in); ok {
				if mt.Status == StatusHit {
					consider(mt)
				} else {
					near(mt)
				}
			}
		}
	}
	// A name of a former subsidiary ("Huawei Marine Networks") is not a hit
	// because it also contains a shorter listed name ("Huawei").
	for id, f := range former {
		if b := best[id]; b.Status == StatusHit && b.Method == MethodContains && f.words > b.words {
			f.Why += fmt.Sprintf(" (the name also contains %q, which alone would be a hit)", b.Matched)
			best[id] = f
		}
	}
	out := make([]Match, 0, len(best))
	for _, mt := range best {
		out = append(out, mt)
	}
	sort.Slice(out, func(i, j int) bool {
		if better(out[i], out[j]) != better(out[j], out[i]) {
			return better(out[i], out[j])
		}
		return out[i].Entity.ID < out[j].Entity.ID
	})
	return out
}

// refFuzzy compares the words of a name with the variant's. It returns a near
// miss or a hit with the score and an explanation, and false when the name
// does not resemble the variant.
func refFuzzy(v *variant, in []word) (Match, bool) {
	if v.han {
		return Match{}, false
	}
	allGeneric := allGeneric(v.words)
	var (
		distTotal, distGot float64 // distinctive words of the variant
		genTotal, genGot   float64 // generic words of the variant
		minDistinct        = 1.0
		used               = make([]bool, len(in))
		notes              []string
		missing            []string
		anyDistinctMatch   bool
	)
	for _, t := range v.words {
		distinct := allGeneric || !t.generic
		n := float64(utf8.RuneCountInString(t.text))
		bestSim, bestJ := 0.0, -1
		for j, w := range in {
			if used[j] || isHanWord(w.text) {
				continue
			}
			if s := refWordSimilarity(t, w); s > bestSim {
				bestSim, bestJ = s, j
			}
		}
		if bestSim < tokenSimFloor {
			bestSim, bestJ = 0, -1
		}
		if bestJ >= 0 {
			used[bestJ] = true
			w := in[bestJ]
			switch {
			case bestSim < 1:
				e := refEdits(w.forms[0], t.forms[0])
				notes = append(notes, fmt.Sprintf("%q ≈ %q (%d edit%s)", w.text, t.text, e, plural(e)))
			case w.text != t.text:
				notes = append(notes, fmt.Sprintf("%q = %q (inflected or in another alphabet)", w.text, t.text))
			}
		} else {
			missing = append(missing, t.text)
		}
		if distinct {
			distTotal += n
			distGot += n * bestSim
			if bestSim < minDistinct {
				minDistinct = bestSim
			}
			if bestSim >= tokenSimFloor && n >= 4 {
				anyDistinctMatch = true
			}
		} else {
			genTotal += n
			genGot += n * bestSim
		}
	}
	if distTotal == 0 || !anyDistinctMatch {
		return Match{}, false
	}
	cd := distGot / distTotal
	if cd < fuzzyNear {
		return Match{}, false
	}
	cg := 1.0
	if genTotal > 0 {
		cg = genGot / genTotal
	}
	var inTotal, inGot float64
	var extra []string
	for j, w := range in {
		inTotal += weight(w)
		if used[j] {
			inGot += weight(w)
		} else {
			extra = append(extra, w.text)
		}
	}
	p := inGot / inTotal
	score := (0.8*cd + 0.2*cg) * (0.7 + 0.3*p)
	var why strings.Builder
	fmt.Fprintf(&why, "the name resembles %s", v.describe())
	if len(notes) > 0 {
		fmt.Fprintf(&why, "; %s", strings.Join(notes, ", "))
	}
	if len(missing) > 0 {
		fmt.Fprintf(&why, "; missing %s", strings.Join(missing, " "))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&why, "; other words %s", strings.Join(extra, " "))
	}
	mt := v.match(MethodFuzzy, round(score), why.String())
	mt.Status = StatusNearMiss
	if minDistinct >= tokenSimHit && cd >= 0.95 && score >= fuzzyHit {
		mt.Status = StatusHit
	}
	return mt, true
}

// refWordSimilarity is 1 for the same word (in another grammatical case or
// transliteration too), else the similarity of the words' transliterations.
func refWordSimilarity(a, b word) float64 {
	if a.same(b) {
		return 1
	}
	return refSimilarity(a.forms[0], b.forms[0])
}

// refSimilarity is 1 minus the edit distance over the longer length. Words of
// three letters or fewer must be equal.
func refSimilarity(a, b string) float64 {
	if a == b {
		return 1
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) <= 3 || len(rb) <= 3 {
		return 0
	}
	n := max(len(ra), len(rb))
	return 1 - float64(refLevenshtein(ra, rb))/float64(n)
}

func refEdits(a, b string) int { return refLevenshtein([]rune(a), []rune(b)) }

// refLevenshtein returns the edit distance of two words, counting an adjacent
// transposition as one edit (optimal string alignment).
func refLevenshtein(a, b []rune) int {
	if len(a) == 0 {
		return len(b)
	}
	if len(b) == 0 {
		return len(a)
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// refContainsRun returns where the words of sub appear together, in order,
// in words, or -1.
func refContainsRun(words, sub []word) int {
	if len(sub) == 0 {
		return -1
	}
	for i := 0; i+len(sub) <= len(words); i++ {
		if sameWords(words[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// refHanContains reports whether a Han word of words contains han.
func refHanContains(words []word, han string) bool {
	for _, w := range words {
		if isHanWord(w.text) && strings.Contains(w.text, han) {
			return true
		}
	}
	return false
}

// refParse returns the words of a normalised name with their forms.
func refParse(s string) []word {
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
		out = append(out, refNewWord(w))
	}
	if len(out) == 0 {
		// A name made only of legal words: keep them.
		for _, w := range words {
			out = append(out, refNewWord(w))
		}
		return out
	}
	return refDropLegalPhrases(out)
}

// refNewWord returns a normalised word with its forms.
func refNewWord(t string) word {
	if isHanWord(t) {
		return word{text: t, forms: []string{t}}
	}
	key := refTranslit(t)
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
				add(refTranslit(strings.TrimSuffix(t, e.s)), e.fem)
			}
		}
	case last < utf8.RuneSelf:
		for _, e := range skEndings {
			if strings.HasSuffix(key, "sk"+e.s) && len(key)-len(e.s) >= 5 {
				add(strings.TrimSuffix(key, e.s), e.fem)
			}
		}
	}
	for _, f := range w.forms {
		if strings.HasSuffix(f, "/f") {
			continue
		}
		for stem, en := range ruGeneric {
			if strings.HasPrefix(f, stem) && latinEndings[f[len(stem):]] && !slices.Contains(w.forms, en) {
				w.forms = append(w.forms, en)
			}
		}
	}
	w.generic = slices.ContainsFunc(w.forms, func(f string) bool { return genericWords[f] })
	return w
}

// refDropLegalPhrases removes Russian legal forms written out, unless nothing
// else is left.
func refDropLegalPhrases(ws []word) []word {
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

// refTranslit writes the Cyrillic letters of a lower-case word in Latin letters
// (the BGN/PCGN romanisation without its apostrophes and diacritics: х is
// kh, й and ы are y, ь and ъ are dropped). Other letters are kept.
func refTranslit(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) {
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
