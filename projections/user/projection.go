package user

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
)

// Name is the projection's consumer group and checkpoint key.
//
// WARNING: renaming it replays the projection from position 0 under the new
// name (and leaves the old checkpoint behind).
const Name = "users"

// TableUsers is the read-model table the projection owns (created by
// migration 000003): one row per user, its state after the event of stream
// version `version`. The projection always names it through relay.Tx.Table,
// because a replay writes to a fresh copy.
const TableUsers = "rm_users"

// ErrMissingRow is returned (wrapped) by a handler of an event that changes a
// user the read model does not have, which happens only when the user's
// user.registered event was not applied (for example, dead-lettered). The
// relay retries the event and then dead-letters it, which makes the gap
// visible in `rustok projections status`.
var ErrMissingRow = errors.New("user row missing from the read model")

// Projection returns the users projection: a relay consumer of kind
// projection that owns TableUsers and handles the seven user event types.
//
// What each event changes in the row (besides version):
//   - user.registered creates it (created_at = updated_at = the event's time);
//   - user.updated sets email, name and email_verified_at;
//   - user.role_changed and user.status_changed set role and status;
//   - user.password_changed sets only updated_at: the account changed, but
//     the hash is a secret the read model never holds;
//   - user.password_reset_requested changes nothing visible, not even
//     updated_at: anyone may ask for a reset of any address, and that changes
//     nothing about the user until a new password is set;
//   - user.deleted marks the row deleted (a tombstone) and sets updated_at;
//     the row keeps its last email, name, role and status.
//
// It is a relay.Fold: per batch of events it reads the rows of the batch's
// users with one SELECT, folds the events into them in memory, and writes
// them back with guarded multi-row upserts (see save).
func Projection() relay.Consumer {
	return relay.Consumer{
		Name:   Name,
		Kind:   relay.KindProjection,
		Tables: []string{TableUsers},
		Batch: relay.Fold[row]{
			Load: load,
			Save: save,
			On: map[string]relay.FoldHandler[row]{
				user.TypeRegistered: relay.FoldOn(registered),
				user.TypeUpdated: relay.FoldOn(func(r *relay.Row[row], p user.Updated, e eventstore.Event) error {
					return change(r, e, p.At, func(s *row) {
						s.Email, s.Name = p.Email, p.Name
						s.EmailVerifiedAt = time.Time{}
						if p.EmailVerifiedAt != nil {
							s.EmailVerifiedAt = p.EmailVerifiedAt.UTC()
						}
					})
				}),
				user.TypeRoleChanged: relay.FoldOn(func(r *relay.Row[row], p user.RoleChanged, e eventstore.Event) error {
					return change(r, e, p.At, func(s *row) { s.Role = string(p.Role) })
				}),
				user.TypeStatusChanged: relay.FoldOn(func(r *relay.Row[row], p user.StatusChanged, e eventstore.Event) error {
					return change(r, e, p.At, func(s *row) { s.Status = string(p.Status) })
				}),
				user.TypePasswordChanged: relay.FoldOn(func(r *relay.Row[row], p passwordChanged, e eventstore.Event) error {
					return change(r, e, p.At, func(*row) {})
				}),
				user.TypePasswordResetRequested: relay.FoldOn(func(r *relay.Row[row], _ struct{}, e eventstore.Event) error {
					return need(r, e)
				}),
				user.TypeDeleted: relay.FoldOn(func(r *relay.Row[row], p user.Deleted, e eventstore.Event) error {
					return change(r, e, p.At, func(s *row) { s.Deleted = true })
				}),
			},
		}.Batch(),
	}
}

// passwordChanged is the part of user.PasswordChanged the projection reads:
// its time, not the hash.
type passwordChanged struct {
	At time.Time `json:"at"`
}

// row is a user's row of rm_users without its id and version, which
// relay.Row holds (StreamID, Version). It has no slices, maps or pointers,
// so the Fold copies it by assignment.
type row struct {
	TenantID, Email, Name, Role, Status string
	// EmailVerifiedAt is zero when the email is not verified.
	EmailVerifiedAt      time.Time
	Deleted              bool
	CreatedAt, UpdatedAt time.Time
}

// registered is the user's first event (stream version 1): the fold applies
// it only when the user has no row yet.
func registered(r *relay.Row[row], p user.Registered, e eventstore.Event) error {
	s := row{TenantID: p.TenantID, Email: p.Email, Name: p.Name, Role: string(p.Role), Status: string(p.Status)}
	// As user.Register does for a registration without them.
	if s.Role == "" {
		s.Role = string(user.RoleCustomer)
	}
	if s.Status == "" {
		s.Status = string(user.StatusActive)
	}
	if s.TenantID == "" {
		s.TenantID = e.Stream.TenantID
	}
	s.CreatedAt = eventTime(p.At, e)
	s.UpdatedAt = s.CreatedAt
	r.Value = s
	return nil
}

// need returns ErrMissingRow (wrapped) if the event's user has no row.
func need(r *relay.Row[row], e eventstore.Event) error {
	if !r.Exists {
		return fmt.Errorf("%s of user %s at version %d: %w", e.Type, e.Stream.ID, e.Version, ErrMissingRow)
	}
	return nil
}

// change applies fn to the row of the event's user and sets updated_at to
// at. The fold calls it only for an event newer than the row
// (relay.CheckVersion). A user without a row is ErrMissingRow.
func change(r *relay.Row[row], e eventstore.Event, at time.Time, fn func(*row)) error {
	if err := need(r, e); err != nil {
		return err
	}
	fn(&r.Value)
	r.Value.UpdatedAt = eventTime(at, e)
	return nil
}

