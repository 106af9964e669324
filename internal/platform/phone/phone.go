// Package phone turns what a person types into an E.164 phone number,
// refusing numbers that cannot or should not receive verification codes.
// Parsing follows libphonenumber's rules via github.com/nyaruka/phonenumbers.
package phone

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Errors returned by Parser.Parse. Their messages are written for the
// person who typed the number and may be shown as they are, which is why
// they break the usual rule for error strings.
var (
	// ErrEmpty means no number was entered.
	//lint:ignore ST1005 the message is shown to people as it is.
	ErrEmpty = errors.New("Enter a phone number.")
	// ErrInvalid means the input is not a valid, dialable phone number.
	//lint:ignore ST1005 the message is shown to people as it is.
	ErrInvalid = errors.New("That is not a valid phone number. Include the country code, for example +1 415 555 0123.")
	// ErrPremiumRate means the number is premium-rate or shared-cost, where
	// receiving or sending messages may cost someone money.
	//lint:ignore ST1005 the message is shown to people as it is.
	ErrPremiumRate = errors.New("Premium-rate and shared-cost numbers cannot receive verification codes.")
	// ErrCountryNotAllowed means the number belongs to a region outside the
	// Parser's allow list.
	//lint:ignore ST1005 the message is shown to people as it is.
	ErrCountryNotAllowed = errors.New("Verification codes cannot be sent to numbers in that country.")
)

// maxInputLen bounds the input handed to the parser; no real number, even
// with generous punctuation, comes near it.
const maxInputLen = 64

// maxE164Len is "+" followed by at most 15 digits (ITU-T E.164).
const maxE164Len = 1 + 15

// unknownRegion is libphonenumber's region for "no default": only input in
// international format (starting with +) can be parsed against it.
const unknownRegion = "ZZ"

// Parser parses phone numbers typed by people. It is safe for concurrent
// use once built.
type Parser struct {
	// DefaultRegion is the ISO 3166-1 region code (for example "US") used
	// to read numbers typed in national format. When empty, only numbers
	// in international format are accepted.
	DefaultRegion string
	// AllowedCountries lists the ISO region codes whose numbers are
	// accepted; empty means every region.
	AllowedCountries []string

	cache *parseCache // set by NewParser; nil parses every time
}

// parseCache remembers recent answers of Parse: libphonenumber's rules are
// regular expressions, and one verification parses the same input twice
// (send, then confirm). The answer depends only on the input and the
// parser's settings, which do not change.
type parseCache struct {
	mu      sync.Mutex
	answers map[string]parsed
}

type parsed struct {
	e164 string
	err  error
}

// parseCacheSize bounds the cache; when full it starts afresh.
const parseCacheSize = 4096

func (c *parseCache) get(input string) (parsed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.answers[input]
	return p, ok
}

func (c *parseCache) put(input string, p parsed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.answers) >= parseCacheSize {
		clear(c.answers)
	}
	c.answers[input] = p
}

// NewParser returns a Parser after checking that defaultRegion (which may be
// empty) and every allowed region are regions libphonenumber knows. Codes
// are case-insensitive and stored upper-case. Its answers are remembered, so
// its fields must not change afterwards.
func NewParser(defaultRegion string, allowed []string) (*Parser, error) {
	p := &Parser{cache: &parseCache{answers: make(map[string]parsed)}}
	if defaultRegion != "" {
		region, err := knownRegion(defaultRegion)
		if err != nil {
			return nil, fmt.Errorf("phone: default region: %w", err)
		}
		p.DefaultRegion = region
	}
	for _, code := range allowed {
		region, err := knownRegion(code)
		if err != nil {
			return nil, fmt.Errorf("phone: allowed countries: %w", err)
		}
		p.AllowedCountries = append(p.AllowedCountries, region)
	}
	return p, nil
}

func knownRegion(code string) (string, error) {
	region := strings.ToUpper(strings.TrimSpace(code))
	if !phonenumbers.GetSupportedRegions()[region] {
		return "", fmt.Errorf("unknown region %q", code)
	}
	return region, nil
}

// Parse reads input in national format (against DefaultRegion) or in
// international format (starting with +) and returns the number in E.164,
// for example "+14155550123". It returns ErrEmpty, ErrInvalid,
// ErrPremiumRate or ErrCountryNotAllowed when the number is refused.
func (p *Parser) Parse(input string) (string, error) {
	if p.cache == nil {
		return p.parse(input)
	}
	if a, ok := p.cache.get(input); ok {
		return a.e164, a.err
	}
	e164, err := p.parse(input)
	p.cache.put(input, parsed{e164, err})
	return e164, err
}

func (p *Parser) parse(input string) (string, error) {
	input = strings.TrimSpace(input)
	if input == "" {
		return "", ErrEmpty
	}
	// Letters would let libphonenumber read vanity numbers (1-800-FLOWERS),
	// extensions and tel: URIs, none of which can receive a text message.
	if len(input) > maxInputLen || strings.ContainsFunc(input, unicode.IsLetter) {
		return "", ErrInvalid
	}

	region := p.DefaultRegion
	if region == "" {
		region = unknownRegion
	}
	num, err := phonenumbers.Parse(input, region)
	if err != nil || num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return "", ErrInvalid
	}

	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST:
		return "", ErrPremiumRate
	}

	if len(p.AllowedCountries) > 0 &&
		!slices.Contains(p.AllowedCountries, phonenumbers.GetRegionCodeForNumber(num)) {
		return "", ErrCountryNotAllowed
	}

	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// Metadata for some regions (Germany, for one) accepts numbers longer
	// than the 15 digits E.164 allows; no SMS route reaches them.
	if len(e164) > maxE164Len {
		return "", ErrInvalid
	}
	return e164, nil
}

// Region returns the ISO 3166-1 region of an E.164 number ("US"), or "" when
// it has none (a non-geographic number, or not a number).
func Region(e164 string) string {
	num, err := phonenumbers.Parse(e164, unknownRegion)
	if err != nil {
		return ""
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if region == unknownRegion {
		return ""
	}
	return region
}
