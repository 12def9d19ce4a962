package password_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/password"
)

// The benchmarks use the default parameters: their cost is the point.

func BenchmarkHash(b *testing.B) {
	h := mustNew(b, password.Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := mustNew(b, password.Options{})
	ctx := context.Background()
	enc := mustHash(b, h, "correct horse battery staple")
	for b.Loop() {
		if _, err := h.Verify(ctx, "correct horse battery staple", enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashFlood starts 200 hashes at once against the default cap
// (GOMAXPROCS slots, queue long enough for all of them) and reports the
// peak growth of the heap above its level before the flood, next to the
// bound the cap promises (slots × m); ns/op is the time of one flood. Without the cap the same flood would
// hold 200 × 19 MiB ≈ 3.8 GiB.
func BenchmarkHashFlood(b *testing.B) {
	const callers = 200
	h := mustNew(b, password.Options{MaxQueue: callers, MaxWait: time.Minute})
	slots := runtime.GOMAXPROCS(0)
	ctx := context.Background()

	var total time.Duration
	var peakBytes uint64
	for b.Loop() {
		runtime.GC()
		base := heapObjectBytes()
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(200 * time.Microsecond)
			defer tick.Stop()
			for {
				if v := heapObjectBytes(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()

		start := time.Now()
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range callers {
			wg.Go(func() {
				if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		total += time.Since(start)
		close(stop)
		<-sampled
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d of %d hashes failed", n, callers)
		}
		if p := peak.Load(); p > base && p-base > peakBytes {
			peakBytes = p - base
		}
	}
	const mib = 1 << 20
	b.ReportMetric(float64(peakBytes)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(slots)*float64(h.Params().MemoryKiB)/1024, "bound-MiB")
	b.ReportMetric(float64(callers)*float64(b.N)/total.Seconds(), "hashes/s")
}

// heapObjectBytes returns the bytes of heap objects, live or not yet swept:
// what the heap holds right now.
func heapObjectBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
