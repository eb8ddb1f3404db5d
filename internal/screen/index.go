package screen

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// The index finds, for the words of a name, the words of the lists that are
// the same or nearly the same, and from them the few variants that can
// match the name, so that a name costs about the same whatever the size of
// the lists, and in proportion to its length: [Matcher.Match] runs its
// variant loop on those variants only, and looks the words of a variant up
// in the pairs found rather than comparing them with every word of the name.
//
// Two words pair when they are the same (share a form: found in forms) or
// have a similarity of at least tokenSimFloor (within maxEdits edits,
// transpositions included). Similar words are found by their deletion
// neighbourhoods (two words within k edits become the same string after at
// most k deletions from each) for words of up to shortWord letters, and by
// comparing with the list's words of about the same length for longer ones,
// which company names rarely have.
//
// A variant can match a name only if
//
//   - a word of the name is the same as the variant's first word (the same
//     name in another case or alphabet, a contained name, an acronym);
//   - a Han word of the name contains the variant's Han name, found by
//     looking every substring of the lengths in hanLens up in han;
//   - or, for a fuzzy match, a word of the name pairs with a distinctive word
//     of the variant.
//
// Every candidate is then matched as before, so the index may find too many
// variants but never too few; TestMatchAgainstReference checks this against
// the unindexed matcher.
type index struct {
	words   []indexedWord      // the distinct words of the variants
	forms   map[string][]int32 // a form → the words with that form
	dels    map[uint64][]int32 // hash of a deletion of a short word → words
	byLen   [][]int32          // words of at least minFuzzyLen letters by letters
	han     map[string][]int32 // a variant's Han name → the variants
	hanLens []int              // the byte lengths of the keys of han
}

// An indexedWord is a word of the variants, with the variants it may make a
// candidate.
type indexedWord struct {
	word
	first    []int32 // the variants it is the first word of
	distinct []int32 // the fuzzy-matched variants it is a distinctive word of
}

// A pair is a word of a name (at j) paired with a word of the lists, and
// their similarity (wordSimilarity): 1 for the same word.
type pair struct {
	id  int32 // the list's word
	j   int32 // the name's word
	sim float64
}

// shortWord is the longest word whose deletion neighbourhood is indexed: up
// to it, words within the fuzzy distance are at most two edits apart.
const shortWord = 14

// minFuzzyLen is the fewest letters of a word compared by edit distance
// (see similarity).
const minFuzzyLen = 4

// maxEdits returns the most edits two words, the longer of n letters, may
// differ by and still have a similarity of at least tokenSimFloor (computed
// as similarity does, so that the two agree on every length).
func maxEdits(n int) int {
	d := 0
	for d < n && 1-float64(d+1)/float64(n) >= tokenSimFloor {
		d++
	}
	return d
}

// neighbourEdits returns the most edits a word of n letters may differ from
// a word of at most shortWord letters within the fuzzy distance.
func neighbourEdits(n int) int {
	d := 0
	for m := minFuzzyLen; m <= shortWord; m++ {
		if l := max(n, m); l <= shortWord && abs(n-m) <= maxEdits(l) {
			d = max(d, maxEdits(l))
		}
	}
	return d
}

// maxEditsOf and neighbourEditsOf hold maxEdits and neighbourEdits for
// words of up to maxTabled letters.
const maxTabled = 64

var maxEditsOf, neighbourEditsOf = func() (a, b [maxTabled + 1]int) {
	for n := range a {
		a[n], b[n] = maxEdits(n), neighbourEdits(n)
	}
	return a, b
}()

