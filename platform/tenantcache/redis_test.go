package tenantcache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rustok/rustok/platform/tenantcache"
)

// mustRedis connects to RUSTOK_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)
// or skips the test.
func mustRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("RUSTOK_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("RUSTOK_TEST_REDIS_URL is not set: skipping the Redis invalidation test")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse RUSTOK_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("ping Redis at RUSTOK_TEST_REDIS_URL: %v", err)
	}
	return client
}

func TestRedisInvalidation(t *testing.T) {
	client := mustRedis(t)
	tests := []struct {
		name     string
		msg      tenantcache.InvalidationMessage
		reloaded []tenantcache.Key
		stillHit []tenantcache.Key
	}{
		{
			name:     "tenant id drops its keys",
			msg:      tenantcache.InvalidationMessage{TenantID: acme.ID},
			reloaded: []tenantcache.Key{slugKey("acme"), hostKey("acme.example")},
			stillHit: []tenantcache.Key{slugKey("globex"), slugKey("missing")},
		},
		{
			name:     "keys drop those keys",
			msg:      tenantcache.InvalidationMessage{Keys: []tenantcache.Key{slugKey("missing")}},
			reloaded: []tenantcache.Key{slugKey("missing")},
			stillHit: []tenantcache.Key{slugKey("acme"), hostKey("acme.example"), slugKey("globex")},
		},
		{
			name:     "all drops everything",
			msg:      tenantcache.InvalidationMessage{All: true},
			reloaded: []tenantcache.Key{slugKey("acme"), hostKey("acme.example"), slugKey("globex"), slugKey("missing")},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loader := &fakeLoader{tenants: []tenantcache.Tenant{acme, globex}}
			r, reg := mustNew(t, tenantcache.Config{}, loader)
			channel := fmt.Sprintf("%s.test.%d.%d", tenantcache.DefaultRedisChannel, time.Now().UnixNano(), i)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tenantcache.RunRedisInvalidation(ctx, client, channel, r, nil) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("RunRedisInvalidation: %v", err)
				}
			})
			waitSubscribed(t, client, channel)

			for _, k := range []tenantcache.Key{slugKey("acme"), hostKey("acme.example"), slugKey("globex"), slugKey("missing")} {
				if _, err := r.Resolve(context.Background(), k); err != nil && !errors.Is(err, tenantcache.ErrNotFound) {
					t.Fatalf("warm %s: %v", k, err)
				}
			}
			// A malformed message is skipped; the subscriber keeps going.
			if err := client.Publish(context.Background(), channel, "{not json").Err(); err != nil {
				t.Fatalf("publish: %v", err)
			}
			if err := tenantcache.PublishInvalidation(context.Background(), client, channel, tc.msg); err != nil {
				t.Fatalf("PublishInvalidation: %v", err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for metric(t, reg, "rustok_tenant_cache_invalidations_total") < 1 {
				if time.Now().After(deadline) {
					t.Fatal("invalidation not applied within 5s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			loader.calls.Store(0)
			for _, k := range tc.stillHit {
				_, _ = r.Resolve(context.Background(), k)
			}
			if n := loader.calls.Load(); n != 0 {
				t.Fatalf("%d keys that should still be cached were reloaded", n)
			}
			for _, k := range tc.reloaded {
				before := loader.calls.Load()
				_, _ = r.Resolve(context.Background(), k)
				if loader.calls.Load() != before+1 {
					t.Errorf("%s was answered from cache, want a reload", k)
				}
			}
		})
	}
}

func TestRunRedisInvalidationReportsUnreachableRedis(t *testing.T) {
	// A closed port on localhost: the subscription cannot be made.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	r, _ := mustNew(t, tenantcache.Config{}, &fakeLoader{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tenantcache.RunRedisInvalidation(ctx, client, tenantcache.DefaultRedisChannel, r, nil); err == nil {
		t.Fatal("RunRedisInvalidation returned nil for an unreachable Redis")
	}
}

func waitSubscribed(tb testing.TB, client *redis.Client, channel string) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := client.PubSubNumSub(context.Background(), channel).Result()
		if err != nil {
			tb.Fatalf("PUBSUB NUMSUB: %v", err)
		}
		if n[channel] > 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no subscriber on %s after 5s", channel)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
