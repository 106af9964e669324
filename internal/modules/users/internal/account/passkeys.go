package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
)

// Rules of passkeys.
const (
	PasskeyChallengeTTL = 5 * time.Minute // a ceremony begun must finish within it
	passkeyHandleBytes  = 32              // random user handle, never the email
	maxPasskeyNameLen   = 60
	maxPasskeysPerUser  = 20
	passkeyBeginsPerNet = 300              // ceremonies begun per network per passkeyBeginWindow
	passkeyBeginWindow  = 15 * time.Minute // (each stores a row until it expires)

	purposePasskeyRegister = "register"
	purposePasskeySignIn   = "sign-in"
)

// Audit actions of passkeys.
const (
	ActionPasskeyAdded   = "passkey.added"
	ActionPasskeyRenamed = "passkey.renamed"
	ActionPasskeyRemoved = "passkey.removed"
)

// Errors of passkeys.
var (
	// ErrPasskeysOff: the base URL's host cannot be a relying party ID (an
	// IP address), so passkeys are not offered.
	ErrPasskeysOff = errors.New("passkeys are not available on this server")
	// ErrCeremonyExpired: no ceremony of this browser is waiting — never
	// begun, used already, or older than PasskeyChallengeTTL.
	ErrCeremonyExpired = errors.New("passkey request expired or already used")
	// ErrPasskeyRejected: the browser's answer did not verify (wrong origin,
	// challenge or signature, no user verification, a cloned counter).
	ErrPasskeyRejected = errors.New("passkey could not be verified")
	// ErrUnknownPasskey: the credential is not registered here (any more).
	ErrUnknownPasskey = errors.New("passkey not registered")
	// ErrPasskeyNotFound: the user has no passkey with that id.
	ErrPasskeyNotFound = contracts.ErrPasskeyNotFound
	// ErrPasskeyExists: the authenticator's credential is registered already.
	ErrPasskeyExists = errors.New("passkey already registered")
	// ErrLastSignInMethod: deleting the passkey would leave an account that
	// has no usable password with no way to sign in.
	ErrLastSignInMethod = errors.New("last way to sign in")
	// ErrTooManyPasskeys: the account holds maxPasskeysPerUser already.
	ErrTooManyPasskeys = errors.New("too many passkeys")
)

// NewRelyingParty builds the WebAuthn relying party of baseURL: its host
// is the RP ID, its origin (and extraOrigins) the accepted origins. An IP
// address cannot be an RP ID; the error says so, and the caller runs
// without passkeys.
func NewRelyingParty(baseURL string, extraOrigins []string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("base URL %q has no host", baseURL)
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return nil, fmt.Errorf("the base URL's host %s is an IP address, which cannot be a passkey relying party ID: use a host name (e.g. http://localhost:PORT in development)", host)
	}
	origins := append([]string{u.Scheme + "://" + strings.ToLower(u.Host)}, extraOrigins...)
	return webauthn.New(&webauthn.Config{
		RPID:                  host,
		RPDisplayName:         "SimpleModule",
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
	})
}

// PasskeysOn reports whether passkeys are offered.
func (s *Service) PasskeysOn() bool { return s.RelyingParty != nil }

// passkeyUser is an account as the WebAuthn library sees it.
type passkeyUser struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u passkeyUser) WebAuthnName() string                       { return u.name }
func (u passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func toCredential(p store.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: p.AttType, AttestationFormat: p.AttFormat,
		Transport:     transports,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: p.UserVerified, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount}}
}

// Ceremony is a ceremony begun: Options go to the browser's
// navigator.credentials call, Token into a cookie that finishes it.
type Ceremony struct {
	Options any
	Token   string
}

// mayBeginCeremony refuses a ceremony when passkeys are off, or when c's
// network began passkeyBeginsPerNet of them within passkeyBeginWindow:
// every ceremony stores a row, and the sign-in page begins one on load.
func (s *Service) mayBeginCeremony(ctx context.Context, c Client) error {
	if !s.PasskeysOn() {
		return ErrPasskeysOff
	}
	wait, err := s.Limits.Take(ctx, "passkey-begin", c.RateKey, passkeyBeginsPerNet, passkeyBeginWindow)
	if err != nil {
		return err
	}
	if wait > 0 {
		return throttled(ReasonPasskeyRequests, wait)
	}
	return nil
}

// saveCeremony keeps the session data of a ceremony for PasskeyChallengeTTL.
func (s *Service) saveCeremony(ctx context.Context, userID, purpose string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	token := secrets.Token(32)
	if err := s.Store.SavePasskeyChallenge(ctx, secrets.Hash(token), userID, purpose, data, s.Clock.Now().Add(PasskeyChallengeTTL)); err != nil {
		return "", err
	}
	return token, nil
}

