package account

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/otp"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const purposePhone = store.PurposePhoneVerification

// ParsePhone turns what a person typed into E.164, or an InputError that
// says why the number is refused (invalid, premium-rate, country not
// allowed) before anything is sent.
func (s *Service) ParsePhone(input string) (string, error) {
	number, err := s.Phones.Parse(input)
	if err == nil {
		return number, nil
	}
	for _, known := range []error{phone.ErrEmpty, phone.ErrInvalid, phone.ErrPremiumRate, phone.ErrCountryNotAllowed} {
		if errors.Is(err, known) {
			return "", invalid(known.Error())
		}
	}
	return "", invalid(phone.ErrInvalid.Error())
}

// Delivery states of the latest code's SMS, as the phone page shows them.
const (
	DeliveryQueued = outbox.StatusQueued
	DeliverySent   = outbox.StatusSent
	DeliveryFailed = outbox.StatusFailed
)

// PhoneStatus is the state of a user's phone verification.
type PhoneStatus struct {
	Pending       bool // a live code is waiting
	PendingNumber string
	ExpiresIn     time.Duration
	ResendIn      time.Duration
	Delivery      string                // the pending code's SMS: DeliveryQueued, DeliverySent or DeliveryFailed ("" unknown)
	Failure       messaging.FailureKind // why it failed, when it did
}

// PhoneStatus returns whether a code is pending and how its SMS fares.
func (s *Service) PhoneStatus(ctx context.Context, userID string) (PhoneStatus, error) {
	var st PhoneStatus
	ps, err := s.Store.PhoneState(ctx, s.Store.DB, userID, purposePhone, false)
	if err != nil {
		return st, err
	}
	p, ok := ps.Code, ps.HasCode
	now := s.Clock.Now()
	if !ok || p.Consumed || !p.ExpiresAt.After(now) || p.Attempts >= s.Policy.PhoneMaxAttempts {
		return st, nil
	}
	st.Pending, st.PendingNumber, st.ExpiresIn = true, p.PhoneNumber, p.ExpiresAt.Sub(now)
	if next := p.CreatedAt.Add(s.Policy.PhoneResendCooldown); next.After(now) {
		st.ResendIn = next.Sub(now)
	}
	m, found, err := s.Outbox.Latest(ctx, phoneRef(userID))
	if err != nil || !found || m.Recipient != p.PhoneNumber {
		return st, err
	}
	switch m.Status {
	case outbox.StatusSending, outbox.StatusQueued:
		st.Delivery = DeliveryQueued
	case outbox.StatusFailed:
		st.Delivery, st.Failure = DeliveryFailed, m.FailureKind
	default:
		st.Delivery = m.Status
	}
	return st, nil
}

// phoneRef groups a user's verification SMS in the outbox.
func phoneRef(userID string) string { return verificationCode.ref + userID }

