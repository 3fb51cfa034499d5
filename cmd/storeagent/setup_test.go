package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kardianos/service"

	"github.com/tmas/storeagent/installer"
)

// absentService is a systemd on which the service is not installed.
type absentService struct{}

func (absentService) Install() error   { return nil }
func (absentService) Uninstall() error { return nil }
func (absentService) Start() error     { return nil }
func (absentService) Stop() error      { return nil }
func (absentService) Restart() error   { return nil }
func (absentService) Status() (service.Status, error) {
	return service.StatusUnknown, service.ErrNotInstalled
}
func (absentService) Platform() string { return "linux-systemd" }

// fakeServicePaths makes the platform's default folders ones inside root,
// each holding a file, and the service manager absentService.
func fakeServicePaths(t *testing.T, root string) installer.Paths {
	t.Helper()
	def := installer.Paths{
		Executable: filepath.Join(root, "usr", "bin", "storeagent"),
		ConfigFile: filepath.Join(root, "etc", "storeagent", "config.yaml"),
		DataDir:    filepath.Join(root, "var", "lib", "storeagent"),
		LogDir:     filepath.Join(root, "var", "log", "storeagent"),
	}
	for _, f := range []string{def.ConfigFile, filepath.Join(def.DataDir, "buffer.db"), filepath.Join(def.LogDir, "storeagent.log")} {
		mustWrite(t, f, "the default instance's")
	}
	oldPaths, oldManager := defaultServicePaths, serviceManager
	defaultServicePaths = func() installer.Paths { return def }
	serviceManager = absentService{}
	t.Cleanup(func() { defaultServicePaths, serviceManager = oldPaths, oldManager })
	return def
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeUsesTheConfiguredFolders: uninstall --purge --config deletes the
// data_dir and the log.file folder that configuration names, and leaves
// the default instance's folders alone. The configuration is the unedited
// kind (no agent.id): it need not be valid to name its folders.
func TestPurgeUsesTheConfiguredFolders(t *testing.T) {
	root := t.TempDir()
	def := fakeServicePaths(t, root)
	other := filepath.Join(root, "second")
	cfg := filepath.Join(other, "storeagent", "config.yaml")
	data := filepath.Join(other, "storeagent", "data")
	logs := filepath.Join(root, "elsewhere", "storeagent-logs")
	mustWrite(t, cfg, "agent: {id: \"\", data_dir: data}\nlog: {file: '"+filepath.Join(logs, "agent.log")+"'}\n")
	mustWrite(t, filepath.Join(data, "buffer.db"), "x")
	mustWrite(t, filepath.Join(logs, "agent.log"), "x")

	out, code := runCLI(t, "uninstall", "--purge", "--config", cfg)
	if code != 0 {
		t.Fatalf("got exit %d:\n%s", code, out)
	}
	want := "the storeagent service is not installed: nothing to remove\n" +
		"deleted " + cfg + "\n" +
		"deleted " + data + "\n" +
		"deleted " + logs + "\n" +
		"deleted " + filepath.Dir(cfg) + "\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	for _, gone := range []string{data, logs, filepath.Dir(cfg)} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("got %v for %s, want it deleted", err, gone)
		}
	}
	for _, kept := range []string{def.ConfigFile, filepath.Join(def.DataDir, "buffer.db"), filepath.Join(def.LogDir, "storeagent.log")} {
		if b, err := os.ReadFile(kept); err != nil || string(b) != "the default instance's" {
			t.Errorf("got %q, %v for %s, want the default instance's file kept", b, err, kept)
		}
	}
}

// TestPurgeRefusesWithoutTheConfig: with a --config file that does not
// exist, nothing says which folders are its own: purge refuses and deletes
// nothing.
func TestPurgeRefusesWithoutTheConfig(t *testing.T) {
	root := t.TempDir()
	def := fakeServicePaths(t, root)
	cfg := filepath.Join(root, "missing", "config.yaml")
	out, code := runCLI(t, "uninstall", "--purge", "--config", cfg)
	want := "cannot tell the data and log folders of " + cfg + ": open " + cfg + ": no such file or directory"
	if code != 2 || !strings.Contains(out, want) {
		t.Errorf("got exit %d and %q, want exit 2 and %q", code, out, want)
	}
	for _, kept := range []string{def.ConfigFile, filepath.Join(def.DataDir, "buffer.db"), filepath.Join(def.LogDir, "storeagent.log")} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("got %v for %s, want it kept", err, kept)
		}
	}
}

// TestInstallUsesTheConfiguredLogFolder: install --config creates the
// folder of the configured log.file, not the default log folder.
func TestInstallUsesTheConfiguredLogFolder(t *testing.T) {
	root := t.TempDir()
	def := fakeServicePaths(t, root)
	if err := os.RemoveAll(def.LogDir); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "second", "config.yaml")
	logs := filepath.Join(root, "elsewhere", "logs")
	mustWrite(t, cfg, "agent: {id: store-2, data_dir: data}\nlog: {file: '"+filepath.Join(logs, "agent.log")+"'}\n")
	out, code := runCLI(t, "install", "--config", cfg)
	if code != 0 {
		t.Fatalf("got exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "created "+logs+"\n") {
		t.Errorf("got output without %q:\n%s", "created "+logs, out)
	}
	if _, err := os.Stat(def.LogDir); !os.IsNotExist(err) {
		t.Errorf("got %v for the default log folder, want it not created", err)
	}
}

// TestServicePaths: the unit gets the folders the configuration writes
// outside the data and log folders, and the ports it listens on.
func TestServicePaths(t *testing.T) {
	root := t.TempDir()
	def := fakeServicePaths(t, root)
	cfg := filepath.Join(root, "conf", "config.yaml")
	mustWrite(t, cfg, `agent: {data_dir: data}
log: {file: logs/agent.log}
inbox: {dir: /srv/timeclock}
ftp: {listen: ":21", passive_ports: "40000-40010"}
status: {listen: "127.0.0.1:9181"}
`)
	got, err := servicePaths(&env{configPath: cfg}, def)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(cfg)
	want := installer.Paths{
		Executable: def.Executable,
		ConfigFile: cfg,
		DataDir:    filepath.Join(dir, "data"),
		LogDir:     filepath.Join(dir, "logs"),
		Writable:   []string{"/srv/timeclock"},
		Ports:      []int{21, 40000, 9181},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}
