package ratelimit_test

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/ratelimit"
)

// TestMemoryFloodIsBounded: a million unique keys (made-up client IPs behind
// a trusted proxy, made-up tenants) leave at most MaxKeys keys and no more
// memory than the first few hundred thousand did.
func TestMemoryFloodIsBounded(t *testing.T) {
	const maxKeys = 20_000
	flood := 1_000_000
	if testing.Short() {
		flood = 300_000
	}
	tests := []struct {
		name string
		// tick is how far the clock moves per request: zero keeps every
		// bucket in use (eviction by sampling only), a positive tick lets
		// the flood's earlier buckets fill up again (sweeps).
		tick time.Duration
	}{
		{"frozen clock: every bucket in use", 0},
		{"moving clock: old buckets full again", time.Microsecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
				Rate: ratelimit.Rate{PerMinute: 600, Burst: 10}, MaxKeys: maxKeys, Now: clock.Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var baseline uint64
			for i := range flood {
				clock.Advance(tc.tick)
				ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
				if d, err := m.Allow(ctx, ip); err != nil || !d.Allowed {
					t.Fatalf("request %d, a new key: %+v, %v; want allowed", i, d, err)
				}
				if (i+1)%100_000 != 0 {
					continue
				}
				if n := m.Len(); n > maxKeys {
					t.Fatalf("after %d keys the limiter holds %d, more than MaxKeys %d", i+1, n, maxKeys)
				}
				if i+1 == 200_000 {
					baseline = liveHeap()
				}
			}
			after := liveHeap()
			t.Logf("%d keys held after %d; live heap %d KiB after 200k keys, %d KiB after %d", m.Len(), flood, baseline>>10, after>>10, flood)
			// A map of 20k short keys is ≈ 1-2 MiB; growth with the flood
			// would be tens of MiB.
			if after > baseline+1<<20 {
				t.Fatalf("live heap grew from %d to %d KiB between 200k and %d keys", baseline>>10, after>>10, flood)
			}
		})
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryEvictsNearestToFullFirst: a key that spent its budget keeps its
// bucket through a flood of new keys whose buckets are fuller, so a client
// cannot buy a fresh budget by flooding.
func TestMemoryEvictsNearestToFullFirst(t *testing.T) {
	clock := newFakeClock()
	m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rate: ratelimit.Rate{PerMinute: 60, Burst: 3}, MaxKeys: 1024, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if d, _ := m.Allow(ctx, "abuser"); !d.Allowed {
			t.Fatal("the burst was refused")
		}
	}
	for i := range 100_000 {
		if _, err := m.Allow(ctx, fmt.Sprint("flood-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n > 1024 {
		t.Fatalf("the limiter holds %d keys, more than MaxKeys 1024", n)
	}
	if d, _ := m.Allow(ctx, "abuser"); d.Allowed {
		t.Fatalf("after the flood the spent key was allowed again (%+v): its bucket was forgotten", d)
	}
}

// TestMemoryForgetsFullBuckets: buckets that are full again are swept, so
// the limiter shrinks back after a flood without anyone evicting.
func TestMemoryForgetsFullBuckets(t *testing.T) {
	clock := newFakeClock()
	m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rate: ratelimit.Rate{PerMinute: 60, Burst: 3}, MaxKeys: 1024, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 1024 {
		if _, err := m.Allow(ctx, fmt.Sprint("old-", i)); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Second) // every old bucket is full again
	for range 3 {
		if _, err := m.Allow(ctx, "new"); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n != 1 {
		t.Fatalf("the limiter holds %d keys after the old buckets filled up, want 1 (the new key)", n)
	}
	if d, _ := m.Allow(ctx, "new"); d.Allowed {
		t.Fatalf("the new key's fourth request was allowed (%+v): its bucket was lost in the sweep", d)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: ratelimit.Rate{PerMinute: ratelimit.MaxPerMinute, Burst: 1000}})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("192.0.2.%d", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
