//go:build !windows

package installer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// restrict gives a folder 0750 and a file 0640. What the service writes
// (the data and log folders) is owned by its user; what it only reads (the
// configuration and its folder) by root with the service's group. Without
// root (a.uid < 0) ownership is left alone.
func restrict(_ context.Context, path string, dir bool, a account, writes bool) error {
	mode := configMode
	if dir {
		mode = dirMode
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	return chownFor(path, a, writes)
}

func chownFor(path string, a account, writes bool) error {
	if a.uid < 0 {
		return nil
	}
	uid := 0
	if writes {
		uid = a.uid
	}
	if err := os.Lchown(path, uid, a.gid); err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	return nil
}

// handOver gives the service's user an existing folder it writes and
// everything in it (an agent that ran as root before left its buffer
// root's), without changing modes.
func handOver(_ context.Context, dir string, a account) error {
	if a.uid < 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("give %s to %s: %w", dir, a.name, err)
		}
		if err := os.Lchown(path, a.uid, a.gid); err != nil {
			return fmt.Errorf("give %s to %s: %w", dir, a.name, err)
		}
		return nil
	})
}

// tightenFile takes write from the group and everything from others on an
// existing configuration file, gives it to root and the service's group
// with read for that group (the service must read it), and says what
// changed ("" when nothing did). It widens nothing else.
func tightenFile(_ context.Context, path string, a account) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("restrict %s: %w", path, err)
	}
	if err := chownFor(path, a, false); err != nil {
		return "", err
	}
	old := fi.Mode().Perm()
	mode := old &^ 0o037
	if a.uid >= 0 {
		mode |= 0o040
	}
	if mode == old {
		return "", nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return "", fmt.Errorf("restrict %s: %w", path, err)
	}
	return fmt.Sprintf("mode %04o, was %04o", mode, old), nil
}

// shareConfigFiles makes every file directly in the configuration folder
// (the configuration, token and secret files) root's and readable by the
// service's group only (g+r, g-wx, o-rwx): the service must read the token
// files the configuration names, and an agent that ran as root may have
// left them 0600 root:root.
func shareConfigFiles(dir, configFile string, a account) error {
	if a.uid < 0 {
		return nil
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("restrict the files in %s: %w", dir, err)
	}
	for _, e := range es {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if path == configFile {
			continue // tightenFile's, which says what it changed
		}
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("restrict %s: %w", path, err)
		}
		if err := chownFor(path, a, false); err != nil {
			return err
		}
		if err := os.Chmod(path, (fi.Mode().Perm()|0o040)&^0o037); err != nil {
			return fmt.Errorf("restrict %s: %w", path, err)
		}
	}
	return nil
}
