package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok/eventstore"
)

// tailLine is one JSON line of `rustok events tail`.
type tailLine struct {
	Position      int64               `json:"position"`
	ID            string              `json:"id"`
	StreamType    string              `json:"stream_type"`
	StreamID      string              `json:"stream_id"`
	StreamVersion int64               `json:"stream_version"`
	TenantID      string              `json:"tenant_id"`
	Type          string              `json:"type"`
	SchemaVersion int                 `json:"schema_version"`
	RecordedAt    time.Time           `json:"recorded_at"`
	Metadata      eventstore.Metadata `json:"metadata"`
	Payload       json.RawMessage     `json:"payload"`
}

func (c *cli) eventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events tail",
		Short: "Read the event log",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return usagef("events needs a subcommand: tail") },
	}
	var (
		from   int64
		tenant string
		typ    string
		follow bool
	)
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print events as JSON lines (oldest first); --follow keeps waiting for new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from < 0 {
				return usagef("--from must be ≥ 0")
			}
			if _, err := path.Match(typ, ""); err != nil {
				return usagef("--type %q is not a valid glob: %v", typ, err)
			}
			a, err := c.open(cmd.Context(), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			return c.tail(cmd.Context(), a, from, tenant, typ, follow)
		},
	}
	tail.Flags().Int64Var(&from, "from", 0, "print events after this global position")
	tail.Flags().StringVar(&tenant, "tenant", "", "only events of this tenant id")
	tail.Flags().StringVar(&typ, "type", "", "only event types matching this glob (e.g. 'tenant.*')")
	tail.Flags().BoolVar(&follow, "follow", false, "keep printing new events until interrupted")
	cmd.AddCommand(tail)
	return cmd
}

func (c *cli) tail(ctx context.Context, a *app, from int64, tenant, typ string, follow bool) error {
	enc := json.NewEncoder(c.stdout)
	print := func(e eventstore.Event) error {
		if e.Position <= from || (tenant != "" && e.Stream.TenantID != tenant) {
			return nil
		}
		if typ != "" {
			if ok, _ := path.Match(typ, e.Type); !ok {
				return nil
			}
		}
		// Secrets (password, token and key hashes) never leave the command
		// side, not even to an operator's terminal.
		payload, err := redactEvent(e)
		if err != nil {
			return err
		}
		return enc.Encode(tailLine{Position: e.Position, ID: e.ID, StreamType: e.Stream.Type, StreamID: e.Stream.ID,
			StreamVersion: e.Version, TenantID: e.Stream.TenantID, Type: e.Type, SchemaVersion: e.SchemaVersion,
			RecordedAt: e.RecordedAt, Metadata: e.Metadata, Payload: payload})
	}
	// Walk the log in consumption order (see eventstore.Cursor); --from filters.
	cur := eventstore.Cursor{}
	for {
		evs, err := a.store.ReadAll(ctx, cur, 1000)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := print(e); err != nil {
				return fmt.Errorf("write event: %w", err)
			}
			cur = e.Cursor()
		}
		if len(evs) < 1000 {
			break
		}
	}
	if !follow {
		return nil
	}
	poll := a.cfg.Settings.Rustok.Events.PollInterval
	if poll > 250*time.Millisecond {
		poll = 250 * time.Millisecond
	}
	// Follow from where the walk ended: poll with short waits.
	for ctx.Err() == nil {
		evs, err := a.store.ReadAll(ctx, cur, 1000)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range evs {
			if err := print(e); err != nil {
				return fmt.Errorf("write event: %w", err)
			}
			cur = e.Cursor()
		}
		if len(evs) == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}
	return nil
}
