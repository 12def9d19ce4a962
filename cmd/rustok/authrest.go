package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/commands"
	sessioncmd "github.com/rustok/rustok/commands/session"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
	userqry "github.com/rustok/rustok/queries/user"
	httpserver "github.com/rustok/rustok/transport/http"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// maxAuthBody bounds the JSON body of an auth route: an email, a password
// (at most the hasher's 1 KiB) and a name fit many times over.
const maxAuthBody = 16 << 10

// authRoutes are the REST routes of /api/auth (CONTRACT.md, "Identity on
// the wire").
type authRoutes struct {
	id      *identity
	trusted []netip.Prefix
}

// mount adds the routes to api; limited wraps the routes that cost a
// password hash or a token rotation (login, register, refresh) with the
// per-IP auth budget.
func (r authRoutes) mount(api *echo.Group, limited []echo.MiddlewareFunc) {
	api.POST("/auth/register", r.registerUser, limited...)
	api.POST("/auth/login", r.login, limited...)
	api.POST("/auth/refresh", r.refreshTokens, limited...)
	api.POST("/auth/logout", r.logout)
	api.GET("/auth/me", r.me)
	api.POST("/auth/reset/request", r.resetRequest, limited...)
	api.POST("/auth/reset/confirm", r.resetConfirm, limited...)
	api.POST("/auth/change-password", r.changePassword)
	api.POST("/auth/profile", r.profile)
	api.GET("/auth/sessions", r.sessions)
	api.POST("/auth/sessions/revoke-all", r.revokeAll)
}

// authUser is the "user" object of the auth answers and GET /api/auth/me.
type authUser struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

// authPayload is the answer of login, register and refresh.
type authPayload struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int64    `json:"expires_in"`
	User         authUser `json:"user"`
}

type loginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type registerInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

type refreshInput struct {
	RefreshToken string `json:"refresh_token"`
}

type resetRequestInput struct {
	Email string `json:"email"`
}

type resetConfirmInput struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

type changePasswordInput struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type profileInput struct {
	Name string `json:"name"`
}

// successAnswer is the answer of the account routes that return no
// resource.
type successAnswer struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
}

// sessionItem is one entry of GET /api/auth/sessions.
type sessionItem struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// listAnswer is the shape of every REST list: {data, meta}.
type listAnswer[T any] struct {
	Data []T            `json:"data"`
	Meta map[string]any `json:"meta"`
}

func (r authRoutes) registerUser(c echo.Context) error {
	var in registerInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	t, err := r.id.signUp(c.Request().Context(), in, r.client(c))
	if err != nil {
		return err
	}
	return writeTokens(c, http.StatusCreated, t)
}

func (r authRoutes) login(c echo.Context) error {
	var in loginInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	t, err := r.id.signInWith(c.Request().Context(), in, r.client(c))
	if err != nil {
		return err
	}
	return writeTokens(c, http.StatusOK, t)
}

func (r authRoutes) refreshTokens(c echo.Context) error {
	var in refreshInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	t, err := r.id.refreshWith(c.Request().Context(), in.RefreshToken, r.client(c))
	if err != nil {
		return err
	}
	return writeTokens(c, http.StatusOK, t)
}

// logout ends the session of the access token: 204.
func (r authRoutes) logout(c echo.Context) error {
	who, err := httpserver.RequireIdentity(c)
	if err != nil {
		return err
	}
	if _, err := r.id.signOutOf(c.Request().Context(), who, who.SessionID); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.NoContent(http.StatusNoContent)
}

// me answers the signed-in user.
func (r authRoutes) me(c echo.Context) error {
	who, err := httpserver.RequireIdentity(c)
	if err != nil {
		return err
	}
	v, err := r.id.currentUser(c.Request().Context(), who)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, authUser{ID: v.ID, Email: v.Email, Name: v.Name, Role: string(v.Role), Status: string(v.Status)})
}

// resetRequest asks for a reset link: the same 200 for every address.
func (r authRoutes) resetRequest(c echo.Context) error {
	var in resetRequestInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	if err := r.id.forgotPassword(c.Request().Context(), in.Email); err != nil {
		return err
	}
	return noStore(c, http.StatusOK, successAnswer{Success: true, Message: forgotPasswordMessage})
}

