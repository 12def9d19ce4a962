package eventstore

import (
	"encoding/json"
	"fmt"
)

// Upcaster turns a payload of one schema version into the next version's shape.
type Upcaster func(payload json.RawMessage) (json.RawMessage, error)

type upcastKey struct {
	eventType string
	from      int
}

// Upcasters is a registry of payload upgrades applied when events are read, so
// stored events are never rewritten. Register everything while wiring; after
// that an Upcasters is read-only and safe for concurrent use.
type Upcasters struct {
	steps map[upcastKey]Upcaster
}

// NewUpcasters returns an empty registry.
func NewUpcasters() *Upcasters { return &Upcasters{steps: map[upcastKey]Upcaster{}} }

// Register adds the step that upgrades eventType from version from to from+1.
// It returns an error if that step is already registered or from < 1.
func (u *Upcasters) Register(eventType string, from int, step Upcaster) error {
	if from < 1 || step == nil {
		return fmt.Errorf("register upcaster %s v%d: invalid step", eventType, from)
	}
	k := upcastKey{eventType, from}
	if _, dup := u.steps[k]; dup {
		return fmt.Errorf("register upcaster %s v%d: already registered", eventType, from)
	}
	u.steps[k] = step
	return nil
}

// Upcast applies every registered step to e, in version order, until none is
// left; e.SchemaVersion is updated to the version reached.
func (u *Upcasters) Upcast(e *Event) error {
	if u == nil {
		return nil
	}
	for {
		step, ok := u.steps[upcastKey{e.Type, e.SchemaVersion}]
		if !ok {
			return nil
		}
		p, err := step(e.Payload)
		if err != nil {
			return fmt.Errorf("upcast %s v%d at position %d: %w", e.Type, e.SchemaVersion, e.Position, err)
		}
		e.Payload = p
		e.SchemaVersion++
	}
}
