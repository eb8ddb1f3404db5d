package screen

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Match statuses.
const (
	StatusHit      = "hit"       // the name is a listed entity, or its subsidiary, brand or affiliate
	StatusNearMiss = "near-miss" // the name resembles one, or names a former subsidiary: a person should look
)

// Match methods.
const (
	MethodExact    = "exact"    // equal after normalisation
	MethodContains = "contains" // the listed name is a whole word (or words) of the name
	MethodFuzzy    = "fuzzy"    // similar words, scored
)

// A Match ties a screened name to a listed entity.
type Match struct {
	Entity   *Entity
	Status   string  // StatusHit or StatusNearMiss
	Method   string  // MethodExact, MethodContains or MethodFuzzy
	Score    float64 // name similarity, 0 to 1
	Matched  string  // the list's name that matched
	Relation string  // "entity" for the entity's own names, else RelSubsidiary, RelBrand, RelAffiliate, RelFormer
	Why      string  // the explanation, in words
	Source   string  // source ID of the matched name or relation

	words int // words of the matched name
}

// variant is one name the matcher compares against.
type variant struct {
	name     string
	tokens   []string // the normalised words
	words    []word   // the same, with their forms
	han      bool     // a single run of Han characters
	weak     bool
	acronym  bool
	kind     string // name kind, for the entity's own names
	entity   *Entity
	related  *Related // nil for the entity's own names
	source   string
	distinct float64 // total weight of the variant's tokens

	key        string  // the tokens joined by spaces
	allGeneric bool    // every word is generic
	ids        []int32 // the index's IDs of the words
}

// A Matcher matches names against lists. It is immutable and safe for
// concurrent use.
type Matcher struct {
	lists    *Lists
	variants []*variant
	exact    map[string][]*variant // normalised name → variants
	idx      index                 // the words of the variants, to find the variants a name may match
}

// Thresholds of the fuzzy match.
const (
	fuzzyHit      = 0.85 // score at or above which a fuzzy match is a hit
	fuzzyNear     = 0.75 // coverage of the listed name's distinctive words for a near miss
	tokenSimFloor = 0.8  // similarity at which two words are taken as the same word, misspelt
	tokenSimHit   = 0.9  // similarity every distinctive word needs for a fuzzy hit
)

// NewMatcher returns a matcher over the lists.
func NewMatcher(l *Lists) *Matcher {
	m := &Matcher{lists: l, exact: map[string][]*variant{}}
	add := func(v *variant) {
		v.words = parse(v.name)
		if len(v.words) == 0 {
			return
		}
		v.tokens = texts(v.words)
		v.han = len(v.tokens) == 1 && isHanWord(v.tokens[0])
		v.key = strings.Join(v.tokens, " ")
		v.allGeneric = allGeneric(v.words)
		if !v.han && !v.acronym && v.allGeneric {
			// "China Mobile", "Pacific Network": words many companies
			// share; exact only, else a near miss.
			v.weak = true
		}
		for _, w := range v.words {
			v.distinct += weight(w)
		}
		m.variants = append(m.variants, v)
		m.exact[v.key] = append(m.exact[v.key], v)
	}
	for _, e := range l.entities {
		add(&variant{name: e.Name, kind: KindLegal, entity: e, source: e.Listings[0].Source})
		for _, ls := range e.Listings {
			if ls.Name != "" {
				add(&variant{name: ls.Name, kind: KindLegal, entity: e, source: ls.Source})
			}
		}
		for _, n := range e.Names {
			add(&variant{name: n.Name, kind: n.Kind, weak: n.Weak, acronym: n.Kind == KindAcronym, entity: e, source: n.Source})
		}
		for i := range e.Related {
			r := &e.Related[i]
			for _, n := range slices.Concat([]string{r.Name}, r.Aliases) {
				add(&variant{name: n, entity: e, related: r, source: r.Source})
			}
			for _, n := range r.WeakAliases {
				add(&variant{name: n, weak: true, entity: e, related: r, source: r.Source})
			}
		}
	}
	m.idx.build(m.variants)
	return m
}

