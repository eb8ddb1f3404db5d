package ipindex

import "slices"

// SortU128 sorts numbers in increasing order, for the tests that build
// tables from random segment starts.
func SortU128(s []U128) {
	slices.SortFunc(s, func(a, b U128) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
}
