package ftpd

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
)

// Uploading under a temporary name, then renaming: `ncftpput -S .tmp`,
// WinSCP's `.filepart`, scripts doing STOR x.csv.tmp, RNFR x.csv.tmp, RNTO
// x.csv. A file named <name>.csv plus one of tempSuffixes is accepted in the
// top folder and kept there as it is, out of the import (the agent imports
// only *.csv). RNTO to a .csv name in the top folder imports it, exactly as
// a STOR of that name would, and is answered only after the commit: 250
// once the records are durable, else the same code and text as the STOR
// (452 full, 550 refused with the report, 451 local error, 553 bad name). A
// temporary file never renamed is deleted after tempMaxAge.

// tempSuffixes are the temporary-name suffixes accepted after ".csv".
var tempSuffixes = []string{".tmp", ".part", ".filepart"}

// tempMaxAge is how long a temporary upload that was never renamed is kept.
const tempMaxAge = 24 * time.Hour

// isTempName reports whether name is <something>.csv plus a temporary
// suffix (case-insensitive).
func isTempName(name string) bool {
	lower := strings.ToLower(name)
	for _, s := range tempSuffixes {
		if stem, ok := strings.CutSuffix(lower, s); ok && len(stem) > len(".csv") && strings.HasSuffix(stem, ".csv") {
			return true
		}
	}
	return false
}

// checkUploadOrTempName accepts what STOR may name: a .csv file, or one
// under a temporary name.
func checkUploadOrTempName(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if isTempName(name) {
		return nil
	}
	return checkUploadName(name)
}

// keepTemp renames a complete upload to its temporary name in the home
// (replacing an earlier file of that name: a temporary file was never
// acknowledged as data), durably.
func (h *home) keepTemp(partial, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if fi, err := h.root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a file", name)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := h.root.Rename(partial, name); err != nil {
		return err
	}
	return syncDir(h.root)
}

// sweepTemps deletes the temporary uploads of the top folder last written
// before now-tempMaxAge.
func (h *home) sweepTemps(now time.Time, log *slog.Logger) {
	d, err := h.root.Open(".")
	if err != nil {
		return
	}
	entries, err := d.ReadDir(-1)
	_ = d.Close()
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempName(e.Name()) {
			continue
		}
		h.mu.Lock()
		if fi, err := h.root.Lstat(e.Name()); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > tempMaxAge {
			if err := h.root.Remove(e.Name()); err == nil {
				log.Info("deleted a temporary upload never renamed", "home", h.dir, "file", e.Name(), "written", fi.ModTime())
			}
		}
		h.mu.Unlock()
	}
}

// sweepTemps sweeps every home (see home.sweepTemps).
func (s *Server) sweepTemps(now time.Time) {
	s.mu.Lock()
	homes := make([]*home, 0, len(s.homes))
	for _, h := range s.homes {
		homes = append(homes, h)
	}
	s.mu.Unlock()
	for _, h := range homes {
		h.sweepTemps(now, s.log)
	}
}

// Rename imports a temporary upload under its .csv name (see the top of
// the file); every other rename is refused.
func (f *userFS) Rename(oldname, newname string) error {
	from, to := splitPath(oldname), splitPath(newname)
	if len(from) != 1 || !isTempName(from[0]) {
		return f.deny("rename", oldname)
	}
	switch {
	case len(to) == 0:
		return f.refuse(newname, &coded{code: codeBadName, msg: "file name not allowed: a file name is needed", err: ftpserver.ErrFileNameNotAllowed})
	case len(to) > 1 && (to[0] == archiveDir || to[0] == rejectedDir):
		return f.refuse(newname, &coded{code: codeDenied, msg: "archive/ and rejected/ are read-only: upload into the top folder", err: fs.ErrPermission})
	case len(to) > 1:
		return f.refuse(newname, &coded{code: codeBadName, msg: "file name not allowed: upload into the top folder, without folders", err: ftpserver.ErrFileNameNotAllowed})
	}
	if err := checkUploadName(to[0]); err != nil {
		return f.refuse(newname, &coded{code: codeBadName, msg: err.Error(), err: ftpserver.ErrFileNameNotAllowed})
	}
	fi, err := f.home.root.Lstat(from[0])
	if err != nil || !fi.Mode().IsRegular() {
		return notFound(oldname)
	}
	if !f.s.startUpload() {
		return f.refuse(newname, &coded{code: codeRetry, msg: "the server is shutting down, try again later", err: errShuttingDown})
	}
	defer f.s.uploadWG.Done()
	f.log.Debug("ftp temporary upload renamed", "from", from[0], "to", to[0])
	return f.importAs(from[0], to[0], fi.Size())
}
