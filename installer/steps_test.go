package installer

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeRegistry is a Service Control Manager in memory: it records the
// calls, keeps what is registered and fails the calls named in fail.
type fakeRegistry struct {
	fail       map[string]error
	calls      []string
	registered []string // what is left registered: "service", "event source"
	got        windowsService
}

func (f *fakeRegistry) call(name string) error {
	f.calls = append(f.calls, name)
	return f.fail[name]
}

func (f *fakeRegistry) CreateService(c windowsService) error {
	if err := f.call("create"); err != nil {
		return err
	}
	f.got = c
	f.registered = append(f.registered, "service")
	return nil
}

func (f *fakeRegistry) SetRecoveryActions(delay, reset time.Duration) error {
	if delay != 5*time.Second || reset != 24*time.Hour {
		return errors.New("unexpected recovery settings")
	}
	return f.call("recovery")
}

func (f *fakeRegistry) SetRecoveryActionsOnNonCrashFailures() error { return f.call("non-crash") }

func (f *fakeRegistry) DeleteService() error {
	if err := f.call("delete"); err != nil {
		return err
	}
	f.registered = f.registered[:0]
	return nil
}

func (f *fakeRegistry) InstallEventSource() error {
	if err := f.call("event source"); err != nil {
		return err
	}
	f.registered = append(f.registered, "event source")
	return nil
}

func TestInstallWindowsServiceUndoes(t *testing.T) {
	invalid := errors.New("Invalid level.")
	denied := errors.New("Access is denied.")
	for _, tc := range []struct {
		name           string
		fail           map[string]error
		wantErr        string
		wantCalls      []string
		wantRegistered []string
	}{
		{
			name:           "all steps work",
			wantCalls:      []string{"create", "recovery", "non-crash", "event source"},
			wantRegistered: []string{"service", "event source"},
		},
		{
			name:      "registering fails",
			fail:      map[string]error{"create": denied},
			wantErr:   "register the service: Access is denied.",
			wantCalls: []string{"create"},
		},
		{
			name:      "recovery fails",
			fail:      map[string]error{"recovery": invalid},
			wantErr:   "set recovery on failure: Invalid level.",
			wantCalls: []string{"create", "recovery", "delete"},
		},
		{
			name:      "recovery on non-crash failures fails",
			fail:      map[string]error{"non-crash": invalid},
			wantErr:   "set recovery on failure: Invalid level.",
			wantCalls: []string{"create", "recovery", "non-crash", "delete"},
		},
		{
			name:      "event source fails",
			fail:      map[string]error{"event source": denied},
			wantErr:   "register the event log source: Access is denied.",
			wantCalls: []string{"create", "recovery", "non-crash", "event source", "delete"},
		},
		{
			name:           "the undo fails too",
			fail:           map[string]error{"recovery": invalid, "delete": denied},
			wantErr:        "set recovery on failure: Invalid level.; the service may be left half-registered (storeagent uninstall removes it): undo register the service: Access is denied.",
			wantCalls:      []string{"create", "recovery", "delete"},
			wantRegistered: []string{"service"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeRegistry{fail: tc.fail}
			err := installWindowsService(r, windowsServiceFor(windowsTestPaths))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("got error %q, want %q", gotErr, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantCalls, r.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if len(r.registered) == 0 {
				r.registered = nil
			}
			if diff := cmp.Diff(tc.wantRegistered, r.registered); diff != "" {
				t.Errorf("left registered (-want +got):\n%s", diff)
			}
		})
	}
}

// windowsTestPaths are the Windows defaults.
var windowsTestPaths = Paths{
	Executable: `C:\Program Files\TMAS Store Agent\storeagent.exe`,
	ConfigFile: `C:\ProgramData\StoreAgent\config.yaml`,
	DataDir:    `C:\ProgramData\StoreAgent\data`,
	LogDir:     `C:\ProgramData\StoreAgent\logs`,
}

func TestWindowsServiceFor(t *testing.T) {
	got := windowsServiceFor(windowsTestPaths)
	want := windowsService{
		Name:             "storeagent",
		DisplayName:      "TMAS Store Agent",
		Description:      Description,
		Executable:       windowsTestPaths.Executable,
		Arguments:        []string{"run", "--config", windowsTestPaths.ConfigFile},
		Account:          `NT SERVICE\storeagent`,
		DelayedAutoStart: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service definition (-want +got):\n%s", diff)
	}
}
