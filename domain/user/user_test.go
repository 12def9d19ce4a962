package user_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
)

const (
	userID        = "01900000-0000-7000-8000-0000000000a1"
	otherUserID   = "01900000-0000-7000-8000-0000000000b2"
	tenantID      = "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"
	otherTenantID = "11111111-2222-4333-8444-555555555555"
	hash          = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
	newHash       = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI"
)

var (
	registeredAt = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	at           = time.Date(2025, 3, 2, 10, 30, 0, 0, time.UTC)
)

// mustRegister registers a user from r, with the test's id, tenant, email
// and hash where r leaves them empty.
func mustRegister(tb testing.TB, r user.Registration) *user.User {
	tb.Helper()
	u, _, err := user.Register(withDefaults(r), registeredAt)
	if err != nil {
		tb.Fatalf("Register(%+v) = %v", r, err)
	}
	return u
}

func withDefaults(r user.Registration) user.Registration {
	if r.ID == "" {
		r.ID = userID
	}
	if r.TenantID == "" {
		r.TenantID = tenantID
	}
	if r.Email == "" {
		r.Email = "alice@example.com"
	}
	if r.PasswordHash == "" {
		r.PasswordHash = hash
	}
	return r
}

// registered is the Registered event of the default test user.
func registered() user.Registered {
	return user.Registered{
		UserID: userID, TenantID: tenantID, Email: "alice@example.com", Name: "Alice",
		PasswordHash: hash, Role: user.RoleCustomer, Status: user.StatusActive, At: registeredAt,
	}
}

func mustLoad(tb testing.TB, history ...user.Event) *user.User {
	tb.Helper()
	u, err := user.Load(history)
	if err != nil {
		tb.Fatalf("Load(%v) = %v", history, err)
	}
	return u
}

func ptr[T any](v T) *T { return &v }

func TestRegister(t *testing.T) {
	tests := []struct {
		name      string
		in        user.Registration
		wantEvent user.Registered
		wantErr   error
	}{
		{
			name:      "defaults: customer, active; email normalized, name trimmed",
			in:        user.Registration{Email: "  Alice@Example.COM", Name: "  Alice "},
			wantEvent: registered(),
		},
		{
			name: "role and status as given",
			in:   user.Registration{Name: "Alice", Role: user.RoleAdmin, Status: user.StatusInactive},
			wantEvent: func() user.Registered {
				e := registered()
				e.Role, e.Status = user.RoleAdmin, user.StatusInactive
				return e
			}(),
		},
		{
			name: "empty name is allowed",
			in:   user.Registration{},
			wantEvent: func() user.Registered {
				e := registered()
				e.Name = ""
				return e
			}(),
		},
		{name: "uppercase id is refused", in: user.Registration{ID: strings.ToUpper(userID)}, wantErr: user.ErrInvalidID},
		{name: "bad tenant id is refused", in: user.Registration{TenantID: "acme"}, wantErr: user.ErrInvalidTenant},
		{name: "bad email is refused", in: user.Registration{Email: "alice"}, wantErr: user.ErrInvalidEmail},
		{name: "name of 256 characters is refused", in: user.Registration{Name: strings.Repeat("я", 256)}, wantErr: user.ErrInvalidName},
		{name: "name with a control character is refused", in: user.Registration{Name: "Al\x1bice"}, wantErr: user.ErrInvalidName},
		{name: "name of invalid UTF-8 is refused", in: user.Registration{Name: "Al\xffice"}, wantErr: user.ErrInvalidName},
		{name: "unknown role is refused", in: user.Registration{Role: "root"}, wantErr: user.ErrInvalidRole},
		{name: "unknown status is refused", in: user.Registration{Status: "deleted"}, wantErr: user.ErrInvalidStatus},
		{name: "over-long hash is an internal error", in: user.Registration{PasswordHash: strings.Repeat("h", user.MaxHashLength+1)}, wantErr: user.ErrInvalidHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, events, err := user.Register(withDefaults(tc.in), registeredAt.In(time.FixedZone("MSK", 3*3600)))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || u != nil || events != nil {
					t.Fatalf("Register = %v, %v, %v; want %v", u, events, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Register = %v", err)
			}
			if want := []user.Event{tc.wantEvent}; !reflect.DeepEqual(events, want) {
				t.Fatalf("events = %#v\nwant     %#v", events, want)
			}
			if got, want := snapshot(u), snapshot(mustLoad(t, tc.wantEvent)); !reflect.DeepEqual(got, want) {
				t.Errorf("state = %+v, want %+v", got, want)
			}
			if u.Version() != 1 || u.RegisteredAt() != registeredAt || u.Deleted() {
				t.Errorf("version %d registered %v deleted %v", u.Version(), u.RegisteredAt(), u.Deleted())
			}
		})
	}
	t.Run("empty hash is an internal error", func(t *testing.T) {
		r := withDefaults(user.Registration{})
		r.PasswordHash = ""
		if _, _, err := user.Register(r, registeredAt); !errors.Is(err, user.ErrInvalidHash) || domain.CodeOf(err) != domain.CodeInternal {
			t.Errorf("Register = %v, want internal ErrInvalidHash", err)
		}
	})
}

