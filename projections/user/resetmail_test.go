package user_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	userproj "github.com/rustok/rustok/projections/user"
)

// memStream is one user's history for the reactor, built through the
// domain's decisions; it implements userproj.StreamLoader.
type memStream struct {
	tenant string
	u      *user.User
	events []eventstore.Event
}

func newMemStream(t *testing.T, at time.Time) *memStream {
	t.Helper()
	s := &memStream{tenant: uuid.NewString()}
	u, evs, err := user.Register(user.Registration{ID: uuid.NewString(), TenantID: s.tenant, Email: "Ann@Example.com", Name: "Ann <b>", PasswordHash: "h"}, at)
	if err != nil {
		t.Fatal(err)
	}
	s.u = u
	s.add(t, evs, nil)
	return s
}

func (s *memStream) add(t *testing.T, evs []user.Event, err error) eventstore.Event {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		payload, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		s.events = append(s.events, eventstore.Event{
			ID: uuid.NewString(), Stream: eventstore.Stream{Type: user.StreamType, ID: s.u.ID(), TenantID: s.tenant},
			Version: int64(len(s.events) + 1), Type: e.EventType(), SchemaVersion: e.SchemaVersion(), Payload: payload,
			Position: int64(len(s.events) + 1),
		})
	}
	return s.events[len(s.events)-1]
}

func (s *memStream) Load(_ context.Context, streamType, id string) ([]eventstore.Event, error) {
	if streamType != user.StreamType || id != s.u.ID() {
		return nil, nil
	}
	return s.events, nil
}

// request records a reset request made at `at` with the token the command
// side derives.
func (s *memStream) request(t *testing.T, key []byte, at time.Time) eventstore.Event {
	t.Helper()
	hash := user.ResetTokenHash(user.ResetSecret(key, s.tenant, s.u.ID(), at))
	evs, err := s.u.RequestPasswordReset(hash, at.Add(user.DefaultResetTokenTTL), at)
	return s.add(t, evs, err)
}

type sentMails struct {
	mu   sync.Mutex
	sent []userproj.ResetMail
	fail error
}

func (m *sentMails) SendPasswordReset(_ context.Context, r userproj.ResetMail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.sent = append(m.sent, r)
	return nil
}

func TestResetMailReactor(t *testing.T) {
	key := []byte(strings.Repeat("r", 32))
	at := time.Date(2026, 12, 6, 10, 0, 0, 987654321, time.UTC)
	base, _ := url.Parse("https://shop.example.com/reset?lang=en")
	build := func(s *memStream, m *sentMails, now time.Time, k []byte) relay.Handler {
		c := userproj.ResetMailReactor(userproj.ResetMailDeps{Mailer: m, Users: s, ResetKey: k, BaseURL: base, Now: func() time.Time { return now }})
		if c.Kind != relay.KindReactor || c.Name != userproj.ResetMailName || len(c.Tables) != 0 {
			t.Fatalf("consumer %+v: want a reactor without tables", c)
		}
		return c.Handlers[user.TypePasswordResetRequested]
	}
	ctx := context.Background()

	t.Run("mails a working link once per event id", func(t *testing.T) {
		s, m := newMemStream(t, at), &sentMails{}
		ev := s.request(t, key, at)
		h := build(s, m, at.Add(time.Minute), key)
		if err := h(ctx, nil, ev); err != nil {
			t.Fatal(err)
		}
		if len(m.sent) != 1 {
			t.Fatalf("sent %d messages, want 1", len(m.sent))
		}
		got := m.sent[0]
		if got.ID != "reset-"+ev.ID || got.To != "ann@example.com" || got.Name != "Ann <b>" || got.TenantID != s.tenant || !got.ExpiresAt.Equal(at.Add(user.DefaultResetTokenTTL)) {
			t.Errorf("message %+v", got)
		}
		link, err := url.Parse(got.Link)
		if err != nil || link.Host != "shop.example.com" || link.Path != "/reset" || link.Query().Get("lang") != "en" {
			t.Fatalf("link %q: %v", got.Link, err)
		}
		id, secret, err := user.ParseResetToken(link.Query().Get("token"))
		if err != nil || id != s.u.ID() {
			t.Fatalf("token of %q: %v", got.Link, err)
		}
		if _, err := s.u.ResetPassword(user.ResetTokenHash(secret), "new hash", at.Add(2*time.Minute)); err != nil {
			t.Errorf("the mailed token does not reset the password: %v", err)
		}
		// Redelivery (a crash before the checkpoint) sends the same ID.
		if err := build(s, m, at.Add(time.Minute), key)(ctx, nil, ev); err != nil {
			t.Fatal(err)
		}
		if len(m.sent) != 2 || m.sent[1] != got {
			t.Errorf("redelivery sent %+v, want the same message again", m.sent[1:])
		}
	})

	t.Run("sends nothing for a request that cannot be used", func(t *testing.T) {
		cases := map[string]func(t *testing.T) (relay.Handler, eventstore.Event, *sentMails){
			"expired": func(t *testing.T) (relay.Handler, eventstore.Event, *sentMails) {
				s, m := newMemStream(t, at), &sentMails{}
				ev := s.request(t, key, at)
				return build(s, m, at.Add(user.DefaultResetTokenTTL), key), ev, m
			},
			"superseded": func(t *testing.T) (relay.Handler, eventstore.Event, *sentMails) {
				s, m := newMemStream(t, at), &sentMails{}
				ev := s.request(t, key, at)
				s.request(t, key, at.Add(time.Second))
				return build(s, m, at.Add(time.Minute), key), ev, m
			},
			"banned since": func(t *testing.T) (relay.Handler, eventstore.Event, *sentMails) {
				s, m := newMemStream(t, at), &sentMails{}
				ev := s.request(t, key, at)
				evs, err := s.u.ChangeStatus(user.StatusBanned, at.Add(time.Second))
				s.add(t, evs, err)
				return build(s, m, at.Add(time.Minute), key), ev, m
			},
			"deleted since": func(t *testing.T) (relay.Handler, eventstore.Event, *sentMails) {
				s, m := newMemStream(t, at), &sentMails{}
				ev := s.request(t, key, at)
				evs, err := s.u.Delete(at.Add(time.Second))
				s.add(t, evs, err)
				return build(s, m, at.Add(time.Minute), key), ev, m
			},
			"key rotated": func(t *testing.T) (relay.Handler, eventstore.Event, *sentMails) {
				s, m := newMemStream(t, at), &sentMails{}
				ev := s.request(t, key, at)
				return build(s, m, at.Add(time.Minute), []byte(strings.Repeat("z", 32))), ev, m
			},
		}
		for name, setup := range cases {
			t.Run(name, func(t *testing.T) {
				h, ev, m := setup(t)
				if err := h(ctx, nil, ev); err != nil {
					t.Fatalf("error %v, want a skip", err)
				}
				if len(m.sent) != 0 {
					t.Errorf("sent %+v", m.sent)
				}
			})
		}
	})

	t.Run("a failed send is retried by the relay", func(t *testing.T) {
		s, m := newMemStream(t, at), &sentMails{fail: errors.New("smtp down")}
		ev := s.request(t, key, at)
		if err := build(s, m, at.Add(time.Minute), key)(ctx, nil, ev); !errors.Is(err, m.fail) {
			t.Fatalf("error %v, want the mailer's", err)
		}
	})
}
