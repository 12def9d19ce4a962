package principalcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	sessionqry "github.com/rustok/rustok/queries/session"
	userqry "github.com/rustok/rustok/queries/user"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxAge      = 5 * time.Minute
	DefaultNegativeTTL = 30 * time.Second
	DefaultMaxEntries  = 100_000
)

// Memory budgets per entry, from which bigcache's hard limits are derived.
const (
	entryBudget    = 256 // a positive entry takes ~190 bytes with key and bigcache header
	negEntryBudget = 128 // a negative entry ~100 (key, tenant, time, header)
)

// Stripes of generations and locks (powers of two).
const (
	userStripes    = 1 << 14 // 128 KiB of user generations
	sessionStripes = 256
)

// ErrUnknownSession (UNAUTHENTICATED) is returned, wrapped, by Lookup when
// the tenant has no such session of that user: the token names a session the
// read model does not hold (not projected yet, cleaned up long after it
// ended, or never issued).
var ErrUnknownSession = domain.Unauthenticated("session not found")

// ErrUnknownUser (UNAUTHENTICATED) is Principal.Check's answer when the
// session's user no longer exists (deleted).
var ErrUnknownUser = domain.Unauthenticated("user not found")

// SessionReader reads the sessions read model; *queries/session.Reader
// implements it. Get returns an error matching sessionqry.ErrNotFound for a
// session the tenant does not have. It must be safe for concurrent use.
type SessionReader interface {
	Get(ctx context.Context, tenantID, sessionID string) (sessionqry.View, error)
}

// UserReader reads the users read model; *queries/user.Reader implements it.
// Get returns an error matching userqry.ErrNotFound for a user the tenant
// does not have or that was deleted. It must be safe for concurrent use.
type UserReader interface {
	Get(ctx context.Context, tenantID, userID string) (userqry.View, error)
}

// Principal is what an authenticated request acts as: its session's state and
// its user's status and role, as of the lookup.
type Principal struct {
	TenantID, SessionID, UserID string
	// Active reports that the session is neither revoked nor expired at the
	// time of the lookup.
	Active bool
	// Revoked reports that the session was revoked.
	Revoked bool
	// ExpiresAt is the session's absolute end.
	ExpiresAt time.Time
	// Status and Role are the user's; both are empty when the user no
	// longer exists (deleted).
	Status user.Status
	Role   user.Role
}

// Check returns nil if a request may act as p: its session active and its
// user existing and active. Otherwise an UNAUTHENTICATED error:
// session.ErrRevoked, session.ErrExpired, ErrUnknownUser, or one wrapping
// user.ErrNotActive that names the status.
func (p Principal) Check() error {
	switch {
	case p.Revoked:
		return session.ErrRevoked
	case !p.Active:
		return session.ErrExpired
	case p.Status == "":
		return ErrUnknownUser
	case p.Status != user.StatusActive:
		return domain.Unauthenticated("user account is %s", p.Status).Wrap(user.ErrNotActive)
	}
	return nil
}

// Config configures a Cache. bigcache counts time in whole seconds, so the
// durations must be at least one second.
type Config struct {
	// MaxAge is how long a loaded session is trusted without an event: the
	// bound on a missed invalidation. Default 5m.
	MaxAge time.Duration
	// NegativeTTL is how long an unknown session stays cached as unknown
	// (its session.started invalidates it sooner). Default 30s.
	NegativeTTL time.Duration
	// MaxEntries sizes the memory limits: MaxEntries × 256 bytes for
	// sessions, × 128 bytes for unknown sessions (at least 1 MiB each).
	// Default 100000 (about 25 MiB + 12 MiB at most).
	MaxEntries int
	// Now is the clock against which sessions expire and entries age.
	// Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	var errs []error
	if c.MaxAge < time.Second {
		errs = append(errs, fmt.Errorf("principal cache max age %s: must be at least 1s", c.MaxAge))
	}
	if c.NegativeTTL < time.Second {
		errs = append(errs, fmt.Errorf("principal negative cache ttl %s: must be at least 1s", c.NegativeTTL))
	}
	if c.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("principal cache max entries %d: must not be negative", c.MaxEntries))
	}
	return c, errors.Join(errs...)
}

// lockStripe serializes the stores and invalidations of the sessions that
// hash to it; gen counts its invalidations (written under mu, read
// atomically).
type lockStripe struct {
	mu  sync.Mutex
	gen atomic.Uint64
}

// Cache answers Lookup from its caches or the read models. It is safe for
// concurrent use. See the package documentation.
type Cache struct {
	sessions    SessionReader
	users       UserReader
	logger      *slog.Logger
	now         func() time.Time
	maxAge      int64 // nanoseconds
	negativeTTL int64 // nanoseconds
	pos, neg    *bigcache.BigCache
	flight      singleflight.Group
	metrics     *metrics

	locks    [sessionStripes]lockStripe
	userGens []atomic.Uint64 // userStripes generations
	// flushes counts FlushAll calls; it changes with every lock stripe held.
	flushes atomic.Uint64
}

