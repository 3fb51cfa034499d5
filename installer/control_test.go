package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kardianos/service"
	"gopkg.in/yaml.v3"
)

// fakeManager is a service manager in memory: it records the calls and
// keeps the state they lead to.
type fakeManager struct {
	platform  string
	installed bool
	running   bool
	failed    bool  // systemd's failed state: Status answers an error
	uninstall error // what Uninstall returns (after disabling)
	calls     []string
}

var _ Manager = (*fakeManager)(nil)

func (f *fakeManager) Platform() string { return f.platform }

func (f *fakeManager) Status() (service.Status, error) {
	f.calls = append(f.calls, "status")
	switch {
	case !f.installed:
		return service.StatusUnknown, service.ErrNotInstalled
	case f.failed:
		return service.StatusUnknown, errors.New("service in failed state")
	case f.running:
		return service.StatusRunning, nil
	}
	return service.StatusStopped, nil
}

func (f *fakeManager) Install() error {
	f.calls = append(f.calls, "install")
	if f.installed {
		return errors.New("Init already exists: /etc/systemd/system/storeagent.service")
	}
	f.installed = true
	return nil
}

func (f *fakeManager) Uninstall() error {
	f.calls = append(f.calls, "uninstall")
	if !f.installed {
		return errors.New("exit status 1")
	}
	f.installed, f.failed = false, false
	return f.uninstall
}

func (f *fakeManager) Start() error {
	f.calls = append(f.calls, "start")
	if f.running {
		return errors.New("already running")
	}
	f.running, f.failed = true, false
	return nil
}

func (f *fakeManager) Stop() error {
	f.calls = append(f.calls, "stop")
	if !f.running {
		return errors.New("not running")
	}
	f.running = false
	return nil
}

func (f *fakeManager) Restart() error {
	f.calls = append(f.calls, "restart")
	if !f.running {
		return errors.New("not running")
	}
	return nil
}

// testUID and testGID stand for the storeagent system user in tests, which
// never create a real one: as root the folders are given to them, else
// ownership is left alone.
var testUID, testGID = 4242, 4343

func TestMain(m *testing.M) {
	ensureAccount = func(context.Context, Paths, func(string, ...any)) (account, error) {
		if os.Geteuid() != 0 {
			return account{name: "storeagent", uid: -1, gid: -1}, nil
		}
		return account{name: "storeagent", uid: testUID, gid: testGID}, nil
	}
	os.Exit(m.Run())
}

