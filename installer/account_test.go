package installer

import (
	"errors"
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
