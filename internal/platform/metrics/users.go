package metrics

// Users is the hook the Users module's use cases call to count account
// events; *Metrics implements it and NopUsers ignores everything. The
// module takes it as a dependency (e.g. users.Deps.Metrics) and calls it
// once per decided outcome, from the use case, never from a handler:
//
//	m.SignIn(metrics.SignInSucceeded)     // after the session is issued
//	m.PhoneCodeSent(region)               // after the code is queued; region as "US"
//	m.PhoneConfirmation(err == nil)       // after a code was checked
//
// Labels are bounded: an unknown outcome or a malformed region is counted
// as "other".
type Users interface {
	// SignIn counts one sign-in attempt in simplemodule_signins_total.
	SignIn(outcome SignInOutcome)
	// PhoneCodeSent counts one phone code queued for a number in country
	// (ISO 3166-1 alpha-2, e.g. "US") in simplemodule_phone_codes_sent_total.
	PhoneCodeSent(country string)
	// PhoneConfirmation counts one phone code check, confirmed or failed, in
	// simplemodule_phone_confirmations_total.
	PhoneConfirmation(confirmed bool)
}

// SignInOutcome is how a sign-in attempt ended: the outcome label of
// simplemodule_signins_total.
type SignInOutcome string

// The sign-in outcomes. A use case maps its own errors to one of these.
const (
	SignInSucceeded      SignInOutcome = "succeeded"       // signed in
	SignInBadCredentials SignInOutcome = "bad_credentials" // unknown email or wrong password
	SignInLocked         SignInOutcome = "locked"          // account locked (failures or an administrator)
	SignInThrottled      SignInOutcome = "throttled"       // too many failures from the client's network
	SignInUnconfirmed    SignInOutcome = "unconfirmed"     // the email must be confirmed first
	SignInSecondStep     SignInOutcome = "second_step"     // right password, two-factor step next
)

var _ Users = (*Metrics)(nil)

// SignIn implements Users.
func (m *Metrics) SignIn(outcome SignInOutcome) {
	switch outcome {
	case SignInSucceeded, SignInBadCredentials, SignInLocked, SignInThrottled, SignInUnconfirmed, SignInSecondStep:
	default:
		outcome = "other"
	}
	m.signIns.WithLabelValues(string(outcome)).Inc()
}

// PhoneCodeSent implements Users.
func (m *Metrics) PhoneCodeSent(country string) {
	if !isRegion(country) {
		country = "other"
	}
	m.phoneCodesSent.WithLabelValues(country).Inc()
}

// PhoneConfirmation implements Users.
func (m *Metrics) PhoneConfirmation(confirmed bool) {
	outcome := "failed"
	if confirmed {
		outcome = "confirmed"
	}
	m.phoneConfirms.WithLabelValues(outcome).Inc()
}

// isRegion reports whether s looks like a region code: two capital letters.
func isRegion(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// NopUsers is a Users that counts nothing, for tests and for wiring
// without metrics.
type NopUsers struct{}

// SignIn does nothing.
func (NopUsers) SignIn(SignInOutcome) {}

// PhoneCodeSent does nothing.
func (NopUsers) PhoneCodeSent(string) {}

// PhoneConfirmation does nothing.
func (NopUsers) PhoneConfirmation(bool) {}
