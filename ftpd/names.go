package ftpd

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// maxNameLen is the longest file name accepted, in bytes. It leaves room under
// the 255-byte limit of most filesystems for the suffixes the agent adds
// (".errors.txt", a pending or archive counter).
const maxNameLen = 200

// errNameNotAllowed is the reason shared by every name refusal.
var errNameNotAllowed = errors.New("file name not allowed")

// reservedNames are the Windows device names, which name a device instead of
// a file in every folder, with or without an extension.
var reservedNames = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"COM\u00b9": true, "COM\u00b2": true, "COM\u00b3": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"LPT\u00b9": true, "LPT\u00b2": true, "LPT\u00b3": true,
}

// checkName reports why name cannot be one path element of a file the agent
// stores or serves, or nil. The rules are those of the strictest filesystem
// the agent runs on (NTFS), so that a name accepted on Linux is also valid
// if the data folder is later moved to Windows.
func checkName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", errNameNotAllowed, why) }
	switch {
	case name == "":
		return bad("the name is empty")
	case name == "." || name == "..":
		return bad(`"." and ".." are not file names`)
	case len(name) > maxNameLen:
		return bad(fmt.Sprintf("the name is longer than %d bytes", maxNameLen))
	case !utf8.ValidString(name):
		return bad("the name is not valid UTF-8")
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return bad("names may not contain control characters")
		case r == '/' || r == '\\':
			return bad("names may not contain / or \\ (upload into the top folder)")
		case r == ':':
			return bad("names may not contain ':' (alternate data streams)")
		case strings.ContainsRune(`<>"|?*`, r):
			return bad(`names may not contain < > " | ? or *`)
		}
	}
	switch {
	case strings.HasPrefix(name, "."):
		return bad("names starting with a dot are hidden")
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		return bad("names may not end with a dot or a space")
	}
	stem, _, _ := strings.Cut(name, ".")
	if reservedNames[strings.ToUpper(strings.TrimRight(stem, " "))] {
		return bad(fmt.Sprintf("%q is a reserved device name on Windows", stem))
	}
	return nil
}

// checkUploadName adds the rule for uploads: a CSV file.
func checkUploadName(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if !strings.EqualFold(path.Ext(name), ".csv") {
		return fmt.Errorf("%w: only .csv files are accepted", errNameNotAllowed)
	}
	return nil
}

// sanitize makes text safe to put in one FTP reply line: no control
// characters (a CR or LF would let a file's content forge a reply), valid
// UTF-8, and at most limit bytes.
func sanitize(s string, limit int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > limit {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
