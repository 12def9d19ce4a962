package user

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
)

// Limits of the user aggregate.
const (
	// MaxNameLength is the longest name, in characters (runes), after
	// trimming. A name may be empty.
	MaxNameLength = 255
	// MaxHashLength is the longest password or token hash, in bytes. Hashes
	// are opaque here; an argon2id PHC string is about 100 bytes.
	MaxHashLength = 512
)

// Role is a user's role. The values are those of package rbac, which says
// what each role may do; they are stored in events and in the "role" claim
// of access tokens.
type Role string

// The roles of DOMAIN.md. A new user is a customer unless told otherwise.
const (
	RoleSuperAdmin Role = "super_admin"
	RoleAdmin      Role = "admin"
	RoleManager    Role = "manager"
	RoleCustomer   Role = "customer"
)

// Roles returns every role, most powerful first. Each call returns a new
// slice.
func Roles() []Role { return []Role{RoleSuperAdmin, RoleAdmin, RoleManager, RoleCustomer} }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSuperAdmin, RoleAdmin, RoleManager, RoleCustomer:
		return true
	}
	return false
}

// Status is a user's status.
type Status string

// The user statuses. Only active users may sign in or use a token.
const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
	StatusBanned   Status = "banned"
)

// Statuses returns every status. Each call returns a new slice.
func Statuses() []Status { return []Status{StatusActive, StatusInactive, StatusBanned} }

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusInactive, StatusBanned:
		return true
	}
	return false
}

// User is the user aggregate: one account of one tenant. Build one with
// Register or Load. The zero User is not a user: a decision on it fails
// with an error wrapping ErrInvalidHistory.
type User struct {
	id              string
	tenantID        string
	email           string
	name            string
	passwordHash    string
	role            Role
	status          Status
	emailVerifiedAt time.Time // zero when not verified
	registeredAt    time.Time
	deleted         bool
	// The pending password reset, if resetHash is not empty.
	resetHash      string
	resetExpiresAt time.Time
	version        int64 // number of events applied
}

// Registration is the input of Register.
type Registration struct {
	// ID is the new user's id, a lowercase UUID chosen by the caller.
	ID string
	// TenantID is the id of the user's tenant, a lowercase UUID.
	TenantID string
	// Email is normalized with NormalizeEmail.
	Email string
	// Name is trimmed; it may be empty.
	Name string
	// PasswordHash is the hash of a password that passed Policy.Check.
	PasswordHash string
	// Role defaults to RoleCustomer.
	Role Role
	// Status defaults to StatusActive.
	Status Status
}

// Register validates a new user and returns it with its one event,
// Registered, already applied (Version 1). at is recorded in UTC. That the
// email is free in the tenant is the command layer's reservation
// (EmailReservation).
//
// Errors: ErrInvalidID, ErrInvalidTenant, ErrInvalidEmail, ErrInvalidName,
// ErrInvalidRole, ErrInvalidStatus; ErrInvalidHash (internal) for an empty
// or over-long hash.
func Register(r Registration, at time.Time) (*User, []Event, error) {
	if !domain.IsUUID(r.ID) {
		return nil, nil, ErrInvalidID
	}
	if !domain.IsUUID(r.TenantID) {
		return nil, nil, ErrInvalidTenant
	}
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return nil, nil, err
	}
	name, err := normalizeName(r.Name)
	if err != nil {
		return nil, nil, err
	}
	if err := checkHash(r.PasswordHash); err != nil {
		return nil, nil, err
	}
	if r.Role == "" {
		r.Role = RoleCustomer
	}
	if !r.Role.Valid() {
		return nil, nil, ErrInvalidRole
	}
	if r.Status == "" {
		r.Status = StatusActive
	}
	if !r.Status.Valid() {
		return nil, nil, ErrInvalidStatus
	}
	u := &User{}
	events, err := u.record(Registered{
		UserID: r.ID, TenantID: r.TenantID, Email: email, Name: name,
		PasswordHash: r.PasswordHash, Role: r.Role, Status: r.Status, At: at.UTC(),
	})
	if err != nil {
		return nil, nil, err
	}
	return u, events, nil
}

