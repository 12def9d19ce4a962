package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// TestLoadHistory: the merged history of several streams of a tenant, in
// position order, paged by position, with the total; another tenant's
// streams and other streams of the tenant stay out.
func TestLoadHistory(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ctx := context.Background()
		s := mustStore(t, dbURL, eventstore.Options{})
		tenant, other := uuid.NewString(), uuid.NewString()
		u, s1, s2, s3 := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
		var want []string
		add := func(tenantID, typ, id, text string, expected int64) {
			mustAppend(t, s, eventstore.Stream{Type: typ, ID: id, TenantID: tenantID}, expected, ev(text))
			if tenantID == tenant && typ != "note" && (id == u || id == s1 || id == s2) {
				want = append(want, text)
			}
		}
		add(tenant, "user", u, "registered", 0)
		add(tenant, "session", s1, "s1 started", 0)
		add(other, "session", s3, "another tenant's stream", 0)
		add(tenant, "session", uuid.NewString(), "another user's session", 0)
		add(tenant, "session", s2, "s2 started", 0)
		add(tenant, "user", u, "renamed", 1)
		add(tenant, "session", s1, "s1 revoked", 1)
		add(tenant, "note", u, "another stream type with the user's id", 0)
		// s3 is named but belongs to another tenant.
		refs := []eventstore.StreamRef{{Type: "user", ID: u}, {Type: "session", ID: s1}, {Type: "session", ID: s2}, {Type: "session", ID: s3}}

		var got []string
		var after int64
		for page := 0; ; page++ {
			evs, total, err := s.LoadHistory(ctx, tenant, refs, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if total != int64(len(want)) {
				t.Errorf("total %d, want %d", total, len(want))
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				if e.Position <= after || e.Stream.TenantID != tenant {
					t.Fatalf("event %+v after position %d", e, after)
				}
				var p noted
				if err := json.Unmarshal(e.Payload, &p); err != nil {
					t.Fatal(err)
				}
				got, after = append(got, p.Text), e.Position
			}
			if page > 10 {
				t.Fatal("no end")
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("history %q, want %q", got, want)
		}

		if evs, total, err := s.LoadHistory(ctx, tenant, nil, 0, 10); err != nil || len(evs) != 0 || total != 0 {
			t.Errorf("no streams: %v %d %v", evs, total, err)
		}
		many := make([]eventstore.StreamRef, eventstore.MaxHistoryStreams+1)
		for i := range many {
			many[i] = eventstore.StreamRef{Type: "session", ID: fmt.Sprint(i)}
		}
		if _, _, err := s.LoadHistory(ctx, tenant, many, 0, 10); err == nil {
			t.Error("more than MaxHistoryStreams streams were accepted")
		}
	})
}
