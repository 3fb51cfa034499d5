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

// LinuxUser is the system user (and group) the Linux service runs as. The
// .deb and .rpm create it (preinstall), and so does `storeagent install`.
const LinuxUser = Name

// SystemdUnit is the systemd unit file for p, the same text `storeagent
// install` writes to /etc/systemd/system/storeagent.service and the package
// ships as /lib/systemd/system/storeagent.service.
//
// The service runs as the unprivileged system user storeagent (LinuxUser),
// which owns the data and log folders and may only read the configuration.
// systemd confines it further: the whole file system read-only
// (ProtectSystem=strict) but for the data and log folders and the other
// folders it writes (p.Writable), no home folders, a private /tmp, no
// privilege gain, no capability at all unless a port below 1024 is among
// p.Ports (then CAP_NET_BIND_SERVICE only), files created 0640/0750.
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
		"User="+LinuxUser,
		"Group="+LinuxUser,
		"ExecStart="+systemdCommandLine(p.Executable, "run", "--config", p.ConfigFile),
		"WorkingDirectory="+systemdPath(p.DataDir),
		"EnvironmentFile=-"+systemdPath(p.ConfigDir()+"/environment"),
		"Restart=always",
		"RestartSec="+itoa(restartDelaySeconds),
		"TimeoutStopSec="+itoa(stopTimeoutSeconds),
		"LimitNOFILE="+itoa(limitNOFILE),
		"UMask=0027",
		"",
		"# Hardening: read-only system, writable data and log folders only.",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ReadWritePaths="+systemdQuoted(p.DataDir),
		"ReadWritePaths="+systemdQuoted(p.LogDir),
	)
	for _, d := range p.Writable {
		// "-": a folder that does not exist yet does not stop the start.
		w("ReadWritePaths=" + systemdQuoted("-"+d))
	}
	if lowPort(p.Ports) {
		w("AmbientCapabilities=CAP_NET_BIND_SERVICE",
			"CapabilityBoundingSet=CAP_NET_BIND_SERVICE")
	} else {
		w("CapabilityBoundingSet=")
	}
	w("ProtectHome=yes",
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectKernelLogs=yes",
		"ProtectControlGroups=yes",
		"ProtectClock=yes",
		"ProtectHostname=yes",
		"RestrictSUIDSGID=yes",
		"RestrictRealtime=yes",
		"RestrictNamespaces=yes",
		"LockPersonality=yes",
		"MemoryDenyWriteExecute=yes",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"SystemCallArchitectures=native",
		"",
		"[Install]",
		"WantedBy=multi-user.target",
	)
	return b.String()
}

// lowPort reports whether a port needs CAP_NET_BIND_SERVICE (below 1024;
// 0 is "any free port").
func lowPort(ports []int) bool {
	for _, n := range ports {
		if n > 0 && n < 1024 {
			return true
		}
	}
	return false
}

// systemdQuoted quotes one path of a list setting (ReadWritePaths=): a
// backslash and a quote escaped, "%" doubled.
func systemdQuoted(path string) string {
	path = strings.ReplaceAll(path, `\`, `\\`)
	path = strings.ReplaceAll(path, `"`, `\"`)
	return `"` + strings.ReplaceAll(path, "%", "%%") + `"`
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
