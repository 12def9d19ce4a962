package user_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
)

var (
	_ usercmd.Hasher         = (*password.Hasher)(nil)
	_ commands.Store         = (*eventstore.Store)(nil)
	_ commands.ModuleGate    = (*gate)(nil)
	_ usercmd.Hasher         = busyHasher{}
	_ commands.Store         = (*interferingStore)(nil)
	_ usercmd.SessionRevoker = (*revoker)(nil)
)

// revoker is a usercmd.SessionRevoker double recording each call as
// "reason tenant/user keep"; fail, when set, is every call's answer.
type revoker struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (r *revoker) record(reason, tenantID, userID, keep string, meta eventstore.Metadata) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, reason+" "+tenantID+"/"+userID+" "+keep+" by "+meta.ActorID)
	return r.fail
}

func (r *revoker) RevokeForPasswordChange(_ context.Context, tenantID, userID, keep string, meta eventstore.Metadata) error {
	return r.record("password_changed", tenantID, userID, keep, meta)
}

func (r *revoker) RevokeForReset(_ context.Context, tenantID, userID string, meta eventstore.Metadata) error {
	return r.record("password_reset", tenantID, userID, "", meta)
}

func (r *revoker) RevokeForDisabledUser(_ context.Context, tenantID, userID string, meta eventstore.Metadata) error {
	return r.record("user_disabled", tenantID, userID, "", meta)
}

// take returns the recorded calls and forgets them.
func (r *revoker) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// resetKey is the reset token key of every test.
var resetKey = []byte(strings.Repeat("k", 32))

// at is the handlers' clock in every test.
var at = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// fast are argon2 parameters small enough for tests.
var fast = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// The password of every seeded user.
const seedPassword = "correct horse battery"

// gate is a commands.ModuleGate double: every module enabled unless listed
// in disabled; it records the tenants it was asked about.
type gate struct {
	mu       sync.Mutex
	disabled map[string]bool
	asked    []string
}

func (g *gate) ModuleEnabled(_ context.Context, tenantID, module string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, tenantID+"/"+module)
	return !g.disabled[module], nil
}

// busyHasher answers every call as a hasher with no free slot.
type busyHasher struct{}

func (busyHasher) Hash(context.Context, string) (string, error) {
	return "", errors.Join(password.ErrBusy, context.DeadlineExceeded)
}

func (busyHasher) Verify(context.Context, string, string) (bool, error) {
	return false, password.ErrBusy
}

// interferingStore runs interfere once, right after the first Load of a
// user stream, as a concurrent command would between load and append.
type interferingStore struct {
	commands.Store
	once      sync.Once
	interfere func()
}

func (s *interferingStore) Load(ctx context.Context, streamType, streamID string) ([]eventstore.Event, error) {
	evs, err := s.Store.Load(ctx, streamType, streamID)
	s.once.Do(s.interfere)
	return evs, err
}

