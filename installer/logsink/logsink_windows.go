package logsink

import "log/slog"

// platformHandlers: the Event Log when running as a service, the console
// in a terminal.
func platformHandlers(opts Options, getenv func(string) string) []slog.Handler {
	if opts.System != nil {
		return []slog.Handler{newLineHandler(maxLevel(opts.Level, opts.SystemLevel), emitEventLog(opts.System))}
	}
	if opts.NoConsole {
		return nil
	}
	return []slog.Handler{consoleHandler(opts, getenv)}
}

func maxLevel(a, b slog.Leveler) slog.Level {
	return max(a.Level(), b.Level())
}
