package apikey_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	apikeyproj "github.com/rustok/rustok/projections/apikey"
	"github.com/rustok/rustok/projections/projectiontest"
)

// t0 is when the first key is created.
var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// keys is the API keys projection as its tests see it.
var keys = projectiontest.Projection[readModel]{Consumer: apikeyproj.Projection, Snapshot: snapshot,
	Diff: func(got, want readModel) string { return projectiontest.DiffRows("API key", got, want) }}

// keyRow is a row of rm_api_keys as the test compares it (ExpiresAt and
// RevokedAt zero for NULL).
type keyRow struct {
	ID, TenantID, Name, Prefix, SecretHash string
	Permissions                            string // the stored JSON, normalized
	CreatedBy                              string
	CreatedAt, ExpiresAt, RevokedAt        time.Time
	Version                                int64
}

// readModel is every rm_api_keys row by id.
type readModel map[string]keyRow

func snapshot(tb testing.TB, db *database.DB) readModel {
	tb.Helper()
	m := readModel{}
	projectiontest.EachRow(tb, db, `SELECT id, tenant_id, name, prefix, secret_hash, permissions, created_by, created_at,
		expires_at, revoked_at, version FROM rm_api_keys`, func(scan func(...any)) {
		var (
			r                               keyRow
			createdAt, expiresAt, revokedAt database.Time
			perms                           string
		)
		scan(&r.ID, &r.TenantID, &r.Name, &r.Prefix, &r.SecretHash, &perms, &r.CreatedBy, &createdAt, &expiresAt, &revokedAt, &r.Version)
		var list []string
		if err := json.Unmarshal([]byte(perms), &list); err != nil || list == nil {
			tb.Errorf("key %s: permissions %q are not a JSON array: %v", r.ID, perms, err)
		}
		r.Permissions = permsJSON(list)
		r.CreatedAt, r.ExpiresAt, r.RevokedAt = createdAt.Time, expiresAt.Time, revokedAt.Time
		m[r.ID] = r
	})
	return m
}

func permsJSON(list []string) string {
	b, _ := json.Marshal(list)
	return string(b)
}

// expectedRow is the row the aggregate k says.
func expectedRow(k *apikey.APIKey) keyRow {
	perms := []string{}
	for _, p := range k.Permissions() {
		perms = append(perms, p.String())
	}
	r := keyRow{ID: k.ID(), TenantID: k.TenantID(), Name: k.Name(), Prefix: k.Prefix(), SecretHash: k.SecretHash(),
		Permissions: permsJSON(perms), CreatedBy: k.CreatedBy(), CreatedAt: k.CreatedAt(), Version: k.Version()}
	r.ExpiresAt, _ = k.ExpiresAt()
	r.RevokedAt, _, _ = k.Revoked()
	return r
}

// appendEvents appends events to key id's stream of tenant at version and
// returns the position of the last.
func appendEvents(tb testing.TB, store *eventstore.Store, tenant, id string, version int64, events []apikey.Event) int64 {
	tb.Helper()
	res, err := store.Append(context.Background(), eventstore.Stream{Type: apikey.StreamType, ID: id, TenantID: tenant}, version, projectiontest.Records(events))
	if err != nil {
		tb.Fatal(err)
	}
	return res.Position
}

func mustCreate(tb testing.TB, s apikey.Spec, at time.Time) (*apikey.APIKey, []apikey.Event) {
	tb.Helper()
	k, evs, err := apikey.Create(s, at)
	if err != nil {
		tb.Fatal(err)
	}
	return k, evs
}