// smsBody is the text of a code (what is a "verification" or "sign-in"
// code), ending with the origin-bound line (@host #code) that browsers and
// phones use to autofill the code.
func (s *Service) smsBody(what, code string, ttl time.Duration) string {
	host := s.BaseURL
	if u, err := url.Parse(s.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return fmt.Sprintf("Your SimpleModule %s code is %s. It expires in %s. Don't share it.\n\n@%s #%s", what, code, web.HumanDuration(ttl), host, code)
}

// SendPhoneCode parses input and, when every throttle allows, replaces the
// user's code with a new one bound to (user, number) and queues the SMS in
// the same transaction; it returns the number in E.164. Throttles, in the
// order a person is told about them: the phone lock after wrong codes, the
// resend cooldown, the per-number and the per-network hourly caps.
// Errors: an InputError, ErrPhoneAlreadyVerified, or a ThrottledError.
func (s *Service) SendPhoneCode(ctx context.Context, u contracts.User, input string, c Client) (string, error) {
	number, err := s.ParsePhone(input)
	if err != nil {
		return "", err
	}
	if number == u.PhoneNumber && u.PhoneNumberConfirmed {
		return number, ErrPhoneAlreadyVerified
	}
	return number, s.sendCode(ctx, u.ID, number, verificationCode, c)
}

// codeKind is what differs between the SMS codes sendCode sends.
type codeKind struct {
	purpose string
	audit   string // audit action of a send
	what    string // the text's name for the code: "Your SimpleModule <what> code is …"
	ref     string // with the user id, groups the user's texts of this kind in the outbox
	ttl     func(s *Service) time.Duration
	event   func(userID, number string) any // nil: no event
}

var verificationCode = codeKind{
	purpose: purposePhone, audit: "phone.code_sent", what: "verification", ref: "phone:",
	ttl: func(s *Service) time.Duration { return s.Policy.PhoneCodeTTL },
	event: func(userID, number string) any {
		return contracts.PhoneVerificationCodeSent{UserID: userID, PhoneNumber: number}
	},
}

// sendCode, when every throttle allows, replaces the user's code of kind
// with a new one bound to (user, number) and queues the SMS in the same
// transaction. Throttles, in the order a person is told about them: the
// phone lock after wrong codes, the resend cooldown, the per-number and
// the per-network hourly caps. Errors: a ThrottledError.
func (s *Service) sendCode(ctx context.Context, userID, number string, kind codeKind, c Client) error {
	// A cheap look first, so a request the user's own throttles refuse
	// takes no slot from the shared caps (when there are caps to take).
	if s.Policy.PhoneSendsPerNumber > 0 || s.Policy.PhoneSendsPerIP > 0 {
		if err := s.phoneSendAllowed(ctx, s.Store.DB, userID, kind.purpose, false); err != nil {
			return err
		}
	}
	// The caps are counted in short transactions of their own (exact across
	// instances, locking only the one number or network, and nothing when a
	// cap is off), and given back when the code is not sent after all.
	book := context.WithoutCancel(ctx)
	var slots []string
	release := func() {
		for _, id := range slots {
			if err := s.Limits.Release(book, id); err != nil {
				s.Log.ErrorContext(book, "release phone send slot", "err", err)
			}
		}
	}
	for _, cap := range []struct {
		bucket, key string
		limit       int
		reason      Reason
	}{
		{"phone-number", number, s.Policy.PhoneSendsPerNumber, ReasonNumberCap},
		{"phone-network", c.RateKey, s.Policy.PhoneSendsPerIP, ReasonNetworkCap},
	} {
		id, wait, err := s.Limits.Reserve(book, cap.bucket, cap.key, cap.limit, sendWindow)
		if err != nil || wait > 0 {
			release()
			if err != nil {
				return err
			}
			return throttled(cap.reason, wait)
		}
		if id != "" {
			slots = append(slots, id)
		}
	}
	now := s.Clock.Now()
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// Under the user's lock: a look before may have raced another send.
		if err := s.phoneSendAllowed(ctx, tx, userID, kind.purpose, true); err != nil {
			return err
		}
		code, err := otp.Generate()
		if err != nil {
			return err
		}
		expires := now.Add(kind.ttl(s))
		hash := hex.EncodeToString(otp.Hash(s.CodeKey, kind.purpose, userID, number, code))
		if err := s.Store.ReplacePhoneCode(ctx, tx, userID, kind.purpose, store.PhoneCode{PhoneNumber: number, Hash: hash, CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: kind.audit, Detail: number, ClientIP: c.IP}); err != nil {
			return err
		}
		msg := sms.Message{To: number, Body: s.smsBody(kind.what, code, kind.ttl(s)), Purpose: kind.purpose}
		if _, err := s.Outbox.EnqueueSMS(ctx, tx, msg, outbox.Options{Sensitive: true, WipeAt: expires, Ref: kind.ref + userID}); err != nil {
			return err
		}
		if kind.event == nil {
			return nil
		}
		return emit(kind.event(userID, number))
	})
	if err != nil {
		release()
		return err
	}
	s.Metrics.PhoneCodeSent(phone.Region(number))
	return nil
}

