package installer

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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
		"./etc/storeagent/config.yaml":            "-rw-r----- root/storeagent",
		"./etc/storeagent/":                       "drwxr-x--- root/storeagent",
		"./var/lib/storeagent/":                   "drwxr-x--- storeagent/storeagent",
		"./var/log/storeagent/":                   "drwxr-x--- storeagent/storeagent",
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
	checkHardening(t, string(unit))
	if got, err := exec.Command("dpkg-deb", "-f", deb, "Pre-Depends").Output(); err != nil || strings.TrimSpace(string(got)) != "passwd" {
		t.Errorf("got Pre-Depends %q, %v, want passwd (preinst runs useradd)", got, err)
	}
	if _, err := exec.Command("dpkg-deb", "-I", deb, "preinst").Output(); err != nil {
		t.Errorf("dpkg-deb -I preinst: %v, want the script that creates the user", err)
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

// checkHardening checks the unit's user and confinement lines.
func checkHardening(t *testing.T, unit string) {
	t.Helper()
	for _, l := range []string{
		"User=storeagent", "Group=storeagent", "NoNewPrivileges=yes", "ProtectSystem=strict",
		`ReadWritePaths="/var/lib/storeagent"`, `ReadWritePaths="/var/log/storeagent"`,
		"CapabilityBoundingSet=", "PrivateTmp=yes", "ProtectHome=yes", "ProtectKernelTunables=yes",
		"RestrictSUIDSGID=yes", "LockPersonality=yes",
	} {
		if !slices.Contains(strings.Split(unit, "\n"), l) {
			t.Errorf("the packaged unit lacks %q:\n%s", l, unit)
		}
	}
	if strings.Contains(unit, "AmbientCapabilities") {
		t.Errorf("the packaged unit (port 2121) grants a capability:\n%s", unit)
	}
}

// dpkg runs dpkg with args and returns its output.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	b, err := exec.Command("dpkg", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return string(b)
}

// userExists reports whether getent knows the user (or group) name.
func userExists(db, name string) bool { return exec.Command("getent", db, name).Run() == nil }

// installDeb installs the package into this system twice and checks it:
// the storeagent user, the ownership and modes, the unit, removal, and
// purge (which deletes the configuration folder with the token, the logs,
// and the data folder and user only when no data is left). It leaves the
// machine as it was. Without systemd running (a container) the scripts skip
// systemctl; the unit is checked with systemd-analyze verify when present.
func installDeb(t *testing.T, deb string) {
	t.Helper()
	if !debInstallable(t) {
		return
	}
	t.Cleanup(func() {
		if b, err := exec.Command("dpkg", "-P", "storeagent").CombinedOutput(); err != nil {
			t.Errorf("dpkg -P storeagent: %v\n%s", err, b)
		}
		os.RemoveAll("/var/lib/storeagent")
		exec.Command("userdel", "storeagent").Run()
		exec.Command("groupdel", "storeagent").Run()
	})

	// 1: install, check, remove, purge with no data: nothing is left.
	out := dpkg(t, "-i", deb)
	if !strings.Contains(out, "storeagent is installed but not started. It runs as the system user storeagent.") {
		t.Errorf("got dpkg -i output without the next steps:\n%s", out)
	}
	checkInstalled(t)
	removeAndPurge(t)

	// 2: purge with records in the buffer: the data and its user stay.
	purgeKeepsData(t, deb)
}

// debInstallable reports whether this system has no storeagent user, group
// or folders, so that the .deb can be installed and purged here.
func debInstallable(t *testing.T) bool {
	t.Helper()
	if userExists("passwd", "storeagent") || userExists("group", "storeagent") {
		t.Log("a storeagent user or group exists here already: not installing the .deb")
		return false
	}
	for _, d := range []string{"/etc/storeagent", "/var/lib/storeagent", "/var/log/storeagent"} {
		if _, err := os.Lstat(d); err == nil {
			t.Logf("%s exists here already (an agent installed without the package?): not installing the .deb", d)
			return false
		}
	}
	return true
}

