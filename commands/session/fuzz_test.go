package session_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	sessioncmd "github.com/rustok/rustok/commands/session"
	"github.com/rustok/rustok/domain"
)

// FuzzParseRefreshToken: the parser never panics, refuses with the one
// UNAUTHENTICATED error, and accepts only the canonical form.
func FuzzParseRefreshToken(f *testing.F) {
	id := "01900000-0000-7000-8000-00000000005e"
	for _, s := range []string{
		"", ".", id, id + ".", id + "." + strings.Repeat("A", 43), id + "." + strings.Repeat("A", 42) + "=",
		strings.ToUpper(id) + "." + strings.Repeat("_", 43), " " + id + "." + strings.Repeat("-", 43) + "\n",
		uuid.NewString() + "." + strings.Repeat("b", 44), strings.Repeat(".", 300),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		sid, err := sessioncmd.ParseRefreshToken(raw)
		if err != nil {
			if sid != "" || domain.CodeOf(err) != domain.CodeUnauthenticated || domain.MessageOf(err) != domain.MessageOf(sessioncmd.ErrInvalidRefreshToken) {
				t.Fatalf("ParseRefreshToken(%q) = %q, %v", raw, sid, err)
			}
			return
		}
		trimmed := strings.TrimSpace(raw)
		if len(raw) > sessioncmd.MaxRefreshTokenInput || len(trimmed) != sessioncmd.RefreshTokenLength ||
			trimmed[:36] != sid || trimmed[36] != '.' || uuid.MustParse(sid).String() != sid {
			t.Fatalf("ParseRefreshToken(%q) accepted %q", raw, sid)
		}
	})
}