func editsFor(n int) int {
	if n <= maxTabled {
		return maxEditsOf[n]
	}
	return maxEdits(n)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// addID appends id to ids unless it is already the last one.
func addID(ids []int32, id int32) []int32 {
	if len(ids) > 0 && ids[len(ids)-1] == id {
		return ids
	}
	return append(ids, id)
}

// build indexes the variants, and sets their word IDs.
func (x *index) build(vs []*variant) {
	x.forms = map[string][]int32{}
	x.han = map[string][]int32{}
	x.dels = map[uint64][]int32{}
	wordID := map[string]int32{}
	for i, v := range vs {
		id := int32(i)
		v.ids = make([]int32, len(v.words))
		for k, w := range v.words {
			wid, ok := wordID[w.text]
			if !ok {
				wid = int32(len(x.words))
				wordID[w.text] = wid
				x.words = append(x.words, indexedWord{word: w})
			}
			v.ids[k] = wid
			iw := &x.words[wid]
			if k == 0 {
				iw.first = addID(iw.first, id)
			}
			fuzzy := !v.han && !v.acronym && !v.weak
			if fuzzy && (v.allGeneric || !w.generic) && w.n >= minFuzzyLen {
				iw.distinct = addID(iw.distinct, id)
			}
		}
		if v.han {
			t := v.tokens[0]
			x.han[t] = addID(x.han[t], id)
			if !slices.Contains(x.hanLens, len(t)) {
				x.hanLens = append(x.hanLens, len(t))
			}
		}
	}
	slices.Sort(x.hanLens)
	for wid, w := range x.words {
		id := int32(wid)
		for _, f := range w.forms {
			x.forms[f] = addID(x.forms[f], id)
		}
		n := len(w.key)
		if n < minFuzzyLen || w.han {
			continue
		}
		for len(x.byLen) <= n {
			x.byLen = append(x.byLen, nil)
		}
		x.byLen[n] = append(x.byLen[n], id)
		if n <= shortWord {
			deletions(w.key, neighbourEditsOf[n], func(h uint64) {
				x.dels[h] = addID(x.dels[h], id)
			})
		}
	}
}

// pairs returns the pairs of the words of a name with the words of the
// lists, by list word, then by word of the name.
func (x *index) pairs(in []word) []pair {
	var out []pair
	var near []int32
	for j, w := range in {
		j := int32(j)
		for _, f := range w.forms {
			for _, id := range x.forms[f] {
				out = append(out, pair{id, j, 1})
			}
		}
		a := w.key
		la := len(a)
		if w.han || la < minFuzzyLen {
			continue
		}
		// The list's words that may be near: sharing a deletion, or, for
		// pairs with a word longer than shortWord, of about the same length.
		near = near[:0]
		if la <= shortWord {
			deletions(a, neighbourEditsOf[la], func(h uint64) {
				near = append(near, x.dels[h]...)
			})
		}
		for lb := minFuzzyLen; lb < len(x.byLen); lb++ {
			if l := max(la, lb); l > shortWord && abs(la-lb) <= editsFor(l) {
				near = append(near, x.byLen[lb]...)
			}
		}
		slices.Sort(near)
		for _, id := range slices.Compact(near) {
			b := x.words[id].key
			if _, ok := editsWithin(a, b, editsFor(max(la, len(b)))); ok {
				out = append(out, pair{id, j, wordSimilarity(x.words[id].word, w)})
			}
		}
	}
	slices.SortFunc(out, func(a, b pair) int {
		if a.id != b.id {
			return int(a.id - b.id)
		}
		return int(a.j - b.j)
	})
	return slices.CompactFunc(out, func(a, b pair) bool { return a.id == b.id && a.j == b.j })
}

// pairsOf returns the pairs of the list's word id, in the order of the
// name's words.
func pairsOf(ps []pair, id int32) []pair {
	i, _ := slices.BinarySearchFunc(ps, id, func(p pair, id int32) int { return int(p.id - id) })
	j := i
	for j < len(ps) && ps[j].id == id {
		j++
	}
	return ps[i:j]
}

// candidates returns the variants that may match a name of the words in,
// with pairs ps, in ascending order, and those of them whose Han name a
// word of the name contains.
func (x *index) candidates(in []word, ps []pair) (cands, han []int32) {
	for _, p := range ps {
		w := &x.words[p.id]
		if p.sim == 1 {
			cands = append(cands, w.first...)
		}
		cands = append(cands, w.distinct...)
	}
	if len(x.hanLens) > 0 {
		for _, w := range in {
			if !w.han {
				continue
			}
			for i := range w.text {
				for _, n := range x.hanLens {
					if i+n > len(w.text) {
						break
					}
					han = append(han, x.han[w.text[i:i+n]]...)
				}
			}
		}
		slices.Sort(han)
		han = slices.Compact(han)
		cands = append(cands, han...)
	}
	slices.Sort(cands)
	return slices.Compact(cands), han
}

// Hashing of deletions: a polynomial hash of the letters, so that the hash
// of a word with one or two letters deleted is computed from prefix and
// suffix hashes in constant time. Equal strings hash alike; a collision only
// adds a candidate, which the edit distance then rejects.
const hashBase = 0x9e3779b97f4a7c15

// deletions calls f with the hashes of the strings left by deleting up to d
// (at most 2) letters of a, a word of at most shortWord letters. A string
// may be reported more than once.
func deletions(a []rune, d int, f func(uint64)) {
	n := len(a)
	var pre, suf, pow [shortWord + 2]uint64
	pow[0] = 1
	for i := range n {
		pre[i+1] = pre[i]*hashBase + uint64(a[i])
		pow[i+1] = pow[i] * hashBase
	}
	for i := n - 1; i >= 0; i-- {
		suf[i] = uint64(a[i])*pow[n-1-i] + suf[i+1]
	}
	fin := func(h uint64, length int) uint64 {
		h ^= uint64(length) * 0xff51afd7ed558ccd
		h ^= h >> 33
		h *= 0xc4ceb9fe1a85ec53
		return h ^ h>>29
	}
	f(fin(pre[n], n))
	if d < 1 {
		return
	}
	for i := range n {
		f(fin(pre[i]*pow[n-1-i]+suf[i+1], n-1))
	}
	if d < 2 {
		return
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			mid := pre[j] - pre[i+1]*pow[j-i-1]
			f(fin((pre[i]*pow[j-i-1]+mid)*pow[n-1-j]+suf[j+1], n-2))
		}
	}
}

