package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// gqlAs sends query to /api/graphql for tenant, with bearer when not "".
func (ts *testServer) gqlAs(t *testing.T, tenant, bearer, query string) (int, gqlResponse, string) {
	t.Helper()
	h := http.Header{}
	if tenant != "" {
		h.Set("X-Tenant-ID", tenant)
	}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	return ts.graphql(t, h, query)
}

type gqlAuthPayload struct {
	AccessToken  string  `json:"accessToken"`
	RefreshToken string  `json:"refreshToken"`
	TokenType    string  `json:"tokenType"`
	ExpiresIn    int64   `json:"expiresIn"`
	Position     *string `json:"position"`
	User         struct {
		ID, Email, Name, Role, Status string
	} `json:"user"`
}

const gqlAuthFields = `{ accessToken refreshToken tokenType expiresIn position user { id email name role status } }`

// gqlTokens runs an auth mutation (field) and decodes its payload.
func (ts *testServer) gqlTokens(t *testing.T, tenant, field, input string) gqlAuthPayload {
	t.Helper()
	code, res, raw := ts.gqlAs(t, tenant, "", `mutation { `+field+`(input: `+input+`) `+gqlAuthFields+` }`)
	if code != http.StatusOK || len(res.Errors) > 0 {
		t.Fatalf("%s: %d %s", field, code, raw)
	}
	var p gqlAuthPayload
	if err := json.Unmarshal(res.Data[field], &p); err != nil {
		t.Fatal(err)
	}
	if p.AccessToken == "" || p.RefreshToken == "" || p.TokenType != "Bearer" || p.ExpiresIn != 900 || p.User.ID == "" || p.Position == nil {
		t.Fatalf("%s: payload %s", field, raw)
	}
	if !strings.Contains(raw, `"readYourWrites":{"position":"`+*p.Position+`","reached":true}`) {
		t.Errorf("%s: no read-your-writes position reached: %s", field, raw)
	}
	return p
}

// wantGQLError checks that a GraphQL answer has one error of code (and a
// message holding msg).
func wantGQLError(t *testing.T, what string, code int, res gqlResponse, raw string, wantStatus int, wantCode, msg string) {
	t.Helper()
	if code != wantStatus || len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != wantCode || !strings.Contains(res.Errors[0].Message, msg) {
		t.Errorf("%s: %d %s, want %d %s %q", what, code, raw, wantStatus, wantCode, msg)
	}
}

