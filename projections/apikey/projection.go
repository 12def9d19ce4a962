package apikey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
)

// Name is the projection's consumer group and checkpoint key.
//
// WARNING: renaming it replays the projection from position 0 under the new
// name (and leaves the old checkpoint behind).
const Name = "api_keys"

// TableKeys is the read-model table the projection owns (created by
// migration 000005): one row per key, its state after the event of stream
// version `version`. The projection always names it through relay.Tx.Table,
// because a replay writes to a fresh copy. api_key_usage, created by the
// same migration, is not the projection's.
const TableKeys = "rm_api_keys"

// ErrMissingRow is returned (wrapped) by a handler of an event that changes
// a key the read model does not have, which happens only when the key's
// api_key.created event was not applied (for example, dead-lettered). The
// relay retries the event and then dead-letters it, which makes the gap
// visible in `rustok projections status`.
var ErrMissingRow = errors.New("API key row missing from the read model")

// ErrInvalidHistory is returned (wrapped) by a handler of an event the API
// key aggregate would refuse in its stream: a second api_key.created, an
// event after api_key.revoked, or an event whose key or tenant differ from
// its stream's. The relay dead-letters it.
var ErrInvalidHistory = errors.New("API key event does not follow its stream")

// Projection returns the API keys projection: a relay consumer of kind
// projection that owns TableKeys and handles every API key event type
// (apikey.EventTypes). The read model keeps what the aggregate keeps: name,
// prefix, secret hash, permissions (sorted "resource:action" strings),
// creator, creation time, expiry and revocation time.
//
// It is a relay.Fold: per batch of events it reads the rows of the batch's
// keys with one SELECT, folds the events into them in memory, and writes
// them back with one guarded multi-row upsert.
func Projection() relay.Consumer {
	return relay.Consumer{
		Name:   Name,
		Kind:   relay.KindProjection,
		Tables: []string{TableKeys},
		Batch: relay.Fold[row]{
			Load:  load,
			Save:  save,
			Clone: row.clone,
			On: map[string]relay.FoldHandler[row]{
				apikey.TypeCreated: relay.FoldOn(created),
				apikey.TypeRevoked: relay.FoldOn(revoked),
			},
		}.Batch(),
	}
}

// row is a key's row of rm_api_keys without its id and version, which
// relay.Row holds (StreamID, Version).
type row struct {
	TenantID, Name     string
	Prefix, SecretHash string
	Permissions        []string
	CreatedBy          string
	CreatedAt          time.Time
	// ExpiresAt is zero for a key without expiry, RevokedAt while the key
	// is not revoked (NULL in the table).
	ExpiresAt time.Time
	RevokedAt time.Time
}

func (r row) clone() row {
	r.Permissions = slices.Clone(r.Permissions)
	return r
}

// created is the key's first event (stream version 1): the fold applies it
// only when the key has no row yet. The row's tenant is the stream's (the
// log's tenant column), which must be the payload's.
func created(r *relay.Row[row], p apikey.Created, e eventstore.Event) error {
	switch {
	case r.Exists:
		return fmt.Errorf("%s of key %s at version %d: the key was already created: %w", e.Type, e.Stream.ID, e.Version, ErrInvalidHistory)
	case p.KeyID != e.Stream.ID || p.TenantID != e.Stream.TenantID:
		return fmt.Errorf("%s of key %q in tenant %q, stored in stream %s of tenant %q: %w",
			e.Type, p.KeyID, p.TenantID, e.Stream.ID, e.Stream.TenantID, ErrInvalidHistory)
	}
	v := row{TenantID: e.Stream.TenantID, Name: p.Name, Prefix: p.Prefix, SecretHash: p.SecretHash,
		Permissions: slices.Clone(p.Permissions), CreatedBy: p.CreatedBy, CreatedAt: eventTime(p.At, e)}
	if v.Permissions == nil {
		v.Permissions = []string{}
	}
	if p.ExpiresAt != nil {
		v.ExpiresAt = p.ExpiresAt.UTC()
	}
	r.Value = v
	return nil
}