// phoneSendAllowed applies the user's own throttles: the phone lock and
// the resend cooldown; with lock, it takes the user's phone lock first.
func (s *Service) phoneSendAllowed(ctx context.Context, q store.Queryer, userID, purpose string, lock bool) error {
	now := s.Clock.Now()
	st, err := s.Store.PhoneState(ctx, q, userID, purpose, lock)
	if err != nil {
		return err
	}
	if st.LockedUntil.After(now) {
		return throttled(ReasonPhoneLocked, st.LockedUntil.Sub(now))
	}
	if st.HasCode {
		if next := st.Code.CreatedAt.Add(s.Policy.PhoneResendCooldown); next.After(now) {
			return throttled(ReasonPhoneCooldown, next.Sub(now))
		}
	}
	return nil
}

// ConfirmPhone checks code for (user, number). On success, in one
// transaction, it consumes the code, stores the number as confirmed,
// rotates the security stamp (keepSession stays signed in, other sessions
// end), writes the audit row and emits PhoneNumberConfirmed (and
// PhoneNumberChanged when the number is new). On failure it counts the
// attempt — the code burns at the maximum of attempts, and repeated
// failures lock phone verification — and leaves the stored number as it
// was. Errors: an InputError, the code errors, or a ThrottledError.
func (s *Service) ConfirmPhone(ctx context.Context, userID, input, code, keepSession string, c Client) (string, error) {
	number, err := s.ParsePhone(input)
	if err != nil {
		return "", err
	}
	now := s.Clock.Now()
	var refused error // a refusal that must still commit its counters
	var checked bool  // a code was compared (only those count in the metrics)
	err = s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		checked = false
		st, err := s.Store.PhoneState(ctx, tx, userID, purposePhone, true)
		if err != nil {
			return err
		}
		if st.LockedUntil.After(now) {
			refused = throttled(ReasonPhoneLocked, st.LockedUntil.Sub(now))
			return nil
		}
		p := st.Code
		switch {
		case !st.HasCode:
			refused = ErrNoPendingCode
			return nil
		case p.Consumed:
			refused = ErrCodeUsed
			return nil
		case p.Attempts >= s.Policy.PhoneMaxAttempts:
			refused = ErrCodeBurned
			return nil
		case !now.Before(p.ExpiresAt):
			refused = ErrCodeExpired
			return nil
		}
		want, _ := hex.DecodeString(p.Hash)
		checked = true
		if !otp.Verify(s.CodeKey, purposePhone, userID, number, otp.Normalize(code), want) {
			refused = ErrWrongCode
			if p.PhoneNumber != number {
				refused = ErrWrongNumber
			}
			return s.phoneFailure(ctx, tx, userID, p.Attempts+1, c, &refused)
		}
		if ok, err := s.Store.ConsumePhoneCode(ctx, tx, userID, purposePhone); err != nil || !ok {
			if err == nil {
				refused = ErrCodeUsed
			}
			return err
		}
		old := st.Number
		if err := s.Store.SetPhoneNumber(ctx, tx, userID, number, true); err != nil {
			return err
		}
		if err := s.Store.ClearPhoneFailures(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.rotateStamp(ctx, tx, userID, keepSession); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "phone.confirmed", Detail: describeChange(old, number), ClientIP: c.IP}); err != nil {
			return err
		}
		if err := emit(contracts.PhoneNumberConfirmed{UserID: userID, PhoneNumber: number}); err != nil {
			return err
		}
		if old == number {
			return nil
		}
		return emit(contracts.PhoneNumberChanged{UserID: userID, OldNumber: old, NewNumber: number, Verified: true})
	})
	if err != nil {
		return "", err
	}
	if refused != nil {
		if checked {
			s.Metrics.PhoneConfirmation(false)
		}
		return "", refused
	}
	s.Metrics.PhoneConfirmation(true)
	return number, nil
}

