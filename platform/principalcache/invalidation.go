package principalcache

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
)

// DefaultFollowWait bounds how long FollowHandler waits for a projection
// before it invalidates anyway (the tenant cache's follower waits as long).
const DefaultFollowWait = 5 * time.Second

// Invalidate applies log event e to the cache at once, without waiting for
// any projection (FollowHandler waits first): a session event drops that
// session's entries; user.role_changed, user.status_changed, user.deleted,
// user.password_changed and user event types this package does not know
// invalidate every session of the user. Other events change nothing. It
// reports whether e invalidated anything. Neither the payload nor the event's
// schema version is read: the stream id is the session or user id.
func (c *Cache) Invalidate(e eventstore.Event) bool {
	switch scopeOf(e) {
	case scopeSession:
		c.InvalidateSession(e.Stream.ID)
	case scopeUser:
		c.InvalidateUser(e.Stream.ID)
	default:
		return false
	}
	return true
}

// scopeOf returns what e invalidates: scopeSession, scopeUser or "".
func scopeOf(e eventstore.Event) string {
	switch e.Stream.Type {
	case session.StreamType:
		return scopeSession
	case user.StreamType:
		switch e.Type {
		case user.TypeUpdated, user.TypePasswordResetRequested:
			// No cached field changes: email, name and reset tokens are
			// not cached.
			return ""
		}
		// user.registered too: a session looked up while the users read
		// model had not yet written its new user is cached as "user not
		// found" until the registration reaches this instance.
		return scopeUser
	}
	return ""
}

// Waiter waits until consumers have processed a log position;
// *relay.Waiter implements it.
type Waiter interface {
	WaitFor(ctx context.Context, position int64, consumers []string, timeout time.Duration) (bool, error)
}

// FollowConfig configures FollowHandler.
type FollowConfig struct {
	// Waiter is the process's shared *relay.Waiter. Nil invalidates at
	// once, which is right only where the read models are written before
	// the follower sees the event (tests that catch up by hand).
	Waiter Waiter
	// SessionsConsumer and UsersConsumer name the projections the cache
	// loads from (projections/session.Name and projections/user.Name).
	// Required with a Waiter.
	SessionsConsumer, UsersConsumer string
	// Wait bounds each wait for a projection. Default DefaultFollowWait.
	Wait time.Duration
	// FlushEventType, if set, is the event type on which FlushAll runs: the
	// event `rustok task cleanup cache` appends (system.cache_flushed).
	FlushEventType string
	// Logger receives the warning of a projection that did not catch up in
	// time. Nil discards.
	Logger *slog.Logger
}

// FollowHandler returns the handler that keeps c in step with the log; every
// instance registers it with relay.Follow on its own tail of the log.
//
// For an event Invalidate would apply, it first waits until the projection
// the event feeds (sessions for session events, users for user events) has
// processed its position, so that no request can reload the state before the
// event after the entry is dropped (see "Read-your-writes" in the package
// documentation). If the projection does not get there within cfg.Wait, it
// logs a warning and invalidates anyway; if waiting fails, it invalidates
// anyway and returns the error (Follow logs it). Other events return at
// once, except cfg.FlushEventType, on which it runs FlushAll.
//
// It panics if cfg has a Waiter but lacks a consumer name.
func (c *Cache) FollowHandler(cfg FollowConfig) relay.FollowHandler {
	if cfg.Waiter != nil && (cfg.SessionsConsumer == "" || cfg.UsersConsumer == "") {
		panic("principalcache.FollowHandler: a Waiter needs SessionsConsumer and UsersConsumer")
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultFollowWait
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	consumers := map[string][]string{
		scopeSession: {cfg.SessionsConsumer},
		scopeUser:    {cfg.UsersConsumer},
	}
	return func(ctx context.Context, e eventstore.Event) error {
		if cfg.FlushEventType != "" && e.Type == cfg.FlushEventType {
			c.FlushAll()
			return nil
		}
		scope := scopeOf(e)
		if scope == "" {
			return nil
		}
		var werr error
		if cfg.Waiter != nil {
			ok, err := cfg.Waiter.WaitFor(ctx, e.Position, consumers[scope], cfg.Wait)
			switch {
			case err != nil:
				werr = fmt.Errorf("principal cache: wait for %s at position %d: %w", consumers[scope][0], e.Position, err)
			case !ok:
				logger.Warn("principal cache: projection behind; invalidating anyway",
					"consumer", consumers[scope][0], "position", e.Position, "event_type", e.Type)
			}
		}
		c.Invalidate(e)
		return werr
	}
}

var _ Waiter = (*relay.Waiter)(nil)
