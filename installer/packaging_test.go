package installer

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stubMain stands in for cmd/storeagent while it does not exist; it is
// written only into the temporary copy of the module.
const stubMain = `package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("storeagent", version)
		return
	}
	os.Exit(2)
}
`

const packageVersion = "9.8.7"

// TestPackages runs build.sh in a copy of the module and checks what it
// made: the .deb's files, modes, conffile and unit; the .rpm, binaries and
// Windows zip. As root with dpkg, it also installs the .deb, runs
// /usr/bin/storeagent version and removes it again. Slow (builds four
// binaries, runs nfpm): only with STOREAGENT_PACKAGE_TEST=1. With
// STOREAGENT_PACKAGE_STUB=1 (or while cmd/storeagent does not exist) a stub
// main is packaged instead, in the copy only.
func TestPackages(t *testing.T) {
	if os.Getenv("STOREAGENT_PACKAGE_TEST") != "1" {
		t.Skip("set STOREAGENT_PACKAGE_TEST=1 to build and check the packages")
	}
	if runtime.GOOS != "linux" {
		t.Skip("build.sh runs on Linux")
	}
	for _, tool := range []string{"bash", "dpkg-deb", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	src, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	root := filepath.Join(tmp, "module")
	copyTree(t, src, root)
	stubDir := filepath.Join(root, "cmd", "storeagent")
	if _, err := os.Stat(stubDir); os.IsNotExist(err) || os.Getenv("STOREAGENT_PACKAGE_STUB") == "1" {
		t.Log("building a stub main instead of cmd/storeagent, in the copy only")
		if err := os.RemoveAll(stubDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, "cmd", "storeagent"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "cmd", "storeagent", "main.go"), []byte(stubMain), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(tmp, "out")
	cmd := exec.Command("bash", filepath.Join(root, "installer", "packaging", "build.sh"), out)
	cmd.Env = append(os.Environ(), "VERSION=v"+packageVersion)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}

	var names []string
	es, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		names = append(names, e.Name())
	}
	wantNames := []string{
		"SHA256SUMS",
		"storeagent-9.8.7-1.aarch64.rpm",
		"storeagent-9.8.7-1.x86_64.rpm",
		"storeagent_9.8.7_amd64.deb",
		"storeagent_9.8.7_arm64.deb",
		"storeagent_9.8.7_linux_amd64",
		"storeagent_9.8.7_linux_arm64",
		"storeagent_9.8.7_windows_amd64.zip",
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("artefacts (-want +got):\n%s", diff)
	}
	sums := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sums.Dir = out
	if b, err := sums.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, b)
	} else if n := strings.Count(string(b), ": OK"); n != len(wantNames)-1 {
		t.Errorf("got %d checksums OK, want %d:\n%s", n, len(wantNames)-1, b)
	}

	deb := filepath.Join(out, "storeagent_9.8.7_amd64.deb")
	checkDebContents(t, deb)
	checkZip(t, filepath.Join(out, "storeagent_9.8.7_windows_amd64.zip"))

	if os.Geteuid() != 0 {
		t.Log("not root: the .deb is not installed")
		return
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Log("no dpkg: the .deb is not installed")
		return
	}
	if exec.Command("dpkg", "-s", "storeagent").Run() == nil {
		t.Log("a storeagent package is already installed here: not replacing it")
		return
	}
	installDeb(t, deb)
}

// copyTree copies the module's regular files, leaving out .git and build
// output.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() && (rel == ".git" || rel == "dist" || rel == "bin") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
	if err != nil {
		t.Fatalf("copy the module: %v", err)
	}
}

