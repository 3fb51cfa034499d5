package installer

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kardianos/service"
)

var update = flag.Bool("update", false, "rewrite golden files")

// linuxDefaults are the paths the deb and rpm packages install.
var linuxDefaults = Paths{
	Executable: "/usr/bin/storeagent",
	ConfigFile: "/etc/storeagent/config.yaml",
	DataDir:    "/var/lib/storeagent",
	LogDir:     "/var/log/storeagent",
}

// TestPackagedUnitMatchesInstall keeps the static unit file of the packages
// identical to what `storeagent install` writes for the same paths.
func TestPackagedUnitMatchesInstall(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the systemd unit is Linux only; on Windows filepath would join its paths with \\")
	}
	golden := filepath.Join("packaging", "storeagent.service")
	got := SystemdUnit(linuxDefaults)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("unit for the default paths differs from %s (go test -update rewrites it) (-want +got):\n%s", golden, diff)
	}
}

func TestSystemdUnit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the systemd unit is Linux only; on Windows filepath would join its paths with \\")
	}
	for _, tc := range []struct {
		name string
		p    Paths
		want []string // lines that must be present, in this order
	}{
		{
			name: "defaults",
			p:    linuxDefaults,
			want: []string{
				"[Unit]",
				"Description=TMAS Store Agent",
				"After=network-online.target",
				"Wants=network-online.target",
				"StartLimitIntervalSec=0",
				"[Service]",
				"User=storeagent",
				"Group=storeagent",
				`ExecStart="/usr/bin/storeagent" "run" "--config" "/etc/storeagent/config.yaml"`,
				"WorkingDirectory=/var/lib/storeagent",
				"EnvironmentFile=-/etc/storeagent/environment",
				"Restart=always",
				"RestartSec=5",
				"TimeoutStopSec=30",
				"LimitNOFILE=65536",
				"UMask=0027",
				"NoNewPrivileges=yes",
				"ProtectSystem=strict",
				`ReadWritePaths="/var/lib/storeagent"`,
				`ReadWritePaths="/var/log/storeagent"`,
				"CapabilityBoundingSet=",
				"ProtectHome=yes",
				"PrivateTmp=yes",
				"ProtectKernelTunables=yes",
				"RestrictSUIDSGID=yes",
				"LockPersonality=yes",
				"[Install]",
				"WantedBy=multi-user.target",
			},
		},
		{
			name: "port 21 and an inbox elsewhere",
			p: Paths{
				Executable: "/usr/bin/storeagent", ConfigFile: "/etc/storeagent/config.yaml",
				DataDir: "/var/lib/storeagent", LogDir: "/var/log/storeagent",
				Writable: []string{"/srv/timeclock export"}, Ports: []int{21, 50000, 9181},
			},
			want: []string{
				"User=storeagent",
				`ReadWritePaths="/var/lib/storeagent"`,
				`ReadWritePaths="/var/log/storeagent"`,
				`ReadWritePaths="-/srv/timeclock export"`,
				"AmbientCapabilities=CAP_NET_BIND_SERVICE",
				"CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
			},
		},
		{
			name: "spaces and specifier characters",
			p: Paths{
				Executable: "/opt/TMAS Store Agent/storeagent",
				ConfigFile: "/etc/store agent/100% $HOME.yaml",
				DataDir:    "/srv/store agent/data",
				LogDir:     "/srv/store agent/logs",
			},
			want: []string{
				`ExecStart="/opt/TMAS Store Agent/storeagent" "run" "--config" "/etc/store agent/100%% $$HOME.yaml"`,
				"WorkingDirectory=/srv/store agent/data",
				"EnvironmentFile=-/etc/store agent/environment",
				"Restart=always",
			},
		},
		{
			name: "backslash",
			p:    Paths{Executable: `/opt/a\b/storeagent`, ConfigFile: "/etc/c.yaml", DataDir: "/d", LogDir: "/l"},
			want: []string{`ExecStart="/opt/a\\b/storeagent" "run" "--config" "/etc/c.yaml"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit := SystemdUnit(tc.p)
			lines := strings.Split(unit, "\n")
			i := 0
			for _, l := range lines {
				if i < len(tc.want) && l == tc.want[i] {
					i++
				}
			}
			if i < len(tc.want) {
				t.Errorf("got unit without line %q (or out of order):\n%s", tc.want[i], unit)
			}
			if got := strings.Contains(unit, "AmbientCapabilities="); got != lowPort(tc.p.Ports) {
				t.Errorf("got AmbientCapabilities %v for ports %v, want it only for a port below 1024", got, tc.p.Ports)
			}
			if strings.Contains(unit, "{{") {
				t.Errorf("got a unit with {{, which kardianos' template engine would interpret:\n%s", unit)
			}
		})
	}
}

// TestSystemdVerifiesUnit has systemd itself parse the unit of an
// executable whose path has spaces and a percent sign: it fails when
// ExecStart does not resolve to that file.
func TestSystemdVerifiesUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	p := Paths{
		Executable: filepath.Join(dir, "TMAS Store Agent", "store%agent"),
		ConfigFile: filepath.Join(dir, "conf dir", "config.yaml"),
		DataDir:    filepath.Join(dir, "data dir"),
		LogDir:     filepath.Join(dir, "logs"),
		Writable:   []string{filepath.Join(dir, "in box 100%")},
		Ports:      []int{21},
	}
	for _, d := range []string{filepath.Dir(p.Executable), p.DataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(p.Executable, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "storeagent.service")
	if err := os.WriteFile(unit, []byte(SystemdUnit(p)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	} else if strings.Contains(string(out), "ignoring") || strings.Contains(string(out), "Unknown") {
		// systemd skips a line it cannot read (a hardening setting lost)
		// and says so without failing.
		t.Errorf("systemd-analyze verify ignored part of the unit:\n%s\n%s", out, SystemdUnit(p))
	}
	// The same check fails for a path that does not exist, so it does
	// look at ExecStart.
	p.Executable = filepath.Join(dir, "TMAS Store Agent", "missing")
	if err := os.WriteFile(unit, []byte(SystemdUnit(p)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Command "+p.Executable+" is not executable") {
		t.Errorf("got %v %q for a missing executable, want a failure naming %q", err, out, p.Executable)
	}
}

func TestServiceConfig(t *testing.T) {
	p := Paths{
		Executable: `C:\Program Files\TMAS Store Agent\storeagent.exe`,
		ConfigFile: `C:\ProgramData\StoreAgent\config.yaml`,
		DataDir:    `C:\ProgramData\StoreAgent\data`,
		LogDir:     `C:\ProgramData\StoreAgent\logs`,
	}
	got := ServiceConfig(p)
	want := &service.Config{
		Name:             "storeagent",
		DisplayName:      "TMAS Store Agent",
		Description:      Description,
		Executable:       p.Executable,
		Arguments:        []string{"run", "--config", p.ConfigFile},
		WorkingDirectory: p.DataDir,
		UserName:         `NT SERVICE\storeagent`,
		Option: service.KeyValue{
			"Restart":     "always",
			"LimitNOFILE": 65536,
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "SystemdScript" })); diff != "" {
		t.Errorf("service config (-want +got):\n%s", diff)
	}
	if s, _ := got.Option["SystemdScript"].(string); s != SystemdUnit(p) {
		t.Errorf("got SystemdScript %q, want SystemdUnit(p)", s)
	}
	// The Service Control Manager gets the command line mgr.CreateService
	// builds from these: the paths with spaces must come out quoted.
	const wantCmd = `"C:\Program Files\TMAS Store Agent\storeagent.exe" run --config C:\ProgramData\StoreAgent\config.yaml`
	if cmd := windowsCommandLine(got.Executable, got.Arguments...); cmd != wantCmd {
		t.Errorf("got command line %s, want %s", cmd, wantCmd)
	}
}

func TestWindowsEscapeArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`C:\ProgramData\StoreAgent\config.yaml`, `C:\ProgramData\StoreAgent\config.yaml`},
		{`C:\Program Files\StoreAgent\config.yaml`, `"C:\Program Files\StoreAgent\config.yaml"`},
		{`C:\My Store\`, `"C:\My Store\\"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\"b`, `a\\\"b`},
		{"", `""`},
		{"run", "run"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := windowsEscapeArg(tc.in); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
