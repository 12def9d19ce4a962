package commands_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
)

func TestDecide(t *testing.T) {
	refused := errors.New("refused")
	deleted := user.Deleted{UserID: "u1", Email: "a@example.com"}
	release := eventstore.Release("user.email", "t1/a@example.com")
	tests := []struct {
		name             string
		events           []user.Event
		err              error
		reservations     []eventstore.AppendOption
		wantEvents       []user.Event
		wantReservations int
		wantErr          error
	}{
		{name: "events and reservations make the decision", events: []user.Event{deleted},
			reservations: []eventstore.AppendOption{release}, wantEvents: []user.Event{deleted}, wantReservations: 1},
		{name: "no events is a no-op decision", wantEvents: nil},
		{name: "a refusal is returned with no decision", events: []user.Event{deleted}, err: refused,
			reservations: []eventstore.AppendOption{release}, wantErr: refused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := commands.Decide(tc.events, tc.err, tc.reservations...)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decide() error = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(got.Events, tc.wantEvents) || len(got.Reservations) != tc.wantReservations {
				t.Errorf("Decide() = %+v, want events %v and %d reservations", got, tc.wantEvents, tc.wantReservations)
			}
		})
	}
}

func TestRetryStale(t *testing.T) {
	other := errors.New("other")
	tests := []struct {
		name      string
		answers   []error
		wantCalls int
		wantErr   error
	}{
		{name: "success is not retried", answers: []error{nil}, wantCalls: 1},
		{name: "another error is not retried", answers: []error{other}, wantCalls: 1, wantErr: other},
		{name: "a stale version is retried once", answers: []error{commands.ErrStaleVersion, nil}, wantCalls: 2},
		{name: "a second stale version is returned", answers: []error{commands.ErrStaleVersion, commands.ErrStaleVersion},
			wantCalls: 2, wantErr: commands.ErrStaleVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			res, err := commands.RetryStale(func() (commands.Result, error) {
				calls++
				return commands.Result{Position: int64(calls)}, tc.answers[calls-1]
			})
			if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) || res.Position != int64(calls) {
				t.Errorf("RetryStale() = %+v, %v after %d calls; want %v after %d", res, err, calls, tc.wantErr, tc.wantCalls)
			}
		})
	}
}
