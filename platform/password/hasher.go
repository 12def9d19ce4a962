package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

var (
	// ErrMismatch is returned by Verify when the password does not match
	// the hash, and always by VerifyDummy.
	ErrMismatch = errors.New("password: does not match")
	// ErrInvalidHash is returned by Verify when the stored hash is not a
	// PHC string this package accepts or its parameters exceed the Limits.
	// It means a corrupted or foreign hash, not a wrong password.
	ErrInvalidHash = errors.New("password: invalid hash")
	// ErrTooLong is returned when a password is longer than
	// Options.MaxPasswordBytes; nothing is hashed.
	ErrTooLong = errors.New("password: too long")
	// ErrBusy is returned when no hashing slot came free in time: the queue
	// was full, Options.MaxWait passed, or the context's deadline passed
	// (then the error also matches context.DeadlineExceeded). The caller
	// should answer 503 with Retry-After; nothing was hashed.
	ErrBusy = errors.New("password: too many hashes in progress")
)

// Defaults of Options.
const (
	// DefaultMaxPasswordBytes bounds a password: far above any passphrase,
	// far below a request body.
	DefaultMaxPasswordBytes = 1024
	// DefaultQueuePerSlot is Options.MaxQueue per unit of Concurrency: with
	// the default parameters (~25 ms a hash on this class of machine) the
	// last caller in a full queue waits about 0.4 s.
	DefaultQueuePerSlot = 16
	// DefaultMaxWait is Options.MaxWait.
	DefaultMaxWait = time.Second
)

// Options configure a Hasher. Zero values take the defaults.
type Options struct {
	// Params are the parameters of new hashes; zero fields take their
	// defaults (DefaultParams). They must lie within Limits.
	Params Params
	// Limits bound the parameters of Params and of every stored hash that
	// Verify accepts; zero fields take their defaults.
	Limits Limits
	// Concurrency is how many hashes may run at once. Peak memory is about
	// Concurrency × Params.MemoryKiB (Concurrency × Limits.MaxMemoryKiB
	// when verifying stored hashes with larger parameters), and a hash uses
	// Params.Parallelism cores. Default max(1, GOMAXPROCS).
	Concurrency int
	// MaxQueue is how many callers may wait for a slot while all are busy;
	// the next one gets ErrBusy at once. Negative: nobody waits. Default
	// DefaultQueuePerSlot × Concurrency.
	MaxQueue int
	// MaxWait is the longest a caller waits for a slot before ErrBusy; the
	// caller's context may end the wait sooner. Default 1 s.
	MaxWait time.Duration
	// MaxPasswordBytes is the longest password, in bytes, that is hashed or
	// verified; longer ones get ErrTooLong. Default 1024.
	MaxPasswordBytes int
}

// Hasher hashes and verifies passwords with at most Options.Concurrency
// hashes running at once. It is safe for concurrent use.
type Hasher struct {
	params      Params
	limits      Limits
	maxPassword int
	maxQueue    int64
	maxWait     time.Duration

	// slots holds one token per running hash; its capacity is the
	// concurrency. Blocked senders are served in arrival order.
	slots   chan struct{}
	waiting atomic.Int64
	refused atomic.Uint64

	// dummy is a hash of a random password made at construction with
	// params, for VerifyDummy.
	dummy string
	// derive computes the Argon2id key; tests replace it to hold hashes
	// running.
	derive func(password string, salt []byte, p Params) []byte
}

