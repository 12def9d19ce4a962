package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// DefaultMaxKeys is MemoryConfig.MaxKeys when it is zero: at a few dozen
// bytes a key, a few MiB.
const DefaultMaxKeys = 100_000

// memoryShards is the most shards a Memory splits its keys into, so that
// concurrent requests seldom wait for the same lock; a shard holds at least
// minShardKeys keys, so that sampled eviction has a sample to choose from.
const (
	memoryShards = 64
	minShardKeys = 1024
)

// evictSample is how many buckets a full shard looks at to choose the one
// it forgets.
const evictSample = 8

// sweepEvery bounds how often a full shard walks all its buckets to drop the
// full ones, so that a flood costs O(1) per request.
const sweepEvery = time.Second

// MemoryConfig configures a Memory.
type MemoryConfig struct {
	// Rate is the budget of every key.
	Rate Rate
	// MaxKeys bounds the number of keys held; default DefaultMaxKeys. Keys
	// whose bucket is full cost nothing to forget and go first; when every
	// held bucket is in use, the one nearest to full among a few sampled is
	// forgotten, which hands its key a full bucket again: a flood of new
	// keys beyond MaxKeys can restore the budget of an old one.
	MaxKeys int
	// Now is the clock; default time.Now. Only the differences between its
	// readings are used.
	Now func() time.Time
}

// Memory is a Limiter in the memory of one process. It holds at most
// MaxKeys keys. It is safe for concurrent use.
type Memory struct {
	rate     Rate
	interval int64 // nanoseconds
	now      func() time.Time
	base     time.Time
	seed     maphash.Seed
	perShard int
	shards   []memoryShard
}

type memoryShard struct {
	mu sync.Mutex
	// tat is each key's theoretical arrival time, in nanoseconds since base.
	tat       map[string]int64
	nextSweep int64
	_         [64]byte // keeps neighbouring shards' locks off one cache line
}

// NewMemory returns an empty Memory. It returns an error when cfg.Rate is
// invalid or cfg.MaxKeys negative.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if err := cfg.Rate.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxKeys < 0 {
		return nil, errors.New("rate limit: max keys must not be negative")
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := min(memoryShards, max(1, cfg.MaxKeys/minShardKeys))
	m := &Memory{
		rate:     cfg.Rate,
		interval: cfg.Rate.interval(time.Nanosecond),
		now:      cfg.Now,
		base:     cfg.Now(),
		seed:     maphash.MakeSeed(),
		perShard: cfg.MaxKeys / n,
		shards:   make([]memoryShard, n),
	}
	for i := range m.shards {
		m.shards[i].tat = make(map[string]int64)
	}
	return m, nil
}

// Allow counts one request under key and returns the decision; a refused
// request is not counted. It never returns an error.
func (m *Memory) Allow(_ context.Context, key string) (Decision, error) {
	s := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	// Read under the lock, so that the requests of one key are decided in
	// the order of their readings.
	now := m.now().Sub(m.base).Nanoseconds()
	tat, held := s.tat[key]
	d, newTAT := gcra(now, tat, m.interval, m.rate.Burst, time.Nanosecond)
	if !d.Allowed {
		return d, nil
	}
	if !held && len(s.tat) >= m.perShard {
		s.makeRoom(now, m.perShard)
	}
	s.tat[key] = newTAT
	return d, nil
}

// Len returns the number of keys held, at most MaxKeys.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}

// makeRoom forgets buckets of a shard holding limit keys until it holds
// fewer: every full bucket, when the last sweep is long enough ago; else (or
// if none was full) the bucket nearest to full among evictSample. The caller
// holds s.mu.
func (s *memoryShard) makeRoom(now int64, limit int) {
	if now >= s.nextSweep {
		for k, tat := range s.tat {
			if tat <= now {
				delete(s.tat, k)
			}
		}
		s.nextSweep = now + sweepEvery.Nanoseconds()
		if len(s.tat) < limit {
			return
		}
	}
	// Map iteration starts at a random place: the first few entries are a
	// random sample.
	victim, oldest, seen := "", int64(math.MaxInt64), 0
	for k, tat := range s.tat {
		if tat < oldest {
			victim, oldest = k, tat
		}
		if seen++; seen == evictSample {
			break
		}
	}
	delete(s.tat, victim)
}
