package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/password"
)

// fast are cheap parameters that keep the tests quick; the defaults are
// exercised by the benchmarks and TestDefaults.
var fast = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func mustNew(tb testing.TB, o password.Options) *password.Hasher {
	tb.Helper()
	h, err := password.New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return h
}

func mustHash(tb testing.TB, h *password.Hasher, pw string) string {
	tb.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		tb.Fatalf("Hash: %v", err)
	}
	return enc
}

func TestDefaults(t *testing.T) {
	h := mustNew(t, password.Options{})
	want := password.Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	if got := h.Params(); got != want {
		t.Fatalf("Params() = %+v, want %+v", got, want)
	}
	if got := password.DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
	enc := mustHash(t, h, "correct horse battery staple")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the default parameters", enc)
	}
	// 16-byte salt and 32-byte key: 22 and 43 base64 characters.
	parts := strings.Split(enc, "$")
	if len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Fatalf("salt and key are %d and %d characters, want 22 and 43", len(parts[4]), len(parts[5]))
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		params   password.Params
		password string
	}{
		{name: "ordinary password", params: fast, password: "correct horse battery staple"},
		{name: "empty password", params: fast, password: ""},
		{name: "one byte", params: fast, password: "a"},
		{name: "non-ASCII", params: fast, password: "пароль-🔑-密码"},
		{name: "NUL inside", params: fast, password: "a\x00b"},
		{name: "invalid UTF-8", params: fast, password: "\xff\xfe\xfd"},
		{name: "exactly the length limit", params: fast, password: strings.Repeat("x", password.DefaultMaxPasswordBytes)},
		{name: "two lanes", params: password.Params{MemoryKiB: 64, Iterations: 2, Parallelism: 2}, password: "lanes"},
		{name: "shortest salt and key", params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 8, KeyLength: 16}, password: "short"},
		{name: "longest salt and key", params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 64, KeyLength: 64}, password: "long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := mustNew(t, password.Options{Params: tc.params})
			ctx := context.Background()
			enc := mustHash(t, h, tc.password)

			rehash, err := h.Verify(ctx, tc.password, enc)
			if err != nil {
				t.Fatalf("Verify(right password) = %v", err)
			}
			if rehash {
				t.Error("Verify reports rehash for a hash made with the current parameters")
			}
			if h.NeedsRehash(enc) {
				t.Error("NeedsRehash is true for a hash made with the current parameters")
			}
			wrongs := []string{tc.password + "x", "x" + tc.password, strings.ToUpper(tc.password) + "!", tc.password[:len(tc.password)/2]}
			if n := len(tc.password); n > 0 {
				wrongs = append(wrongs, tc.password[:n-1]+string([]byte{tc.password[n-1] ^ 1}))
			}
			for _, wrong := range wrongs {
				if wrong == tc.password || len(wrong) > password.DefaultMaxPasswordBytes {
					continue
				}
				if _, err := h.Verify(ctx, wrong, enc); !errors.Is(err, password.ErrMismatch) {
					t.Errorf("Verify(%.20q) = %v, want ErrMismatch", wrong, err)
				}
			}
			if again := mustHash(t, h, tc.password); again == enc {
				t.Error("two hashes of one password are equal: the salt is not random")
			}
		})
	}
}

// TestVerifyReferenceHashes checks hashes made by the reference C
// implementation (github.com/P-H-C/phc-winner-argon2, src/test.c and its
// command line tool), password "password", salt "somesalt".
func TestVerifyReferenceHashes(t *testing.T) {
	tests := []struct {
		name    string
		encoded string
		big     bool
	}{
		{name: "m=256 t=2 p=1", encoded: "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{name: "m=256 t=2 p=2", encoded: "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
		{name: "m=64MiB t=2 p=1 (at the memory limit)", encoded: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", big: true},
		{name: "m=64MiB t=2 p=4 (24-byte key)", encoded: "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo", big: true},
	}
	h := mustNew(t, password.Options{Params: fast})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.big && testing.Short() {
				t.Skip("64 MiB hash skipped in -short")
			}
			rehash, err := h.Verify(context.Background(), "password", tc.encoded)
			if err != nil {
				t.Fatalf("Verify(reference) = %v", err)
			}
			if !rehash {
				t.Error("Verify does not report rehash for other parameters")
			}
			if _, err := h.Verify(context.Background(), "Password", tc.encoded); !errors.Is(err, password.ErrMismatch) {
				t.Errorf("Verify(wrong) = %v, want ErrMismatch", err)
			}
		})
	}
}

