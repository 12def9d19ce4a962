package user_test

import (
	"strings"
	"testing"

	"github.com/rustok/rustok/domain/user"
)

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"", "@", "admin@demo.local", " Admin@Demo.LOCAL ", "a..b@example.com", "a@b", "a@b.", "a@-b.com",
		"a@1.2", "\u212A@example.com", "пользователь@example.com", "a@b@c.com", `"q"@example.com`,
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + ".com", "a\xff@example.com",
	} {
		f.Add(s)
	}
	const allowed = "abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-@"
	f.Fuzz(func(t *testing.T, s string) {
		got, err := user.NormalizeEmail(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeEmail(%q) = %q with error %v", s, got, err)
			}
			return
		}
		if len(got) < 5 || len(got) > user.MaxEmailLength || strings.Count(got, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q: bad length or @ count", s, got)
		}
		for i := 0; i < len(got); i++ {
			if strings.IndexByte(allowed, got[i]) < 0 {
				t.Fatalf("NormalizeEmail(%q) = %q: byte %q not allowed", s, got, got[i])
			}
		}
		local, domain, _ := strings.Cut(got, "@")
		if len(local) > user.MaxEmailLocalLength || !strings.Contains(domain, ".") || strings.ContainsAny(domain, "!#$%&'*+/=?^_`{|}~") {
			t.Fatalf("NormalizeEmail(%q) = %q: bad parts", s, got)
		}
		if !strings.EqualFold(strings.TrimSpace(s), got) {
			t.Fatalf("NormalizeEmail(%q) = %q: not the input up to case and trimming", s, got)
		}
		if again, err := user.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q, %v; not a fixed point", got, again, err)
		}
	})
}

func FuzzPolicyCheck(f *testing.F) {
	for _, s := range []string{"", "abcdefgh", "пароль12", "alice@example.com", "\xff\xfe", strings.Repeat("€", 400)} {
		f.Add(s, "alice@example.com")
	}
	f.Fuzz(func(t *testing.T, password, email string) {
		err := user.Policy{}.Check(password, email)
		if err == nil && (len(password) > user.DefaultMaxBytes || len([]rune(password)) < user.DefaultMinLength) {
			t.Fatalf("Check(%q) accepted a password outside the limits", password)
		}
		if err == nil && strings.TrimSpace(email) != "" && strings.EqualFold(strings.TrimSpace(password), strings.TrimSpace(email)) {
			t.Fatalf("Check(%q, %q) accepted the email", password, email)
		}
	})
}
