package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotACSVIsLoggedOnce: a spreadsheet dropped in the inbox is named in
// the log once, however often the folder is scanned; temporary uploads of a
// CSV and hidden files are not.
func TestNotACSVIsLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"week47.xlsx", "week48.csv.tmp", "week48.csv.filepart", ".DS_Store", "~$week47.xlsx"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "archive"), 0o750)
	var logs bytes.Buffer
	in := &inbox{log: slog.New(slog.NewTextHandler(&logs, nil)), folders: []Folder{{Dir: dir}},
		byDir: map[string]Folder{filepath.Clean(dir): {Dir: dir}}, cands: map[string]candidate{}, ignored: map[string]bool{}}
	in.scan()
	in.scan()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `level=WARN msg="not a CSV file: left where it is and not imported (only *.csv files are read)" file=`+filepath.Join(dir, "week47.xlsx")) {
		t.Errorf("got log lines %q, want one for week47.xlsx", lines)
	}
}
