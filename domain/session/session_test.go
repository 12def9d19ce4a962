package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/session"
)

const (
	sessionID = "01900000-0000-7000-8000-00000000005e"
	otherID   = "01900000-0000-7000-8000-0000000000ff"
	tenantID  = "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"
	userID    = "01900000-0000-7000-8000-0000000000a1"
)

var (
	startedAt = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	policy    = session.Policy{Lifetime: 24 * time.Hour, RefreshGrace: 30 * time.Second}
	client    = session.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0"}
)

func started() session.Started {
	return session.Started{
		SessionID: sessionID, TenantID: tenantID, UserID: userID, TokenHash: "h0",
		ExpiresAt: startedAt.Add(24 * time.Hour), IP: "203.0.113.7", UserAgent: "Mozilla/5.0", At: startedAt,
	}
}

func refreshed(gen int, hash string, at time.Time) session.Refreshed {
	return session.Refreshed{SessionID: sessionID, TokenHash: hash, Generation: gen, IP: "203.0.113.7", UserAgent: "Mozilla/5.0", At: at}
}

func mustLoad(tb testing.TB, history ...session.Event) *session.Session {
	tb.Helper()
	s, err := session.Load(history)
	if err != nil {
		tb.Fatalf("Load = %v", err)
	}
	return s
}

func TestStart(t *testing.T) {
	s, events, err := session.Start(sessionID, tenantID, userID, "h0", client, startedAt.In(time.FixedZone("X", 3600)), policy)
	if err != nil {
		t.Fatal(err)
	}
	if want := []session.Event{started()}; !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %#v\nwant     %#v", events, want)
	}
	if s.ExpiresAt() != startedAt.Add(24*time.Hour) || s.Version() != 1 || s.TokenHash() != "h0" || s.Generation() != 0 ||
		s.UserID() != userID || s.TenantID() != tenantID || s.ID() != sessionID || s.StartedAt() != startedAt || s.LastSeenAt() != startedAt {
		t.Errorf("state after Start: %+v", s)
	}
	if err := s.CheckActive(startedAt); err != nil {
		t.Errorf("CheckActive = %v", err)
	}
	t.Run("zero policy lifetime is the default", func(t *testing.T) {
		s, _, err := session.Start(sessionID, tenantID, userID, "h0", client, startedAt, session.Policy{})
		if err != nil || s.ExpiresAt() != startedAt.Add(session.DefaultLifetime) {
			t.Errorf("ExpiresAt = %v, %v", s.ExpiresAt(), err)
		}
	})
	for name, args := range map[string][4]string{
		"bad session id": {"x", tenantID, userID, "h0"},
		"bad tenant id":  {sessionID, strings.ToUpper(tenantID), userID, "h0"},
		"bad user id":    {sessionID, tenantID, "", "h0"},
		"empty hash":     {sessionID, tenantID, userID, ""},
		"over-long hash": {sessionID, tenantID, userID, strings.Repeat("h", session.MaxHashLength+1)},
	} {
		t.Run(name, func(t *testing.T) {
			s, events, err := session.Start(args[0], args[1], args[2], args[3], client, startedAt, policy)
			if !errors.Is(err, session.ErrInvalidInput) || s != nil || events != nil || domain.CodeOf(err) != domain.CodeInternal {
				t.Errorf("Start = %v, %v, %v; want internal ErrInvalidInput", s, events, err)
			}
		})
	}
}