// testPaths are the Linux layout inside a temporary root.
func testPaths(t *testing.T) Paths {
	root := t.TempDir()
	for _, d := range []string{"etc", "var/lib", "var/log"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Paths{
		Executable: filepath.Join(root, "usr", "bin", "storeagent"),
		ConfigFile: filepath.Join(root, "etc", "storeagent", "config.yaml"),
		DataDir:    filepath.Join(root, "var", "lib", "storeagent"),
		LogDir:     filepath.Join(root, "var", "log", "storeagent"),
	}
}

const configured = "agent:\n  id: store-042\n"

func TestControl(t *testing.T) {
	pkgUnit := &fs.PathError{Op: "remove", Path: "/etc/systemd/system/storeagent.service", Err: fs.ErrNotExist}
	for _, tc := range []struct {
		name      string
		action    string
		installed bool
		running   bool
		failed    bool
		uninstall error
		config    string // "" = no config file; "sample" = the sample install writes
		purge     bool

		wantCalls []string
		wantErr   string
		wantOut   string // with {config}, {data}, {log}, {etc}, {lib} for the paths
		wantState [2]bool
	}{
		{
			name: "install fresh", action: "install",
			wantCalls: []string{"status", "install"},
			wantOut: "created {etc}\ncreated {data}\ncreated {log}\nwrote the sample configuration {config}\n" +
				"installed the storeagent service (linux-systemd), set to start at boot; not started\n" +
				"next: edit {config}, check it with storeagent doctor, then storeagent start\n",
			wantState: [2]bool{true, false},
		},
		{
			name: "install over a stopped service", action: "install", installed: true, config: configured,
			wantCalls: []string{"status", "uninstall", "install"},
			wantOut: "created {data}\ncreated {log}\nkept the existing configuration {config}\n" +
				"the storeagent service was already installed: reinstalled it with the current settings (not started)\n",
			wantState: [2]bool{true, false},
		},
		{
			name: "install over a running service", action: "install", installed: true, running: true, config: configured,
			wantCalls: []string{"status", "stop", "uninstall", "install", "start"},
			wantOut: "created {data}\ncreated {log}\nkept the existing configuration {config}\n" +
				"the storeagent service was already installed: reinstalled it with the current settings and restarted it\n",
			wantState: [2]bool{true, true},
		},
		{
			name: "install over the package's unit", action: "install", installed: true, config: configured, uninstall: pkgUnit,
			wantCalls: []string{"status", "uninstall", "install"},
			wantOut: "created {data}\ncreated {log}\nkept the existing configuration {config}\n" +
				"the storeagent unit file belongs to the installed package: disabled it (remove the package to delete it)\n" +
				"the storeagent service was already installed: reinstalled it with the current settings (not started)\n",
			wantState: [2]bool{true, false},
		},
		{
			name: "install configured", action: "install", config: configured,
			wantCalls: []string{"status", "install"},
			wantOut: "created {data}\ncreated {log}\nkept the existing configuration {config}\n" +
				"installed the storeagent service (linux-systemd), set to start at boot; not started\nnext: storeagent start\n",
			wantState: [2]bool{true, false},
		},
		{
			name: "uninstall absent", action: "uninstall",
			wantCalls: []string{"status"},
			wantOut: "the storeagent service is not installed: nothing to remove\n" +
				"kept the configuration {config}, the data in {data} and the logs in {log} (uninstall --purge deletes them)\n",
		},
		{
			name: "uninstall running", action: "uninstall", installed: true, running: true, config: configured,
			wantCalls: []string{"status", "stop", "uninstall"},
			wantOut: "stopped the storeagent service\nremoved the storeagent service\n" +
				"kept the configuration {config}, the data in {data} and the logs in {log} (uninstall --purge deletes them)\n",
		},
		{
			name: "uninstall failed unit", action: "uninstall", installed: true, failed: true, config: configured,
			wantCalls: []string{"status", "uninstall"},
			wantOut: "removed the storeagent service\n" +
				"kept the configuration {config}, the data in {data} and the logs in {log} (uninstall --purge deletes them)\n",
		},
		{
			name: "uninstall purge", action: "uninstall", installed: true, config: configured, purge: true,
			wantCalls: []string{"status", "uninstall"},
			wantOut:   "removed the storeagent service\ndeleted {config}\ndeleted {data}\ndeleted {log}\ndeleted {etc}\n",
		},
		{
			name: "start absent", action: "start", config: configured,
			wantCalls: []string{"status"},
			wantErr:   "start: the storeagent service is not installed: run storeagent install first",
		},
		{
			name: "start with the sample", action: "start", installed: true, config: "sample",
			wantCalls: []string{"status"},
			wantErr:   "start: the agent is not configured yet: {config} is still the unedited sample: fill it in and check it with storeagent doctor",
			wantState: [2]bool{true, false},
		},
		{
			name: "start without config", action: "start", installed: true,
			wantCalls: []string{"status"},
			wantErr:   "start: the agent is not configured yet: {config} does not exist (storeagent install writes a sample to fill in)",
			wantState: [2]bool{true, false},
		},
		{
			name: "start stopped", action: "start", installed: true, config: configured,
			wantCalls: []string{"status", "start"},
			wantOut:   "started the storeagent service\n",
			wantState: [2]bool{true, true},
		},
		{
			name: "start running", action: "start", installed: true, running: true, config: configured,
			wantCalls: []string{"status"},
			wantOut:   "the storeagent service is already running\n",
			wantState: [2]bool{true, true},
		},
		{
			name: "stop absent", action: "stop",
			wantCalls: []string{"status"},
			wantOut:   "the storeagent service is not installed: nothing to stop\n",
		},
		{
			name: "stop stopped", action: "stop", installed: true,
			wantCalls: []string{"status"},
			wantOut:   "the storeagent service is already stopped\n",
			wantState: [2]bool{true, false},
		},
		{
			name: "stop running", action: "stop", installed: true, running: true,
			wantCalls: []string{"status", "stop"},
			wantOut:   "stopped the storeagent service\n",
			wantState: [2]bool{true, false},
		},
		{
			name: "restart absent", action: "restart", config: configured,
			wantCalls: []string{"status"},
			wantErr:   "restart: the storeagent service is not installed: run storeagent install first",
		},
		{
			name: "restart stopped", action: "restart", installed: true, config: configured,
			wantCalls: []string{"status", "start"},
			wantOut:   "the storeagent service was stopped: started it\n",
			wantState: [2]bool{true, true},
		},
		{
			name: "restart running", action: "restart", installed: true, running: true, config: configured,
			wantCalls: []string{"status", "restart"},
			wantOut:   "restarted the storeagent service\n",
			wantState: [2]bool{true, true},
		},
		{
			name: "unknown action", action: "reload",
			wantErr: `unknown service action "reload" (use install, uninstall, start, stop or restart)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPaths(t)
			// An existing configuration means its folder exists too.
			switch tc.config {
			case "":
			case "sample":
				writeFile(t, p.ConfigFile, string(SampleConfig(p)))
			default:
				writeFile(t, p.ConfigFile, tc.config)
				if err := os.Chmod(p.ConfigFile, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if tc.purge {
				writeFile(t, filepath.Join(p.DataDir, "buffer.db"), "x")
				writeFile(t, filepath.Join(p.LogDir, "storeagent.log"), "x")
			}
			m := &fakeManager{platform: "linux-systemd", installed: tc.installed, running: tc.running, failed: tc.failed, uninstall: tc.uninstall}
			var out bytes.Buffer
			opts := []Option{WithManager(m), WithOutput(&out)}
			if tc.purge {
				opts = append(opts, WithPurge())
			}
			err := Control(context.Background(), tc.action, p, opts...)
			expand := strings.NewReplacer("{config}", p.ConfigFile, "{data}", p.DataDir, "{log}", p.LogDir,
				"{etc}", p.ConfigDir(), "{lib}", filepath.Dir(p.DataDir)).Replace
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != expand(tc.wantErr) {
				t.Errorf("got error %q, want %q", gotErr, expand(tc.wantErr))
			}
			if diff := cmp.Diff(tc.wantCalls, m.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(expand(tc.wantOut), out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if got := [2]bool{m.installed, m.running}; got != tc.wantState {
				t.Errorf("got installed, running = %v, want %v", got, tc.wantState)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestControlRepeated runs the sequence an operator might, twice over:
// every action is safe to repeat.
func TestControlRepeated(t *testing.T) {
	p := testPaths(t)
	m := &fakeManager{platform: "windows-service"}
	steps := []struct {
		action  string
		wantErr error
	}{
		{"install", nil}, {"install", nil}, {"start", ErrUnconfigured},
		{"edit", nil}, {"start", nil}, {"start", nil}, {"restart", nil},
		{"stop", nil}, {"stop", nil}, {"uninstall", nil}, {"uninstall", nil}, {"stop", nil},
		{"start", ErrNotInstalled},
	}
	for i, s := range steps {
		if s.action == "edit" {
			writeFile(t, p.ConfigFile, configured)
			continue
		}
		err := Control(context.Background(), s.action, p, WithManager(m))
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("step %d %s: got %v, want %v", i, s.action, err, s.wantErr)
		}
	}
	if m.installed || m.running {
		t.Errorf("got installed %v running %v at the end, want neither", m.installed, m.running)
	}
	if _, err := os.Stat(p.ConfigFile); err != nil {
		t.Errorf("got %v, want the configuration kept by uninstall", err)
	}
}

func TestControlRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the wanted messages hold Linux paths as is; Windows paths are quoted with escaped \\")
	}
	for _, tc := range []struct {
		name     string
		platform string
		edit     func(*Paths)
		want     string
	}{
		{"sysv", "unix-systemv", func(*Paths) {},
			`install: this system's service manager is "unix-systemv"; storeagent installs itself under systemd or the Windows Service Control Manager only: run "storeagent run --config {config}" under your own supervisor instead`},
		{"braces in a path", "linux-systemd", func(p *Paths) { p.DataDir += "{{x}}" },
			`install: data dir "{data}" holds a quote, a line break or {{, which a service definition cannot carry`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPaths(t)
			tc.edit(&p)
			m := &fakeManager{platform: tc.platform}
			err := Control(context.Background(), "install", p, WithManager(m))
			want := strings.NewReplacer("{config}", p.ConfigFile, "{data}", p.DataDir).Replace(tc.want)
			if err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
			if len(m.calls) != 0 {
				t.Errorf("got calls %v, want none", m.calls)
			}
			if _, err := os.Stat(p.ConfigFile); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("got %v for the config file, want nothing written", err)
			}
		})
	}
}