// takeCeremony uses up the ceremony of token: whatever happens next, it
// cannot be answered twice.
func (s *Service) takeCeremony(ctx context.Context, token, purpose string) (store.PasskeyChallenge, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if token == "" {
		return store.PasskeyChallenge{}, sd, ErrCeremonyExpired
	}
	c, err := s.Store.TakePasskeyChallenge(ctx, secrets.Hash(token), purpose)
	if errors.Is(err, store.ErrNotFound) {
		return c, sd, ErrCeremonyExpired
	}
	if err != nil {
		return c, sd, err
	}
	if !c.ExpiresAt.After(s.Clock.Now()) {
		return c, sd, ErrCeremonyExpired
	}
	if err := json.Unmarshal(c.SessionData, &sd); err != nil {
		return c, sd, fmt.Errorf("passkey session data: %w", err)
	}
	return c, sd, nil
}

// BeginPasskeyRegistration starts adding a passkey to userID's account: a
// discoverable credential with user verification, none of the user's
// existing passkeys again. A passkey signs in without the password or a
// second factor, so adding one asks for the password first: a borrowed or
// stolen session alone cannot plant a way back in (wrong passwords count
// towards the lockout). Errors: ErrWrongPassword, a ThrottledError, …
func (s *Service) BeginPasskeyRegistration(ctx context.Context, userID, password string, c Client) (Ceremony, error) {
	if err := s.mayBeginCeremony(ctx, c); err != nil {
		return Ceremony{}, err
	}
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return Ceremony{}, err
	}
	if err := s.reauthenticate(ctx, acct, password, c); err != nil {
		return Ceremony{}, err
	}
	handle, err := s.Store.EnsurePasskeyHandle(ctx, userID, randomBytes(passkeyHandleBytes))
	if err != nil {
		return Ceremony{}, err
	}
	keys, err := s.Store.Passkeys(ctx, s.Store.DB, userID)
	if err != nil {
		return Ceremony{}, err
	}
	if len(keys) >= maxPasskeysPerUser {
		return Ceremony{}, ErrTooManyPasskeys
	}
	u := passkeyUser{handle: handle, name: acct.Email}
	for _, k := range keys {
		u.creds = append(u.creds, toCredential(k))
	}
	opts, sd, err := s.RelyingParty.BeginRegistration(u, webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	token, err := s.saveCeremony(ctx, userID, purposePasskeyRegister, sd)
	return Ceremony{Options: opts, Token: token}, err
}

// FinishPasskeyRegistration checks the browser's answer to the ceremony of
// token and stores the passkey as name (or, when empty, after the browser
// of c), with its audit row and the PasskeyAdded event in one transaction.
// Errors: ErrCeremonyExpired, ErrPasskeyRejected, ErrPasskeyExists, an
// InputError for the name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, userID, token, name string, response []byte, c Client) (contracts.Passkey, error) {
	if !s.PasskeysOn() {
		return contracts.Passkey{}, ErrPasskeysOff
	}
	name, err := passkeyName(name, c)
	if err != nil {
		return contracts.Passkey{}, err
	}
	ch, sd, err := s.takeCeremony(ctx, token, purposePasskeyRegister)
	if err != nil {
		return contracts.Passkey{}, err
	}
	if ch.UserID != userID {
		return contracts.Passkey{}, ErrCeremonyExpired // begun by another account in this browser
	}
	handle, err := s.Store.PasskeyHandle(ctx, s.Store.DB, userID)
	if err != nil {
		return contracts.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return contracts.Passkey{}, s.rejected(ctx, "parse registration", err)
	}
	cred, err := s.RelyingParty.CreateCredential(passkeyUser{handle: handle}, sd, parsed)
	if err != nil {
		return contracts.Passkey{}, s.rejected(ctx, "verify registration", err)
	}
	p := store.Passkey{ID: secrets.ID(), UserID: userID, Name: name, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, UserVerified: cred.Flags.UserVerified, BackupEligible: cred.Flags.BackupEligible,
		BackupState: cred.Flags.BackupState, AAGUID: cred.Authenticator.AAGUID, AttType: cred.AttestationType, AttFormat: cred.AttestationFormat,
		CreatedAt: s.Clock.Now()}
	for _, t := range cred.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	err = s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// Counted again under the user's row lock: registrations begun in
		// parallel all passed the look when they began.
		if err := s.Store.LockPhone(ctx, tx, userID); err != nil {
			return err
		}
		keys, err := s.Store.Passkeys(ctx, tx, userID)
		if err != nil {
			return err
		}
		if len(keys) >= maxPasskeysPerUser {
			return ErrTooManyPasskeys
		}
		if err := s.Store.InsertPasskey(ctx, tx, p); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: ActionPasskeyAdded, Detail: name, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.PasskeyAdded{UserID: userID, Name: name})
	})
	if errors.Is(err, store.ErrDuplicatePasskey) {
		return contracts.Passkey{}, ErrPasskeyExists
	}
	return publicPasskey(p), err
}

