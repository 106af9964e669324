package emailaddr

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// writingSystems are the script combinations Unicode TS #39 treats as one
// script because one language writes with them together (its "augmented
// script sets"): Japanese, Korean and Chinese with Bopomofo. Any other
// combination of two scripts in one part is a mixed-script part.
var writingSystems = [][]string{
	{"Han", "Hiragana", "Katakana"},
	{"Han", "Hangul"},
	{"Han", "Bopomofo"},
}

// checkSingleScript refuses s when its letters come from more than one
// script. Characters of script Common (digits, ASCII punctuation such as
// . + - _) and Inherited (combining marks) go with any script, as in TS #39.
func checkSingleScript(s string) error {
	var scripts []string
	for _, r := range s {
		name := scriptOf(r)
		if name == "Common" || name == "Inherited" || slices.Contains(scripts, name) {
			continue
		}
		scripts = append(scripts, name)
	}
	if len(scripts) <= 1 {
		return nil
	}
	for _, system := range writingSystems {
		if containsAll(system, scripts) {
			return nil
		}
	}
	slices.Sort(scripts)
	return fmt.Errorf("%w: %s", ErrMixedScript, strings.Join(scripts, ", "))
}

// scriptOf returns the Unicode Script property of r, "Unknown" when r has
// none. ASCII, the usual case, is answered without a table walk.
func scriptOf(r rune) string {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return "Latin"
	case r < 0x80:
		return "Common"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Unknown"
}

func containsAll(set, items []string) bool {
	for _, item := range items {
		if !slices.Contains(set, item) {
			return false
		}
	}
	return true
}
