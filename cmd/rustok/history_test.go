package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
)

// TestRedactEvent: what history and `events tail` show of the identity
// events holds no password, refresh token, reset token or API key hash;
// other events pass unchanged; an undecodable identity event is an error,
// never shown raw.
func TestRedactEvent(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	const secret = "SECRET-HASH-0123456789"
	cases := []struct {
		stream string
		e      interface {
			EventType() string
			SchemaVersion() int
		}
	}{
		{user.StreamType, user.Registered{UserID: "u", TenantID: "t", Email: "a@example.com", PasswordHash: secret, Role: user.RoleCustomer, Status: user.StatusActive, At: at}},
		{user.StreamType, user.PasswordChanged{UserID: "u", PasswordHash: secret, Reason: user.ReasonReset, At: at}},
		{user.StreamType, user.PasswordResetRequested{UserID: "u", TokenHash: secret, ExpiresAt: at, At: at}},
		{session.StreamType, session.Started{SessionID: "s", TenantID: "t", UserID: "u", TokenHash: secret, ExpiresAt: at, At: at}},
		{apikey.StreamType, apikey.Created{KeyID: "k", TenantID: "t", Name: "n", Prefix: "rtk_abcdefgh", SecretHash: secret, Permissions: []string{"users:read"}, CreatedBy: "u", At: at}},
	}
	for _, c := range cases {
		payload, err := json.Marshal(c.e)
		if err != nil {
			t.Fatal(err)
		}
		out, err := redactEvent(eventstore.Event{Stream: eventstore.Stream{Type: c.stream}, Type: c.e.EventType(), SchemaVersion: c.e.SchemaVersion(), Payload: payload})
		if err != nil {
			t.Fatalf("%s: %v", c.e.EventType(), err)
		}
		if strings.Contains(string(out), secret) || !json.Valid(out) {
			t.Errorf("%s shows %s", c.e.EventType(), out)
		}
	}
	other := json.RawMessage(`{"name":"Shop","password_hash":"not ours to judge"}`)
	if out, err := redactEvent(eventstore.Event{Stream: eventstore.Stream{Type: "tenant"}, Type: "tenant.updated", SchemaVersion: 1, Payload: other}); err != nil || string(out) != string(other) {
		t.Errorf("another module's event: %s, %v", out, err)
	}
	if out, err := redactEvent(eventstore.Event{Stream: eventstore.Stream{Type: user.StreamType}, Type: "user.unknown", SchemaVersion: 1, Payload: json.RawMessage(`{"password_hash":"` + secret + `"}`)}); err == nil || strings.Contains(string(out), secret) {
		t.Errorf("an unknown user event: %s, %v; want an error and nothing shown", out, err)
	}
}
