package logsink

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Defaults of Options.
const (
	DefaultMaxSize = 10 << 20 // 10 MiB per file
	DefaultKeep    = 5        // rotated files kept
)

// Options say where the logs go.
type Options struct {
	// File is the log file; empty means no file.
	File string
	// Format of the file: "json" (the default) or "text".
	Format string
	// Level is the lowest level written anywhere (default Info).
	Level slog.Leveler
	// MaxSize is the size in bytes at which the file is rotated
	// (default DefaultMaxSize); Keep is how many rotated files are kept
	// (default DefaultKeep; negative keeps none).
	MaxSize int64
	Keep    int

	// Console receives lines for a terminal or, under systemd, for the
	// journal (default os.Stderr). NoConsole turns it off.
	Console   io.Writer
	NoConsole bool

	// System is the Windows Event Log (installer.EventLog); when set, it
	// replaces the console on Windows. Other systems ignore it.
	System SystemLogger
	// SystemLevel is the lowest level sent to System (default Warn).
	SystemLevel slog.Leveler
}

// Sink is the handler built from Options and the file it writes.
type Sink struct {
	handler slog.Handler
	file    *RotatingFile
}

// New opens the log file (if any) and builds the handler.
func New(opts Options) (*Sink, error) {
	return newSink(opts, os.Getenv)
}

func newSink(opts Options, getenv func(string) string) (*Sink, error) {
	if opts.Level == nil {
		opts.Level = slog.LevelInfo
	}
	if opts.SystemLevel == nil {
		opts.SystemLevel = slog.LevelWarn
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = DefaultMaxSize
	}
	switch {
	case opts.Keep == 0:
		opts.Keep = DefaultKeep
	case opts.Keep < 0:
		opts.Keep = 0
	}
	if opts.Console == nil {
		opts.Console = os.Stderr
	}
	s := &Sink{}
	var hs []slog.Handler
	if opts.File != "" {
		hopts := &slog.HandlerOptions{Level: opts.Level, ReplaceAttr: redact}
		var newHandler func(io.Writer, *slog.HandlerOptions) slog.Handler
		switch opts.Format {
		case "", "json":
			newHandler = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }
		case "text":
			newHandler = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }
		default:
			return nil, fmt.Errorf("log format %q is not json or text", opts.Format)
		}
		f, err := OpenRotating(opts.File, opts.MaxSize, opts.Keep)
		if err != nil {
			return nil, err
		}
		s.file = f
		hs = append(hs, newHandler(f, hopts))
	}
	hs = append(hs, platformHandlers(opts, getenv)...)
	s.handler = slog.NewMultiHandler(hs...)
	return s, nil
}

// consoleHandler writes to opts.Console: with the journal's priority prefix
// and no time when stderr is the journal (systemd sets JOURNAL_STREAM), as
// timestamped text otherwise.
func consoleHandler(opts Options, getenv func(string) string) slog.Handler {
	if getenv("JOURNAL_STREAM") != "" {
		w := opts.Console
		return newLineHandler(opts.Level, func(l slog.Level, line string) error {
			_, err := io.WriteString(w, journalPriority(l)+line+"\n")
			return err
		})
	}
	return slog.NewTextHandler(opts.Console, &slog.HandlerOptions{Level: opts.Level, ReplaceAttr: redact})
}

// Logger logs to every output of the sink (its fan-out handler).
func (s *Sink) Logger() *slog.Logger { return slog.New(s.handler) }

// Close closes the log file.
func (s *Sink) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}
