package projectiontest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/rustok/rustok/eventstore"
)

// Command is one append of a workload: the events one command decided, with
// the stream version the command saw and the reservations the command layer
// makes (eventstore.Reserve, eventstore.Release).
type Command struct {
	Stream   eventstore.Stream
	Expected int64
	Events   []eventstore.NewEvent
	Options  []eventstore.AppendOption
	// After lists the indexes of earlier commands of other streams that must
	// be appended before this one (the release of a reservation this one
	// takes, which the reservation enforces); empty for most.
	After []int
}

// After is the After of a command that must be appended after command i,
// or of one that waits for none if i < 0.
func After(i int) []int {
	if i < 0 {
		return nil
	}
	return []int{i}
}

// Records turns a decision's events into the events to append.
func Records[E eventstore.Recordable](events []E) []eventstore.NewEvent {
	recs := make([]eventstore.NewEvent, len(events))
	for i, e := range events {
		recs[i] = eventstore.Record(e)
	}
	return recs
}

// Events counts the events of cmds.
func Events(cmds []Command) int {
	n := 0
	for _, c := range cmds {
		n += len(c.Events)
	}
	return n
}

// EventTypes counts the events of cmds by type.
func EventTypes(cmds []Command) map[string]int {
	types := map[string]int{}
	for _, c := range cmds {
		for _, e := range c.Events {
			types[e.Type]++
		}
	}
	return types
}

// Append appends cmds in order and returns the last position.
func Append(ctx context.Context, store *eventstore.Store, cmds []Command) (int64, error) {
	var last int64
	for i, c := range cmds {
		res, err := store.Append(ctx, c.Stream, c.Expected, c.Events, c.Options...)
		if err != nil {
			return last, fmt.Errorf("command %d: %w", i, err)
		}
		last = res.Position
	}
	return last, nil
}

// AppendConcurrently appends cmds with writers goroutines, as concurrent
// requests would: the streams are dealt out to the writers, each appends the
// commands of its streams in order and waits for the commands named by
// After. It returns the highest position appended. onAppend, if set, is
// called after each append.
func AppendConcurrently(ctx context.Context, store *eventstore.Store, cmds []Command, writers int, onAppend func(eventstore.Result)) (int64, error) {
	if writers <= 0 {
		return 0, fmt.Errorf("projectiontest: %d writers", writers)
	}
	done := make([]chan struct{}, len(cmds))
	owner := map[string]int{}
	for i, c := range cmds {
		done[i] = make(chan struct{})
		for _, a := range c.After {
			if a < 0 || a >= i {
				return 0, fmt.Errorf("projectiontest: command %d comes after command %d, which is not earlier", i, a)
			}
		}
		if _, ok := owner[c.Stream.ID]; !ok {
			owner[c.Stream.ID] = len(owner) % writers
		}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		last    int64
		errs    []error
		stopped = make(chan struct{})
		once    sync.Once
	)
	for k := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, c := range cmds {
				if owner[c.Stream.ID] != k {
					continue
				}
				for _, a := range c.After {
					select {
					case <-done[a]:
					case <-stopped:
						return
					}
				}
				res, err := store.Append(ctx, c.Stream, c.Expected, c.Events, c.Options...)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("command %d: %w", i, err))
					mu.Unlock()
					once.Do(func() { close(stopped) })
					return
				}
				close(done[i])
				if onAppend != nil {
					onAppend(res)
				}
				mu.Lock()
				last = max(last, res.Position)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return last, errors.Join(errs...)
}

// Rand is the random generator of a workload seeded by seed: the same seed
// gives the same workload.
func Rand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// UUID draws a UUID of version (4 or 7: only its version bits say so) from
// rng, so that a seeded workload has the same ids every time.
func UUID(rng *rand.Rand, version byte) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
