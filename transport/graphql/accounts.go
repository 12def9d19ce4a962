package gql

import (
	"context"
	"errors"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/rustok/rustok/domain"
	userdom "github.com/rustok/rustok/domain/user"
	userqry "github.com/rustok/rustok/queries/user"
	httpserver "github.com/rustok/rustok/transport/http"
)

// UserInput is the input of createUser and updateUser; nil fields are not
// given.
type UserInput struct {
	Email, Password, Name *string
	Role                  *userdom.Role
	Status                *userdom.Status
}

// SessionInfo is one entry of the sessions list.
type SessionInfo struct {
	ID                    string
	CreatedAt, LastSeenAt time.Time
	UserAgent, IP         string
}

// AccountDeps are the account operations of the identity fields: password
// reset and change, profile, user administration and sessions. Each takes
// the tenant and the actor from ctx (or from who, the signed-in caller)
// and returns the position of its last event (0: none).
type AccountDeps struct {
	ForgotPassword    func(ctx context.Context, email string) error
	ResetPassword     func(ctx context.Context, token, newPassword string) (int64, error)
	ChangePassword    func(ctx context.Context, who httpserver.Identity, current, next string) (int64, error)
	UpdateProfile     func(ctx context.Context, who httpserver.Identity, name string) (int64, error)
	CreateUser        func(ctx context.Context, in UserInput) (string, int64, error)
	UpdateUser        func(ctx context.Context, id string, in UserInput) (int64, error)
	DisableUser       func(ctx context.Context, id string) (int64, error)
	DeleteUser        func(ctx context.Context, id string) (int64, error)
	RevokeSession     func(ctx context.Context, id string) (int64, error)
	RevokeAllSessions func(ctx context.Context, who httpserver.Identity) (int64, error)
	Sessions          func(ctx context.Context, who httpserver.Identity) ([]SessionInfo, error)
	// ForgotMessage is forgotPassword's one answer.
	ForgotMessage string
	// APIKeys are the API key operations.
	APIKeys APIKeyDeps
}

type successOut struct {
	Success  bool `json:"success"`
	Position any  `json:"position"` // int64, or nil for none
}

type forgotOut struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

type sessionOut struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"createdAt"`
	LastSeenAt string `json:"lastSeenAt"`
	UserAgent  string `json:"userAgent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

