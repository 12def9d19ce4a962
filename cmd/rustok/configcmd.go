package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok/config"
)

func (c *cli) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config print",
		Short: "Show the effective configuration",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("config needs a subcommand: print")
		},
	}
	var asJSON bool
	printCmd := &cobra.Command{
		Use:   "print [--env E] [--json]",
		Short: "Print every key of the effective configuration with its value and source",
		Long: "Print every key of the effective configuration, sorted, with its value (secrets masked as in logs)\n" +
			"and where the value came from: default, built-in <env>.yaml, a file path, or an environment variable.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, sources, err := c.loadConfigWithSources()
			if err != nil {
				return err
			}
			entries := configEntries(cfg, sources)
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			return writeConfigText(c.stdout, entries)
		},
	}
	printCmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of {key, value, source}")
	cmd.AddCommand(printCmd)
	return cmd
}

// configEntry is one line of `config print`.
type configEntry struct {
	Key string `json:"key"`
	// Value is a string, number, bool or list of strings; durations are Go
	// duration strings ("15m"), secrets are masked as Config.Redacted does.
	Value  any    `json:"value"`
	Source string `json:"source"`
}

// configEntries returns every leaf key of cfg with its masked value and its
// source, sorted by key.
func configEntries(cfg config.Config, sources config.Sources) []configEntry {
	flat := cfg.Flatten()
	entries := make([]configEntry, 0, len(flat))
	for _, kv := range flat {
		source := sources[kv.Key]
		if source == "" {
			source = config.SourceDefault
		}
		value := kv.Value
		switch v := value.(type) {
		case time.Duration:
			value = durationText(v)
		case []string:
			if v == nil {
				value = []string{}
			}
		}
		entries = append(entries, configEntry{Key: kv.Key, Value: value, Source: source})
	}
	return entries
}

// writeConfigText writes one "key: value  # source" line per entry, the
// comments aligned.
func writeConfigText(w io.Writer, entries []configEntry) error {
	lines := make([]string, len(entries))
	width := 0
	for i, e := range entries {
		lines[i] = e.Key + ": " + valueText(e.Value)
		width = max(width, utf8.RuneCountInString(lines[i]))
	}
	var b strings.Builder
	for i, e := range entries {
		b.WriteString(lines[i])
		b.WriteString(strings.Repeat(" ", width-utf8.RuneCountInString(lines[i])))
		b.WriteString("  # ")
		b.WriteString(e.Source)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// valueText formats a value as in the YAML files: lists in brackets, an empty
// string as "".
func valueText(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return `""`
		}
		return v
	case []string:
		return "[" + strings.Join(v, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// durationText formats d as the YAML files write it: "15m" and "720h" rather
// than time.Duration's "15m0s" and "720h0m0s".
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
