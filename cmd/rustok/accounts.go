package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok/commands"
	sessioncmd "github.com/rustok/rustok/commands/session"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	sessionproj "github.com/rustok/rustok/projections/session"
	userproj "github.com/rustok/rustok/projections/user"
	sessionqry "github.com/rustok/rustok/queries/session"
	userqry "github.com/rustok/rustok/queries/user"
	httpserver "github.com/rustok/rustok/transport/http"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// The account operations shared by the REST routes of /api/auth
// (authrest.go) and the GraphQL fields (authgraphql.go): one
// implementation of each. The tenant and the actor always come from the
// request's context, never from the client's input.

// forgotPasswordFloor is the least time forgotPassword takes, whatever the
// outcome: an address with an account costs an append, one without costs
// a lookup, and the difference must not tell them apart.
const forgotPasswordFloor = 250 * time.Millisecond

// forgotPasswordMessage is forgotPassword's one answer.
const forgotPasswordMessage = "If an account with this email exists, a link to reset its password has been sent to it."

// accountHandlers are the user and session handlers of the account
// operations, built by newIdentity.
type accountHandlers struct {
	forgot        commands.Handler[usercmd.RequestPasswordReset]
	reset         commands.Handler[usercmd.ResetPassword]
	changePw      commands.Handler[usercmd.ChangePassword]
	update        commands.Handler[usercmd.UpdateUser]
	create        commands.Handler[usercmd.CreateUser]
	changeRole    commands.Handler[usercmd.ChangeRole]
	changeStatus  commands.Handler[usercmd.ChangeStatus]
	deleteUser    commands.Handler[usercmd.DeleteUser]
	revokeSession commands.Handler[sessioncmd.RevokeSession]
	revokeAll     commands.Handler[sessioncmd.RevokeAll]
	sessions      *sessionqry.Reader
}

func newAccountHandlers(ud usercmd.Deps, sd sessioncmd.Deps, dec commands.Decorators, sessions *sessionqry.Reader) accountHandlers {
	return accountHandlers{
		forgot:        usercmd.NewRequestPasswordResetHandler(ud, dec),
		reset:         usercmd.NewResetPasswordHandler(ud, dec),
		changePw:      usercmd.NewChangePasswordHandler(ud, dec),
		update:        usercmd.NewUpdateUserHandler(ud, dec),
		create:        usercmd.NewCreateUserHandler(ud, dec),
		changeRole:    usercmd.NewChangeRoleHandler(ud, dec),
		changeStatus:  usercmd.NewChangeStatusHandler(ud, dec),
		deleteUser:    usercmd.NewDeleteUserHandler(ud, dec),
		revokeSession: sessioncmd.NewRevokeSessionHandler(sd, dec),
		revokeAll:     sessioncmd.NewRevokeAllHandler(sd, dec),
		sessions:      sessions,
	}
}

// sessionRevoker adapts the session module's Revoker to what the user
// commands call (usercmd.SessionRevoker). The Revoker lists the user's
// sessions from the sessions read model, so it first waits until that
// projection reached the head of the log (caughtUp): a session started a
// moment ago on another device is ended too. If the read model cannot
// catch up in time, the command fails and changes nothing.
type sessionRevoker struct {
	r        *sessioncmd.Revoker
	caughtUp func(ctx context.Context) error
}

func (s sessionRevoker) RevokeForPasswordChange(ctx context.Context, tenantID, userID, keep string, meta eventstore.Metadata) error {
	return s.revoke(ctx, s.r.RevokeAllForPasswordChange, sessioncmd.UserSessions{TenantID: tenantID, UserID: userID, CurrentSessionID: keep, Meta: meta})
}

func (s sessionRevoker) RevokeForReset(ctx context.Context, tenantID, userID string, meta eventstore.Metadata) error {
	return s.revoke(ctx, s.r.RevokeAllForReset, sessioncmd.UserSessions{TenantID: tenantID, UserID: userID, Meta: meta})
}

func (s sessionRevoker) RevokeForDisabledUser(ctx context.Context, tenantID, userID string, meta eventstore.Metadata) error {
	return s.revoke(ctx, s.r.RevokeAllForDisabledUser, sessioncmd.UserSessions{TenantID: tenantID, UserID: userID, Meta: meta})
}

func (s sessionRevoker) revoke(ctx context.Context, revoke func(context.Context, sessioncmd.UserSessions) (commands.Result, error), u sessioncmd.UserSessions) error {
	if err := s.caughtUp(ctx); err != nil {
		return errSessionsBehind.Wrap(err)
	}
	_, err := revoke(ctx, u)
	return err
}

