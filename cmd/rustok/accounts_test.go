package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// seedUser creates a user of role in tenantID through the command, as a
// super_admin who is not stored, and returns its id.
func seedUser(t *testing.T, ts *testServer, tenantID, email string, role user.Role) string {
	t.Helper()
	root, err := rbac.UserActor("00000000-0000-7000-8000-000000000001", rbac.RoleSuperAdmin)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ts.s.identity.newID()
	if err != nil {
		t.Fatal(err)
	}
	res, err := ts.s.identity.accounts.create.Handle(context.Background(), usercmd.CreateUser{TenantID: tenantID, Actor: root,
		ID: id, Email: email, Password: "correct horse battery", Name: string(role), Role: role})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitFollowed(t, res.Position)
	return id
}

// gqlOK runs query as bearer in tenant "shop" and returns data[field].
func (ts *testServer) gqlOK(t *testing.T, bearer, query, field string) json.RawMessage {
	t.Helper()
	code, res, raw := ts.gqlAs(t, "shop", bearer, query)
	if code != http.StatusOK || len(res.Errors) > 0 {
		t.Fatalf("%s: %d %s", query, code, raw)
	}
	return res.Data[field]
}

// TestServeAccounts goes through the account operations on the real serve
// stack, on each database: the sessions list, changePassword (other
// sessions dead at the next request, the current one alive),
// updateProfile, revokeAllSessions and revokeSession, and the user
// administration mutations with their permissions, over REST and GraphQL.
func TestServeAccounts(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ts := startServer(t, authConfig(dbURL))
		shopID, pos := createTenant(t, ts.a, ts.h, "shop")
		ts.waitFollowed(t, pos)
		const pw = `"correct horse battery"`
		signIn := func(email string) authAnswer {
			return ts.tokens(t, "/api/auth/login", "shop", `{"email":"`+email+`","password":`+pw+`}`, http.StatusOK)
		}
		alive := func(a authAnswer) bool {
			code, _, _ := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", a.AccessToken, "")
			return code == http.StatusOK
		}
		refreshes := func(a authAnswer) bool {
			code, _, _ := ts.authCall(t, http.MethodPost, "/api/auth/refresh", "shop", "", `{"refresh_token":"`+a.RefreshToken+`"}`)
			return code == http.StatusOK
		}

		first := ts.tokens(t, "/api/auth/register", "shop", `{"email":"alice@example.com","password":`+pw+`,"name":"Alice"}`, http.StatusCreated)
		second := signIn("alice@example.com")

		// The sessions list, REST and GraphQL, newest first, with "current".
		// Sign-in does not wait for the read models: the list shows the
		// second session once the sessions projection has it.
		eventually(t, "the second session listed", func() bool {
			views, err := ts.s.identity.accounts.sessions.Active(context.Background(), shopID, first.User.ID, time.Now())
			return err == nil && len(views) == 2
		})
		code, _, raw := ts.authCall(t, http.MethodGet, "/api/auth/sessions", "shop", first.AccessToken, "")
		var list struct {
			Data []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			} `json:"data"`
			Meta map[string]any `json:"meta"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(raw), &list) != nil || len(list.Data) != 2 || list.Data[0].Current || !list.Data[1].Current {
			t.Fatalf("GET /api/auth/sessions: %d %s", code, raw)
		}
		var sessions []struct {
			ID      string
			Current bool
		}
		if err := json.Unmarshal(ts.gqlOK(t, second.AccessToken, `{ sessions { id createdAt lastSeenAt userAgent ip current } }`, "sessions"), &sessions); err != nil ||
			len(sessions) != 2 || !sessions[0].Current || sessions[0].ID != list.Data[0].ID {
			t.Fatalf("sessions: %+v, %v", sessions, err)
		}

		// changePassword: a wrong current password changes nothing; the
		// right one ends the other session at once, never this one.
		code, hdr, raw := ts.authCall(t, http.MethodPost, "/api/auth/change-password", "shop", first.AccessToken,
			`{"current_password":"not the password","new_password":"a brand new password"}`)
		wantProblem(t, "change-password with a wrong current password", code, hdr, raw, http.StatusBadRequest, "BAD_USER_INPUT")
		code, _, raw = ts.authCall(t, http.MethodPost, "/api/auth/change-password", "shop", first.AccessToken,
			`{"current_password":`+pw+`,"new_password":"a brand new password"}`)
		if code != http.StatusOK || !strings.Contains(raw, `"success":true`) {
			t.Fatalf("change-password: %d %s", code, raw)
		}
		if alive(second) || refreshes(second) {
			t.Error("the other session survived the password change")
		}
		if !alive(first) {
			t.Error("the session that changed the password was ended")
		}
		code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/login", "shop", "", `{"email":"alice@example.com","password":`+pw+`}`)
		wantProblem(t, "sign-in with the old password", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
		third := ts.tokens(t, "/api/auth/login", "shop", `{"email":"alice@example.com","password":"a brand new password"}`, http.StatusOK)

		// updateProfile answers the renamed user; REST profile too.
		var profile struct{ Name, Email string }
		if got := ts.gqlOK(t, third.AccessToken, `mutation { updateProfile(input: {name: "Alice B"}) { name email } }`, "updateProfile"); json.Unmarshal(got, &profile) != nil ||
			profile.Name != "Alice B" || profile.Email != "alice@example.com" {
			t.Errorf("updateProfile: %s", got)
		}
		code, _, raw = ts.authCall(t, http.MethodPost, "/api/auth/profile", "shop", third.AccessToken, `{"name":"Alice C"}`)
		if code != http.StatusOK || !strings.Contains(raw, `"name":"Alice C"`) {
			t.Errorf("POST /api/auth/profile: %d %s", code, raw)
		}

		// revokeAllSessions keeps the caller's session only.
		if got := string(ts.gqlOK(t, third.AccessToken, `mutation { revokeAllSessions { success } }`, "revokeAllSessions")); got != `{"success":true}` {
			t.Errorf("revokeAllSessions: %s", got)
		}
		if alive(first) || !alive(third) {
			t.Errorf("after revokeAllSessions: first alive %v, third alive %v", alive(first), alive(third))
		}

		// User administration.
		seedUser(t, ts, shopID, "admin@example.com", user.RoleAdmin)
		admin := signIn("admin@example.com")
		created := ts.gqlOK(t, admin.AccessToken, `mutation { createUser(input: {email: "Bob@Example.com", password: "bob's long password", name: "Bob", role: MANAGER}) { id email name role status } }`, "createUser")
		var bob struct{ ID, Email, Name, Role, Status string }
		if err := json.Unmarshal(created, &bob); err != nil || bob.Email != "bob@example.com" || bob.Role != "MANAGER" || bob.Status != "ACTIVE" {
			t.Fatalf("createUser: %s", created)
		}
		bobTokens := ts.tokens(t, "/api/auth/login", "shop", `{"email":"bob@example.com","password":"bob's long password"}`, http.StatusOK)
		var bobSession []struct{ ID string }
		if err := json.Unmarshal(ts.gqlOK(t, bobTokens.AccessToken, `{ sessions { id } }`, "sessions"), &bobSession); err != nil || len(bobSession) != 1 {
			t.Fatalf("bob's sessions: %+v %v", bobSession, err)
		}

		for _, c := range []struct {
			what, bearer, query, code, msg string
		}{
			{"an admin giving super_admin", admin.AccessToken, `mutation { createUser(input: {email: "x@example.com", password: "a long password", role: SUPER_ADMIN}) { id } }`, "FORBIDDEN", "tenants:manage"},
			{"a manager creating a user", bobTokens.AccessToken, `mutation { createUser(input: {email: "y@example.com", password: "a long password"}) { id } }`, "FORBIDDEN", "users:create"},
			{"anonymous creating a user", "", `mutation { createUser(input: {email: "z@example.com", password: "a long password"}) { id } }`, "UNAUTHENTICATED", ""},
			{"a customer disabling a user", third.AccessToken, `mutation { disableUser(id: "` + bob.ID + `") { id } }`, "FORBIDDEN", "users:update"},
			{"a customer deleting a user", third.AccessToken, `mutation { deleteUser(id: "` + bob.ID + `") { success } }`, "FORBIDDEN", "users:delete"},
			{"an admin renaming a user", admin.AccessToken, `mutation { updateUser(id: "` + bob.ID + `", input: {name: "B"}) { id } }`, "", ""},
			{"a bad id", admin.AccessToken, `mutation { deleteUser(id: "nope") { success } }`, "BAD_USER_INPUT", ""},
			{"an unknown user", admin.AccessToken, `mutation { deleteUser(id: "00000000-0000-7000-8000-0000000000aa") { success } }`, "NOT_FOUND", ""},
			{"a customer revoking another's session", third.AccessToken, `mutation { revokeSession(id: "` + bobSession[0].ID + `") { success } }`, "NOT_FOUND", ""},
		} {
			code, res, raw := ts.gqlAs(t, "shop", c.bearer, c.query)
			if c.code == "" {
				if code != http.StatusOK || len(res.Errors) > 0 {
					t.Errorf("%s: %d %s", c.what, code, raw)
				}
				continue
			}
			wantGQLError(t, c.what, code, res, raw, http.StatusOK, c.code, c.msg)
		}

		var updated struct{ Name, Role, Status string }
		if got := ts.gqlOK(t, admin.AccessToken, `mutation { updateUser(id: "`+bob.ID+`", input: {name: "Robert", role: CUSTOMER}) { name role status } }`, "updateUser"); json.Unmarshal(got, &updated) != nil ||
			updated != (struct{ Name, Role, Status string }{"Robert", "CUSTOMER", "ACTIVE"}) {
			t.Errorf("updateUser: %s", got)
		}
		disabled := string(ts.gqlOK(t, admin.AccessToken, `mutation { disableUser(id: "`+bob.ID+`") { status } }`, "disableUser"))
		if disabled != `{"status":"INACTIVE"}` || alive(bobTokens) || refreshes(bobTokens) {
			t.Errorf("disableUser: %s; the user's session must be dead", disabled)
		}
		views, err := ts.s.identity.accounts.sessions.Active(context.Background(), shopID, bob.ID, time.Now())
		if err != nil || len(views) != 0 {
			t.Errorf("the disabled user's active sessions: %+v, %v", views, err)
		}
		if got := string(ts.gqlOK(t, admin.AccessToken, `mutation { deleteUser(id: "`+bob.ID+`") { success } }`, "deleteUser")); got != `{"success":true}` {
			t.Errorf("deleteUser: %s", got)
		}
		if code, res, raw := ts.gqlAs(t, "shop", admin.AccessToken, `{ user(id: "`+bob.ID+`") { id } }`); code != http.StatusOK || len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "NOT_FOUND" {
			t.Errorf("the deleted user: %d %s", code, raw)
		}
		// An admin ends one of a customer's sessions.
		fourth := ts.tokens(t, "/api/auth/login", "shop", `{"email":"alice@example.com","password":"a brand new password"}`, http.StatusOK)
		var own []struct{ ID string }
		if err := json.Unmarshal(ts.gqlOK(t, fourth.AccessToken, `{ sessions { id } }`, "sessions"), &own); err != nil || len(own) != 2 {
			t.Fatalf("alice's sessions: %+v %v", own, err)
		}
		if got := string(ts.gqlOK(t, admin.AccessToken, `mutation { revokeSession(id: "`+own[0].ID+`") { success } }`, "revokeSession")); got != `{"success":true}` {
			t.Errorf("revokeSession by an admin: %s", got)
		}
		if alive(fourth) || !alive(third) {
			t.Error("revokeSession ended the wrong session")
		}

		// The connection counts every live user, whatever the page size.
		if got := string(ts.gqlOK(t, admin.AccessToken, `{ users(first: 1) { totalCount edges { node { id } } } }`, "users")); !strings.Contains(got, `"totalCount":2`) {
			t.Errorf("users totalCount (alice and the admin; bob deleted): %s", got)
		}
		if got := string(ts.gqlOK(t, admin.AccessToken, `{ users(first: 1, filter: {role: ADMIN}) { totalCount } }`, "users")); got != `{"totalCount":1}` {
			t.Errorf("admins totalCount: %s", got)
		}

		// history(userId): the user's and their sessions' events in log
		// order, with the actor, never a hash; logs:read needed.
		code, res, raw := ts.gqlAs(t, "shop", third.AccessToken, `{ history(id: "`+first.User.ID+`") { totalCount } }`)
		wantGQLError(t, "a customer reading history", code, res, raw, http.StatusOK, "FORBIDDEN", "logs:read")
		var hist struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					Position, Type, ActorID, Payload string
				}
			}
		}
		raw2 := ts.gqlOK(t, admin.AccessToken, `{ history(id: "`+first.User.ID+`", first: 100) { totalCount edges { node { position type actorId payload } } } }`, "history")
		if err := json.Unmarshal(raw2, &hist); err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range hist.Edges {
			types = append(types, e.Node.Type)
			var payload map[string]any
			if err := json.Unmarshal([]byte(e.Node.Payload), &payload); err != nil {
				t.Fatalf("payload %q: %v", e.Node.Payload, err)
			}
			for k, v := range payload {
				if strings.HasSuffix(k, "_hash") && v != "" {
					t.Errorf("%s shows %s = %v", e.Node.Type, k, v)
				}
			}
		}
		if hist.TotalCount != len(hist.Edges) || strings.Contains(string(raw2), "$argon2") {
			t.Errorf("history: total %d, %d edges; %s", hist.TotalCount, len(hist.Edges), raw2)
		}
		for _, want := range []string{"user.registered", "session.started", "user.password_changed", "session.revoked", "user.updated"} {
			if !slices.Contains(types, want) {
				t.Errorf("history lacks %s: %v", want, types)
			}
		}
		if hist.Edges[0].Node.Type != "user.registered" {
			t.Errorf("history starts with %s", hist.Edges[0].Node.Type)
		}
		// The revocations by the admin carry the admin as actor.
		var byAdmin bool
		for _, e := range hist.Edges {
			byAdmin = byAdmin || (e.Node.Type == "session.revoked" && e.Node.ActorID == admin.User.ID)
		}
		if !byAdmin {
			t.Errorf("no session.revoked with the admin as actor: %s", raw2)
		}
	})
}

// TestServeRefreshGrace: two concurrent refreshes of one token inside
// auth.jwt.refresh_grace both succeed with the same new refresh token; the
// same token presented after the window is reuse, which ends the session
// (its newest tokens die too), on each database.
func TestServeRefreshGrace(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := authConfig(dbURL)
		cfg.Auth.JWT.RefreshGrace = time.Second
		ts := startServer(t, cfg)
		_, pos := createTenant(t, ts.a, ts.h, "shop")
		ts.waitFollowed(t, pos)
		first := ts.tokens(t, "/api/auth/register", "shop", `{"email":"tabs@example.com","password":"correct horse battery"}`, http.StatusCreated)
		body := `{"refresh_token":"` + first.RefreshToken + `"}`
		var (
			wg      sync.WaitGroup
			answers [2]authAnswer
		)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = ts.tokens(t, "/api/auth/refresh", "shop", body, http.StatusOK)
			}()
		}
		wg.Wait()
		if answers[0].RefreshToken != answers[1].RefreshToken || answers[0].RefreshToken == first.RefreshToken {
			t.Fatalf("concurrent refreshes gave %q and %q, want one new token", answers[0].RefreshToken, answers[1].RefreshToken)
		}
		time.Sleep(cfg.Auth.JWT.RefreshGrace + 200*time.Millisecond)
		code, hdr, raw := ts.authCall(t, http.MethodPost, "/api/auth/refresh", "shop", "", body)
		wantProblem(t, "a reuse after the grace", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
		code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/refresh", "shop", "", `{"refresh_token":"`+answers[0].RefreshToken+`"}`)
		wantProblem(t, "the newest token after the reuse", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
		eventually(t, "the access token of the revoked session refused", func() bool {
			code, _, _ := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", answers[0].AccessToken, "")
			return code == http.StatusUnauthorized
		})
	})
}