// New returns a Hasher. It reports every invalid option at once, and makes
// one hash (the one VerifyDummy checks against) before it returns, so it
// takes as long as a Hash.
func New(o Options) (*Hasher, error) {
	o.Params = o.Params.withDefaults()
	o.Limits = o.Limits.withDefaults()
	var errs []error
	if err := o.Params.check(o.Limits); err != nil {
		errs = append(errs, err)
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency must not be negative, got %d", o.Concurrency))
	}
	if o.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("max wait must not be negative, got %s", o.MaxWait))
	}
	if o.MaxPasswordBytes < 0 {
		errs = append(errs, fmt.Errorf("max password length must not be negative, got %d", o.MaxPasswordBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	if o.Concurrency == 0 {
		o.Concurrency = max(1, runtime.GOMAXPROCS(0))
	}
	switch {
	case o.MaxQueue == 0:
		o.MaxQueue = DefaultQueuePerSlot * o.Concurrency
	case o.MaxQueue < 0:
		o.MaxQueue = 0
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.MaxPasswordBytes == 0 {
		o.MaxPasswordBytes = DefaultMaxPasswordBytes
	}

	h := &Hasher{
		params:      o.Params,
		limits:      o.Limits,
		maxPassword: o.MaxPasswordBytes,
		maxQueue:    int64(o.MaxQueue),
		maxWait:     o.MaxWait,
		slots:       make(chan struct{}, o.Concurrency),
		derive:      argon2id,
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("password hasher: dummy password: %w", err)
	}
	dummy, err := h.newHash(base64.RawStdEncoding.EncodeToString(secret))
	if err != nil {
		return nil, fmt.Errorf("password hasher: dummy hash: %w", err)
	}
	h.dummy = dummy.String()
	return h, nil
}

func argon2id(password string, salt []byte, p Params) []byte {
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLength)
}

// Params returns the parameters of new hashes, defaults applied.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of password with a new random salt and the
// Hasher's Params. It returns ErrTooLong for a password over the limit,
// ErrBusy when no slot came free in time, or the context's error when ctx
// ended first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.checkLength(password); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	hash, err := h.newHash(password)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return hash.String(), nil
}

// newHash hashes password with a fresh salt, without taking a slot.
func (h *Hasher) newHash(password string) (phc, error) {
	salt := make([]byte, h.params.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return phc{}, fmt.Errorf("salt: %w", err)
	}
	return phc{params: h.params, salt: salt, key: h.derive(password, salt, h.params)}, nil
}

// Verify checks password against encoded, a PHC string from Hash (or from
// another Argon2id implementation with parameters within the Limits). On a
// match it returns nil and reports whether encoded should be replaced by a
// new Hash because its parameters (m, t, p, salt or key length) differ from
// the Hasher's. Otherwise it returns ErrMismatch for a wrong password,
// ErrInvalidHash for a hash it does not accept, ErrTooLong, ErrBusy or the
// context's error. The keys are compared in constant time.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (rehash bool, err error) {
	if err := h.checkLength(password); err != nil {
		return false, err
	}
	stored, err := parse(encoded, h.limits)
	if err != nil {
		return false, err
	}
	key, err := h.deriveInSlot(ctx, password, stored)
	if err != nil {
		return false, err
	}
	if subtle.ConstantTimeCompare(key, stored.key) != 1 {
		return false, ErrMismatch
	}
	return stored.params != h.params, nil
}

// VerifyDummy does what Verify does for a user who does not exist, so that
// the answer to an unknown email takes as long as to a wrong password: it
// checks password against a hash made at construction with the current
// Params and returns ErrMismatch, or the error Verify would return first
// (ErrTooLong, ErrBusy, the context's error).
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	if _, err := h.Verify(ctx, password, h.dummy); err != nil {
		return err
	}
	// The dummy password is 32 random bytes that were never kept; a
	// match cannot happen, and would not sign anyone in.
	return ErrMismatch
}

// deriveInSlot derives the key of password with stored's salt and
// parameters while holding a slot.
func (h *Hasher) deriveInSlot(ctx context.Context, password string, stored phc) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	return h.derive(password, stored.salt, stored.params), nil
}

// NeedsRehash reports whether encoded should be replaced by a new Hash: its
// parameters differ from the Hasher's, or it is not a hash Verify accepts.
// It does not hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	stored, err := parse(encoded, h.limits)
	return err != nil || stored.params != h.params
}

func (h *Hasher) checkLength(password string) error {
	if len(password) > h.maxPassword {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLong, h.maxPassword)
	}
	return nil
}

// Stats describe a Hasher's load at one moment.
type Stats struct {
	// Running is how many hashes hold a slot.
	Running int
	// Waiting is how many callers wait for a slot.
	Waiting int
	// Refused counts the ErrBusy answers since the Hasher was built.
	Refused uint64
}

// Stats returns the Hasher's current load, for metrics.
func (h *Hasher) Stats() Stats {
	return Stats{
		Running: len(h.slots),
		Waiting: int(h.waiting.Load()),
		Refused: h.refused.Load(),
	}
}

// acquire takes a hashing slot, waiting in arrival order while the queue
// has room, for at most maxWait and while ctx lasts. It returns ErrBusy
// (joined with context.DeadlineExceeded when ctx's deadline ended the wait)
// or ctx's error when ctx was cancelled. On nil the caller must release.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return h.ctxError(err)
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > h.maxQueue {
		h.waiting.Add(-1)
		h.refused.Add(1)
		return fmt.Errorf("%w: %d callers already waiting", ErrBusy, h.maxQueue)
	}
	defer h.waiting.Add(-1)
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-timer.C:
		h.refused.Add(1)
		return fmt.Errorf("%w: no slot within %s", ErrBusy, h.maxWait)
	case <-ctx.Done():
		return h.ctxError(ctx.Err())
	}
}

func (h *Hasher) ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		h.refused.Add(1)
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return fmt.Errorf("password: wait for a hashing slot: %w", err)
}

func (h *Hasher) release() { <-h.slots }