// checkInstalled checks the installed package: the binary's version, the
// storeagent user, the ownership and modes, and the unit.
func checkInstalled(t *testing.T) {
	t.Helper()
	b, err := exec.Command("/usr/bin/storeagent", "version").CombinedOutput()
	if err != nil || !strings.Contains(string(b), packageVersion) {
		t.Errorf("got %q, %v from storeagent version, want the version %s", b, err, packageVersion)
	}
	if !userExists("passwd", "storeagent") {
		t.Fatal("no storeagent user after dpkg -i")
	}
	pw, _ := exec.Command("getent", "passwd", "storeagent").Output()
	if f := strings.Split(strings.TrimSpace(string(pw)), ":"); len(f) != 7 || f[5] != "/var/lib/storeagent" || f[6] != "/usr/sbin/nologin" {
		t.Errorf("got user %q, want home /var/lib/storeagent and shell /usr/sbin/nologin", pw)
	}
	uid, gid := lookupIDs(t)
	for _, tc := range []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"/var/lib/storeagent", fs.ModeDir | 0o750, uid, gid},
		{"/var/log/storeagent", fs.ModeDir | 0o750, uid, gid},
		{"/etc/storeagent", fs.ModeDir | 0o750, 0, gid},
		{"/etc/storeagent/config.yaml", 0o640, 0, gid},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Errorf("after dpkg -i: %v", err)
			continue
		}
		if fi.Mode() != tc.mode {
			t.Errorf("%s: got mode %v, want %v", tc.path, fi.Mode(), tc.mode)
		}
		if u, g, _ := owner(fi); int(u) != tc.uid || int(g) != tc.gid {
			t.Errorf("%s: got owner %d:%d, want %d:%d", tc.path, u, g, tc.uid, tc.gid)
		}
	}
	if unit, err := os.ReadFile("/lib/systemd/system/storeagent.service"); err != nil {
		t.Error(err)
	} else {
		checkHardening(t, string(unit))
	}
	if analyze, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze is not installed: the installed unit is not verified")
	} else if out, err := exec.Command(analyze, "verify", "/lib/systemd/system/storeagent.service").CombinedOutput(); err != nil ||
		strings.Contains(string(out), "ignoring") || strings.Contains(string(out), "Unknown") {
		t.Errorf("systemd-analyze verify of the installed unit: %v\n%s", err, out)
	}
}

// removeAndPurge removes the installed package, then purges it with no
// data in the buffer: nothing is left.
func removeAndPurge(t *testing.T) {
	t.Helper()
	// The store's IT puts the token where the sample says; the service
	// writes its log.
	if err := os.WriteFile("/etc/storeagent/upstream.token", []byte("secret\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/log/storeagent/storeagent.log", []byte("{}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	dpkg(t, "-r", "storeagent")
	if _, err := os.Stat("/usr/bin/storeagent"); !os.IsNotExist(err) {
		t.Errorf("got %v for /usr/bin/storeagent after dpkg -r, want it gone", err)
	}
	for _, kept := range []string{"/etc/storeagent/config.yaml", "/etc/storeagent/upstream.token", "/var/log/storeagent"} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("got %v for %s after dpkg -r, want it kept until purge", err, kept)
		}
	}
	dpkg(t, "-P", "storeagent")
	for _, gone := range []string{"/etc/storeagent/upstream.token", "/etc/storeagent", "/var/log/storeagent", "/var/lib/storeagent"} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("got %v for %s after dpkg -P, want it deleted", err, gone)
		}
	}
	if userExists("passwd", "storeagent") || userExists("group", "storeagent") {
		t.Errorf("the storeagent user or group is left after a purge with no data")
	}
}

// purgeKeepsData installs deb again, writes records into the buffer and
// purges: the data and its user stay, the configuration goes.
func purgeKeepsData(t *testing.T, deb string) {
	t.Helper()
	dpkg(t, "-i", deb)
	if err := os.WriteFile("/var/lib/storeagent/buffer.db", []byte("records"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := dpkg(t, "-P", "storeagent")
	if !strings.Contains(out, "storeagent: kept /var/lib/storeagent (it may hold records not yet delivered) and the user storeagent that owns it") {
		t.Errorf("got dpkg -P output without the kept data:\n%s", out)
	}
	if b, err := os.ReadFile("/var/lib/storeagent/buffer.db"); err != nil || string(b) != "records" {
		t.Errorf("got %q, %v for the buffer after dpkg -P, want it kept", b, err)
	}
	if !userExists("passwd", "storeagent") {
		t.Errorf("the storeagent user that owns the kept data was deleted")
	}
	if _, err := os.Stat("/etc/storeagent"); !os.IsNotExist(err) {
		t.Errorf("got %v for /etc/storeagent after dpkg -P, want it deleted", err)
	}
}

func lookupIDs(t *testing.T) (int, int) {
	t.Helper()
	u, err := user.Lookup("storeagent")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}