func TestControlCancelled(t *testing.T) {
	p := testPaths(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &fakeManager{platform: "linux-systemd"}
	err := Control(ctx, "install", p, WithManager(m))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if m.installed {
		t.Errorf("got the service installed after cancellation")
	}
}

func TestInstallPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows uses ACLs (icaclsArgs)")
	}
	p := testPaths(t)
	if err := Control(context.Background(), "install", p, WithManager(&fakeManager{platform: "linux-systemd"})); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want fs.FileMode
		uid  uint32 // as root: root (0) for what the service only reads
	}{
		{p.ConfigDir(), fs.ModeDir | 0o750, 0},
		{p.DataDir, fs.ModeDir | 0o750, uint32(testUID)},
		{p.LogDir, fs.ModeDir | 0o750, uint32(testUID)},
		{p.ConfigFile, 0o640, 0},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tc.want {
			t.Errorf("%s: got mode %v, want %v", tc.path, fi.Mode(), tc.want)
		}
		if uid, gid, ok := owner(fi); ok && os.Geteuid() == 0 && (uid != tc.uid || gid != uint32(testGID)) {
			t.Errorf("%s: got owner %d:%d, want %d:%d", tc.path, uid, gid, tc.uid, testGID)
		}
	}
	// The folders that existed before are left as they were.
	if fi, err := os.Stat(filepath.Dir(p.DataDir)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("got %v %v for the existing parent folder, want it left at 0755", fi.Mode(), err)
	}
	b, err := os.ReadFile(p.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(SampleConfig(p)), string(b)); diff != "" {
		t.Errorf("sample written (-want +got):\n%s", diff)
	}
}

