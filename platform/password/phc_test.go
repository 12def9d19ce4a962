package password

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The parser is tested from inside the package: its strictness is the
// point, and Verify would hide it behind a hash.

// reference is a hash made by the reference C implementation (password
// "password", salt "somesalt", m=256 KiB, t=2, p=1).
const reference = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"

const (
	refSalt = "c29tZXNhbHQ"
	refKey  = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
)

func withCost(cost string) string { return "$argon2id$v=19$" + cost + "$" + refSalt + "$" + refKey }
func withSalt(salt string) string { return "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + refKey }
func withKey(key string) string   { return "$argon2id$v=19$m=256,t=2,p=1$" + refSalt + "$" + key }

// b64Of returns the canonical encoding of n bytes of value c.
func b64Of(n int, c byte) string { return b64.EncodeToString(bytes.Repeat([]byte{c}, n)) }

var defaultLimits = Limits{}.withDefaults()

// malformed lists every way of getting a PHC string wrong that we could
// think of; each must be refused with ErrInvalidHash.
var malformed = []struct{ name, encoded string }{
	// Framing.
	{"empty", ""},
	{"only a dollar", "$"},
	{"no leading dollar", strings.TrimPrefix(reference, "$")},
	{"leading space", " " + reference},
	{"trailing space", reference + " "},
	{"trailing newline", reference + "\n"},
	{"trailing dollar", reference + "$"},
	{"extra field", reference + "$" + refKey},
	{"missing key", "$argon2id$v=19$m=256,t=2,p=1$" + refSalt},
	{"missing salt and key", "$argon2id$v=19$m=256,t=2,p=1"},
	{"empty fields", "$argon2id$v=19$$$"},
	{"over the length bound", reference + strings.Repeat("A", maxEncodedLength)},
	{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	{"plain text", "password"},
	// Variant and version.
	{"argon2i", strings.Replace(reference, "argon2id", "argon2i", 1)},
	{"argon2d", strings.Replace(reference, "argon2id", "argon2d", 1)},
	{"variant upper case", strings.Replace(reference, "argon2id", "ARGON2ID", 1)},
	{"version 16", strings.Replace(reference, "v=19", "v=16", 1)},
	{"version 0x13 spelled in hex", strings.Replace(reference, "v=19", "v=0x13", 1)},
	{"version with leading zero", strings.Replace(reference, "v=19", "v=019", 1)},
	{"version empty", strings.Replace(reference, "v=19", "v=", 1)},
	{"version missing", strings.Replace(reference, "v=19$", "", 1)},
	// Cost parameters: spelling.
	{"parameters empty", withCost("")},
	{"parameters out of order", withCost("t=2,m=256,p=1")},
	{"parameter p missing", withCost("m=256,t=2")},
	{"parameter repeated", withCost("m=256,m=256,p=1")},
	{"extra parameter", withCost("m=256,t=2,p=1,x=1")},
	{"keyid parameter", withCost("m=256,t=2,p=1,keyid=YWJj")},
	{"data parameter", withCost("m=256,t=2,p=1,data=YWJj")},
	{"empty value", withCost("m=,t=2,p=1")},
	{"plus sign", withCost("m=+256,t=2,p=1")},
	{"minus sign", withCost("m=-256,t=2,p=1")},
	{"leading zero", withCost("m=0256,t=2,p=1")},
	{"hexadecimal", withCost("m=0x100,t=2,p=1")},
	{"space after comma", withCost("m=256, t=2, p=1")},
	{"space before value", withCost("m= 256,t=2,p=1")},
	{"upper-case name", withCost("M=256,t=2,p=1")},
	{"semicolons", withCost("m=256;t=2;p=1")},
	{"double comma", withCost("m=256,,t=2,p=1")},
	{"trailing comma", withCost("m=256,t=2,p=1,")},
	{"no equals sign", withCost("m256,t2,p1")},
	{"non-ASCII digit", withCost("m=２56,t=2,p=1")},
	// Cost parameters: values.
	{"memory zero", withCost("m=0,t=2,p=1")},
	{"memory below 8 KiB", withCost("m=7,t=2,p=1")},
	{"memory below 8 KiB per lane", withCost("m=15,t=2,p=2")},
	{"memory above the limit", withCost("m=65537,t=2,p=1")},
	{"memory overflows 32 bits", withCost("m=4294967296,t=2,p=1")},
	{"memory of twenty digits", withCost("m=18446744073709551617,t=2,p=1")},
	{"iterations zero", withCost("m=256,t=0,p=1")},
	{"iterations above the limit", withCost("m=256,t=11,p=1")},
	{"iterations at 2^32-1", withCost("m=256,t=4294967295,p=1")},
	{"parallelism zero", withCost("m=256,t=2,p=0")},
	{"parallelism above the limit", withCost("m=256,t=2,p=17")},
	{"parallelism overflows 8 bits", withCost("m=4096,t=2,p=256")},
	// Salt.
	{"salt empty", withSalt("")},
	{"salt of 7 bytes", withSalt(b64Of(7, 's'))},
	{"salt of 65 bytes", withSalt(b64Of(65, 's'))},
	{"salt padded", withSalt(refSalt + "=")},
	{"salt URL-safe alphabet", withSalt("c29-ZXNh_HQ")},
	{"salt stray bits in last character", withSalt("c29tZXNhbHR")},
	{"salt length 1 mod 4", withSalt(refSalt + "AA")},
	{"salt with newline", withSalt("c29tZXNh\nbHQ")},
	{"salt with carriage return", withSalt("c29tZXNh\rbHQ")},
	{"salt with NUL", withSalt("c29tZXNh\x00bHQ")},
	{"salt with space", withSalt("c29tZXNh bHQ")},
	{"salt with non-ASCII", withSalt("c29tZXNhbHé")},
	// Key.
	{"key empty", withKey("")},
	{"key of 15 bytes", withKey(b64Of(15, 'k'))},
	{"key of 65 bytes", withKey(b64Of(65, 'k'))},
	{"key padded", withKey(refKey + "=")},
	{"key stray bits in last character", withKey(refKey[:42] + "5")},
	{"key with newline", withKey(refKey[:20] + "\n" + refKey[20:])},
	{"key with a dollar inside", withKey(refKey[:20] + "$" + refKey[20:])},
}

func TestParseRefusesMalformed(t *testing.T) {
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parse(tc.encoded, defaultLimits)
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("parse = %+v, %v; want ErrInvalidHash", h, err)
			}
		})
	}
}

