package installer

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf16"
)

// account is who the service runs as, for the permissions install sets.
type account struct {
	name     string
	uid, gid int // Linux; -1 when ownership is left alone (install not run as root)
}

// accountFunc returns the service's account, creating it when missing.
type accountFunc func(ctx context.Context, p Paths, say func(string, ...any)) (account, error)

// ensureAccount is the system's: the Linux system user storeagent, created
// when missing, or the Windows virtual account; tests replace it.
var ensureAccount accountFunc = ensureSystemAccount

func ensureSystemAccount(ctx context.Context, p Paths, say func(string, ...any)) (account, error) {
	if runtime.GOOS == "windows" {
		return account{name: WindowsAccount, uid: -1, gid: -1}, nil
	}
	if os.Geteuid() != 0 {
		return account{name: LinuxUser, uid: -1, gid: -1}, nil
	}
	u, err := user.Lookup(LinuxUser)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		name, args := addUserCommand(p.DataDir, exec.LookPath)
		if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
			return account{}, fmt.Errorf("create the system user %s with %s: %w: %s", LinuxUser, name, err, strings.TrimSpace(string(out)))
		}
		say("created the system user %s (no login, home %s)", LinuxUser, p.DataDir)
		u, err = user.Lookup(LinuxUser)
	}
	if err != nil {
		return account{}, fmt.Errorf("look up the system user %s: %w", LinuxUser, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return account{}, fmt.Errorf("look up the system user %s: %w", LinuxUser, err)
	}
	return account{name: LinuxUser, uid: uid, gid: gid}, nil
}

// addUserCommand is the command that creates the service's system user with
// its own group, no login shell and no home folder created (the data folder
// is its home): useradd, or Debian's adduser where useradd is missing.
func addUserCommand(home string, lookPath func(string) (string, error)) (string, []string) {
	if _, err := lookPath("useradd"); err != nil {
		if _, err := lookPath("adduser"); err == nil {
			return "adduser", []string{"--system", "--group", "--home", home, "--no-create-home", "--shell", "/usr/sbin/nologin", "--gecos", "TMAS store agent", LinuxUser}
		}
	}
	return "useradd", []string{"--system", "--user-group", "--home-dir", home, "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "TMAS store agent", LinuxUser}
}

// serviceSID is the SID Windows gives the virtual account of the service
// name (NT SERVICE\name): S-1-5-80- followed by the SHA-1 of the upper-case
// name in UTF-16LE, as five little-endian 32-bit numbers. It is known
// before the service exists, so install can grant it the folders first.
func serviceSID(name string) string {
	u := utf16.Encode([]rune(strings.ToUpper(name)))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	sum := sha1.Sum(b)
	sid := "S-1-5-80"
	for i := 0; i < 5; i++ {
		sid += "-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(sum[4*i:])), 10)
	}
	return sid
}
