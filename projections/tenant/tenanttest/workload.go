// Package tenanttest generates realistic tenant histories, decided by the
// tenant aggregate, for the tests and benchmarks of the tenants projection.
// The aggregates it returns are the oracle: the read model must show their
// state.
package tenanttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/projections/projectiontest"
)

// Workload is a generated history.
type Workload struct {
	// Commands in the order they were decided, one per tenant command, with
	// the reservations the command layer makes (slug and domains reserved,
	// removed domains released). The commands of one tenant must be
	// appended in this order; those of different tenants in any order that
	// respects Command.After (a tenant taking a domain waits for its
	// removal from another).
	Commands []projectiontest.Command
	// Tenants are the aggregates after every command, by id.
	Tenants map[string]*tenant.Tenant
	// Created and Updated are the times of each tenant's first and last
	// events, by id.
	Created, Updated map[string]time.Time
	// Events counts the events of all commands.
	Events int
}

// Generate decides events commands (one event each) over tenants tenants with
// a random generator seeded by seed: each tenant is created (with one or two
// domains and the default modules) before its other commands, and creations
// are spread over the whole history. Every change goes to a tenant drawn at
// random, so any stretch of the log touches about as many tenants as it has
// events: the worst case for a projection that folds a batch's events per
// tenant. The changes, by weight: renames, module toggles, added and removed
// domains (a removed domain is often taken by another tenant later, as the
// reservations allow), enabled and disabled locales, disabling and enabling.
// Event times start at start, a second apart. It fails if events < tenants.
func Generate(seed uint64, tenants, events int, start time.Time) (*Workload, error) {
	return generate(seed, tenants, events, 0, start)
}

// GenerateSessions is Generate with the shape of a platform's log: a tenant
// is set up right after its creation, in a session that makes 70% of its
// changes while up to sessions tenants are being set up at once; the other
// 30% of the changes are day-to-day changes of tenants drawn at random.
func GenerateSessions(seed uint64, tenants, events, sessions int, start time.Time) (*Workload, error) {
	if sessions <= 0 {
		return nil, fmt.Errorf("tenanttest: %d sessions", sessions)
	}
	return generate(seed, tenants, events, sessions, start)
}

// session is a tenant being set up, with the changes it has still to make.
type session struct {
	id   string
	left int
}

func generate(seed uint64, tenants, events, sessions int, start time.Time) (*Workload, error) {
	if events < tenants || tenants <= 0 {
		return nil, fmt.Errorf("tenanttest: %d events cannot create %d tenants", events, tenants)
	}
	reg, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		return nil, fmt.Errorf("tenanttest: module registry: %w", err)
	}
	g := &generator{
		rng: projectiontest.Rand(seed),
		reg: reg,
		w: &Workload{
			Tenants: make(map[string]*tenant.Tenant, tenants),
			Created: make(map[string]time.Time, tenants),
			Updated: make(map[string]time.Time, tenants),
		},
		hostOwner:  map[string]string{},
		releasedBy: map[string]int{},
	}
	// Changes a session makes, on average: 70% of a tenant's share.
	perSession := 0.7 * float64(events-tenants) / float64(tenants)
	var active []*session
	for i := 0; g.w.Events < events; i++ {
		at := start.Add(time.Duration(i) * time.Second)
		remaining := events - g.w.Events
		toCreate := tenants - len(g.ids)
		var create bool
		if sessions == 0 {
			create = toCreate > 0 && (len(g.ids) == 0 || toCreate >= remaining || g.rng.IntN(remaining) < toCreate)
		} else {
			create = toCreate > 0 && (len(active) < sessions || toCreate >= remaining)
		}
		if create {
			if err := g.create(at); err != nil {
				return nil, err
			}
			if sessions > 0 {
				left := int(perSession * (0.5 + g.rng.Float64()))
				if left > 0 {
					active = append(active, &session{id: g.ids[len(g.ids)-1], left: left})
				}
			}
			continue
		}
		var pick string
		if len(active) > 0 && g.rng.IntN(10) < 7 {
			k := g.rng.IntN(len(active))
			pick = active[k].id
			if active[k].left--; active[k].left <= 0 {
				active = slices.Delete(active, k, k+1)
			}
		}
		if err := g.change(at, pick); err != nil {
			return nil, err
		}
	}
	return g.w, nil
}

// The reservation scopes of the command layer.
const (
	scopeSlug   = commands.ScopeTenantSlug
	scopeDomain = commands.ScopeTenantDomain
)

type generator struct {
	rng *rand.Rand
	reg *module.Registry
	w   *Workload
	ids []string
	// hostOwner maps every host in use to its tenant; freed holds hosts
	// removed from their tenant, which another may take, and releasedBy the
	// index of the command that removed each.
	hostOwner  map[string]string
	freed      []string
	releasedBy map[string]int
	hostSeq    int
}

func (g *generator) uuid() string { return projectiontest.UUID(g.rng, 4) }

