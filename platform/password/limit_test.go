package password

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests replace the Argon2id function with one that blocks until
// released, to hold hashes running while they look at the queue. They are
// inside the package because that function is not part of the API.

// gate is a derive function that blocks until released and records how
// many run at once.
type gate struct {
	release chan struct{}
	running atomic.Int32
	peak    atomic.Int32
	calls   atomic.Int32

	mu        sync.Mutex
	passwords []string // in the order the hashes started
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) derive(password string, _ []byte, p Params) []byte {
	g.calls.Add(1)
	g.mu.Lock()
	g.passwords = append(g.passwords, password)
	g.mu.Unlock()
	n := g.running.Add(1)
	for {
		old := g.peak.Load()
		if n <= old || g.peak.CompareAndSwap(old, n) {
			break
		}
	}
	<-g.release
	g.running.Add(-1)
	return make([]byte, p.KeyLength)
}

// mustGatedHasher returns a Hasher with cheap parameters whose hashes block
// on the returned gate. Closing the gate at cleanup lets every hash end.
func mustGatedHasher(tb testing.TB, o Options) (*Hasher, *gate) {
	tb.Helper()
	o.Params = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}
	h, err := New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	g := newGate()
	h.derive = g.derive
	var once sync.Once
	tb.Cleanup(func() { once.Do(func() { close(g.release) }) })
	return h, g
}

// waitFor polls cond until it holds, failing tb after a few seconds.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// startHashes starts n Hash calls and returns a channel of their errors.
func startHashes(ctx context.Context, h *Hasher, n int) <-chan error {
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := h.Hash(ctx, "pw")
			errs <- err
		}()
	}
	return errs
}

func TestAtMostConcurrencyHashesRun(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run("", func(t *testing.T) {
			const callers = 10
			h, g := mustGatedHasher(t, Options{Concurrency: n, MaxQueue: callers, MaxWait: time.Minute})
			errs := startHashes(context.Background(), h, callers)

			waitFor(t, "every caller running or queued", func() bool {
				s := h.Stats()
				return s.Running == n && s.Waiting == callers-n
			})
			// Nothing more starts while the slots are held.
			time.Sleep(20 * time.Millisecond)
			if got := g.running.Load(); got != int32(n) {
				t.Fatalf("%d hashes running, want %d", got, n)
			}
			// Let them through one at a time.
			for i := range callers {
				g.release <- struct{}{}
				if err := <-errs; err != nil {
					t.Fatalf("hash %d: %v", i, err)
				}
			}
			if peak := g.peak.Load(); peak != int32(n) {
				t.Errorf("at most %d hashes ran at once, want exactly %d", peak, n)
			}
			if s := h.Stats(); s != (Stats{}) {
				t.Errorf("Stats after all ended = %+v, want zero", s)
			}
		})
	}
}

func TestFullQueueIsBusyAtOnce(t *testing.T) {
	h, g := mustGatedHasher(t, Options{Concurrency: 1, MaxQueue: 2, MaxWait: time.Minute})
	ctx := context.Background()
	startHashes(ctx, h, 3)
	waitFor(t, "one running and two queued", func() bool {
		s := h.Stats()
		return s.Running == 1 && s.Waiting == 2
	})

	start := time.Now()
	_, err := h.Hash(ctx, "pw")
	elapsed := time.Since(start)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with a full queue = %v, want ErrBusy", err)
	}
	if elapsed > 100*time.Millisecond {
		t.Errorf("ErrBusy took %s, want at once", elapsed)
	}
	// Verify and VerifyDummy share the cap.
	if _, err := h.Verify(ctx, "pw", h.dummy); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify with a full queue = %v, want ErrBusy", err)
	}
	if err := h.VerifyDummy(ctx, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyDummy with a full queue = %v, want ErrBusy", err)
	}
	if got := h.Stats().Refused; got != 3 {
		t.Errorf("Refused = %d, want 3", got)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("%d hashes started, want 1", got)
	}
}

func TestNoQueueIsBusyAtOnce(t *testing.T) {
	h, _ := mustGatedHasher(t, Options{Concurrency: 1, MaxQueue: -1, MaxWait: time.Minute})
	startHashes(context.Background(), h, 1)
	waitFor(t, "one running", func() bool { return h.Stats().Running == 1 })
	if _, err := h.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with no queue = %v, want ErrBusy", err)
	}
}

func TestMaxWaitEndsTheWaitWithBusy(t *testing.T) {
	const wait = 50 * time.Millisecond
	h, _ := mustGatedHasher(t, Options{Concurrency: 1, MaxWait: wait})
	startHashes(context.Background(), h, 1)
	waitFor(t, "one running", func() bool { return h.Stats().Running == 1 })

	start := time.Now()
	_, err := h.Hash(context.Background(), "pw")
	elapsed := time.Since(start)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash = %v, want ErrBusy", err)
	}
	if elapsed < wait || elapsed > wait+2*time.Second {
		t.Errorf("ErrBusy after %s, want about %s", elapsed, wait)
	}
	if s := h.Stats(); s.Waiting != 0 {
		t.Errorf("Waiting = %d after the wait ended, want 0", s.Waiting)
	}
}

func TestContextEndsTheWait(t *testing.T) {
	tests := []struct {
		name     string
		ctx      func() (context.Context, context.CancelFunc)
		wantErr  error
		wantBusy bool
	}{
		{
			name: "cancelled while waiting",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
		{
			name: "deadline while waiting",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			wantErr:  context.DeadlineExceeded,
			wantBusy: true,
		},
		{
			name: "already cancelled",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := mustGatedHasher(t, Options{Concurrency: 1, MaxWait: time.Minute})
			startHashes(context.Background(), h, 1)
			waitFor(t, "one running", func() bool { return h.Stats().Running == 1 })

			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			_, err := h.Hash(ctx, "pw")
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Hash returned after %s, want promptly", elapsed)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Hash = %v, want %v", err, tc.wantErr)
			}
			if got := errors.Is(err, ErrBusy); got != tc.wantBusy {
				t.Errorf("errors.Is(err, ErrBusy) = %v, want %v", got, tc.wantBusy)
			}
			waitFor(t, "the waiter to leave", func() bool { return h.Stats().Waiting == 0 })
		})
	}
}

func TestCancelledContextHashesNothing(t *testing.T) {
	h, g := mustGatedHasher(t, Options{Concurrency: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash = %v, want context.Canceled", err)
	}
	if _, err := h.Verify(ctx, "pw", h.dummy); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify = %v, want context.Canceled", err)
	}
	if got := g.calls.Load(); got != 0 {
		t.Errorf("%d hashes started with a free slot and a cancelled context, want 0", got)
	}
}

func TestQueueIsServedInArrivalOrder(t *testing.T) {
	h, g := mustGatedHasher(t, Options{Concurrency: 1, MaxQueue: 10, MaxWait: time.Minute})
	startHashes(context.Background(), h, 1)
	waitFor(t, "one running", func() bool { return h.Stats().Running == 1 })

	const waiters = 5
	done := make(chan error, waiters)
	for i := range waiters {
		go func() {
			_, err := h.Hash(context.Background(), strconv.Itoa(i))
			done <- err
		}()
		waitFor(t, "the waiter to queue", func() bool { return h.Stats().Waiting == i+1 })
	}
	for range waiters + 1 {
		g.release <- struct{}{}
	}
	for range waiters {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	want := []string{"pw", "0", "1", "2", "3", "4"}
	if !slices.Equal(g.passwords, want) {
		t.Errorf("hashes started in the order %q, want %q", g.passwords, want)
	}
}
