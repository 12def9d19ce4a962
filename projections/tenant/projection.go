package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
)

// Name is the projection's consumer group and checkpoint key.
//
// WARNING: renaming it replays the projection from position 0 under the new
// name (and leaves the old checkpoint behind).
const Name = "tenants"

// The read-model tables the projection owns (created by migrations). The
// projection always names them through relay.Tx.Table, because a replay
// writes to fresh copies.
const (
	// TableTenants holds one row per tenant: its state after the event of
	// stream version `version`.
	TableTenants = "rm_tenants"
	// TableDomains holds one row per domain (host → tenant id), for host
	// resolution.
	TableDomains = "rm_tenant_domains"
)

// ErrMissingRow is returned (wrapped) by a handler of an event that changes a
// tenant the read model does not have, which happens only when the tenant's
// tenant.created event was not applied (for example, dead-lettered). The
// relay retries the event and then dead-letters it, which makes the gap
// visible in `rustok projections status`.
var ErrMissingRow = errors.New("tenant row missing from the read model")

// Projection returns the tenants projection: a relay consumer of kind
// projection that owns TableTenants and TableDomains and handles the nine
// tenant event types. The read model keeps what the tenant aggregate keeps:
// rm_tenants.modules are the enabled optional modules and domains, modules
// and locales keep the order in which they were added.
//
// It is a relay.Fold: per batch of events it reads the rows of the batch's
// tenants with one SELECT, folds the events into them in memory, and writes
// them back with one guarded multi-row upsert; rm_tenant_domains follows
// from each row's domains before and after the batch (one multi-row delete,
// one multi-row upsert).
func Projection() relay.Consumer {
	return relay.Consumer{
		Name:   Name,
		Kind:   relay.KindProjection,
		Tables: []string{TableTenants, TableDomains},
		Batch:  fold().Batch(),
	}
}

// fold is the projection's relay.Fold.
func fold() relay.Fold[row] {
	return relay.Fold[row]{
		Load:  load,
		Clone: row.clone,
		Save:  save,
		On: map[string]relay.FoldHandler[row]{
			tenant.TypeCreated: foldOn(fieldsCreated, created),
			tenant.TypeUpdated: foldOn(fieldsUpdated, func(r *relay.Row[row], p tenant.Updated, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) { s.Name = p.Name })
			}),
			tenant.TypeDomainAdded: foldOn(fieldsDomainAdded, func(r *relay.Row[row], p tenant.DomainAdded, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) { s.Domains = addOnce(s.Domains, p.Domain) })
			}),
			tenant.TypeDomainRemoved: foldOn(fieldsDomainRemoved, func(r *relay.Row[row], p tenant.DomainRemoved, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) { s.Domains = remove(s.Domains, p.Domain) })
			}),
			tenant.TypeDisabled: foldOn(fieldsDisabled, func(r *relay.Row[row], p tenant.Disabled, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) { s.Status = string(tenant.StatusDisabled) })
			}),
			tenant.TypeEnabled: foldOn(fieldsEnabled, func(r *relay.Row[row], p tenant.Enabled, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) { s.Status = string(tenant.StatusActive) })
			}),
			tenant.TypeModuleToggled: foldOn(fieldsModuleToggled, func(r *relay.Row[row], p tenant.ModuleToggled, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) {
					if p.Enabled {
						s.Modules = addOnce(s.Modules, p.Module)
					} else {
						s.Modules = remove(s.Modules, p.Module)
					}
				})
			}),
			tenant.TypeLocaleEnabled: foldOn(fieldsLocaleEnabled, func(r *relay.Row[row], p tenant.LocaleEnabled, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) { s.Locales = addOnce(s.Locales, p.Locale) })
			}),
			tenant.TypeLocaleDisabled: foldOn(fieldsLocaleDisabled, func(r *relay.Row[row], p tenant.LocaleDisabled, e eventstore.Event) error {
				return change(r, e, p.At, func(s *row) { s.Locales = remove(s.Locales, p.Locale) })
			}),
		},
	}
}

// row is a tenant's row of rm_tenants without its id and version, which
// relay.Row holds (StreamID, Version).
type row struct {
	Slug, Name, Status string
	// Domains, Modules and Locales are in the order added.
	Domains, Modules []string
	DefaultLocale    string
	Locales          []string
	// Settings is a JSON object.
	Settings             string
	CreatedAt, UpdatedAt time.Time
}

// clone returns r with lists of its own, so handlers may change them in place.
func (r row) clone() row {
	r.Domains, r.Modules, r.Locales = slices.Clone(r.Domains), slices.Clone(r.Modules), slices.Clone(r.Locales)
	return r
}

// created is the tenant's first event (stream version 1): the fold applies
// it only when the tenant has no row yet.
func created(r *relay.Row[row], p tenant.Created, e eventstore.Event) error {
	s := row{Slug: p.Slug, Name: p.Name, Status: string(tenant.StatusActive), Domains: p.Domains, Modules: p.Modules,
		DefaultLocale: p.DefaultLocale, Locales: p.Locales, Settings: string(p.Settings)}
	// As the aggregate does: the default locale is always enabled.
	if p.DefaultLocale != "" && !slices.Contains(s.Locales, p.DefaultLocale) {
		s.Locales = append(slices.Clone(s.Locales), p.DefaultLocale)
	}
	if len(p.Settings) == 0 || s.Settings == "null" {
		s.Settings = "{}"
	}
	s.CreatedAt = eventTime(p.At, e)
	s.UpdatedAt = s.CreatedAt
	r.Value = s
	return nil
}