func (g *generator) newHost() string {
	g.hostSeq++
	return fmt.Sprintf("shop%d.example.com", g.hostSeq)
}

func (g *generator) create(at time.Time) error {
	id := g.uuid()
	n := len(g.ids)
	hosts := []string{g.newHost()}
	if g.rng.IntN(3) == 0 {
		hosts = append(hosts, g.newHost())
	}
	modules := [][]string{{"content"}, {"content", "blog"}, {"commerce"}, {"content", "pages"}, {}}[g.rng.IntN(5)]
	t, evs, err := tenant.Create(id, fmt.Sprintf("shop-%d", n), fmt.Sprintf("Shop %d", n), hosts, modules, g.reg, at)
	if err != nil {
		return fmt.Errorf("tenanttest: create tenant %d: %w", n, err)
	}
	opts := []eventstore.AppendOption{eventstore.Reserve(scopeSlug, t.Slug())}
	for _, h := range hosts {
		g.hostOwner[h] = id
		opts = append(opts, eventstore.Reserve(scopeDomain, h))
	}
	g.ids = append(g.ids, id)
	g.w.Tenants[id] = t
	g.w.Created[id] = at.UTC()
	g.record(t, 0, evs, at, -1, opts)
	return nil
}

// change makes one random change to tenant id, or to a random tenant if id
// is empty; decisions that produce no event (a no-op) or fail are drawn
// again.
func (g *generator) change(at time.Time, id string) error {
	locales := []string{"fr", "de", "es", "it", "pt-BR", "ja", "en-GB"}
	modules := []string{"content", "commerce", "blog", "forum", "pages", "alloy"}
	for range 1000 {
		t := g.w.Tenants[id]
		if id == "" {
			t = g.w.Tenants[g.ids[g.rng.IntN(len(g.ids))]]
		}
		version := t.Version()
		var evs []tenant.Event
		var err error
		var took, freed string
		switch k := g.rng.IntN(100); {
		case k < 25:
			evs, err = t.Rename(fmt.Sprintf("Shop %d (%d)", g.rng.IntN(1_000_000), version), at)
		case k < 50:
			evs, err = t.ToggleModule(g.reg, modules[g.rng.IntN(len(modules))], g.rng.IntN(2) == 0, at)
		case k < 60:
			host := g.newHost()
			if len(g.freed) > 0 && g.rng.IntN(2) == 0 {
				host = g.freed[len(g.freed)-1]
			}
			if _, taken := g.hostOwner[host]; !taken {
				evs, err = t.AddDomain(host, at)
				took = host
			}
		case k < 68:
			if ds := t.Domains(); len(ds) > 1 {
				freed = ds[g.rng.IntN(len(ds))]
				evs, err = t.RemoveDomain(freed, at)
			}
		case k < 80:
			evs, err = t.EnableLocale(locales[g.rng.IntN(len(locales))], at)
		case k < 90:
			evs, err = t.DisableLocale(locales[g.rng.IntN(len(locales))], at)
		case k < 95:
			evs, err = t.Disable(at)
		default:
			evs, err = t.Enable(at)
		}
		if err != nil || len(evs) == 0 {
			continue // a refused decision (dependency, limit) or a no-op: draw again
		}
		after := -1
		var opts []eventstore.AppendOption
		if took != "" {
			g.hostOwner[took] = t.ID()
			if n := len(g.freed); n > 0 && g.freed[n-1] == took {
				g.freed = g.freed[:n-1]
				after = g.releasedBy[took]
			}
			opts = append(opts, eventstore.Reserve(scopeDomain, took))
		}
		if freed != "" {
			delete(g.hostOwner, freed)
			g.freed = append(g.freed, freed)
			g.releasedBy[freed] = len(g.w.Commands)
			opts = append(opts, eventstore.Release(scopeDomain, freed))
		}
		g.record(t, version, evs, at, after, opts)
		return nil
	}
	return errors.New("tenanttest: no change possible")
}

func (g *generator) record(t *tenant.Tenant, version int64, evs []tenant.Event, at time.Time, after int, opts []eventstore.AppendOption) {
	g.w.Updated[t.ID()] = at.UTC()
	g.w.Commands = append(g.w.Commands, projectiontest.Command{
		Stream:   eventstore.Stream{Type: tenant.StreamType, ID: t.ID(), TenantID: t.ID()},
		Expected: version, Events: projectiontest.Records(evs), Options: opts, After: projectiontest.After(after),
	})
	g.w.Events += len(evs)
}

// AppendConcurrently appends w's commands with writers goroutines
// (projectiontest.AppendConcurrently) and returns the highest position
// appended. onAppend, if set, is called after each append.
func (w *Workload) AppendConcurrently(ctx context.Context, store *eventstore.Store, writers int, onAppend func(eventstore.Result)) (int64, error) {
	return projectiontest.AppendConcurrently(ctx, store, w.Commands, writers, onAppend)
}
