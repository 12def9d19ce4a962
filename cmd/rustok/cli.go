package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rustok/rustok/config"
)

// defaultConfigDir is the configuration directory read when neither --config
// nor RUSTOK_CONFIG names one, if it exists.
const defaultConfigDir = "./config"

// cli carries the global flags and I/O of one invocation.
type cli struct {
	configDir string
	// configFlag is the --config flag, to tell a given directory from the default.
	configFlag *pflag.Flag
	env        string
	environ    []string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

// run executes the CLI and returns the process exit code: 0 success,
// 1 failure, 2 usage error. Errors are one sentence on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	c := &cli{environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	// The last line of defence: no error printed shows a URL's secret.
	fmt.Fprintf(stderr, "rustok: %s\n", config.RedactURL(err.Error()))
	if errors.Is(err, errUsage) || isCobraUsageError(err) {
		fmt.Fprintln(stderr, "Run 'rustok --help' for usage.")
		return 2
	}
	return 1
}

// isCobraUsageError recognises cobra's own argument errors, which it does not type.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, "\n"+p) {
			return true
		}
	}
	return false
}

func (c *cli) getenv(key string) string {
	for i := len(c.environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(c.environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "rustok",
		Short:         "RusToK: a multi-tenant, event-sourced platform backend",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.PersistentFlags().StringVar(&c.configDir, "config", defaultConfigDir,
		"configuration directory whose <env>.yaml overrides the built-in one (else $RUSTOK_CONFIG, else ./config if it exists)")
	c.configFlag = root.PersistentFlags().Lookup("config")
	root.PersistentFlags().StringVar(&c.env, "env", "", "environment: development, test or production (default $RUSTOK_ENV, else development)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.AddCommand(
		c.serveCommand(), c.workerCommand(), c.migrateCommand(), c.tenantsCommand(),
		c.projectionsCommand(), c.eventsCommand(), c.taskCommand(), c.dbCommand(), c.seedCommand(), c.configCommand(), c.versionCommand(),
	)
	return root
}

// loadConfig resolves the environment and loads the configuration.
func (c *cli) loadConfig() (config.Config, error) {
	cfg, _, err := c.loadConfigWithSources()
	return cfg, err
}

// loadConfigWithSources is loadConfig that also says where each key's value
// came from (config print).
func (c *cli) loadConfigWithSources() (config.Config, config.Sources, error) {
	dir, err := c.configDirectory()
	if err != nil {
		return config.Config{}, nil, err
	}
	cfg, sources, err := config.LoadWithSources(dir, c.envName(), c.environ)
	if err != nil {
		return config.Config{}, nil, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, sources, nil
}

// envName returns the environment: --env, else RUSTOK_ENV, else development.
func (c *cli) envName() string {
	if c.env != "" {
		return c.env
	}
	if env := c.getenv("RUSTOK_ENV"); env != "" {
		return env
	}
	return config.EnvDevelopment
}

// configDirectory returns the directory whose <env>.yaml overrides the
// built-in file, or "" for none: --config when given, else RUSTOK_CONFIG when
// set, else ./config when it is a directory. A directory given by --config or
// RUSTOK_CONFIG must exist; the default one is optional, so that the binary
// runs in an empty directory.
func (c *cli) configDirectory() (string, error) {
	given := c.configFlag != nil && c.configFlag.Changed
	dir, from := c.configDir, "--config"
	if !given {
		dir, from = c.getenv("RUSTOK_CONFIG"), "RUSTOK_CONFIG"
	}
	if dir == "" && !given {
		if st, err := os.Stat(defaultConfigDir); err == nil && st.IsDir() {
			return defaultConfigDir, nil
		}
		return "", nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("configuration directory %s not found (given by %s)", dir, from)
	}
	return dir, nil
}

// open loads the configuration and builds the app for a command.
func (c *cli) open(ctx context.Context, opts buildOptions) (*app, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	return build(ctx, cfg, newLogger(cfg.Logger, c.stderr), opts)
}

// exactArgs is cobra.ExactArgs with a usage error naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}
