package domain

import "fmt"

// Load applies history, a stream's stored events in stream order, one by
// one through apply, the aggregate's only code that sets state: the shared
// part of each module's Load. what names the aggregate in errors ("API key"
// gives "load API key: event 3: …").
//
// Errors: one wrapping invalidHistory (the module's ErrInvalidHistory) for
// an empty history; apply's first error, wrapped with the event's index.
func Load[E any](what string, history []E, apply func(E) error, invalidHistory error) error {
	if len(history) == 0 {
		return fmt.Errorf("load %s: empty history: %w", what, invalidHistory)
	}
	for i, e := range history {
		if err := apply(e); err != nil {
			return fmt.Errorf("load %s: event %d: %w", what, i, err)
		}
	}
	return nil
}

// Record applies e through apply and returns it as a decision's events: the
// way each decision method of an aggregate changes state. It returns apply's
// error unwrapped, and no events with it.
func Record[E any](e E, apply func(E) error) ([]E, error) {
	if err := apply(e); err != nil {
		return nil, err
	}
	return []E{e}, nil
}
