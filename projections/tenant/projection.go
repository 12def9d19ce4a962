package tenant

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
)

// Name is the projection's consumer group and checkpoint key.
//
// WARNING: renaming it replays the projection from position 0 under the new
// name (and leaves the old checkpoint behind).
const Name = "tenants"

// The read-model tables the projection owns (created by migrations). Handlers
// always name them through relay.Tx.Table, because a replay writes to fresh
// copies.
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
func Projection() relay.Consumer {
	return relay.Consumer{
		Name:   Name,
		Kind:   relay.KindProjection,
		Tables: []string{TableTenants, TableDomains},
		Handlers: map[string]relay.Handler{
			tenant.TypeCreated: relay.On(created),
			tenant.TypeUpdated: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.Updated, e eventstore.Event) error {
				_, err := change(ctx, tx, e, p.At, func(s *state) { s.Name = p.Name })
				return err
			}),
			tenant.TypeDomainAdded: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.DomainAdded, e eventstore.Event) error {
				applied, err := change(ctx, tx, e, p.At, func(s *state) { s.Domains = addOnce(s.Domains, p.Domain) })
				if err != nil || !applied {
					return err
				}
				return claimDomain(ctx, tx, e.Stream.ID, p.Domain)
			}),
			tenant.TypeDomainRemoved: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.DomainRemoved, e eventstore.Event) error {
				applied, err := change(ctx, tx, e, p.At, func(s *state) { s.Domains = remove(s.Domains, p.Domain) })
				if err != nil || !applied {
					return err
				}
				return dropDomain(ctx, tx, e.Stream.ID, p.Domain)
			}),
			tenant.TypeDisabled: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.Disabled, e eventstore.Event) error {
				_, err := change(ctx, tx, e, p.At, func(s *state) { s.Status = string(tenant.StatusDisabled) })
				return err
			}),
			tenant.TypeEnabled: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.Enabled, e eventstore.Event) error {
				_, err := change(ctx, tx, e, p.At, func(s *state) { s.Status = string(tenant.StatusActive) })
				return err
			}),
			tenant.TypeModuleToggled: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.ModuleToggled, e eventstore.Event) error {
				_, err := change(ctx, tx, e, p.At, func(s *state) {
					if p.Enabled {
						s.Modules = addOnce(s.Modules, p.Module)
					} else {
						s.Modules = remove(s.Modules, p.Module)
					}
				})
				return err
			}),
			tenant.TypeLocaleEnabled: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.LocaleEnabled, e eventstore.Event) error {
				_, err := change(ctx, tx, e, p.At, func(s *state) { s.Locales = addOnce(s.Locales, p.Locale) })
				return err
			}),
			tenant.TypeLocaleDisabled: relay.On(func(ctx context.Context, tx *relay.Tx, p tenant.LocaleDisabled, e eventstore.Event) error {
				_, err := change(ctx, tx, e, p.At, func(s *state) { s.Locales = remove(s.Locales, p.Locale) })
				return err
			}),
		},
	}
}

