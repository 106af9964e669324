package phone

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maskRune hides a digit. It is not a digit or a "+", so a masked number
// can never be mistaken for, or parsed as, a real one.
const maskRune = '•'

// Mask hides most of an E.164 number so it can appear in logs and
// notifications: "+14155550123" becomes "+1 ••• ••• 0123". The country code
// and the last two to four digits stay readable. Input that is not a
// number in E.164 keeps at most its last two digits.
func Mask(e164 string) string {
	cc, national, ok := splitCountryCode(e164)
	if !ok {
		// Without a country code there is no telling how much of the
		// input identifies the subscriber, so reveal less.
		return maskDigits("", onlyDigits(e164), 2)
	}
	return maskDigits("+"+strconv.Itoa(cc), national, 4)
}

// splitCountryCode splits an E.164 number into its country calling code
// and the rest, without parsing the whole number: calling codes are 1 to 3
// digits and no code is the prefix of another, so the first known one is
// it. (Masking runs in every phone notice; a full parse is the costly part.)
func splitCountryCode(e164 string) (int, string, bool) {
	digits, ok := strings.CutPrefix(e164, "+")
	if !ok || digits == "" || onlyDigits(digits) != digits {
		return 0, "", false
	}
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc, _ := strconv.Atoi(digits[:n])
		if phonenumbers.GetRegionCodeForCountryCode(cc) != unknownRegion {
			return cc, digits[n:], true
		}
	}
	return 0, "", false
}

// maskDigits writes prefix, then digits with all but the last few (never
// more than maxKeep) replaced by maskRune, in groups of three. Short
// numbers reveal fewer digits so that most of the number stays hidden.
func maskDigits(prefix, digits string, maxKeep int) string {
	keep := 2
	switch {
	case len(digits) >= 8:
		keep = 4
	case len(digits) >= 6:
		keep = 3
	case len(digits) < 4:
		keep = 0
	}
	keep = min(keep, maxKeep)
	hidden := len(digits) - keep
	if hidden == 0 && keep == 0 {
		hidden = 3 // say that something was there without telling how much
	}

	var b strings.Builder
	b.WriteString(prefix)
	// Group from the right so a short group, if any, comes first:
	// "• ••• •••" rather than "••• ••• •".
	for i := range hidden {
		if (i == 0 && b.Len() > 0) || (i > 0 && (hidden-i)%3 == 0) {
			b.WriteByte(' ')
		}
		b.WriteRune(maskRune)
	}
	if keep > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(digits[len(digits)-keep:])
	}
	return b.String()
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
