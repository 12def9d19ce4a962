package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
)

// cacheFlushedType is the event `task cleanup cache` appends: every running
// instance sees it on its tail of the log and drops its caches (version bump).
const cacheFlushedType = "system.cache_flushed"

func (c *cli) taskCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task cleanup [sessions|cache|shadows|all]",
		Short: "Maintenance tasks",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return usagef("task needs a subcommand: cleanup") },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "cleanup [sessions|cache|shadows|all]",
		Short: "Remove expired sessions; flush caches on every instance; drop the shadow tables of interrupted replays",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1 && !slices.Contains([]string{"sessions", "cache", "shadows", "all"}, args[0])) {
				return usagef("cleanup takes one of sessions, cache, shadows or all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			what := "all"
			if len(args) == 1 {
				what = args[0]
			}
			a, err := c.open(cmd.Context(), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			if what == "sessions" || what == "all" {
				// Sessions arrive with the identity module (next issue): there is
				// no session read model to clean yet.
				fmt.Fprintln(c.stdout, "sessions: no session store in this version, nothing to remove")
			}
			if what == "cache" || what == "all" {
				id, err := uuid.NewV7()
				if err != nil {
					return err
				}
				res, err := a.store.Append(cmd.Context(), eventstore.Stream{Type: "system", ID: "cache-flush-" + id.String()},
					eventstore.NoStream, []eventstore.NewEvent{{Type: cacheFlushedType, SchemaVersion: 1, Payload: map[string]string{"requested_by": "cli"}}})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "cache: flush requested at position %d; every running instance drops its caches\n", res.Position)
			}
			if what == "shadows" || what == "all" {
				if err := c.cleanupShadows(cmd.Context(), a); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return cmd
}

// cleanupShadows drops the shadow tables that interrupted replays and
// verifies left behind, and keeps those of runs in progress in any process
// (docs/adr/0020).
func (c *cli) cleanupShadows(ctx context.Context, a *app) error {
	found, err := relay.DropShadows(ctx, a.db, a.consumers)
	if err != nil {
		return fmt.Errorf("drop shadow tables: %w", err)
	}
	if len(found) == 0 {
		fmt.Fprintln(c.stdout, "shadows: no shadow tables left behind")
		return nil
	}
	for _, s := range found {
		if s.Running {
			fmt.Fprintf(c.stdout, "shadows: kept %s (a replay or verify of %s is running)\n", strings.Join(s.Tables, ", "), s.Consumer)
		} else {
			fmt.Fprintf(c.stdout, "shadows: dropped %s (left by an interrupted replay or verify of %s)\n", strings.Join(s.Tables, ", "), s.Consumer)
		}
	}
	return nil
}
