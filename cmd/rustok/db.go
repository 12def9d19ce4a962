package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/platform/database"
)

func (c *cli) dbCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db truncate",
		Short: "Database maintenance",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return usagef("db needs a subcommand: truncate") },
	}
	var yes bool
	truncate := &cobra.Command{
		Use:   "truncate",
		Short: "Empty every table (read models first, then the log); refused in production",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Env == config.EnvProduction {
				return fmt.Errorf("db truncate is refused when the environment is production")
			}
			if !yes && !c.confirm(fmt.Sprintf("Delete ALL data in %s? [y/N] ", database.Redact(cfg.Database.URL))) {
				return fmt.Errorf("truncate not confirmed (answer y, or pass --yes)")
			}
			a, err := build(cmd.Context(), cfg, newLogger(cfg.Logger, c.stderr), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			tables, err := truncateTables(cmd.Context(), a.db)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "emptied %d tables: %s\n", len(tables), strings.Join(tables, ", "))
			return nil
		},
	}
	truncate.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	cmd.AddCommand(truncate)
	return cmd
}

// truncateTables empties every table but the migration bookkeeping, in
// dependency order: read models (rm_*) first, then checkpoints and dead
// letters, then reservations, then the log itself.
func truncateTables(ctx context.Context, db *database.DB) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`
	if db.Dialect() == database.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`
	}
	var tables []string
	if err := db.SelectContext(ctx, &tables, q); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	rank := func(t string) int {
		switch {
		case strings.HasPrefix(t, "rm_"):
			return 0
		case t == "events":
			return 3
		case t == "reservations":
			return 2
		default:
			return 1
		}
	}
	slices.SortStableFunc(tables, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	tx, err := db.BeginWrite(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, t := range tables {
		stmt := `DELETE FROM ` + t
		if db.Dialect() == database.Postgres {
			stmt = `TRUNCATE TABLE ` + t + ` RESTART IDENTITY`
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("empty %s: %w", t, err)
		}
	}
	if db.Dialect() == database.SQLite {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_sequence`); err != nil {
			return nil, fmt.Errorf("reset sequences: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit truncate: %w", err)
	}
	return tables, nil
}
