package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
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
	in := &inbox{a: a, log: a.log.With("component", "inbox"), folders: folders, cands: map[string]candidate{}, byDir: map[string]Folder{}, ignored: map[string]bool{}}
	for _, f := range folders {
		in.byDir[filepath.Clean(f.Dir)] = f
	}
	var events chan fsnotify.Event
	var errs chan error
	if w := in.watch(); w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	settle := a.cfg.Inbox.Settle.D()
	rescan := time.NewTicker(a.cfg.Inbox.Rescan.D())
	defer rescan.Stop()
	check := time.NewTicker(settle / 2)
	defer check.Stop()
	in.scan()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Chmod) {
				in.consider(filepath.Clean(ev.Name))
			}
		case err := <-errs:
			in.log.Warn("file-system event error; rescanning", "err", err)
			in.scan()
		case <-rescan.C:
			in.scan()
		case <-check.C:
			in.importReady(ctx, settle)
		}
	}
}

// inbox is the state of watchFolders: the folders, and the candidate files
// whose size it watches settle.
type inbox struct {
	a       *Agent
	log     *slog.Logger
	folders []Folder
	byDir   map[string]Folder    // by cleaned path
	cands   map[string]candidate // path -> last size seen and since when
	ignored map[string]bool      // files that are not CSV, logged once each
}

type candidate struct {
	size  int64
	mtime time.Time
	since time.Time
}

// watch starts file-system events on the folders that want them; nil when
// none does or events are unavailable (the periodic scan still finds files).
func (in *inbox) watch() *fsnotify.Watcher {
	if !watching(in.folders) {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		in.log.Warn("file-system events unavailable; relying on the periodic scan", "err", err)
		return nil
	}
	for _, f := range in.folders {
		if f.Watch {
			if err := w.Add(f.Dir); err != nil {
				in.log.Warn("cannot watch folder; relying on the periodic scan", "dir", f.Dir, "err", err)
			}
		}
	}
	return w
}

// consider notes a candidate file, restarting its clock when it changed.
func (in *inbox) consider(path string) {
	if _, ok := in.byDir[filepath.Dir(path)]; !ok {
		return
	}
	if !isCandidate(path) {
		in.noteIgnored(path)
		return
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		delete(in.cands, path)
		return
	}
	if c, ok := in.cands[path]; ok && c.size == fi.Size() && c.mtime.Equal(fi.ModTime()) {
		return
	}
	in.cands[path] = candidate{fi.Size(), fi.ModTime(), in.a.now()}
}

func (in *inbox) scan() {
	for _, f := range in.folders {
		entries, err := os.ReadDir(f.Dir)
		if err != nil {
			in.log.Warn("cannot read folder", "dir", f.Dir, "err", err)
			continue
		}
		for _, e := range entries {
			in.consider(filepath.Join(f.Dir, e.Name()))
		}
	}
}

// importReady re-stats the candidates (a file still growing restarts its
// clock) and imports those that stayed the same for the settle time, in
// name order.
func (in *inbox) importReady(ctx context.Context, settle time.Duration) {
	var ready []string
	for p := range in.cands {
		in.consider(p)
		if c, ok := in.cands[p]; ok && in.a.now().Sub(c.since) >= settle {
			ready = append(ready, p)
		}
	}
	sort.Strings(ready)
	for _, p := range ready {
		if ctx.Err() != nil {
			return
		}
		delete(in.cands, p)
		f := in.byDir[filepath.Dir(p)]
		// A file refused for now (record.ErrFull) stays in place and is tried
		// again at the next scan; every outcome is noted by ImportFile.
		_ = in.a.ImportFile(ctx, FileRequest{Path: p, Root: f.Dir, Location: f.Location, Origin: f.Origin, FromScan: true})
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
// noteIgnored logs, once per file, a visible file that is not a CSV (a
// spreadsheet saved as .xlsx, a PDF): it stays where it is, unread, and the
// person who dropped it should know why. Temporary uploads of a CSV
// (x.csv.tmp, .part, .filepart) are not worth a line.
func (in *inbox) noteIgnored(path string) {
	name := filepath.Base(path)
	if in.ignored[path] || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return
	}
	if ext := strings.ToLower(filepath.Ext(name)); ext == ".tmp" || ext == ".part" || ext == ".filepart" {
		if strings.EqualFold(filepath.Ext(strings.TrimSuffix(name, filepath.Ext(name))), ".csv") {
			return
		}
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	in.ignored[path] = true
	in.log.Warn("not a CSV file: left where it is and not imported (only *.csv files are read)", "file", path)
}

func isCandidate(path string) bool {
	name := filepath.Base(path)
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return false
	}
	return strings.EqualFold(filepath.Ext(name), ".csv")
}
