package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok/eventstore/relay"
)

func (c *cli) projectionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projections list|status|replay",
		Short: "Inspect and rebuild projections and reactors (consumer groups)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("projections needs a subcommand: list, status or replay")
		},
	}
	cmd.AddCommand(c.projectionsStatus("list", false), c.projectionsStatus("status", true), c.projectionsReplay())
	return cmd
}

func (c *cli) projectionsStatus(use string, withDeadLetters bool) *cobra.Command {
	short := "List every consumer group with its position and lag"
	if withDeadLetters {
		short = "Show every consumer group's position, lag, errors and dead letters"
	}
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.open(cmd.Context(), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			sts, err := relay.Statuses(cmd.Context(), a.store, a.consumers)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tPOSITION\tHEAD\tLAG (EVENTS)\tLAG (S)\tDEAD LETTERS\tUPDATED")
			for _, s := range sts {
				updated := "never"
				if !s.UpdatedAt.IsZero() && s.Position > 0 {
					updated = s.UpdatedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%.1f\t%d\t%s\n", s.Name, s.Kind, s.Position, s.Head, s.LagEvents, s.LagSeconds, s.DeadLetters, updated)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if !withDeadLetters {
				return nil
			}
			dls, err := relay.DeadLetters(cmd.Context(), a.db, "", 50)
			if err != nil {
				return err
			}
			if len(dls) == 0 {
				fmt.Fprintln(c.stdout, "\nno dead letters")
				return nil
			}
			fmt.Fprintln(c.stdout, "\nDEAD LETTERS (oldest first)")
			w = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tCONSUMER\tPOSITION\tTYPE\tSTREAM\tATTEMPTS\tFAILED AT\tERROR")
			for _, d := range dls {
				msg, _, _ := strings.Cut(d.Error, "\n")
				fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Consumer, d.Position, d.EventType, d.Stream, d.Attempts, d.FailedAt.Format(time.RFC3339), msg)
			}
			return w.Flush()
		},
	}
}

func (c *cli) projectionsReplay() *cobra.Command {
	var all, yes, includeReactors bool
	cmd := &cobra.Command{
		Use:   "replay NAME...|--all",
		Short: "Rebuild projections from position 0 into fresh tables, then swap (old read model serves until then)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return usagef("replay needs projection names or --all (not both)")
			}
			a, err := c.open(cmd.Context(), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			var targets []relay.Consumer
			if all {
				for _, cs := range a.consumers {
					if cs.Kind == relay.KindProjection || includeReactors {
						targets = append(targets, cs)
					}
				}
			} else {
				for _, n := range args {
					cs, ok := a.consumer(n)
					if !ok {
						return usagef("unknown projection %q (see rustok projections list)", n)
					}
					if cs.Kind == relay.KindReactor && !includeReactors {
						return fmt.Errorf("%s is a reactor: replaying it repeats its side effects; add --include-reactors if you mean it", n)
					}
					targets = append(targets, cs)
				}
			}
			if !yes {
				names := make([]string, len(targets))
				for i, t := range targets {
					names[i] = t.Name
				}
				if !c.confirm(fmt.Sprintf("Replay %s from the start of the log? [y/N] ", strings.Join(names, ", "))) {
					return fmt.Errorf("replay not confirmed (answer y, or pass --yes)")
				}
			}
			rp, err := relay.NewReplayer(a.store, a.relayConfig, a.logger, a.relayMetrics)
			if err != nil {
				return err
			}
			for _, t := range targets {
				if err := c.replayOne(cmd.Context(), rp, t, includeReactors); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "replay every projection")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&includeReactors, "include-reactors", false, "also replay reactors (their side effects happen again)")
	return cmd
}

func (c *cli) replayOne(ctx context.Context, rp *relay.Replayer, t relay.Consumer, includeReactors bool) error {
	// The bar is made on the first report, when the total is known: a bar of
	// unknown length (-1) starts a spinner goroutine that races with rendering
	// in progressbar v3.19.1 (seen under -race).
	var bar *progressbar.ProgressBar
	res, err := rp.Replay(ctx, t, relay.ReplayOptions{IncludeReactors: includeReactors, Progress: func(done, total int64) {
		if total <= 0 {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(c.stderr),
				progressbar.OptionSetDescription("replay "+t.Name),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("events"),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		bar.ChangeMax64(total)
		_ = bar.Set64(done)
	}})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	rate := 0.0
	if res.Duration > 0 {
		rate = float64(res.Events) / res.Duration.Seconds()
	}
	fmt.Fprintf(c.stdout, "replayed %s: %d events in %s (%.0f events/s), now at position %d\n", t.Name, res.Events, res.Duration.Round(time.Millisecond), rate, res.Position)
	return nil
}

// confirm asks on stdin; no answer (EOF, not a terminal) is no.
func (c *cli) confirm(question string) bool {
	fmt.Fprint(c.stderr, question)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(c.stderr)
		return false
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