// Match returns the entities a name matches, at most one match per entity
// (the best), hits first, then by score. Only the first [MaxNameLen] bytes
// of a name are matched (see [TruncateName]).
//
// Its cost grows with the length of the name and hardly with the size of
// the lists: an index finds the few names of the lists that may match.
func (m *Matcher) Match(name string) []Match {
	name, _ = TruncateName(name)
	in := parse(name)
	if len(in) == 0 {
		return nil
	}
	q := query{in: in, key: strings.Join(texts(in), " ")}
	ms := matchSet{best: map[string]Match{}, former: map[string]Match{}}
	m.matchExact(&ms, q.key, strings.TrimSpace(name))
	q.ps = m.idx.pairs(in)
	var cands []int32
	cands, q.hanIn = m.idx.candidates(in, q.ps)
	for _, w := range in {
		q.inTotal += weight(w) // summed in order, as fuzzy did
	}
	for _, id := range cands {
		if v := m.variants[id]; v.key != q.key {
			ms.matchVariant(v, id, q)
		}
	}
	ms.preferFormer()
	return ms.sorted()
}

// A query is a name being matched, parsed and looked up in the index.
type query struct {
	in      []word
	key     string  // the words joined, the key of exact matches
	ps      []pair  // the index's words near each word of the name
	hanIn   []int32 // the Han variants the name contains, sorted
	inTotal float64 // the weight of the name's words
}

// A matchSet keeps the best match of each entity.
type matchSet struct {
	best   map[string]Match // by entity ID
	former map[string]Match // the most specific former-subsidiary match per entity
}

// hit records a match that is a hit, or a near miss when it names a former
// relation.
func (ms *matchSet) hit(mt Match) {
	mt.Status = StatusHit
	if mt.Relation == RelFormer {
		mt.Status = StatusNearMiss
		if prev, ok := ms.former[mt.Entity.ID]; !ok || mt.words > prev.words {
			ms.former[mt.Entity.ID] = mt
		}
	}
	ms.keep(mt)
}

// near records a near miss.
func (ms *matchSet) near(mt Match) {
	mt.Status = StatusNearMiss
	ms.keep(mt)
}

// keep keeps mt when it is better than its entity's match so far.
func (ms *matchSet) keep(mt Match) {
	if prev, ok := ms.best[mt.Entity.ID]; ok && !better(mt, prev) {
		return
	}
	ms.best[mt.Entity.ID] = mt
}

// matchExact records the names that normalise as the name does. Of those,
// it prefers per entity the one written as the input is (raw), else the
// shortest.
func (m *Matcher) matchExact(ms *matchSet, key, raw string) {
	vs := m.exact[key]
	if len(vs) == 0 {
		return
	}
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
		ms.hit(v.match(MethodExact, 1, how+v.describe()))
	}
}

// matchVariant records how a candidate name of the lists (v, index id)
// matches the query, if it does: the same words, an acronym or Han name it
// contains, a run of its words, or a fuzzy match.
func (ms *matchSet) matchVariant(v *variant, id int32, q query) {
	if sameWords(q.in, v.words) {
		// The same words in another grammatical case or alphabet:
		// "Касперского" or "Kasperskiy" for "Kaspersky".
		ms.hit(v.match(MethodExact, 1, "but for inflection or alphabet, the name is "+v.describe()))
		return
	}
	switch {
	case v.acronym:
		if slices.ContainsFunc(pairsOf(q.ps, v.ids[0]), func(p pair) bool { return p.sim == 1 }) {
			ms.hit(v.match(MethodContains, 0.9, fmt.Sprintf("the name has the word %q, %s", v.tokens[0], v.describe())))
		}
	case v.han:
		if _, ok := slices.BinarySearch(q.hanIn, id); ok {
			ms.contains(v, v.name, "word")
		}
	default:
		if i := v.containsRun(q.in, q.ps); i >= 0 {
			run := strings.Join(texts(q.in[i:i+len(v.words)]), " ")
			ms.contains(v, strconv.Quote(run), "name")
			return
		}
		if v.weak {
			return // a common word: only as a whole word of the name
		}
		if mt, ok := v.fuzzy(q.in, q.ps, q.inTotal); ok {
			if mt.Status == StatusHit {
				ms.hit(mt)
			} else {
				ms.near(mt)
			}
		}
	}
}

// contains records that the name contains v, as the text what: a hit, or
// for a weak name (a common word or name, as noun says) a near miss.
func (ms *matchSet) contains(v *variant, what, noun string) {
	mt := v.match(MethodContains, 0.9, "the name contains "+what+", "+v.describe())
	if !v.weak {
		ms.hit(mt)
		return
	}
	mt.Score, mt.Why = 0.6, "the name contains "+what+", a common "+noun+" that is also "+v.describe()
	ms.near(mt)
}

