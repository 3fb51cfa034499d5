package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tmas/storeagent/agent/config"
)

// env is what every command gets: its streams and the global flags.
type env struct {
	ctx        context.Context
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	configPath string
	verbose    bool
}

// run builds the command tree and executes it: the program's one entry.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "storeagent",
		Short: "The TMAS store agent: staff hours by FTP, POS sales by polling, delivered to headquarters exactly once",
		Long: `The TMAS store agent runs in a store as a system service. It receives staff-hours
CSV files over FTP or in a watched folder, polls the store's point of sale
(Shopify POS, Lightspeed X-Series), keeps every record on disk and forwards
it to TMAS headquarters, exactly once in effect.

Start with "storeagent demo" to see it work on this machine.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetContext(ctx)
	root.PersistentFlags().StringVar(&e.configPath, "config", "", "configuration file (default "+config.DefaultPath()+")")
	root.PersistentFlags().BoolVarP(&e.verbose, "verbose", "v", false, "more detail in logs")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		runCmd(e), demoCmd(e), statusCmd(e), doctorCmd(e), syncCmd(e), backfillCmd(e),
		locationsCmd(e), connectCmd(e), reportCmd(e), deadletterCmd(e), ftpCmd(e), versionCmd(e),
	)
	root.AddCommand(serviceCmds(e)...)
	err := root.Execute()
	if err != nil && isCobraUsage(err) {
		return usageError{err}
	}
	return err
}

func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.Contains(s, "accepts ") || strings.Contains(s, "requires at least") || strings.Contains(s, "required flag")
}

func (e *env) path() string {
	if e.configPath != "" {
		return e.configPath
	}
	return config.DefaultPath()
}

// load reads the configuration; its problems are usage errors (exit 2).
func (e *env) load() (*config.Config, error) {
	c, err := config.Load(e.path(), configKinds()...)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// consoleLogger is for short commands: text on stderr.
func (e *env) consoleLogger() *slog.Logger {
	lvl := slog.LevelWarn
	if e.verbose {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
}

func versionCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return printJSON(e.stdout, map[string]string{"version": version, "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH})
			}
			fmt.Fprintln(e.stdout, "storeagent", version)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