// New returns a Cache that loads through sessions and users and registers
// its metrics on reg (nil registers nothing). A nil logger discards logs. It
// returns an error if cfg is invalid, a reader is nil, a cache cannot be
// created or a metric cannot be registered (for example because another
// Cache registered it on reg and was not closed).
func New(cfg Config, sessions SessionReader, users UserReader, reg prometheus.Registerer, logger *slog.Logger) (*Cache, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if sessions == nil || users == nil {
		return nil, errors.New("principal cache: nil reader")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pos, err := bigcache.New(context.Background(), cacheConfig(cfg.MaxAge, cfg.MaxEntries, 160, entryBudget))
	if err != nil {
		return nil, fmt.Errorf("create principal cache: %w", err)
	}
	neg, err := bigcache.New(context.Background(), cacheConfig(cfg.NegativeTTL, cfg.MaxEntries, 64, negEntryBudget))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create negative principal cache: %w", err), pos.Close())
	}
	c := &Cache{
		sessions: sessions, users: users, logger: logger, now: cfg.Now,
		maxAge: int64(cfg.MaxAge), negativeTTL: int64(cfg.NegativeTTL),
		pos: pos, neg: neg,
		userGens: make([]atomic.Uint64, userStripes),
	}
	c.metrics, err = newMetrics(reg, func() float64 { return float64(pos.Len() + neg.Len()) })
	if err != nil {
		return nil, errors.Join(err, pos.Close(), neg.Close())
	}
	return c, nil
}

// cacheConfig sizes one bigcache instance: initialSize is the expected entry
// size (for preallocation), budget the bytes per entry the hard limit allows.
func cacheConfig(ttl time.Duration, maxEntries, initialSize, budget int) bigcache.Config {
	const mib = 1 << 20
	return bigcache.Config{
		// 64 shards keep lock contention low under 2×cores of requests;
		// each still holds at least 16 KiB, far more than one entry.
		Shards:             64,
		LifeWindow:         ttl + time.Second, // entries age by Config.Now; this only frees memory
		CleanWindow:        min(max(ttl/2, time.Second), time.Minute),
		MaxEntriesInWindow: min(maxEntries, 4096),
		MaxEntrySize:       initialSize,
		HardMaxCacheSize:   max(1, (maxEntries*budget+mib-1)/mib),
		Verbose:            false,
	}
}

// Lookup returns the principal of session sessionID of user userID in tenant
// tenantID: from the cache, else loaded from the read models, concurrent
// misses of one session sharing one load. The ids are the lowercase UUIDs of
// an access token's claims.
//
// An unknown session — none in the tenant, another user's, or ids that are
// not lowercase UUIDs — is an error wrapping ErrUnknownSession (cached as
// unknown for Config.NegativeTTL, except for ids that cannot name a session
// and a session of another user). A found session returns a Principal and
// no error even if it is revoked or expired or its user is not active:
// Principal.Check says whether the request may go on. Any other read error
// is returned wrapped and not cached. If ctx ends before the load does,
// Lookup returns ctx's error while the load goes on for the other callers.
func (c *Cache) Lookup(ctx context.Context, tenantID, sessionID, userID string) (Principal, error) {
	// The generations are read before anything else: see "Read-your-writes"
	// in the package documentation.
	flushes := c.flushes.Load()
	sessGen := c.lockOf(sessionID).gen.Load()
	userGen := c.userGen(userID).Load()
	switch p, res := c.cached(tenantID, sessionID, userID, userGen); res {
	case found:
		c.metrics.hits.Inc()
		return p, nil
	case foundOther:
		c.metrics.hits.Inc()
		return Principal{}, unknownSession(sessionID)
	case foundAbsent:
		c.metrics.negativeHits.Inc()
		return Principal{}, unknownSession(sessionID)
	}
	// Only valid ids are ever cached, so they need checking on a miss only.
	if !isUUID(tenantID) || !isUUID(sessionID) || !isUUID(userID) {
		return Principal{}, unknownSession(sessionID)
	}
	c.metrics.misses.Inc()

	key := sessionID + "|" + tenantID + "|" + userID + "|" + strconv.FormatUint(flushes, 10) + "|" +
		strconv.FormatUint(sessGen, 10) + "|" + strconv.FormatUint(userGen, 10)
	led := false // written by the leader's fn only; read after its result arrives
	ch := c.flight.DoChan(key, func() (any, error) {
		led = true
		return c.load(ctx, tenantID, sessionID, userID, flushes, sessGen, userGen)
	})
	select {
	case res := <-ch:
		if !led {
			c.metrics.coalesced.Inc()
		}
		if res.Err != nil {
			return Principal{}, res.Err
		}
		return res.Val.(Principal), nil
	case <-ctx.Done():
		return Principal{}, fmt.Errorf("look up session %s: %w", sessionID, ctx.Err())
	}
}