// preferFormer makes a former subsidiary's name ("Huawei Marine Networks")
// a near miss rather than a hit because it also contains a shorter listed
// name ("Huawei").
func (ms *matchSet) preferFormer() {
	for id, f := range ms.former {
		if b := ms.best[id]; b.Status == StatusHit && b.Method == MethodContains && f.words > b.words {
			f.Why += fmt.Sprintf(" (the name also contains %q, which alone would be a hit)", b.Matched)
			ms.best[id] = f
		}
	}
}

// sorted returns the matches kept, hits first, then by score.
func (ms *matchSet) sorted() []Match {
	out := make([]Match, 0, len(ms.best))
	for _, mt := range ms.best {
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

// better reports whether a is a better match than b: a hit beats a near miss,
// then the higher score wins, then the surer method (exact, contains,
// fuzzy), then the closer relation.
func better(a, b Match) bool {
	if (a.Status == StatusHit) != (b.Status == StatusHit) {
		return a.Status == StatusHit
	}
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if ma, mb := methodRank(a.Method), methodRank(b.Method); ma != mb {
		return ma < mb
	}
	return relRank(a.Relation) < relRank(b.Relation)
}

func methodRank(m string) int {
	switch m {
	case MethodExact:
		return 0
	case MethodContains:
		return 1
	}
	return 2
}

func relRank(r string) int {
	switch r {
	case "entity":
		return 0
	case RelSubsidiary:
		return 1
	case RelBrand:
		return 2
	case RelAffiliate:
		return 3
	}
	return 4
}

func (v *variant) match(method string, score float64, why string) Match {
	rel := "entity"
	if v.related != nil {
		rel = v.related.Relation
	}
	return Match{Entity: v.entity, Method: method, Score: score, Matched: v.name, Relation: rel, Why: why, Source: v.source, words: len(v.tokens)}
}

// describe says what the variant is to the listed entity.
func (v *variant) describe() string {
	e := v.entity.Name
	if v.related == nil {
		switch v.kind {
		case KindLegal:
			if v.name == e {
				return "the listed name of " + e
			}
			return fmt.Sprintf("the legal name %q of %s", v.name, e)
		case KindFormerName:
			return fmt.Sprintf("the former name %q of %s", v.name, e)
		case KindBrand:
			return fmt.Sprintf("the brand %q of %s", v.name, e)
		case KindAcronym:
			return fmt.Sprintf("the short name %q of %s", v.name, e)
		default:
			return fmt.Sprintf("the alias %q of %s", v.name, e)
		}
	}
	r := v.related
	as := ""
	if v.name != r.Name {
		as = fmt.Sprintf(" (as %q)", v.name)
	}
	note := ""
	if r.Note != "" {
		note = ": " + r.Note
	}
	switch r.Relation {
	case RelSubsidiary:
		return fmt.Sprintf("%s%s, a subsidiary of %s%s", r.Name, as, e, note)
	case RelBrand:
		return fmt.Sprintf("%s%s, a brand of %s%s", r.Name, as, e, note)
	case RelAffiliate:
		return fmt.Sprintf("%s%s, an affiliate of %s%s", r.Name, as, e, note)
	default:
		return fmt.Sprintf("%s%s, a former subsidiary of %s until %s%s", r.Name, as, e, r.Until, note)
	}
}

// containsRun returns where the variant's words appear together, in order,
// in the words of a name with pairs ps, or -1.
func (v *variant) containsRun(in []word, ps []pair) int {
	for _, p := range pairsOf(ps, v.ids[0]) {
		i := int(p.j)
		if p.sim == 1 && i+len(v.words) <= len(in) && sameWords(in[i:i+len(v.words)], v.words) {
			return i
		}
	}
	return -1
}

func texts(words []word) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w.text
	}
	return out
}

// genericWords are words that many unrelated companies share: they count for
// little in a fuzzy match. Place names are among them.
var genericWords = map[string]bool{
	"technology": true, "technologies": true, "tech": true, "communications": true, "communication": true,
	"telecommunication": true, "telecommunications": true, "telecom": true, "digital": true,
	"network": true, "networks": true, "international": true, "electronics": true, "electronic": true,
	"systems": true, "system": true, "group": true, "holding": true, "holdings": true,
	"investment": true, "investments": true, "trading": true, "industrial": true, "industries": true,
	"science": true, "sciences": true, "information": true, "intelligent": true, "device": true,
	"devices": true, "security": true, "video": true, "services": true, "service": true,
	"solutions": true, "software": true, "cloud": true, "computing": true, "operations": true,
	"equipment": true, "innovations": true, "innovation": true, "aviation": true, "robotics": true,
	"robot": true, "lab": true, "labs": true, "global": true, "mobile": true, "data": true,
	"china": true, "chinese": true, "shenzhen": true, "hangzhou": true, "zhejiang": true,
	"beijing": true, "shanghai": true, "guangdong": true, "hong": true, "kong": true, "usa": true,
	"america": true, "americas": true, "us": true, "uk": true, "europe": true, "asia": true,
	"pacific": true, "united": true, "sz": true,
}