// resetConfirm sets a new password with a reset link's token.
func (r authRoutes) resetConfirm(c echo.Context) error {
	var in resetConfirmInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	if _, err := r.id.resetPassword(c.Request().Context(), in.Token, in.NewPassword); err != nil {
		return err
	}
	return noStore(c, http.StatusOK, successAnswer{Success: true})
}

// changePassword changes the caller's password; their other sessions end
// before the answer.
func (r authRoutes) changePassword(c echo.Context) error {
	who, err := httpserver.RequireIdentity(c)
	if err != nil {
		return err
	}
	var in changePasswordInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pos, err := r.id.changePassword(ctx, who, in.CurrentPassword, in.NewPassword)
	if err != nil {
		return err
	}
	if err := r.id.await(ctx, pos); err != nil {
		return err
	}
	return noStore(c, http.StatusOK, successAnswer{Success: true})
}

// profile renames the caller and answers the user.
func (r authRoutes) profile(c echo.Context) error {
	who, err := httpserver.RequireIdentity(c)
	if err != nil {
		return err
	}
	var in profileInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pos, err := r.id.updateProfile(ctx, who, in.Name)
	if err != nil {
		return err
	}
	v, err := r.id.userAfter(ctx, who.TenantID, who.UserID, pos)
	if err != nil {
		return err
	}
	return noStore(c, http.StatusOK, authUser{ID: v.ID, Email: v.Email, Name: v.Name, Role: string(v.Role), Status: string(v.Status)})
}

// sessions lists the caller's active sessions, newest first.
func (r authRoutes) sessions(c echo.Context) error {
	who, err := httpserver.RequireIdentity(c)
	if err != nil {
		return err
	}
	views, err := r.id.sessionsOf(c.Request().Context(), who)
	if err != nil {
		return err
	}
	out := listAnswer[sessionItem]{Data: make([]sessionItem, 0, len(views)), Meta: map[string]any{"total": len(views)}}
	for _, v := range views {
		out.Data = append(out.Data, sessionItem{ID: v.ID, CreatedAt: v.StartedAt.UTC(), LastSeenAt: v.LastSeenAt.UTC(),
			UserAgent: v.UserAgent, IP: v.IP, Current: v.ID == who.SessionID})
	}
	return noStore(c, http.StatusOK, out)
}

// revokeAll ends every session of the caller but the request's.
func (r authRoutes) revokeAll(c echo.Context) error {
	who, err := httpserver.RequireIdentity(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pos, err := r.id.revokeAllSessions(ctx, who)
	if err != nil {
		return err
	}
	if err := r.id.await(ctx, pos); err != nil {
		return err
	}
	return noStore(c, http.StatusOK, successAnswer{Success: true})
}

// noStore answers v as JSON that no cache may keep.
func noStore(c echo.Context, status int, v any) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(status, v)
}

// The operations below are shared by the REST routes and the GraphQL
// fields (graphqlIdentity): one implementation of each.

// signUp registers a customer of the request's tenant and signs them in.
func (id *identity) signUp(ctx context.Context, in registerInput, client session.Client) (sessioncmd.Tokens, error) {
	if err := tenancy.Require(ctx); err != nil {
		return sessioncmd.Tokens{}, err
	}
	if _, err := id.register.Handle(ctx, usercmd.RegisterUser{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx),
		Email: in.Email, Password: in.Password, Name: in.Name,
	}); err != nil {
		return sessioncmd.Tokens{}, err
	}
	// Sign-in reads the event store, not a read model: the new user can
	// sign in at once.
	return id.signInWith(ctx, loginInput{Email: in.Email, Password: in.Password}, client)
}

// signInWith signs in with an email and a password in the request's tenant.
func (id *identity) signInWith(ctx context.Context, in loginInput, client session.Client) (sessioncmd.Tokens, error) {
	if err := tenancy.Require(ctx); err != nil {
		return sessioncmd.Tokens{}, err
	}
	t, err := id.signIn.Handle(ctx, sessioncmd.SignIn{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx),
		Email: in.Email, Password: in.Password, Client: client,
	})
	id.metrics.signIns.WithLabelValues(code(err)).Inc()
	return t, err
}