// editsWithin returns the edit distance of a and b, counting an adjacent
// transposition as one edit (optimal string alignment), and true, when it is
// at most k; else false. It stops as soon as every alignment costs more than
// k: the least value of a row of the table never decreases.
func editsWithin(a, b []rune, k int) (int, bool) {
	if abs(len(a)-len(b)) > k {
		return 0, false
	}
	if len(a) == 0 || len(b) == 0 {
		return max(len(a), len(b)), true
	}
	var buf [3][shortWord + 8]int
	var prev2, prev, cur []int
	if len(b) < len(buf[0]) {
		prev2, prev, cur = buf[0][:len(b)+1], buf[1][:len(b)+1], buf[2][:len(b)+1]
	} else {
		prev2, prev, cur = make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		least := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			c := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				c = min(c, prev2[j-2]+1)
			}
			cur[j] = c
			least = min(least, c)
		}
		if least > k {
			return 0, false
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if d := prev[len(b)]; d <= k {
		return d, true
	}
	return 0, false
}

// MaxNameLen is the most bytes of a name that are matched: [Matcher.Match]
// and the inventory readers cut longer names (see [TruncateName]).
const MaxNameLen = 1024

// TruncateName cuts a name to at most MaxNameLen bytes, at a boundary of
// characters and, when the cut would split a word of Latin or Cyrillic
// letters, before that word (a piece of a word could match a listed name the
// whole word does not). It reports whether the name was cut.
func TruncateName(s string) (string, bool) {
	if len(s) <= MaxNameLen {
		return s, false
	}
	cut := MaxNameLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	inWord := func(r rune) bool { return isWordRune(r) && !isHan(fold(r)) }
	after, _ := utf8.DecodeRuneInString(s[cut:])
	before, _ := utf8.DecodeLastRuneInString(s[:cut])
	if inWord(after) && inWord(before) {
		if i := strings.LastIndexFunc(s[:cut], func(r rune) bool { return !inWord(r) }); i > 0 {
			cut = i
		}
	}
	return s[:cut], true
}