func unknownSession(sessionID string) error {
	return fmt.Errorf("session %s: %w", sessionID, ErrUnknownSession)
}

type lookupResult int

const (
	missing     lookupResult = iota
	found                    // a usable positive entry of this tenant and user
	foundOther               // a usable positive entry of another tenant or user
	foundAbsent              // cached as unknown in this tenant
)

// cached answers from the caches: a positive entry that is younger than
// MaxAge and loaded under the user's current generation, else a negative
// entry of this tenant younger than NegativeTTL.
func (c *Cache) cached(tenantID, sessionID, userID string, userGen uint64) (Principal, lookupResult) {
	now := c.now()
	if data, ok := get(c.pos, sessionID); ok {
		v, err := decode(data)
		switch {
		case err != nil:
			c.logger.Error("undecodable principal cache entry dropped", "session_id", sessionID)
			c.delete(c.pos, sessionID)
		case now.UnixNano()-v.loadedAt >= c.maxAge:
			// Too old: reload.
		case string(v.tenantID) != tenantID || string(v.userID) != userID:
			return Principal{}, foundOther
		case v.userGen == userGen:
			return principal(tenantID, sessionID, userID, v.revoked, v.expiresAt, v.userFound, roleOf(v.role), statusOf(v.status), now), found
		}
		return Principal{}, missing // a stale positive entry: no negative one can be current
	}
	if data, ok := get(c.neg, sessionID); ok {
		tenant, loadedAt, err := decodeAbsent(data)
		if err == nil && string(tenant) == tenantID && now.UnixNano()-loadedAt < c.negativeTTL {
			return Principal{}, foundAbsent
		}
	}
	return Principal{}, missing
}

func principal(tenantID, sessionID, userID string, revoked bool, expiresAt int64, userFound bool, role user.Role, status user.Status, now time.Time) Principal {
	p := Principal{
		TenantID: tenantID, SessionID: sessionID, UserID: userID,
		Revoked: revoked, ExpiresAt: time.Unix(0, expiresAt).UTC(),
		Active: !revoked && now.UnixNano() < expiresAt,
	}
	if userFound {
		p.Role, p.Status = role, status
	}
	return p
}

// load runs once per coalesced miss.
func (c *Cache) load(ctx context.Context, tenantID, sessionID, userID string, flushes, sessGen, userGen uint64) (p Principal, err error) {
	// A panic would otherwise be re-raised by singleflight in a goroutine
	// nobody can recover.
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("principal loader panicked", "session_id", sessionID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("load session %s: reader panicked: %v", sessionID, r)
		}
	}()
	// A request that missed just before the previous load of this session
	// stored its result starts a new flight: look again first.
	switch p, res := c.cached(tenantID, sessionID, userID, userGen); res {
	case found:
		return p, nil
	case foundOther, foundAbsent:
		return Principal{}, unknownSession(sessionID)
	}

	// One load serves every caller that joined it: do not let the leader's
	// cancellation fail the others, but keep its deadline as the bound.
	lctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		lctx, cancel = context.WithDeadline(lctx, dl)
		defer cancel()
	}
	c.metrics.loads.Inc()
	loadedAt := c.now()
	s, err := c.sessions.Get(lctx, tenantID, sessionID)
	switch {
	case errors.Is(err, sessionqry.ErrNotFound):
		c.storeAbsent(tenantID, sessionID, flushes, sessGen, loadedAt)
		return Principal{}, unknownSession(sessionID)
	case err != nil:
		return Principal{}, fmt.Errorf("load session %s: %w", sessionID, err)
	case s.UserID != userID:
		// Another user's session: a token cannot say so unless forged or
		// buggy. Not cached, so the entry's user generation stays right.
		c.logger.Warn("session looked up for another user", "session_id", sessionID, "user_id", userID)
		return Principal{}, unknownSession(sessionID)
	}
	e := entry{
		revoked: s.RevokedAt != nil, userGen: userGen,
		expiresAt: s.ExpiresAt.UnixNano(), loadedAt: loadedAt.UnixNano(),
		tenantID: tenantID, userID: userID,
	}
	u, err := c.users.Get(lctx, tenantID, userID)
	switch {
	case errors.Is(err, userqry.ErrNotFound):
	case err != nil:
		return Principal{}, fmt.Errorf("load user %s of session %s: %w", userID, sessionID, err)
	default:
		e.userFound, e.role, e.status = true, u.Role, u.Status
	}
	c.store(sessionID, e, flushes, sessGen)
	return principal(tenantID, sessionID, userID, e.revoked, e.expiresAt, e.userFound, e.role, e.status, c.now()), nil
}

