package gql

import (
	"encoding/base64"
	"testing"

	"github.com/rustok/rustok/domain"
)

func TestHistoryCursor(t *testing.T) {
	for _, v := range []int64{0, 1, 42, 1 << 40} {
		got, err := decodeHistoryCursor(encodeHistoryCursor(v))
		if err != nil || got != v {
			t.Errorf("round trip of %d = %d, %v", v, got, err)
		}
	}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, bad := range []string{"", "!!", "not-a-cursor", b64([]byte("v:-1")), b64([]byte("x:1")), b64([]byte("v:abc")), b64([]byte("v:")), b64([]byte("v:99999999999999999999"))} {
		if _, err := decodeHistoryCursor(bad); domain.CodeOf(err) != domain.CodeBadInput || domain.FieldOf(err) != "after" {
			t.Errorf("decodeHistoryCursor(%q) = %v, want BAD_USER_INPUT on field after", bad, err)
		}
	}
}

func FuzzHistoryCursor(f *testing.F) {
	f.Add(encodeHistoryCursor(7))
	f.Add("")
	f.Add("dj0tMQ")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := decodeHistoryCursor(s)
		if err != nil {
			if domain.CodeOf(err) != domain.CodeBadInput {
				t.Fatalf("non-client error %v", err)
			}
			return
		}
		if v < 0 {
			t.Fatalf("negative version %d accepted", v)
		}
		if again, err := decodeHistoryCursor(encodeHistoryCursor(v)); err != nil || again != v {
			t.Fatalf("re-encoding %d does not round trip", v)
		}
	})
}