// change applies fn to the row of the event's tenant and sets updated_at to
// at. The fold calls it only for an event newer than the row
// (relay.CheckVersion). A tenant without a row is ErrMissingRow.
func change(r *relay.Row[row], e eventstore.Event, at time.Time, fn func(*row)) error {
	if !r.Exists {
		return fmt.Errorf("%s of tenant %s at version %d: %w", e.Type, e.Stream.ID, e.Version, ErrMissingRow)
	}
	fn(&r.Value)
	r.Value.UpdatedAt = eventTime(at, e)
	return nil
}

// dbRow is a row of rm_tenants as stored.
type dbRow struct {
	ID            string        `db:"id"`
	Version       int64         `db:"version"`
	Slug          string        `db:"slug"`
	Name          string        `db:"name"`
	Status        string        `db:"status"`
	Domains       string        `db:"domains"`
	Modules       string        `db:"modules"`
	DefaultLocale string        `db:"default_locale"`
	Locales       string        `db:"locales"`
	Settings      string        `db:"settings"`
	CreatedAt     database.Time `db:"created_at"`
	UpdatedAt     database.Time `db:"updated_at"`
}

// tenantColumns are the columns of rm_tenants, in the order save writes them.
func tenantColumns() []string {
	return []string{"id", "slug", "name", "status", "domains", "modules", "default_locale", "locales", "settings", "version", "created_at", "updated_at"}
}

// load reads the rows of the given tenants with one multi-row SELECT.
func load(ctx context.Context, tx *relay.Tx, ids []string) ([]relay.Row[row], error) {
	var rows []dbRow
	q := `SELECT ` + strings.Join(tenantColumns(), ", ") + ` FROM ` + tx.Table(TableTenants) + ` WHERE id IN (?)`
	if err := tx.SelectIn(ctx, &rows, q, ids); err != nil {
		return nil, fmt.Errorf("read %d tenants: %w", len(ids), err)
	}
	out := make([]relay.Row[row], len(rows))
	for i, d := range rows {
		r := row{Slug: d.Slug, Name: d.Name, Status: d.Status, DefaultLocale: d.DefaultLocale, Settings: d.Settings,
			CreatedAt: d.CreatedAt.Time, UpdatedAt: d.UpdatedAt.Time}
		for _, f := range []struct {
			src string
			dst *[]string
		}{{d.Domains, &r.Domains}, {d.Modules, &r.Modules}, {d.Locales, &r.Locales}} {
			if err := decodeList(f.src, f.dst); err != nil {
				return nil, fmt.Errorf("decode lists of tenant %s: %w", d.ID, err)
			}
		}
		out[i] = relay.Row[row]{StreamID: d.ID, Version: d.Version, Value: r}
	}
	return out, nil
}

// save writes the changed tenants with one guarded multi-row upsert, then
// brings rm_tenant_domains in line with each tenant's domains: hosts a tenant
// no longer has are deleted if it still owns them, then the hosts it gained
// point to it. The event store's reservations let a domain change hands only
// after its removal committed, so deleting before claiming leaves each host
// with its latest owner; a host both lost and gained in the batch is only
// claimed (the claim replaces its owner), so the delete and the claims touch
// different hosts and, on PostgreSQL, the three writes are one statement.
func save(ctx context.Context, tx *relay.Tx, changes []relay.Change[row]) error {
	tenants := make([][]any, 0, len(changes))
	var lost, claims [][]any
	claimed := map[string]int{} // host → index in claims
	for _, c := range changes {
		id, v := c.After.StreamID, c.After.Value
		lists, err := encodeLists(v)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", id, err)
		}
		tenants = append(tenants, []any{id, v.Slug, v.Name, v.Status, lists.domains, lists.modules, v.DefaultLocale,
			lists.locales, v.Settings, c.After.Version, tx.Time(v.CreatedAt), tx.Time(v.UpdatedAt)})
		for _, host := range c.Before.Value.Domains {
			if !slices.Contains(v.Domains, host) {
				lost = append(lost, []any{host, id})
			}
		}
		for _, host := range v.Domains {
			if slices.Contains(c.Before.Value.Domains, host) {
				continue
			}
			if i, ok := claimed[host]; ok {
				claims[i][1] = id // one row per host and statement
				continue
			}
			claimed[host] = len(claims)
			claims = append(claims, []any{host, id})
		}
	}
	drops := lost[:0]
	for _, d := range lost {
		if _, ok := claimed[d[0].(string)]; !ok {
			drops = append(drops, d)
		}
	}
	return tx.Write(ctx,
		relay.UpsertRows(relay.Upsert{Table: TableTenants, Columns: tenantColumns(), Key: []string{"id"}, Version: "version"}, tenants),
		relay.DeleteWhere(TableDomains, []string{"host", "tenant_id"}, drops),
		relay.UpsertRows(relay.Upsert{Table: TableDomains, Columns: []string{"host", "tenant_id"}, Key: []string{"host"}}, claims))
}

// encodedLists are a row's lists in JSON, as stored.
type encodedLists struct{ domains, modules, locales string }

func encodeLists(r row) (encodedLists, error) {
	var out encodedLists
	for _, f := range []struct {
		dst  *string
		list []string
	}{{&out.domains, r.Domains}, {&out.modules, r.Modules}, {&out.locales, r.Locales}} {
		s, err := encodeList(f.list)
		if err != nil {
			return encodedLists{}, fmt.Errorf("encode lists: %w", err)
		}
		*f.dst = s
	}
	return out, nil
}

// eventTime is the time an event records, or the time it was stored if the
// payload has none.
func eventTime(at time.Time, e eventstore.Event) time.Time {
	if at.IsZero() {
		return e.RecordedAt
	}
	return at
}

func addOnce(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func remove(list []string, v string) []string {
	return slices.DeleteFunc(list, func(x string) bool { return x == v })
}
