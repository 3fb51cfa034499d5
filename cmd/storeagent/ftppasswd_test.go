package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEditFTPUserTouchesOnlyTheEntry: the edit changes the user's line (or
// adds one) and leaves every other byte of the file as it was.
func TestEditFTPUserTouchesOnlyTheEntry(t *testing.T) {
	const h = "$2a$10$abcdefghijklmnopqrstuv"
	for _, tc := range []struct {
		name, in, user, location, want string
		added                          bool
	}{
		{name: "change a flow entry", user: "timeclock",
			in:   "# store 42\nftp:\n  listen: \":2121\"   # the port\n  users:\n    - {name: timeclock, password_hash: 'old', location: \"0421\"} # the timeclock\n    - {name: payroll,   password_hash: \"x\"}\n",
			want: "# store 42\nftp:\n  listen: \":2121\"   # the port\n  users:\n    - {name: timeclock, password_hash: '" + h + "', location: \"0421\"} # the timeclock\n    - {name: payroll,   password_hash: \"x\"}\n"},
		{name: "change a plain block entry", user: "payroll",
			in:   "ftp:\n  users:\n    - name: payroll\n      password_hash: $2a$10$old # set by IT\n      location: \"0422\"\n",
			want: "ftp:\n  users:\n    - name: payroll\n      password_hash: '" + h + "' # set by IT\n      location: \"0422\"\n"},
		{name: "add a hash to a block entry that has none", user: "payroll",
			in:   "ftp:\n  users:\n    - name: payroll\n      location: \"0422\"\n",
			want: "ftp:\n  users:\n    - name: payroll\n      password_hash: '" + h + "'\n      location: \"0422\"\n"},
		{name: "add a user after the last block entry, before the next section", user: "new", location: "0421", added: true,
			in:   "ftp:\n  users:\n    - name: a\n      password_hash: 'x'\n\n    # more users here\ninbox: {watch: true}\n",
			want: "ftp:\n  users:\n    - name: a\n      password_hash: 'x'\n    - {name: new, password_hash: '" + h + "', location: \"0421\"}\n\n    # more users here\ninbox: {watch: true}\n"},
		{name: "add the users list", user: "new", added: true,
			in:   "ftp:\r\n  listen: \":2121\"\r\n  tls: {mode: explicit}\r\nstatus: {listen: \"127.0.0.1:9181\"}\r\n",
			want: "ftp:\r\n  listen: \":2121\"\r\n  tls: {mode: explicit}\r\n  users:\r\n    - {name: new, password_hash: '" + h + "'}\r\nstatus: {listen: \"127.0.0.1:9181\"}\r\n"},
		{name: "add to an empty list", user: "new", added: true,
			in:   "ftp:\n  users: []   # none yet\n",
			want: "ftp:\n  users: [{name: new, password_hash: '" + h + "'}]   # none yet\n"},
		{name: "add to a one-line flow list", user: "b", added: true,
			in:   "ftp: \n  users: [{name: a, password_hash: 'x'}]  # two\n",
			want: "ftp: \n  users: [{name: a, password_hash: 'x'}, {name: b, password_hash: '" + h + "'}]  # two\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, added, err := editFTPUser([]byte(tc.in), tc.user, h, tc.location)
			if err != nil {
				t.Fatal(err)
			}
			if added != tc.added {
				t.Errorf("added = %v, want %v", added, tc.added)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("file (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := editFTPUser([]byte("ftp: {listen: \":2121\"}\n"), "a", h, ""); err == nil || err.Error() != "ftp.users: write the list in block style (one '- {name: …}' per line) so that it can be edited" {
		t.Errorf("got %v for an ftp section in flow style", err)
	}
}

func TestFTPPasswdKeepsTheFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, "agent: {id: s42, data_dir: data}\nupstream: {url: \"http://127.0.0.1:1\", token: t}\nlocations: {\"0421\": {timezone: America/Toronto}}\nftp:\n  users:\n    - {name: a, password_hash: 'x'}\n")
	if err := os.Chmod(path, 0o660); err != nil {
		t.Fatal(err)
	}
	if _, err := setFTPPassword(path, "a", "$2a$10$abc", ""); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o660 {
		t.Errorf("mode after ftp passwd = %v, want -rw-rw----", got)
	}
	if got := readFile(t, path); !strings.Contains(got, "{name: a, password_hash: '$2a$10$abc'}") {
		t.Errorf("got file:\n%s", got)
	}
}