func TestParseAcceptsBoundaries(t *testing.T) {
	tests := []struct {
		name    string
		encoded string
		want    Params
	}{
		{"reference", reference, Params{MemoryKiB: 256, Iterations: 2, Parallelism: 1, SaltLength: 8, KeyLength: 32}},
		{"least memory", withCost("m=8,t=1,p=1"), Params{MemoryKiB: 8, Iterations: 1, Parallelism: 1, SaltLength: 8, KeyLength: 32}},
		{"least memory for 16 lanes", withCost("m=128,t=1,p=16"), Params{MemoryKiB: 128, Iterations: 1, Parallelism: 16, SaltLength: 8, KeyLength: 32}},
		{"most memory and iterations", withCost("m=65536,t=10,p=1"), Params{MemoryKiB: 65536, Iterations: 10, Parallelism: 1, SaltLength: 8, KeyLength: 32}},
		{"longest salt", withSalt(b64Of(64, 's')), Params{MemoryKiB: 256, Iterations: 2, Parallelism: 1, SaltLength: 64, KeyLength: 32}},
		{"shortest key", withKey(b64Of(16, 'k')), Params{MemoryKiB: 256, Iterations: 2, Parallelism: 1, SaltLength: 8, KeyLength: 16}},
		{"longest key", withKey(b64Of(64, 'k')), Params{MemoryKiB: 256, Iterations: 2, Parallelism: 1, SaltLength: 8, KeyLength: 64}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parse(tc.encoded, defaultLimits)
			if err != nil {
				t.Fatalf("parse = %v", err)
			}
			if h.params != tc.want {
				t.Errorf("params = %+v, want %+v", h.params, tc.want)
			}
			if got := h.String(); got != tc.encoded {
				t.Errorf("String() = %q, want the input %q", got, tc.encoded)
			}
		})
	}
}

func TestParseHonoursLimits(t *testing.T) {
	l := Limits{MaxMemoryKiB: 1 << 20, MaxIterations: 100, MaxParallelism: 255}.withDefaults()
	for _, enc := range []string{withCost("m=1048576,t=2,p=1"), withCost("m=256,t=100,p=1"), withCost("m=4096,t=2,p=255")} {
		if _, err := parse(enc, l); err != nil {
			t.Errorf("parse(%q) with raised limits = %v", enc, err)
		}
		if _, err := parse(enc, defaultLimits); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("parse(%q) with default limits = %v, want ErrInvalidHash", enc, err)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, n := range []int{8, 9, 10, 11, 16, 31, 32, 33, 63, 64} {
		h := phc{
			params: Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLength: uint32(n), KeyLength: uint32(max(n, MinKeyLength))},
			salt:   bytes.Repeat([]byte{0xff}, n),
			key:    bytes.Repeat([]byte{0x01}, max(n, MinKeyLength)),
		}
		got, err := parse(h.String(), defaultLimits)
		if err != nil {
			t.Fatalf("parse(String()) with %d-byte salt = %v", n, err)
		}
		if got.params != h.params || !bytes.Equal(got.salt, h.salt) || !bytes.Equal(got.key, h.key) {
			t.Errorf("round trip of %d-byte salt: got %+v, want %+v", n, got, h)
		}
	}
}

// FuzzParse checks that parse never panics, that every error is an
// ErrInvalidHash, and that whatever it accepts is within the limits and is
// the one canonical spelling of its value (String gives back the input).
func FuzzParse(f *testing.F) {
	f.Add(reference)
	f.Add("$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc")
	f.Add("$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$" + b64Of(16, 0xa5) + "$" + b64Of(32, 0x5a))
	for _, tc := range malformed {
		f.Add(tc.encoded)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parse(s, defaultLimits)
		if err != nil {
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("parse error %v is not ErrInvalidHash", err)
			}
			return
		}
		if got := h.String(); got != s {
			t.Fatalf("parse accepted a non-canonical spelling: %q re-encodes as %q", s, got)
		}
		p := h.params
		if err := p.check(defaultLimits); err != nil {
			t.Fatalf("parse accepted parameters outside the limits: %v", err)
		}
		if int(p.SaltLength) != len(h.salt) || int(p.KeyLength) != len(h.key) {
			t.Fatalf("lengths %d/%d do not match salt and key %d/%d", p.SaltLength, p.KeyLength, len(h.salt), len(h.key))
		}
	})
}
