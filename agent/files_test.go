package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

// TestImportFileMovesTheFile checks that every outcome moves the file out
// of its folder, with its content unchanged. On Windows a file cannot be
// renamed while it is open: the import must close it before moving it
// (under Wine, .ci/wine/run.sh, this test failed with "Sharing violation"
// while importFile kept the file open).
func TestImportFileMovesTheFile(t *testing.T) {
	const good = "location_id;employee_id;nom;date;entree;sortie;pause\r\n0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\r\n"
	const bad = "location_id,employee_id,date,clock_in,clock_out\n9999,E1,2026-11-20,09:00,17:00\n"
	h := start(t, "", Options{})
	home := filepath.Join(h.dir, "ftp", "alice")
	if err := os.MkdirAll(home, 0o750); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, content string
		wantOutcome         Outcome
		wantRefused         *record.RefusedError // nil: no error
		wantDir, wantName   string               // where the file must end up
	}{
		{name: "accepted", file: "week47.csv", content: good, wantOutcome: "accepted", wantDir: "archive", wantName: "week47.csv"},
		{name: "duplicate", file: "week47.csv", content: good, wantOutcome: "duplicate", wantDir: "archive", wantName: "week47.1.csv"},
		{name: "refused", file: "bad.csv", content: bad, wantOutcome: "refused", wantRefused: &record.RefusedError{Name: "bad.csv", Lines: 1}, wantDir: "rejected", wantName: "bad.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(home, tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o640); err != nil {
				t.Fatal(err)
			}
			err := h.agent.ImportFile(context.Background(), FileRequest{Path: path, Root: home, Location: "0421", Origin: "ftp:alice"})
			var refused *record.RefusedError
			switch {
			case tt.wantRefused == nil && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.wantRefused != nil && !errors.As(err, &refused):
				t.Fatalf("got error %v, want a refusal", err)
			case tt.wantRefused != nil:
				got := record.RefusedError{Name: refused.Name, Lines: refused.Lines}
				if diff := cmp.Diff(*tt.wantRefused, got); diff != "" {
					t.Errorf("refusal (-want +got):\n%s", diff)
				}
			}
			if got := h.agent.Status().Files[0].Outcome; got != tt.wantOutcome {
				t.Errorf("got outcome %q, want %q", got, tt.wantOutcome)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the file is still in its folder (Lstat: %v)", err)
			}
			b, err := os.ReadFile(filepath.Join(home, tt.wantDir, tt.wantName))
			if err != nil {
				t.Fatalf("the file is not in %s/: %v", tt.wantDir, err)
			}
			if string(b) != tt.content {
				t.Errorf("got moved content %q, want %q", b, tt.content)
			}
		})
	}
}
