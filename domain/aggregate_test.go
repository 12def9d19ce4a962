package domain_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rustok/rustok/domain"
)

var errInvalidHistory = errors.New("invalid history")

// counter is an aggregate whose events are numbers that must count up from 1.
type counter struct{ n int }

func (c *counter) apply(e int) error {
	if e != c.n+1 {
		return fmt.Errorf("%d after %d: %w", e, c.n, errInvalidHistory)
	}
	c.n = e
	return nil
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name        string
		history     []int
		want        int
		wantMessage string
	}{
		{name: "every event is applied in order", history: []int{1, 2, 3}, want: 3},
		{name: "an empty history is invalid", history: nil, wantMessage: "load counter: empty history: invalid history"},
		{name: "apply's error names the event", history: []int{1, 3}, wantMessage: "load counter: event 1: 3 after 1: invalid history"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &counter{}
			err := domain.Load("counter", tc.history, c.apply, errInvalidHistory)
			if tc.wantMessage != "" {
				if err == nil || err.Error() != tc.wantMessage || !errors.Is(err, errInvalidHistory) {
					t.Fatalf("Load() error = %v, want %q wrapping %v", err, tc.wantMessage, errInvalidHistory)
				}
				return
			}
			if err != nil || c.n != tc.want {
				t.Fatalf("Load() = %v with state %d, want state %d", err, c.n, tc.want)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	tests := []struct {
		name    string
		state   int
		event   int
		want    []int
		wantErr error
	}{
		{name: "an applied event is the decision's events", state: 1, event: 2, want: []int{2}},
		{name: "apply's error is returned with no events", state: 1, event: 3, wantErr: errInvalidHistory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &counter{n: tc.state}
			got, err := domain.Record(tc.event, c.apply)
			if !errors.Is(err, tc.wantErr) || !slices.Equal(got, tc.want) {
				t.Fatalf("Record() = %v, %v; want %v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
