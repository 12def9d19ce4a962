package main

import (
	"context"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	sessioncmd "github.com/rustok/rustok/commands/session"
	"github.com/rustok/rustok/domain/session"
	userqry "github.com/rustok/rustok/queries/user"
	gql "github.com/rustok/rustok/transport/graphql"
	httpserver "github.com/rustok/rustok/transport/http"
)

// graphqlRequest is what the GraphQL auth fields need of their HTTP
// request beyond its context: the client (for the sessions list) and the
// hook that counts an operation against the client's auth budget.
type graphqlRequest struct {
	client session.Client
	budget func() error // nil: rate limiting is off
}

type graphqlRequestKey struct{}

// graphqlRequestInfo puts the graphqlRequest of every GraphQL request on its
// context. budget, when not nil, counts one request of c against the auth
// budget (rateLimiting.count): each signUp, signIn and refreshToken field
// runs it, so that a document with several of them (aliases, or a batch)
// spends one unit per field, as the REST routes spend one per request.
func graphqlRequestInfo(trusted []netip.Prefix, budget func(echo.Context) error) echo.MiddlewareFunc {
	route := "/api" + gql.RoutePath
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Path() != route {
				return next(c)
			}
			req := c.Request()
			info := graphqlRequest{client: requestClient(req, trusted)}
			if budget != nil {
				info.budget = func() error { return budget(c) }
			}
			c.SetRequest(req.WithContext(context.WithValue(req.Context(), graphqlRequestKey{}, info)))
			return next(c)
		}
	}
}

func graphqlRequestOf(ctx context.Context) graphqlRequest {
	info, _ := ctx.Value(graphqlRequestKey{}).(graphqlRequest)
	return info
}

// graphqlFields are the GraphQL identity fields, running the operations of
// the REST routes (authrest.go).
func (id *identity) graphqlFields() gql.Fields {
	return gql.IdentityFields(gql.IdentityDeps{
		SignUp: func(ctx context.Context, email, password, name string) (gql.AuthTokens, error) {
			t, err := id.signUp(ctx, registerInput{Email: email, Password: password, Name: name}, graphqlRequestOf(ctx).client)
			return gqlTokens(t), err
		},
		SignIn: func(ctx context.Context, email, password string) (gql.AuthTokens, error) {
			t, err := id.signInWith(ctx, loginInput{Email: email, Password: password}, graphqlRequestOf(ctx).client)
			return gqlTokens(t), err
		},
		Refresh: func(ctx context.Context, refreshToken string) (gql.AuthTokens, error) {
			t, err := id.refreshWith(ctx, refreshToken, graphqlRequestOf(ctx).client)
			return gqlTokens(t), err
		},
		SignOut: func(ctx context.Context, who httpserver.Identity, refreshToken string) (int64, error) {
			sid := who.SessionID
			if refreshToken != "" {
				var err error
				if sid, err = sessioncmd.ParseRefreshToken(refreshToken); err != nil {
					return 0, err
				}
			}
			res, err := id.signOutOf(ctx, who, sid)
			return res.Position, err
		},
		Me: func(ctx context.Context, who httpserver.Identity) (userqry.View, error) {
			return id.currentUser(ctx, who)
		},
		Users:    id.users,
		Accounts: id.graphqlAccounts(),
		AuthBudget: func(ctx context.Context) error {
			if b := graphqlRequestOf(ctx).budget; b != nil {
				return b()
			}
			return nil
		},
	})
}

func gqlTokens(t sessioncmd.Tokens) gql.AuthTokens {
	return gql.AuthTokens{
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn,
		User:     gql.AuthUser{ID: t.User.ID, Email: t.User.Email, Name: t.User.Name, Role: t.User.Role, Status: t.User.Status},
		Position: t.Position,
	}
}

// graphqlAccounts are the account operations of the GraphQL fields.
func (id *identity) graphqlAccounts() gql.AccountDeps {
	toInput := func(in gql.UserInput) userInput {
		return userInput{Email: in.Email, Password: in.Password, Name: in.Name, Role: in.Role, Status: in.Status}
	}
	return gql.AccountDeps{
		ForgotPassword: id.forgotPassword,
		ResetPassword:  id.resetPassword,
		ChangePassword: id.changePassword,
		UpdateProfile:  id.updateProfile,
		CreateUser: func(ctx context.Context, in gql.UserInput) (string, int64, error) {
			return id.createUser(ctx, toInput(in))
		},
		UpdateUser: func(ctx context.Context, userID string, in gql.UserInput) (int64, error) {
			return id.updateUser(ctx, userID, toInput(in))
		},
		DisableUser:       id.disableUser,
		DeleteUser:        id.deleteUser,
		RevokeSession:     id.revokeSession,
		RevokeAllSessions: id.revokeAllSessions,
		Sessions: func(ctx context.Context, who httpserver.Identity) ([]gql.SessionInfo, error) {
			views, err := id.sessionsOf(ctx, who)
			if err != nil {
				return nil, err
			}
			out := make([]gql.SessionInfo, 0, len(views))
			for _, v := range views {
				out = append(out, gql.SessionInfo{ID: v.ID, CreatedAt: v.StartedAt, LastSeenAt: v.LastSeenAt, UserAgent: v.UserAgent, IP: v.IP})
			}
			return out, nil
		},
		ForgotMessage: forgotPasswordMessage,
		APIKeys: gql.APIKeyDeps{
			List: func(ctx context.Context) ([]gql.APIKeyInfo, error) {
				views, err := id.listAPIKeys(ctx)
				if err != nil {
					return nil, err
				}
				out := make([]gql.APIKeyInfo, 0, len(views))
				for _, v := range views {
					out = append(out, gqlKey(v))
				}
				return out, nil
			},
			Create: func(ctx context.Context, name string, perms []string, expiresAt *time.Time) (gql.APIKeyInfo, string, int64, error) {
				c, err := id.createAPIKey(ctx, name, perms, expiresAt)
				if err != nil {
					return gql.APIKeyInfo{}, "", 0, err
				}
				v, err := id.keys.reader.Get(ctx, tenantID(ctx), c.ID)
				if err != nil {
					return gql.APIKeyInfo{}, "", 0, err
				}
				return gqlKey(v), c.Secret, c.Result.Position, nil
			},
			Revoke: id.revokeAPIKey,
		},
	}
}

func gqlKey(v keyView) gql.APIKeyInfo {
	return gql.APIKeyInfo{ID: v.ID, Name: v.Name, Prefix: v.Prefix, Permissions: v.Permissions,
		ExpiresAt: v.ExpiresAt, LastUsedAt: v.LastUsedAt, CreatedAt: v.CreatedAt}
}
