package logsink

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// lineHandler formats each record as one line, "message key=value …"
// without time or level, and hands it with its level to emit: the journal
// and the Event Log put their own time and severity on each entry.
type lineHandler struct {
	inner  slog.Handler // a text handler writing the attributes to shared.buf
	level  slog.Leveler
	shared *lineShared
}

type lineShared struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(level slog.Level, line string) error
}

var _ slog.Handler = (*lineHandler)(nil)

func newLineHandler(level slog.Leveler, emit func(slog.Level, string) error) *lineHandler {
	sh := &lineShared{emit: emit}
	inner := slog.NewTextHandler(&sh.buf, &slog.HandlerOptions{
		Level: slog.LevelDebug - 100, // the outer handler filters
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 {
				switch a.Key {
				case slog.TimeKey, slog.LevelKey, slog.MessageKey:
					return slog.Attr{}
				}
			}
			return redact(groups, a)
		},
	})
	return &lineHandler{inner: inner, level: level, shared: sh}
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	h.shared.mu.Lock()
	defer h.shared.mu.Unlock()
	h.shared.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	line := r.Message
	if attrs := strings.TrimSpace(h.shared.buf.String()); attrs != "" {
		line += " " + attrs
	}
	return h.shared.emit(r.Level, line)
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &lineHandler{inner: h.inner.WithAttrs(as), level: h.level, shared: h.shared}
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	return &lineHandler{inner: h.inner.WithGroup(name), level: h.level, shared: h.shared}
}

// journalPriority is the sd-daemon prefix systemd reads at the start of a
// line on stderr (SyslogLevelPrefix=yes, the default) to set its priority.
func journalPriority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	default:
		return "<7>"
	}
}

// SystemLogger is the Windows Event Log as kardianos/service's Logger has it
// (installer.EventLog returns one).
type SystemLogger interface {
	Error(v ...any) error
	Warning(v ...any) error
	Info(v ...any) error
}

// emitEventLog writes a line at the matching Event Log severity.
func emitEventLog(l SystemLogger) func(slog.Level, string) error {
	return func(level slog.Level, line string) error {
		switch {
		case level >= slog.LevelError:
			return l.Error(line)
		case level >= slog.LevelWarn:
			return l.Warning(line)
		default:
			return l.Info(line)
		}
	}
}

// credentialKeys are attribute names whose values are redacted whatever
// their type, in case a secret is ever logged as a plain string.
var credentialKeys = map[string]bool{
	"password": true, "passwd": true, "token": true, "secret": true,
	"client_secret": true, "access_token": true, "refresh_token": true,
	"authorization": true, "api_key": true, "password_hash": true,
}

const redacted = "[redacted]"

func redact(_ []string, a slog.Attr) slog.Attr {
	if credentialKeys[strings.ToLower(a.Key)] && a.Value.Kind() != slog.KindGroup {
		return slog.String(a.Key, redacted)
	}
	return a
}
