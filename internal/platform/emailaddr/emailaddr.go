// Package emailaddr turns an email address into the one form in which two
// addresses are compared, and refuses the addresses that only look like
// another one: invisible characters, letters from several alphabets in one
// part, text that is not UTF-8.
//
// The rules follow Unicode TS #39 (single-script identifiers) and the NFKC
// casefold idea of Unicode TR #31: what a person reads as the same address
// gets the same comparison form, and what a person cannot read reliably is
// refused rather than guessed at.
//
// golang.org/x/text/secure/precis (UsernameCaseMapped) was the other
// candidate: it maps only width and uses NFC, so mathematical letters and
// ligatures (𝐚, ﬀ) would stay distinct from a, ff, and it has no
// mixed-script rule; NFKC with case folding plus the TS #39 check here
// covers both.
package emailaddr

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// The errors Normalize returns; each is wrapped with the detail, so callers
// test them with errors.Is and turn them into their own words.
var (
	// ErrInvalid: not an address (no @, empty part, too long, a space,
	// invalid UTF-8, a domain IDNA refuses, an unassigned code point).
	ErrInvalid = errors.New("emailaddr: invalid address")
	// ErrInvisible: a format character (zero-width space or joiner, byte
	// order mark, bidi control), a control character or NUL, or another
	// default-ignorable code point that renders as nothing.
	ErrInvisible = errors.New("emailaddr: invisible character")
	// ErrMixedScript: the local part or a domain label mixes letters from
	// different scripts, such as Latin with Cyrillic.
	ErrMixedScript = errors.New("emailaddr: mixed scripts")
)

// maxLen is the longest address SMTP carries (RFC 5321 path limit less the
// angle brackets), measured on the comparison form.
const maxLen = 254

// maxInputLen bounds the typed address before normalisation.
const maxInputLen = 4 * maxLen

// domainProfile is UTS #46 processing for what a person types: width and
// case mapping, non-transitional (ß stays ß, as browsers do), label and bidi
// checks, and only letters, digits and hyphens in the result.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// Normalize returns the comparison form of addr: trimmed, NFKC-normalised
// (fullwidth letters become ASCII), case-folded, with the domain in IDNA
// ASCII form. It refuses invalid UTF-8, invisible and control characters,
// and a local part or domain label that mixes scripts. Normalize of its own
// result returns the result unchanged.
func Normalize(addr string) (string, error) {
	if !utf8.ValidString(addr) {
		return "", fmt.Errorf("%w: not UTF-8", ErrInvalid)
	}
	addr = strings.TrimSpace(addr)
	// A cap before any Unicode work keeps the cost of hostile input small;
	// NFKC shrinks fullwidth text to a third, so this is no real limit.
	if len(addr) > maxInputLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxInputLen)
	}
	// Invisible characters are refused before normalisation: NFKC keeps most
	// of them, but refusing on the input is what a reader of the input sees.
	if err := checkVisible(addr); err != nil {
		return "", err
	}
	folded, err := foldStable(addr)
	if err != nil {
		return "", err
	}
	// Compatibility mappings can produce spaces (U+00A0 → U+0020) at the
	// edges; those are trimmed like typed ones.
	folded = strings.TrimSpace(folded)
	if err := checkVisible(folded); err != nil {
		return "", err
	}
	// The last @ separates the domain; after NFKC a small or fullwidth @ is
	// a plain one, so this split sees what a reader sees.
	at := strings.LastIndexByte(folded, '@')
	if at <= 0 || at == len(folded)-1 {
		return "", fmt.Errorf("%w: want name@domain", ErrInvalid)
	}
	local, domain := folded[:at], folded[at+1:]
	if strings.Contains(local, "@") {
		return "", fmt.Errorf("%w: more than one @", ErrInvalid)
	}
	if strings.IndexFunc(folded, unicode.IsSpace) >= 0 {
		return "", fmt.Errorf("%w: contains a space", ErrInvalid)
	}
	if err := checkSingleScript(local); err != nil {
		return "", fmt.Errorf("local part: %w", err)
	}
	asciiDomain, err := normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	out := local + "@" + asciiDomain
	if len(out) > maxLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxLen)
	}
	return out, nil
}

// foldStable applies NFKC, Unicode full case folding, then NFKC again (the
// NFKC_Casefold recipe), repeated until nothing changes: a few sequences need
// a second round, and a fixed point is what makes Normalize idempotent. Input
// that does not settle is refused rather than stored in an unstable form.
func foldStable(s string) (string, error) {
	fold := cases.Fold()
	for range 4 {
		next := norm.NFKC.String(fold.String(norm.NFKC.String(s)))
		if next == s {
			return s, nil
		}
		s = next
	}
	return "", fmt.Errorf("%w: normalisation does not settle", ErrInvalid)
}

// checkVisible refuses every code point that shows nothing or is not text:
// control characters (NUL included), format characters (category Cf: zero
// width space, joiners, BOM, bidi controls, soft hyphen), the other
// default-ignorables (Hangul fillers, variation selectors, combining
// grapheme joiner), private use, surrogates, unassigned code points (an
// unassigned code point may later gain a normalisation that moves it) and
// U+FFFD, so no comparison form holds the replacement character.
func checkVisible(s string) error {
	for i, r := range s {
		switch {
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r),
			unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r),
			unicode.Is(unicode.Variation_Selector, r):
			return fmt.Errorf("%w: U+%04X at byte %d", ErrInvisible, r, i)
		case unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r), !assigned(r),
			r == utf8.RuneError: // U+FFFD stands for text already lost
			return fmt.Errorf("%w: U+%04X at byte %d is not a character", ErrInvalid, r, i)
		}
	}
	return nil
}

// assigned reports whether r is an assigned code point in the Unicode
// version the standard library knows.
func assigned(r rune) bool { return !unicode.Is(unicode.Cn, r) }

// normalizeDomain returns the domain in IDNA ASCII form (xn-- labels) after
// checking each label's Unicode form for mixed scripts: an xn-- label typed
// as such is decoded first, so Punycode is no way around the check.
func normalizeDomain(domain string) (string, error) {
	ascii, err := domainProfile.ToASCII(domain)
	if err != nil {
		return "", fmt.Errorf("%w: domain: %v", ErrInvalid, err)
	}
	// A domain needs a dot: a bare host name is no public mail domain, and
	// the account pages have always asked for one.
	if !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return "", fmt.Errorf("%w: domain %q has no dot or ends in one", ErrInvalid, ascii)
	}
	unicodeForm, err := domainProfile.ToUnicode(ascii)
	if err != nil {
		return "", fmt.Errorf("%w: domain: %v", ErrInvalid, err)
	}
	if err := checkVisible(unicodeForm); err != nil {
		return "", fmt.Errorf("domain: %w", err)
	}
	for label := range strings.SplitSeq(unicodeForm, ".") {
		if err := checkSingleScript(label); err != nil {
			return "", fmt.Errorf("domain label %q: %w", label, err)
		}
	}
	return ascii, nil
}
