package account

import (
	"context"
	"slices"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
)

// PersonalDataFormat names the layout of the download, for whoever reads
// it with a program.
const PersonalDataFormat = "simplemodule-personal-data/1"

// PersonalData is everything stored about one user, as the download shows
// it (GDPR articles 15 and 20): the account, its sessions, links, codes,
// audit trail and messages — and no secret. Password hash, security stamp
// and the hashes of session tokens, links and codes are never read into
// it, and message bodies (which held codes or links) are left out.
type PersonalData struct {
	Format     string    `json:"format"`
	ExportedAt time.Time `json:"exported_at"`
	Profile    struct {
		ID          string    `json:"id"`
		DisplayName string    `json:"display_name"`
		CreatedAt   time.Time `json:"created_at"`
		LastSignIn  time.Time `json:"last_sign_in_at,omitzero"`
	} `json:"profile"`
	Email struct {
		Address     string    `json:"address"`
		Confirmed   bool      `json:"confirmed"`
		ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	} `json:"email"`
	Phone struct {
		Number                  string    `json:"number,omitempty"` // E.164
		Confirmed               bool      `json:"confirmed"`
		ConfirmedAt             time.Time `json:"confirmed_at,omitzero"`
		VerificationLockedUntil time.Time `json:"verification_locked_until,omitzero"`
	} `json:"phone"`
	TwoFactorEnabled bool `json:"two_factor_enabled"`
	TwoFactor        struct {
		Authenticator     bool   `json:"authenticator"`        // on or off; the key itself is a secret and stays out
		SMSNumber         string `json:"sms_number,omitempty"` // the number sign-in codes go to (E.164)
		RecoveryCodesLeft int    `json:"recovery_codes_left"`  // the codes are stored only as hashes
	} `json:"two_factor"`
	Roles  []string `json:"roles"`
	SignIn struct {
		FailedAttempts int       `json:"failed_attempts"`
		LockedOutUntil time.Time `json:"locked_out_until,omitzero"`
		LockedByAdmin  bool      `json:"locked_by_admin"`
	} `json:"sign_in"`
	Sessions      []PersonalSession `json:"sessions"`
	Passkeys      []PersonalPasskey `json:"passkeys"`
	EmailLinks    []PersonalLink    `json:"email_links"`
	PhoneCodes    []PersonalCode    `json:"phone_codes"`
	PhoneFailures []time.Time       `json:"phone_code_failures"`
	AuditTrail    []PersonalAudit   `json:"audit_trail"`
	Messages      []outbox.Sent     `json:"messages"`
}

// PersonalSession is one signed-in browser, without its token or hash.
type PersonalSession struct {
	Browser    string    `json:"browser"`    // in words, e.g. "Firefox on Windows"
	UserAgent  string    `json:"user_agent"` // the User-Agent header it signed in with
	ClientIP   string    `json:"client_ip"`
	CreatedAt  time.Time `json:"signed_in_at"`
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	ExpiresAt  time.Time `json:"expires_at"`
	RememberMe bool      `json:"remember_me"`
}

// PersonalLink is one emailed link (confirmation, email change, password
// reset), without its token or hash.
type PersonalLink struct {
	Purpose   string    `json:"purpose"`
	For       string    `json:"for_address"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UsedAt    time.Time `json:"used_at,omitzero"`
}

// PersonalCode is one phone verification code, without the code or its hash.
type PersonalCode struct {
	PhoneNumber  string    `json:"phone_number"`
	WrongEntries int       `json:"wrong_entries"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	UsedAt       time.Time `json:"used_at,omitzero"`
}

// PersonalAudit is one audit row about the user. Who acted is "you",
// "an administrator" or "the system": an administrator's identity is
// theirs, not the user's.
type PersonalAudit struct {
	At       time.Time `json:"at"`
	Action   string    `json:"action"`
	Actor    string    `json:"actor"`
	Detail   string    `json:"detail,omitempty"`
	ClientIP string    `json:"client_ip,omitempty"`
}

