package database

import (
	"strconv"
	"strings"
)

// Placeholders returns n numbered placeholders starting at $first,
// separated by ", ", for an IN list: Placeholders(3, 2) is "$3, $4".
// It returns "" when n is not positive.
func Placeholders(first, n int) string {
	var b strings.Builder
	for i := range max(n, 0) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}
