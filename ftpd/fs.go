package ftpd

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"
	"golang.org/x/text/encoding/charmap"
)

// userFS is what one logged-in user sees: their home, where they may upload
// *.csv files into the top folder (directly, or under a temporary name then
// renamed: rename.go), and list and download the files there and under
// archive/ and rejected/. Nothing else: no delete, other renames, mkdir,
// chmod, append or resume; hidden entries (.partial) and symlinks do not
// exist for them. Every access goes through the home's os.Root.
type userFS struct {
	s      *Server
	cc     ftpserver.ClientContext // the session: its transfer type (TYPE A or I)
	acct   *account
	home   *home
	conn   *ctrlConn
	remote string
	log    *slog.Logger
}

var (
	_ ftpserver.ClientDriver                      = (*userFS)(nil)
	_ ftpserver.ClientDriverExtentionFileTransfer = (*userFS)(nil)
	_ ftpserver.ClientDriverExtensionFileList     = (*userFS)(nil)
	_ ftpserver.ClientDriverExtensionRemoveDir    = (*userFS)(nil)
)

// errReadOnly explains every refused change.
var errReadOnly = fmt.Errorf("%w: this account may only upload .csv files into its top folder, and read archive/ and rejected/", fs.ErrPermission)

// splitPath cleans a client path (absolute, or relative to the top folder)
// into its elements; "/" has none. path.Clean resolves every "..", so the
// result never climbs above the top folder. A path that is not UTF-8 comes
// from a client that did not switch to UTF-8 (OPTS UTF8 ON) and sends its
// Windows code page: it is decoded as Windows-1252, so "pr\xe9sence.csv" is
// "présence.csv", stored and listed in UTF-8.
func splitPath(name string) []string {
	c := path.Clean("/" + clientName(name))
	if c == "/" {
		return nil
	}
	return strings.Split(c[1:], "/")
}

// clientName decodes a path that is not valid UTF-8 as Windows-1252.
func clientName(name string) string {
	if utf8.ValidString(name) {
		return name
	}
	s, err := charmap.Windows1252.NewDecoder().String(name)
	if err != nil || strings.ContainsRune(s, utf8.RuneError) {
		return name // a byte Windows-1252 leaves undefined: refused later, not valid UTF-8
	}
	return s
}

