package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// FormatInternational writes an E.164 number the way people read it, in
// the international format of its country: "+12015550123" becomes
// "+1 201-555-0123" and "+447400123456" "+44 7400 123456". Pages show
// this form; E.164 stays the stored and machine-read one. Input that is
// not a number in E.164 (empty, or stored before validation) is returned
// unchanged, so a page never hides what is stored.
func FormatInternational(e164 string) string {
	if !strings.HasPrefix(e164, "+") || len(e164) > maxE164Len {
		return e164
	}
	num, err := phonenumbers.Parse(e164, unknownRegion)
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}