func TestVerifyRefusesCostAboveLimits(t *testing.T) {
	// A genuine reference hash (m=256 MiB) above the default memory limit:
	// refused before any memory is allocated.
	const big = "$argon2id$v=19$m=262144,t=2,p=1$c29tZXNhbHQ$eP4eyR+zqlZX1y5xCFTkw9m5GYx0L5YWwvCFvtlbLow"
	const ref = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	tests := []struct {
		name    string
		limits  password.Limits
		encoded string
	}{
		{name: "memory above the default limit", encoded: big},
		{name: "memory above a configured limit", limits: password.Limits{MaxMemoryKiB: 128}, encoded: ref},
		{name: "iterations above a configured limit", limits: password.Limits{MaxIterations: 1}, encoded: ref},
		{name: "parallelism above a configured limit", limits: password.Limits{MaxParallelism: 1},
			encoded: "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
		{name: "iterations above the default limit", encoded: strings.Replace(ref, "t=2", "t=11", 1)},
		{name: "parallelism above the default limit", encoded: strings.Replace(ref, "p=1", "p=17", 1)},
		{name: "maximal values", encoded: strings.Replace(ref, "m=256,t=2,p=1", "m=4294967295,t=4294967295,p=255", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustNew(t, password.Options{Params: fast, Limits: tc.limits})
			if _, err := h.Verify(context.Background(), "password", tc.encoded); !errors.Is(err, password.ErrInvalidHash) {
				t.Fatalf("Verify = %v, want ErrInvalidHash", err)
			}
			if !h.NeedsRehash(tc.encoded) {
				t.Error("NeedsRehash is false for a hash Verify refuses")
			}
		})
	}
}

func TestVerifyTamperedHash(t *testing.T) {
	h := mustNew(t, password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}})
	const pw = "tamper-proof"
	enc := mustHash(t, h, pw)
	parts := strings.Split(enc, "$") // "", argon2id, v=19, params, salt, key
	salt, key := parts[4], parts[5]
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	join := func(params, salt, key string) string {
		return "$argon2id$v=19$" + params + "$" + salt + "$" + key
	}
	tests := []struct {
		name    string
		encoded string
		wantErr error
	}{
		{name: "key first character changed", encoded: join(parts[3], salt, flip(key, 0)), wantErr: password.ErrMismatch},
		{name: "key middle character changed", encoded: join(parts[3], salt, flip(key, 20)), wantErr: password.ErrMismatch},
		{name: "salt changed", encoded: join(parts[3], flip(salt, 5), key), wantErr: password.ErrMismatch},
		{name: "memory changed", encoded: join("m=72,t=1,p=1", salt, key), wantErr: password.ErrMismatch},
		{name: "iterations changed", encoded: join("m=64,t=2,p=1", salt, key), wantErr: password.ErrMismatch},
		{name: "parallelism changed", encoded: join("m=64,t=1,p=2", salt, key), wantErr: password.ErrMismatch},
		{name: "key truncated to 30 bytes", encoded: join(parts[3], salt, key[:40]), wantErr: password.ErrMismatch},
		{name: "salt truncated to 12 bytes", encoded: join(parts[3], salt[:16], key), wantErr: password.ErrMismatch},
		{name: "key cut below 16 bytes", encoded: join(parts[3], salt, key[:20]), wantErr: password.ErrInvalidHash},
		{name: "key with padding", encoded: join(parts[3], salt, key+"="), wantErr: password.ErrInvalidHash},
		{name: "salt in URL-safe base64", encoded: join(parts[3], "-_"+salt[2:], key), wantErr: password.ErrInvalidHash},
		{name: "version changed", encoded: strings.Replace(enc, "v=19", "v=16", 1), wantErr: password.ErrInvalidHash},
		{name: "variant changed", encoded: strings.Replace(enc, "argon2id", "argon2i", 1), wantErr: password.ErrInvalidHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.encoded == enc {
				t.Fatal("the tampered hash equals the original")
			}
			_, err := h.Verify(context.Background(), pw, tc.encoded)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	// The parser's own table is in phc_test.go; this checks what Verify
	// and NeedsRehash make of a few, and that no error quotes the hash.
	h := mustNew(t, password.Options{Params: fast})
	for _, enc := range []string{
		"",
		"plain-text-password",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", // bcrypt
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$",
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4=",
		strings.Repeat("$", 10000),
	} {
		_, err := h.Verify(context.Background(), "password", enc)
		if !errors.Is(err, password.ErrInvalidHash) {
			t.Errorf("Verify(%.40q) = %v, want ErrInvalidHash", enc, err)
			continue
		}
		if len(enc) > 20 && strings.Contains(err.Error(), enc[15:]) {
			t.Errorf("error %q quotes the hash", err)
		}
		if !h.NeedsRehash(enc) {
			t.Errorf("NeedsRehash(%.40q) = false", enc)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	old := mustNew(t, password.Options{Params: fast})
	enc := mustHash(t, old, "migrate me")
	tests := []struct {
		name   string
		params password.Params
		want   bool
	}{
		{name: "same parameters", params: fast, want: false},
		{name: "same parameters spelled out", params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, want: false},
		{name: "more memory", params: password.Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1}, want: true},
		{name: "less memory", params: password.Params{MemoryKiB: 32, Iterations: 1, Parallelism: 1}, want: true},
		{name: "more iterations", params: password.Params{MemoryKiB: 64, Iterations: 2, Parallelism: 1}, want: true},
		{name: "more lanes", params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 2}, want: true},
		{name: "longer salt", params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 32}, want: true},
		{name: "shorter key", params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, KeyLength: 16}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustNew(t, password.Options{Params: tc.params})
			if got := h.NeedsRehash(enc); got != tc.want {
				t.Errorf("NeedsRehash = %v, want %v", got, tc.want)
			}
			// Verify accepts the old hash and says the same.
			rehash, err := h.Verify(context.Background(), "migrate me", enc)
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if rehash != tc.want {
				t.Errorf("Verify rehash = %v, want %v", rehash, tc.want)
			}
			if !tc.want {
				return
			}
			// The new hash is current.
			fresh := mustHash(t, h, "migrate me")
			if rehash, err := h.Verify(context.Background(), "migrate me", fresh); err != nil || rehash {
				t.Errorf("Verify(new hash) = %v, %v; want false, nil", rehash, err)
			}
		})
	}
}

