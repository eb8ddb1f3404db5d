// Package iso holds the rules for the two ISO codes that sovmap's data
// states: country codes (ISO 3166-1 alpha-2) and calendar dates (ISO 8601,
// YYYY-MM-DD). Every package that checks one of them calls this package, so
// that the catalog, the policy and screening lists, the feeds and the
// snapshot agree on what a valid code is.
//
// The rules are about form, not registries: [IsCountry] accepts any two
// upper-case letters, assigned or not, because feeds and catalogs use
// user-assigned codes (XK for Kosovo) and the callers that must refuse
// placeholder codes (ZZ, EU) say so themselves.
package iso

import "time"

// IsCountry reports whether cc has the form of an ISO 3166-1 alpha-2
// country code: exactly two upper-case ASCII letters. Callers that accept
// lower case upper-case the code first.
func IsCountry(cc string) bool {
	return len(cc) == 2 && isUpper(cc[0]) && isUpper(cc[1])
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// IsDate reports whether d is a calendar date in the ISO 8601 extended
// form YYYY-MM-DD: ten bytes, a month from 01 to 12 and a day that the
// month has in that year (2026-02-30 is not a date, 2024-02-29 is).
func IsDate(d string) bool {
	if len(d) != len(time.DateOnly) {
		return false
	}
	_, err := time.Parse(time.DateOnly, d)
	return err == nil
}
