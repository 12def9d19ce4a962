package gql

import (
	"context"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	userdom "github.com/rustok/rustok/domain/user"
	userqry "github.com/rustok/rustok/queries/user"
	httpserver "github.com/rustok/rustok/transport/http"
)

// AuthTokens is the answer of signUp, signIn and refreshToken.
type AuthTokens struct {
	AccessToken, RefreshToken, TokenType string
	ExpiresIn                            int64
	User                                 AuthUser
	// Position is the log position of the operation's last event (0: none).
	Position int64
}

// AuthUser is the user of an AuthTokens.
type AuthUser struct {
	ID, Email, Name string
	Role            userdom.Role
	Status          userdom.Status
}

// UserReader reads the users read model of a tenant.
type UserReader interface {
	Get(ctx context.Context, tenantID, userID string) (userqry.View, error)
	List(ctx context.Context, tenantID string, f userqry.Filter, first int, after string) (userqry.Page, error)
	Count(ctx context.Context, tenantID string, f userqry.Filter) (int, error)
}

// IdentityDeps are what the identity fields need. The operations are the
// ones the REST routes of /api/auth run; each takes the tenant, the actor
// and the client from ctx, never from the caller's arguments.
type IdentityDeps struct {
	SignUp  func(ctx context.Context, email, password, name string) (AuthTokens, error)
	SignIn  func(ctx context.Context, email, password string) (AuthTokens, error)
	Refresh func(ctx context.Context, refreshToken string) (AuthTokens, error)
	// SignOut ends the caller's session named by refreshToken, or the
	// session of the caller's access token when refreshToken is "", and
	// returns the position of the event it appended (0: none).
	SignOut func(ctx context.Context, who httpserver.Identity, refreshToken string) (int64, error)
	// Me reads the signed-in caller.
	Me    func(ctx context.Context, who httpserver.Identity) (userqry.View, error)
	Users UserReader
	// AuthBudget counts one signUp, signIn or refreshToken against the
	// client's auth rate-limit budget and returns the RATE_LIMITED error
	// once it is spent; nil counts nothing.
	AuthBudget func(ctx context.Context) error
	// Accounts are the account operations (accounts.go).
	Accounts AccountDeps
}

// maxUsersPage bounds users(first).
const maxUsersPage = 100

// pageInfoType is the PageInfo of every connection: one type per schema.
var pageInfoType = graphql.NewObject(graphql.ObjectConfig{Name: "PageInfo", Fields: graphql.Fields{
	"hasNextPage":     &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
	"hasPreviousPage": &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
	"startCursor":     &graphql.Field{Type: graphql.String},
	"endCursor":       &graphql.Field{Type: graphql.String},
}})