// revoked marks the key revoked. The fold calls it only for an event newer
// than the row (relay.CheckVersion). A key without a row is ErrMissingRow;
// an event of another key, or after the revocation, is ErrInvalidHistory.
func revoked(r *relay.Row[row], p apikey.Revoked, e eventstore.Event) error {
	switch {
	case !r.Exists:
		return fmt.Errorf("%s of key %s at version %d: %w", e.Type, e.Stream.ID, e.Version, ErrMissingRow)
	case p.KeyID != e.Stream.ID:
		return fmt.Errorf("%s of key %q stored in stream %s: %w", e.Type, p.KeyID, e.Stream.ID, ErrInvalidHistory)
	case !r.Value.RevokedAt.IsZero():
		return fmt.Errorf("%s of key %s at version %d after %s: %w", e.Type, e.Stream.ID, e.Version, apikey.TypeRevoked, ErrInvalidHistory)
	}
	r.Value.RevokedAt = eventTime(p.At, e)
	return nil
}

// dbRow is a row of rm_api_keys as stored.
type dbRow struct {
	ID          string        `db:"id"`
	TenantID    string        `db:"tenant_id"`
	Name        string        `db:"name"`
	Prefix      string        `db:"prefix"`
	SecretHash  string        `db:"secret_hash"`
	Permissions string        `db:"permissions"`
	CreatedBy   string        `db:"created_by"`
	CreatedAt   database.Time `db:"created_at"`
	ExpiresAt   database.Time `db:"expires_at"` // zero when NULL
	RevokedAt   database.Time `db:"revoked_at"` // zero when NULL
	Version     int64         `db:"version"`
}

// columns are the columns of rm_api_keys, in the order save writes them.
func columns() []string {
	return []string{"id", "tenant_id", "name", "prefix", "secret_hash", "permissions", "created_by", "created_at",
		"expires_at", "revoked_at", "version"}
}

// load reads the rows of the given keys with one multi-row SELECT.
func load(ctx context.Context, tx *relay.Tx, ids []string) ([]relay.Row[row], error) {
	var rows []dbRow
	q := `SELECT ` + strings.Join(columns(), ", ") + ` FROM ` + tx.Table(TableKeys) + ` WHERE id IN (?)`
	if err := tx.SelectIn(ctx, &rows, q, ids); err != nil {
		return nil, fmt.Errorf("read %d API keys: %w", len(ids), err)
	}
	out := make([]relay.Row[row], len(rows))
	for i, d := range rows {
		v := row{TenantID: d.TenantID, Name: d.Name, Prefix: d.Prefix, SecretHash: d.SecretHash, CreatedBy: d.CreatedBy,
			CreatedAt: d.CreatedAt.Time, ExpiresAt: d.ExpiresAt.Time, RevokedAt: d.RevokedAt.Time}
		if err := json.Unmarshal([]byte(d.Permissions), &v.Permissions); err != nil {
			return nil, fmt.Errorf("decode permissions of API key %s: %w", d.ID, err)
		}
		out[i] = relay.Row[row]{StreamID: d.ID, Version: d.Version, Value: v}
	}
	return out, nil
}

// save writes the changed keys with one guarded multi-row upsert.
func save(ctx context.Context, tx *relay.Tx, changes []relay.Change[row]) error {
	rows := make([][]any, 0, len(changes))
	for _, c := range changes {
		v := c.After.Value
		perms := v.Permissions
		if perms == nil {
			perms = []string{}
		}
		b, err := json.Marshal(perms)
		if err != nil {
			return fmt.Errorf("encode permissions of API key %s: %w", c.After.StreamID, err)
		}
		rows = append(rows, []any{c.After.StreamID, v.TenantID, v.Name, v.Prefix, v.SecretHash, string(b), v.CreatedBy,
			tx.Time(v.CreatedAt), nullTime(tx, v.ExpiresAt), nullTime(tx, v.RevokedAt), c.After.Version})
	}
	return tx.Upsert(ctx, relay.Upsert{Table: TableKeys, Columns: columns(), Key: []string{"id"}, Version: "version"}, rows)
}

// nullTime is NULL for the zero time, else t in the dialect's form.
func nullTime(tx *relay.Tx, t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return tx.Time(t)
}

// eventTime is the time an event records, or the time it was stored if the
// payload has none.
func eventTime(at time.Time, e eventstore.Event) time.Time {
	if at.IsZero() {
		return e.RecordedAt.UTC()
	}
	return at.UTC()
}