func TestInstallTightensConfig(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows uses ACLs (icaclsArgs)")
	}
	for _, tc := range []struct {
		mode    fs.FileMode
		want    fs.FileMode
		wantMsg string
	}{
		{0o644, 0o640, "restricted {config}: mode 0640, was 0644\n"},
		{0o666, 0o640, "restricted {config}: mode 0640, was 0666\n"},
		{0o600, 0o600, ""}, // as root: 0640, for the service's group
		{0o640, 0o640, ""},
	} {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			if tc.mode == 0o600 && os.Geteuid() == 0 {
				tc.want, tc.wantMsg = 0o640, "restricted {config}: mode 0640, was 0600\n"
			}
			p := testPaths(t)
			writeFile(t, p.ConfigFile, configured)
			if err := os.Chmod(p.ConfigFile, tc.mode); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Control(context.Background(), "install", p, WithManager(&fakeManager{platform: "linux-systemd"}), WithOutput(&out)); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p.ConfigFile)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.want {
				t.Errorf("got mode %04o, want %04o", fi.Mode().Perm(), tc.want)
			}
			wantMsg := strings.ReplaceAll(tc.wantMsg, "{config}", p.ConfigFile)
			if wantMsg != "" && !strings.Contains(out.String(), wantMsg) || wantMsg == "" && strings.Contains(out.String(), "restricted") {
				t.Errorf("got output %q, want it to say %q", out.String(), wantMsg)
			}
		})
	}
}