// history appends, through the event store, three keys decided by the
// aggregate: alpha (two permissions, expiring) is revoked, and revoking it
// again appends nothing; beta, of the same tenant, shares alpha's prefix and
// stays live; gamma, in another tenant, never expires. It returns the last
// position and the read model the events must give.
func history(tb testing.TB, store *eventstore.Store) (last int64, want readModel) {
	tb.Helper()
	tenantA, tenantB, user, admin := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	alphaID, betaID, gammaID := uuid.NewString(), uuid.NewString(), uuid.NewString()
	expiry := minute(60 * 24)
	alpha, evs := mustCreate(tb, apikey.Spec{ID: alphaID, TenantID: tenantA, CreatedBy: user, Name: " ERP ",
		Permissions: []string{"orders:read", "Products:List", "orders:read"}, ExpiresAt: &expiry,
		Prefix: "rtk_sharedAA", SecretHash: strings.Repeat("a", 64)}, minute(0))
	last = appendEvents(tb, store, tenantA, alphaID, 0, evs)
	beta, evs := mustCreate(tb, apikey.Spec{ID: betaID, TenantID: tenantA, CreatedBy: admin, Name: "Склад",
		Permissions: []string{"inventory:update"}, Prefix: "rtk_sharedAA", SecretHash: strings.Repeat("b", 64)}, minute(1))
	last = appendEvents(tb, store, tenantA, betaID, 0, evs)
	gamma, evs := mustCreate(tb, apikey.Spec{ID: gammaID, TenantID: tenantB, CreatedBy: user, Name: "CI",
		Permissions: []string{"events:read"}, Prefix: "rtk_gammaGGG", SecretHash: strings.Repeat("c", 64)}, minute(2))
	last = appendEvents(tb, store, tenantB, gammaID, 0, evs)
	evs, err := alpha.Revoke(admin, minute(30))
	if err != nil || len(evs) != 1 {
		tb.Fatalf("revoke: %v, %v", evs, err)
	}
	last = appendEvents(tb, store, tenantA, alphaID, 1, evs)
	if evs, err := alpha.Revoke(user, minute(31)); err != nil || evs != nil {
		tb.Fatalf("revoke again: %v, %v", evs, err)
	}

	want = readModel{
		alphaID: {ID: alphaID, TenantID: tenantA, Name: "ERP", Prefix: "rtk_sharedAA", SecretHash: strings.Repeat("a", 64),
			Permissions: `["orders:read","products:list"]`, CreatedBy: user, CreatedAt: minute(0), ExpiresAt: expiry,
			RevokedAt: minute(30), Version: 2},
		betaID: {ID: betaID, TenantID: tenantA, Name: "Склад", Prefix: "rtk_sharedAA", SecretHash: strings.Repeat("b", 64),
			Permissions: `["inventory:update"]`, CreatedBy: admin, CreatedAt: minute(1), Version: 1},
		gammaID: {ID: gammaID, TenantID: tenantB, Name: "CI", Prefix: "rtk_gammaGGG", SecretHash: strings.Repeat("c", 64),
			Permissions: `["events:read"]`, CreatedBy: user, CreatedAt: minute(2), Version: 1},
	}
	for id, k := range map[string]*apikey.APIKey{alphaID: alpha, betaID: beta, gammaID: gamma} {
		if got := expectedRow(k); !reflect.DeepEqual(got, want[id]) {
			tb.Fatalf("the aggregate says %+v, the test %+v", got, want[id])
		}
	}
	return last, want
}

func TestProjectionThroughTheRunner(t *testing.T) {
	t.Parallel()
	keys.ThroughTheRunner(t, history)
}

func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	keys.RedeliveryChangesNothing(t, history, 4)
}

func TestReplayRebuildsTheSameReadModel(t *testing.T) {
	t.Parallel()
	keys.ReplayRebuilds(t, history, 2, func(e *projectiontest.Env[readModel]) {
		// The replay copied the indexes too (the swap keeps them usable),
		// and left api_key_usage, which is not the projection's, alone.
		var n int
		q := `SELECT count(*) FROM pg_indexes WHERE tablename = 'rm_api_keys' AND schemaname = current_schema()`
		if e.DB.Dialect() == database.SQLite {
			q = `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rm_api_keys' AND sql IS NOT NULL`
		}
		if err := e.DB.Get(&n, q); err != nil || n < 2 {
			e.TB.Errorf("rm_api_keys has %d indexes after the replay (%v), want at least 2", n, err)
		}
	})
}