// accountFields returns the account queries and mutations over the User
// type and its enums.
func (r identityResolvers) accountFields(userType *graphql.Object, role, status *graphql.Enum) (query, mutation graphql.Fields) {
	nonNullString := graphql.NewNonNull(graphql.String)
	nonNullID := graphql.NewNonNull(graphql.ID)
	success := graphql.NewObject(graphql.ObjectConfig{Name: "SuccessPayload", Fields: graphql.Fields{
		"success":  &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
		"position": &graphql.Field{Type: Position, Description: "The log position of the operation's last event; null when it recorded none."},
	}})
	forgot := graphql.NewObject(graphql.ObjectConfig{Name: "ForgotPasswordPayload", Fields: graphql.Fields{
		"success": &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
		"message": &graphql.Field{Type: nonNullString},
	}})
	sessionType := graphql.NewObject(graphql.ObjectConfig{Name: "Session", Fields: graphql.Fields{
		"id":         &graphql.Field{Type: nonNullID},
		"createdAt":  &graphql.Field{Type: nonNullString, Description: "RFC 3339."},
		"lastSeenAt": &graphql.Field{Type: nonNullString, Description: "RFC 3339: the sign-in or the latest refresh."},
		"userAgent":  &graphql.Field{Type: nonNullString},
		"ip":         &graphql.Field{Type: nonNullString},
		"current":    &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean), Description: "Whether this request comes from this session."},
	}})
	input := func(name string, fields graphql.InputObjectConfigFieldMap) *graphql.NonNull {
		return graphql.NewNonNull(graphql.NewInputObject(graphql.InputObjectConfig{Name: name, Fields: fields}))
	}
	query = graphql.Fields{
		"sessions": &graphql.Field{
			Type:        graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(sessionType))),
			Description: "The signed-in user's active sessions, newest first.",
			Resolve:     r.sessions,
		},
	}
	mutation = graphql.Fields{
		"forgotPassword": &graphql.Field{
			Type:        graphql.NewNonNull(forgot),
			Description: "Mails a password reset link to the address if it has an account; the answer is the same either way.",
			Args:        graphql.FieldConfigArgument{"input": {Type: input("ForgotPasswordInput", graphql.InputObjectConfigFieldMap{"email": {Type: nonNullString}})}},
			Resolve:     r.forgotPassword,
		},
		"resetPassword": &graphql.Field{
			Type:        graphql.NewNonNull(success),
			Description: "Sets a new password with the token of a reset link (once, before it expires) and ends every session.",
			Args: graphql.FieldConfigArgument{"input": {Type: input("ResetPasswordInput", graphql.InputObjectConfigFieldMap{
				"token": {Type: nonNullString}, "newPassword": {Type: nonNullString},
			})}},
			Resolve: r.resetPassword,
		},
		"changePassword": &graphql.Field{
			Type:        graphql.NewNonNull(success),
			Description: "Changes the signed-in user's password and ends their other sessions.",
			Args: graphql.FieldConfigArgument{"input": {Type: input("ChangePasswordInput", graphql.InputObjectConfigFieldMap{
				"currentPassword": {Type: nonNullString}, "newPassword": {Type: nonNullString},
			})}},
			Resolve: r.changePassword,
		},
		"updateProfile": &graphql.Field{
			Type:        userType,
			Description: "Changes the signed-in user's name.",
			Args:        graphql.FieldConfigArgument{"input": {Type: input("UpdateProfileInput", graphql.InputObjectConfigFieldMap{"name": {Type: nonNullString}})}},
			Resolve:     r.updateProfile,
		},
		"revokeAllSessions": &graphql.Field{
			Type:        graphql.NewNonNull(success),
			Description: "Ends every session of the signed-in user but this one.",
			Resolve:     r.revokeAllSessions,
		},
		"revokeSession": &graphql.Field{
			Type:        graphql.NewNonNull(success),
			Description: "Ends a session: one's own, or another user's with users:update.",
			Args:        graphql.FieldConfigArgument{"id": {Type: nonNullID}},
			Resolve:     r.revokeSession,
		},
		"createUser": &graphql.Field{
			Type:        userType,
			Description: "Creates a user of this tenant. Needs users:create, and the right to give the role.",
			Args: graphql.FieldConfigArgument{"input": {Type: input("CreateUserInput", graphql.InputObjectConfigFieldMap{
				"email": {Type: nonNullString}, "password": {Type: nonNullString}, "name": {Type: graphql.String},
				"role": {Type: role}, "status": {Type: status},
			})}},
			Resolve: r.createUser,
		},
		"updateUser": &graphql.Field{
			Type:        userType,
			Description: "Changes a user of this tenant: name and email (users:update, or the user themself), role and status (users:update).",
			Args: graphql.FieldConfigArgument{"id": {Type: nonNullID}, "input": {Type: input("UpdateUserInput", graphql.InputObjectConfigFieldMap{
				"name": {Type: graphql.String}, "email": {Type: graphql.String}, "role": {Type: role}, "status": {Type: status},
			})}},
			Resolve: r.updateUser,
		},
		"disableUser": &graphql.Field{
			Type:        userType,
			Description: "Sets a user inactive and ends their sessions. Needs users:update.",
			Args:        graphql.FieldConfigArgument{"id": {Type: nonNullID}},
			Resolve:     r.disableUser,
		},
		"deleteUser": &graphql.Field{
			Type:        graphql.NewNonNull(success),
			Description: "Deletes a user and ends their sessions. Needs users:delete.",
			Args:        graphql.FieldConfigArgument{"id": {Type: nonNullID}},
			Resolve:     r.deleteUser,
		},
	}
	keyQuery, keyMutation := apiKeyFields(r.d.Accounts.APIKeys, success)
	for name, f := range keyQuery {
		query[name] = f
	}
	for name, f := range keyMutation {
		mutation[name] = f
	}
	return query, mutation
}

// signedIn returns the request's tenant check and the signed-in caller.
func signedIn(ctx context.Context) (httpserver.Identity, error) {
	if _, err := requestTenant(ctx); err != nil {
		return httpserver.Identity{}, err
	}
	who, ok := httpserver.IdentityFrom(ctx)
	if !ok {
		return httpserver.Identity{}, domain.Unauthenticated("authentication required")
	}
	return who, nil
}

// done answers a mutation that recorded position once the read models
// reached it.
func done(ctx context.Context, position int64, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if err := written(ctx, position); err != nil {
		return nil, err
	}
	return successOut{Success: true, Position: positionOf(position)}, nil
}