func TestPurgeKeepsFoldersNotNamedStoreagent(t *testing.T) {
	root := t.TempDir()
	p := Paths{
		Executable: "/usr/bin/storeagent",
		ConfigFile: filepath.Join(root, "etc", "storeagent", "config.yaml"),
		DataDir:    filepath.Join(root, "srv"),
		LogDir:     filepath.Join(root, "logs", "storeagent"),
	}
	writeFile(t, p.ConfigFile, configured)
	writeFile(t, filepath.Join(p.DataDir, "other.txt"), "keep me")
	writeFile(t, filepath.Join(p.LogDir, "storeagent.log"), "x")
	var out bytes.Buffer
	err := Control(context.Background(), "uninstall", p, WithManager(&fakeManager{platform: "linux-systemd"}), WithPurge(), WithOutput(&out))
	if err != nil {
		t.Fatal(err)
	}
	want := "the storeagent service is not installed: nothing to remove\n" +
		"deleted " + p.ConfigFile + "\n" +
		"did not delete " + p.DataDir + ": its path does not name storeagent, remove it by hand if it is only the agent's\n" +
		"deleted " + p.LogDir + "\n" +
		"deleted " + p.ConfigDir() + "\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(p.DataDir, "other.txt")); err != nil {
		t.Errorf("got %v, want the unrelated folder kept", err)
	}
}

func TestNamesStoreagent(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want bool
	}{
		{"/var/lib/storeagent", true},
		{"/var/lib/StoreAgent/data", true},
		{"/var/lib", false},
		{"/", false},
		{"/srv/agent", false},
		{"/storeagent", true},
	} {
		if got := namesStoreagent(filepath.FromSlash(tc.dir)); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.dir, got, tc.want)
		}
	}
}

