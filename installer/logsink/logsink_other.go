//go:build !windows

package logsink

import "log/slog"

// platformHandlers: the console, which is the journal under systemd.
func platformHandlers(opts Options, getenv func(string) string) []slog.Handler {
	if opts.NoConsole {
		return nil
	}
	return []slog.Handler{consoleHandler(opts, getenv)}
}
