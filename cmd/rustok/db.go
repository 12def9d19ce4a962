package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok/config"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/database"
)

func (c *cli) dbCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db truncate",
		Short: "Database maintenance",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return usagef("db needs a subcommand: truncate") },
	}
	var (
		yes  bool
		name string
	)
	truncate := &cobra.Command{
		Use:   "truncate [--yes] [--database NAME]",
		Short: "Empty every table (read models first, then the log); refused in production",
		Long: "Empty every table of the configured database: read models first, then checkpoints and dead letters,\n" +
			"reservations, then the event log. Refused in production. A database holding a tenant is emptied only\n" +
			"with both --yes and --database NAME, NAME being the database's own name (the file name of a SQLite\n" +
			"database, the PostgreSQL database name), whatever RUSTOK_ENV says: a forgotten environment variable\n" +
			"must not empty the wrong database. An empty one asks for confirmation unless --yes is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Env == config.EnvProduction {
				return fmt.Errorf("db truncate is refused when the environment is production")
			}
			a, err := build(cmd.Context(), cfg, newLogger(cfg.Logger, c.stderr), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := c.checkTruncate(cmd.Context(), a.db, yes, cmd.Flags().Changed("database"), name); err != nil {
				return err
			}
			if !yes && !c.confirm(fmt.Sprintf("Delete ALL data in %s? [y/N] ", config.RedactURL(cfg.Database.URL))) {
				return fmt.Errorf("truncate not confirmed (answer y, or pass --yes)")
			}
			tables, err := truncateTables(cmd.Context(), a.db)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "emptied %d tables: %s\n", len(tables), strings.Join(tables, ", "))
			return nil
		},
	}
	truncate.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	truncate.Flags().StringVar(&name, "database", "", "the name of the database to empty (its file name on SQLite); needed with --yes when it holds a tenant")
	cmd.AddCommand(truncate)
	return cmd
}

// checkTruncate refuses to empty db unless the operator named it: a
// --database that is given must be db's name, and a database holding a
// tenant needs both --yes and --database. It says which tenants' count it
// found and what to pass.
func (c *cli) checkTruncate(ctx context.Context, db *database.DB, yes, named bool, name string) error {
	actual, err := db.Name(ctx)
	if err != nil {
		return err
	}
	if named && name != actual {
		return fmt.Errorf("db truncate: --database %s does not name the configured database (%s)", name, actual)
	}
	tenants, err := countTenants(ctx, db)
	if err != nil {
		return err
	}
	if tenants > 0 && !(yes && named) {
		noun := "tenants"
		if tenants == 1 {
			noun = "tenant"
		}
		return fmt.Errorf("db truncate: the database %s holds %d %s: to empty it, pass both --yes and --database %s", actual, tenants, noun, actual)
	}
	return nil
}

// countTenants returns how many tenants db holds: the larger of the tenant
// streams of the log and the rows of the tenants read model, so that neither
// a lagging projection nor a pruned log hides one.
func countTenants(ctx context.Context, db *database.DB) (int, error) {
	var inLog, inReadModel int
	if err := db.GetContext(ctx, &inLog, db.Rebind(`SELECT COUNT(DISTINCT stream_id) FROM events WHERE stream_type = ?`), tenantdom.StreamType); err != nil {
		return 0, fmt.Errorf("count the tenants of the log: %w", err)
	}
	if err := db.GetContext(ctx, &inReadModel, `SELECT COUNT(*) FROM rm_tenants`); err != nil {
		return 0, fmt.Errorf("count the tenants of the read model: %w", err)
	}
	return max(inLog, inReadModel), nil
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
