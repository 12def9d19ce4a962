package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// TestServeAPIKeys goes through API keys on the real serve stack, on each
// database: an admin creates a key (the secret shown once, never listed),
// the key works with its permissions only, over GraphQL and REST; a key of
// another tenant is 403, a bad one 401; revoked, it is refused by this
// instance at once and by another instance once its follower has read the
// revocation.
func TestServeAPIKeys(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := authConfig(dbURL)
		ts := startServer(t, cfg)
		shopID, _ := createTenant(t, ts.a, ts.h, "shop")
		_, pos := createTenant(t, ts.a, ts.h, "other")
		ts.waitFollowed(t, pos)
		seedUser(t, ts, shopID, "admin@example.com", user.RoleAdmin)
		seedUser(t, ts, shopID, "manager@example.com", user.RoleManager)
		admin := ts.tokens(t, "/api/auth/login", "shop", `{"email":"admin@example.com","password":"correct horse battery"}`, http.StatusOK)
		manager := ts.tokens(t, "/api/auth/login", "shop", `{"email":"manager@example.com","password":"correct horse battery"}`, http.StatusOK)

		for _, c := range []struct{ what, bearer, perms, code, msg string }{
			{"a manager", manager.AccessToken, `["users:read"]`, "FORBIDDEN", "settings:create"},
			{"a permission the admin lacks", admin.AccessToken, `["tenants:manage"]`, "FORBIDDEN", "tenants:manage"},
			{"an unknown permission", admin.AccessToken, `["users:fly"]`, "BAD_USER_INPUT", ""},
			{"no permission", admin.AccessToken, `[]`, "BAD_USER_INPUT", ""},
			{"an expiry decades ahead", admin.AccessToken, `["users:read"], expiresAt: "2099-01-01T00:00:00Z"`, "BAD_USER_INPUT", "5 years"},
			{"an expiry in the past", admin.AccessToken, `["users:read"], expiresAt: "2001-01-01T00:00:00Z"`, "BAD_USER_INPUT", ""},
			{"an expiry that is no time", admin.AccessToken, `["users:read"], expiresAt: "tomorrow"`, "BAD_USER_INPUT", ""},
			{"anonymous", "", `["users:read"]`, "UNAUTHENTICATED", ""},
		} {
			code, res, raw := ts.gqlAs(t, "shop", c.bearer, `mutation { createApiKey(input: {name: "k", permissions: `+c.perms+`}) { secret } }`)
			wantGQLError(t, "createApiKey by "+c.what, code, res, raw, http.StatusOK, c.code, c.msg)
		}

		var created struct {
			APIKey struct {
				ID, Name, Prefix string
				Permissions      []string
				ExpiresAt        *string
			}
			Secret string
		}
		raw := ts.gqlOK(t, admin.AccessToken, `mutation { createApiKey(input: {name: "CRM sync", permissions: ["users:read", "users:list"], expiresAt: "`+time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)+`"}) { apiKey { id name prefix permissions expiresAt lastUsedAt createdAt } secret position } }`, "createApiKey")
		if err := json.Unmarshal(raw, &created); err != nil {
			t.Fatal(err)
		}
		secret := created.Secret
		if !strings.HasPrefix(secret, "rtk_") || len(secret) != 47 || created.APIKey.Prefix != secret[:12] || created.APIKey.Name != "CRM sync" ||
			strings.Join(created.APIKey.Permissions, ",") != "users:list,users:read" || created.APIKey.ExpiresAt == nil {
			t.Fatalf("createApiKey: %s", raw)
		}
		listed := string(ts.gqlOK(t, admin.AccessToken, `{ apiKeys { id name prefix permissions lastUsedAt } }`, "apiKeys"))
		if !strings.Contains(listed, created.APIKey.ID) || strings.Contains(listed, secret) {
			t.Fatalf("apiKeys: %s", listed)
		}
		code, res, raw2 := ts.gqlAs(t, "shop", manager.AccessToken, `{ apiKeys { id } }`)
		wantGQLError(t, "apiKeys by a manager", code, res, string(raw2), http.StatusOK, "FORBIDDEN", "settings:list")

		// The key does what its permissions allow, and nothing else.
		if got := string(ts.gqlOK(t, secret, `{ users(first: 5) { edges { node { email } } } }`, "users")); !strings.Contains(got, "admin@example.com") {
			t.Errorf("users with the key: %s", got)
		}
		code, res, raw3 := ts.gqlAs(t, "shop", secret, `mutation { createUser(input: {email: "x@example.com", password: "a long password"}) { id } }`)
		wantGQLError(t, "createUser with a read-only key", code, res, raw3, http.StatusOK, "FORBIDDEN", "users:create")
		code, res, raw3 = ts.gqlAs(t, "shop", secret, `mutation { createApiKey(input: {name: "k2", permissions: ["users:read"]}) { secret } }`)
		wantGQLError(t, "a key creating a key", code, res, raw3, http.StatusOK, "FORBIDDEN", "")
		code, res, raw3 = ts.gqlAs(t, "shop", secret, `mutation { changePassword(input: {currentPassword: "correct horse battery", newPassword: "another password"}) { success } }`)
		wantGQLError(t, "a key changing its creator's password", code, res, raw3, http.StatusOK, "FORBIDDEN", "")
		code, res, raw3 = ts.gqlAs(t, "shop", secret, `{ sessions { id ip userAgent } }`)
		wantGQLError(t, "a key listing its creator's sessions", code, res, raw3, http.StatusOK, "FORBIDDEN", "")
		code, hdr0, body0 := ts.authCall(t, http.MethodGet, "/api/auth/sessions", "shop", secret, "")
		wantProblem(t, "a key listing its creator's sessions over REST", code, hdr0, body0, http.StatusForbidden, "FORBIDDEN")
		if code, _, body := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", secret, ""); code != http.StatusOK || !strings.Contains(body, "admin@example.com") {
			t.Errorf("REST me with the key: %d %s", code, body)
		}

		// Another tenant: 403; a bad or unknown key: 401.
		code, hdr, body := ts.authCall(t, http.MethodGet, "/api/auth/me", "other", secret, "")
		wantProblem(t, "the key on another tenant", code, hdr, body, http.StatusForbidden, "FORBIDDEN")
		for name, bad := range map[string]string{
			"token unknown": secret[:12] + strings.Repeat("A", 35),
			"token short":   secret[:20],
			"token bad":     "rtk_" + strings.Repeat("!", 43),
		} {
			code, hdr, body := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", bad, "")
			wantProblem(t, name, code, hdr, body, http.StatusUnauthorized, "UNAUTHENTICATED")
		}

		// Another instance on the same database knows the key too.
		ts2 := startServer(t, cfg)
		if code, _, body := ts2.authCall(t, http.MethodGet, "/api/auth/me", "shop", secret, ""); code != http.StatusOK {
			t.Fatalf("the key on a second instance: %d %s", code, body)
		}
		var revoked struct {
			Success  bool
			Position string
		}
		if err := json.Unmarshal(ts.gqlOK(t, admin.AccessToken, `mutation { revokeApiKey(id: "`+created.APIKey.ID+`") { success position } }`, "revokeApiKey"), &revoked); err != nil || !revoked.Success {
			t.Fatalf("revokeApiKey: %+v %v", revoked, err)
		}
		code, hdr, body = ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", secret, "")
		wantProblem(t, "token revoked, this instance", code, hdr, body, http.StatusUnauthorized, "UNAUTHENTICATED")
		head, err := ts2.a.store.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ts2.waitFollowed(t, head)
		code, hdr, body = ts2.authCall(t, http.MethodGet, "/api/auth/me", "shop", secret, "")
		wantProblem(t, "token revoked, another instance", code, hdr, body, http.StatusUnauthorized, "UNAUTHENTICATED")
		if listed := string(ts.gqlOK(t, admin.AccessToken, `{ apiKeys { id } }`, "apiKeys")); strings.Contains(listed, created.APIKey.ID) {
			t.Errorf("a revoked key is still listed: %s", listed)
		}
	})
}
