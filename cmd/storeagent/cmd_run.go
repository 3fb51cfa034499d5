package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/installer"
	"github.com/tmas/storeagent/installer/logsink"
)

func runCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground (what the system service runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.load()
			if err != nil {
				return err
			}
			sink, err := openLogs(e, c)
			if err != nil {
				return err
			}
			defer sink.Close()
			logger := sink.Logger()
			as, err := assemble(c, logger, agent.Options{})
			if err != nil {
				logger.Error("the agent could not start", "err", err)
				return err
			}
			logger.Info("status page", "url", as.statusURL)
			return installer.RunService(e.ctx, runner{as}, logger)
		},
	}
}

type runner struct{ as *assembled }

func (r runner) Run(ctx context.Context) error { return r.as.agent.Run(ctx, r.as.extra) }

func openLogs(e *env, c *config.Config) (*logsink.Sink, error) {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	if e.verbose {
		lvl = slog.LevelDebug
	}
	sys, _ := installer.EventLog()
	return logsink.New(logsink.Options{
		File: c.Log.File, Level: lvl, MaxSize: int64(c.Log.MaxSize), Keep: c.Log.Keep, Format: c.Log.Format,
		Console: e.stderr, System: sys,
	})
}
