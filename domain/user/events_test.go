package user_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/rustok/rustok/domain/user"
)

// history runs every decision once through the public API and returns the
// user and all its events.
func history(tb testing.TB) (*user.User, []user.Event) {
	tb.Helper()
	u, all, err := user.Register(withDefaults(user.Registration{Name: "Alice"}), registeredAt)
	if err != nil {
		tb.Fatal(err)
	}
	steps := []func() ([]user.Event, error){
		func() ([]user.Event, error) { return u.Rename("Alice B", at) },
		func() ([]user.Event, error) { return u.VerifyEmail(at) },
		func() ([]user.Event, error) { return u.ChangeRole(user.RoleManager, at) },
		func() ([]user.Event, error) { return u.ChangeStatus(user.StatusInactive, at) },
		func() ([]user.Event, error) { return u.ChangeStatus(user.StatusActive, at) },
		func() ([]user.Event, error) { return u.RequestPasswordReset("tok", at.Add(time.Hour), at) },
		func() ([]user.Event, error) { return u.ResetPassword("tok", newHash, at) },
		func() ([]user.Event, error) { return u.ChangePassword(hash, at) },
		func() ([]user.Event, error) { return u.ChangeEmail("alice@new.example", at) },
		func() ([]user.Event, error) { return u.Delete(at) },
	}
	for i, step := range steps {
		events, err := step()
		if err != nil || len(events) != 1 {
			tb.Fatalf("step %d: %v, %v", i, events, err)
		}
		all = append(all, events...)
	}
	return u, all
}

func TestEventsRoundTripThroughJSON(t *testing.T) {
	live, events := history(t)
	seen := map[string]bool{}
	var decoded []user.Event
	for _, e := range events {
		payload, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		d, err := user.Decode(e.EventType(), e.SchemaVersion(), payload)
		if err != nil {
			t.Fatalf("Decode(%s, %s) = %v", e.EventType(), payload, err)
		}
		if !reflect.DeepEqual(d, e) {
			t.Errorf("Decode gives %#v\nwant        %#v", d, e)
		}
		decoded = append(decoded, d)
		seen[e.EventType()] = true
	}
	for _, typ := range user.EventTypes() {
		if !seen[typ] {
			t.Errorf("history lacks %s", typ)
		}
	}
	loaded, err := user.Load(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(loaded), snapshot(live); !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %+v\nlive   %+v", got, want)
	}
}

func TestEventPayloadsUseSnakeCase(t *testing.T) {
	_, events := history(t)
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, e := range events {
		payload, _ := json.Marshal(e)
		var fields map[string]any
		if err := json.Unmarshal(payload, &fields); err != nil {
			t.Fatal(err)
		}
		for k := range fields {
			if !snake.MatchString(k) {
				t.Errorf("%s has field %q", e.EventType(), k)
			}
		}
	}
}

func TestDecodeRefusesUnknownEvents(t *testing.T) {
	if _, err := user.Decode("user.exploded", 1, []byte(`{}`)); !errors.Is(err, user.ErrUnknownEvent) {
		t.Errorf("unknown type = %v", err)
	}
	if _, err := user.Decode(user.TypeDeleted, 2, []byte(`{}`)); !errors.Is(err, user.ErrUnknownEvent) {
		t.Errorf("unknown version = %v", err)
	}
	if _, err := user.Decode(user.TypeDeleted, 1, []byte(`{`)); err == nil || errors.Is(err, user.ErrUnknownEvent) {
		t.Errorf("bad JSON = %v", err)
	}
}

func TestRedactRemovesSecrets(t *testing.T) {
	_, events := history(t)
	for _, e := range events {
		r := user.Redact(e)
		if r.EventType() != e.EventType() {
			t.Fatalf("Redact changed the type of %s", e.EventType())
		}
		payload, _ := json.Marshal(r)
		var fields map[string]any
		_ = json.Unmarshal(payload, &fields)
		for _, secret := range []string{"password_hash", "token_hash"} {
			if v, ok := fields[secret]; ok && v != "" {
				t.Errorf("Redact(%s) keeps %s = %v", e.EventType(), secret, v)
			}
		}
	}
	if e := (user.RoleChanged{UserID: userID, Role: user.RoleAdmin}); user.Redact(e) != e {
		t.Errorf("Redact changed an event without secrets")
	}
}
