package password

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
)

// MinScore is the lowest zxcvbn score accepted for a new password: 2
// means about 10⁸ guesses, out of reach of an online attack and slowed
// enough by argon2id offline (NIST SP 800-63B asks to refuse passwords
// that are commonly used, expected or compromised).
const MinScore = 2

// strengthRunes is the longest piece zxcvbn rates at once: its matching
// grows faster than the length, and the registration and reset forms are
// anonymous (they must not become a way to burn CPU). A longer password is
// rated piece by piece, the guesses of its pieces multiplied.
const strengthRunes = 64

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is the blocklist, parsed once on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 4096)
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			set[line] = struct{}{}
		}
	}
	return set
})

// IsCommon reports whether pw is on the list of the most common passwords
// seen in breaches, ignoring case.
func IsCommon(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(strings.TrimSpace(pw))]
	return ok
}

// Strength is a password's estimated strength and, when it is too weak,
// why, in words a person can act on.
type Strength struct {
	Score   int    // zxcvbn's 0 (too guessable) to 4 (very unguessable)
	Warning string // what makes it guessable; "" when nothing specific
}

// Weak reports whether the password should be refused.
func (s Strength) Weak() bool { return s.Score < MinScore }

// Estimate rates pw with zxcvbn, counting what the person typed elsewhere
// (their email address and its parts) as easy to guess. A password on the
// common list scores 0.
func Estimate(pw string, userInputs ...string) Strength {
	if IsCommon(pw) {
		return Strength{Score: 0, Warning: "This is one of the most common passwords."}
	}
	guesses, seq := 1.0, []*match.Match(nil)
	for chunk := range chunks(pw, strengthRunes, maxChunks) {
		r := zxcvbn.PasswordStrength(chunk, inputWords(userInputs))
		guesses *= r.Guesses
		seq = append(seq, r.Sequence...)
		if score(guesses) >= MinScore {
			break
		}
	}
	if s := score(guesses); s >= MinScore {
		return Strength{Score: s}
	}
	return Strength{Score: score(guesses), Warning: warning(seq)}
}

// maxChunks bounds the work: past maxChunks×strengthRunes runes a password
// that is still weak is refused (it is, say, one key held down).
const maxChunks = 2

// chunks yields s in pieces of at most n runes, at most max of them.
func chunks(s string, n, max int) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for i := 0; i < max && s != ""; i++ {
			end, count := len(s), 0
			for j := range s {
				if count == n {
					end = j
					break
				}
				count++
			}
			if !yield(s[:end]) {
				return
			}
			s = s[end:]
		}
	}
}

// score maps an estimated number of guesses to zxcvbn's 0–4 scale, with
// the thresholds zxcvbn documents: 10³, 10⁶, 10⁸ and 10¹⁰ guesses.
func score(guesses float64) int {
	switch {
	case guesses < 1e3+5:
		return 0
	case guesses < 1e6+5:
		return 1
	case guesses < 1e8+5:
		return 2
	case guesses < 1e10+5:
		return 3
	}
	return 4
}

// inputWords is each user input and, for an email address, its local part
// and the words in it: "ann.lee@example.com" makes "ann", "lee" and
// "ann.lee" guessable too.
func inputWords(inputs []string) []string {
	var words []string
	for _, in := range inputs {
		in = strings.ToLower(strings.TrimSpace(in))
		if in == "" {
			continue
		}
		words = append(words, in)
		local, domain, ok := strings.Cut(in, "@")
		if !ok {
			continue
		}
		words = append(words, local)
		if name, _, ok := strings.Cut(domain, "."); ok {
			words = append(words, name)
		}
		for _, w := range strings.FieldsFunc(local, func(r rune) bool { return strings.ContainsRune("._-+", r) }) {
			if len(w) >= 3 {
				words = append(words, w)
			}
		}
	}
	return words
}

// warning explains the longest guessable part of a weak password. The
// matches are zxcvbn's: the parts it found and how it would guess each.
func warning(seq []*match.Match) string {
	var worst *match.Match
	for _, m := range seq {
		if m.Pattern == "bruteforce" {
			continue
		}
		if worst == nil || len(m.Token) > len(worst.Token) {
			worst = m
		}
	}
	if worst == nil {
		return "It is short and simple."
	}
	switch worst.Pattern {
	case "dictionary":
		return dictionaryWarning(worst, len(seq) == 1)
	case "spatial":
		return "Rows and patterns of keys on a keyboard are easy to guess."
	case "repeat":
		return `Repeats like "aaa" or "abcabc" are easy to guess.`
	case "sequence":
		return `Sequences like "abc" or "6543" are easy to guess.`
	case "date", "regex":
		return "Dates and years are easy to guess."
	}
	return ""
}

func dictionaryWarning(m *match.Match, whole bool) string {
	switch {
	case m.DictionaryName == "user_inputs":
		return "It contains your email address or part of it."
	case m.Reversed:
		return "Words spelled backwards are as easy to guess as the words."
	case m.L33t:
		return "Look-alike digits or symbols (@ for a, 0 for o) do not make a common word hard to guess."
	case m.DictionaryName == "passwords" && whole:
		return "This is one of the most common passwords."
	case m.DictionaryName == "passwords":
		return "It is built on a common password."
	case m.DictionaryName == "surnames" || strings.HasSuffix(m.DictionaryName, "_names"):
		return "Names and surnames are easy to guess."
	case whole:
		return "A single word is easy to guess."
	}
	return "Common words are easy to guess."
}
