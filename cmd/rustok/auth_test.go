package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/token"
)

// authConfig is testConfig with cheap password hashing.
func authConfig(dbURL string) config.Config {
	cfg := testConfig(dbURL)
	cfg.Auth.Password.Argon2MemoryKiB = 1024
	cfg.Auth.Password.Argon2Iterations = 1
	return cfg
}

// edConfig is authConfig under EdDSA with a new key, returned too.
func edConfig(t *testing.T, dbURL string) (config.Config, ed25519.PrivateKey) {
	t.Helper()
	pem, err := token.GenerateEd25519PEM()
	if err != nil {
		t.Fatal(err)
	}
	key, err := token.ParseEd25519PEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	cfg := authConfig(dbURL)
	cfg.Auth.JWT.Algorithm = string(token.EdDSA)
	cfg.Auth.JWT.Keys = []string{string(pem)}
	return cfg, key
}

type authAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	User         struct {
		ID, Email, Name, Role, Status string
	} `json:"user"`
}

type problemAnswer struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
}

// authCall is one request to /api/auth or any /api route of tenant.
func (ts *testServer) authCall(t *testing.T, method, path, tenant, bearer, body string) (int, http.Header, string) {
	t.Helper()
	h := withTenant(jsonHeader, tenant)
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	return ts.rawRequest(t, method, path, h, body)
}

func (ts *testServer) tokens(t *testing.T, path, tenant, body string, want int) authAnswer {
	t.Helper()
	code, hdr, raw := ts.authCall(t, http.MethodPost, path, tenant, "", body)
	if code != want {
		t.Fatalf("POST %s: %d %s", path, code, raw)
	}
	var a authAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatal(err)
	}
	if a.AccessToken == "" || a.RefreshToken == "" || a.TokenType != "Bearer" || a.ExpiresIn != 900 || a.User.ID == "" {
		t.Fatalf("POST %s: answer %s", path, raw)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("POST %s: Cache-Control %q", path, hdr.Get("Cache-Control"))
	}
	return a
}

// wantProblem checks a problem+json answer of status and code.
func wantProblem(t *testing.T, what string, code int, hdr http.Header, raw string, wantStatus int, wantCode string) {
	t.Helper()
	if code != wantStatus {
		t.Errorf("%s: status %d, want %d: %s", what, code, wantStatus, raw)
		return
	}
	var p problemAnswer
	if err := json.Unmarshal([]byte(raw), &p); err != nil || p.Code != wantCode || p.Status != wantStatus || p.Type == "" || p.Title == "" || p.RequestID == "" {
		t.Errorf("%s: problem %s, want code %s", what, raw, wantCode)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if wantStatus == http.StatusUnauthorized && strings.HasPrefix(what, "token") && hdr.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("%s: WWW-Authenticate %q", what, hdr.Get("WWW-Authenticate"))
	}
}

// eventually polls f until it holds (an invalidation travels through the
// follower), for at most 10 s.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeAuthFlow goes through sign-up, sign-in, me, refresh, reuse of a
// spent refresh token, sign-out, a ban and another tenant's token on the
// real serve stack, under HS256 and EdDSA, on each database.
func TestServeAuthFlow(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"HS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				cfg := authConfig(dbURL)
				if alg == "EdDSA" {
					cfg, _ = edConfig(t, dbURL)
				}
				ts := startServer(t, cfg)
				runAuthFlow(t, ts)
			})
		})
	}
}

