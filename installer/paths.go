package installer

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Name is the service's name for the service manager: the systemd unit is
// Name+".service", the Windows service and its Event Log source are Name.
const Name = "storeagent"

// DisplayName is what the Windows Services console and systemctl show.
const DisplayName = "TMAS Store Agent"

// Description says what the service is to whoever finds it in a service list.
const Description = "Collects the store's POS sales and staff hours, buffers them on disk and forwards them to TMAS."

// Paths are the absolute locations the service is installed with.
type Paths struct {
	Executable string // the storeagent binary the service runs
	ConfigFile string // the YAML configuration, given to `run --config`
	DataDir    string // the buffer and the agent's working directory
	LogDir     string // the rotated log files

	// Writable are the other folders the agent writes, outside DataDir and
	// LogDir (a configured inbox, buffer or FTP home root): the systemd unit
	// lets the service write there too.
	Writable []string
	// Ports are the TCP ports the agent listens on (FTP, the first passive
	// port, the status page): one below 1024 gives the Linux service
	// CAP_NET_BIND_SERVICE, and nothing else does.
	Ports []int
}

// Abs returns p with every path made absolute (a Windows service starts in
// system32 and a systemd service in /, so a relative path would point
// elsewhere once installed).
func (p Paths) Abs() (Paths, error) {
	var errs []error
	abs := func(field, v string) string {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is empty", field))
			return v
		}
		a, err := filepath.Abs(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", field, v, err))
			return v
		}
		return a
	}
	out := Paths{
		Executable: abs("executable", p.Executable),
		ConfigFile: abs("config file", p.ConfigFile),
		DataDir:    abs("data dir", p.DataDir),
		LogDir:     abs("log dir", p.LogDir),
		Ports:      p.Ports,
	}
	for _, d := range p.Writable {
		out.Writable = append(out.Writable, abs("writable folder", d))
	}
	return out, errors.Join(errs...)
}

// Validate reports paths that cannot be written into a service definition:
// relative ones, and ones holding line breaks, quotes or template braces,
// which would change the meaning of the unit file or command line.
func (p Paths) Validate() error {
	var errs []error
	fields := []struct{ name, v string }{
		{"executable", p.Executable},
		{"config file", p.ConfigFile},
		{"data dir", p.DataDir},
		{"log dir", p.LogDir},
	}
	for _, d := range p.Writable {
		fields = append(fields, struct{ name, v string }{"writable folder", d})
	}
	for _, n := range p.Ports {
		if n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("port %d is not a TCP port", n))
		}
	}
	for _, f := range fields {
		switch {
		case f.v == "":
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		case !filepath.IsAbs(f.v):
			errs = append(errs, fmt.Errorf("%s %q is not an absolute path", f.name, f.v))
		case strings.ContainsAny(f.v, "\"\r\n\x00"), strings.Contains(f.v, "{{"):
			errs = append(errs, fmt.Errorf("%s %q holds a quote, a line break or {{, which a service definition cannot carry", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// ConfigDir is the folder of the configuration file.
func (p Paths) ConfigDir() string { return filepath.Dir(p.ConfigFile) }

// defaultExecutable is the running binary, absolute and with symlinks
// resolved, or fallback when it cannot be found.
func defaultExecutable(executable func() (string, error), fallback string) string {
	exe, err := executable()
	if err != nil || exe == "" {
		return fallback
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	if a, err := filepath.Abs(exe); err == nil {
		exe = a
	}
	return exe
}

// programData is %ProgramData% (the Windows default paths live under it),
// C:\ProgramData when the variable is missing, as it can be for a process
// started with an empty environment.
func programData(getenv func(string) string) string {
	if v := getenv("ProgramData"); v != "" {
		return v
	}
	return `C:\ProgramData`
}
