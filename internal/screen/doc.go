// Package screen matches vendor and equipment inventories against
// restricted-entity lists: the FCC Covered List and the companies named in
// NDAA section 889, with their subsidiaries, brands, affiliates and aliases in
// the languages they trade under.
//
// # Lists
//
// The lists are YAML files under data/, written from the official sources and
// embedded in sovmap ([Embedded]). Every listing (with the date it was
// added), every name and every related company cites a source; [New] refuses
// data that does not. Entities may link to company IDs of sovmap's catalog,
// so that policies can flag infrastructure operated by a listed company or
// its affiliates.
//
// # Matching
//
// Names are normalised ([Normalize]): full-width forms folded, diacritics and
// punctuation removed, case folded, legal forms ("Co., Ltd.", "GmbH", "S.A.",
// "有限公司", "ООО", "Акционерное общество") dropped. Russian words are also
// compared by their stems without case endings and by their Latin
// transliterations, so that "Касперского" and "Kasperskiy" are "Kaspersky".
// A [Matcher] then finds, per entity, the best of: an exact match of a listed
// name, alias, subsidiary, brand or affiliate (in any grammatical case); a
// listed name contained in the name as whole words (or, for Chinese, as
// characters); and a fuzzy match of words by edit distance, weighted so that
// generic words (technology, communications, place names) count little. A
// fuzzy match explains itself (which words are near, which are missing or
// extra). Names marked weak (common words such as "Dahua", 大华, "Honor") and
// former subsidiaries (Lorex, Sepura) only ever give near misses.
//
// Only the first [MaxNameLen] bytes of a name are matched ([TruncateName]).
// The matcher indexes the words of the lists (by their forms, and by their
// deletion neighbourhoods for the edit distance), so that a name is compared
// only with the few names of the lists that share or nearly share a word
// with it: its cost grows with its length and hardly with the size of the
// lists. A reference implementation in the tests, the matcher as it was
// before the index, checks that the matches are the same.
//
// # Inventories
//
// [Read] takes a CSV file (the name columns found from the header, or chosen)
// or a CycloneDX JSON SBOM (suppliers, manufacturers, publishers, authors,
// groups and names of components).
package screen
