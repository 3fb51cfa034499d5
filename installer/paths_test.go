package installer

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPathsValidate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the paths are Linux ones: without a drive letter they are not absolute on Windows")
	}
	good := Paths{Executable: "/usr/bin/storeagent", ConfigFile: "/etc/storeagent/config.yaml", DataDir: "/var/lib/storeagent", LogDir: "/var/log/storeagent"}
	for _, tc := range []struct {
		name string
		edit func(*Paths)
		want string
	}{
		{"good", func(*Paths) {}, ""},
		{"relative", func(p *Paths) { p.DataDir = "data" }, `data dir "data" is not an absolute path`},
		{"empty", func(p *Paths) { p.Executable = "" }, "executable is empty"},
		{"braces", func(p *Paths) { p.ConfigFile = "/etc/{{Name}}.yaml" }, `config file "/etc/{{Name}}.yaml" holds a quote, a line break or {{, which a service definition cannot carry`},
		{"newline and quote", func(p *Paths) { p.LogDir = "/var/log\n"; p.DataDir = `/var/"lib"` },
			"data dir \"/var/\\\"lib\\\"\" holds a quote, a line break or {{, which a service definition cannot carry\nlog dir \"/var/log\\n\" holds a quote, a line break or {{, which a service definition cannot carry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			err := p.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got error %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPathsAbs(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Paths{Executable: "bin/storeagent", ConfigFile: "/etc/c.yaml", DataDir: "data", LogDir: "/l"}.Abs()
	if err != nil {
		t.Fatal(err)
	}
	want := Paths{Executable: filepath.Join(wd, "bin", "storeagent"), ConfigFile: filepath.FromSlash("/etc/c.yaml"), DataDir: filepath.Join(wd, "data"), LogDir: filepath.FromSlash("/l")}
	if runtime.GOOS == "windows" {
		t.Skip("drive letters differ")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Abs (-want +got):\n%s", diff)
	}
	if _, err := (Paths{}).Abs(); err == nil || err.Error() != "executable is empty\nconfig file is empty\ndata dir is empty\nlog dir is empty" {
		t.Errorf("got %v for empty paths", err)
	}
}

func TestDefaultPaths(t *testing.T) {
	p := DefaultPaths()
	if !filepath.IsAbs(p.Executable) {
		t.Errorf("got executable %q, want an absolute path", p.Executable)
	}
	if runtime.GOOS != "linux" {
		t.Skip("the rest checks the Linux layout")
	}
	p.Executable = ""
	want := Paths{ConfigFile: "/etc/storeagent/config.yaml", DataDir: "/var/lib/storeagent", LogDir: "/var/log/storeagent"}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("DefaultPaths (-want +got):\n%s", diff)
	}
}

func TestDefaultExecutable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a symbolic link, which Windows allows only with a privilege or developer mode")
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "storeagent")
	if err := os.WriteFile(real, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	for _, tc := range []struct {
		name string
		exe  func() (string, error)
		want string
	}{
		{"symlink resolved", func() (string, error) { return link, nil }, real},
		{"error falls back", func() (string, error) { return "", errors.New("no /proc") }, "/usr/bin/storeagent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := defaultExecutable(tc.exe, "/usr/bin/storeagent"); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestProgramData(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{`D:\ProgramData`, `D:\ProgramData`},
		{"", `C:\ProgramData`},
	} {
		got := programData(func(string) string { return tc.env })
		if got != tc.want {
			t.Errorf("ProgramData=%q: got %s, want %s", tc.env, got, tc.want)
		}
	}
}