func allGeneric(words []word) bool {
	for _, w := range words {
		if !w.generic {
			return false
		}
	}
	return true
}

// weight is how much a word counts in a fuzzy match: its length, a quarter
// of it for a generic word.
func weight(w word) float64 {
	n := float64(utf8.RuneCountInString(w.text))
	if w.generic {
		return n / 4
	}
	return n
}

// fuzzy compares the words of a name, with pairs ps and total weight
// inTotal, with the variant's. It returns a near miss or a hit with the
// score and an explanation, and false when the name does not resemble the
// variant.
//
// Each of the variant's words, in order, takes the most similar word of
// the name not yet taken (the first of equals); only the name's words it
// pairs with (see [index]) can be similar enough to count.
func (v *variant) fuzzy(in []word, ps []pair, inTotal float64) (Match, bool) {
	if v.han {
		return Match{}, false
	}
	var (
		distTotal, distGot float64 // distinctive words of the variant
		genTotal, genGot   float64 // generic words of the variant
		minDistinct        = 1.0
		anyDistinctMatch   bool
		takenBuf           [8]int // the name's words taken, by the variant's word
		taken              = takenBuf[:0]
		simBuf             [8]float64
		sims               = simBuf[:0]
	)
	isTaken := func(j int) bool { return slices.Contains(taken, j) }
	for k, t := range v.words {
		distinct := v.allGeneric || !t.generic
		n := float64(t.n)
		bestSim, bestJ := 0.0, -1
		for _, p := range pairsOf(ps, v.ids[k]) {
			if j := int(p.j); p.sim > bestSim && !in[j].han && !isTaken(j) {
				bestSim, bestJ = p.sim, j
			}
		}
		taken = append(taken, bestJ)
		sims = append(sims, bestSim)
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
	var notes, missing, extra []string
	for k, t := range v.words {
		j := taken[k]
		if j < 0 {
			missing = append(missing, t.text)
			continue
		}
		w := in[j]
		switch {
		case sims[k] < 1:
			e := edits(w.forms[0], t.forms[0])
			notes = append(notes, fmt.Sprintf("%q ≈ %q (%d edit%s)", w.text, t.text, e, plural(e)))
		case w.text != t.text:
			notes = append(notes, fmt.Sprintf("%q = %q (inflected or in another alphabet)", w.text, t.text))
		}
	}
	// The weight of the words taken, summed in the order of the name.
	used := slices.DeleteFunc(slices.Clone(taken), func(j int) bool { return j < 0 })
	slices.Sort(used)
	var inGot float64
	for _, j := range used {
		inGot += weight(in[j])
	}
	for j, w := range in {
		if !slices.Contains(used, j) {
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

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func round(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// wordSimilarity is 1 for the same word (in another grammatical case or
// transliteration too), else the similarity of the words' transliterations
// when it is at least tokenSimFloor, else 0: a lower similarity counts as
// none.
func wordSimilarity(a, b word) float64 {
	if a.same(b) {
		return 1
	}
	return similarity(a.key, b.key)
}

// similarity is 1 minus the edit distance over the longer length when that
// is at least tokenSimFloor, else 0. Words of three letters or fewer must be
// equal.
func similarity(a, b []rune) float64 {
	if slices.Equal(a, b) {
		return 1
	}
	if len(a) < minFuzzyLen || len(b) < minFuzzyLen {
		return 0
	}
	n := max(len(a), len(b))
	d, ok := editsWithin(a, b, maxEdits(n))
	if !ok {
		return 0
	}
	return 1 - float64(d)/float64(n)
}

func edits(a, b string) int { return levenshtein([]rune(a), []rune(b)) }

// levenshtein returns the edit distance of two words, counting an adjacent
// transposition as one edit (optimal string alignment).
func levenshtein(a, b []rune) int {
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