func TestPasswordTooLong(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		password string
		wantErr  error
	}{
		{name: "one byte over the default", password: strings.Repeat("x", password.DefaultMaxPasswordBytes+1), wantErr: password.ErrTooLong},
		{name: "a megabyte", password: strings.Repeat("x", 1<<20), wantErr: password.ErrTooLong},
		{name: "at a configured limit", max: 8, password: "12345678", wantErr: nil},
		{name: "over a configured limit", max: 8, password: "123456789", wantErr: password.ErrTooLong},
		{name: "limit counts bytes, not characters", max: 8, password: "пароль", wantErr: password.ErrTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustNew(t, password.Options{Params: fast, MaxPasswordBytes: tc.max})
			ctx := context.Background()
			valid := mustHash(t, h, "12345678")

			enc, err := h.Hash(ctx, tc.password)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Hash = %v, want %v", err, tc.wantErr)
			}
			if err != nil && enc != "" {
				t.Errorf("Hash returned %q with an error", enc)
			}
			_, err = h.Verify(ctx, tc.password, valid)
			if tc.wantErr == nil && !errors.Is(err, password.ErrMismatch) && err != nil {
				t.Errorf("Verify = %v, want nil or ErrMismatch", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tc.wantErr)
			}
			if err := h.VerifyDummy(ctx, tc.password); tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("VerifyDummy = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	h := mustNew(t, password.Options{Params: fast})
	for _, pw := range []string{"", "password", "correct horse battery staple"} {
		if err := h.VerifyDummy(context.Background(), pw); !errors.Is(err, password.ErrMismatch) {
			t.Errorf("VerifyDummy(%q) = %v, want ErrMismatch", pw, err)
		}
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts password.Options
		want []string // every fragment must appear in the error
	}{
		{name: "memory above the limit", opts: password.Options{Params: password.Params{MemoryKiB: 65537}}, want: []string{"memory"}},
		{name: "memory above a configured limit", opts: password.Options{Params: fast, Limits: password.Limits{MaxMemoryKiB: 32}}, want: []string{"memory"}},
		{name: "memory below 8 KiB per lane", opts: password.Options{Params: password.Params{MemoryKiB: 15, Parallelism: 2}}, want: []string{"8 per lane"}},
		{name: "iterations above the limit", opts: password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 11}}, want: []string{"iterations"}},
		{name: "parallelism above the limit", opts: password.Options{Params: password.Params{MemoryKiB: 256, Parallelism: 17}}, want: []string{"parallelism"}},
		{name: "salt too short", opts: password.Options{Params: password.Params{MemoryKiB: 64, SaltLength: 7}}, want: []string{"salt length"}},
		{name: "salt too long", opts: password.Options{Params: password.Params{MemoryKiB: 64, SaltLength: 65}}, want: []string{"salt length"}},
		{name: "key too short", opts: password.Options{Params: password.Params{MemoryKiB: 64, KeyLength: 15}}, want: []string{"key length"}},
		{name: "key too long", opts: password.Options{Params: password.Params{MemoryKiB: 64, KeyLength: 65}}, want: []string{"key length"}},
		{name: "negative concurrency", opts: password.Options{Params: fast, Concurrency: -1}, want: []string{"concurrency"}},
		{name: "negative max wait", opts: password.Options{Params: fast, MaxWait: -1}, want: []string{"max wait"}},
		{name: "negative max password length", opts: password.Options{Params: fast, MaxPasswordBytes: -1}, want: []string{"max password"}},
		{name: "every problem at once", opts: password.Options{Params: password.Params{MemoryKiB: 1 << 30, Iterations: 100, SaltLength: 1}, Concurrency: -1},
			want: []string{"memory", "iterations", "salt length", "concurrency"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := password.New(tc.opts)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error", h)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