// errSessionsBehind: the sessions read model did not reach the head of
// the log in time, so the sessions to end are not known for sure.
var errSessionsBehind = domain.Conflict("the sessions could not be listed in time; nothing was changed, try again in a moment")

// userInput is what createUser and updateUser take; nil fields are left
// as they are (updateUser) or take their defaults (createUser).
type userInput struct {
	Email, Password, Name *string
	Role                  *user.Role
	Status                *user.Status
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// forgotPassword asks for a reset link for email. It answers the same
// for every address, in no less than forgotPasswordFloor; only a
// malformed address is an error (it says nothing about accounts).
func (id *identity) forgotPassword(ctx context.Context, email string) error {
	if err := tenancy.Require(ctx); err != nil {
		return err
	}
	start := time.Now()
	_, err := id.accounts.forgot.Handle(ctx, usercmd.RequestPasswordReset{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx), Email: email,
	})
	id.metrics.resets.WithLabelValues("requested", code(err)).Inc()
	if errors.Is(err, user.ErrInvalidEmail) {
		return err
	}
	if err != nil {
		// Logged by the handler's decorator; the client gets the same
		// answer as for any address (the reset can be asked again).
		id.a.logger.WarnContext(ctx, "forgot password failed", "error", err)
	}
	select {
	case <-time.After(time.Until(start.Add(forgotPasswordFloor))):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// resetPassword sets a new password with a reset link's token.
func (id *identity) resetPassword(ctx context.Context, token, newPassword string) (int64, error) {
	if err := tenancy.Require(ctx); err != nil {
		return 0, err
	}
	res, err := id.accounts.reset.Handle(ctx, usercmd.ResetPassword{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx), Token: token, NewPassword: newPassword,
	})
	id.metrics.resets.WithLabelValues("completed", code(err)).Inc()
	if err != nil {
		return 0, err
	}
	userID, _, _ := user.ParseResetToken(token)
	return res.Position, id.settle(ctx, res.Position, userID, "")
}

// changePassword changes the signed-in caller's password, ending their
// other sessions.
func (id *identity) changePassword(ctx context.Context, who httpserver.Identity, current, next string) (int64, error) {
	res, err := id.accounts.changePw.Handle(ctx, usercmd.ChangePassword{
		TenantID: who.TenantID, Actor: who.Actor, Meta: requestMeta(ctx),
		CurrentPassword: current, NewPassword: next, SessionID: who.SessionID,
	})
	if err != nil {
		return 0, err
	}
	return res.Position, id.settle(ctx, res.Position, who.UserID, "")
}

// updateProfile renames the signed-in caller.
func (id *identity) updateProfile(ctx context.Context, who httpserver.Identity, name string) (int64, error) {
	res, err := id.accounts.update.Handle(ctx, usercmd.UpdateUser{
		TenantID: who.TenantID, Actor: who.Actor, Meta: requestMeta(ctx), UserID: who.UserID, Name: &name,
	})
	return res.Position, err
}

// createUser creates a user of the request's tenant.
func (id *identity) createUser(ctx context.Context, in userInput) (string, int64, error) {
	if err := tenancy.Require(ctx); err != nil {
		return "", 0, err
	}
	newID, err := id.newID()
	if err != nil {
		return "", 0, err
	}
	res, err := id.accounts.create.Handle(ctx, usercmd.CreateUser{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx), ID: newID,
		Email: deref(in.Email), Password: deref(in.Password), Name: deref(in.Name), Role: deref(in.Role), Status: deref(in.Status),
	})
	return newID, res.Position, err
}

// updateUser changes a user of the request's tenant: profile (name,
// email), then role, then status, each its own command with its own
// permission. It stops at the first refusal; what was applied before
// stays, and the error says what was refused.
func (id *identity) updateUser(ctx context.Context, userID string, in userInput) (int64, error) {
	if err := tenancy.Require(ctx); err != nil {
		return 0, err
	}
	if in.Password != nil {
		return 0, domain.InvalidField("password", "a user's password is changed by the user (changePassword) or with a reset link")
	}
	t, actor, meta := tenantID(ctx), httpserver.ActorFrom(ctx), requestMeta(ctx)
	var last int64
	keep := func(res commands.Result, err error) error {
		last = max(last, res.Position)
		return err
	}
	if in.Name != nil || in.Email != nil {
		if err := keep(id.accounts.update.Handle(ctx, usercmd.UpdateUser{TenantID: t, Actor: actor, Meta: meta, UserID: userID, Name: in.Name, Email: in.Email})); err != nil {
			return last, err
		}
	}
	if in.Role != nil {
		if err := keep(id.accounts.changeRole.Handle(ctx, usercmd.ChangeRole{TenantID: t, Actor: actor, Meta: meta, UserID: userID, Role: *in.Role})); err != nil {
			return last, err
		}
	}
	if in.Status != nil {
		if err := keep(id.accounts.changeStatus.Handle(ctx, usercmd.ChangeStatus{TenantID: t, Actor: actor, Meta: meta, UserID: userID, Status: *in.Status})); err != nil {
			return last, err
		}
	}
	return last, id.settle(ctx, last, userID, "")
}