// IdentityFields returns signUp, signIn, refreshToken and signOut
// (mutations) and me, user and users (queries).
func IdentityFields(d IdentityDeps) Fields {
	role := graphql.NewEnum(graphql.EnumConfig{Name: "UserRole", Values: graphql.EnumValueConfigMap{
		"SUPER_ADMIN": {Value: string(userdom.RoleSuperAdmin)}, "ADMIN": {Value: string(userdom.RoleAdmin)},
		"MANAGER": {Value: string(userdom.RoleManager)}, "CUSTOMER": {Value: string(userdom.RoleCustomer)},
	}})
	status := graphql.NewEnum(graphql.EnumConfig{Name: "UserStatus", Values: graphql.EnumValueConfigMap{
		"ACTIVE": {Value: string(userdom.StatusActive)}, "INACTIVE": {Value: string(userdom.StatusInactive)},
		"BANNED": {Value: string(userdom.StatusBanned)},
	}})
	r := identityResolvers{d}
	userType := graphql.NewObject(graphql.ObjectConfig{Name: "User", Fields: graphql.Fields{
		"id":         &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
		"email":      &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"name":       &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"role":       &graphql.Field{Type: graphql.NewNonNull(role)},
		"status":     &graphql.Field{Type: graphql.NewNonNull(status)},
		"createdAt":  &graphql.Field{Type: graphql.NewNonNull(graphql.String), Description: "RFC 3339."},
		"tenantName": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"can": &graphql.Field{
			Type:        graphql.NewNonNull(graphql.Boolean),
			Description: `Whether the caller may use the permission "resource:action" on this user.`,
			Args:        graphql.FieldConfigArgument{"action": {Type: graphql.NewNonNull(graphql.String)}},
			Resolve:     r.can,
		},
	}})
	authUser := graphql.NewObject(graphql.ObjectConfig{Name: "AuthUser", Fields: graphql.Fields{
		"id":     &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
		"email":  &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"name":   &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"role":   &graphql.Field{Type: graphql.NewNonNull(role)},
		"status": &graphql.Field{Type: graphql.NewNonNull(status)},
	}})
	authPayload := graphql.NewObject(graphql.ObjectConfig{Name: "AuthPayload", Fields: graphql.Fields{
		"accessToken":  &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"refreshToken": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"tokenType":    &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"expiresIn":    &graphql.Field{Type: graphql.NewNonNull(graphql.Int), Description: "Seconds until the access token expires."},
		"user":         &graphql.Field{Type: graphql.NewNonNull(authUser)},
		"position":     &graphql.Field{Type: Position, Description: "The log position of the operation's last event; null when it recorded none."},
	}})
	signOutPayload := graphql.NewObject(graphql.ObjectConfig{Name: "SignOutPayload", Fields: graphql.Fields{
		"success":  &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
		"position": &graphql.Field{Type: Position, Description: "The log position of the sign-out event; null when the session had ended already."},
	}})
	userEdge := graphql.NewObject(graphql.ObjectConfig{Name: "UserEdge", Fields: graphql.Fields{
		"node":   &graphql.Field{Type: graphql.NewNonNull(userType)},
		"cursor": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
	}})
	userConn := graphql.NewObject(graphql.ObjectConfig{Name: "UserConnection", Fields: graphql.Fields{
		"edges":    &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(userEdge)))},
		"pageInfo": &graphql.Field{Type: graphql.NewNonNull(pageInfoType)},
		"totalCount": &graphql.Field{
			Type:        graphql.NewNonNull(graphql.Int),
			Description: "How many users match the filter and search, all pages together (counted only when asked).",
			Resolve: func(p graphql.ResolveParams) (any, error) {
				c, ok := p.Source.(userConnOut)
				if !ok {
					return nil, nil
				}
				return r.d.Users.Count(p.Context, c.tenantID, c.filter)
			},
		},
	}})
	userFilter := graphql.NewInputObject(graphql.InputObjectConfig{Name: "UserFilter", Fields: graphql.InputObjectConfigFieldMap{
		"role":   {Type: role},
		"status": {Type: status},
	}})
	nonNullString := graphql.NewNonNull(graphql.String)
	signInInput := graphql.NewInputObject(graphql.InputObjectConfig{Name: "SignInInput", Fields: graphql.InputObjectConfigFieldMap{
		"email": {Type: nonNullString}, "password": {Type: nonNullString},
	}})
	signUpInput := graphql.NewInputObject(graphql.InputObjectConfig{Name: "SignUpInput", Fields: graphql.InputObjectConfigFieldMap{
		"email": {Type: nonNullString}, "password": {Type: nonNullString}, "name": {Type: graphql.String},
	}})
	refreshInput := graphql.NewInputObject(graphql.InputObjectConfig{Name: "RefreshTokenInput", Fields: graphql.InputObjectConfigFieldMap{
		"refreshToken": {Type: nonNullString},
	}})
	signOutInput := graphql.NewInputObject(graphql.InputObjectConfig{Name: "SignOutInput", Fields: graphql.InputObjectConfigFieldMap{
		"refreshToken": {Type: graphql.String, Description: "A refresh token of the caller's session to end; absent: the session of the access token."},
	}})
	tenantArg := &graphql.ArgumentConfig{Type: graphql.ID, Description: "Accepted for compatibility: the tenant is the request's; another tenant is FORBIDDEN."}
	accountQuery, accountMutation := r.accountFields(userType, role, status)
	f := Fields{
		Query: graphql.Fields{
			"me": &graphql.Field{
				Type:        userType,
				Description: "The signed-in user (UNAUTHENTICATED without credentials).",
				Resolve:     r.me,
			},
			"user": &graphql.Field{
				Type:        userType,
				Description: "A user of this tenant. Needs users:read.",
				Args:        graphql.FieldConfigArgument{"id": {Type: graphql.NewNonNull(graphql.ID)}, "tenantId": tenantArg},
				Resolve:     r.user,
			},
			"users": &graphql.Field{
				Type:        graphql.NewNonNull(userConn),
				Description: "The users of this tenant, newest first. Needs users:list.",
				Args: graphql.FieldConfigArgument{
					"first":    {Type: graphql.Int, DefaultValue: userqry.DefaultFirst},
					"after":    {Type: graphql.String},
					"filter":   {Type: userFilter},
					"search":   {Type: graphql.String, Description: "Part of the email or the name."},
					"tenantId": tenantArg,
				},
				Resolve: r.users,
			},
		},
		Mutation: graphql.Fields{
			"signUp": &graphql.Field{
				Type:        authPayload,
				Description: "Registers a customer of this tenant and signs them in.",
				Args:        graphql.FieldConfigArgument{"input": {Type: graphql.NewNonNull(signUpInput)}},
				Resolve:     r.signUp,
			},
			"signIn": &graphql.Field{
				Type:    authPayload,
				Args:    graphql.FieldConfigArgument{"input": {Type: graphql.NewNonNull(signInInput)}},
				Resolve: r.signIn,
			},
			"refreshToken": &graphql.Field{
				Type:    authPayload,
				Args:    graphql.FieldConfigArgument{"input": {Type: graphql.NewNonNull(refreshInput)}},
				Resolve: r.refreshToken,
			},
			"signOut": &graphql.Field{
				Type:        signOutPayload,
				Description: "Ends a session of the signed-in caller.",
				Args:        graphql.FieldConfigArgument{"input": {Type: signOutInput}},
				Resolve:     r.signOut,
			},
		},
	}
	for name, field := range accountQuery {
		f.Query[name] = field
	}
	for name, field := range accountMutation {
		f.Mutation[name] = field
	}
	return f
}