// store caches e unless the session's stripe was invalidated or the cache
// flushed since the load began.
func (c *Cache) store(sessionID string, e entry, flushes, sessGen uint64) {
	data, err := e.encode()
	if err != nil {
		c.logger.Error("encode principal cache entry", "session_id", sessionID, "error", err)
		return
	}
	lk := c.lockOf(sessionID)
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.gen.Load() != sessGen || c.flushes.Load() != flushes {
		return // invalidated while loading: the result may be stale
	}
	c.delete(c.neg, sessionID)
	if err := c.pos.Set(sessionID, data); err != nil {
		c.logger.Warn("principal cache set", "session_id", sessionID, "error", err)
	}
}

// storeAbsent caches sessionID as unknown in tenantID, with the same guard.
func (c *Cache) storeAbsent(tenantID, sessionID string, flushes, sessGen uint64, loadedAt time.Time) {
	lk := c.lockOf(sessionID)
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.gen.Load() != sessGen || c.flushes.Load() != flushes {
		return
	}
	c.delete(c.pos, sessionID)
	if err := c.neg.Set(sessionID, encodeAbsent(tenantID, loadedAt.UnixNano())); err != nil {
		c.logger.Warn("negative principal cache set", "session_id", sessionID, "error", err)
	}
}

// InvalidateSession drops the entries of session sessionID, positive or
// negative; a load of it in flight will not be cached. Safe for concurrent
// use.
func (c *Cache) InvalidateSession(sessionID string) {
	lk := c.lockOf(sessionID)
	lk.mu.Lock()
	lk.gen.Add(1)
	c.delete(c.pos, sessionID)
	c.delete(c.neg, sessionID)
	lk.mu.Unlock()
	c.metrics.invalidations.WithLabelValues(scopeSession).Inc()
}

// InvalidateUser makes every cached session of user userID stale at once
// (and those of the few users sharing its generation stripe); a load in
// flight is stale too. Safe for concurrent use.
func (c *Cache) InvalidateUser(userID string) {
	c.userGen(userID).Add(1)
	c.metrics.invalidations.WithLabelValues(scopeUser).Inc()
}

// FlushAll empties both caches; no load in flight is cached. It backs
// `rustok task cleanup cache`. Safe for concurrent use.
func (c *Cache) FlushAll() {
	for i := range c.locks {
		c.locks[i].mu.Lock()
	}
	c.flushes.Add(1)
	err := errors.Join(c.pos.Reset(), c.neg.Reset())
	for i := range c.locks {
		c.locks[i].mu.Unlock()
	}
	if err != nil {
		c.logger.Warn("principal cache reset", "error", err)
	}
	c.metrics.invalidations.WithLabelValues(scopeAll).Inc()
}

// Len returns the number of entries in both caches, including expired or
// stale ones not yet removed.
func (c *Cache) Len() int { return c.pos.Len() + c.neg.Len() }

// Capacity returns the bytes both caches have allocated for entries; it
// never exceeds the limits Config.MaxEntries sets.
func (c *Cache) Capacity() int { return c.pos.Capacity() + c.neg.Capacity() }

// Close stops the caches' background cleaners and unregisters the metrics.
// The Cache must not be used afterwards.
func (c *Cache) Close() error {
	c.metrics.unregister()
	return errors.Join(c.pos.Close(), c.neg.Close())
}

func (c *Cache) lockOf(sessionID string) *lockStripe {
	return &c.locks[fnv1a(sessionID)&(sessionStripes-1)]
}

func (c *Cache) userGen(userID string) *atomic.Uint64 {
	return &c.userGens[fnv1a(userID)&(userStripes-1)]
}

// get returns the entry for key unless it is missing or expired: bigcache's
// Get returns expired entries until its cleaner runs.
func get(c *bigcache.BigCache, key string) ([]byte, bool) {
	data, resp, err := c.GetWithInfo(key)
	if err != nil || resp.EntryStatus == bigcache.Expired {
		return nil, false
	}
	return data, true
}

func (c *Cache) delete(bc *bigcache.BigCache, key string) {
	if err := bc.Delete(key); err != nil && !errors.Is(err, bigcache.ErrEntryNotFound) {
		c.logger.Warn("principal cache delete", "session_id", key, "error", err)
	}
}

// isUUID reports whether s is a lowercase hyphenated UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f') {
				return false
			}
		}
	}
	return true
}

var (
	_ SessionReader = (*sessionqry.Reader)(nil)
	_ UserReader    = (*userqry.Reader)(nil)
)
