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
		Use:   "projections list|status|replay|verify",
		Short: "Inspect, rebuild and verify projections and reactors (consumer groups)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("projections needs a subcommand: list, status, replay or verify")
		},
	}
	cmd.AddCommand(c.projectionsStatus("list", false), c.projectionsStatus("status", true), c.projectionsReplay(), c.projectionsVerify())
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
			var refuseReactor func(string) error
			if !includeReactors {
				refuseReactor = func(n string) error {
					return fmt.Errorf("%s is a reactor: replaying it repeats its side effects; add --include-reactors if you mean it", n)
				}
			}
			targets, err := a.consumersNamed(all, args, refuseReactor)
			if err != nil {
				return err
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

func (c *cli) projectionsVerify() *cobra.Command {
	var all bool
	var maxDiffs int
	cmd := &cobra.Command{
		Use:   "verify NAME...|--all",
		Short: "Rebuild projections into shadow tables up to their checkpoints and compare them with the live read models",
		Long: `Rebuild each projection from the log into shadow tables, up to the position its
live read model is at, and compare the two row by row, without blocking the
live read model. Prints the rows that differ; exits 1 when any does.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return usagef("verify needs projection names or --all (not both)")
			}
			if maxDiffs < 1 {
				return usagef("--max-diffs must be at least 1")
			}
			a, err := c.open(cmd.Context(), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			targets, err := a.consumersNamed(all, args, func(n string) error {
				return usagef("%s is a reactor: it has no read model to verify", n)
			})
			if err != nil {
				return err
			}
			rp, err := relay.NewReplayer(a.store, a.relayConfig, a.logger, a.relayMetrics)
			if err != nil {
				return err
			}
			var differing []string // "tenants in 2 rows"
			for _, t := range targets {
				res, err := c.verifyOne(cmd.Context(), rp, t, maxDiffs)
				if err != nil {
					return err
				}
				if !res.Clean() {
					differing = append(differing, t.Name+" in "+plural(res.Differing, "row"))
				}
			}
			switch len(differing) {
			case 0:
				return nil
			case 1:
				name, rows, _ := strings.Cut(differing[0], " in ")
				return fmt.Errorf("projection %s differs from its log in %s", name, rows)
			default:
				return fmt.Errorf("%d projections differ from the log: %s", len(differing), strings.Join(differing, ", "))
			}
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "verify every projection (reactors have no read model)")
	cmd.Flags().IntVar(&maxDiffs, "max-diffs", 20, "print at most this many differing rows per projection")
	return cmd
}

// verifyOne verifies t with a progress bar on stderr, and prints the result
// and the first maxDiffs differing rows on stdout.
func (c *cli) verifyOne(ctx context.Context, rp *relay.Replayer, t relay.Consumer, maxDiffs int) (relay.VerifyResult, error) {
	bar := c.eventProgress("verify " + t.Name + ": rebuild")
	res, err := rp.Verify(ctx, t, relay.VerifyOptions{MaxDifferences: maxDiffs, Progress: bar.report})
	bar.finish()
	if err != nil {
		return relay.VerifyResult{}, err
	}
	fmt.Fprintf(c.stdout, "verified %s at position %d: %s rebuilt, %s compared in %s\n",
		t.Name, res.Position, plural(res.Events, "event"), plural(res.Rows, "row"), res.Duration.Round(time.Millisecond))
	if res.Clean() {
		fmt.Fprintf(c.stdout, "%s: clean\n", t.Name)
		return res, nil
	}
	verb := "differ"
	if res.Differing == 1 {
		verb = "differs"
	}
	fmt.Fprintf(c.stdout, "%s: %s %s from the log:\n", t.Name, plural(res.Differing, "row"), verb)
	for _, d := range res.Differences {
		fmt.Fprintf(c.stdout, "  %s\n", d)
	}
	if more := res.Differing - int64(len(res.Differences)); more > 0 {
		fmt.Fprintf(c.stdout, "  … and %d more (see --max-diffs)\n", more)
	}
	return res, nil
}

// plural returns "1 row", "2 rows".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (c *cli) replayOne(ctx context.Context, rp *relay.Replayer, t relay.Consumer, includeReactors bool) error {
	bar := c.eventProgress("replay " + t.Name)
	res, err := rp.Replay(ctx, t, relay.ReplayOptions{IncludeReactors: includeReactors, Progress: bar.report})
	bar.finish()
	if err != nil {
		return err
	}
	rate := 0.0
	if res.Duration > 0 {
		rate = float64(res.Events) / res.Duration.Seconds()
	}
	how := "in log order"
	if res.Bulk {
		how = "stream by stream"
	}
	fmt.Fprintf(c.stdout, "replayed %s: %d events in %s (%.0f events/s, %s), now at position %d\n", t.Name, res.Events, res.Duration.Round(time.Millisecond), rate, how, res.Position)
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

// eventProgress is a progress bar of events on stderr for a long rebuild.
type eventProgress struct {
	c           *cli
	description string
	bar         *progressbar.ProgressBar
}

func (c *cli) eventProgress(description string) *eventProgress {
	return &eventProgress{c: c, description: description}
}

// report is a Progress callback of the replayer. The bar is made on the
// first report, when the total is known: a bar of unknown length (-1) starts
// a spinner goroutine that races with rendering in progressbar v3.19.1 (seen
// under -race).
func (p *eventProgress) report(done, total int64) {
	if total <= 0 {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.c.stderr),
			progressbar.OptionSetDescription(p.description),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.bar.ChangeMax64(total)
	_ = p.bar.Set64(done)
}

// finish clears the bar, if one was drawn.
func (p *eventProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// consumersNamed returns the consumer groups a replay or verify works on:
// with all, every projection (and every reactor when refuseReactor is nil);
// else the named ones, in order. An unknown name is a usage error; a named
// reactor is refuseReactor's error, unless refuseReactor is nil.
func (a *app) consumersNamed(all bool, names []string, refuseReactor func(name string) error) ([]relay.Consumer, error) {
	var targets []relay.Consumer
	if all {
		for _, cs := range a.consumers {
			if cs.Kind == relay.KindProjection || refuseReactor == nil {
				targets = append(targets, cs)
			}
		}
		return targets, nil
	}
	for _, n := range names {
		cs, ok := a.consumer(n)
		if !ok {
			return nil, usagef("unknown projection %q (see rustok projections list)", n)
		}
		if cs.Kind == relay.KindReactor && refuseReactor != nil {
			return nil, refuseReactor(n)
		}
		targets = append(targets, cs)
	}
	return targets, nil
}