func TestClientIsNormalizedNeverRefused(t *testing.T) {
	tests := []struct {
		name   string
		in     session.Client
		wantIP string
		wantUA string
	}{
		{"IPv4", session.Client{IP: " 203.0.113.7 ", UserAgent: " curl/8 "}, "203.0.113.7", "curl/8"},
		{"IPv4-mapped IPv6 becomes IPv4", session.Client{IP: "::ffff:203.0.113.7"}, "203.0.113.7", ""},
		{"IPv6 canonical form without zone", session.Client{IP: "2001:DB8:0:0::1%eth0"}, "2001:db8::1", ""},
		{"garbage IP is dropped", session.Client{IP: "not an ip", UserAgent: "x"}, "", "x"},
		{"control characters and invalid UTF-8 are removed", session.Client{UserAgent: "Mo\x00zil\nla\xff/5"}, "", "Mozilla/5"},
		{"long user agent is cut at a character boundary", session.Client{UserAgent: strings.Repeat("é", 300)}, "", strings.Repeat("é", 256)},
		{"huge user agent", session.Client{UserAgent: strings.Repeat("a", 1<<20)}, "", strings.Repeat("a", session.MaxUserAgentLength)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := session.Start(sessionID, tenantID, userID, "h0", tc.in, startedAt, policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Client(); got.IP != tc.wantIP || got.UserAgent != tc.wantUA {
				t.Errorf("Client = %+v, want {%q %q}", got, tc.wantIP, tc.wantUA)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	t1 := startedAt.Add(time.Hour)
	expiry := startedAt.Add(24 * time.Hour)
	reuse := func(at time.Time) []session.Event {
		return []session.Event{session.Revoked{SessionID: sessionID, UserID: userID, Reason: session.ReasonRefreshReuse, At: at}}
	}
	tests := []struct {
		name        string
		given       []session.Event
		presented   string
		next        string
		at          time.Time
		wantOutcome session.Outcome
		wantEvents  []session.Event
		wantErr     error
	}{
		{
			name: "current token rotates", presented: "h0", next: "h1", at: t1,
			wantOutcome: session.OutcomeRotated, wantEvents: []session.Event{refreshed(1, "h1", t1)},
		},
		{
			name: "rotated token rotates again", given: []session.Event{refreshed(1, "h1", t1)}, presented: "h1", next: "h2", at: t1.Add(time.Hour),
			wantOutcome: session.OutcomeRotated, wantEvents: []session.Event{refreshed(2, "h2", t1.Add(time.Hour))},
		},
		{
			name: "previous token within the grace window gets the same pair", given: []session.Event{refreshed(1, "h1", t1)},
			presented: "h0", next: "hx", at: t1.Add(10 * time.Second), wantOutcome: session.OutcomeSamePair,
		},
		{
			name: "previous token at the end of the grace window still gets the same pair", given: []session.Event{refreshed(1, "h1", t1)},
			presented: "h0", next: "hx", at: t1.Add(30 * time.Second), wantOutcome: session.OutcomeSamePair,
		},
		{
			name: "previous token from a clock behind the rotation gets the same pair", given: []session.Event{refreshed(1, "h1", t1)},
			presented: "h0", next: "hx", at: t1.Add(-time.Second), wantOutcome: session.OutcomeSamePair,
		},
		{
			name: "previous token after the grace window revokes", given: []session.Event{refreshed(1, "h1", t1)},
			presented: "h0", next: "hx", at: t1.Add(31 * time.Second),
			wantOutcome: session.OutcomeReuseRevoked, wantEvents: reuse(t1.Add(31 * time.Second)),
		},
		{
			name: "an older spent token revokes even within the grace window", given: []session.Event{refreshed(1, "h1", t1), refreshed(2, "h2", t1)},
			presented: "h0", next: "hx", at: t1.Add(time.Second),
			wantOutcome: session.OutcomeReuseRevoked, wantEvents: reuse(t1.Add(time.Second)),
		},
		{
			name: "no grace: the previous token revokes at once", given: []session.Event{refreshed(1, "h1", t1)},
			presented: "h0", next: "hx", at: t1, wantOutcome: session.OutcomeReuseRevoked, wantEvents: reuse(t1),
		},
		{name: "a token never issued is refused without revoking", presented: "forged", next: "h1", at: t1, wantErr: session.ErrInvalidToken},
		{name: "an empty token is refused", presented: "", next: "h1", at: t1, wantErr: session.ErrInvalidToken},
		{name: "expired at the absolute lifetime", presented: "h0", next: "h1", at: expiry, wantErr: session.ErrExpired},
		{
			name: "refreshing does not extend the lifetime", given: []session.Event{refreshed(1, "h1", expiry.Add(-time.Minute))},
			presented: "h1", next: "h2", at: expiry.Add(time.Second), wantErr: session.ErrExpired,
		},
		{
			name: "expiry wins over the grace window", given: []session.Event{refreshed(1, "h1", expiry.Add(-time.Second))},
			presented: "h0", next: "h2", at: expiry, wantErr: session.ErrExpired,
		},
		{
			name: "a revoked session refuses the current token", given: []session.Event{session.Revoked{SessionID: sessionID, UserID: userID, Reason: session.ReasonSignOut, At: t1}},
			presented: "h0", next: "h1", at: t1, wantErr: session.ErrRevoked,
		},
		{
			name: "a revoked session refuses the previous token within grace", given: []session.Event{refreshed(1, "h1", t1), session.Revoked{SessionID: sessionID, UserID: userID, Reason: session.ReasonRefreshReuse, At: t1}},
			presented: "h0", next: "h2", at: t1, wantErr: session.ErrRevoked,
		},
		{name: "next hash equal to the current one", presented: "h0", next: "h0", at: t1, wantErr: session.ErrInvalidInput},
		{name: "next hash equal to a spent one", given: []session.Event{refreshed(1, "h1", t1)}, presented: "h1", next: "h0", at: t1, wantErr: session.ErrInvalidInput},
		{name: "empty next hash", presented: "h0", next: "", at: t1, wantErr: session.ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			if strings.HasPrefix(tc.name, "no grace") {
				p.RefreshGrace = 0
			}
			history := append([]session.Event{started()}, tc.given...)
			s := mustLoad(t, history...)
			version := s.Version()
			outcome, events, err := s.Refresh(tc.presented, tc.next, client, tc.at, p)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || events != nil || outcome != 0 || s.Version() != version {
					t.Fatalf("Refresh = %v, %v, %v; want %v and no change", outcome, events, err, tc.wantErr)
				}
				return
			}
			if err != nil || outcome != tc.wantOutcome || !reflect.DeepEqual(events, tc.wantEvents) {
				t.Fatalf("Refresh = %v, %#v, %v\nwant       %v, %#v", outcome, events, err, tc.wantOutcome, tc.wantEvents)
			}
			loaded := mustLoad(t, append(history, events...)...)
			if !reflect.DeepEqual(loaded, s) {
				t.Errorf("live state %+v\nloaded     %+v", s, loaded)
			}
			switch outcome {
			case session.OutcomeRotated:
				if s.TokenHash() != tc.next || s.LastSeenAt() != tc.at {
					t.Errorf("after rotation: token %q last seen %v", s.TokenHash(), s.LastSeenAt())
				}
			case session.OutcomeReuseRevoked:
				if reason, ok := s.Revoked(); !ok || reason != session.ReasonRefreshReuse {
					t.Errorf("Revoked = %v, %v", reason, ok)
				}
				if _, _, err := s.Refresh(s.TokenHash(), "new", client, tc.at, p); !errors.Is(err, session.ErrRevoked) {
					t.Errorf("the current token after a reuse = %v, want ErrRevoked", err)
				}
			}
		})
	}
	t.Run("errors are UNAUTHENTICATED", func(t *testing.T) {
		for _, err := range []error{session.ErrRevoked, session.ErrExpired, session.ErrInvalidToken, session.ErrTokenReused} {
			if domain.CodeOf(err) != domain.CodeUnauthenticated {
				t.Errorf("CodeOf(%v) = %s", err, domain.CodeOf(err))
			}
		}
	})
}

func TestSpentTokensAreBounded(t *testing.T) {
	s := mustLoad(t, started())
	at := startedAt
	for i := 1; i <= session.MaxSpentTokens+1; i++ {
		at = at.Add(time.Minute)
		if o, _, err := s.Refresh(fmt.Sprintf("h%d", i-1), fmt.Sprintf("h%d", i), client, at, policy); err != nil || o != session.OutcomeRotated {
			t.Fatalf("rotation %d: %v, %v", i, o, err)
		}
	}
	if s.Generation() != session.MaxSpentTokens+1 {
		t.Errorf("Generation = %d", s.Generation())
	}
	// h0 is now beyond memory: it is treated as never issued.
	if _, _, err := s.Refresh("h0", "x", client, at.Add(time.Hour), policy); !errors.Is(err, session.ErrInvalidToken) {
		t.Errorf("forgotten token = %v, want ErrInvalidToken", err)
	}
	// h1 is the oldest remembered: reuse.
	if o, _, err := s.Refresh("h1", "x", client, at.Add(time.Hour), policy); err != nil || o != session.OutcomeReuseRevoked {
		t.Errorf("oldest remembered token = %v, %v; want OutcomeReuseRevoked", o, err)
	}
}

func TestRevoke(t *testing.T) {
	t1 := startedAt.Add(time.Hour)
	for _, reason := range session.Reasons() {
		t.Run(string(reason), func(t *testing.T) {
			s := mustLoad(t, started())
			events, err := s.Revoke(reason, t1)
			want := []session.Event{session.Revoked{SessionID: sessionID, UserID: userID, Reason: reason, At: t1}}
			if err != nil || !reflect.DeepEqual(events, want) {
				t.Fatalf("Revoke = %#v, %v", events, err)
			}
			if err := s.CheckActive(t1); !errors.Is(err, session.ErrRevoked) {
				t.Errorf("CheckActive = %v, want ErrRevoked", err)
			}
			again, err := s.Revoke(session.ReasonSignOut, t1)
			if err != nil || again != nil {
				t.Errorf("revoking again = %v, %v; want a no-op", again, err)
			}
		})
	}
	t.Run("unknown reason is an internal error", func(t *testing.T) {
		s := mustLoad(t, started())
		if _, err := s.Revoke("bored", t1); !errors.Is(err, session.ErrInvalidInput) {
			t.Errorf("Revoke = %v", err)
		}
		if _, ok := s.Revoked(); ok {
			t.Errorf("a refused revoke revoked")
		}
	})
	t.Run("an expired session can be revoked", func(t *testing.T) {
		s := mustLoad(t, started())
		late := startedAt.Add(48 * time.Hour)
		if err := s.CheckActive(late); !errors.Is(err, session.ErrExpired) {
			t.Errorf("CheckActive = %v, want ErrExpired", err)
		}
		if events, err := s.Revoke(session.ReasonUserDisabled, late); err != nil || len(events) != 1 {
			t.Errorf("Revoke = %v, %v", events, err)
		}
	})
	t.Run("zero session", func(t *testing.T) {
		var s session.Session
		if _, err := s.Revoke(session.ReasonSignOut, t1); !errors.Is(err, session.ErrInvalidHistory) {
			t.Errorf("Revoke = %v", err)
		}
		if _, _, err := s.Refresh("a", "b", client, t1, policy); !errors.Is(err, session.ErrInvalidHistory) {
			t.Errorf("Refresh = %v", err)
		}
	})
}

func TestRevocationPolicy(t *testing.T) {
	// DOMAIN.md: sign-out revokes that session; revoke-all and change-password
	// revoke all but the current one; reset-password revokes all.
	want := map[session.Reason]bool{
		session.ReasonSignOut: false, session.ReasonRevoke: false, session.ReasonRevokeAll: true,
		session.ReasonPasswordChanged: true, session.ReasonPasswordReset: false,
		session.ReasonRefreshReuse: false, session.ReasonUserDisabled: false,
	}
	if len(want) != len(session.Reasons()) {
		t.Fatalf("reasons %v not all covered", session.Reasons())
	}
	for _, r := range session.Reasons() {
		if !r.Valid() || r.SparesCurrent() != want[r] {
			t.Errorf("%s: Valid %v, SparesCurrent %v, want %v", r, r.Valid(), r.SparesCurrent(), want[r])
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p  session.Policy
		ok bool
	}{
		{session.DefaultPolicy(), true},
		{session.Policy{}, true},
		{session.Policy{Lifetime: time.Hour, RefreshGrace: time.Minute}, true},
		{session.Policy{Lifetime: time.Hour, RefreshGrace: time.Hour}, false},
		{session.Policy{Lifetime: -time.Hour}, false},
		{session.Policy{RefreshGrace: -time.Second}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok || err != nil && !errors.Is(err, session.ErrInvalidPolicy) {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

func TestLoadRefusesIncoherentHistories(t *testing.T) {
	revoked := session.Revoked{SessionID: sessionID, UserID: userID, Reason: session.ReasonSignOut, At: startedAt}
	for name, tc := range map[string]struct {
		history []session.Event
		want    error
	}{
		"empty":                   {nil, session.ErrInvalidHistory},
		"not starting with start": {[]session.Event{refreshed(1, "h1", startedAt)}, session.ErrInvalidHistory},
		"started twice":           {[]session.Event{started(), started()}, session.ErrInvalidHistory},
		"another session's event": {[]session.Event{started(), session.Revoked{SessionID: otherID}}, session.ErrInvalidHistory},
		"refresh after revoke":    {[]session.Event{started(), revoked, refreshed(1, "h1", startedAt)}, session.ErrInvalidHistory},
		"nil event":               {[]session.Event{started(), nil}, session.ErrUnknownEvent},
		"pointer event":           {[]session.Event{started(), &revoked}, session.ErrUnknownEvent},
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := session.Load(tc.history); !errors.Is(err, tc.want) || s != nil {
				t.Errorf("Load = %v, %v; want %v", s, err, tc.want)
			}
		})
	}
}

func TestEventsRoundTripAndRedact(t *testing.T) {
	events := []session.Event{started(), refreshed(1, "h1", startedAt.Add(time.Hour)),
		session.Revoked{SessionID: sessionID, UserID: userID, Reason: session.ReasonPasswordReset, At: startedAt.Add(2 * time.Hour)}}
	seen := map[string]bool{}
	var decoded []session.Event
	for _, e := range events {
		payload, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		d, err := session.Decode(e.EventType(), e.SchemaVersion(), payload)
		if err != nil || !reflect.DeepEqual(d, e) {
			t.Fatalf("Decode(%s) = %#v, %v", payload, d, err)
		}
		decoded = append(decoded, d)
		seen[e.EventType()] = true
		var fields map[string]any
		_ = json.Unmarshal(payload, &fields)
		for k := range fields {
			if strings.ToLower(k) != k || strings.ContainsAny(k, " -") {
				t.Errorf("%s has field %q", e.EventType(), k)
			}
		}
		redacted, _ := json.Marshal(session.Redact(e))
		if strings.Contains(string(redacted), `"token_hash":"h`) {
			t.Errorf("Redact(%s) keeps the token hash: %s", e.EventType(), redacted)
		}
	}
	for _, typ := range session.EventTypes() {
		if !seen[typ] {
			t.Errorf("round trip lacks %s", typ)
		}
	}
	if _, err := session.Load(decoded); err != nil {
		t.Errorf("Load(decoded) = %v", err)
	}
	if _, err := session.Decode("session.lost", 1, nil); !errors.Is(err, session.ErrUnknownEvent) {
		t.Errorf("unknown type = %v", err)
	}
	if _, err := session.Decode(session.TypeRevoked, 9, []byte(`{}`)); !errors.Is(err, session.ErrUnknownEvent) {
		t.Errorf("unknown version = %v", err)
	}
	if _, err := session.Decode(session.TypeRevoked, 1, []byte(`[`)); err == nil {
		t.Errorf("bad JSON decoded")
	}
}
