package session_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	sessioncmd "github.com/rustok/rustok/commands/session"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/token"
)

func TestRefresh(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		id := e.seed(t, e.tenant, "u@example.com", user.RoleManager)

		t.Run("rotate", func(t *testing.T) {
			first := e.login(t, "u@example.com", laptop)
			e.clock.advance(time.Minute)
			second, err := e.doRefresh(first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if second.RefreshToken == first.RefreshToken || second.SessionID != first.SessionID || second.Position == 0 {
				t.Fatalf("refresh = %+v", second)
			}
			claims, err := e.tokens.Verify(second.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if claims.Grant != (token.Grant{UserID: id, TenantID: e.tenant, SessionID: first.SessionID, Role: token.RoleManager}) {
				t.Errorf("claims = %+v", claims.Grant)
			}
			s := e.load(t, first.SessionID)
			if s.Generation() != 1 || s.TokenHash() != sha(second.RefreshToken) || s.Client() != phone || !s.ExpiresAt().Equal(first.SessionExpiresAt) {
				t.Errorf("session = %+v", s)
			}
			third, err := e.doRefresh(second.RefreshToken)
			if err != nil || e.load(t, first.SessionID).Generation() != 2 || third.RefreshToken == second.RefreshToken {
				t.Fatalf("second rotation: %+v, %v", third, err)
			}
		})

		t.Run("same pair within the grace", func(t *testing.T) {
			first := e.login(t, "u@example.com", laptop)
			second, err := e.doRefresh(first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			version := e.load(t, first.SessionID).Version()
			e.clock.advance(policy.RefreshGrace)
			again, err := e.doRefresh(first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if again.RefreshToken != second.RefreshToken || again.Position != 0 {
				t.Errorf("again = %q (position %d), want %q", again.RefreshToken, again.Position, second.RefreshToken)
			}
			if again.AccessToken == second.AccessToken {
				t.Error("the access token was not issued again")
			}
			if _, err := e.tokens.Verify(again.AccessToken); err != nil {
				t.Error(err)
			}
			if v := e.load(t, first.SessionID).Version(); v != version {
				t.Errorf("version %d, want %d: something was appended", v, version)
			}
			// The pair given again still rotates.
			if _, err := e.doRefresh(again.RefreshToken); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("reuse after the grace revokes the session", func(t *testing.T) {
			first := e.login(t, "u@example.com", laptop)
			second, err := e.doRefresh(first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.advance(policy.RefreshGrace + time.Second)
			_, err = e.doRefresh(first.RefreshToken)
			wantCode(t, err, domain.CodeUnauthenticated, session.ErrTokenReused)
			if r := e.revokedFor(t, first.SessionID); r != session.ReasonRefreshReuse {
				t.Fatalf("revoked for %q", r)
			}
			_, err = e.doRefresh(second.RefreshToken)
			wantCode(t, err, domain.CodeUnauthenticated, session.ErrRevoked)
			_, err = e.doRefresh(first.RefreshToken)
			wantCode(t, err, domain.CodeUnauthenticated, session.ErrRevoked)
		})

		t.Run("absolute lifetime", func(t *testing.T) {
			first := e.login(t, "u@example.com", laptop)
			e.clock.advance(policy.Lifetime - time.Minute)
			second, err := e.doRefresh(first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.advance(time.Minute)
			version := e.load(t, first.SessionID).Version()
			_, err = e.doRefresh(second.RefreshToken)
			wantCode(t, err, domain.CodeUnauthenticated, session.ErrExpired)
			if v := e.load(t, first.SessionID).Version(); v != version {
				t.Errorf("version %d, want %d", v, version)
			}
		})

		t.Run("another tenant", func(t *testing.T) {
			first := e.login(t, "u@example.com", laptop)
			_, err := e.refresh.Handle(ctx, sessioncmd.Refresh{TenantID: e.other, RefreshToken: first.RefreshToken})
			wantCode(t, err, domain.CodeUnauthenticated, sessioncmd.ErrInvalidRefreshToken)
			if e.load(t, first.SessionID).Version() != 1 {
				t.Error("the session changed")
			}
		})

		t.Run("malformed", func(t *testing.T) {
			live := e.login(t, "u@example.com", laptop)
			secret := live.RefreshToken[37:]
			forged := live.SessionID + "." + strings.Repeat("A", 43)
			tests := []struct{ name, token string }{
				{"empty", ""},
				{"no dot", live.SessionID + "x" + secret},
				{"bad base64", live.SessionID + "." + strings.Repeat("*", 43)},
				{"padded base64", live.SessionID + "." + secret[:42] + "="},
				{"short secret", live.SessionID + "." + secret[:40]},
				{"upper-case session id", strings.ToUpper(live.SessionID) + "." + secret},
				{"huge", strings.Repeat("a", 1<<20)},
				{"unknown session", uuid.NewString() + "." + secret},
				{"a secret the session never issued", forged},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					_, err := e.doRefresh(tc.token)
					wantCode(t, err, domain.CodeUnauthenticated, sessioncmd.ErrInvalidRefreshToken)
				})
			}
			if s := e.load(t, live.SessionID); s.Version() != 1 {
				t.Errorf("a forged token changed the session: version %d", s.Version())
			}
			if _, err := e.doRefresh(live.RefreshToken); err != nil {
				t.Errorf("the live token no longer works: %v", err)
			}
		})

		t.Run("banned user", func(t *testing.T) {
			uid := e.seed(t, e.tenant, "banned@example.com", user.RoleCustomer)
			first := e.login(t, "banned@example.com", laptop)
			e.setStatus(t, uid, user.StatusBanned)
			_, err := e.doRefresh(first.RefreshToken)
			wantCode(t, err, domain.CodeUnauthenticated, user.ErrNotActive)
			s := e.load(t, first.SessionID)
			if r, _ := s.Revoked(); r != session.ReasonUserDisabled || s.Version() != 2 || s.Generation() != 0 {
				t.Errorf("session: reason %q, version %d, generation %d", r, s.Version(), s.Generation())
			}
		})

		t.Run("deleted user", func(t *testing.T) {
			uid := e.seed(t, e.tenant, "deleted@example.com", user.RoleCustomer)
			first := e.login(t, "deleted@example.com", laptop)
			e.deleteUser(t, uid)
			_, err := e.doRefresh(first.RefreshToken)
			wantCode(t, err, domain.CodeUnauthenticated, session.ErrRevoked)
			if r := e.revokedFor(t, first.SessionID); r != session.ReasonUserDisabled {
				t.Errorf("revoked for %q", r)
			}
		})
	})
}

// TestConcurrentRefresh: refreshes of one token at once: exactly one
// rotates, every one answers the same new refresh token.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		e.seed(t, e.tenant, "u@example.com", user.RoleCustomer)
		for round := 0; round < 3; round++ {
			first := e.login(t, "u@example.com", laptop)
			const n = 4
			var (
				wg       sync.WaitGroup
				start    = make(chan struct{})
				results  [n]sessioncmd.Tokens
				errs     [n]error
				appended atomic.Int64
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = e.doRefresh(first.RefreshToken)
					if errs[i] == nil && results[i].Position > 0 {
						appended.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("refresh %d: %v", i, errs[i])
				}
				if results[i].RefreshToken != results[0].RefreshToken {
					t.Fatalf("refresh %d answered another token", i)
				}
			}
			s := e.load(t, first.SessionID)
			if appended.Load() != 1 || s.Generation() != 1 || s.TokenHash() != sha(results[0].RefreshToken) {
				t.Fatalf("%d appends, generation %d", appended.Load(), s.Generation())
			}
		}
	})
}

// interferingStore runs interfere once, right after the first Load of a
// session stream: a concurrent command between load and append.
type interferingStore struct {
	commands.Store
	done      atomic.Bool
	interfere func()
}

func (s *interferingStore) Load(ctx context.Context, streamType, streamID string) ([]eventstore.Event, error) {
	evs, err := s.Store.Load(ctx, streamType, streamID)
	if streamType == session.StreamType && s.done.CompareAndSwap(false, true) {
		s.interfere()
	}
	return evs, err
}

// TestRefreshRetriesStaleVersion: a refresh that loses the race retries
// once and answers the winner's pair.
func TestRefreshRetriesStaleVersion(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		e.seed(t, e.tenant, "u@example.com", user.RoleCustomer)
		first := e.login(t, "u@example.com", laptop)
		var winner sessioncmd.Tokens
		var winErr error
		d := e.deps
		d.Store = &interferingStore{Store: e.store, interfere: func() { winner, winErr = e.doRefresh(first.RefreshToken) }}
		loser, err := sessioncmd.NewRefreshHandler(d, commands.Decorators{}).Handle(context.Background(),
			sessioncmd.Refresh{TenantID: e.tenant, RefreshToken: first.RefreshToken})
		if err != nil || winErr != nil {
			t.Fatalf("loser: %v; winner: %v", err, winErr)
		}
		if loser.RefreshToken != winner.RefreshToken || loser.Position != 0 || winner.Position == 0 {
			t.Errorf("loser %q (position %d), winner %q (position %d)", loser.RefreshToken, loser.Position, winner.RefreshToken, winner.Position)
		}
		if g := e.load(t, first.SessionID).Generation(); g != 1 {
			t.Errorf("generation %d", g)
		}
	})
}