func TestSampleConfig(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the sample is checked with Linux paths, which filepath joins with \\ on Windows")
	}
	p := Paths{
		Executable: "/opt/x/storeagent",
		ConfigFile: "/opt/store's agent/config.yaml",
		DataDir:    "/opt/store's agent/data",
		LogDir:     "/opt/store's agent/log # here",
	}
	var cfg struct {
		Agent struct {
			DataDir string `yaml:"data_dir"`
		} `yaml:"agent"`
		Log struct {
			File string `yaml:"file"`
		} `yaml:"log"`
		Upstream struct {
			TokenFile string `yaml:"token_file"`
		} `yaml:"upstream"`
		Inbox struct {
			Dir string `yaml:"dir"`
		} `yaml:"inbox"`
		Status struct {
			Listen string `yaml:"listen"`
		} `yaml:"status"`
	}
	if err := yaml.Unmarshal(SampleConfig(p), &cfg); err != nil {
		t.Fatalf("sample is not YAML: %v", err)
	}
	got := []string{cfg.Agent.DataDir, cfg.Log.File, cfg.Upstream.TokenFile, cfg.Inbox.Dir, cfg.Status.Listen}
	want := []string{
		"/opt/store's agent/data",
		"/opt/store's agent/log # here/storeagent.log",
		"/opt/store's agent/upstream.token",
		"/opt/store's agent/data/inbox",
		"127.0.0.1:9181",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sample values (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(string(sampleConfig), string(SampleConfig(linuxDefaults))); diff != "" {
		t.Errorf("the sample for the Linux defaults differs from the packaged file (-want +got):\n%s", diff)
	}
}

func TestIcaclsArgs(t *testing.T) {
	for _, tc := range []struct {
		dir, writes bool
		want        []string
	}{
		{true, true, []string{`C:\ProgramData\StoreAgent`, "/inheritance:r", "/grant:r", "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F", "*" + storeagentSID + ":(OI)(CI)M"}},
		{true, false, []string{`C:\ProgramData\StoreAgent`, "/inheritance:r", "/grant:r", "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F", "*" + storeagentSID + ":(OI)(CI)RX"}},
		{false, false, []string{`C:\ProgramData\StoreAgent`, "/inheritance:r", "/grant:r", "*S-1-5-18:F", "*S-1-5-32-544:F", "*" + storeagentSID + ":RX"}},
	} {
		if diff := cmp.Diff(tc.want, icaclsArgs(`C:\ProgramData\StoreAgent`, tc.dir, tc.writes)); diff != "" {
			t.Errorf("dir=%v (-want +got):\n%s", tc.dir, diff)
		}
	}
}

// TestControlWithoutSystemd uses the real kardianos service on a machine
// that systemd does not run (a container, CI): Control must refuse before
// touching anything.
func TestControlWithoutSystemd(t *testing.T) {
	sys := service.ChosenSystem()
	if runtime.GOOS != "linux" || sys == nil || sys.String() == "linux-systemd" {
		t.Skip("this machine has a supported service manager: not touching it")
	}
	p := testPaths(t)
	err := Control(context.Background(), "install", p)
	want := fmt.Sprintf(`install: this system's service manager is %q; storeagent installs itself under systemd or the Windows Service Control Manager only: run "storeagent run --config %s" under your own supervisor instead`, sys.String(), p.ConfigFile)
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := os.Stat(p.ConfigDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v for the config folder, want nothing created", err)
	}
}

// TestInstallHandsOverExistingFolders: an existing data folder named after
// storeagent (an agent that ran as root left its buffer root's) is given to
// the service's user, contents included; a folder not named after it is
// left alone, with a word.
func TestInstallHandsOverExistingFolders(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows uses ACLs (icaclsArgs)")
	}
	p := testPaths(t)
	writeFile(t, p.ConfigFile, configured)
	token := filepath.Join(p.ConfigDir(), "upstream.token")
	writeFile(t, token, "secret")
	if err := os.Chmod(token, 0o600); err != nil {
		t.Fatal(err)
	}
	buffer := filepath.Join(p.DataDir, "buffer.db")
	writeFile(t, buffer, "x")
	shared := filepath.Join(filepath.Dir(p.DataDir), "srv-inbox")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	p.Writable = []string{shared}
	var out bytes.Buffer
	if err := Control(context.Background(), "install", p, WithManager(&fakeManager{platform: "linux-systemd"}), WithOutput(&out)); err != nil {
		t.Fatal(err)
	}
	want := "created " + p.LogDir + "\n" +
		"left " + shared + " as it is (not named after storeagent): the service's account storeagent must be able to write in it\n" +
		"restricted " + p.ConfigFile + ": mode 0640, was 0644\n" +
		"kept the existing configuration " + p.ConfigFile + "\n" +
		"installed the storeagent service (linux-systemd), set to start at boot; not started\nnext: storeagent start\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: ownership not checked")
		return
	}
	for _, tc := range []struct {
		path     string
		uid, gid uint32
	}{
		{p.DataDir, uint32(testUID), uint32(testGID)},
		{buffer, uint32(testUID), uint32(testGID)},
		{p.ConfigFile, 0, uint32(testGID)},
		{token, 0, uint32(testGID)},
		{shared, 0, 0},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if uid, gid, _ := owner(fi); uid != tc.uid || gid != tc.gid {
			t.Errorf("%s: got owner %d:%d, want %d:%d", tc.path, uid, gid, tc.uid, tc.gid)
		}
	}
	if fi, err := os.Stat(token); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("got %v %v for the token file, want 0640 (the service's group reads it)", fi.Mode(), err)
	}
}
