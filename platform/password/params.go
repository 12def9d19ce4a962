package password

import (
	"errors"
	"fmt"
)

// Defaults of Params: OWASP's minimum for Argon2id (m=19 MiB, t=2, p=1), a
// 128-bit salt and a 256-bit key.
const (
	DefaultMemoryKiB   = 19456
	DefaultIterations  = 2
	DefaultParallelism = 1
	DefaultSaltLength  = 16
	DefaultKeyLength   = 32
)

// Defaults of Limits. 64 MiB admits RFC 9106's second recommendation
// (m=64 MiB, t=3, p=4) and the defaults of common libraries, so hashes made
// elsewhere can be imported and rehashed at the next sign-in.
const (
	DefaultMaxMemoryKiB   = 64 * 1024
	DefaultMaxIterations  = 10
	DefaultMaxParallelism = 16
)

// Bounds of the salt and key lengths, in bytes, for new and stored hashes
// alike. RFC 9106 recommends a 16-byte salt and allows 8; a key shorter than
// 16 bytes is too easy to collide with.
const (
	MinSaltLength = 8
	MaxSaltLength = 64
	MinKeyLength  = 16
	MaxKeyLength  = 64
)

// Params are the Argon2id parameters of new hashes. A zero field takes its
// default, so that Params built from configuration need only the three cost
// fields (auth.password.argon2_memory_kib, argon2_iterations,
// argon2_parallelism).
type Params struct {
	// MemoryKiB is the memory cost m, in KiB, at least 8 per lane. Every
	// running hash holds this much memory. Default 19456 (19 MiB).
	MemoryKiB uint32
	// Iterations is the time cost t: passes over the memory, at least 1.
	// Default 2.
	Iterations uint32
	// Parallelism is the number of lanes p, at least 1. A running hash uses
	// one goroutine (one core) per lane. Default 1.
	Parallelism uint8
	// SaltLength is the length of the random salt in bytes, MinSaltLength to
	// MaxSaltLength. Default 16.
	SaltLength uint32
	// KeyLength is the length of the derived key in bytes, MinKeyLength to
	// MaxKeyLength. Default 32.
	KeyLength uint32
}

// DefaultParams returns the default parameters.
func DefaultParams() Params {
	return Params{}.withDefaults()
}

func (p Params) withDefaults() Params {
	if p.MemoryKiB == 0 {
		p.MemoryKiB = DefaultMemoryKiB
	}
	if p.Iterations == 0 {
		p.Iterations = DefaultIterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = DefaultParallelism
	}
	if p.SaltLength == 0 {
		p.SaltLength = DefaultSaltLength
	}
	if p.KeyLength == 0 {
		p.KeyLength = DefaultKeyLength
	}
	return p
}

// Limits bound the parameters a Hasher accepts, in its own Params and in the
// stored hashes it verifies. They exist because a stored hash chooses the
// cost of verifying it. A zero field takes its default.
type Limits struct {
	// MaxMemoryKiB is the largest memory cost m, in KiB. Default 65536
	// (64 MiB).
	MaxMemoryKiB uint32
	// MaxIterations is the largest time cost t. Default 10.
	MaxIterations uint32
	// MaxParallelism is the largest number of lanes p. Default 16.
	MaxParallelism uint8
}

func (l Limits) withDefaults() Limits {
	if l.MaxMemoryKiB == 0 {
		l.MaxMemoryKiB = DefaultMaxMemoryKiB
	}
	if l.MaxIterations == 0 {
		l.MaxIterations = DefaultMaxIterations
	}
	if l.MaxParallelism == 0 {
		l.MaxParallelism = DefaultMaxParallelism
	}
	return l
}

// check reports every way p (with its defaults applied) falls outside l or
// outside Argon2id's own rules, naming the parameter.
func (p Params) check(l Limits) error {
	var errs []error
	if err := checkCost(p.MemoryKiB, p.Iterations, p.Parallelism, l); err != nil {
		errs = append(errs, err)
	}
	if p.SaltLength < MinSaltLength || p.SaltLength > MaxSaltLength {
		errs = append(errs, fmt.Errorf("salt length must be between %d and %d bytes, got %d", MinSaltLength, MaxSaltLength, p.SaltLength))
	}
	if p.KeyLength < MinKeyLength || p.KeyLength > MaxKeyLength {
		errs = append(errs, fmt.Errorf("key length must be between %d and %d bytes, got %d", MinKeyLength, MaxKeyLength, p.KeyLength))
	}
	return errors.Join(errs...)
}

// checkCost checks the cost parameters m (KiB), t and p against l and
// against RFC 9106 (t ≥ 1, p ≥ 1, m ≥ 8p). It is shared by the Hasher's own
// Params and by parsing, so that the Hasher never makes a hash it would
// refuse to verify.
func checkCost(m, t uint32, p uint8, l Limits) error {
	var errs []error
	if p < 1 || p > l.MaxParallelism {
		errs = append(errs, fmt.Errorf("parallelism must be between 1 and %d, got %d", l.MaxParallelism, p))
	}
	if least := 8 * uint32(max(p, 1)); m < least || m > l.MaxMemoryKiB {
		errs = append(errs, fmt.Errorf("memory must be between %d KiB (8 per lane) and %d KiB, got %d", least, l.MaxMemoryKiB, m))
	}
	if t < 1 || t > l.MaxIterations {
		errs = append(errs, fmt.Errorf("iterations must be between 1 and %d, got %d", l.MaxIterations, t))
	}
	return errors.Join(errs...)
}