// env is a real event store on one database, one tenant with a user of
// each role, and every user handler.
type env struct {
	store   *eventstore.Store
	deps    usercmd.Deps
	gate    *gate
	revoker *revoker
	tenant  string

	register commands.Handler[usercmd.RegisterUser]
	create   commands.Handler[usercmd.CreateUser]
	update   commands.Handler[usercmd.UpdateUser]
	role     commands.Handler[usercmd.ChangeRole]
	status   commands.Handler[usercmd.ChangeStatus]
	del      commands.Handler[usercmd.DeleteUser]
	chpw     commands.Handler[usercmd.ChangePassword]
	forgot   commands.Handler[usercmd.RequestPasswordReset]
	reset    commands.Handler[usercmd.ResetPassword]

	// The seeded users, one per role, and their actors.
	superID, adminID, managerID, customerID string
	super, admin, manager, customer         rbac.Actor
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	store, err := eventstore.New(dbtest.OpenURL(tb, dbURL), eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := password.New(password.Options{Params: fast})
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{store: store, gate: &gate{disabled: map[string]bool{}}, revoker: &revoker{}, tenant: uuid.NewString()}
	e.deps = usercmd.Deps{
		Store: store, Modules: e.gate, Hasher: h,
		NewID:    func() (string, error) { return uuid.NewString(), nil },
		Now:      func() time.Time { return at },
		Sessions: e.revoker, ResetKey: resetKey,
	}
	e.build(e.deps)
	e.superID, e.super = e.seed(tb, user.RoleSuperAdmin, "root@example.com")
	e.adminID, e.admin = e.seed(tb, user.RoleAdmin, "admin@example.com")
	e.managerID, e.manager = e.seed(tb, user.RoleManager, "manager@example.com")
	e.customerID, e.customer = e.seed(tb, user.RoleCustomer, "customer@example.com")
	e.revoker.take()
	return e
}

// build (re)creates the handlers over d.
func (e *env) build(d usercmd.Deps) {
	e.register = usercmd.NewRegisterUserHandler(d, commands.Decorators{}, usercmd.WithRegistrationEnabled(true))
	e.create = usercmd.NewCreateUserHandler(d, commands.Decorators{})
	e.update = usercmd.NewUpdateUserHandler(d, commands.Decorators{})
	e.role = usercmd.NewChangeRoleHandler(d, commands.Decorators{})
	e.status = usercmd.NewChangeStatusHandler(d, commands.Decorators{})
	e.del = usercmd.NewDeleteUserHandler(d, commands.Decorators{})
	e.chpw = usercmd.NewChangePasswordHandler(d, commands.Decorators{})
	e.forgot = usercmd.NewRequestPasswordResetHandler(d, commands.Decorators{})
	e.reset = usercmd.NewResetPasswordHandler(d, commands.Decorators{})
}

// with returns a copy of e whose handlers use d.
func (e *env) with(d usercmd.Deps) *env {
	c := *e
	c.build(d)
	return &c
}

// seed creates a user of role with email through CreateUser as a
// super_admin who is not stored, and returns its id and actor.
func (e *env) seed(tb testing.TB, role user.Role, email string) (string, rbac.Actor) {
	tb.Helper()
	id := uuid.NewString()
	if _, err := e.create.Handle(context.Background(), usercmd.CreateUser{
		TenantID: e.tenant, Actor: actor(tb, uuid.NewString(), user.RoleSuperAdmin),
		ID: id, Email: email, Password: seedPassword, Name: string(role), Role: role,
	}); err != nil {
		tb.Fatalf("seed %s: %v", role, err)
	}
	return id, actor(tb, id, role)
}

// newCustomer creates another customer and returns its id.
func (e *env) newCustomer(tb testing.TB, email string) string {
	tb.Helper()
	id, _ := e.seed(tb, user.RoleCustomer, email)
	return id
}

func actor(tb testing.TB, id string, role user.Role) rbac.Actor {
	tb.Helper()
	a, err := rbac.UserActor(id, rbac.Role(role))
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func keyActor(tb testing.TB, id string, role user.Role, perms ...rbac.Permission) rbac.Actor {
	tb.Helper()
	a, err := rbac.KeyActor(id, rbac.Role(role), perms)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// load rebuilds a user from its stream.
func (e *env) load(tb testing.TB, id string) *user.User {
	tb.Helper()
	var history []user.Event
	for _, ev := range e.events(tb, id) {
		d, err := user.Decode(ev.Type, ev.SchemaVersion, ev.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		history = append(history, d)
	}
	u, err := user.Load(history)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// events returns a user's stored events.
func (e *env) events(tb testing.TB, id string) []eventstore.Event {
	tb.Helper()
	evs, err := e.store.Load(context.Background(), user.StreamType, id)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// holder returns the stream holding email in e's tenant, or "".
func (e *env) holder(tb testing.TB, email string) string {
	tb.Helper()
	id, _, err := e.store.ReservationHolder(context.Background(), user.EmailScope, e.tenant+"/"+email)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// head returns the last log position.
func (e *env) head(tb testing.TB) int64 {
	tb.Helper()
	h, err := e.store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// expect is the expected outcome of a table case: no error when is is nil;
// else errors.Is is, with code, field ("-" none, "" unchecked) and a message
// containing msg.
type expect struct {
	is    error
	code  domain.Code
	field string
	msg   string
}

func (w expect) check(tb testing.TB, err error) {
	tb.Helper()
	if w.is == nil {
		if err != nil {
			tb.Fatalf("error = %v, want none", err)
		}
		return
	}
	if !errors.Is(err, w.is) {
		tb.Fatalf("error = %v, want %v", err, w.is)
	}
	if w.code != "" && domain.CodeOf(err) != w.code {
		tb.Errorf("code = %s, want %s", domain.CodeOf(err), w.code)
	}
	switch w.field {
	case "":
	case "-":
		if f := domain.FieldOf(err); f != "" {
			tb.Errorf("field = %q, want none", f)
		}
	default:
		if f := domain.FieldOf(err); f != w.field {
			tb.Errorf("field = %q, want %q", f, w.field)
		}
	}
	if !strings.Contains(domain.MessageOf(err), w.msg) {
		tb.Errorf("message = %q, want it to contain %q", domain.MessageOf(err), w.msg)
	}
}

// denied expects a FORBIDDEN naming perm.
func denied(perm string) expect {
	return expect{is: rbac.ErrForbidden, code: domain.CodeForbidden, msg: perm}
}

// unauthenticated expects an UNAUTHENTICATED answer.
var unauthenticated = expect{is: rbac.ErrUnauthenticated, code: domain.CodeUnauthenticated}

// conflictEmail expects a taken email.
var conflictEmail = expect{is: eventstore.ErrReserved, code: domain.CodeConflict, field: "email", msg: "is already taken"}

func ptr[T any](v T) *T { return &v }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
