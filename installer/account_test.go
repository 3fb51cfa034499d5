package installer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServiceSID(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		// Windows' own, as `sc showsid TrustedInstaller` prints it.
		{"TrustedInstaller", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"},
		{"trustedinstaller", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"},
		{"storeagent", storeagentSID},
	} {
		if got := serviceSID(tc.name); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestAddUserCommand(t *testing.T) {
	has := func(tools ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, t := range tools {
				if t == name {
					return "/usr/sbin/" + name, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	for _, tc := range []struct {
		name     string
		lookPath func(string) (string, error)
		want     []string
	}{
		{"useradd", has("useradd", "adduser"), []string{"useradd", "--system", "--user-group", "--home-dir", "/var/lib/storeagent", "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "TMAS store agent", "storeagent"}},
		{"adduser only", has("adduser"), []string{"adduser", "--system", "--group", "--home", "/var/lib/storeagent", "--no-create-home", "--shell", "/usr/sbin/nologin", "--gecos", "TMAS store agent", "storeagent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, args := addUserCommand("/var/lib/storeagent", tc.lookPath)
			if diff := cmp.Diff(tc.want, append([]string{name}, args...)); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
		})
	}
}

// storeagentSID is NT SERVICE\storeagent's SID (serviceSID, which gives
// TrustedInstaller's right).
const storeagentSID = "S-1-5-80-2077256954-3070519955-1136482558-3767851049-1390457974"

// TestEnsureSystemAccount creates the real storeagent system user (as root,
// with STOREAGENT_PACKAGE_TEST=1, which may change this machine, and only
// when there is none yet), checks it, then deletes it again.
func TestEnsureSystemAccount(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 || os.Getenv("STOREAGENT_PACKAGE_TEST") != "1" {
		t.Skip("creates a system user: Linux, as root, with STOREAGENT_PACKAGE_TEST=1 only")
	}
	if _, err := user.Lookup(LinuxUser); err == nil {
		t.Skip("a storeagent user exists here already")
	}
	t.Cleanup(func() {
		exec.Command("userdel", LinuxUser).Run()
		exec.Command("groupdel", LinuxUser).Run()
	})
	var said []string
	say := func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) }
	p := Paths{DataDir: "/var/lib/storeagent"}
	a, err := ensureSystemAccount(context.Background(), p, say)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"created the system user storeagent (no login, home /var/lib/storeagent)"}, said); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	pw, err := exec.Command("getent", "passwd", LinuxUser).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("storeagent:x:%d:%d:TMAS store agent:/var/lib/storeagent:/usr/sbin/nologin", a.uid, a.gid)
	if got := strings.TrimSpace(string(pw)); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if a.uid == 0 || a.uid >= 1000 {
		t.Errorf("got uid %d, want a system uid (1-999)", a.uid)
	}
	said = nil
	again, err := ensureSystemAccount(context.Background(), p, say)
	if err != nil || again != a || len(said) != 0 {
		t.Errorf("second call: got %+v, %v, said %q; want %+v, nothing said", again, err, said, a)
	}
}