// TestServeGraphQLAuth goes through the GraphQL identity operations on the
// real serve stack, on each database: signUp, signIn, me, refreshToken,
// signOut; users and user for a customer, an anonymous caller and an admin;
// and that no argument sets the tenant or the actor.
func TestServeGraphQLAuth(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := authConfig(dbURL)
		ts := startServer(t, cfg)
		shopID, _ := createTenant(t, ts.a, ts.h, "shop")
		otherID, pos := createTenant(t, ts.a, ts.h, "other")
		ts.waitFollowed(t, pos)
		me := func(bearer string) (int, gqlResponse, string) {
			return ts.gqlAs(t, "shop", bearer, `{ me { id email name role status createdAt tenantName canList: can(action: "users:list") } }`)
		}

		reg := ts.gqlTokens(t, "shop", "signUp", `{email: "Alice@Example.com", password: "correct horse battery", name: "Alice"}`)
		if reg.User.Email != "alice@example.com" || reg.User.Name != "Alice" || reg.User.Role != "CUSTOMER" || reg.User.Status != "ACTIVE" {
			t.Fatalf("signUp user: %+v", reg.User)
		}
		code, res, raw := ts.gqlAs(t, "shop", "", `mutation { signUp(input: {email: "alice@example.com", password: "correct horse battery"}) { accessToken } }`)
		wantGQLError(t, "signUp twice", code, res, raw, http.StatusOK, "CONFLICT", "")

		login := ts.gqlTokens(t, "shop", "signIn", `{email: "alice@example.com", password: "correct horse battery"}`)
		code, res, raw = me(login.AccessToken)
		if code != http.StatusOK || len(res.Errors) > 0 || !strings.Contains(raw, `"id":"`+reg.User.ID+`"`) ||
			!strings.Contains(raw, `"role":"CUSTOMER"`) || !strings.Contains(raw, `"tenantName":"Tenant shop"`) || !strings.Contains(raw, `"canList":false`) {
			t.Fatalf("me after signIn: %d %s", code, raw)
		}
		code, res, raw = ts.gqlAs(t, "shop", "", `mutation { signIn(input: {email: "alice@example.com", password: "wrong password!"}) { accessToken } }`)
		wantGQLError(t, "signIn with a wrong password", code, res, raw, http.StatusOK, "UNAUTHENTICATED", "")
		// The same credentials in another tenant: no such user there.
		code, res, raw = ts.gqlAs(t, "other", "", `mutation { signIn(input: {email: "alice@example.com", password: "correct horse battery"}) { accessToken } }`)
		wantGQLError(t, "signIn in another tenant", code, res, raw, http.StatusOK, "UNAUTHENTICATED", "")
		code, res, raw = ts.gqlAs(t, "shop", "", `{ me { id } }`)
		wantGQLError(t, "anonymous me", code, res, raw, http.StatusOK, "UNAUTHENTICATED", "")

		ref := ts.gqlTokens(t, "shop", "refreshToken", fmt.Sprintf(`{refreshToken: %q}`, login.RefreshToken))
		if ref.RefreshToken == login.RefreshToken || ref.User.ID != reg.User.ID {
			t.Fatalf("refreshToken: %+v", ref)
		}
		if code, res, raw := me(ref.AccessToken); code != http.StatusOK || len(res.Errors) > 0 {
			t.Fatalf("me after refreshToken: %d %s", code, raw)
		}

		// A customer may not read others, nor list users; anonymous callers neither.
		code, res, raw = ts.gqlAs(t, "shop", ref.AccessToken, `{ users { edges { node { id } } } }`)
		wantGQLError(t, "users as a customer", code, res, raw, http.StatusOK, "FORBIDDEN", "users:list")
		code, res, raw = ts.gqlAs(t, "shop", ref.AccessToken, fmt.Sprintf(`{ user(id: %q) { id } }`, reg.User.ID))
		wantGQLError(t, "user as a customer", code, res, raw, http.StatusOK, "FORBIDDEN", "users:read")
		code, res, raw = ts.gqlAs(t, "shop", "", `{ users { edges { node { id } } } }`)
		wantGQLError(t, "users anonymously", code, res, raw, http.StatusOK, "UNAUTHENTICATED", "users:list")
		code, res, raw = ts.gqlAs(t, "shop", "", fmt.Sprintf(`{ user(id: %q) { id } }`, reg.User.ID))
		wantGQLError(t, "user anonymously", code, res, raw, http.StatusOK, "UNAUTHENTICATED", "users:read")

		// signOut ends the session of the access token: its token is refused afterwards.
		code, res, raw = ts.gqlAs(t, "shop", ref.AccessToken, `mutation { signOut { success position } }`)
		if code != http.StatusOK || len(res.Errors) > 0 || !strings.Contains(raw, `"success":true`) || !strings.Contains(raw, `"readYourWrites"`) {
			t.Fatalf("signOut: %d %s", code, raw)
		}
		eventually(t, "me after signOut refused", func() bool {
			code, res, _ := me(ref.AccessToken)
			return code == http.StatusUnauthorized && len(res.Errors) == 1 && res.Errors[0].Extensions["code"] == "UNAUTHENTICATED"
		})
		code, res, raw = ts.gqlAs(t, "shop", "", `mutation { signOut { success } }`)
		wantGQLError(t, "anonymous signOut", code, res, raw, http.StatusOK, "UNAUTHENTICATED", "")
		// signOut by refresh token ends that session of the caller.
		second := ts.gqlTokens(t, "shop", "signIn", `{email: "alice@example.com", password: "correct horse battery"}`)
		third := ts.gqlTokens(t, "shop", "signIn", `{email: "alice@example.com", password: "correct horse battery"}`)
		code, res, raw = ts.gqlAs(t, "shop", third.AccessToken, fmt.Sprintf(`mutation { signOut(input: {refreshToken: %q}) { success } }`, second.RefreshToken))
		if code != http.StatusOK || len(res.Errors) > 0 {
			t.Fatalf("signOut by refresh token: %d %s", code, raw)
		}
		eventually(t, "the other session ended", func() bool { code, _, _ := me(second.AccessToken); return code == http.StatusUnauthorized })
		if code, res, raw := me(third.AccessToken); code != http.StatusOK || len(res.Errors) > 0 {
			t.Fatalf("me of the caller's own session: %d %s", code, raw)
		}

		// An admin, created by a super_admin through the command.
		hasher := ts.s.identity.hasher
		create := usercmd.NewCreateUserHandler(usercmd.Deps{Store: ts.a.store, Modules: commands.AlwaysEnabled{}, Hasher: hasher,
			NewID: func() (string, error) { id, err := uuid.NewV7(); return id.String(), err }, Now: time.Now}, commands.Decorators{})
		root, err := rbac.UserActor("00000000-0000-7000-8000-000000000001", rbac.RoleSuperAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := create.Handle(context.Background(), usercmd.CreateUser{TenantID: shopID, Actor: root,
			Email: "admin@example.com", Password: "correct horse battery", Name: "Admin", Role: user.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{reg.User.ID: true}
		for i := range 4 {
			u := ts.gqlTokens(t, "shop", "signUp", fmt.Sprintf(`{email: "c%d@example.com", password: "correct horse battery", name: "C %d"}`, i, i))
			want[u.User.ID] = true
		}
		admin := ts.gqlTokens(t, "shop", "signIn", `{email: "admin@example.com", password: "correct horse battery"}`)
		if admin.User.Role != "ADMIN" {
			t.Fatalf("admin role %q", admin.User.Role)
		}
		want[admin.User.ID] = true

		// users walks every user once, two at a time.
		got := map[string]bool{}
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("users: too many pages")
			}
			q := `{ users(first: 2` + after + `) { edges { cursor node { id email role status createdAt } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
			code, res, raw := ts.gqlAs(t, "shop", admin.AccessToken, q)
			if code != http.StatusOK || len(res.Errors) > 0 {
				t.Fatalf("users page %d: %d %s", pages, code, raw)
			}
			var conn struct {
				Edges []struct {
					Cursor string
					Node   struct{ ID string }
				}
				PageInfo struct {
					HasNextPage, HasPreviousPage bool
					EndCursor                    *string
				}
			}
			if err := json.Unmarshal(res.Data["users"], &conn); err != nil {
				t.Fatal(err)
			}
			if conn.PageInfo.HasPreviousPage != (after != "") {
				t.Errorf("users page %d: hasPreviousPage %v", pages, conn.PageInfo.HasPreviousPage)
			}
			for _, e := range conn.Edges {
				if got[e.Node.ID] {
					t.Fatalf("users: %s twice", e.Node.ID)
				}
				got[e.Node.ID] = true
			}
			if !conn.PageInfo.HasNextPage {
				break
			}
			after = fmt.Sprintf(`, after: %q`, *conn.PageInfo.EndCursor)
		}
		if len(got) != len(want) {
			t.Fatalf("users walked %d users, want %d", len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Errorf("users: %s missing", id)
			}
		}
		code, res, raw = ts.gqlAs(t, "shop", admin.AccessToken, `{ users(filter: {role: ADMIN}, search: "admin") { edges { node { email } } } }`)
		if code != http.StatusOK || len(res.Errors) > 0 || strings.Count(raw, `"email"`) != 1 || !strings.Contains(raw, "admin@example.com") {
			t.Errorf("users filtered: %d %s", code, raw)
		}
		code, res, raw = ts.gqlAs(t, "shop", admin.AccessToken, fmt.Sprintf(`{ user(id: %q) { email canUpdate: can(action: "users:update") } }`, reg.User.ID))
		if code != http.StatusOK || len(res.Errors) > 0 || !strings.Contains(raw, `"email":"alice@example.com"`) || !strings.Contains(raw, `"canUpdate":true`) {
			t.Errorf("user as admin: %d %s", code, raw)
		}
		code, res, raw = ts.gqlAs(t, "shop", admin.AccessToken, `{ users(first: 101) { edges { cursor } } }`)
		wantGQLError(t, "users first over 100", code, res, raw, http.StatusOK, "BAD_USER_INPUT", "first")

		// No argument sets the tenant: tenantId must be the request's own.
		code, res, raw = ts.gqlAs(t, "shop", admin.AccessToken, fmt.Sprintf(`{ users(tenantId: %q) { edges { cursor } } }`, otherID))
		wantGQLError(t, "users of another tenantId", code, res, raw, http.StatusOK, "FORBIDDEN", "")
		code, res, raw = ts.gqlAs(t, "shop", admin.AccessToken, fmt.Sprintf(`{ user(id: %q, tenantId: %q) { id } }`, reg.User.ID, otherID))
		wantGQLError(t, "user of another tenantId", code, res, raw, http.StatusOK, "FORBIDDEN", "")
		code, res, raw = ts.gqlAs(t, "shop", admin.AccessToken, fmt.Sprintf(`{ user(id: %q, tenantId: %q) { id } }`, reg.User.ID, shopID))
		if code != http.StatusOK || len(res.Errors) > 0 {
			t.Errorf("user with its own tenantId: %d %s", code, raw)
		}
		// The shop admin's token on the other tenant is refused as a whole.
		code, res, raw = ts.gqlAs(t, "other", admin.AccessToken, `{ users { edges { cursor } } }`)
		wantGQLError(t, "admin token on another tenant", code, res, raw, http.StatusForbidden, "FORBIDDEN", "")
		// No argument names the actor: the inputs have no such field.
		code, res, raw = ts.gqlAs(t, "shop", "", `mutation { signUp(input: {email: "x@example.com", password: "correct horse battery", role: ADMIN}) { accessToken } }`)
		wantGQLError(t, "signUp with a role", code, res, raw, http.StatusOK, "BAD_USER_INPUT", "role")
		code, res, raw = ts.gqlAs(t, "shop", "", `{ users(actorId: "x") { edges { cursor } } }`)
		wantGQLError(t, "users with an actor argument", code, res, raw, http.StatusOK, "BAD_USER_INPUT", "actorId")
	})
}

// TestServeGraphQLAuthBudget: signIn, signUp and refreshToken spend the
// per-IP auth budget of the REST routes, one unit per field.
func TestServeGraphQLAuthBudget(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := authConfig(dbURL)
		def := config.Default().Settings.Rustok.RateLimit
		cfg.Settings.Rustok.RateLimit = def
		cfg.Settings.Rustok.RateLimit.TrustedProxies = []string{"127.0.0.1"}
		ts := startServer(t, cfg)
		_, pos := createTenant(t, ts.a, ts.h, "shop")
		ts.waitFollowed(t, pos)
		from := func(ip string) http.Header {
			return http.Header{"X-Tenant-Id": {"shop"}, "X-Forwarded-For": {ip}}
		}
		const signIn = `mutation { signIn(input: {email: "eve@example.com", password: "wrong password!"}) { accessToken } }`
		for range def.AuthBurst {
			code, res, raw := ts.graphql(t, from("198.51.100.2"), signIn)
			wantGQLError(t, "signIn attempt", code, res, raw, http.StatusOK, "UNAUTHENTICATED", "")
		}
		code, res, raw := ts.graphql(t, from("198.51.100.2"), signIn)
		wantGQLError(t, "signIn over the auth budget", code, res, raw, http.StatusOK, "RATE_LIMITED", "")
		// The REST routes share the budget.
		code, hdr, raw := ts.rawRequest(t, http.MethodPost, "/api/auth/login", withTenant(http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {"198.51.100.2"}}, "shop"),
			`{"email":"eve@example.com","password":"wrong password!"}`)
		wantProblem(t, "REST login after GraphQL", code, hdr, raw, http.StatusTooManyRequests, "RATE_LIMITED")
		// Aliases spend one unit each: one document cannot try more.
		var b strings.Builder
		b.WriteString("mutation {")
		for i := range def.AuthBurst + 1 {
			fmt.Fprintf(&b, ` a%d: refreshToken(input: {refreshToken: "nope"}) { accessToken }`, i)
		}
		b.WriteString(" }")
		code, res, raw = ts.graphql(t, from("198.51.100.3"), b.String())
		if code != http.StatusOK || len(res.Errors) != def.AuthBurst+1 || res.Errors[def.AuthBurst].Extensions["code"] != "RATE_LIMITED" {
			t.Errorf("aliased refreshToken: %d %s", code, raw)
		}
		// Queries are not counted.
		for range def.AuthBurst + 1 {
			if code, res, raw := ts.graphql(t, from("198.51.100.4"), `{ health }`); code != http.StatusOK || len(res.Errors) > 0 {
				t.Fatalf("health: %d %s", code, raw)
			}
		}
	})
}