// userAt answers the user id once the read models reached position.
func (r identityResolvers) userAt(ctx context.Context, id string, position int64, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	t, err := requestTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := written(ctx, position); err != nil {
		return nil, err
	}
	v, err := r.d.Users.Get(ctx, t.ID, id)
	if errors.Is(err, userqry.ErrNotFound) {
		return nil, domain.Conflict("the change was saved but is not visible yet; read it again in a moment").Wrap(err)
	}
	if err != nil {
		return nil, err
	}
	return toUserOut(v, t.Name), nil
}

func inputStringPtr(p map[string]any, field string) *string {
	s, ok := p[field].(string)
	if !ok {
		return nil
	}
	return &s
}

func userInputOf(p map[string]any) UserInput {
	in := UserInput{Email: inputStringPtr(p, "email"), Password: inputStringPtr(p, "password"), Name: inputStringPtr(p, "name")}
	if s := inputStringPtr(p, "role"); s != nil {
		role := userdom.Role(*s)
		in.Role = &role
	}
	if s := inputStringPtr(p, "status"); s != nil {
		status := userdom.Status(*s)
		in.Status = &status
	}
	return in
}

func (r identityResolvers) forgotPassword(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	if r.d.AuthBudget != nil {
		if err := r.d.AuthBudget(p.Context); err != nil {
			return nil, err
		}
	}
	if err := r.d.Accounts.ForgotPassword(p.Context, inputString(p, "email")); err != nil {
		return nil, err
	}
	return forgotOut{Success: true, Message: r.d.Accounts.ForgotMessage}, nil
}

func (r identityResolvers) resetPassword(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	if r.d.AuthBudget != nil {
		if err := r.d.AuthBudget(p.Context); err != nil {
			return nil, err
		}
	}
	pos, err := r.d.Accounts.ResetPassword(p.Context, inputString(p, "token"), inputString(p, "newPassword"))
	return done(p.Context, pos, err)
}

func (r identityResolvers) changePassword(p graphql.ResolveParams) (any, error) {
	who, err := signedIn(p.Context)
	if err != nil {
		return nil, err
	}
	pos, err := r.d.Accounts.ChangePassword(p.Context, who, inputString(p, "currentPassword"), inputString(p, "newPassword"))
	return done(p.Context, pos, err)
}

func (r identityResolvers) updateProfile(p graphql.ResolveParams) (any, error) {
	who, err := signedIn(p.Context)
	if err != nil {
		return nil, err
	}
	pos, err := r.d.Accounts.UpdateProfile(p.Context, who, inputString(p, "name"))
	return r.userAt(p.Context, who.UserID, pos, err)
}

func (r identityResolvers) revokeAllSessions(p graphql.ResolveParams) (any, error) {
	who, err := signedIn(p.Context)
	if err != nil {
		return nil, err
	}
	pos, err := r.d.Accounts.RevokeAllSessions(p.Context, who)
	return done(p.Context, pos, err)
}

func (r identityResolvers) revokeSession(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	id, _ := p.Args["id"].(string)
	pos, err := r.d.Accounts.RevokeSession(p.Context, id)
	return done(p.Context, pos, err)
}

func (r identityResolvers) createUser(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	in, _ := p.Args["input"].(map[string]any)
	id, pos, err := r.d.Accounts.CreateUser(p.Context, userInputOf(in))
	return r.userAt(p.Context, id, pos, err)
}

func (r identityResolvers) updateUser(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	id, _ := p.Args["id"].(string)
	in, _ := p.Args["input"].(map[string]any)
	pos, err := r.d.Accounts.UpdateUser(p.Context, id, userInputOf(in))
	return r.userAt(p.Context, id, pos, err)
}

func (r identityResolvers) disableUser(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	id, _ := p.Args["id"].(string)
	pos, err := r.d.Accounts.DisableUser(p.Context, id)
	return r.userAt(p.Context, id, pos, err)
}

func (r identityResolvers) deleteUser(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	id, _ := p.Args["id"].(string)
	pos, err := r.d.Accounts.DeleteUser(p.Context, id)
	return done(p.Context, pos, err)
}

func (r identityResolvers) sessions(p graphql.ResolveParams) (any, error) {
	who, err := signedIn(p.Context)
	if err != nil {
		return nil, err
	}
	list, err := r.d.Accounts.Sessions(p.Context, who)
	if err != nil {
		return nil, err
	}
	out := make([]sessionOut, 0, len(list))
	for _, s := range list {
		out = append(out, sessionOut{
			ID: s.ID, CreatedAt: s.CreatedAt.UTC().Format(time.RFC3339Nano), LastSeenAt: s.LastSeenAt.UTC().Format(time.RFC3339Nano),
			UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == who.SessionID,
		})
	}
	return out, nil
}
