package main

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"

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

func (r authRoutes) registerUser(c echo.Context) error {
	var in registerInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := tenancy.Require(ctx); err != nil {
		return err
	}
	if _, err := r.id.register.Handle(ctx, usercmd.RegisterUser{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: r.meta(c),
		Email: in.Email, Password: in.Password, Name: in.Name,
	}); err != nil {
		return err
	}
	// Sign-in reads the event store, not a read model: the new user can
	// sign in at once.
	t, err := r.id.signIn.Handle(ctx, sessioncmd.SignIn{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: r.meta(c),
		Email: in.Email, Password: in.Password, Client: r.client(c),
	})
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
	ctx := c.Request().Context()
	if err := tenancy.Require(ctx); err != nil {
		return err
	}
	t, err := r.id.signIn.Handle(ctx, sessioncmd.SignIn{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: r.meta(c),
		Email: in.Email, Password: in.Password, Client: r.client(c),
	})
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
	ctx := c.Request().Context()
	if err := tenancy.Require(ctx); err != nil {
		return err
	}
	t, err := r.id.refresh.Handle(ctx, sessioncmd.Refresh{
		TenantID: tenantID(ctx), Meta: r.meta(c), RefreshToken: in.RefreshToken, Client: r.client(c),
	})
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
	ctx := c.Request().Context()
	if _, err := r.id.signOut.Handle(ctx, sessioncmd.SignOut{
		TenantID: who.TenantID, Actor: who.Actor, Meta: r.meta(c), SessionID: who.SessionID,
	}); err != nil {
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
	ctx := c.Request().Context()
	v, err := r.id.users.Get(ctx, who.TenantID, who.UserID)
	if errors.Is(err, userqry.ErrNotFound) && r.id.catchUp(ctx) == nil {
		v, err = r.id.users.Get(ctx, who.TenantID, who.UserID)
	}
	if errors.Is(err, userqry.ErrNotFound) {
		return domain.Unauthenticated("user not found").Wrap(err)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, authUser{ID: v.ID, Email: v.Email, Name: v.Name, Role: string(v.Role), Status: string(v.Status)})
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

// meta is the request's metadata for the events a command records.
func (r authRoutes) meta(c echo.Context) eventstore.Metadata {
	ctx := c.Request().Context()
	rid := httpserver.RequestID(ctx)
	m := eventstore.Metadata{RequestID: rid, CorrelationID: rid}
	if who, ok := httpserver.IdentityFrom(ctx); ok {
		m.ActorID = who.UserID
	}
	return m
}

// client is the device of the request, for the sessions list.
func (r authRoutes) client(c echo.Context) session.Client {
	req := c.Request()
	out := session.Client{UserAgent: req.UserAgent()}
	if ip := httpserver.ClientIP(req, r.trusted); ip.IsValid() {
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