// rejected logs why the library refused an answer (its details help a
// developer; they hold no secret) and returns ErrPasskeyRejected.
func (s *Service) rejected(ctx context.Context, step string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		s.Log.InfoContext(ctx, "passkey refused", "step", step, "type", pe.Type, "details", pe.Details, "info", pe.DevInfo)
	} else {
		s.Log.InfoContext(ctx, "passkey refused", "step", step, "err", err)
	}
	return ErrPasskeyRejected
}

// BeginPasskeySignIn starts a sign-in with a discoverable passkey: the
// browser offers whichever passkeys it holds for this site.
func (s *Service) BeginPasskeySignIn(ctx context.Context, c Client) (Ceremony, error) {
	if err := s.mayBeginCeremony(ctx, c); err != nil {
		return Ceremony{}, err
	}
	opts, sd, err := s.RelyingParty.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	token, err := s.saveCeremony(ctx, "", purposePasskeySignIn, sd)
	return Ceremony{Options: opts, Token: token}, err
}

// FinishPasskeySignIn checks the browser's answer to the sign-in ceremony
// of token and starts a session: a verified passkey is both factors, so
// nothing more is asked. An account an administrator locked is refused
// (ErrLockedByAdmin), and one whose email must be confirmed first gets
// EmailUnconfirmed, as with a password. The session of oldToken, if any,
// ends. Errors: ErrCeremonyExpired, ErrUnknownPasskey, ErrPasskeyRejected,
// ErrLockedByAdmin, ErrLockedOut.
func (s *Service) FinishPasskeySignIn(ctx context.Context, token string, response []byte, remember bool, oldToken string, c Client) (res SignInResult, err error) {
	defer func() { s.countSignIn(res, err) }()
	if !s.PasskeysOn() {
		return SignInResult{}, ErrPasskeysOff
	}
	_, sd, err := s.takeCeremony(ctx, token, purposePasskeySignIn)
	if err != nil {
		return SignInResult{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return SignInResult{}, s.rejected(ctx, "parse sign-in", err)
	}
	key, err := s.Store.PasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, store.ErrNotFound) {
		return SignInResult{}, ErrUnknownPasskey
	}
	if err != nil {
		return SignInResult{}, err
	}
	handle, err := s.Store.PasskeyHandle(ctx, s.Store.DB, key.UserID)
	if err != nil {
		return SignInResult{}, err
	}
	if !bytes.Equal(parsed.Response.UserHandle, handle) {
		return SignInResult{}, s.rejected(ctx, "user handle", errors.New("user handle does not match the passkey's account"))
	}
	owner := func(rawID, userHandle []byte) (webauthn.User, error) {
		return passkeyUser{handle: handle, creds: []webauthn.Credential{toCredential(key)}}, nil
	}
	_, cred, err := s.RelyingParty.ValidatePasskeyLogin(owner, sd, parsed)
	if err != nil {
		return SignInResult{}, s.rejected(ctx, "verify sign-in", err)
	}
	if cred.Authenticator.CloneWarning {
		s.Log.WarnContext(ctx, "passkey signature counter went back: the authenticator may be cloned", "user_id", key.UserID, "passkey_id", key.ID)
		return SignInResult{}, ErrPasskeyRejected
	}
	book := context.WithoutCancel(ctx)
	key.SignCount, key.UserVerified, key.BackupState = cred.Authenticator.SignCount, cred.Flags.UserVerified, cred.Flags.BackupState
	recorded, err := s.Store.RecordPasskeyUse(book, s.Store.DB, key)
	if err != nil {
		return SignInResult{}, err
	}
	if !recorded {
		// Deleted meanwhile, or another sign-in just used this counter value.
		s.Log.WarnContext(ctx, "passkey sign-in refused: the passkey was deleted or its signature counter was used already", "user_id", key.UserID, "passkey_id", key.ID)
		return SignInResult{}, ErrPasskeyRejected
	}
	acct, err := s.Store.AccountByID(ctx, key.UserID)
	if err != nil {
		return SignInResult{}, err
	}
	if outcome, err := s.admission(acct); outcome != 0 || err != nil {
		return SignInResult{Outcome: outcome}, err
	}
	ns, err := s.signedIn(ctx, book, acct, remember, true, oldToken, c)
	if err != nil {
		return SignInResult{}, err
	}
	return SignInResult{Outcome: SignedIn, Session: ns}, nil
}

