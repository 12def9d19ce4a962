package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok/migrations"
)

func (c *cli) migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate up|down N|status|force VERSION",
		Short: "Apply, revert, show or force schema migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("migrate needs a subcommand: up, down N, status or force VERSION")
		},
	}
	runner := func() (*migrations.Runner, error) {
		cfg, err := c.loadConfig()
		if err != nil {
			return nil, err
		}
		return migrations.New(cfg.Database.URL, migrations.Options{Logger: newLogger(cfg.Logger, c.stderr)})
	}
	var yes bool
	force := &cobra.Command{
		Use:   "force VERSION [--yes]",
		Short: "Mark the schema at VERSION, clean, without running any migration",
		Long: "force records VERSION (0: no migration applied) as the schema's version and clears a dirty mark, running\n" +
			"nothing: the way out of an interrupted migration that `rustok migrate up` cannot judge by itself, once\n" +
			"the schema has been checked (or fixed) by hand. VERSION must be one this rustok has a migration of.\n" +
			"On a schema that is not dirty, moving the version needs --yes (or an answer y).",
		Args: exactArgs(1, "the version to mark"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := strconv.ParseUint(args[0], 10, 63)
			if err != nil {
				return usagef("migrate force: VERSION must be a number (0 or more), got %q", args[0])
			}
			r, err := runner()
			if err != nil {
				return err
			}
			st, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			if !st.Dirty && st.Version != uint(v) && !yes &&
				!c.confirm(fmt.Sprintf("The schema is at version %d and not dirty. Mark it at version %d without running migrations? [y/N] ", st.Version, v)) {
				return fmt.Errorf("migrate force not confirmed: the schema is at version %d and not dirty; to mark it at %d anyway, run `rustok migrate force %d --yes`", st.Version, v, v)
			}
			before, err := r.Force(cmd.Context(), uint(v))
			if err != nil {
				return err
			}
			was := fmt.Sprintf("version %d", before.Version)
			if before.Dirty {
				was += ", dirty"
			}
			fmt.Fprintf(c.stdout, "schema marked at version %d (was %s)\n", v, was)
			return nil
		},
	}
	force.Flags().BoolVar(&yes, "yes", false, "do not ask before moving the version of a schema that is not dirty")
	cmd.AddCommand(&cobra.Command{
		Use: "up", Short: "Apply every pending migration (and repair an interrupted one)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := runner()
			if err != nil {
				return err
			}
			if err := r.Up(cmd.Context()); err != nil {
				return err
			}
			st, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "schema at version %d\n", st.Version)
			return nil
		},
	}, &cobra.Command{
		Use: "down N", Short: "Revert the last N migrations", Args: exactArgs(1, "the number of migrations to revert"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return usagef("migrate down: N must be a positive number, got %q", args[0])
			}
			r, err := runner()
			if err != nil {
				return err
			}
			if err := r.Down(cmd.Context(), n); err != nil {
				return err
			}
			st, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "schema at version %d\n", st.Version)
			return nil
		},
	}, &cobra.Command{
		Use: "status", Short: "Show the schema version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := runner()
			if err != nil {
				return err
			}
			st, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			state := "up to date"
			switch {
			case st.Dirty:
				state = "DIRTY: a migration was interrupted; `rustok migrate up` verifies and repairs it"
			case st.Version < st.Latest:
				state = fmt.Sprintf("%d pending", st.Latest-st.Version)
			case st.Version > st.Latest:
				state = "newer than this rustok"
			}
			fmt.Fprintf(c.stdout, "version %d of %d (%s)\n", st.Version, st.Latest, state)
			return nil
		},
	}, force)
	return cmd
}
