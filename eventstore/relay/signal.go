package relay

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// Signal is a broadcast wake-up: Notify wakes every current waiter at once.
// The zero value is not usable; use NewSignal. Safe for concurrent use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewSignal returns a Signal.
func NewSignal() *Signal { return &Signal{ch: make(chan struct{})} }

// Wait returns a channel closed at the next Notify.
func (s *Signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// Notify wakes every waiter.
func (s *Signal) Notify() {
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}

// wakeBackoff is a subscriber's BackoffManager: after an empty poll it blocks
// until a wake-up or the poll interval, so new events are picked up within
// milliseconds while polling stays as the safety net.
//
// On PostgreSQL a woken subscriber may still read nothing: the committed event
// stays below the visibility fence while any older transaction in the cluster
// is open. So after a wake-up, and after any read that found events, the
// subscriber chases: it polls again after 1 ms, 2 ms, 4 ms … (capped at
// 100 ms) for up to chaseFor.
// One per subscriber; HandleError is called from the subscriber's one goroutine.
type wakeBackoff struct {
	wake          *Signal
	done          <-chan struct{}
	pollInterval  time.Duration
	retryInterval time.Duration

	chaseUntil time.Time
	chaseDelay time.Duration
	// armed is taken before each query, so a wake-up that arrives while the
	// subscriber is querying is not lost.
	armed <-chan struct{}
}

const chaseFor = 3 * time.Second

func (b *wakeBackoff) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	if errors.Is(err, errRedoCarefully) {
		return 0 // read the batch again at once, now with savepoints
	}
	if err != nil {
		msg := strings.ToLower(err.Error())
		// Another instance holds or just moved the group's row: try again at once.
		if strings.Contains(msg, "concurrent update") || strings.Contains(msg, "deadlock") || strings.Contains(msg, "could not serialize") {
			return 0
		}
		select {
		case <-b.done:
			return 0
		default:
		}
		logger.Error("relay: query for events failed", err, watermill.LogFields{"retry_in": b.retryInterval})
		return b.retryInterval
	}
	defer func() { b.armed = b.wake.Wait() }()
	if !noMsg {
		// Events are flowing: more may be just behind the fence, and wake-ups
		// that arrived while reading are superseded by re-arming below, so
		// keep looking quickly for a while.
		b.chaseUntil = time.Now().Add(chaseFor)
		b.chaseDelay = time.Millisecond
		return 0
	}
	wait := b.pollInterval
	if now := time.Now(); now.Before(b.chaseUntil) {
		wait = min(b.chaseDelay, wait)
		b.chaseDelay = min(2*b.chaseDelay, 100*time.Millisecond)
	}
	wake := b.armed
	if wake == nil {
		wake = b.wake.Wait()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-wake:
		b.chaseUntil = time.Now().Add(chaseFor)
		b.chaseDelay = time.Millisecond
	case <-t.C:
	case <-b.done:
	}
	return 0
}
