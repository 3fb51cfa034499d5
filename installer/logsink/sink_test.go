package logsink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/record"
)

func noEnv(string) string { return "" }

func journalEnv(k string) string {
	if k == "JOURNAL_STREAM" {
		return "8:12345"
	}
	return ""
}

func TestFileJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "storeagent.log")
	s, err := newSink(Options{File: path, NoConsole: true}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	log := s.Logger().With("source", "shopify")
	log.Debug("not written")
	log.Info("token renewed", "token", record.NewSecret("shpat_123"), "password", "hunter2", "token_file", "/etc/storeagent/shopify.token")
	log.WithGroup("batch").Warn("delivery retried", "records", 500, "Authorization", "Bearer abc")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("shpat_123")) || bytes.Contains(b, []byte("hunter2")) || bytes.Contains(b, []byte("abc")) {
		t.Errorf("got a secret in the log:\n%s", b)
	}
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if _, ok := m["time"]; !ok {
			t.Errorf("line %q has no time", line)
		}
		delete(m, "time")
		got = append(got, m)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "token renewed", "source": "shopify", "token": "[redacted]", "password": "[redacted]", "token_file": "/etc/storeagent/shopify.token"},
		{"level": "WARN", "msg": "delivery retried", "source": "shopify", "batch": map[string]any{"records": float64(500), "Authorization": "[redacted]"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

func TestFileTextAndLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "storeagent.log")
	s, err := newSink(Options{File: path, Format: "text", Level: slog.LevelDebug, NoConsole: true}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	s.Logger().Debug("polling", "source", "vend")
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), " ") // after time=…
	if want := "level=DEBUG msg=polling source=vend\n"; rest != want {
		t.Errorf("got %q, want %q", rest, want)
	}
	if _, err := newSink(Options{File: path, Format: "xml"}, noEnv); err == nil || err.Error() != `log format "xml" is not json or text` {
		t.Errorf("got %v for format xml", err)
	}
}

func TestConsole(t *testing.T) {
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		want   string // without the time= field for the terminal
	}{
		{
			name:   "journal",
			getenv: journalEnv,
			want: "<6>file accepted source=csv file=\"week 47.csv\" rows=12\n" +
				"<4>file refused source=csv upload.user=timeclock upload.password=[redacted]\n" +
				"<3>buffer full source=csv\n",
		},
		{
			name:   "terminal",
			getenv: noEnv,
			want: "level=INFO msg=\"file accepted\" source=csv file=\"week 47.csv\" rows=12\n" +
				"level=WARN msg=\"file refused\" source=csv upload.user=timeclock upload.password=[redacted]\n" +
				"level=ERROR msg=\"buffer full\" source=csv\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tc.name == "journal" {
				t.Skip("no journal on Windows")
			}
			var out bytes.Buffer
			s, err := newSink(Options{Console: &out}, tc.getenv)
			if err != nil {
				t.Fatal(err)
			}
			log := s.Logger().With("source", "csv")
			log.Debug("not shown")
			log.Info("file accepted", "file", "week 47.csv", "rows", 12)
			log.WithGroup("upload").Warn("file refused", "user", "timeclock", "password", "x")
			log.Error("buffer full")
			got := out.String()
			if tc.name == "terminal" {
				var lines []string
				for _, l := range strings.SplitAfter(got, "\n") {
					if _, rest, ok := strings.Cut(l, " "); ok && strings.HasPrefix(l, "time=") {
						l = rest
					}
					lines = append(lines, l)
				}
				got = strings.Join(lines, "")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("console (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeEventLog records what would go to the Windows Event Log.
type fakeEventLog struct{ entries []string }

func (f *fakeEventLog) Error(v ...any) error   { return f.add("error", v) }
func (f *fakeEventLog) Warning(v ...any) error { return f.add("warning", v) }
func (f *fakeEventLog) Info(v ...any) error    { return f.add("info", v) }
func (f *fakeEventLog) add(sev string, v []any) error {
	f.entries = append(f.entries, sev+": "+fmt.Sprint(v...))
	return nil
}

var _ SystemLogger = (*fakeEventLog)(nil)

func TestEventLogHandler(t *testing.T) {
	ev := &fakeEventLog{}
	log := slog.New(newLineHandler(slog.LevelInfo, emitEventLog(ev))).With("source", "ftp")
	log.Debug("not sent")
	log.Info("listening", "addr", ":2121")
	log.Warn("login failed", "user", "timeclock", "password", "guess")
	log.Error("cannot bind", "err", "address in use")
	want := []string{
		"info: listening source=ftp addr=:2121",
		"warning: login failed source=ftp user=timeclock password=[redacted]",
		"error: cannot bind source=ftp err=\"address in use\"",
	}
	if diff := cmp.Diff(want, ev.entries); diff != "" {
		t.Errorf("event log (-want +got):\n%s", diff)
	}
}

// TestSystemLogger: on Windows the Event Log replaces the console and gets
// warnings and errors only; elsewhere it is ignored.
func TestSystemLogger(t *testing.T) {
	ev := &fakeEventLog{}
	var out bytes.Buffer
	s, err := newSink(Options{Console: &out, System: ev}, journalEnv)
	if err != nil {
		t.Fatal(err)
	}
	s.Logger().Info("started")
	s.Logger().Warn("disk low")
	if runtime.GOOS == "windows" {
		if diff := cmp.Diff([]string{"warning: disk low"}, ev.entries); diff != "" {
			t.Errorf("event log (-want +got):\n%s", diff)
		}
		if out.Len() != 0 {
			t.Errorf("got console output %q, want none", out.String())
		}
		return
	}
	if len(ev.entries) != 0 {
		t.Errorf("got event log entries %q off Windows", ev.entries)
	}
	if want := "<6>started\n<4>disk low\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestMultiHandlerLevels: each sink keeps its own level behind slog's
// multi handler (the journal at info, a file at warn, say).
func TestMultiHandlerLevels(t *testing.T) {
	var a, b bytes.Buffer
	h := slog.NewMultiHandler(
		slog.NewTextHandler(&a, &slog.HandlerOptions{Level: slog.LevelWarn}),
		slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo}),
	)
	for _, tc := range []struct {
		level slog.Level
		want  bool
	}{{slog.LevelDebug, false}, {slog.LevelInfo, true}, {slog.LevelError, true}} {
		if got := h.Enabled(t.Context(), tc.level); got != tc.want {
			t.Errorf("%v: got enabled %v, want %v", tc.level, got, tc.want)
		}
	}
	slog.New(h).Info("only b")
	if a.Len() != 0 || !strings.Contains(b.String(), "msg=\"only b\"") {
		t.Errorf("got a=%q b=%q, want the info line in b only", a.String(), b.String())
	}
}