// refreshWith exchanges a refresh token of the request's tenant for a new
// pair.
func (id *identity) refreshWith(ctx context.Context, refreshToken string, client session.Client) (sessioncmd.Tokens, error) {
	if err := tenancy.Require(ctx); err != nil {
		return sessioncmd.Tokens{}, err
	}
	t, err := id.refresh.Handle(ctx, sessioncmd.Refresh{
		TenantID: tenantID(ctx), Meta: requestMeta(ctx), RefreshToken: refreshToken, Client: client,
	})
	id.metrics.refreshes.WithLabelValues(code(err)).Inc()
	return t, err
}

// signOutOf ends the session sessionID of the signed-in caller who.
func (id *identity) signOutOf(ctx context.Context, who httpserver.Identity, sessionID string) (commands.Result, error) {
	res, err := id.signOut.Handle(ctx, sessioncmd.SignOut{
		TenantID: who.TenantID, Actor: who.Actor, Meta: requestMeta(ctx), SessionID: sessionID,
	})
	id.metrics.signOuts.WithLabelValues(code(err)).Inc()
	return res, err
}

// currentUser reads the signed-in caller who from the users read model,
// waiting once for it when the caller's user is not there yet.
func (id *identity) currentUser(ctx context.Context, who httpserver.Identity) (userqry.View, error) {
	v, err := id.users.Get(ctx, who.TenantID, who.UserID)
	if errors.Is(err, userqry.ErrNotFound) && id.catchUp(ctx) == nil {
		v, err = id.users.Get(ctx, who.TenantID, who.UserID)
	}
	if errors.Is(err, userqry.ErrNotFound) {
		return userqry.View{}, domain.Unauthenticated("user not found").Wrap(err)
	}
	return v, err
}

func writeTokens(c echo.Context, status int, t sessioncmd.Tokens) error {
	// RFC 6749 section 5.1: token answers are never cached.
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("Pragma", "no-cache")
	return c.JSON(status, authPayload{
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn,
		User: authUser{ID: t.User.ID, Email: t.User.Email, Name: t.User.Name, Role: string(t.User.Role), Status: string(t.User.Status)},
	})
}

// requestMeta is the request's metadata for the events a command records.
func requestMeta(ctx context.Context) eventstore.Metadata {
	rid := httpserver.RequestID(ctx)
	m := eventstore.Metadata{RequestID: rid, CorrelationID: rid}
	if who, ok := httpserver.IdentityFrom(ctx); ok {
		m.ActorID = who.UserID
	}
	return m
}

// client is the device of the request, for the sessions list.
func (r authRoutes) client(c echo.Context) session.Client {
	return requestClient(c.Request(), r.trusted)
}

// requestClient is the device of req, for the sessions list.
func requestClient(req *http.Request, trusted []netip.Prefix) session.Client {
	out := session.Client{UserAgent: req.UserAgent()}
	if ip := httpserver.ClientIP(req, trusted); ip.IsValid() {
		out.IP = ip.String()
	}
	return out
}

// decodeBody decodes the JSON object of the request into dst strictly: a
// JSON media type, at most maxAuthBody bytes, no unknown field, nothing
// after the object. Every failure is BAD_USER_INPUT (400), an oversized
// body 413.
func decodeBody(c echo.Context, dst any) error {
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "the request body must be application/json")
	}
	body := http.MaxBytesReader(c.Response(), req.Body, maxAuthBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the request body is too large").SetInternal(err)
		}
		return domain.BadInput("the request body is not the JSON object expected: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.BadInput("the request body must hold one JSON object and nothing after it")
	}
	return nil
}

// jsonProblem says what is wrong with a body in a few words, without
// quoting it (it may hold a password).
func jsonProblem(err error) string {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "malformed JSON"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	}
	// DisallowUnknownFields: `json: unknown field "x"`; the name is the
	// client's own and short enough to show.
	if msg := err.Error(); len(msg) < 120 {
		return msg
	}
	return "invalid JSON"
}
