// Package sessiontest generates realistic session histories, decided by the
// session aggregate, for the tests of the sessions projection and reader.
// The aggregates it returns are the oracle: the read model must show their
// state.
package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/projections/projectiontest"
)

// Policy is the session policy of generated histories: sessions last an
// hour, so that a history of a few hundred events spaced by Step has
// sessions that expire, and a rotated token may be presented again for 30 s.
var Policy = session.Policy{Lifetime: time.Hour, RefreshGrace: 30 * time.Second}

// Step is the time between two decisions of a history.
const Step = 7 * time.Second

// The outcomes a history counts (Workload.Outcomes), beside "revoke:<reason>"
// for each revocation reason.
const (
	OutcomeStarted       = "started"
	OutcomeRotated       = "rotated"
	OutcomeSamePair      = "same_pair"      // reuse within the grace: no event
	OutcomeReuseRevoked  = "reuse_revoked"  // reuse after the grace: revoked
	OutcomeExpired       = "expired"        // refresh of an expired session: no event
	OutcomeInvalidToken  = "invalid_token"  // a token never issued: no event
	OutcomeRevokeExpired = "revoke_expired" // an expired session revoked
)

// Workload is a generated history.
type Workload struct {
	// Commands in the order they were decided, one per decision that
	// produced events (sessions make no reservations). The commands of one
	// session must be appended in this order; those of different sessions
	// in any order.
	Commands []projectiontest.Command
	// Sessions are the aggregates after every command, by id.
	Sessions map[string]*session.Session
	// RevokedAt is when each revoked session was revoked, by id (the
	// aggregate keeps it but does not show it).
	RevokedAt map[string]time.Time
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

// Generate decides at least events events (a user's revoke-all may add a
// few more) over tenants tenants of users users each, with a random
// generator seeded by seed, starting at start, one decision every Step:
// sign-ins from clients of several shapes (IPv4, IPv6, IPv4-mapped, an
// address that does not parse; user agents with control characters or
// longer than the aggregate keeps); refreshes (rotations, reuse of the last
// rotated token within and after the grace window, reuse of an older token,
// a token never issued, refreshes of expired sessions); revocations with
// every reason, one session at a time or, for revoke_all,
// password_changed, password_reset and user_disabled, all of a user's
// sessions (sparing one when the reason spares the current session),
// including sessions that have expired. Decisions that produce no event are
// counted in Outcomes and take their Step too.
func Generate(seed uint64, tenants, users, events int, start time.Time) (*Workload, error) {
	if tenants <= 0 || users <= 0 || events <= 0 {
		return nil, fmt.Errorf("sessiontest: %d tenants, %d users, %d events", tenants, users, events)
	}
	g := &generator{
		rng: projectiontest.Rand(seed),
		w: &Workload{
			Sessions:  map[string]*session.Session{},
			RevokedAt: map[string]time.Time{},
			Outcomes:  map[string]int{},
			Users:     map[string][]string{},
		},
		tokens: map[string][]string{},
		byUser: map[string][]string{},
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
			return nil, errors.New("sessiontest: the history does not grow")
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
	ids []string // sessions in order started
	// tokens are the hashes each session issued, oldest first (the last is
	// current).
	tokens map[string][]string
	// byUser are the sessions of each user (tenant/user key), in order started.
	byUser  map[string][]string
	hashSeq int
	// lastRotated is the session rotated last.
	lastRotated string
}

func (g *generator) uuid() string { return projectiontest.UUID(g.rng, 7) }

func (g *generator) hash() string {
	g.hashSeq++
	return fmt.Sprintf("sha256:%064x", g.hashSeq)
}

var userAgents = []string{
	"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1",
	"rustok-cli/1.0",
	"  curl/8.5.0\t\n",
	"",
	"Agent\x00with\x1bcontrols ünïcode",
}

func (g *generator) client() session.Client {
	ips := []string{
		fmt.Sprintf("203.0.113.%d", g.rng.IntN(255)),
		fmt.Sprintf("2001:db8::%x", g.rng.IntN(65536)),
		fmt.Sprintf("::ffff:198.51.100.%d", g.rng.IntN(255)),
		"not an ip",
		"",
	}
	ua := userAgents[g.rng.IntN(len(userAgents))]
	if g.rng.IntN(20) == 0 {
		ua = fmt.Sprintf("LongAgent/%d ", g.rng.IntN(100)) + strings.Repeat("é", 400) // cut by the aggregate
	}
	return session.Client{IP: ips[g.rng.IntN(len(ips))], UserAgent: ua}
}

// step makes one decision at at.
func (g *generator) step(at time.Time) error {
	k := g.rng.IntN(100)
	if len(g.ids) == 0 || k < 22 {
		return g.start(at)
	}
	s := g.w.Sessions[g.ids[g.rng.IntN(len(g.ids))]]
	if k < 45 {
		// Prefer recent sessions for refreshes, as clients refresh while
		// they are in use.
		s = g.w.Sessions[g.ids[max(0, len(g.ids)-1-g.rng.IntN(min(len(g.ids), 12)))]]
	}
	tokens := g.tokens[s.ID()]
	switch {
	case k < 58:
		return g.refresh(s, tokens[len(tokens)-1], at)
	case k < 68:
		// Reuse of the token replaced by the latest rotation: of the session
		// rotated last (often within the grace window) or of any.
		if k < 64 && g.lastRotated != "" {
			s = g.w.Sessions[g.lastRotated]
			tokens = g.tokens[s.ID()]
		}
		if len(tokens) < 2 {
			return g.refresh(s, tokens[len(tokens)-1], at)
		}
		return g.refresh(s, tokens[len(tokens)-2], at)
	case k < 71:
		// Reuse of an older token.
		if len(tokens) < 3 {
			return g.refresh(s, tokens[len(tokens)-1], at)
		}
		return g.refresh(s, tokens[g.rng.IntN(len(tokens)-2)], at)
	case k < 73:
		return g.refresh(s, "forged-"+g.hash(), at)
	case k < 93:
		return g.revoke(s, []session.Reason{session.ReasonSignOut, session.ReasonRevoke, session.ReasonRefreshReuse}[g.rng.IntN(3)], at)
	default:
		// A revocation of all the user's sessions.
		reasons := []session.Reason{session.ReasonRevokeAll, session.ReasonPasswordChanged, session.ReasonPasswordReset, session.ReasonUserDisabled}
		reason := reasons[g.rng.IntN(len(reasons))]
		all := g.byUser[s.TenantID()+"/"+s.UserID()]
		for _, id := range all {
			if reason.SparesCurrent() && id == s.ID() {
				continue // the session the request came from
			}
			if err := g.revoke(g.w.Sessions[id], reason, at); err != nil {
				return err
			}
		}
		return nil
	}
}

func (g *generator) start(at time.Time) error {
	t := g.w.Tenants[g.rng.IntN(len(g.w.Tenants))]
	u := g.w.Users[t][g.rng.IntN(len(g.w.Users[t]))]
	id, h := g.uuid(), g.hash()
	s, evs, err := session.Start(id, t, u, h, g.client(), at, Policy)
	if err != nil {
		return fmt.Errorf("sessiontest: start: %w", err)
	}
	g.ids = append(g.ids, id)
	g.tokens[id] = []string{h}
	g.byUser[t+"/"+u] = append(g.byUser[t+"/"+u], id)
	g.w.Sessions[id] = s
	g.w.Outcomes[OutcomeStarted]++
	g.record(s, 0, evs)
	return nil
}

func (g *generator) refresh(s *session.Session, presented string, at time.Time) error {
	version := s.Version()
	next := g.hash()
	outcome, evs, err := s.Refresh(presented, next, g.client(), at, Policy)
	switch {
	case errors.Is(err, session.ErrExpired):
		g.w.Outcomes[OutcomeExpired]++
		return nil
	case errors.Is(err, session.ErrRevoked):
		return nil
	case errors.Is(err, session.ErrInvalidToken):
		g.w.Outcomes[OutcomeInvalidToken]++
		return nil
	case err != nil:
		return fmt.Errorf("sessiontest: refresh: %w", err)
	}
	switch outcome {
	case session.OutcomeRotated:
		g.tokens[s.ID()] = append(g.tokens[s.ID()], next)
		g.lastRotated = s.ID()
		g.w.Outcomes[OutcomeRotated]++
	case session.OutcomeSamePair:
		g.w.Outcomes[OutcomeSamePair]++
	case session.OutcomeReuseRevoked:
		g.w.RevokedAt[s.ID()] = at.UTC()
		g.w.Outcomes[OutcomeReuseRevoked]++
	}
	g.record(s, version, evs)
	return nil
}

func (g *generator) revoke(s *session.Session, reason session.Reason, at time.Time) error {
	version := s.Version()
	expired := errors.Is(s.CheckActive(at), session.ErrExpired)
	evs, err := s.Revoke(reason, at)
	if err != nil {
		return fmt.Errorf("sessiontest: revoke: %w", err)
	}
	if len(evs) > 0 {
		g.w.RevokedAt[s.ID()] = at.UTC()
		g.w.Outcomes["revoke:"+string(reason)]++
		if expired {
			g.w.Outcomes[OutcomeRevokeExpired]++
		}
	}
	g.record(s, version, evs)
	return nil
}

func (g *generator) record(s *session.Session, version int64, evs []session.Event) {
	if len(evs) == 0 {
		return
	}
	g.w.Commands = append(g.w.Commands, projectiontest.Command{
		Stream:   eventstore.Stream{Type: session.StreamType, ID: s.ID(), TenantID: s.TenantID()},
		Expected: version, Events: projectiontest.Records(evs),
	})
	g.w.Events += len(evs)
}

// Append appends cmds in order (projectiontest.Append) and returns the last
// position.
func Append(ctx context.Context, store *eventstore.Store, cmds []projectiontest.Command) (int64, error) {
	return projectiontest.Append(ctx, store, cmds)
}

// IDs returns the ids of w's sessions, sorted.
func (w *Workload) IDs() []string {
	ids := make([]string, 0, len(w.Sessions))
	for id := range w.Sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
