package installer

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kardianos/service"
)

// runnerFunc adapts a function to Runner.
type runnerFunc func(ctx context.Context) error

func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

var discard = slog.New(slog.DiscardHandler)

// fakeSystemd runs a program the way kardianos' systemd service does:
// Start, the RunWait option (or a signal), then Stop.
type fakeSystemd struct {
	service.Service // unused methods panic
	i               service.Interface
	cfg             *service.Config
}

func (f *fakeSystemd) Run() error {
	if err := f.i.Start(f); err != nil {
		return err
	}
	f.cfg.Option["RunWait"].(func())()
	return f.i.Stop(f)
}

func newFakeSystemd(i service.Interface, c *service.Config) (service.Service, error) {
	return &fakeSystemd{i: i, cfg: c}, nil
}

func TestRunManaged(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fakeSystemd models the systemd service; on Windows runManaged stops through the SCM service's Stop, which only a real service has")
	}
	failure := errors.New("open buffer: database locked")
	for _, tc := range []struct {
		name    string
		runner  func(ctx context.Context) error
		cancel  bool // cancel the parent context (as a stop request)
		wantErr string
	}{
		{
			name:   "stopped by the manager",
			runner: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			cancel: true,
		},
		{
			name:   "stopped cleanly returning nil",
			runner: func(ctx context.Context) error { <-ctx.Done(); return nil },
			cancel: true,
		},
		{
			name:    "failed by itself",
			runner:  func(context.Context) error { return failure },
			wantErr: "the agent stopped: open buffer: database locked",
		},
		{
			name:    "ended by itself without error",
			runner:  func(context.Context) error { return nil },
			wantErr: "the agent stopped without being asked to",
		},
		{
			name:    "failed while stopping",
			runner:  func(ctx context.Context) error { <-ctx.Done(); return errors.New("flush: disk full") },
			cancel:  true,
			wantErr: "the agent stopped: flush: disk full",
		},
	} {
		// Not in a synctest bubble: RunWait listens for signals.
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			started := make(chan struct{})
			r := runnerFunc(func(ctx context.Context) error {
				close(started)
				return tc.runner(ctx)
			})
			errc := make(chan error, 1)
			go func() { errc <- runManaged(ctx, r, discard, newFakeSystemd, time.Minute) }()
			<-started
			if tc.cancel {
				cancel()
			}
			err := <-errc
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("got error %q, want %q", got, tc.wantErr)
			}
		})
	}
}

func newTestProgram(r Runner, deadline time.Duration) (*program, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	return &program{
		run:      func() error { return r.Run(ctx) },
		asked:    func() bool { return ctx.Err() != nil },
		cancel:   cancel,
		deadline: deadline,
		logger:   discard,
		done:     make(chan struct{}),
	}, cancel
}

// TestProgramStopWaitsForRun: Start returns while the agent runs; Stop
// returns only once Run has returned.
func TestProgramStopWaitsForRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stopping := make(chan struct{})
		release := make(chan struct{})
		returned := false
		prg, cancel := newTestProgram(runnerFunc(func(ctx context.Context) error {
			<-ctx.Done()
			close(stopping)
			<-release // the agent flushing its buffer
			returned = true
			return ctx.Err()
		}), time.Minute)
		defer cancel()
		if err := prg.Start(nil); err != nil {
			t.Fatalf("got %v from Start, want nil", err)
		}
		stopErr := make(chan error, 1)
		go func() { stopErr <- prg.Stop(nil) }()
		<-stopping
		synctest.Wait()
		select {
		case err := <-stopErr:
			t.Fatalf("got Stop returning %v while Run was still working", err)
		default:
		}
		close(release)
		if err := <-stopErr; err != nil {
			t.Errorf("got %v from Stop, want nil", err)
		}
		if !returned {
			t.Errorf("got Stop returning before Run")
		}
	})
}

// TestProgramStopDeadline: an agent that ignores cancellation does not hold
// the service manager past the deadline.
func TestProgramStopDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		prg, cancel := newTestProgram(runnerFunc(func(context.Context) error {
			<-release
			return nil
		}), 10*time.Second)
		defer cancel()
		if err := prg.Start(nil); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := prg.Stop(nil)
		if err == nil || err.Error() != "the agent did not stop within 10s" {
			t.Errorf("got %v, want the deadline error", err)
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("got Stop returning after %s, want 10s", waited)
		}
		close(release)
		<-prg.done
	})
}

func TestRunForeground(t *testing.T) {
	failure := errors.New("bad config")
	for _, tc := range []struct {
		name    string
		runner  func(ctx context.Context) error
		cancel  bool
		wantErr error
	}{
		{"cancelled", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, true, nil},
		{"failed", func(context.Context) error { return failure }, false, failure},
		{"ended by itself", func(context.Context) error { return nil }, false, ErrStoppedByItself},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			if tc.cancel {
				cancel()
			}
			defer cancel()
			if err := runForeground(ctx, runnerFunc(tc.runner)); !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}
