package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// operation is one root field of the schema called as a client would,
// with arguments that pass validation, so that only the caller decides
// the answer.
type operation struct {
	field, doc string
	// public fields answer an anonymous caller.
	public bool
	// customer is the code a signed-in customer gets: "" for an answer,
	// or the error code (with the permission named for FORBIDDEN).
	customer, permission string
}

// TestServeEveryOperationNeedsItsPermission calls every root field of the
// schema — the table must list each one, so a new field cannot skip this
// test — as an anonymous caller (every non-public field UNAUTHENTICATED)
// and as a signed-in customer (the administration fields FORBIDDEN,
// naming the missing permission), and toggleModule as an admin (FORBIDDEN:
// only a super_admin holds modules:manage), on each database.
func TestServeEveryOperationNeedsItsPermission(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ts := startServer(t, authConfig(dbURL))
		shopID, pos := createTenant(t, ts.a, ts.h, "shop")
		ts.waitFollowed(t, pos)
		adminID := seedUser(t, ts, shopID, "admin@example.com", user.RoleAdmin)
		customer := ts.tokens(t, "/api/auth/register", "shop", `{"email":"c@example.com","password":"correct horse battery"}`, http.StatusCreated)
		admin := ts.tokens(t, "/api/auth/login", "shop", `{"email":"admin@example.com","password":"correct horse battery"}`, http.StatusOK)
		const otherSession = "00000000-0000-7000-8000-0000000000bb"

		ops := []operation{
			{field: "health", doc: `{ health }`, public: true},
			{field: "apiVersion", doc: `{ apiVersion }`, public: true},
			{field: "currentTenant", doc: `{ currentTenant { id } }`, public: true},
			{field: "enabledModules", doc: `{ enabledModules }`, public: true},
			{field: "moduleRegistry", doc: `{ moduleRegistry { moduleSlug } }`, public: true},
			{field: "tenantModules", doc: `{ tenantModules { moduleSlug } }`, public: true},
			{field: "me", doc: `{ me { id } }`},
			{field: "sessions", doc: `{ sessions { id } }`},
			{field: "user", doc: `{ user(id: "` + adminID + `") { id } }`, customer: "FORBIDDEN", permission: "users:read"},
			{field: "users", doc: `{ users { edges { cursor } } }`, customer: "FORBIDDEN", permission: "users:list"},
			{field: "apiKeys", doc: `{ apiKeys { id } }`, customer: "FORBIDDEN", permission: "settings:list"},
			{field: "history", doc: `{ history(id: "` + adminID + `") { totalCount } }`, customer: "FORBIDDEN", permission: "logs:read"},
			{field: "signUp", doc: `mutation { signUp(input: {email: "n@example.com", password: "correct horse battery"}) { accessToken } }`, public: true},
			{field: "signIn", doc: `mutation { signIn(input: {email: "c@example.com", password: "correct horse battery"}) { accessToken } }`, public: true},
			{field: "refreshToken", doc: `mutation { refreshToken(input: {refreshToken: "` + customer.RefreshToken + `"}) { accessToken } }`, public: true},
			{field: "forgotPassword", doc: `mutation { forgotPassword(input: {email: "c@example.com"}) { success } }`, public: true},
			{field: "resetPassword", doc: `mutation { resetPassword(input: {token: "x", newPassword: "a new password"}) { success } }`, public: true, customer: "BAD_USER_INPUT"},
			{field: "signOut", doc: `mutation { signOut(input: {refreshToken: "` + otherSession + `.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) { success } }`, customer: "NOT_FOUND"},
			{field: "changePassword", doc: `mutation { changePassword(input: {currentPassword: "wrong password", newPassword: "a new password"}) { success } }`, customer: "BAD_USER_INPUT"},
			{field: "updateProfile", doc: `mutation { updateProfile(input: {name: "C"}) { id } }`},
			{field: "revokeAllSessions", doc: `mutation { revokeAllSessions { success } }`},
			{field: "revokeSession", doc: `mutation { revokeSession(id: "` + otherSession + `") { success } }`, customer: "NOT_FOUND"},
			{field: "createUser", doc: `mutation { createUser(input: {email: "x@example.com", password: "a long password"}) { id } }`, customer: "FORBIDDEN", permission: "users:create"},
			{field: "updateUser", doc: `mutation { updateUser(id: "` + adminID + `", input: {name: "X"}) { id } }`, customer: "FORBIDDEN", permission: "users:update"},
			{field: "disableUser", doc: `mutation { disableUser(id: "` + adminID + `") { id } }`, customer: "FORBIDDEN", permission: "users:update"},
			{field: "deleteUser", doc: `mutation { deleteUser(id: "` + adminID + `") { success } }`, customer: "FORBIDDEN", permission: "users:delete"},
			{field: "createApiKey", doc: `mutation { createApiKey(input: {name: "k", permissions: ["products:read"]}) { secret } }`, customer: "FORBIDDEN", permission: "settings:create"},
			{field: "revokeApiKey", doc: `mutation { revokeApiKey(id: "` + otherSession + `") { success } }`, customer: "FORBIDDEN", permission: "settings:delete"},
			{field: "toggleModule", doc: `mutation { toggleModule(moduleSlug: "blog", enabled: true) { enabled } }`, customer: "FORBIDDEN", permission: "modules:manage"},
			{field: "createTenant", doc: `mutation { createTenant(input: {slug: "new", name: "New"}) { id } }`, customer: "FORBIDDEN", permission: "tenants:create"},
			{field: "updateTenant", doc: `mutation { updateTenant(id: "` + shopID + `", input: {name: "X"}) { id } }`, customer: "FORBIDDEN", permission: "tenants:update"},
			{field: "disableTenant", doc: `mutation { disableTenant(id: "` + shopID + `") { id } }`, customer: "FORBIDDEN", permission: "tenants:update"},
			{field: "enableTenant", doc: `mutation { enableTenant(id: "` + shopID + `") { id } }`, customer: "FORBIDDEN", permission: "tenants:update"},
		}

		// The table covers the schema.
		var schema struct {
			Schema struct {
				QueryType, MutationType struct{ Fields []struct{ Name string } }
			} `json:"__schema"`
		}
		_, res, raw := ts.gqlAs(t, "", "", `{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`)
		if err := json.Unmarshal(res.Data["__schema"], &schema.Schema); err != nil {
			t.Fatalf("introspection: %v %s", err, raw)
		}
		for _, f := range append(schema.Schema.QueryType.Fields, schema.Schema.MutationType.Fields...) {
			if !slices.ContainsFunc(ops, func(o operation) bool { return o.field == f.Name }) {
				t.Errorf("root field %s is not in the table: add it with the permission it needs", f.Name)
			}
		}

		for _, o := range ops {
			code, res, raw := ts.gqlAs(t, "shop", "", o.doc)
			if code != http.StatusOK {
				t.Errorf("%s anonymous: HTTP %d %s", o.field, code, raw)
				continue
			}
			unauth := len(res.Errors) == 1 && res.Errors[0].Extensions["code"] == "UNAUTHENTICATED"
			if o.public == unauth && !(o.public && o.customer != "") {
				t.Errorf("%s anonymous: public %v, got %s", o.field, o.public, raw)
			}
			if o.public {
				continue
			}
			code, res, raw = ts.gqlAs(t, "shop", customer.AccessToken, o.doc)
			switch {
			case code != http.StatusOK:
				t.Errorf("%s as a customer: HTTP %d %s", o.field, code, raw)
			case o.customer == "" && len(res.Errors) > 0:
				t.Errorf("%s as a customer: %s, want an answer", o.field, raw)
			case o.customer != "" && (len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != o.customer || !strings.Contains(res.Errors[0].Message, o.permission)):
				t.Errorf("%s as a customer: %s, want %s naming %q", o.field, raw, o.customer, o.permission)
			}
		}

		// An admin holds no modules:manage either; the answer names it.
		code, res, raw := ts.gqlAs(t, "shop", admin.AccessToken, `mutation { toggleModule(moduleSlug: "blog", enabled: true) { enabled } }`)
		wantGQLError(t, "toggleModule as an admin", code, res, raw, http.StatusOK, "FORBIDDEN", "modules:manage")
	})
}