type identityResolvers struct{ d IdentityDeps }

type authUserOut struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

type authPayloadOut struct {
	AccessToken  string      `json:"accessToken"`
	RefreshToken string      `json:"refreshToken"`
	TokenType    string      `json:"tokenType"`
	ExpiresIn    int64       `json:"expiresIn"`
	User         authUserOut `json:"user"`
	Position     any         `json:"position"` // int64, or nil for none
}

type signOutOut struct {
	Success  bool `json:"success"`
	Position any  `json:"position"` // int64, or nil for none
}

type userOut struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Status     string `json:"status"`
	CreatedAt  string `json:"createdAt"`
	TenantName string `json:"tenantName"`
}

type userEdgeOut struct {
	Node   userOut `json:"node"`
	Cursor string  `json:"cursor"`
}

type userConnOut struct {
	Edges    []userEdgeOut `json:"edges"`
	PageInfo pageInfoOut   `json:"pageInfo"`
	// tenantID and filter are what totalCount counts.
	tenantID string
	filter   userqry.Filter
}

// positionOf is a mutation's position for the answer, nil for none.
func positionOf(p int64) any {
	if p <= 0 {
		return nil
	}
	return p
}

// written waits, within the request's read-your-writes budget, until the
// read models reached a mutation's position.
func written(ctx context.Context, position int64) error {
	return AwaitPosition(ctx, position)
}

func inputString(p graphql.ResolveParams, field string) string {
	in, _ := p.Args["input"].(map[string]any)
	s, _ := in[field].(string)
	return s
}

func (r identityResolvers) tokens(p graphql.ResolveParams, run func(context.Context) (AuthTokens, error)) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	if r.d.AuthBudget != nil {
		if err := r.d.AuthBudget(p.Context); err != nil {
			return nil, err
		}
	}
	t, err := run(p.Context)
	if err != nil {
		return nil, err
	}
	if err := written(p.Context, t.Position); err != nil {
		return nil, err
	}
	return authPayloadOut{
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn,
		User:     authUserOut{ID: t.User.ID, Email: t.User.Email, Name: t.User.Name, Role: string(t.User.Role), Status: string(t.User.Status)},
		Position: positionOf(t.Position),
	}, nil
}

func (r identityResolvers) signUp(p graphql.ResolveParams) (any, error) {
	return r.tokens(p, func(ctx context.Context) (AuthTokens, error) {
		return r.d.SignUp(ctx, inputString(p, "email"), inputString(p, "password"), inputString(p, "name"))
	})
}

func (r identityResolvers) signIn(p graphql.ResolveParams) (any, error) {
	return r.tokens(p, func(ctx context.Context) (AuthTokens, error) {
		return r.d.SignIn(ctx, inputString(p, "email"), inputString(p, "password"))
	})
}

func (r identityResolvers) refreshToken(p graphql.ResolveParams) (any, error) {
	return r.tokens(p, func(ctx context.Context) (AuthTokens, error) {
		return r.d.Refresh(ctx, inputString(p, "refreshToken"))
	})
}