// Load rebuilds a user from its stored events, in stream order, by applying
// each one as the decisions do. The events are those of Decode.
//
// Errors: one wrapping ErrInvalidHistory for an empty history, a first event
// other than Registered, a second Registered, an event of another user or
// an event after Deleted; one wrapping ErrUnknownEvent for an event type this
// package does not know.
func Load(history []Event) (*User, error) {
	u := &User{}
	if err := domain.Load("user", history, u.apply, ErrInvalidHistory); err != nil {
		return nil, err
	}
	return u, nil
}

// CanSignIn returns nil if the user may sign in, refresh a session or use a
// token: the user exists, is not deleted and is active. Call it only after
// the password (or token) was verified, so that it reveals the account's
// state to its owner only.
//
// Errors: ErrDeleted; an error wrapping ErrNotActive whose message names
// the status; one wrapping ErrInvalidHistory for the zero User.
func (u *User) CanSignIn() error {
	if err := u.live(); err != nil {
		return err
	}
	if u.status != StatusActive {
		return domain.Unauthenticated("user account is %s", u.status).Wrap(ErrNotActive)
	}
	return nil
}

// Rename changes the user's name (trimmed, may be empty) and returns
// Updated, or no events if it is unchanged. Errors: ErrDeleted,
// ErrInvalidName.
func (u *User) Rename(name string, at time.Time) ([]Event, error) {
	if err := u.live(); err != nil {
		return nil, err
	}
	name, err := normalizeName(name)
	if err != nil {
		return nil, err
	}
	if name == u.name {
		return nil, nil
	}
	e := u.profile(at)
	e.Name = name
	return u.record(e)
}

// ChangeEmail changes the user's email (normalized with NormalizeEmail) and
// returns Updated, with the email no longer verified, or no events if it is
// unchanged. The command layer moves the email reservation in the same
// append. Errors: ErrDeleted, ErrInvalidEmail.
func (u *User) ChangeEmail(email string, at time.Time) ([]Event, error) {
	if err := u.live(); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if email == u.email {
		return nil, nil
	}
	e := u.profile(at)
	e.Email = email
	e.EmailVerifiedAt = nil
	return u.record(e)
}

// VerifyEmail records that the user proved to own the email at at, and
// returns Updated, or no events if the email is already verified. Errors:
// ErrDeleted.
func (u *User) VerifyEmail(at time.Time) ([]Event, error) {
	if err := u.live(); err != nil {
		return nil, err
	}
	if !u.emailVerifiedAt.IsZero() {
		return nil, nil
	}
	e := u.profile(at)
	verified := at.UTC()
	e.EmailVerifiedAt = &verified
	return u.record(e)
}

// ChangeRole gives the user role and returns RoleChanged, or no events if
// the user already has it. Whether the actor may assign it is
// rbac.CheckAssignRole's question. Errors: ErrDeleted, ErrInvalidRole.
func (u *User) ChangeRole(role Role, at time.Time) ([]Event, error) {
	if err := u.live(); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, ErrInvalidRole
	}
	if role == u.role {
		return nil, nil
	}
	return u.record(RoleChanged{UserID: u.id, Role: role, PreviousRole: u.role, At: at.UTC()})
}

// ChangeStatus gives the user status and returns StatusChanged, or no events
// if the user already has it. A user who is no longer active cannot sign in
// or use a token; revoking their sessions is the command layer's follow-up.
// Errors: ErrDeleted, ErrInvalidStatus.
func (u *User) ChangeStatus(status Status, at time.Time) ([]Event, error) {
	if err := u.live(); err != nil {
		return nil, err
	}
	if !status.Valid() {
		return nil, ErrInvalidStatus
	}
	if status == u.status {
		return nil, nil
	}
	return u.record(StatusChanged{UserID: u.id, Status: status, PreviousStatus: u.status, At: at.UTC()})
}

// ChangePassword records the hash of a new password that passed
// Policy.Check, set by the user who knew the current one (the command layer
// verified it), and returns PasswordChanged with ReasonChange. Any pending
// reset token stops working. It is never a no-op: hashes are salted.
//
// Errors: ErrDeleted; ErrInvalidHash (internal).
func (u *User) ChangePassword(hash string, at time.Time) ([]Event, error) {
	if err := u.live(); err != nil {
		return nil, err
	}
	if err := checkHash(hash); err != nil {
		return nil, err
	}
	return u.record(PasswordChanged{UserID: u.id, PasswordHash: hash, Reason: ReasonChange, At: at.UTC()})
}

