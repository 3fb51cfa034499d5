package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	_ "embed"
)

//go:embed packaging/config.sample.yaml
var sampleConfig []byte

// defaultPathInSample matches the quoted Linux default paths of the sample
// (the package installs it as it is), to be replaced by the paths installed.
var defaultPathInSample = regexp.MustCompile(`'(/etc/storeagent|/var/lib/storeagent|/var/log/storeagent)((?:/[^'\n]*)?)'`)

// SampleConfig is the commented sample configuration with the folders of p:
// what install writes when there is no configuration yet.
func SampleConfig(p Paths) []byte {
	return defaultPathInSample.ReplaceAllFunc(sampleConfig, func(m []byte) []byte {
		sub := defaultPathInSample.FindSubmatch(m)
		var dir string
		switch string(sub[1]) {
		case "/etc/storeagent":
			dir = p.ConfigDir()
		case "/var/lib/storeagent":
			dir = p.DataDir
		default:
			dir = p.LogDir
		}
		if len(sub[2]) > 0 {
			dir = filepath.Join(dir, filepath.FromSlash(string(sub[2][1:])))
		}
		return []byte(yamlSingleQuoted(dir))
	})
}

// yamlSingleQuoted quotes s for YAML; within single quotes a backslash is
// literal (Windows paths) and a quote is doubled.
func yamlSingleQuoted(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Permissions of what install creates (on Windows the ACL grants SYSTEM,
// Administrators and the service's account instead).
const (
	dirMode    fs.FileMode = 0o750
	configMode fs.FileMode = 0o640
)

// prepare makes sure the service's account exists (Linux: the storeagent
// system user), creates the folders of p that are missing and writes the
// sample configuration if there is none: the configuration readable by the
// service, not writable (root:storeagent 0750/0640), the data, log and
// other writable folders its own (storeagent:storeagent 0750). Existing
// folders named after storeagent are handed to the service too (an agent
// that ran as root left them root's); other existing folders (/srv, /etc)
// are left as they are, with a word when the service must write there.
func prepare(ctx context.Context, p Paths, ensure accountFunc, say func(string, ...any)) error {
	a, err := ensure(ctx, p, say)
	if err != nil {
		return err
	}
	created, err := mkdirRestricted(ctx, p.ConfigDir(), a, false)
	if err != nil {
		return err
	}
	for _, d := range created {
		say("created %s", d)
	}
	if len(created) == 0 && namesStoreagent(p.ConfigDir()) {
		if err := restrict(ctx, p.ConfigDir(), true, a, false); err != nil {
			return err
		}
		if err := shareConfigFiles(p.ConfigDir(), p.ConfigFile, a); err != nil {
			return err
		}
	}
	for _, dir := range append([]string{p.DataDir, p.LogDir}, p.Writable...) {
		created, err := mkdirRestricted(ctx, dir, a, true)
		if err != nil {
			return err
		}
		for _, d := range created {
			say("created %s", d)
		}
		switch {
		case len(created) > 0:
		case namesStoreagent(dir):
			if err := handOver(ctx, dir, a); err != nil {
				return err
			}
		default:
			say("left %s as it is (not named after storeagent): the service's account %s must be able to write in it", dir, a.name)
		}
	}
	f, err := os.OpenFile(p.ConfigFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, configMode)
	switch {
	case errors.Is(err, fs.ErrExist):
		changed, err := tightenFile(ctx, p.ConfigFile, a)
		if err != nil {
			return err
		}
		if changed != "" {
			say("restricted %s: %s", p.ConfigFile, changed)
		}
		say("kept the existing configuration %s", p.ConfigFile)
		return nil
	case err != nil:
		return fmt.Errorf("write the sample configuration: %w", err)
	}
	_, werr := f.Write(SampleConfig(p))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("write the sample configuration %s: %w", p.ConfigFile, err)
	}
	if err := restrict(ctx, p.ConfigFile, false, a, false); err != nil {
		return err
	}
	say("wrote the sample configuration %s", p.ConfigFile)
	return nil
}

// mkdirRestricted creates dir and any missing parents and returns those it
// created: the parents readable by the service (root:storeagent 0750, so it
// can reach dir), dir itself its own when writes. Folders that exist are
// left as they are: they may be shared ones such as /etc.
func mkdirRestricted(ctx context.Context, dir string, a account, writes bool) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, fmt.Errorf("create %s: %w", d, err)
		}
		if err := restrict(ctx, d, true, a, writes && i == 0); err != nil {
			return created, err
		}
		created = append(created, d)
	}
	return created, nil
}

// unconfigured reports ErrUnconfigured while the configuration file is
// missing or still the sample install wrote.
func (c *controller) unconfigured() error {
	b, err := os.ReadFile(c.p.ConfigFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist (storeagent install writes a sample to fill in)", ErrUnconfigured, c.p.ConfigFile)
	case err != nil:
		return fmt.Errorf("read the configuration: %w", err)
	case bytes.Equal(b, SampleConfig(c.p)) || bytes.Equal(b, sampleConfig):
		return fmt.Errorf("%w: %s is still the unedited sample: fill it in and check it with storeagent doctor", ErrUnconfigured, c.p.ConfigFile)
	}
	return nil
}

// purge deletes the configuration, the data and the logs. A folder whose
// path does not name storeagent is not deleted (a data_dir of /srv must not
// take /srv with it): the operator is told to remove it by hand.
func purge(p Paths, say func(string, ...any)) error {
	var errs []error
	if err := os.Remove(p.ConfigFile); err == nil {
		say("deleted %s", p.ConfigFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("delete %s: %w", p.ConfigFile, err))
	}
	for _, dir := range []string{p.DataDir, p.LogDir} {
		if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if !namesStoreagent(dir) {
			say("did not delete %s: its path does not name storeagent, remove it by hand if it is only the agent's", dir)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", dir, err))
			continue
		}
		say("deleted %s", dir)
	}
	// The configuration folder (and on Windows StoreAgent itself) go only
	// when nothing else is left in them.
	for _, dir := range []string{p.ConfigDir(), filepath.Dir(p.DataDir)} {
		if namesStoreagent(dir) && os.Remove(dir) == nil {
			say("deleted %s", dir)
		}
	}
	return errors.Join(errs...)
}

// namesStoreagent reports whether the folder or its parent is named after
// the agent (/var/lib/storeagent, C:\ProgramData\StoreAgent\data), and is
// not a root.
func namesStoreagent(dir string) bool {
	dir = filepath.Clean(dir)
	if filepath.Dir(dir) == dir {
		return false
	}
	for _, name := range []string{filepath.Base(dir), filepath.Base(filepath.Dir(dir))} {
		if strings.Contains(strings.ToLower(name), "storeagent") {
			return true
		}
	}
	return false
}