// TestReplayLeavesUsageAlone: api_key_usage is operational data, not the
// projection's: a replay neither clears nor rebuilds it.
func TestReplayLeavesUsageAlone(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := keys.Open(t, dbURL)
		last, want := history(t, e.Store)
		e.CatchUp(0, last)
		var id string
		for k := range want {
			id = k
			break
		}
		if _, err := e.DB.Exec(e.DB.Rebind(`INSERT INTO api_key_usage (key_id, tenant_id, last_used_at) VALUES (?, ?, ?)`),
			id, want[id].TenantID, database.FormatTime(minute(5))); err != nil {
			t.Fatal(err)
		}
		e.Replay(1000)
		e.Expect(want, "read model after replay")
		var n int
		if err := e.DB.Get(&n, `SELECT count(*) FROM api_key_usage`); err != nil || n != 1 {
			t.Errorf("api_key_usage has %d rows after the replay (%v), want 1", n, err)
		}
	})
}

// TestEventsThatCannotApplyAreDeadLettered: a revocation of a key without a
// row, a second revocation (the aggregate refuses it) and a creation stored
// in another tenant's stream are dead-lettered, each alone; the read model
// keeps the rest.
func TestEventsThatCannotApplyAreDeadLettered(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := keys.Open(t, dbURL)
		store := e.Store
		tenant, user := uuid.NewString(), uuid.NewString()
		orphan, revoked, stranger := uuid.NewString(), uuid.NewString(), uuid.NewString()
		_, err := store.Append(context.Background(), eventstore.Stream{Type: apikey.StreamType, ID: orphan, TenantID: tenant}, 0, []eventstore.NewEvent{
			{Type: "api_key.imported", SchemaVersion: 1, Payload: map[string]string{"key_id": orphan}},
			eventstore.Record(apikey.Revoked{KeyID: orphan, RevokedBy: user, At: minute(1)}),
		})
		if err != nil {
			t.Fatal(err)
		}
		k, evs := mustCreate(t, apikey.Spec{ID: revoked, TenantID: tenant, CreatedBy: user, Name: "k",
			Permissions: []string{"products:read"}, Prefix: "rtk_revokedR", SecretHash: strings.Repeat("d", 64)}, minute(0))
		more, err := k.Revoke(user, minute(1))
		if err != nil {
			t.Fatal(err)
		}
		appendEvents(t, store, tenant, revoked, 0, append(evs, more...))
		appendEvents(t, store, tenant, revoked, 2, []apikey.Event{apikey.Revoked{KeyID: revoked, RevokedBy: user, At: minute(2)}})
		_, evs = mustCreate(t, apikey.Spec{ID: stranger, TenantID: uuid.NewString(), CreatedBy: user, Name: "k",
			Permissions: []string{"products:read"}, Prefix: "rtk_strangeS", SecretHash: strings.Repeat("e", 64)}, minute(0))
		last := appendEvents(t, store, tenant, stranger, 0, evs)
		e.CatchUp(0, last)
		dl := e.DeadLetters()
		if len(dl) != 3 || !strings.Contains(dl[0], apikeyproj.ErrMissingRow.Error()) || !strings.Contains(dl[0], orphan) ||
			!strings.Contains(dl[1], apikeyproj.ErrInvalidHistory.Error()) || !strings.Contains(dl[1], revoked) ||
			!strings.Contains(dl[2], apikeyproj.ErrInvalidHistory.Error()) || !strings.Contains(dl[2], stranger) {
			t.Fatalf("dead letters = %q, want the orphan's revocation (missing row), the second revocation and the stranger's creation (invalid history)", dl)
		}
		got := e.Snapshot()
		if len(got) != 1 || got[revoked].RevokedAt != minute(1) || got[revoked].Version != 2 {
			t.Errorf("read model = %+v, want only the revoked key, unchanged by the second revocation", got)
		}
	})
}