// RequestPasswordReset records the hash of a new reset token that expires
// at expiresAt, and returns PasswordResetRequested. The new token replaces
// any pending one. Forgot-password must answer the same whatever this
// returns, so as not to reveal whether the account exists or is active.
//
// Errors: ErrDeleted; an error wrapping ErrNotActive; ErrInvalidHash and
// ErrInvalidExpiry (internal) unless expiresAt is after at.
func (u *User) RequestPasswordReset(tokenHash string, expiresAt, at time.Time) ([]Event, error) {
	if err := u.CanSignIn(); err != nil {
		return nil, err
	}
	if err := checkHash(tokenHash); err != nil {
		return nil, err
	}
	if !expiresAt.After(at) {
		return nil, ErrInvalidExpiry
	}
	return u.record(PasswordResetRequested{UserID: u.id, TokenHash: tokenHash, ExpiresAt: expiresAt.UTC(), At: at.UTC()})
}

// ResetPassword sets a new password with a reset token: tokenHash must be
// the hash of the pending token (compared in constant time) and at before
// its expiry. It returns PasswordChanged with ReasonReset, after which the
// token is spent: reset tokens are single-use, and only the latest one
// works. The new password passed Policy.Check; hash is its hash.
//
// Errors: ErrDeleted; an error wrapping ErrNotActive; ErrInvalidResetToken
// when no token is pending, tokenHash is not it or it expired;
// ErrInvalidHash (internal) for a bad new hash.
func (u *User) ResetPassword(tokenHash, hash string, at time.Time) ([]Event, error) {
	if err := u.CheckResetToken(tokenHash, at); err != nil {
		return nil, err
	}
	if err := checkHash(hash); err != nil {
		return nil, err
	}
	return u.record(PasswordChanged{UserID: u.id, PasswordHash: hash, Reason: ReasonReset, At: at.UTC()})
}

// CheckResetToken reports whether ResetPassword would accept tokenHash at
// `at`, without deciding anything: the command checks the token before it
// spends a password hash on the new password, so that guessing tokens
// costs the server nothing slow. Errors: ErrDeleted; ErrInvalidResetToken
// when no token is pending, tokenHash is not it or it expired; then, for
// the token's holder only, the error of CanSignIn.
func (u *User) CheckResetToken(tokenHash string, at time.Time) error {
	if err := u.live(); err != nil {
		return err
	}
	if u.resetHash == "" || subtle.ConstantTimeCompare([]byte(tokenHash), []byte(u.resetHash)) != 1 ||
		!at.Before(u.resetExpiresAt) {
		return ErrInvalidResetToken
	}
	// After the token check, so that only the token's holder learns the
	// account's state.
	return u.CanSignIn()
}

// Delete deletes the user and returns Deleted; afterwards every decision
// answers ErrDeleted. The command layer releases the email reservation
// (Deleted.Email) and revokes the user's sessions. Errors: ErrDeleted if the
// user is already deleted.
func (u *User) Delete(at time.Time) ([]Event, error) {
	if err := u.live(); err != nil {
		return nil, err
	}
	return u.record(Deleted{UserID: u.id, Email: u.email, At: at.UTC()})
}

// ID returns the user id.
func (u *User) ID() string { return u.id }

// TenantID returns the id of the user's tenant.
func (u *User) TenantID() string { return u.tenantID }

// Email returns the normalized email address.
func (u *User) Email() string { return u.email }

// EmailReservation returns the reservation value of the user's email (see
// the function EmailReservation).
func (u *User) EmailReservation() string { return u.tenantID + "/" + u.email }

// Name returns the user's name, maybe empty.
func (u *User) Name() string { return u.name }

// PasswordHash returns the hash of the current password.
func (u *User) PasswordHash() string { return u.passwordHash }

// Role returns the user's role.
func (u *User) Role() Role { return u.role }

// Status returns the user's status.
func (u *User) Status() Status { return u.status }

// EmailVerifiedAt returns when the current email was verified, and whether
// it was.
func (u *User) EmailVerifiedAt() (time.Time, bool) {
	return u.emailVerifiedAt, !u.emailVerifiedAt.IsZero()
}

// RegisteredAt returns when the user registered.
func (u *User) RegisteredAt() time.Time { return u.registeredAt }

// Deleted reports whether the user was deleted.
func (u *User) Deleted() bool { return u.deleted }