func (r identityResolvers) signOut(p graphql.ResolveParams) (any, error) {
	if _, err := requestTenant(p.Context); err != nil {
		return nil, err
	}
	who, ok := httpserver.IdentityFrom(p.Context)
	if !ok {
		return nil, domain.Unauthenticated("authentication required")
	}
	pos, err := r.d.SignOut(p.Context, who, inputString(p, "refreshToken"))
	if err != nil {
		return nil, err
	}
	if err := written(p.Context, pos); err != nil {
		return nil, err
	}
	return signOutOut{Success: true, Position: positionOf(pos)}, nil
}

// checkTenantArg refuses a tenantId argument other than the request's
// tenant.
func checkTenantArg(p graphql.ResolveParams, tenantID string) error {
	if id, ok := p.Args["tenantId"].(string); ok && id != tenantID {
		return domain.Forbidden("tenantId is not the tenant of this request")
	}
	return nil
}

func (r identityResolvers) me(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	who, ok := httpserver.IdentityFrom(p.Context)
	if !ok {
		return nil, domain.Unauthenticated("authentication required")
	}
	v, err := r.d.Me(p.Context, who)
	if err != nil {
		return nil, err
	}
	return toUserOut(v, t.Name), nil
}

func (r identityResolvers) user(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	if err := checkTenantArg(p, t.ID); err != nil {
		return nil, err
	}
	id, _ := p.Args["id"].(string)
	if err := rbac.Check(httpserver.ActorFrom(p.Context), rbac.P(rbac.ResourceUsers, rbac.ActionRead), id); err != nil {
		return nil, err
	}
	v, err := r.d.Users.Get(p.Context, t.ID, id)
	if err != nil {
		return nil, err
	}
	return toUserOut(v, t.Name), nil
}

func (r identityResolvers) users(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	if err := checkTenantArg(p, t.ID); err != nil {
		return nil, err
	}
	if err := rbac.Check(httpserver.ActorFrom(p.Context), rbac.P(rbac.ResourceUsers, rbac.ActionList), ""); err != nil {
		return nil, err
	}
	first, _ := p.Args["first"].(int)
	if first < 1 || first > maxUsersPage {
		return nil, domain.InvalidField("first", "first must be between 1 and %d", maxUsersPage)
	}
	var f userqry.Filter
	if in, ok := p.Args["filter"].(map[string]any); ok {
		if s, ok := in["role"].(string); ok {
			f.Role = userdom.Role(s)
		}
		if s, ok := in["status"].(string); ok {
			f.Status = userdom.Status(s)
		}
	}
	f.Search, _ = p.Args["search"].(string)
	after, _ := p.Args["after"].(string)
	page, err := r.d.Users.List(p.Context, t.ID, f, first, after)
	if err != nil {
		return nil, err
	}
	out := userConnOut{Edges: make([]userEdgeOut, 0, len(page.Edges)), PageInfo: pageInfoOut{
		HasNextPage: page.PageInfo.HasNextPage, HasPreviousPage: page.PageInfo.HasPreviousPage,
	}, tenantID: t.ID, filter: f}
	for _, e := range page.Edges {
		out.Edges = append(out.Edges, userEdgeOut{Node: toUserOut(e.Node, t.Name), Cursor: e.Cursor})
	}
	if n := len(out.Edges); n > 0 {
		s, e := out.Edges[0].Cursor, out.Edges[n-1].Cursor
		out.PageInfo.StartCursor, out.PageInfo.EndCursor = &s, &e
	}
	return out, nil
}

func (r identityResolvers) can(p graphql.ResolveParams) (any, error) {
	u, ok := p.Source.(userOut)
	if !ok {
		return false, nil
	}
	action, _ := p.Args["action"].(string)
	perm, err := rbac.ParsePermission(action)
	if err != nil {
		return nil, domain.InvalidField("action", "action must be a permission resource:action with a known resource and action")
	}
	return rbac.Can(httpserver.ActorFrom(p.Context), perm, u.ID), nil
}

func toUserOut(v userqry.View, tenantName string) userOut {
	return userOut{ID: v.ID, Email: v.Email, Name: v.Name, Role: string(v.Role), Status: string(v.Status),
		CreatedAt: v.CreatedAt.UTC().Format(time.RFC3339Nano), TenantName: tenantName}
}