// disableUser sets a user of the request's tenant inactive (and so ends
// their sessions).
func (id *identity) disableUser(ctx context.Context, userID string) (int64, error) {
	status := user.StatusInactive
	return id.updateUser(ctx, userID, userInput{Status: &status})
}

// deleteUser deletes a user of the request's tenant.
func (id *identity) deleteUser(ctx context.Context, userID string) (int64, error) {
	if err := tenancy.Require(ctx); err != nil {
		return 0, err
	}
	res, err := id.accounts.deleteUser.Handle(ctx, usercmd.DeleteUser{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx), UserID: userID,
	})
	if err != nil {
		return 0, err
	}
	return res.Position, id.settle(ctx, res.Position, userID, "")
}

// revokeSession ends one session: the caller's own, or, with users:update,
// one of another user of the tenant.
func (id *identity) revokeSession(ctx context.Context, sessionID string) (int64, error) {
	if err := tenancy.Require(ctx); err != nil {
		return 0, err
	}
	res, err := id.accounts.revokeSession.Handle(ctx, sessioncmd.RevokeSession{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx), SessionID: sessionID,
	})
	if err != nil {
		return 0, err
	}
	return res.Position, id.settle(ctx, res.Position, "", sessionID)
}

// revokeAllSessions ends every session of the signed-in caller but the
// request's.
func (id *identity) revokeAllSessions(ctx context.Context, who httpserver.Identity) (int64, error) {
	res, err := id.accounts.revokeAll.Handle(ctx, sessioncmd.RevokeAll{
		TenantID: who.TenantID, Actor: who.Actor, Meta: requestMeta(ctx), CurrentSessionID: who.SessionID,
	})
	if err != nil {
		return 0, err
	}
	return res.Position, id.settle(ctx, res.Position, who.UserID, "")
}

// sessionsOf lists the signed-in caller's active sessions, newest first.
// An API key has no sessions of its own and may not list its creator's
// (their devices and addresses): commands.ErrSelfOnly, as for every
// use case only the user themself may run.
func (id *identity) sessionsOf(ctx context.Context, who httpserver.Identity) ([]sessionqry.View, error) {
	if who.Actor.APIKey() {
		return nil, commands.ErrSelfOnly
	}
	return id.accounts.sessions.Active(ctx, who.TenantID, who.UserID, time.Now())
}

// userAfter reads a user once the read models reached position (the
// write of the request), within the read-your-writes budget.
func (id *identity) userAfter(ctx context.Context, tenant, userID string, position int64) (userqry.View, error) {
	if err := id.await(ctx, position); err != nil {
		return userqry.View{}, err
	}
	return id.users.Get(ctx, tenant, userID)
}

// settle makes a change of who may use which session visible to the very
// next request: it waits until the read models reached position, then
// drops this instance's cached principals of userID and sessionID (either
// may be ""). The log follower does the same on every instance when it
// reaches the events; settle spares the next request here the follower's
// few milliseconds. A write the read models do not show in time is
// errNotVisibleYet: the change is saved, but the client must not believe
// it in force yet.
func (id *identity) settle(ctx context.Context, position int64, userID, sessionID string) error {
	if position <= 0 {
		return nil
	}
	if err := id.await(ctx, position); err != nil {
		return err
	}
	if userID != "" {
		id.principals.InvalidateUser(userID)
	}
	if sessionID != "" {
		id.principals.InvalidateSession(sessionID)
	}
	return nil
}

// await waits until the consumers (by default the users and sessions
// projections) reached position (0: nothing to wait for), at most
// lagWait; a timeout is errNotVisibleYet.
func (id *identity) await(ctx context.Context, position int64, consumers ...string) error {
	if position <= 0 {
		return nil
	}
	if len(consumers) == 0 {
		consumers = []string{userproj.Name, sessionproj.Name}
	}
	ok, err := id.waiter.WaitFor(ctx, position, consumers, id.lagWait)
	if err != nil {
		return fmt.Errorf("wait for the read models: %w", err)
	}
	if !ok {
		return errNotVisibleYet
	}
	return nil
}

// errNotVisibleYet: the write was recorded, but the read models did not
// show it within graphql.read_your_writes_timeout.
var errNotVisibleYet = domain.Conflict("the change was saved but is not visible yet; read it again in a moment")
