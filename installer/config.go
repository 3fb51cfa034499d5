package installer

import (
	"strconv"
	"strings"

	"github.com/kardianos/service"
)

// Service tuning shared by the systemd unit and the Windows service.
const (
	restartDelaySeconds = 5     // systemd RestartSec and the Windows restart delay
	limitNOFILE         = 65536 // open files: FTP connections, the buffer, log files
	stopTimeoutSeconds  = 30    // systemd TimeoutStopSec: above RunService's stop deadline
	failureResetSeconds = 86400 // Windows: failures are counted over a day
)

// WindowsAccount is the account the Windows service runs as: its virtual
// account, which the Service Control Manager creates with the service and
// which has no password. Its SID (S-1-5-80-..., serviceSID) is granted the
// agent's folders (icaclsArgs) and nothing else on the machine is granted
// to it, unlike LocalSystem (every privilege on the machine: a flaw in the
// FTP endpoint would be one in Windows) or LocalService (shared by many
// services, so an ACL for it grants them all; and anonymous on the network,
// where a virtual account is the computer account, for an inbox on a share).
const WindowsAccount = `NT SERVICE\` + Name

// ServiceConfig is the service definition for kardianos/service: the
// absolute executable run as `run --config <config file>`, restarted on any
// failure, started automatically (delayed on Windows, after the network is
// online on Linux).
//
// On Linux the unit file is SystemdUnit(p), passed whole as the SystemdScript
// option; p must satisfy Validate (Control checks it).
func ServiceConfig(p Paths) *service.Config {
	return &service.Config{
		Name:             Name,
		DisplayName:      DisplayName,
		Description:      Description,
		Executable:       p.Executable,
		Arguments:        []string{"run", "--config", p.ConfigFile},
		WorkingDirectory: p.DataDir,
		// Windows: the service's own virtual account (see WindowsAccount).
		// On Linux the unit's User= (SystemdUnit) says it instead.
		UserName: WindowsAccount,
		Option: service.KeyValue{
			// Linux (systemd). The custom script carries every setting; the
			// other keys document the same values for kardianos' own template.
			"SystemdScript": SystemdUnit(p),
			"Restart":       "always",
			"LimitNOFILE":   limitNOFILE,
			// Windows: installWindowsService registers the service itself
			// (automatic, delayed start; restart 5 s after any failure).
		},
	}
}

// SystemdUnit is the systemd unit file for p, the same text `storeagent
// install` writes to /etc/systemd/system/storeagent.service and the package
// ships as /lib/systemd/system/storeagent.service.
//
// The service runs as root: the FTP inbox and the folders it watches are
// wherever the store's IT puts them, and Windows runs it as LocalSystem.
// The unit limits it instead: no privilege gain, files created 0640/0750.
// Secrets given by environment variable (token_env) go in the optional
// EnvironmentFile beside the configuration.
func SystemdUnit(p Paths) string {
	var b strings.Builder
	w := func(lines ...string) {
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	w("[Unit]",
		"Description="+DisplayName,
		"After=network-online.target",
		"Wants=network-online.target",
		// Never give up restarting: a store agent that stopped is data lost
		// for headquarters.
		"StartLimitIntervalSec=0",
		"",
		"[Service]",
		"Type=simple",
		"ExecStart="+systemdCommandLine(p.Executable, "run", "--config", p.ConfigFile),
		"WorkingDirectory="+systemdPath(p.DataDir),
		"EnvironmentFile=-"+systemdPath(p.ConfigDir()+"/environment"),
		"Restart=always",
		"RestartSec="+itoa(restartDelaySeconds),
		"TimeoutStopSec="+itoa(stopTimeoutSeconds),
		"LimitNOFILE="+itoa(limitNOFILE),
		"UMask=0027",
		"NoNewPrivileges=yes",
		"",
		"[Install]",
		"WantedBy=multi-user.target",
	)
	return b.String()
}

// systemdCommandLine quotes every word for systemd's ExecStart=: inside
// double quotes a backslash and a quote are escaped, "%" (specifiers) is
// doubled and "$" (variable expansion) is doubled, so a path with spaces or
// such characters reaches the program unchanged.
func systemdCommandLine(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		w = strings.ReplaceAll(w, `\`, `\\`)
		w = strings.ReplaceAll(w, `"`, `\"`)
		w = strings.ReplaceAll(w, "%", "%%")
		w = strings.ReplaceAll(w, "$", "$$")
		q[i] = `"` + w + `"`
	}
	return strings.Join(q, " ")
}

// systemdPath renders a path for a setting that takes one path as the rest
// of the line (WorkingDirectory=, EnvironmentFile=): spaces stay as they are,
// specifiers are escaped.
func systemdPath(p string) string { return strings.ReplaceAll(p, "%", "%%") }

func itoa(n int) string { return strconv.Itoa(n) }

// windowsCommandLine is the service's command line as the Service Control
// Manager stores it: golang.org/x/sys/windows/svc/mgr.CreateService joins
// the executable and the arguments with syscall.EscapeArg, which this
// mirrors so the quoting can be checked on any platform.
func windowsCommandLine(exe string, args ...string) string {
	parts := []string{windowsEscapeArg(exe)}
	for _, a := range args {
		parts = append(parts, windowsEscapeArg(a))
	}
	return strings.Join(parts, " ")
}

// windowsEscapeArg is syscall.EscapeArg of Windows: quote when there is a
// space or tab, double the backslashes that precede a quote or the closing
// quote, escape quotes.
func windowsEscapeArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, "\"\\ \t") {
		return s
	}
	hasSpace := strings.ContainsAny(s, " \t")
	var b strings.Builder
	if hasSpace {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			for ; slashes > 0; slashes-- {
				b.WriteByte('\\')
			}
			b.WriteByte('\\')
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	if hasSpace {
		for ; slashes > 0; slashes-- {
			b.WriteByte('\\')
		}
		b.WriteByte('"')
	}
	return b.String()
}