// PersonalData gathers everything stored about userID.
func (s *Service) PersonalData(ctx context.Context, userID string) (PersonalData, error) {
	var p PersonalData
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return p, err
	}
	recs, err := s.Store.PersonalRecords(ctx, userID)
	if err != nil {
		return p, err
	}
	person, err := s.messagesOf(ctx, s.Store.DB, userID)
	if err != nil {
		return p, err
	}
	if p.Messages, err = s.Outbox.ForRecipients(ctx, person); err != nil {
		return p, err
	}

	p.Format, p.ExportedAt = PersonalDataFormat, s.Clock.Now().UTC()
	p.Profile.ID, p.Profile.DisplayName, p.Profile.CreatedAt, p.Profile.LastSignIn = acct.ID, acct.DisplayName, acct.CreatedAt, acct.LastLoginAt
	p.Email.Address, p.Email.Confirmed = acct.Email, acct.EmailConfirmed
	p.Phone.Number, p.Phone.Confirmed, p.Phone.VerificationLockedUntil = acct.PhoneNumber, acct.PhoneNumberConfirmed, recs.PhoneLockedUntil
	p.TwoFactorEnabled = acct.TwoFactorEnabled
	tf, err := s.Store.TwoFactor(ctx, s.Store.DB, userID)
	if err != nil {
		return p, err
	}
	p.TwoFactor.Authenticator, p.TwoFactor.SMSNumber, p.TwoFactor.RecoveryCodesLeft = tf.Secret != "", tf.Phone, tf.RecoveryLeft
	p.Roles = append([]string{}, acct.Roles...)
	p.SignIn.FailedAttempts, p.SignIn.LockedOutUntil, p.SignIn.LockedByAdmin = acct.FailedSignIns, acct.LockoutEnd, acct.LockedByAdmin

	p.Sessions = []PersonalSession{}
	for _, r := range recs.Sessions {
		p.Sessions = append(p.Sessions, PersonalSession{Browser: session.Browser(r.UserAgent), UserAgent: r.UserAgent, ClientIP: r.ClientIP, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt, RememberMe: r.Persistent})
	}
	if p.Passkeys, err = s.personalPasskeys(ctx, userID); err != nil {
		return p, err
	}
	p.EmailLinks = []PersonalLink{}
	for _, r := range recs.Tokens {
		p.EmailLinks = append(p.EmailLinks, PersonalLink{Purpose: r.Purpose, For: r.Target, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt})
	}
	p.PhoneCodes = []PersonalCode{}
	for _, r := range recs.PhoneCodes {
		p.PhoneCodes = append(p.PhoneCodes, PersonalCode{PhoneNumber: r.PhoneNumber, WrongEntries: r.Attempts, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, UsedAt: r.ConsumedAt})
	}
	p.PhoneFailures = append([]time.Time{}, recs.PhoneFailures...)
	p.AuditTrail = []PersonalAudit{}
	for _, r := range recs.Audit {
		actor := "an administrator"
		switch {
		case r.BySelf:
			actor = "you"
		case r.BySystem:
			actor = "the system"
		}
		ip := ""
		if r.BySelf { // an administrator's address is theirs, not the user's data
			ip = r.ClientIP
		}
		p.AuditTrail = append(p.AuditTrail, PersonalAudit{At: r.At, Action: r.Action, Actor: actor, Detail: r.Detail, ClientIP: ip})
		// The trail is the only record of when an address or number was
		// proved; the latest proof is the one that holds.
		switch {
		case acct.EmailConfirmed && slices.Contains([]string{"email.confirmed", "email.changed", "user.created"}, r.Action):
			p.Email.ConfirmedAt = r.At
		case acct.PhoneNumberConfirmed && r.Action == "phone.confirmed":
			p.Phone.ConfirmedAt = r.At
		}
	}
	if p.Messages == nil {
		p.Messages = []outbox.Sent{}
	}
	return p, nil
}

// DeletionKeeps says what deleting an account keeps, and why, for the
// pages before and after it.
var DeletionKeeps = []string{
	"The security log of your account (sign-ins locked, passwords and addresses changed, and so on), with your display name, email address and phone number removed and your account id replaced by a pseudonym. We keep it to investigate abuse of the service; nobody can link it back to you without our secret key.",
	"The addresses of the networks you used, inside that log, for the same reason.",
	"One email telling you that the account was deleted, if your address was confirmed; it is kept as a delivery record for 30 days.",
}