func checkDebContents(t *testing.T, deb string) {
	t.Helper()
	b, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v", err)
	}
	modes := map[string]string{} // path -> mode and owner
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		modes[f[len(f)-1]] = f[0] + " " + f[1]
	}
	for path, want := range map[string]string{
		"./usr/bin/storeagent":                    "-rwxr-xr-x root/root",
		"./lib/systemd/system/storeagent.service": "-rw-r--r-- root/root",
		"./etc/storeagent/config.yaml":            "-rw-r----- root/root",
		"./etc/storeagent/":                       "drwxr-x--- root/root",
		"./var/lib/storeagent/":                   "drwxr-x--- root/root",
		"./var/log/storeagent/":                   "drwxr-x--- root/root",
	} {
		if got := modes[path]; got != want {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
	}

	unit, err := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./lib/systemd/system/storeagent.service`, "sh", deb).Output()
	if err != nil {
		t.Fatalf("extract the unit: %v", err)
	}
	if diff := cmp.Diff(SystemdUnit(linuxDefaults), string(unit)); diff != "" {
		t.Errorf("packaged unit differs from what install writes (-want +got):\n%s", diff)
	}
	config, err := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./etc/storeagent/config.yaml`, "sh", deb).Output()
	if err != nil {
		t.Fatalf("extract the config: %v", err)
	}
	if diff := cmp.Diff(string(sampleConfig), string(config)); diff != "" {
		t.Errorf("packaged config differs from the sample (-want +got):\n%s", diff)
	}
	conffiles, err := exec.Command("dpkg-deb", "-I", deb, "conffiles").Output()
	if err != nil {
		t.Fatalf("dpkg-deb -I conffiles: %v", err)
	}
	if got := strings.TrimSpace(string(conffiles)); got != "/etc/storeagent/config.yaml" {
		t.Errorf("got conffiles %q, want /etc/storeagent/config.yaml", got)
	}
	for _, field := range []struct{ name, want string }{{"Package", "storeagent"}, {"Version", packageVersion}, {"Architecture", "amd64"}} {
		got, err := exec.Command("dpkg-deb", "-f", deb, field.name).Output()
		if err != nil {
			t.Fatalf("dpkg-deb -f %s: %v", field.name, err)
		}
		if strings.TrimSpace(string(got)) != field.want {
			t.Errorf("got %s %q, want %q", field.name, strings.TrimSpace(string(got)), field.want)
		}
	}
}

func checkZip(t *testing.T, path string) {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var got []string
	for _, f := range z.File {
		got = append(got, f.Name)
	}
	slices.Sort(got)
	dir := "storeagent_9.8.7_windows_amd64/"
	want := []string{dir, dir + "README-windows.txt", dir + "config.sample.yaml", dir + "storeagent.exe"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}
	for _, f := range z.File {
		if f.Name != dir+"storeagent.exe" {
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 2)
		_, err = io.ReadFull(r, head)
		r.Close()
		if err != nil || string(head) != "MZ" {
			t.Errorf("got %q %v at the start of storeagent.exe, want a Windows executable (MZ)", head, err)
		}
	}
}

// installDeb installs the package into this system, checks it and removes
// it, purging so the machine is left as it was.
func installDeb(t *testing.T, deb string) {
	t.Helper()
	t.Cleanup(func() {
		if b, err := exec.Command("dpkg", "-P", "storeagent").CombinedOutput(); err != nil {
			t.Errorf("dpkg -P storeagent: %v\n%s", err, b)
		}
	})
	if b, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, b)
	} else if !strings.Contains(string(b), "storeagent is installed but not started") {
		t.Errorf("got dpkg -i output without the next steps:\n%s", b)
	}
	b, err := exec.Command("/usr/bin/storeagent", "version").CombinedOutput()
	if err != nil || !strings.Contains(string(b), packageVersion) {
		t.Errorf("got %q, %v from storeagent version, want the version %s", b, err, packageVersion)
	}
	for path, want := range map[string]fs.FileMode{
		"/var/lib/storeagent":         fs.ModeDir | 0o750,
		"/var/log/storeagent":         fs.ModeDir | 0o750,
		"/etc/storeagent":             fs.ModeDir | 0o750,
		"/etc/storeagent/config.yaml": 0o640,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("after dpkg -i: %v", err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: got mode %v, want %v", path, fi.Mode(), want)
		}
	}
	if b, err := exec.Command("dpkg", "-r", "storeagent").CombinedOutput(); err != nil {
		t.Fatalf("dpkg -r: %v\n%s", err, b)
	}
	if _, err := os.Stat("/usr/bin/storeagent"); !os.IsNotExist(err) {
		t.Errorf("got %v for /usr/bin/storeagent after dpkg -r, want it gone", err)
	}
	if _, err := os.Stat("/etc/storeagent/config.yaml"); err != nil {
		t.Errorf("got %v for the configuration after dpkg -r, want it kept until purge", err)
	}
}
