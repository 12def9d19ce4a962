package user

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
)

// ResetMailName is the consumer group of the password reset mail reactor.
//
// WARNING: renaming it starts the reactor over from position 0 under the
// new name, which would mail every reset link again (those not expired).
const ResetMailName = "mail.password_reset"

// ResetMail is one password reset message to send.
type ResetMail struct {
	// ID is stable for the event it answers ("reset-" + the event id):
	// a mailer uses it as the Message-ID, and the file driver writes one
	// file per ID, so a redelivered event does not make a second message.
	ID string
	// To and Name are the user's address and name.
	To, Name string
	// TenantID is the user's tenant.
	TenantID string
	// Link is the reset page's URL with the token.
	Link string
	// ExpiresAt is the token's expiry.
	ExpiresAt time.Time
}

// ResetMailer sends a reset message; the composition root adapts
// platform/mail to it. An error makes the relay deliver the event again
// (and dead-letter it after settings.rustok.events.dead_letter_after).
type ResetMailer interface {
	SendPasswordReset(ctx context.Context, m ResetMail) error
}

// StreamLoader loads a stream's events; *eventstore.Store implements it.
type StreamLoader interface {
	Load(ctx context.Context, streamType, streamID string) ([]eventstore.Event, error)
}

// ResetMailDeps are what the reactor needs.
type ResetMailDeps struct {
	// Mailer sends the messages.
	Mailer ResetMailer
	// Users loads the user's stream: the reactor reads the address from
	// the log, not from the users read model, which may lag behind.
	Users StreamLoader
	// ResetKey is the key the command side derived the token from
	// (commands/user Deps.ResetKey).
	ResetKey []byte
	// BaseURL is settings.rustok.email.reset_base_url; the token is added
	// as its query parameter "token".
	BaseURL *url.URL
	// Now is the clock; Logger gets a line for every skipped request.
	Now    func() time.Time
	Logger *slog.Logger
}

// ResetMailReactor returns the reactor that mails the link of every
// user.password_reset_requested event: a relay consumer of kind reactor,
// which `rustok projections replay` refuses, so that a replay sends
// nothing. It derives the token from the event (user.ResetSecret) and
// checks it against the event's hash, then sends the link to the user's
// current address.
//
// It sends nothing — and logs why — when the token has expired by the time
// the event is handled, when the user is no longer active (deleted, banned,
// inactive: the reset would be refused anyway), when a newer request
// superseded this one (its link would not work), or when the key changed
// since the request (the derived token would not match: the user asks
// again).
//
// Delivery is at least once per event: the relay commits its checkpoint
// after the handler returns, so a crash between the send and the commit
// sends again — with the same ResetMail.ID, which the file driver turns
// into exactly one message and an SMTP server receives as the same
// Message-ID (docs/adr/0029).
//
// It panics if d lacks Mailer, Users, BaseURL or Now, or its key is short.
func ResetMailReactor(d ResetMailDeps) relay.Consumer {
	if d.Mailer == nil || d.Users == nil || d.BaseURL == nil || d.Now == nil || len(d.ResetKey) < user.MinResetKeyLength {
		panic("userproj.ResetMailReactor: missing dependency")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return relay.Consumer{
		Name: ResetMailName,
		Kind: relay.KindReactor,
		Handlers: map[string]relay.Handler{
			user.TypePasswordResetRequested: func(ctx context.Context, _ *relay.Tx, e eventstore.Event) error {
				return d.handle(ctx, e)
			},
		},
	}
}

func (d ResetMailDeps) handle(ctx context.Context, e eventstore.Event) error {
	var p user.PasswordResetRequested
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return fmt.Errorf("decode %s at position %d: %w", e.Type, e.Position, err)
	}
	skip := func(why string) error {
		d.Logger.LogAttrs(ctx, slog.LevelInfo, "password reset mail not sent",
			slog.String("reason", why), slog.String("tenant", e.Stream.TenantID),
			slog.String("user_id", e.Stream.ID), slog.Int64("position", e.Position))
		return nil
	}
	if !d.Now().Before(p.ExpiresAt) {
		return skip("expired")
	}
	secret := user.ResetSecret(d.ResetKey, e.Stream.TenantID, e.Stream.ID, p.At)
	if user.ResetTokenHash(secret) != p.TokenHash {
		return skip("key changed")
	}
	u, err := d.load(ctx, e.Stream.ID)
	if err != nil {
		return err
	}
	if u.CanSignIn() != nil {
		return skip("user not active")
	}
	if u.CheckResetToken(p.TokenHash, d.Now()) != nil {
		return skip("superseded or spent")
	}
	link := *d.BaseURL
	q := link.Query()
	q.Set("token", user.ResetToken(e.Stream.ID, secret))
	link.RawQuery = q.Encode()
	m := ResetMail{
		ID: "reset-" + e.ID, To: u.Email(), Name: u.Name(), TenantID: e.Stream.TenantID,
		Link: link.String(), ExpiresAt: p.ExpiresAt,
	}
	if err := d.Mailer.SendPasswordReset(ctx, m); err != nil {
		return fmt.Errorf("send password reset mail for event %s: %w", e.ID, err)
	}
	return nil
}

// load rebuilds the user from the log.
func (d ResetMailDeps) load(ctx context.Context, id string) (*user.User, error) {
	evs, err := d.Users.Load(ctx, user.StreamType, id)
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", id, err)
	}
	history := make([]user.Event, 0, len(evs))
	for _, ev := range evs {
		de, err := user.Decode(ev.Type, ev.SchemaVersion, ev.Payload)
		if err != nil {
			return nil, fmt.Errorf("load user %s: %w", id, err)
		}
		history = append(history, de)
	}
	u, err := user.Load(history)
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", id, err)
	}
	return u, nil
}