// visible reports whether a directory entry may be shown and opened: not
// hidden, no control characters or separators, valid UTF-8.
func visible(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || !utf8.ValidString(name) || strings.ContainsAny(name, `/\`) {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func notFound(name string) error {
	return fmt.Errorf("%s: %w", path.Clean("/"+name), fs.ErrNotExist)
}

// lookup finds a visible file or folder without following symlinks: every
// element is checked with Lstat, and only the top folder's files and the
// archive/ and rejected/ trees exist.
func (f *userFS) lookup(name string) ([]string, fs.FileInfo, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		fi, err := f.home.root.Stat(".")
		return nil, fi, err
	}
	for _, p := range parts {
		if !visible(p) {
			return nil, nil, notFound(name)
		}
	}
	if len(parts) > 1 && parts[0] != archiveDir && parts[0] != rejectedDir {
		return nil, nil, notFound(name)
	}
	var fi fs.FileInfo
	for i := range parts {
		var err error
		fi, err = f.home.root.Lstat(filepath.Join(parts[:i+1]...))
		if err != nil {
			return nil, nil, notFound(name)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			f.log.Warn("refused to follow a symlink", "path", path.Join(parts[:i+1]...))
			return nil, nil, notFound(name)
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return nil, nil, notFound(name)
		}
	}
	switch {
	case fi.IsDir() && len(parts) == 1 && parts[0] != archiveDir && parts[0] != rejectedDir:
		return nil, nil, notFound(name)
	case !fi.IsDir() && !fi.Mode().IsRegular():
		return nil, nil, notFound(name)
	}
	return parts, fi, nil
}

func rel(parts []string) string {
	if len(parts) == 0 {
		return "."
	}
	return filepath.Join(parts...)
}

// Stat describes a visible file or folder.
func (f *userFS) Stat(name string) (os.FileInfo, error) {
	_, fi, err := f.lookup(name)
	return fi, err
}

// ReadDir lists a visible folder: in the top folder its files and archive/
// and rejected/; below, their files and folders. Hidden entries and
// symlinks are left out.
func (f *userFS) ReadDir(name string) ([]os.FileInfo, error) {
	parts, fi, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a folder", path.Clean("/"+name))
	}
	d, err := f.home.root.Open(rel(parts))
	if err != nil {
		return nil, notFound(name)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot list", path.Clean("/"+name))
	}
	out := make([]os.FileInfo, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		if !visible(n) || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		info, err := e.Info()
		switch {
		case err != nil:
			continue
		case info.IsDir() && len(parts) == 0 && n != archiveDir && n != rejectedDir:
			continue
		case !info.IsDir() && !info.Mode().IsRegular():
			continue
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// GetHandle opens a file for a transfer: a download of a visible file, or a
// new upload.
func (f *userFS) GetHandle(name string, flags int, offset int64) (ftpserver.FileTransfer, error) {
	if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
		file, err := f.openRead(name)
		if err != nil {
			return nil, err
		}
		if f.ascii() {
			return newASCIIOut(file), nil
		}
		return file, nil
	}
	return f.upload(name, flags, offset)
}

// ascii reports whether the session is in TYPE A (see ascii.go).
func (f *userFS) ascii() bool {
	return f.cc != nil && f.cc.GetTransferType() == ftpserver.TransferTypeASCII
}

// openRead opens a visible regular file, checking that what was opened is
// what was looked up (no symlink swapped in between).
func (f *userFS) openRead(name string) (*os.File, error) {
	parts, fi, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: is a folder", path.Clean("/"+name))
	}
	file, err := f.home.root.OpenFile(rel(parts), os.O_RDONLY, 0)
	if err != nil {
		return nil, notFound(name)
	}
	if ofi, err := file.Stat(); err != nil || !os.SameFile(fi, ofi) {
		_ = file.Close()
		return nil, notFound(name)
	}
	return file, nil
}

// Open opens a visible file for reading.
func (f *userFS) Open(name string) (afero.File, error) {
	file, err := f.openRead(name)
	if err != nil {
		return nil, err
	}
	return file, nil
}

// OpenFile opens a visible file for reading; every other mode is refused
// (uploads go through GetHandle).
func (f *userFS) OpenFile(name string, flag int, _ os.FileMode) (afero.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, f.deny("open for writing", name)
	}
	return f.Open(name)
}

func (f *userFS) deny(op, name string) error {
	f.log.Info("ftp operation refused", "op", op, "path", path.Clean("/"+name))
	return errReadOnly
}

// Name names the filesystem.
func (f *userFS) Name() string { return "storeagent" }

// Create is refused: uploads go through GetHandle.
func (f *userFS) Create(name string) (afero.File, error) { return nil, f.deny("create", name) }

// Mkdir is refused.
func (f *userFS) Mkdir(name string, _ os.FileMode) error { return f.deny("mkdir", name) }

// MkdirAll is refused.
func (f *userFS) MkdirAll(name string, _ os.FileMode) error { return f.deny("mkdir", name) }

// Remove is refused.
func (f *userFS) Remove(name string) error { return f.deny("delete", name) }

// RemoveAll is refused.
func (f *userFS) RemoveAll(name string) error { return f.deny("delete", name) }

// RemoveDir is refused.
func (f *userFS) RemoveDir(name string) error { return f.deny("rmdir", name) }

// Chmod is refused.
func (f *userFS) Chmod(name string, _ os.FileMode) error { return f.deny("chmod", name) }

// Chown is refused.
func (f *userFS) Chown(name string, _, _ int) error { return f.deny("chown", name) }

// Chtimes is refused.
func (f *userFS) Chtimes(name string, _, _ time.Time) error { return f.deny("chtimes", name) }

// errShuttingDown refuses work that starts during shutdown.
var errShuttingDown = errors.New("the server is shutting down")