// phoneFailure counts a wrong code inside tx: the code burns at the
// maximum of attempts, and PhoneLockout.Failures within its window lock
// phone verification. refused is updated to what the person is told.
func (s *Service) phoneFailure(ctx context.Context, tx *sql.Tx, userID string, attempts int, c Client, refused *error) error {
	lock := s.Policy.PhoneLockout
	if err := s.Store.SetPhoneCodeAttempts(ctx, tx, userID, purposePhone, attempts); err != nil {
		return err
	}
	if attempts >= s.Policy.PhoneMaxAttempts {
		*refused = ErrCodeBurned
	}
	now := s.Clock.Now()
	n, err := s.Store.AddPhoneFailure(ctx, tx, userID, now.Add(-lock.Window))
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("attempt %d", attempts)
	if n >= lock.Failures {
		if err := s.Store.LockPhoneVerification(ctx, tx, userID, now.Add(lock.Duration)); err != nil {
			return err
		}
		*refused = throttled(ReasonPhoneLocked, lock.Duration)
		detail += fmt.Sprintf("; phone verification locked for %s", lock.Duration)
		s.Log.WarnContext(ctx, "phone verification locked", "user_id", userID, "client_ip", c.IP)
	}
	return s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "phone.confirm_failed", Detail: detail, ClientIP: c.IP})
}

// RemovePhone clears the number and its confirmation and ends any pending
// code, emitting PhoneNumberRemoved when there was a number.
func (s *Service) RemovePhone(ctx context.Context, userID string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// Serialised with ConfirmPhone, so a confirmation in flight cannot
		// store the number after it was removed.
		if err := s.Store.LockPhone(ctx, tx, userID); err != nil {
			return err
		}
		old, _, err := s.Store.PhoneNumber(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.Store.SetPhoneNumber(ctx, tx, userID, "", false); err != nil {
			return err
		}
		// Expire rather than delete: the code's created_at carries the
		// resend cooldown, which removing the number must not reset.
		if err := s.Store.ExpirePhoneCodes(ctx, tx, userID); err != nil {
			return err
		}
		if old == "" {
			return nil
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "phone.removed", Detail: old, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.PhoneNumberRemoved{UserID: userID, OldNumber: old})
	})
}

// ProfileSaved says what SaveProfile did to the phone number.
type ProfileSaved struct {
	PhoneChanged bool
	PhoneNumber  string // E.164, "" when none
}

// SaveProfile stores the display name and the phone number ("" clears it)
// in one transaction. A changed number is stored UNVERIFIED, the same
// number keeps its status: this is the only path that changes a number
// without a code, so it always resets the confirmation. It emits
// PhoneNumberChanged or PhoneNumberRemoved. Errors: an InputError.
func (s *Service) SaveProfile(ctx context.Context, userID, displayName, phoneInput string, c Client) (ProfileSaved, error) {
	if len([]rune(displayName)) > maxDisplayNameLen {
		return ProfileSaved{}, invalid("Use a display name of at most 100 characters.")
	}
	number := ""
	if phoneInput != "" {
		var err error
		if number, err = s.ParsePhone(phoneInput); err != nil {
			return ProfileSaved{}, err
		}
	}
	out := ProfileSaved{PhoneNumber: number}
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// The lock code confirmation takes: the two never interleave, so the
		// "old number" each reports is the one it replaced.
		if err := s.Store.LockPhone(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.Store.SetDisplayName(ctx, tx, userID, displayName); err != nil {
			return err
		}
		old, _, err := s.Store.PhoneNumber(ctx, tx, userID)
		if err != nil || old == number {
			return err
		}
		out.PhoneChanged = true
		if err := s.Store.SetPhoneNumber(ctx, tx, userID, number, false); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "phone.changed", Detail: describeChange(old, number), ClientIP: c.IP}); err != nil {
			return err
		}
		if number == "" {
			return emit(contracts.PhoneNumberRemoved{UserID: userID, OldNumber: old})
		}
		return emit(contracts.PhoneNumberChanged{UserID: userID, OldNumber: old, NewNumber: number})
	})
	return out, err
}

func describeChange(old, new string) string {
	if old == "" {
		old = "none"
	}
	if new == "" {
		new = "none"
	}
	return old + " → " + new
}
