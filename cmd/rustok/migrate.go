package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok/migrations"
)

func (c *cli) migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate up|down N|status",
		Short: "Apply, revert or show schema migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("migrate needs a subcommand: up, down N or status")
		},
	}
	runner := func() (*migrations.Runner, error) {
		cfg, err := c.loadConfig()
		if err != nil {
			return nil, err
		}
		return migrations.NewRunner(cfg.Database.URL)
	}
	cmd.AddCommand(&cobra.Command{
		Use: "up", Short: "Apply every pending migration", Args: cobra.NoArgs,
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
				state = "DIRTY: the last migration failed"
			case st.Version < st.Latest:
				state = fmt.Sprintf("%d pending", st.Latest-st.Version)
			}
			fmt.Fprintf(c.stdout, "version %d of %d (%s)\n", st.Version, st.Latest, state)
			return nil
		},
	})
	return cmd
}