// ResetPending reports whether a password reset token is pending and not
// expired at at.
func (u *User) ResetPending(at time.Time) bool {
	return u.resetHash != "" && at.Before(u.resetExpiresAt)
}

// Version returns the number of events applied to the user: the stream
// version to expect when appending its next events.
func (u *User) Version() int64 { return u.version }

// live returns nil if the user exists and is not deleted.
func (u *User) live() error {
	if u.version == 0 {
		return fmt.Errorf("decision on a user that was never registered: %w", ErrInvalidHistory)
	}
	if u.deleted {
		return ErrDeleted
	}
	return nil
}

// profile returns an Updated event holding the current profile.
func (u *User) profile(at time.Time) Updated {
	e := Updated{UserID: u.id, Email: u.email, Name: u.name, At: at.UTC()}
	if !u.emailVerifiedAt.IsZero() {
		v := u.emailVerifiedAt
		e.EmailVerifiedAt = &v
	}
	return e
}

// record applies e and returns it as the decision's events.
func (u *User) record(e Event) ([]Event, error) { return domain.Record(e, u.apply) }

// apply changes the user's state by one event. It is the only code that
// sets state, for decisions and Load alike, and it checks only what makes a
// history coherent: the rules belong to the decisions.
func (u *User) apply(e Event) error {
	switch e := e.(type) {
	case Registered:
		if u.version > 0 {
			return fmt.Errorf("%s at version %d: %w", TypeRegistered, u.version, ErrInvalidHistory)
		}
		*u = User{
			id: e.UserID, tenantID: e.TenantID, email: e.Email, name: e.Name,
			passwordHash: e.PasswordHash, role: e.Role, status: e.Status,
			registeredAt: e.At, version: 1,
		}
		return nil
	case Updated:
		return u.change(e, e.UserID, func() {
			u.email, u.name = e.Email, e.Name
			u.emailVerifiedAt = time.Time{}
			if e.EmailVerifiedAt != nil {
				u.emailVerifiedAt = *e.EmailVerifiedAt
			}
		})
	case RoleChanged:
		return u.change(e, e.UserID, func() { u.role = e.Role })
	case StatusChanged:
		return u.change(e, e.UserID, func() { u.status = e.Status })
	case PasswordChanged:
		return u.change(e, e.UserID, func() {
			u.passwordHash = e.PasswordHash
			u.resetHash, u.resetExpiresAt = "", time.Time{}
		})
	case PasswordResetRequested:
		return u.change(e, e.UserID, func() { u.resetHash, u.resetExpiresAt = e.TokenHash, e.ExpiresAt })
	case Deleted:
		return u.change(e, e.UserID, func() {
			u.deleted = true
			u.resetHash, u.resetExpiresAt = "", time.Time{}
		})
	case nil:
		return fmt.Errorf("nil event: %w", ErrUnknownEvent)
	}
	// Includes pointers to the event types: events are values.
	return fmt.Errorf("event of type %T: %w", e, ErrUnknownEvent)
}

// change applies the state change of event e, which belongs to userID,
// after checking that the user exists, is not deleted and that e is this
// user's.
func (u *User) change(e Event, userID string, apply func()) error {
	switch {
	case u.version == 0:
		return fmt.Errorf("history starts with %s, not %s: %w", e.EventType(), TypeRegistered, ErrInvalidHistory)
	case u.deleted:
		return fmt.Errorf("%s after %s: %w", e.EventType(), TypeDeleted, ErrInvalidHistory)
	case userID != u.id:
		return fmt.Errorf("%s of user %q in the stream of user %q: %w", e.EventType(), userID, u.id, ErrInvalidHistory)
	}
	apply()
	u.version++
	return nil
}

// normalizeName trims name and checks it: at most MaxNameLength runes of
// valid UTF-8, without control characters. It may be empty.
func normalizeName(name string) (string, error) {
	if len(name) > 4*MaxNameLength*utf8.UTFMax {
		return "", ErrInvalidName
	}
	name = strings.TrimSpace(name)
	if len(name) > MaxNameLength*utf8.UTFMax || !utf8.ValidString(name) ||
		utf8.RuneCountInString(name) > MaxNameLength || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", ErrInvalidName
	}
	return name, nil
}

func checkHash(h string) error {
	if h == "" || len(h) > MaxHashLength {
		return ErrInvalidHash
	}
	return nil
}
