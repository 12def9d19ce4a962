package apikey_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/rbac"
)

const (
	keyID    = "01900000-0000-7000-8000-0000000000a7"
	otherID  = "01900000-0000-7000-8000-0000000000ff"
	tenantID = "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"
	userID   = "01900000-0000-7000-8000-0000000000a1"
	prefix   = "rtk_abcdEFGH"
)

var (
	createdAt = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	hash      = strings.Repeat("ab", 32)
)

func ptr(t time.Time) *time.Time { return &t }

func spec() apikey.Spec {
	return apikey.Spec{
		ID: keyID, TenantID: tenantID, CreatedBy: userID, Name: "CI deploy",
		Permissions: []string{"products:read"}, Prefix: prefix, SecretHash: hash,
	}
}

func created() apikey.Created {
	return apikey.Created{
		KeyID: keyID, TenantID: tenantID, Name: "CI deploy", Prefix: prefix, SecretHash: hash,
		Permissions: []string{"products:read"}, CreatedBy: userID, At: createdAt,
	}
}

func mustLoad(tb testing.TB, history ...apikey.Event) *apikey.APIKey {
	tb.Helper()
	k, err := apikey.Load(history)
	if err != nil {
		tb.Fatalf("Load = %v", err)
	}
	return k
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*apikey.Spec)
		at        time.Time
		wantEvent func(*apikey.Created)
		wantErr   error
		wantCode  domain.Code
	}{
		{name: "a valid key", wantEvent: func(*apikey.Created) {}},
		{
			name:   "the name is trimmed",
			change: func(s *apikey.Spec) { s.Name = "  CI deploy \t" }, wantEvent: func(*apikey.Created) {},
		},
		{
			name:      "a name of 100 characters",
			change:    func(s *apikey.Spec) { s.Name = strings.Repeat("é", 100) },
			wantEvent: func(c *apikey.Created) { c.Name = strings.Repeat("é", 100) },
		},
		{name: "an empty name", change: func(s *apikey.Spec) { s.Name = "" }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "a blank name", change: func(s *apikey.Spec) { s.Name = " \t\n " }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "a name of 101 characters", change: func(s *apikey.Spec) { s.Name = strings.Repeat("a", 101) }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "a huge name", change: func(s *apikey.Spec) { s.Name = strings.Repeat("a", 1<<20) }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "a name with a control character", change: func(s *apikey.Spec) { s.Name = "CI\x00deploy" }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "a name with a new line inside", change: func(s *apikey.Spec) { s.Name = "CI\ndeploy" }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "a name that is not UTF-8", change: func(s *apikey.Spec) { s.Name = "CI \xff" }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
		{
			name: "permissions are parsed, deduplicated and sorted",
			change: func(s *apikey.Spec) {
				s.Permissions = []string{" Products:Read ", "orders:list", "products:read", "events:read"}
			},
			wantEvent: func(c *apikey.Created) {
				c.Permissions = []string{"events:read", "orders:list", "products:read"}
			},
		},
		{
			name:      "100 permissions, duplicates included",
			change:    func(s *apikey.Spec) { s.Permissions = repeat("orders:read", 100) },
			wantEvent: func(c *apikey.Created) { c.Permissions = []string{"orders:read"} },
		},
		{name: "no permissions", change: func(s *apikey.Spec) { s.Permissions = nil }, wantErr: apikey.ErrNoPermissions, wantCode: domain.CodeBadInput},
		{name: "an empty list of permissions", change: func(s *apikey.Spec) { s.Permissions = []string{} }, wantErr: apikey.ErrNoPermissions, wantCode: domain.CodeBadInput},
		{name: "101 permissions", change: func(s *apikey.Spec) { s.Permissions = repeat("orders:read", 101) }, wantErr: apikey.ErrTooManyPermissions, wantCode: domain.CodeBadInput},
		{name: "an unknown resource", change: func(s *apikey.Spec) { s.Permissions = []string{"products:read", "rockets:read"} }, wantErr: rbac.ErrInvalidPermission, wantCode: domain.CodeBadInput},
		{name: "an unknown action", change: func(s *apikey.Spec) { s.Permissions = []string{"products:launch"} }, wantErr: rbac.ErrInvalidPermission, wantCode: domain.CodeBadInput},
		{name: "a permission without action", change: func(s *apikey.Spec) { s.Permissions = []string{"products"} }, wantErr: rbac.ErrInvalidPermission, wantCode: domain.CodeBadInput},
		{
			name: "an expiry in the future, kept in UTC to the microsecond",
			change: func(s *apikey.Spec) {
				s.ExpiresAt = ptr(createdAt.Add(time.Hour + 1234*time.Nanosecond).In(time.FixedZone("X", 7200)))
			},
			wantEvent: func(c *apikey.Created) { c.ExpiresAt = ptr(createdAt.Add(time.Hour + time.Microsecond)) },
		},
		{
			name:      "an expiry of exactly the maximum lifetime",
			change:    func(s *apikey.Spec) { s.ExpiresAt = ptr(createdAt.Add(apikey.MaxLifetime)) },
			wantEvent: func(c *apikey.Created) { c.ExpiresAt = ptr(createdAt.Add(apikey.MaxLifetime)) },
		},
		{name: "an expiry at the creation", change: func(s *apikey.Spec) { s.ExpiresAt = ptr(createdAt) }, wantErr: apikey.ErrExpiryNotInFuture, wantCode: domain.CodeBadInput},
		{name: "an expiry in the past", change: func(s *apikey.Spec) { s.ExpiresAt = ptr(createdAt.Add(-time.Hour)) }, wantErr: apikey.ErrExpiryNotInFuture, wantCode: domain.CodeBadInput},
		{name: "an expiry within the microsecond of the creation", change: func(s *apikey.Spec) { s.ExpiresAt = ptr(createdAt.Add(999)) }, wantErr: apikey.ErrExpiryNotInFuture, wantCode: domain.CodeBadInput},
		{name: "an expiry more than 5 years ahead", change: func(s *apikey.Spec) { s.ExpiresAt = ptr(createdAt.Add(apikey.MaxLifetime + time.Second)) }, wantErr: apikey.ErrExpiryTooFar, wantCode: domain.CodeBadInput},
		{name: "a bad key id", change: func(s *apikey.Spec) { s.ID = "key" }, wantErr: apikey.ErrInvalidInput, wantCode: domain.CodeInternal},
		{name: "an upper-case tenant id", change: func(s *apikey.Spec) { s.TenantID = strings.ToUpper(tenantID) }, wantErr: apikey.ErrInvalidInput, wantCode: domain.CodeInternal},
		{name: "no creator", change: func(s *apikey.Spec) { s.CreatedBy = "" }, wantErr: apikey.ErrInvalidInput, wantCode: domain.CodeInternal},
		{name: "a bad prefix", change: func(s *apikey.Spec) { s.Prefix = "key_abcdEFGH" }, wantErr: apikey.ErrInvalidInput, wantCode: domain.CodeInternal},
		{name: "a bad hash", change: func(s *apikey.Spec) { s.SecretHash = "sha256:" + hash }, wantErr: apikey.ErrInvalidInput, wantCode: domain.CodeInternal},
		{name: "the name is checked before the permissions", change: func(s *apikey.Spec) { s.Name, s.Permissions = "", nil }, wantErr: apikey.ErrInvalidName, wantCode: domain.CodeBadInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spec()
			if tc.change != nil {
				tc.change(&s)
			}
			k, events, err := apikey.Create(s, createdAt)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || domain.CodeOf(err) != tc.wantCode || k != nil || events != nil {
					t.Fatalf("Create = %v, %v, %v; want %v (%s)", k, events, err, tc.wantErr, tc.wantCode)
				}
				return
			}
			want := created()
			tc.wantEvent(&want)
			if err != nil || !reflect.DeepEqual(events, []apikey.Event{want}) {
				t.Fatalf("Create = %#v, %v\nwant     %#v", events, err, want)
			}
			loaded := mustLoad(t, events...)
			if !reflect.DeepEqual(loaded, k) {
				t.Errorf("live state %+v\nloaded     %+v", k, loaded)
			}
			if k.ID() != keyID || k.TenantID() != tenantID || k.CreatedBy() != userID || k.Name() != want.Name ||
				k.Prefix() != prefix || k.SecretHash() != hash || k.CreatedAt() != createdAt || k.Version() != 1 {
				t.Errorf("state after Create: %+v", k)
			}
			var perms []string
			for _, p := range k.Permissions() {
				perms = append(perms, p.String())
			}
			if !reflect.DeepEqual(perms, want.Permissions) {
				t.Errorf("Permissions = %v, want %v", perms, want.Permissions)
			}
			exp, ok := k.ExpiresAt()
			if (want.ExpiresAt != nil) != ok || ok && !exp.Equal(*want.ExpiresAt) {
				t.Errorf("ExpiresAt = %v, %v", exp, ok)
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestCheckActive(t *testing.T) {
	expiring := created()
	expiring.ExpiresAt = ptr(createdAt.Add(time.Hour))
	revoked := apikey.Revoked{KeyID: keyID, RevokedBy: userID, At: createdAt.Add(time.Minute)}
	tests := []struct {
		name    string
		history []apikey.Event
		at      time.Time
		want    error
	}{
		{name: "a key without expiry is active for ever", history: []apikey.Event{created()}, at: createdAt.AddDate(50, 0, 0)},
		{name: "active before its expiry", history: []apikey.Event{expiring}, at: createdAt.Add(time.Hour - time.Nanosecond)},
		{name: "expired at its expiry", history: []apikey.Event{expiring}, at: createdAt.Add(time.Hour), want: apikey.ErrExpired},
		{name: "a revoked key", history: []apikey.Event{created(), revoked}, at: createdAt, want: apikey.ErrRevoked},
		{name: "revoked wins over expired", history: []apikey.Event{expiring, revoked}, at: createdAt.Add(2 * time.Hour), want: apikey.ErrRevoked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustLoad(t, tc.history...).CheckActive(tc.at)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckActive = %v, want %v", err, tc.want)
			}
			if err != nil && domain.CodeOf(err) != domain.CodeUnauthenticated {
				t.Errorf("code = %s", domain.CodeOf(err))
			}
		})
	}
	var zero apikey.APIKey
	if err := zero.CheckActive(createdAt); !errors.Is(err, apikey.ErrInvalidHistory) {
		t.Errorf("zero key CheckActive = %v", err)
	}
}

func TestRevoke(t *testing.T) {
	t1 := createdAt.Add(time.Hour)
	t.Run("revokes once, then is a no-op", func(t *testing.T) {
		k := mustLoad(t, created())
		events, err := k.Revoke(otherID, t1.In(time.FixedZone("X", 3600)))
		want := []apikey.Event{apikey.Revoked{KeyID: keyID, RevokedBy: otherID, At: t1}}
		if err != nil || !reflect.DeepEqual(events, want) {
			t.Fatalf("Revoke = %#v, %v", events, err)
		}
		if at, by, ok := k.Revoked(); !ok || by != otherID || at != t1 || k.Version() != 2 {
			t.Errorf("Revoked = %v, %v, %v; version %d", at, by, ok, k.Version())
		}
		if loaded := mustLoad(t, created(), want[0]); !reflect.DeepEqual(loaded, k) {
			t.Errorf("live state %+v\nloaded     %+v", k, loaded)
		}
		again, err := k.Revoke(userID, t1.Add(time.Hour))
		if err != nil || again != nil || k.Version() != 2 {
			t.Errorf("revoking again = %v, %v; want a no-op", again, err)
		}
	})
	t.Run("an expired key can be revoked", func(t *testing.T) {
		c := created()
		c.ExpiresAt = ptr(createdAt.Add(time.Minute))
		k := mustLoad(t, c)
		if events, err := k.Revoke(userID, t1); err != nil || len(events) != 1 {
			t.Errorf("Revoke = %v, %v", events, err)
		}
	})
	t.Run("a bad user id is an internal error", func(t *testing.T) {
		k := mustLoad(t, created())
		if _, err := k.Revoke("admin", t1); !errors.Is(err, apikey.ErrInvalidInput) || domain.CodeOf(err) != domain.CodeInternal {
			t.Errorf("Revoke = %v", err)
		}
		if _, _, ok := k.Revoked(); ok {
			t.Errorf("a refused revoke revoked")
		}
	})
	t.Run("zero key", func(t *testing.T) {
		var k apikey.APIKey
		if _, err := k.Revoke(userID, t1); !errors.Is(err, apikey.ErrInvalidHistory) {
			t.Errorf("Revoke = %v", err)
		}
	})
}

func TestLoadRefusesIncoherentHistories(t *testing.T) {
	revoked := apikey.Revoked{KeyID: keyID, RevokedBy: userID, At: createdAt}
	badPerms := created()
	badPerms.Permissions = []string{"rockets:launch"}
	for name, tc := range map[string]struct {
		history []apikey.Event
		want    error
	}{
		"empty":                     {nil, apikey.ErrInvalidHistory},
		"not starting with created": {[]apikey.Event{revoked}, apikey.ErrInvalidHistory},
		"created twice":             {[]apikey.Event{created(), created()}, apikey.ErrInvalidHistory},
		"another key's event":       {[]apikey.Event{created(), apikey.Revoked{KeyID: otherID, RevokedBy: userID}}, apikey.ErrInvalidHistory},
		"revoked twice":             {[]apikey.Event{created(), revoked, revoked}, apikey.ErrInvalidHistory},
		"nil event":                 {[]apikey.Event{created(), nil}, apikey.ErrUnknownEvent},
		"pointer event":             {[]apikey.Event{created(), &revoked}, apikey.ErrUnknownEvent},
		"stored permission unknown": {[]apikey.Event{badPerms}, apikey.ErrUnknownEvent},
	} {
		t.Run(name, func(t *testing.T) {
			k, err := apikey.Load(tc.history)
			if !errors.Is(err, tc.want) || k != nil || domain.CodeOf(err) != domain.CodeInternal {
				t.Errorf("Load = %v, %v; want internal %v", k, err, tc.want)
			}
		})
	}
}

func TestEventsRoundTripAndRedact(t *testing.T) {
	withExpiry := created()
	withExpiry.ExpiresAt = ptr(createdAt.Add(24 * time.Hour))
	events := []apikey.Event{withExpiry, apikey.Revoked{KeyID: keyID, RevokedBy: otherID, At: createdAt.Add(time.Hour)}}
	seen := map[string]bool{}
	var decoded []apikey.Event
	for _, e := range events {
		payload, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		d, err := apikey.Decode(e.EventType(), e.SchemaVersion(), payload)
		if err != nil || !reflect.DeepEqual(d, e) {
			t.Fatalf("Decode(%s) = %#v, %v", payload, d, err)
		}
		decoded = append(decoded, d)
		seen[e.EventType()] = true
		var fields map[string]any
		_ = json.Unmarshal(payload, &fields)
		for k := range fields {
			if strings.ToLower(k) != k || strings.ContainsAny(k, " -") {
				t.Errorf("%s has field %q", e.EventType(), k)
			}
		}
		redacted, _ := json.Marshal(apikey.Redact(e))
		if strings.Contains(string(redacted), hash) {
			t.Errorf("Redact(%s) keeps the secret hash: %s", e.EventType(), redacted)
		}
	}
	for _, typ := range apikey.EventTypes() {
		if !seen[typ] {
			t.Errorf("round trip lacks %s", typ)
		}
	}
	if _, err := apikey.Load(decoded); err != nil {
		t.Errorf("Load(decoded) = %v", err)
	}
	// Without an expiry, the payload has no expires_at, and decodes to nil.
	payload, _ := json.Marshal(created())
	if strings.Contains(string(payload), "expires_at") {
		t.Errorf("payload without expiry: %s", payload)
	}
	if d, err := apikey.Decode(apikey.TypeCreated, 1, payload); err != nil || d.(apikey.Created).ExpiresAt != nil {
		t.Errorf("Decode = %#v, %v", d, err)
	}
	if _, err := apikey.Decode("api_key.rotated", 1, nil); !errors.Is(err, apikey.ErrUnknownEvent) {
		t.Errorf("unknown type = %v", err)
	}
	if _, err := apikey.Decode(apikey.TypeCreated, 2, []byte(`{}`)); !errors.Is(err, apikey.ErrUnknownEvent) {
		t.Errorf("unknown schema version = %v", err)
	}
	if _, err := apikey.Decode(apikey.TypeRevoked, 0, []byte(`{}`)); !errors.Is(err, apikey.ErrUnknownEvent) {
		t.Errorf("schema version 0 = %v", err)
	}
	if _, err := apikey.Decode(apikey.TypeRevoked, 1, []byte(`[`)); err == nil {
		t.Errorf("bad JSON decoded")
	}
}
