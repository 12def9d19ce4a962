// Package usertest generates realistic user histories, decided by the user
// aggregate of domain/user, for the tests of the users projection and of the
// users queries. The aggregates it returns are the oracle: the read model
// must show their state.
package usertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/projections/projectiontest"
)

// Workload is a generated history.
type Workload struct {
	// Commands in the order they were decided, one per user command, with
	// the email reservations the command layer makes (reserved at
	// registration, moved on an email change, released on deletion). The
	// commands of one user must be appended in this order; those of
	// different users in any order that respects Command.After (a user
	// taking an email waits for its release by another).
	Commands []projectiontest.Command
	// Users are the aggregates after every command, by id.
	Users map[string]*user.User
	// Updated is, by user id, the time of the user's last event that the
	// read model shows as a change: every event but
	// user.password_reset_requested.
	Updated map[string]time.Time
	// Tenants are the tenant ids the users belong to.
	Tenants []string
	// Events counts the events of all commands.
	Events int
}

// Generate decides events commands (one event each) for users users spread
// over tenants tenants, with a random generator seeded by seed. Each user
// registers before its other commands, and registrations are spread over the
// whole history; every change goes to a live user drawn at random. The
// changes, by weight: renames, email changes (often to an address another
// user of the tenant gave up, as the reservation allows), email
// verifications, role and status changes, password changes, reset requests
// and resets with the pending token, and deletions (whose addresses later
// users often register with). Tenants reuse the same addresses, so the same
// email lives in several tenants. Event times start at start, a second
// apart. It fails if events < users.
func Generate(seed uint64, tenants, users, events int, start time.Time) (*Workload, error) {
	if events < users || users <= 0 || tenants <= 0 {
		return nil, fmt.Errorf("usertest: %d events cannot register %d users in %d tenants", events, users, tenants)
	}
	g := &generator{
		rng: projectiontest.Rand(seed),
		w: &Workload{
			Users:   make(map[string]*user.User, users),
			Updated: make(map[string]time.Time, users),
		},
		owner:      map[string]string{},
		freed:      map[string][]string{},
		releasedBy: map[string]int{},
		seq:        map[string]int{},
		token:      map[string]string{},
	}
	for range tenants {
		g.w.Tenants = append(g.w.Tenants, g.uuid())
	}
	for i := 0; g.w.Events < events; i++ {
		at := start.Add(time.Duration(i) * time.Second)
		remaining := events - g.w.Events
		toRegister := users - g.registered
		if toRegister > 0 && (len(g.live) == 0 || toRegister >= remaining || g.rng.IntN(remaining) < toRegister) {
			if err := g.register(at); err != nil {
				return nil, err
			}
			continue
		}
		if err := g.change(at); err != nil {
			return nil, err
		}
	}
	return g.w, nil
}

type generator struct {
	rng        *rand.Rand
	w          *Workload
	registered int
	// live holds the ids of the users not deleted.
	live []string
	// owner maps "<tenant>/<email>" of every email in use to its user;
	// freed holds, by tenant, emails given up (changed or deleted), which
	// another user may take, and releasedBy the index of the command that
	// released each "<tenant>/<email>".
	owner      map[string]string
	freed      map[string][]string
	releasedBy map[string]int
	// seq numbers new addresses per tenant (so tenants share addresses).
	seq map[string]int
	// token is each user's pending reset token hash.
	token   map[string]string
	hashSeq int
}

func (g *generator) uuid() string { return projectiontest.UUID(g.rng, 4) }

func (g *generator) hash(kind string) string {
	g.hashSeq++
	return fmt.Sprintf("$%s$%d$%x", kind, g.hashSeq, g.rng.Uint64())
}

// email returns an address for a user of tenant: one given up by another
// user of the tenant (about a third of the time when there is one), else a
// new one, and the index of the command that released it (-1 if none).
func (g *generator) email(tenant string) (string, int) {
	if f := g.freed[tenant]; len(f) > 0 && g.rng.IntN(3) == 0 {
		k := g.rng.IntN(len(f))
		e := f[k]
		g.freed[tenant] = slices.Delete(f, k, k+1)
		return e, g.releasedBy[tenant+"/"+e]
	}
	g.seq[tenant]++
	return fmt.Sprintf("user%d@example.com", g.seq[tenant]), -1
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Édith", "Björn", "Zoë", "Linus", "Ken", "Barbara", "Ωmega"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Piaf", "Borg", "O'Brien", "Torvalds", "Thompson", "Liskov", "100%_Real"}
)

func (g *generator) name() string {
	return firstNames[g.rng.IntN(len(firstNames))] + " " + lastNames[g.rng.IntN(len(lastNames))]
}

