package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/tmas/storeagent/importers/record"
)

// Folder is a folder whose complete *.csv files are imported: the watched
// inbox, and each FTP user's home (so an upload that was renamed in place but
// not yet committed when the agent stopped is imported at the next start).
type Folder struct {
	Dir      string
	Location string // bound location, "" if none
	Origin   string
	Watch    bool // use file-system events besides the periodic scan
}

// watchFolders imports complete files from the folders until ctx is done: on
// events (a file created, written or renamed in) once its size has stayed
// the same for the settle time, and on a full scan every rescan interval, so
// a missed event or a restart never loses a file.
func (a *Agent) watchFolders(ctx context.Context, folders []Folder) error {
	for _, f := range folders {
		if err := os.MkdirAll(f.Dir, 0o750); err != nil {
			return err
		}
	}
	var events chan fsnotify.Event
	var w *fsnotify.Watcher
	if watching(folders) {
		var err error
		w, err = fsnotify.NewWatcher()
		if err != nil {
			a.log.Warn("inbox: file-system events unavailable; relying on the periodic scan", "err", err)
		} else {
			defer w.Close()
			for _, f := range folders {
				if f.Watch {
					if err := w.Add(f.Dir); err != nil {
						a.log.Warn("inbox: cannot watch folder; relying on the periodic scan", "dir", f.Dir, "err", err)
					}
				}
			}
			events = w.Events
		}
	}
	settle := a.cfg.Inbox.Settle.D()
	rescan := time.NewTicker(a.cfg.Inbox.Rescan.D())
	defer rescan.Stop()
	check := time.NewTicker(settle / 2)
	defer check.Stop()
	// candidates: path -> last size seen and since when
	type seen struct {
		size  int64
		mtime time.Time
		since time.Time
	}
	cands := map[string]seen{}
	byDir := map[string]Folder{}
	for _, f := range folders {
		byDir[filepath.Clean(f.Dir)] = f
	}
	consider := func(path string) {
		if !isCandidate(path) {
			return
		}
		if _, ok := byDir[filepath.Dir(path)]; !ok {
			return
		}
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			delete(cands, path)
			return
		}
		if c, ok := cands[path]; ok && c.size == fi.Size() && c.mtime.Equal(fi.ModTime()) {
			return
		}
		cands[path] = seen{fi.Size(), fi.ModTime(), a.now()}
	}
	scan := func() {
		for _, f := range folders {
			entries, err := os.ReadDir(f.Dir)
			if err != nil {
				a.log.Warn("inbox: cannot read folder", "dir", f.Dir, "err", err)
				continue
			}
			for _, e := range entries {
				consider(filepath.Join(f.Dir, e.Name()))
			}
		}
	}
	scan()
	var errs chan error
	if w != nil {
		errs = w.Errors
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Chmod) {
				consider(filepath.Clean(ev.Name))
			}
		case err := <-errs:
			a.log.Warn("inbox: file-system event error; rescanning", "err", err)
			scan()
		case <-rescan.C:
			scan()
		case <-check.C:
			// Re-stat candidates: a file still growing restarts its clock.
			var ready []string
			for p := range cands {
				consider(p)
				if c, ok := cands[p]; ok && a.now().Sub(c.since) >= settle {
					ready = append(ready, p)
				}
			}
			sort.Strings(ready)
			for _, p := range ready {
				if ctx.Err() != nil {
					return nil
				}
				delete(cands, p)
				f := byDir[filepath.Dir(p)]
				err := a.ImportFile(ctx, FileRequest{Path: p, Root: f.Dir, Location: f.Location, Origin: f.Origin, FromScan: true})
				if errors.Is(err, record.ErrFull) {
					// Stays in place; tried again at the next scan.
					continue
				}
			}
		}
	}
}

func watching(folders []Folder) bool {
	for _, f := range folders {
		if f.Watch {
			return true
		}
	}
	return false
}

// isCandidate: a visible *.csv file (temporary and hidden files are skipped:
// uploaders that write then rename are picked up at the rename).
func isCandidate(path string) bool {
	name := filepath.Base(path)
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return false
	}
	return strings.EqualFold(filepath.Ext(name), ".csv")
}