// TestServeSuperAdminAcrossTenants: a super_admin's token works on every
// tenant (CONTRACT.md "Who administers whom"): they list and create users
// of another tenant and toggle its modules there; an admin's token on
// another tenant is FORBIDDEN. On each database.
func TestServeSuperAdminAcrossTenants(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ts := startServer(t, authConfig(dbURL))
		homeID, _ := createTenant(t, ts.a, ts.h, "home")
		_, pos := createTenant(t, ts.a, ts.h, "away")
		ts.waitFollowed(t, pos)
		seedUser(t, ts, homeID, "root@example.com", user.RoleSuperAdmin)
		seedUser(t, ts, homeID, "admin@example.com", user.RoleAdmin)
		root := ts.tokens(t, "/api/auth/login", "home", `{"email":"root@example.com","password":"correct horse battery"}`, http.StatusOK)
		admin := ts.tokens(t, "/api/auth/login", "home", `{"email":"admin@example.com","password":"correct horse battery"}`, http.StatusOK)

		away := func(bearer, doc string) (int, gqlResponse, string) { return ts.gqlAs(t, "away", bearer, doc) }
		code, res, raw := away(root.AccessToken, `mutation { createUser(input: {email: "guest@example.com", password: "a long password", role: ADMIN}) { id tenantName role } }`)
		if code != http.StatusOK || len(res.Errors) > 0 || !strings.Contains(raw, `"tenantName":"Tenant away"`) {
			t.Fatalf("a super_admin creating a user of another tenant: %d %s", code, raw)
		}
		code, res, raw = away(root.AccessToken, `{ users { totalCount edges { node { email } } } }`)
		if code != http.StatusOK || len(res.Errors) > 0 || !strings.Contains(raw, "guest@example.com") || strings.Contains(raw, "root@example.com") {
			t.Errorf("a super_admin listing another tenant's users: %d %s", code, raw)
		}
		code, res, raw = away(root.AccessToken, `mutation { toggleModule(moduleSlug: "blog", enabled: true) { moduleSlug enabled } }`)
		if code != http.StatusOK || len(res.Errors) > 0 || !strings.Contains(raw, `"enabled":true`) {
			t.Errorf("a super_admin toggling another tenant's module: %d %s", code, raw)
		}
		// The home tenant is unchanged by the toggle.
		if _, _, raw := ts.gqlAs(t, "home", "", `{ enabledModules }`); strings.Contains(raw, `"blog"`) {
			t.Errorf("the toggle reached the home tenant: %s", raw)
		}
		code, hdr, body := ts.authCall(t, http.MethodGet, "/api/auth/me", "away", admin.AccessToken, "")
		wantProblem(t, "an admin's token on another tenant", code, hdr, body, http.StatusForbidden, "FORBIDDEN")

		// Tenant administration over GraphQL: the super_admin only.
		rootOK := func(doc, field string) json.RawMessage {
			t.Helper()
			code, res, raw := ts.gqlAs(t, "home", root.AccessToken, doc)
			if code != http.StatusOK || len(res.Errors) > 0 {
				t.Fatalf("%s: %d %s", doc, code, raw)
			}
			return res.Data[field]
		}
		code, res, raw = ts.gqlAs(t, "home", admin.AccessToken, `mutation { createTenant(input: {slug: "third", name: "Third"}) { id } }`)
		wantGQLError(t, "an admin creating a tenant", code, res, raw, http.StatusOK, "FORBIDDEN", "tenants:create")
		var created struct{ ID, Slug, Name, Status string }
		if err := json.Unmarshal(rootOK(`mutation { createTenant(input: {slug: "Third", name: "Third", domains: ["third.example.com"]}) { id slug name status } }`, "createTenant"), &created); err != nil ||
			created.Slug != "third" || created.Status != "active" || created.ID == "" {
			t.Fatalf("createTenant: %+v %v", created, err)
		}
		renamed := string(rootOK(`mutation { updateTenant(id: "`+created.ID+`", input: {name: "Third Shop", addDomains: ["shop3.example.com"], removeDomains: ["third.example.com"]}) { name domains } }`, "updateTenant"))
		if !strings.Contains(renamed, `"name":"Third Shop"`) || !strings.Contains(renamed, `"domains":["shop3.example.com"]`) {
			t.Errorf("updateTenant: %s", renamed)
		}
		if got := string(rootOK(`mutation { disableTenant(id: "`+created.ID+`") { status } }`, "disableTenant")); !strings.Contains(got, "disabled") {
			t.Errorf("disableTenant: %s", got)
		}
		eventually(t, "the disabled tenant refused", func() bool {
			code, _, _ := ts.gqlAs(t, "third", "", `{ health }`)
			return code == http.StatusForbidden
		})
		if got := string(rootOK(`mutation { enableTenant(id: "`+created.ID+`") { status } }`, "enableTenant")); !strings.Contains(got, "active") {
			t.Errorf("enableTenant: %s", got)
		}
		code, res, raw = ts.gqlAs(t, "home", root.AccessToken, `mutation { createTenant(input: {slug: "third", name: "Again"}) { id } }`)
		wantGQLError(t, "a taken slug", code, res, raw, http.StatusOK, "CONFLICT", "")
	})
}