func runAuthFlow(t *testing.T, ts *testServer) {
	shopID, _ := createTenant(t, ts.a, ts.h, "shop")
	otherID, pos := createTenant(t, ts.a, ts.h, "other")
	ts.waitFollowed(t, pos)
	const creds = `{"email":"Alice@Example.com","password":"correct horse battery","name":"Alice"}`
	me := func(bearer string) (int, http.Header, string) {
		return ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", bearer, "")
	}

	// Sign-up answers tokens; the very next request with them works,
	// whatever the read models' lag.
	reg := ts.tokens(t, "/api/auth/register", "shop", creds, http.StatusCreated)
	if reg.User.Email != "alice@example.com" || reg.User.Name != "Alice" || reg.User.Role != "customer" || reg.User.Status != "active" {
		t.Fatalf("register user: %+v", reg.User)
	}
	if code, _, raw := me(reg.AccessToken); code != http.StatusOK || !strings.Contains(raw, `"email":"alice@example.com"`) || !strings.Contains(raw, `"id":"`+reg.User.ID+`"`) {
		t.Fatalf("me after sign-up: %d %s", code, raw)
	}
	code, hdr, raw := ts.authCall(t, http.MethodPost, "/api/auth/register", "shop", "", creds)
	wantProblem(t, "register twice", code, hdr, raw, http.StatusConflict, "CONFLICT")

	// Sign-in, then me at once.
	login := ts.tokens(t, "/api/auth/login", "shop", `{"email":"alice@example.com","password":"correct horse battery"}`, http.StatusOK)
	if code, _, raw := me(login.AccessToken); code != http.StatusOK || !strings.Contains(raw, `"role":"customer"`) {
		t.Fatalf("me after sign-in: %d %s", code, raw)
	}
	code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/login", "shop", "", `{"email":"alice@example.com","password":"wrong password!"}`)
	wantProblem(t, "wrong password", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/login", "shop", "", `{"email":"nobody@example.com","password":"wrong password!"}`)
	wantProblem(t, "unknown email", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")

	// Strict bodies.
	for name, body := range map[string]string{
		"unknown field": `{"email":"alice@example.com","password":"correct horse battery","admin":true}`,
		"malformed":     `{"email":`,
		"two objects":   `{"email":"a@b.c","password":"x"}{}`,
		"wrong type":    `{"email":1,"password":"x"}`,
	} {
		code, hdr, raw := ts.authCall(t, http.MethodPost, "/api/auth/login", "shop", "", body)
		wantProblem(t, "login body "+name, code, hdr, raw, http.StatusBadRequest, "BAD_USER_INPUT")
	}
	code, _, raw = ts.rawRequest(t, http.MethodPost, "/api/auth/login", withTenant(http.Header{"Content-Type": {"text/plain"}}, "shop"), `{}`)
	if code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain login: %d %s", code, raw)
	}
	code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/login", "shop", "", `{"email":"`+strings.Repeat("a", 20<<10)+`"}`)
	wantProblem(t, "oversized body", code, hdr, raw, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT")

	// Refresh rotates; the replaced token within the grace gives the same
	// pair; a token two rotations old revokes the session, and then the
	// session's access and refresh tokens are dead.
	refresh := func(rt string) (int, http.Header, string) {
		return ts.authCall(t, http.MethodPost, "/api/auth/refresh", "shop", "", `{"refresh_token":"`+rt+`"}`)
	}
	r1 := ts.tokens(t, "/api/auth/refresh", "shop", `{"refresh_token":"`+login.RefreshToken+`"}`, http.StatusOK)
	if r1.RefreshToken == login.RefreshToken || r1.AccessToken == login.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	again := ts.tokens(t, "/api/auth/refresh", "shop", `{"refresh_token":"`+login.RefreshToken+`"}`, http.StatusOK)
	if again.RefreshToken != r1.RefreshToken {
		t.Fatal("refresh within the grace: not the same refresh token")
	}
	r2 := ts.tokens(t, "/api/auth/refresh", "shop", `{"refresh_token":"`+r1.RefreshToken+`"}`, http.StatusOK)
	if code, _, raw := me(r2.AccessToken); code != http.StatusOK {
		t.Fatalf("me after refresh: %d %s", code, raw)
	}
	code, hdr, raw = refresh(login.RefreshToken)
	wantProblem(t, "reused refresh token", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	eventually(t, "access token of the revoked session", func() bool {
		code, _, _ := me(r2.AccessToken)
		return code == http.StatusUnauthorized
	})
	code, hdr, raw = me(r2.AccessToken)
	wantProblem(t, "token of a revoked session", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	code, hdr, raw = refresh(r2.RefreshToken)
	wantProblem(t, "refresh token of a revoked session", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	code, hdr, raw = refresh("not-a-token")
	wantProblem(t, "malformed refresh token", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")

	// Sign-out ends the sign-up's session.
	code, _, raw = ts.authCall(t, http.MethodPost, "/api/auth/logout", "shop", reg.AccessToken, "")
	if code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", code, raw)
	}
	eventually(t, "access token after sign-out", func() bool {
		code, _, _ := me(reg.AccessToken)
		return code == http.StatusUnauthorized
	})
	code, hdr, raw = refresh(reg.RefreshToken)
	wantProblem(t, "refresh after sign-out", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/logout", "shop", "", "")
	wantProblem(t, "anonymous logout", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	code, hdr, raw = me("")
	wantProblem(t, "anonymous me", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")

	// Another tenant's token: 403 on this tenant, fine on its own.
	bob := ts.tokens(t, "/api/auth/register", "other", `{"email":"bob@example.com","password":"correct horse battery"}`, http.StatusCreated)
	code, hdr, raw = me(bob.AccessToken)
	wantProblem(t, "another tenant's token", code, hdr, raw, http.StatusForbidden, "FORBIDDEN")
	if code, _, raw := ts.authCall(t, http.MethodGet, "/api/auth/me", "other", bob.AccessToken, ""); code != http.StatusOK {
		t.Fatalf("bob on his tenant: %d %s", code, raw)
	}
	// The GraphQL endpoint checks tokens too.
	if code, _, raw := ts.graphql(t, http.Header{"X-Tenant-Id": {"shop"}, "Authorization": {"Bearer " + bob.AccessToken}}, `{ currentTenant { id } }`); code != http.StatusForbidden || !strings.Contains(raw, `"FORBIDDEN"`) {
		t.Errorf("graphql with another tenant's token: %d %s", code, raw)
	}
	if code, _, raw := ts.graphql(t, http.Header{"X-Tenant-Id": {"shop"}, "Authorization": {"Bearer nope"}}, `{ currentTenant { id } }`); code != http.StatusUnauthorized || !strings.Contains(raw, `"UNAUTHENTICATED"`) {
		t.Errorf("graphql with a bad token: %d %s", code, raw)
	}

	// A banned user's token dies with the ban.
	carol := ts.tokens(t, "/api/auth/register", "shop", `{"email":"carol@example.com","password":"correct horse battery"}`, http.StatusCreated)
	if code, _, raw := me(carol.AccessToken); code != http.StatusOK {
		t.Fatalf("carol: %d %s", code, raw)
	}
	ban(t, ts, shopID, carol.User.ID)
	code, hdr, raw = me(carol.AccessToken)
	wantProblem(t, "token of a banned user", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/login", "shop", "", `{"email":"carol@example.com","password":"correct horse battery"}`)
	wantProblem(t, "banned user's sign-in", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
	_ = otherID
}

// ban bans userID through the command handler and waits until the
// follower has applied it.
func ban(t *testing.T, ts *testServer, tenantID, userID string) {
	t.Helper()
	h := ts.s.identity.accounts.changeStatus
	admin, err := rbac.UserActor("00000000-0000-7000-8000-000000000001", rbac.RoleSuperAdmin)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(context.Background(), usercmd.ChangeStatus{TenantID: tenantID, Actor: admin, UserID: userID, Status: user.StatusBanned})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitFollowed(t, res.Position)
}

var b64 = base64.RawURLEncoding

// forge builds a compact JWS from header and claims, signed by sign (nil:
// an empty signature).
func forge(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

// parts decodes the header and claims of a compact JWS.
func parts(t *testing.T, jws string) (header, claims map[string]any) {
	t.Helper()
	seg := strings.Split(jws, ".")
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := b64.DecodeString(seg[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func hs256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func edSign(k ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(k, in) }
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// TestServeBadTokens sends refused tokens under HS256 and EdDSA, on each
// database: each is 401 UNAUTHENTICATED with the challenge, never
// anonymous, never 500; and checks the JWKS of each configuration.
func TestServeBadTokens(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"HS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				cfg := authConfig(dbURL)
				var key ed25519.PrivateKey
				if alg == "EdDSA" {
					cfg, key = edConfig(t, dbURL)
				}
				ts := startServer(t, cfg)
				_, pos := createTenant(t, ts.a, ts.h, "shop")
				ts.waitFollowed(t, pos)
				good := ts.tokens(t, "/api/auth/register", "shop", `{"email":"dave@example.com","password":"correct horse battery"}`, http.StatusCreated)
				header, claims := parts(t, good.AccessToken)
				var sign func([]byte) []byte
				if alg == "HS256" {
					sign = hs256([]byte(cfg.Auth.JWT.Secret))
				} else {
					sign = edSign(key)
				}
				// The forging works: a token signed here like the server's
				// is accepted.
				if code, _, raw := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", forge(t, header, claims, sign), ""); code != http.StatusOK {
					t.Fatalf("re-signed good token: %d %s", code, raw)
				}
				now := time.Now().Unix()
				_, stranger, _ := ed25519.GenerateKey(rand.Reader)
				cases := map[string]string{
					"alg none":       forge(t, with(header, "alg", "none"), claims, nil),
					"wrong kid":      forge(t, with(header, "kid", "not-a-key"), claims, sign),
					"no kid":         forge(t, with(header, "kid", nil), claims, sign),
					"missing exp":    forge(t, header, with(claims, "exp", nil), sign),
					"past exp":       forge(t, header, with(claims, "exp", now-3600, "iat", now-4000), sign),
					"wrong audience": forge(t, header, with(claims, "aud", "someone-else"), sign),
					"wrong issuer":   forge(t, header, with(claims, "iss", "someone-else"), sign),
					"bad signature":  good.AccessToken[:len(good.AccessToken)-4] + "AAAA",
					"unknown role":   forge(t, header, with(claims, "role", "root"), sign),
					"jku header":     forge(t, with(header, "jku", "https://evil.example/jwks"), claims, sign),
					"unknown sid":    forge(t, header, with(claims, "sid", "00000000-0000-7000-8000-00000000beef", "iat", now-120), sign),
					"garbage":        "abc",
					"huge":           strings.Repeat("a", 9<<10),
				}
				if alg == "EdDSA" {
					pub := key.Public().(ed25519.PublicKey)
					cases["HS256 under EdDSA"] = forge(t, with(header, "alg", "HS256"), claims, hs256(pub))
					cases["stranger's key"] = forge(t, header, claims, edSign(stranger))
				} else {
					cases["EdDSA under HS256"] = forge(t, with(header, "alg", "EdDSA"), claims, edSign(stranger))
					cases["other secret"] = forge(t, header, claims, hs256([]byte(strings.Repeat("x", 40))))
				}
				for name, tok := range cases {
					code, hdr, raw := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", tok, "")
					wantProblem(t, "token "+name, code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
					// Not anonymous either on a route that needs no one.
					code, hdr, raw = ts.authCall(t, http.MethodPost, "/api/auth/login", "shop", tok, `{"email":"dave@example.com","password":"correct horse battery"}`)
					wantProblem(t, "token "+name+" on login", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
				}
				for name, v := range map[string]string{"basic": "Basic ZGF2ZTpwdw==", "empty bearer": "Bearer ", "scheme only": "Bearer"} {
					code, hdr, raw := ts.rawRequest(t, http.MethodGet, "/api/auth/me", withTenant(http.Header{"Authorization": {v}}, "shop"), "")
					wantProblem(t, "token "+name, code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
				}

				code, hdr, raw := ts.rawRequest(t, http.MethodGet, "/.well-known/jwks.json", nil, "")
				if code != http.StatusOK || hdr.Get("Cache-Control") != "public, max-age=300" {
					t.Fatalf("jwks: %d %v %s", code, hdr, raw)
				}
				if alg == "HS256" {
					if strings.TrimSpace(raw) != `{"keys":[]}` {
						t.Errorf("jwks under HS256: %s", raw)
					}
					return
				}
				var set struct {
					Keys []map[string]any `json:"keys"`
				}
				if err := json.Unmarshal([]byte(raw), &set); err != nil || len(set.Keys) != 1 {
					t.Fatalf("jwks under EdDSA: %s", raw)
				}
				k := set.Keys[0]
				if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["kid"] != header["kid"] || k["use"] != "sig" || k["alg"] != "EdDSA" || k["d"] != nil ||
					k["x"] != b64.EncodeToString(key.Public().(ed25519.PublicKey)) {
					t.Errorf("jwks key: %v", k)
				}
			})
		})
	}
}

// TestServeAuthLimits: registration switched off is 403; the auth budget
// (settings.rustok.rate_limit.auth_*: 10 a minute, burst 5 by default)
// refuses the sixth sign-in from one client at once with 429, and refused
// tokens count against it too; on each database.
func TestServeAuthLimits(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := authConfig(dbURL)
		cfg.Settings.Rustok.Features.RegistrationEnabled = false
		def := config.Default().Settings.Rustok.RateLimit
		cfg.Settings.Rustok.RateLimit = def
		cfg.Settings.Rustok.RateLimit.TrustedProxies = []string{"127.0.0.1"}
		ts := startServer(t, cfg)
		_, pos := createTenant(t, ts.a, ts.h, "shop")
		ts.waitFollowed(t, pos)
		from := func(ip string) http.Header {
			return withTenant(http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {ip}}, "shop")
		}

		code, hdr, raw := ts.rawRequest(t, http.MethodPost, "/api/auth/register", from("198.51.100.1"), `{"email":"eve@example.com","password":"correct horse battery"}`)
		wantProblem(t, "registration disabled", code, hdr, raw, http.StatusForbidden, "FORBIDDEN")

		burst := def.AuthBurst
		body := `{"email":"eve@example.com","password":"wrong password!"}`
		for i := range burst {
			code, hdr, raw := ts.rawRequest(t, http.MethodPost, "/api/auth/login", from("198.51.100.2"), body)
			wantProblem(t, "login attempt", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
			_ = i
		}
		code, hdr, raw = ts.rawRequest(t, http.MethodPost, "/api/auth/login", from("198.51.100.2"), body)
		wantProblem(t, "login over the auth budget", code, hdr, raw, http.StatusTooManyRequests, "RATE_LIMITED")
		if hdr.Get("Retry-After") == "" || hdr.Get("X-RateLimit-Limit") == "" {
			t.Errorf("429 headers: %v", hdr)
		}
		// Another client is unaffected.
		code, hdr, raw = ts.rawRequest(t, http.MethodPost, "/api/auth/login", from("198.51.100.3"), body)
		wantProblem(t, "another client", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")

		// Refused tokens spend the same budget.
		bad := from("198.51.100.4")
		bad.Set("Authorization", "Bearer nope")
		for range burst {
			code, hdr, raw := ts.rawRequest(t, http.MethodGet, "/api/auth/me", bad, "")
			wantProblem(t, "token bad", code, hdr, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
		}
		code, hdr, raw = ts.rawRequest(t, http.MethodGet, "/api/auth/me", bad, "")
		wantProblem(t, "bad tokens over the auth budget", code, hdr, raw, http.StatusTooManyRequests, "RATE_LIMITED")
		code, hdr, raw = ts.rawRequest(t, http.MethodPost, "/api/auth/login", from("198.51.100.4"), body)
		wantProblem(t, "login after bad tokens", code, hdr, raw, http.StatusTooManyRequests, "RATE_LIMITED")
	})
}
