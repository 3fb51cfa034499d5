package ftpd

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The folders of a home.
const (
	archiveDir  = "archive"
	rejectedDir = "rejected"
	partialDir  = ".partial" // uploads in progress; invisible to clients
)

// home is one user's folder, opened as an os.Root so that no path, symlink
// or ".." can lead outside it.
type home struct {
	dir  string
	root *os.Root
	mu   sync.Mutex // orders choosing a pending name and renaming into it
}

// openHome creates the home and its folders if needed, opens it, and
// deletes what interrupted uploads left in .partial (never acknowledged).
func openHome(dir string, log *slog.Logger) (*home, error) {
	for _, d := range []string{dir, filepath.Join(dir, archiveDir), filepath.Join(dir, rejectedDir), filepath.Join(dir, partialDir)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	h := &home{dir: dir, root: root}
	entries, err := os.ReadDir(filepath.Join(dir, partialDir))
	if err != nil {
		_ = root.Close()
		return nil, err
	}
	for _, e := range entries {
		if err := root.Remove(filepath.Join(partialDir, e.Name())); err != nil {
			log.Warn("cannot delete an interrupted upload", "path", filepath.Join(dir, partialDir, e.Name()), "err", err)
		}
	}
	if len(entries) > 0 {
		log.Info("deleted interrupted uploads", "home", dir, "count", len(entries))
	}
	h.sweepTemps(time.Now(), log)
	return h, nil
}

// commit renames a complete temporary upload into the home under name, or
// under name-2, name-3... while a file of that name is still pending, and
// makes the rename durable. It returns the name used and the file's info.
func (h *home) commit(partial, name string) (string, fs.FileInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	final := name
	for i := 2; ; i++ {
		_, err := h.root.Lstat(final)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", nil, err
		}
		if i > 1000 {
			return "", nil, fmt.Errorf("too many pending files named %s", name)
		}
		final = pendingName(name, i)
	}
	if err := h.root.Rename(partial, final); err != nil {
		return "", nil, err
	}
	if err := syncDir(h.root); err != nil {
		_ = h.root.Remove(final)
		return "", nil, err
	}
	fi, err := h.root.Lstat(final)
	if err != nil {
		return "", nil, err
	}
	return final, fi, nil
}

// pendingName is "x-2.csv" for "x.csv", within maxNameLen.
func pendingName(name string, i int) string {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	suffix := fmt.Sprintf("-%d%s", i, ext)
	if over := len(stem) + len(suffix) - maxNameLen; over > 0 {
		stem = strings.ToValidUTF8(stem[:len(stem)-over], "")
	}
	return stem + suffix
}

// removeIfSame deletes name if it is still the file fi describes (the inbox
// may have moved it, and another upload may have taken the name since).
func (h *home) removeIfSame(name string, fi fs.FileInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur, err := h.root.Lstat(name); err == nil && os.SameFile(cur, fi) {
		_ = h.root.Remove(name)
	}
}
