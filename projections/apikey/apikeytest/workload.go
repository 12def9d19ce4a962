// Package apikeytest generates realistic API key histories, decided by the
// API key aggregate, for the tests of the API keys projection and reader.
// The aggregates it returns are the oracle: the read model must show their
// state.
package apikeytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/projections/projectiontest"
)

// Step is the time between two decisions of a history.
const Step = 7 * time.Second

// The outcomes a history counts (Workload.Outcomes).
const (
	OutcomeCreated       = "created"
	OutcomeWithExpiry    = "created_with_expiry"
	OutcomeSharedPrefix  = "shared_prefix" // a key whose prefix an earlier key has
	OutcomeRevoked       = "revoked"
	OutcomeRevokeNoop    = "revoke_noop"    // a revoked key revoked again: no event
	OutcomeRevokeExpired = "revoke_expired" // an expired key revoked
)

// Workload is a generated history.
type Workload struct {
	// Commands in the order they were decided, one per decision that
	// produced events (keys make no reservations). The commands of one key
	// must be appended in this order; those of different keys in any order.
	Commands []projectiontest.Command
	// Keys are the aggregates after every command, by id.
	Keys map[string]*apikey.APIKey
	// Outcomes counts the decisions by outcome (see the Outcome constants).
	Outcomes map[string]int
	// Tenants and Users are the ids used: Users[tenant] are that tenant's
	// users.
	Tenants []string
	Users   map[string][]string
	// Events counts the events of all commands; End is the time of the last
	// decision.
	Events int
	End    time.Time
}

// Generate decides at least events events over tenants tenants of users
// users each, with a random generator seeded by seed, starting at start, one
// decision every Step: creations with names that need trimming or hold
// non-ASCII text, permission lists with duplicates, odd case and spaces,
// with and without an expiry (some expiring within the history), some
// sharing the prefix of an earlier key; revocations of live keys, of
// expired keys, and of revoked keys (no event, counted in Outcomes).
func Generate(seed uint64, tenants, users, events int, start time.Time) (*Workload, error) {
	if tenants <= 0 || users <= 0 || events <= 0 {
		return nil, fmt.Errorf("apikeytest: %d tenants, %d users, %d events", tenants, users, events)
	}
	g := &generator{
		rng: projectiontest.Rand(seed),
		w:   &Workload{Keys: map[string]*apikey.APIKey{}, Outcomes: map[string]int{}, Users: map[string][]string{}},
	}
	for range tenants {
		t := g.uuid()
		g.w.Tenants = append(g.w.Tenants, t)
		for range users {
			g.w.Users[t] = append(g.w.Users[t], g.uuid())
		}
	}
	at := start
	for i := 0; g.w.Events < events; i++ {
		if i > 100*events {
			return nil, errors.New("apikeytest: the history does not grow")
		}
		if err := g.step(at); err != nil {
			return nil, err
		}
		g.w.End = at
		at = at.Add(Step)
	}
	return g.w, nil
}

type generator struct {
	rng *rand.Rand
	w   *Workload
	ids []string // keys in order created
	// randoms are the secret bytes of each key, in order created.
	randoms [][]byte
}

func (g *generator) uuid() string { return projectiontest.UUID(g.rng, 7) }

var names = []string{"CI deploy", "  Zapier  ", "\tERP sync", "Склад", "訂單匯出", "monitoring"}

var permissionLists = [][]string{
	{"products:read"},
	{"products:read", "products:list", "orders:read"},
	{" Orders:List ", "orders:list", "customers:read"},
	{"events:read"},
	{"inventory:update", "inventory:read", "inventory:update"},
	{"settings:manage"},
}

func (g *generator) step(at time.Time) error {
	if len(g.ids) == 0 || g.rng.IntN(100) < 60 {
		return g.create(at)
	}
	k := g.w.Keys[g.ids[g.rng.IntN(len(g.ids))]]
	return g.revoke(k, at)
}

func (g *generator) create(at time.Time) error {
	t := g.w.Tenants[g.rng.IntN(len(g.w.Tenants))]
	u := g.w.Users[t][g.rng.IntN(len(g.w.Users[t]))]
	random := make([]byte, 32)
	for i := range random {
		random[i] = byte(g.rng.UintN(256))
	}
	shared := len(g.randoms) > 0 && g.rng.IntN(10) == 0
	if shared {
		// The first 6 bytes are the 8 characters of the prefix after "rtk_".
		copy(random[:6], g.randoms[g.rng.IntN(len(g.randoms))][:6])
	}
	_, prefix, hash, err := apikey.NewSecret(bytes.NewReader(random))
	if err != nil {
		return fmt.Errorf("apikeytest: secret: %w", err)
	}
	s := apikey.Spec{
		ID: g.uuid(), TenantID: t, CreatedBy: u,
		Name:        names[g.rng.IntN(len(names))] + strings.Repeat(" x", g.rng.IntN(3)),
		Permissions: permissionLists[g.rng.IntN(len(permissionLists))], Prefix: prefix, SecretHash: hash,
	}
	if g.rng.IntN(3) == 0 {
		// Most expire long after the history; some within it.
		e := at.Add(time.Duration(1+g.rng.IntN(24*30)) * time.Hour)
		if g.rng.IntN(3) == 0 {
			e = at.Add(time.Duration(1+g.rng.IntN(600)) * time.Second)
		}
		s.ExpiresAt = &e
		g.w.Outcomes[OutcomeWithExpiry]++
	}
	k, evs, err := apikey.Create(s, at)
	if err != nil {
		return fmt.Errorf("apikeytest: create: %w", err)
	}
	if shared {
		g.w.Outcomes[OutcomeSharedPrefix]++
	}
	g.ids = append(g.ids, k.ID())
	g.randoms = append(g.randoms, random)
	g.w.Keys[k.ID()] = k
	g.w.Outcomes[OutcomeCreated]++
	g.record(k, 0, evs)
	return nil
}

func (g *generator) revoke(k *apikey.APIKey, at time.Time) error {
	version := k.Version()
	expired := errors.Is(k.CheckActive(at), apikey.ErrExpired)
	by := g.w.Users[k.TenantID()][g.rng.IntN(len(g.w.Users[k.TenantID()]))]
	evs, err := k.Revoke(by, at)
	if err != nil {
		return fmt.Errorf("apikeytest: revoke: %w", err)
	}
	switch {
	case len(evs) == 0:
		g.w.Outcomes[OutcomeRevokeNoop]++
	case expired:
		g.w.Outcomes[OutcomeRevokeExpired]++
		g.w.Outcomes[OutcomeRevoked]++
	default:
		g.w.Outcomes[OutcomeRevoked]++
	}
	g.record(k, version, evs)
	return nil
}

func (g *generator) record(k *apikey.APIKey, version int64, evs []apikey.Event) {
	if len(evs) == 0 {
		return
	}
	g.w.Commands = append(g.w.Commands, projectiontest.Command{
		Stream:   eventstore.Stream{Type: apikey.StreamType, ID: k.ID(), TenantID: k.TenantID()},
		Expected: version, Events: projectiontest.Records(evs),
	})
	g.w.Events += len(evs)
}

// Append appends cmds in order (projectiontest.Append) and returns the last
// position.
func Append(ctx context.Context, store *eventstore.Store, cmds []projectiontest.Command) (int64, error) {
	return projectiontest.Append(ctx, store, cmds)
}

// IDs returns the ids of w's keys, sorted.
func (w *Workload) IDs() []string {
	ids := make([]string, 0, len(w.Keys))
	for id := range w.Keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
