// Package logsink is where the agent's structured logs (log/slog) go when it
// runs as a service: a JSON or text file rotated by size (keep N files of M
// bytes), plus the system's own log: the journal on Linux (systemd captures
// stderr; each line carries its priority) and the Windows Event Log through
// kardianos/service's logger. Only main picks the handler; components get a
// *slog.Logger.
//
// It must never log a secret: values that redact themselves
// (record.Secret) stay redacted, and attributes named like credentials
// (password, token, secret, authorization) are redacted whatever their type.
// It must never stop the agent: a failed rotation keeps writing to the
// current file.
package logsink
