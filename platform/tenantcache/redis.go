package tenantcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisChannel is the Redis pub/sub channel of tenant cache
// invalidations (ARCHITECTURE.md, Tenancy).
const DefaultRedisChannel = "tenant.cache.invalidate"

// InvalidationMessage is the JSON payload published on the invalidation
// channel: {"tenant_id": "...", "keys": [{"kind": "...", "value": "..."}],
// "all": false}. All asks for InvalidateAll; otherwise TenantID and Keys are
// passed to Invalidate.
type InvalidationMessage struct {
	TenantID string `json:"tenant_id,omitempty"`
	Keys     []Key  `json:"keys,omitempty"`
	All      bool   `json:"all,omitempty"`
}

// PublishInvalidation publishes msg on channel, so that every instance running
// RunRedisInvalidation on that channel (this one included) applies it. It
// returns the encoding or Redis error. Safe for concurrent use.
func PublishInvalidation(ctx context.Context, client *redis.Client, channel string, msg InvalidationMessage) error {
	payload, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode tenant cache invalidation: %w", err)
	}
	if err := client.Publish(ctx, channel, payload).Err(); err != nil {
		return fmt.Errorf("publish tenant cache invalidation on %s: %w", channel, err)
	}
	return nil
}

// RunRedisInvalidation subscribes to channel and applies every
// InvalidationMessage it receives to r, until ctx ends. It returns an error if
// the subscription cannot be made, and nil once ctx ends. Malformed messages
// are logged and skipped. While the connection is down, go-redis reconnects
// and resubscribes; messages published meanwhile are lost, which is why this
// is only a fast path: the tenant event handler, which follows the event log,
// remains the reliable source of invalidations. A nil logger discards logs.
func RunRedisInvalidation(ctx context.Context, client *redis.Client, channel string, r *Resolver, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sub := client.Subscribe(ctx, channel)
	defer func() {
		if err := sub.Close(); err != nil {
			logger.Warn("close tenant cache invalidation subscription", "channel", channel, "error", err)
		}
	}()
	// Subscribe is lazy: wait for the confirmation so that a Redis that
	// cannot be reached is reported to the caller.
	if _, err := sub.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("subscribe to %s: %w", channel, err)
	}
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return errors.New("tenant cache invalidation subscription closed")
			}
			if err := applyInvalidation(r, m.Payload); err != nil {
				logger.Warn("tenant cache invalidation skipped", "channel", channel, "error", err)
			}
		}
	}
}

func applyInvalidation(r *Resolver, payload string) error {
	var msg InvalidationMessage
	if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		return fmt.Errorf("decode message: %w", err)
	}
	switch {
	case msg.All:
		r.InvalidateAll()
	case msg.TenantID != "" || len(msg.Keys) > 0:
		r.Invalidate(msg.TenantID, msg.Keys...)
	default:
		return errors.New("message names no tenant, key or all")
	}
	return nil
}
