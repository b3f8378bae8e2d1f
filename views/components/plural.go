package components

import "strconv"

// Plural writes a count with the form of its words that the count takes: "1 attempt",
// "0 attempts", "1 older entry is". Every "n things" the pages and messages show goes through
// it, so that none says "1 attempts".
func Plural[N ~int | ~int64](n N, one, many string) string {
	return strconv.FormatInt(int64(n), 10) + " " + Noun(n, one, many)
}

// Noun is one when n is 1 and many otherwise, for a count written apart from its noun (a
// number in bold, then "jobs").
func Noun[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