// created inserts the tenant's row and its domains. The row of a tenant
// exists only once tenant.created (stream version 1) was applied, so an
// existing row means a redelivery.
func created(ctx context.Context, tx *relay.Tx, p tenant.Created, e eventstore.Event) error {
	var version int64
	err := tx.Get(ctx, &version, `SELECT version FROM `+tx.Table(TableTenants)+` WHERE id = ?`, e.Stream.ID)
	switch {
	case err == nil:
		return nil // redelivery: the row exists, at this version or later
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read tenant %s: %w", e.Stream.ID, err)
	}
	s := state{Name: p.Name, Status: string(tenant.StatusActive), Domains: p.Domains, Modules: p.Modules, Locales: p.Locales}
	// As the aggregate does: the default locale is always enabled.
	if p.DefaultLocale != "" && !slices.Contains(s.Locales, p.DefaultLocale) {
		s.Locales = append(slices.Clone(s.Locales), p.DefaultLocale)
	}
	settings := string(p.Settings)
	if len(p.Settings) == 0 || settings == "null" {
		settings = "{}"
	}
	cols, err := s.encode()
	if err != nil {
		return fmt.Errorf("tenant %s: %w", e.Stream.ID, err)
	}
	at := tx.Time(eventTime(p.At, e))
	_, err = tx.Exec(ctx, `INSERT INTO `+tx.Table(TableTenants)+`
		(id, slug, name, status, domains, modules, default_locale, locales, settings, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Stream.ID, p.Slug, s.Name, s.Status, cols.domains, cols.modules, p.DefaultLocale, cols.locales, settings, e.Version, at, at)
	if err != nil {
		return fmt.Errorf("insert tenant %s: %w", e.Stream.ID, err)
	}
	for _, host := range p.Domains {
		if err := claimDomain(ctx, tx, e.Stream.ID, host); err != nil {
			return err
		}
	}
	return nil
}

// state is the part of a tenant's row that events after tenant.created
// change.
type state struct {
	Name    string
	Status  string
	Domains []string
	Modules []string
	Locales []string
}

type stateRow struct {
	Version int64  `db:"version"`
	Name    string `db:"name"`
	Status  string `db:"status"`
	Domains string `db:"domains"`
	Modules string `db:"modules"`
	Locales string `db:"locales"`
}

type encodedLists struct{ domains, modules, locales string }

func (s state) encode() (encodedLists, error) {
	var out encodedLists
	for _, f := range []struct {
		dst  *string
		list []string
	}{{&out.domains, s.Domains}, {&out.modules, s.Modules}, {&out.locales, s.Locales}} {
		if f.list == nil {
			f.list = []string{}
		}
		b, err := json.Marshal(f.list)
		if err != nil {
			return encodedLists{}, fmt.Errorf("encode lists: %w", err)
		}
		*f.dst = string(b)
	}
	return out, nil
}

// change applies fn to the row of the event's tenant if the event is newer
// than the row (relay.CheckVersion), and writes the row back with the
// event's version and updated_at = at. It reports whether it applied the
// event; a redelivery is not applied and writes nothing.
func change(ctx context.Context, tx *relay.Tx, e eventstore.Event, at time.Time, fn func(*state)) (applied bool, err error) {
	var r stateRow
	err = tx.Get(ctx, &r, `SELECT version, name, status, domains, modules, locales FROM `+tx.Table(TableTenants)+` WHERE id = ?`, e.Stream.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%s of tenant %s at version %d: %w", e.Type, e.Stream.ID, e.Version, ErrMissingRow)
	}
	if err != nil {
		return false, fmt.Errorf("read tenant %s: %w", e.Stream.ID, err)
	}
	if !relay.CheckVersion(r.Version, e.Version) {
		return false, nil
	}
	s := state{Name: r.Name, Status: r.Status}
	for _, f := range []struct {
		src string
		dst *[]string
	}{{r.Domains, &s.Domains}, {r.Modules, &s.Modules}, {r.Locales, &s.Locales}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return false, fmt.Errorf("decode lists of tenant %s: %w", e.Stream.ID, err)
		}
	}
	fn(&s)
	cols, err := s.encode()
	if err != nil {
		return false, fmt.Errorf("tenant %s: %w", e.Stream.ID, err)
	}
	// The version guard repeats the check in SQL: the row cannot have moved
	// since the read (one consumer writes it, in this transaction), but a
	// write must never take a row back in time.
	_, err = tx.Exec(ctx, `UPDATE `+tx.Table(TableTenants)+`
		SET name = ?, status = ?, domains = ?, modules = ?, locales = ?, version = ?, updated_at = ?
		WHERE id = ? AND version < ?`,
		s.Name, s.Status, cols.domains, cols.modules, cols.locales, e.Version, tx.Time(eventTime(at, e)), e.Stream.ID, e.Version)
	if err != nil {
		return false, fmt.Errorf("update tenant %s: %w", e.Stream.ID, err)
	}
	return true, nil
}

// claimDomain points host at tenantID. The event store's reservations let a
// domain change hands only after its removal committed, which the relay
// delivers first; the upsert still leaves the row with the latest owner.
func claimDomain(ctx context.Context, tx *relay.Tx, tenantID, host string) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+tx.Table(TableDomains)+` (host, tenant_id) VALUES (?, ?)
		ON CONFLICT (host) DO UPDATE SET tenant_id = excluded.tenant_id`, host, tenantID)
	if err != nil {
		return fmt.Errorf("add domain %s of tenant %s: %w", host, tenantID, err)
	}
	return nil
}

// dropDomain deletes host if tenantID still owns it.
func dropDomain(ctx context.Context, tx *relay.Tx, tenantID, host string) error {
	_, err := tx.Exec(ctx, `DELETE FROM `+tx.Table(TableDomains)+` WHERE host = ? AND tenant_id = ?`, host, tenantID)
	if err != nil {
		return fmt.Errorf("remove domain %s of tenant %s: %w", host, tenantID, err)
	}
	return nil
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
