package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rustok/rustok/domain"
)

var errSlugTaken = domain.Conflict("slug is taken")

func TestCodeOf(t *testing.T) {
	cause := errors.New("driver exploded")
	tests := []struct {
		name    string
		err     error
		code    domain.Code
		message string
		is      error
	}{
		{"plain error is internal and hides its text", cause, domain.CodeInternal, "internal error", cause},
		{"wrapped application error keeps its code", fmt.Errorf("create tenant: %w", errSlugTaken), domain.CodeConflict, "slug is taken", errSlugTaken},
		{"wrapping a cause keeps both identities", errSlugTaken.Wrap(cause), domain.CodeConflict, "slug is taken", cause},
		{"field error is bad input", domain.InvalidField("slug", "slug is too long"), domain.CodeBadInput, "slug is too long", nil},
		{"module disabled names the module", domain.ModuleDisabled("blog"), domain.CodeModuleDisabled, "module blog is disabled for this tenant", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.CodeOf(tc.err); got != tc.code {
				t.Errorf("CodeOf = %s, want %s", got, tc.code)
			}
			if got := domain.MessageOf(tc.err); got != tc.message {
				t.Errorf("MessageOf = %q, want %q", got, tc.message)
			}
			if tc.is != nil && !errors.Is(tc.err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.is)
			}
		})
	}
	if errors.Is(domain.Conflict("other"), errSlugTaken) {
		t.Error("different messages must not match")
	}
	if got := domain.FieldOf(fmt.Errorf("x: %w", domain.InvalidField("name", "bad"))); got != "name" {
		t.Errorf("FieldOf = %q", got)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"shorter input is unchanged", "shop", 5, "shop"},
		{"input of exactly n bytes is unchanged", "shops", 5, "shops"},
		{"longer input is cut and marked", "shopping", 5, "shopp…"},
		{"the cut counts bytes", "ééé", 3, "é\xc3…"},
		{"empty input", "", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.Clip(tc.in, tc.n); got != tc.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