// state is everything a User exposes, for comparisons.
type state struct {
	ID, TenantID, Email, Name, PasswordHash string
	Role                                    user.Role
	Status                                  user.Status
	VerifiedAt                              time.Time
	Verified, Deleted                       bool
	Version                                 int64
}

func snapshot(u *user.User) state {
	v, ok := u.EmailVerifiedAt()
	return state{
		ID: u.ID(), TenantID: u.TenantID(), Email: u.Email(), Name: u.Name(), PasswordHash: u.PasswordHash(),
		Role: u.Role(), Status: u.Status(), VerifiedAt: v, Verified: ok, Deleted: u.Deleted(), Version: u.Version(),
	}
}

func TestDecisions(t *testing.T) {
	verified := at.Add(-time.Hour)
	deleted := user.Deleted{UserID: userID, Email: "alice@example.com", At: at}
	tests := []struct {
		name       string
		given      []user.Event
		when       func(*user.User) ([]user.Event, error)
		wantEvents []user.Event
		wantErr    error
	}{
		{
			name:       "rename records the whole profile",
			when:       func(u *user.User) ([]user.Event, error) { return u.Rename(" Alice B ", at) },
			wantEvents: []user.Event{user.Updated{UserID: userID, Email: "alice@example.com", Name: "Alice B", At: at}},
		},
		{
			name:  "rename keeps the verification",
			given: []user.Event{user.Updated{UserID: userID, Email: "alice@example.com", Name: "Alice", EmailVerifiedAt: &verified, At: verified}},
			when:  func(u *user.User) ([]user.Event, error) { return u.Rename("Al", at) },
			wantEvents: []user.Event{user.Updated{
				UserID: userID, Email: "alice@example.com", Name: "Al", EmailVerifiedAt: &verified, At: at,
			}},
		},
		{name: "rename to the same name is a no-op", when: func(u *user.User) ([]user.Event, error) { return u.Rename("  Alice", at) }},
		{name: "rename to an invalid name", when: func(u *user.User) ([]user.Event, error) { return u.Rename("a\nb", at) }, wantErr: user.ErrInvalidName},
		{
			name:  "changing the email unverifies it",
			given: []user.Event{user.Updated{UserID: userID, Email: "alice@example.com", Name: "Alice", EmailVerifiedAt: &verified, At: verified}},
			when:  func(u *user.User) ([]user.Event, error) { return u.ChangeEmail("ALICE@new.example", at) },
			wantEvents: []user.Event{user.Updated{
				UserID: userID, Email: "alice@new.example", Name: "Alice", At: at,
			}},
		},
		{name: "same email in another case is a no-op", when: func(u *user.User) ([]user.Event, error) { return u.ChangeEmail("ALICE@example.com", at) }},
		{name: "invalid email", when: func(u *user.User) ([]user.Event, error) { return u.ChangeEmail("alice@", at) }, wantErr: user.ErrInvalidEmail},
		{
			name:       "verify email",
			when:       func(u *user.User) ([]user.Event, error) { return u.VerifyEmail(at) },
			wantEvents: []user.Event{user.Updated{UserID: userID, Email: "alice@example.com", Name: "Alice", EmailVerifiedAt: ptr(at), At: at}},
		},
		{
			name:  "verifying a verified email is a no-op",
			given: []user.Event{user.Updated{UserID: userID, Email: "alice@example.com", Name: "Alice", EmailVerifiedAt: &verified, At: verified}},
			when:  func(u *user.User) ([]user.Event, error) { return u.VerifyEmail(at) },
		},
		{
			name:       "change role",
			when:       func(u *user.User) ([]user.Event, error) { return u.ChangeRole(user.RoleManager, at) },
			wantEvents: []user.Event{user.RoleChanged{UserID: userID, Role: user.RoleManager, PreviousRole: user.RoleCustomer, At: at}},
		},
		{name: "same role is a no-op", when: func(u *user.User) ([]user.Event, error) { return u.ChangeRole(user.RoleCustomer, at) }},
		{name: "unknown role", when: func(u *user.User) ([]user.Event, error) { return u.ChangeRole("root", at) }, wantErr: user.ErrInvalidRole},
		{name: "empty role", when: func(u *user.User) ([]user.Event, error) { return u.ChangeRole("", at) }, wantErr: user.ErrInvalidRole},
		{
			name:       "ban",
			when:       func(u *user.User) ([]user.Event, error) { return u.ChangeStatus(user.StatusBanned, at) },
			wantEvents: []user.Event{user.StatusChanged{UserID: userID, Status: user.StatusBanned, PreviousStatus: user.StatusActive, At: at}},
		},
		{
			name:       "reactivate",
			given:      []user.Event{user.StatusChanged{UserID: userID, Status: user.StatusInactive, PreviousStatus: user.StatusActive, At: at}},
			when:       func(u *user.User) ([]user.Event, error) { return u.ChangeStatus(user.StatusActive, at) },
			wantEvents: []user.Event{user.StatusChanged{UserID: userID, Status: user.StatusActive, PreviousStatus: user.StatusInactive, At: at}},
		},
		{name: "same status is a no-op", when: func(u *user.User) ([]user.Event, error) { return u.ChangeStatus(user.StatusActive, at) }},
		{name: "unknown status", when: func(u *user.User) ([]user.Event, error) { return u.ChangeStatus("gone", at) }, wantErr: user.ErrInvalidStatus},
		{
			name:       "change password",
			when:       func(u *user.User) ([]user.Event, error) { return u.ChangePassword(newHash, at) },
			wantEvents: []user.Event{user.PasswordChanged{UserID: userID, PasswordHash: newHash, Reason: user.ReasonChange, At: at}},
		},
		{name: "change password to an empty hash", when: func(u *user.User) ([]user.Event, error) { return u.ChangePassword("", at) }, wantErr: user.ErrInvalidHash},
		{
			name:       "request a reset",
			when:       func(u *user.User) ([]user.Event, error) { return u.RequestPasswordReset("tok1", at.Add(time.Hour), at) },
			wantEvents: []user.Event{user.PasswordResetRequested{UserID: userID, TokenHash: "tok1", ExpiresAt: at.Add(time.Hour), At: at}},
		},
		{
			name:    "a banned user cannot request a reset",
			given:   []user.Event{user.StatusChanged{UserID: userID, Status: user.StatusBanned, PreviousStatus: user.StatusActive, At: at}},
			when:    func(u *user.User) ([]user.Event, error) { return u.RequestPasswordReset("tok1", at.Add(time.Hour), at) },
			wantErr: user.ErrNotActive,
		},
		{name: "reset expiring at once is an internal error", when: func(u *user.User) ([]user.Event, error) { return u.RequestPasswordReset("tok1", at, at) }, wantErr: user.ErrInvalidExpiry},
		{name: "reset without a token hash", when: func(u *user.User) ([]user.Event, error) { return u.RequestPasswordReset("", at.Add(time.Hour), at) }, wantErr: user.ErrInvalidHash},
		{
			name:       "delete",
			when:       func(u *user.User) ([]user.Event, error) { return u.Delete(at) },
			wantEvents: []user.Event{deleted},
		},
		// A deleted user accepts no further command.
		{name: "deleted: rename", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.Rename("Bob", at) }, wantErr: user.ErrDeleted},
		{name: "deleted: same name", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.Rename("Alice", at) }, wantErr: user.ErrDeleted},
		{name: "deleted: change email", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.ChangeEmail("b@example.com", at) }, wantErr: user.ErrDeleted},
		{name: "deleted: verify email", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.VerifyEmail(at) }, wantErr: user.ErrDeleted},
		{name: "deleted: change role", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.ChangeRole(user.RoleAdmin, at) }, wantErr: user.ErrDeleted},
		{name: "deleted: change status", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.ChangeStatus(user.StatusActive, at) }, wantErr: user.ErrDeleted},
		{name: "deleted: change password", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.ChangePassword(newHash, at) }, wantErr: user.ErrDeleted},
		{name: "deleted: request reset", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.RequestPasswordReset("t", at.Add(time.Hour), at) }, wantErr: user.ErrDeleted},
		{name: "deleted: reset", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.ResetPassword("t", newHash, at) }, wantErr: user.ErrDeleted},
		{name: "deleted: delete again", given: []user.Event{deleted}, when: func(u *user.User) ([]user.Event, error) { return u.Delete(at) }, wantErr: user.ErrDeleted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			history := append([]user.Event{registered()}, tc.given...)
			u := mustLoad(t, history...)
			before := snapshot(u)
			events, err := tc.when(u)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || events != nil {
					t.Fatalf("events %v, error %v; want %v", events, err, tc.wantErr)
				}
				if after := snapshot(u); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused decision changed the user: %+v -> %+v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if !reflect.DeepEqual(events, tc.wantEvents) {
				t.Fatalf("events = %#v\nwant     %#v", events, tc.wantEvents)
			}
			// The decision's state is what Load makes of the same history.
			if got, want := snapshot(u), snapshot(mustLoad(t, append(history, events...)...)); !reflect.DeepEqual(got, want) {
				t.Errorf("live state %+v\nloaded     %+v", got, want)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	for err, code := range map[error]domain.Code{
		user.ErrDeleted: domain.CodeNotFound, user.ErrNotActive: domain.CodeUnauthenticated,
		user.ErrInvalidResetToken: domain.CodeBadInput, user.ErrInvalidEmail: domain.CodeBadInput,
		user.ErrInvalidHash: domain.CodeInternal, user.ErrInvalidHistory: domain.CodeInternal,
	} {
		if got := domain.CodeOf(err); got != code {
			t.Errorf("CodeOf(%v) = %s, want %s", err, got, code)
		}
	}
}

func TestCanSignIn(t *testing.T) {
	tests := []struct {
		name    string
		given   []user.Event
		wantErr error
		wantMsg string
	}{
		{name: "active user"},
		{name: "inactive user", given: []user.Event{user.StatusChanged{UserID: userID, Status: user.StatusInactive, PreviousStatus: user.StatusActive, At: at}}, wantErr: user.ErrNotActive, wantMsg: "inactive"},
		{name: "banned user", given: []user.Event{user.StatusChanged{UserID: userID, Status: user.StatusBanned, PreviousStatus: user.StatusActive, At: at}}, wantErr: user.ErrNotActive, wantMsg: "banned"},
		{name: "deleted user", given: []user.Event{user.Deleted{UserID: userID, Email: "alice@example.com", At: at}}, wantErr: user.ErrDeleted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustLoad(t, append([]user.Event{registered()}, tc.given...)...).CanSignIn()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("CanSignIn = %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CanSignIn = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == user.ErrNotActive && domain.CodeOf(err) != domain.CodeUnauthenticated {
				t.Errorf("code = %s", domain.CodeOf(err))
			}
			if !strings.Contains(domain.MessageOf(err), tc.wantMsg) {
				t.Errorf("message %q lacks %q", domain.MessageOf(err), tc.wantMsg)
			}
		})
	}
	t.Run("zero user", func(t *testing.T) {
		var u user.User
		if err := u.CanSignIn(); !errors.Is(err, user.ErrInvalidHistory) {
			t.Errorf("CanSignIn = %v", err)
		}
		if _, err := u.Rename("x", at); !errors.Is(err, user.ErrInvalidHistory) {
			t.Errorf("Rename = %v", err)
		}
	})
}