// ListPasskeys lists the user's passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, userID string) ([]contracts.Passkey, error) {
	keys, err := s.Store.Passkeys(ctx, s.Store.DB, userID)
	if err != nil {
		return nil, err
	}
	out := make([]contracts.Passkey, len(keys))
	for i, k := range keys {
		out[i] = publicPasskey(k)
	}
	return out, nil
}

func publicPasskey(k store.Passkey) contracts.Passkey {
	return contracts.Passkey{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, Synced: k.BackupState}
}

// RenamePasskey renames one of the user's passkeys, with an audit row.
// Errors: ErrPasskeyNotFound, an InputError for the name.
func (s *Service) RenamePasskey(ctx context.Context, userID, id, name string, c Client) error {
	if strings.TrimSpace(name) == "" {
		return invalid("Enter a name for the passkey.")
	}
	name, err := passkeyName(name, Client{})
	if err != nil {
		return err
	}
	return s.change(ctx, func(tx *sql.Tx, _ func(any) error) error {
		if err := s.Store.RenamePasskey(ctx, tx, userID, id, name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrPasskeyNotFound
			}
			return err
		}
		return s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: ActionPasskeyRenamed, Detail: name, ClientIP: c.IP})
	})
}

// DeletePasskey deletes one of userID's passkeys on behalf of actorID (the
// user, or an administrator), with its audit row and the PasskeyRemoved
// event in one transaction. The security stamp rotates, so sessions the
// passkey may have started end — all of them but keepSession (the user's
// current one; "" when an administrator acts) — and a sign-in with the
// passkey racing the deletion starts no lasting session. The user never deletes their last passkey
// while the account has no usable password: they could not sign in again
// (ErrLastSignInMethod). An administrator may: they act on a lost device,
// and the user can still reset a password by email.
func (s *Service) DeletePasskey(ctx context.Context, actorID, userID, id, keepSession string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		keys, err := s.Store.Passkeys(ctx, tx, userID)
		if err != nil {
			return err
		}
		var gone *store.Passkey
		for i := range keys {
			if keys[i].ID == id {
				gone = &keys[i]
			}
		}
		if gone == nil {
			return ErrPasskeyNotFound
		}
		if actorID == userID && len(keys) == 1 {
			acct, err := s.Store.AccountTx(ctx, tx, userID)
			if err != nil {
				return err
			}
			if !hasUsablePassword(acct) {
				return ErrLastSignInMethod
			}
		}
		if err := s.Store.DeletePasskey(ctx, tx, userID, id); err != nil {
			return err
		}
		if err := s.rotateStamp(ctx, tx, userID, keepSession); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: actorID, SubjectID: userID, Action: ActionPasskeyRemoved, Detail: gone.Name, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.PasskeyRemoved{UserID: userID, ActorID: actorID, Name: gone.Name})
	})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// hasUsablePassword reports whether the account can sign in with a
// password: it holds an argon2id hash (an account made without a password
// holds none).
func hasUsablePassword(a store.Account) bool {
	return strings.HasPrefix(a.PasswordHash, "$argon2id$")
}

// passkeyName checks a name typed for a passkey; empty names it after the
// browser of c ("Chrome on macOS"), or stays empty when c has none.
func passkeyName(name string, c Client) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", invalid("The name holds characters that cannot be stored.")
	}
	if utf8.RuneCountInString(name) > maxPasskeyNameLen {
		return "", invalid(fmt.Sprintf("Use at most %d characters for the name.", maxPasskeyNameLen))
	}
	if name == "" && c.UserAgent != "" {
		name = "Passkey on " + session.Browser(c.UserAgent)
	}
	if name == "" {
		name = "Passkey"
	}
	return name, nil
}

// PersonalPasskey is one passkey in the personal data download: what it
// is called and when it was used, never its key or ids.
type PersonalPasskey struct {
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	Synced     bool      `json:"synced"`
}

func (s *Service) personalPasskeys(ctx context.Context, userID string) ([]PersonalPasskey, error) {
	keys, err := s.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []PersonalPasskey{}
	for _, k := range keys {
		out = append(out, PersonalPasskey{Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, Synced: k.Synced})
	}
	return out, nil
}
