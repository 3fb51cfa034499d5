package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// setFTPPassword sets a user's password_hash in the configuration file, or
// adds the user, by editing only that entry's text: the rest of the file
// (comments, indentation, flow or block style, key order) stays byte for
// byte as the technician wrote it, and the file keeps its mode and owner.
// yaml.v3 finds where the entry is; the edit is a splice of the raw text.
func setFTPPassword(path, user, hash, location string) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	out, added, err := editFTPUser(raw, user, hash, location)
	if err != nil {
		return false, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	// The result must still be the configuration it was, plus the change.
	var check yaml.Node
	if err := yaml.Unmarshal(out, &check); err != nil {
		return false, fmt.Errorf("%s: editing the ftp users would break the file (%v): set password_hash by hand", path, err)
	}
	return added, replaceFile(path, out)
}

// editFTPUser returns raw with the user's password changed or the user
// added.
func editFTPUser(raw []byte, user, hash, location string) ([]byte, bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, false, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("not a YAML mapping")
	}
	ftp := child(doc.Content[0], "ftp")
	if ftp == nil {
		return nil, false, fmt.Errorf("no ftp section: add one (see the README) first")
	}
	lines := splitLines(raw)
	quoted := "'" + hash + "'"
	users := child(ftp, "users")
	if users != nil && users.Kind == yaml.SequenceNode {
		for _, u := range users.Content {
			name := child(u, "name")
			if name == nil || name.Value != user {
				continue
			}
			if h := child(u, "password_hash"); h != nil {
				return replaceScalar(lines, h, quoted), false, nil
			}
			if u.Style&yaml.FlowStyle != 0 {
				return insertAfterScalar(lines, name, ", password_hash: "+quoted), false, nil
			}
			key := keyNode(u, "name")
			return insertLines(lines, name.Line, []string{strings.Repeat(" ", key.Column-1) + "password_hash: " + quoted}), false, nil
		}
	}
	entry := "{name: " + user + ", password_hash: " + quoted
	if location != "" {
		entry += `, location: "` + location + `"`
	}
	entry += "}"
	switch {
	case users != nil && users.Kind == yaml.SequenceNode && users.Style&yaml.FlowStyle == 0 && len(users.Content) > 0:
		first := users.Content[0]
		dash := strings.LastIndex(lines[first.Line-1][:first.Column-1], "-")
		if dash < 0 {
			return nil, false, fmt.Errorf("ftp.users: cannot find where the list's items start")
		}
		last := endOfItem(lines, users.Content[len(users.Content)-1].Line, dash)
		return insertLines(lines, last, []string{strings.Repeat(" ", dash) + "- " + entry}), true, nil
	case users != nil && users.Kind == yaml.SequenceNode && users.Style&yaml.FlowStyle != 0 && len(users.Content) > 0:
		return insertAfterFlowItem(lines, users.Content[len(users.Content)-1], ", "+entry)
	case users != nil && users.Kind == yaml.SequenceNode && len(users.Content) == 0:
		l := lines[users.Line-1]
		open := users.Column - 1
		end := strings.IndexByte(l[open:], ']')
		if l[open] != '[' || end < 0 {
			return nil, false, fmt.Errorf("ftp.users: write the list as [] or in block style so that it can be edited")
		}
		lines[users.Line-1] = l[:open+1] + entry + l[open+end:]
		return []byte(strings.Join(lines, "")), true, nil
	case users == nil && ftp.Style&yaml.FlowStyle == 0 && len(ftp.Content) > 0:
		indent := ftp.Content[0].Column - 1
		last := endOfItem(lines, ftp.Content[0].Line, indent-1)
		return insertLines(lines, last, []string{strings.Repeat(" ", indent) + "users:", strings.Repeat(" ", indent+2) + "- " + entry}), true, nil
	default:
		return nil, false, fmt.Errorf("ftp.users: write the list in block style (one '- {name: …}' per line) so that it can be edited")
	}
}

func keyNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

// splitLines keeps each line's ending, so joining them gives raw back.
func splitLines(raw []byte) []string {
	var out []string
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			out = append(out, string(raw))
			break
		}
		out = append(out, string(raw[:i+1]))
		raw = raw[i+1:]
	}
	return out
}

// scalarEnd is where the scalar that starts at col (0-based) of line ends.
func scalarEnd(line string, col int) int {
	switch line[col] {
	case '\'':
		for i := col + 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
	case '"':
		for i := col + 1; i < len(line); i++ {
			if line[i] == '\\' {
				i++
				continue
			}
			if line[i] == '"' {
				return i + 1
			}
		}
	}
	end := len(strings.TrimRight(line, "\r\n"))
	for i := col; i < end; i++ {
		if line[i] == ',' || line[i] == '}' || line[i] == ']' || (line[i] == '#' && i > 0 && line[i-1] == ' ') {
			end = i
			break
		}
	}
	return col + len(strings.TrimRight(line[col:end], " \t"))
}

func replaceScalar(lines []string, n *yaml.Node, text string) []byte {
	l := lines[n.Line-1]
	col := n.Column - 1
	lines[n.Line-1] = l[:col] + text + l[scalarEnd(l, col):]
	return []byte(strings.Join(lines, ""))
}

func insertAfterScalar(lines []string, n *yaml.Node, text string) []byte {
	l := lines[n.Line-1]
	end := scalarEnd(l, n.Column-1)
	lines[n.Line-1] = l[:end] + text + l[end:]
	return []byte(strings.Join(lines, ""))
}

// insertAfterFlowItem adds text after the flow mapping item n of a flow
// list written on one line.
func insertAfterFlowItem(lines []string, n *yaml.Node, text string) ([]byte, bool, error) {
	l := lines[n.Line-1]
	depth := 0
	for i := n.Column - 1; i < len(l); i++ {
		switch l[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				lines[n.Line-1] = l[:i+1] + text + l[i+1:]
				return []byte(strings.Join(lines, "")), true, nil
			}
		}
	}
	return nil, false, fmt.Errorf("ftp.users: write each user on one line so that the list can be edited")
}

// endOfItem is the last line (1-based) of the block that starts at line
// start: the following lines indented deeper than col, blank lines and
// comments between them included only when more of the block follows.
func endOfItem(lines []string, start, col int) int {
	last := start
	for i := start; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r\n")
		trimmed := strings.TrimLeft(l, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if len(l)-len(trimmed) <= col {
			break
		}
		last = i + 1
	}
	return last
}

// insertLines adds new lines after line after (1-based), with the file's
// own line ending.
func insertLines(lines []string, after int, add []string) []byte {
	eol := "\n"
	if len(lines) > 0 && strings.HasSuffix(lines[0], "\r\n") {
		eol = "\r\n"
	}
	if after > 0 && !strings.HasSuffix(lines[after-1], "\n") {
		lines[after-1] += eol
	}
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l)
		if i == after-1 {
			for _, a := range add {
				b.WriteString(a + eol)
			}
		}
	}
	return []byte(b.String())
}

// replaceFile writes data to path through a synced temporary file renamed
// over it, keeping the file's mode (whatever the umask) and, where the
// system has them, its owner and group.
func replaceFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(fi.Mode().Perm())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = keepOwner(tmp, fi)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