func TestPasswordReset(t *testing.T) {
	expires := at.Add(time.Hour)
	requested := user.PasswordResetRequested{UserID: userID, TokenHash: "tok1", ExpiresAt: expires, At: at}
	tests := []struct {
		name      string
		given     []user.Event
		token     string
		when      time.Time
		wantErr   error
		wantEvent user.Event
	}{
		{
			name: "pending token sets the password", given: []user.Event{requested}, token: "tok1", when: at.Add(time.Minute),
			wantEvent: user.PasswordChanged{UserID: userID, PasswordHash: newHash, Reason: user.ReasonReset, At: at.Add(time.Minute)},
		},
		{name: "no reset requested", token: "tok1", when: at, wantErr: user.ErrInvalidResetToken},
		{name: "wrong token", given: []user.Event{requested}, token: "tok2", when: at, wantErr: user.ErrInvalidResetToken},
		{name: "empty token", given: []user.Event{requested}, token: "", when: at, wantErr: user.ErrInvalidResetToken},
		{name: "expired at its expiry", given: []user.Event{requested}, token: "tok1", when: expires, wantErr: user.ErrInvalidResetToken},
		{
			name:  "single use: a spent token fails",
			given: []user.Event{requested, user.PasswordChanged{UserID: userID, PasswordHash: newHash, Reason: user.ReasonReset, At: at}},
			token: "tok1", when: at, wantErr: user.ErrInvalidResetToken,
		},
		{
			name:  "a password change spends the pending token",
			given: []user.Event{requested, user.PasswordChanged{UserID: userID, PasswordHash: newHash, Reason: user.ReasonChange, At: at}},
			token: "tok1", when: at, wantErr: user.ErrInvalidResetToken,
		},
		{
			name:  "only the latest token works",
			given: []user.Event{requested, user.PasswordResetRequested{UserID: userID, TokenHash: "tok2", ExpiresAt: expires, At: at}},
			token: "tok1", when: at, wantErr: user.ErrInvalidResetToken,
		},
		{
			name:  "the latest token works",
			given: []user.Event{requested, user.PasswordResetRequested{UserID: userID, TokenHash: "tok2", ExpiresAt: expires, At: at}},
			token: "tok2", when: at,
			wantEvent: user.PasswordChanged{UserID: userID, PasswordHash: newHash, Reason: user.ReasonReset, At: at},
		},
		{
			name:  "a user banned after the request cannot reset",
			given: []user.Event{requested, user.StatusChanged{UserID: userID, Status: user.StatusBanned, PreviousStatus: user.StatusActive, At: at}},
			token: "tok1", when: at, wantErr: user.ErrNotActive,
		},
		{
			name:  "a wrong token does not reveal a ban",
			given: []user.Event{requested, user.StatusChanged{UserID: userID, Status: user.StatusBanned, PreviousStatus: user.StatusActive, At: at}},
			token: "nope", when: at, wantErr: user.ErrInvalidResetToken,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := mustLoad(t, append([]user.Event{registered()}, tc.given...)...)
			events, err := u.ResetPassword(tc.token, newHash, tc.when)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || events != nil {
					t.Fatalf("ResetPassword = %v, %v; want %v", events, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(events, []user.Event{tc.wantEvent}) {
				t.Fatalf("ResetPassword = %#v, %v; want %#v", events, err, tc.wantEvent)
			}
			if u.PasswordHash() != newHash || u.ResetPending(tc.when) {
				t.Errorf("after reset: hash %q, pending %v", u.PasswordHash(), u.ResetPending(tc.when))
			}
			if _, err := u.ResetPassword(tc.token, hash, tc.when); !errors.Is(err, user.ErrInvalidResetToken) {
				t.Errorf("second use of the token = %v, want ErrInvalidResetToken", err)
			}
		})
	}
	t.Run("bad new hash after a good token", func(t *testing.T) {
		u := mustLoad(t, registered(), requested)
		if _, err := u.ResetPassword("tok1", "", at); !errors.Is(err, user.ErrInvalidHash) {
			t.Errorf("ResetPassword = %v, want ErrInvalidHash", err)
		}
		if !u.ResetPending(at) {
			t.Errorf("a failed reset spent the token")
		}
	})
}

func TestLoadRefusesIncoherentHistories(t *testing.T) {
	deleted := user.Deleted{UserID: userID, Email: "alice@example.com", At: at}
	tests := []struct {
		name    string
		history []user.Event
		wantErr error
	}{
		{"empty", nil, user.ErrInvalidHistory},
		{"not starting with registered", []user.Event{user.RoleChanged{UserID: userID, Role: user.RoleAdmin}}, user.ErrInvalidHistory},
		{"registered twice", []user.Event{registered(), registered()}, user.ErrInvalidHistory},
		{"another user's event", []user.Event{registered(), user.RoleChanged{UserID: otherUserID, Role: user.RoleAdmin}}, user.ErrInvalidHistory},
		{"an event after deleted", []user.Event{registered(), deleted, user.RoleChanged{UserID: userID, Role: user.RoleAdmin}}, user.ErrInvalidHistory},
		{"nil event", []user.Event{registered(), nil}, user.ErrUnknownEvent},
		{"pointer event", []user.Event{registered(), &user.Deleted{UserID: userID}}, user.ErrUnknownEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if u, err := user.Load(tc.history); !errors.Is(err, tc.wantErr) || u != nil {
				t.Fatalf("Load = %v, %v; want %v", u, err, tc.wantErr)
			}
		})
	}
}

// TestRolesAreRBACRoles keeps the two role lists (this package's and rbac's,
// which may not import each other) identical.
func TestRolesAreRBACRoles(t *testing.T) {
	roles := user.Roles()
	want := rbac.Roles()
	if len(roles) != len(want) {
		t.Fatalf("user roles %v, rbac roles %v", roles, want)
	}
	for i, r := range roles {
		if string(r) != string(want[i]) || !r.Valid() {
			t.Errorf("user role %q, rbac role %q", r, want[i])
		}
	}
	for _, s := range user.Statuses() {
		if !s.Valid() {
			t.Errorf("status %q is not valid", s)
		}
	}
}