// dbRow is a row of rm_users as stored.
type dbRow struct {
	ID              string        `db:"id"`
	TenantID        string        `db:"tenant_id"`
	Email           string        `db:"email"`
	Name            string        `db:"name"`
	Role            string        `db:"role"`
	Status          string        `db:"status"`
	EmailVerifiedAt database.Time `db:"email_verified_at"` // zero for NULL
	Deleted         bool          `db:"deleted"`
	Version         int64         `db:"version"`
	CreatedAt       database.Time `db:"created_at"`
	UpdatedAt       database.Time `db:"updated_at"`
}

// loadColumns are the columns load reads (name_folded follows from name).
const loadColumns = `id, tenant_id, email, name, role, status, email_verified_at, deleted, version, created_at, updated_at`

// userColumns are the columns of rm_users, in the order save writes them.
func userColumns() []string {
	return []string{"id", "tenant_id", "email", "name", "name_folded", "role", "status", "email_verified_at", "deleted",
		"version", "created_at", "updated_at"}
}

// load reads the rows of the given users with one multi-row SELECT.
func load(ctx context.Context, tx *relay.Tx, ids []string) ([]relay.Row[row], error) {
	var rows []dbRow
	q := `SELECT ` + loadColumns + ` FROM ` + tx.Table(TableUsers) + ` WHERE id IN (?)`
	if err := tx.SelectIn(ctx, &rows, q, ids); err != nil {
		return nil, fmt.Errorf("read %d users: %w", len(ids), err)
	}
	out := make([]relay.Row[row], len(rows))
	for i, d := range rows {
		out[i] = relay.Row[row]{StreamID: d.ID, Version: d.Version, Value: row{
			TenantID: d.TenantID, Email: d.Email, Name: d.Name, Role: d.Role, Status: d.Status,
			EmailVerifiedAt: d.EmailVerifiedAt.Time, Deleted: d.Deleted,
			CreatedAt: d.CreatedAt.Time, UpdatedAt: d.UpdatedAt.Time,
		}}
	}
	return out, nil
}

// save writes the changed users with guarded multi-row upserts, ordered so
// that the unique index on a tenant's live emails (rm_users_tenant_email_key,
// checked row by row) never sees an email twice in the middle of a
// statement. First go the rows that take no email they did not hold
// (unchanged emails, deleted users): that frees the emails deleted users
// gave up. Then the rows that take an email (new users, changed emails), in
// rounds: a row that takes the email another changed row of the batch gave
// up goes in a round after that row's. The event store's reservation lets
// an email change hands only after its release committed, so the emails a
// round takes are free by then. Most batches need two statements, a batch
// with an email handed over between two changed users three. (A swap of two
// users' emails inside one batch, through an intermediate address, is a
// cycle no order solves: its rows go in one round, the statement fails, and
// the relay splits the batch into smaller pieces, applied in log order,
// which succeed.)
func save(ctx context.Context, tx *relay.Tx, changes []relay.Change[row]) error {
	rows := make([][]any, len(changes))
	// holder maps "<tenant>/<email>" to the change that held the email before
	// the batch and no longer holds it at its end.
	holder := map[string]int{}
	claims := make([]bool, len(changes))
	for i, c := range changes {
		v := c.After.Value
		verified := any(nil)
		if !v.EmailVerifiedAt.IsZero() {
			verified = tx.Time(v.EmailVerifiedAt)
		}
		rows[i] = []any{c.After.StreamID, v.TenantID, v.Email, v.Name, strings.ToLower(v.Name), v.Role, v.Status, verified,
			v.Deleted, c.After.Version, tx.Time(v.CreatedAt), tx.Time(v.UpdatedAt)}
		b := c.Before
		held := b.Exists && !b.Value.Deleted
		keeps := held && b.Value.TenantID == v.TenantID && b.Value.Email == v.Email
		claims[i] = !v.Deleted && !keeps
		if held && (v.Deleted || !keeps) {
			holder[b.Value.TenantID+"/"+b.Value.Email] = i
		}
	}
	// round[i] is the round of a claiming change: one more than the round of
	// the claiming change that gave up its email, 0 if none did.
	round := make([]int, len(changes))
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(changes))
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case done:
			return round[i]
		case visiting:
			return -1 // a cycle: left to the relay's split
		}
		state[i] = visiting
		v := changes[i].After.Value
		if h, ok := holder[v.TenantID+"/"+v.Email]; ok && h != i && claims[h] {
			round[i] = max(0, visit(h)+1)
		}
		state[i] = done
		return round[i]
	}
	statements := [][][]any{nil}
	for i := range changes {
		if !claims[i] {
			statements[0] = append(statements[0], rows[i])
			continue
		}
		k := 1 + visit(i)
		for len(statements) <= k {
			statements = append(statements, nil)
		}
		statements[k] = append(statements[k], rows[i])
	}
	u := relay.Upsert{Table: TableUsers, Columns: userColumns(), Key: []string{"id"}, Version: "version"}
	for _, rows := range statements {
		if err := tx.Upsert(ctx, u, rows); err != nil {
			return err
		}
	}
	return nil
}

// eventTime is the time an event records, or the time it was stored if the
// payload has none.
func eventTime(at time.Time, e eventstore.Event) time.Time {
	if at.IsZero() {
		return e.RecordedAt.UTC()
	}
	return at.UTC()
}
