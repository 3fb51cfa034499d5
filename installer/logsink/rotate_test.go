package logsink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// files returns the content of every file in dir by name.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestRotatingFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing string // content of the log before opening
		maxSize  int64
		keep     int
		writes   []string
		want     map[string]string
	}{
		{
			name:    "keeps two rotated files",
			maxSize: 10, keep: 2,
			writes: []string{"aaaa\n", "bbbb\n", "cccc\n", "dddd\n", "eeee\n", "ffff\n", "gggg\n"},
			want:   map[string]string{"a.log": "gggg\n", "a.log.1": "eeee\nffff\n", "a.log.2": "cccc\ndddd\n"},
		},
		{
			name:     "appends to an existing file and rotates it when full",
			existing: "old line\n", maxSize: 13, keep: 3,
			writes: []string{"new\n", "next\n"},
			want:   map[string]string{"a.log": "next\n", "a.log.1": "old line\nnew\n"},
		},
		{
			name:    "a write larger than the limit goes whole into a fresh file",
			maxSize: 4, keep: 1,
			writes: []string{"ab\n", "0123456789\n", "cd\n"},
			want:   map[string]string{"a.log": "cd\n", "a.log.1": "0123456789\n"},
		},
		{
			name:    "keep none",
			maxSize: 6, keep: 0,
			writes: []string{"111\n", "222\n", "333\n"},
			want:   map[string]string{"a.log": "333\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			if tc.existing != "" {
				if err := os.WriteFile(path, []byte(tc.existing), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			f, err := OpenRotating(path, tc.maxSize, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.writes {
				n, err := f.Write([]byte(w))
				if err != nil || n != len(w) {
					t.Fatalf("got %d, %v writing %q, want %d, nil", n, err, w, len(w))
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, files(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRotatingFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		maxSize int64
		keep    int
		want    string
	}{
		{"zero size", 0, 1, "log file " + filepath.Join(dir, "x.log") + ": max size 0 is not positive"},
		{"negative keep", 10, -1, "log file " + filepath.Join(dir, "x.log") + ": keep -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenRotating(filepath.Join(dir, "x.log"), tc.maxSize, tc.keep)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
	f, err := OpenRotating(filepath.Join(dir, "sub", "y.log"), 10, 1)
	if err != nil {
		t.Fatalf("got %v, want the missing folder created", err)
	}
	f.Close()
	if _, err := f.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("got %v writing after Close, want os.ErrClosed", err)
	}
}

// TestRotatingFileConcurrent writes from several goroutines (run with
// -race): no line is lost or torn across files.
func TestRotatingFileConcurrent(t *testing.T) {
	dir := t.TempDir()
	const writers, lines = 4, 200
	f, err := OpenRotating(filepath.Join(dir, "c.log"), 1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				if _, err := fmt.Fprintf(f, "writer %d line %03d\n", w, i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	f.Close()
	seen := map[string]bool{}
	for name, content := range files(t, dir) {
		if int64(len(content)) > 1000 {
			t.Errorf("%s: got %d bytes, want at most 1000", name, len(content))
		}
		for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
			seen[l] = true
		}
	}
	if len(seen) != writers*lines {
		t.Errorf("got %d distinct lines, want %d", len(seen), writers*lines)
	}
}

func BenchmarkRotatingFile(b *testing.B) {
	f, err := OpenRotating(filepath.Join(b.TempDir(), "b.log"), 1<<20, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := []byte(`{"time":"2026-11-20T09:00:00Z","level":"INFO","msg":"batch delivered","records":500}` + "\n")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := f.Write(line); err != nil {
			b.Fatal(err)
		}
	}
}