func (g *generator) register(at time.Time) error {
	tenant := g.w.Tenants[g.rng.IntN(len(g.w.Tenants))]
	email, after := g.email(tenant)
	roles, statuses := user.Roles(), user.Statuses()
	reg := user.Registration{ID: g.uuid(), TenantID: tenant, Email: email, Name: g.name(), PasswordHash: g.hash("argon2id")}
	if g.rng.IntN(3) == 0 {
		reg.Role = roles[g.rng.IntN(len(roles))]
	}
	if g.rng.IntN(5) == 0 {
		reg.Status = statuses[g.rng.IntN(len(statuses))]
	}
	if g.rng.IntN(10) == 0 {
		reg.Name = ""
	}
	u, evs, err := user.Register(reg, at)
	if err != nil {
		return fmt.Errorf("usertest: register user %d: %w", g.registered, err)
	}
	g.owner[u.EmailReservation()] = u.ID()
	g.registered++
	g.live = append(g.live, u.ID())
	g.w.Users[u.ID()] = u
	g.record(u, 0, evs, at, after, []eventstore.AppendOption{eventstore.Reserve(user.EmailScope, u.EmailReservation())})
	return nil
}

// change makes one random change to a random live user; decisions that
// produce no event (a no-op) or fail are drawn again.
func (g *generator) change(at time.Time) error {
	for range 1000 {
		if len(g.live) == 0 {
			return errors.New("usertest: every user is deleted")
		}
		k := g.rng.IntN(len(g.live))
		u := g.w.Users[g.live[k]]
		version, oldReservation := u.Version(), u.EmailReservation()
		var (
			evs   []user.Event
			err   error
			after = -1
			took  string // an email reservation taken
			freed bool   // the old email was given up
		)
		switch n := g.rng.IntN(100); {
		case n < 18:
			evs, err = u.Rename(g.name(), at)
		case n < 33:
			email, released := g.email(u.TenantID())
			evs, err = u.ChangeEmail(email, at)
			if err != nil || len(evs) == 0 {
				if released >= 0 { // give the address back
					g.freed[u.TenantID()] = append(g.freed[u.TenantID()], email)
				}
				continue
			}
			after, took, freed = released, u.EmailReservation(), true
		case n < 43:
			evs, err = u.VerifyEmail(at)
		case n < 53:
			evs, err = u.ChangeRole(user.Roles()[g.rng.IntN(4)], at)
		case n < 63:
			evs, err = u.ChangeStatus(user.Statuses()[g.rng.IntN(3)], at)
		case n < 71:
			evs, err = u.ChangePassword(g.hash("argon2id"), at)
		case n < 83:
			tok := g.hash("token")
			evs, err = u.RequestPasswordReset(tok, at.Add(time.Hour), at)
			if err == nil {
				g.token[u.ID()] = tok
			}
		case n < 91:
			evs, err = u.ResetPassword(g.token[u.ID()], g.hash("argon2id"), at)
		default:
			// Deletions are rarer, and leave at least half the users.
			if g.rng.IntN(2) == 0 || 2*(len(g.live)-1) < g.registered {
				continue
			}
			evs, err = u.Delete(at)
			freed = true
		}
		if err != nil || len(evs) == 0 {
			continue // a refused decision (inactive user, no pending token) or a no-op: draw again
		}
		var opts []eventstore.AppendOption
		if took != "" {
			g.owner[took] = u.ID()
			opts = append(opts, eventstore.Reserve(user.EmailScope, took))
		}
		if freed {
			delete(g.owner, oldReservation)
			g.freed[u.TenantID()] = append(g.freed[u.TenantID()], oldReservation[len(u.TenantID())+1:])
			g.releasedBy[oldReservation] = len(g.w.Commands)
			opts = append(opts, eventstore.Release(user.EmailScope, oldReservation))
		}
		if u.Deleted() {
			g.live = slices.Delete(g.live, k, k+1)
		}
		g.record(u, version, evs, at, after, opts)
		return nil
	}
	return errors.New("usertest: no change possible")
}

func (g *generator) record(u *user.User, version int64, evs []user.Event, at time.Time, after int, opts []eventstore.AppendOption) {
	for _, e := range evs {
		if e.EventType() != user.TypePasswordResetRequested {
			g.w.Updated[u.ID()] = at.UTC()
		}
	}
	g.w.Commands = append(g.w.Commands, projectiontest.Command{
		Stream:   eventstore.Stream{Type: user.StreamType, ID: u.ID(), TenantID: u.TenantID()},
		Expected: version, Events: projectiontest.Records(evs), Options: opts, After: projectiontest.After(after),
	})
	g.w.Events += len(evs)
}
