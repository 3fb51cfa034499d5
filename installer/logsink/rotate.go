package logsink

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// RotatingFile is an append-only log file that is renamed to path.1 when a
// write would take it past maxSize bytes; path.1 becomes path.2 and so on,
// and only keep rotated files are kept. A single write larger than maxSize
// goes whole into a fresh file. Safe for concurrent use.
type RotatingFile struct {
	mu      sync.Mutex
	path    string
	maxSize int64
	keep    int
	f       *os.File
	size    int64
}

var _ io.WriteCloser = (*RotatingFile)(nil)

// OpenRotating opens (appending) or creates path, mode 0640 in a folder of
// mode 0750 created if missing.
func OpenRotating(path string, maxSize int64, keep int) (*RotatingFile, error) {
	if maxSize <= 0 {
		return nil, fmt.Errorf("log file %s: max size %d is not positive", path, maxSize)
	}
	if keep < 0 {
		return nil, fmt.Errorf("log file %s: keep %d is negative", path, keep)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	r := &RotatingFile{path: path, maxSize: maxSize, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first when p would not fit.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, fmt.Errorf("log file %s: %w", r.path, os.ErrClosed)
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil && r.f == nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate shifts path.(keep-1) → path.keep … path → path.1 and opens a new
// path. If a rename fails (on Windows, another program holding the file),
// it goes on appending to the current file.
func (r *RotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		r.f = nil
		if oerr := r.open(); oerr != nil {
			return errors.Join(err, oerr)
		}
		return err
	}
	r.f = nil
	var rerr error
	if r.keep == 0 {
		rerr = os.Remove(r.path)
	} else {
		for i := r.keep - 1; i >= 1; i-- {
			if err := os.Rename(r.rotated(i), r.rotated(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				rerr = err
			}
		}
		if err := os.Rename(r.path, r.rotated(1)); err != nil {
			rerr = err
		}
	}
	if err := r.open(); err != nil {
		return errors.Join(rerr, err)
	}
	return rerr
}

func (r *RotatingFile) rotated(i int) string { return r.path + "." + strconv.Itoa(i) }

// Close closes the current file; later writes fail.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
