package installer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kardianos/service"
)

// Runner is the agent as the service runs it: Run works until ctx is
// cancelled, then returns once everything it started has stopped.
type Runner interface {
	Run(ctx context.Context) error
}

// StopDeadline is how long a stop from the service manager waits for the
// agent's Run to return. systemd's TimeoutStopSec (30 s) and Windows' default
// wait (20 s) are above it.
const StopDeadline = 10 * time.Second

// ErrStoppedByItself is returned when the agent's Run returned nil without
// being asked to stop: for the service manager that is a failure, so that it
// restarts the agent.
var ErrStoppedByItself = errors.New("the agent stopped without being asked to")

// RunService runs r until the service manager stops it, or until ctx is
// cancelled. In a terminal (service.Interactive) it simply runs r in the
// foreground.
//
// Under the service manager, Start returns at once with r running in a
// goroutine; Stop cancels r's context and waits up to StopDeadline for Run to
// return. When Run ends by itself, the service stops with its error so that
// the manager restarts it (systemd Restart=always, Windows recovery). A
// cancellation is not an error. RunService never calls os.Exit.
func RunService(ctx context.Context, r Runner, logger *slog.Logger) error {
	if service.Interactive() {
		return runForeground(ctx, r)
	}
	return runManaged(ctx, r, logger, service.New, StopDeadline)
}

func runForeground(ctx context.Context, r Runner) error {
	err := r.Run(ctx)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	if err == nil {
		return ErrStoppedByItself
	}
	return err
}

// newServiceFunc is service.New, replaced in tests.
type newServiceFunc func(service.Interface, *service.Config) (service.Service, error)

func runManaged(ctx context.Context, r Runner, logger *slog.Logger, newService newServiceFunc, deadline time.Duration) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	prg := &program{
		run:      func() error { return r.Run(runCtx) },
		asked:    func() bool { return runCtx.Err() != nil },
		cancel:   cancel,
		deadline: deadline,
		logger:   logger,
		done:     make(chan struct{}),
	}
	cfg := &service.Config{
		Name: Name,
		Option: service.KeyValue{
			// systemd and other Unix managers: wait for a stop signal, the
			// end of ctx, or the agent ending by itself.
			"RunWait": func() {
				sig := make(chan os.Signal, 1)
				signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
				defer signal.Stop(sig)
				select {
				case <-sig:
				case <-prg.done:
				case <-ctx.Done():
				}
			},
		},
	}
	s, err := newService(prg, cfg)
	if err != nil {
		return fmt.Errorf("run as a service: %w", err)
	}
	// The Windows manager knows nothing of RunWait: when the agent ends by
	// itself or ctx ends, ask it to stop this service.
	finished := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-prg.done:
		case <-ctx.Done():
		case <-finished:
			return
		}
		if err := stopSelf(s); err != nil {
			logger.Error("ask the service manager to stop the service", "err", err)
		}
	}()
	err = s.Run()
	close(finished)
	if !stopSelfBlocks {
		<-watched
	}
	return err
}

// program is the agent as kardianos' service.Interface.
type program struct {
	run      func() error // r.Run with the service's context
	asked    func() bool  // whether that context was cancelled
	cancel   context.CancelFunc
	deadline time.Duration
	logger   *slog.Logger

	done   chan struct{} // closed when run returned; err and byself are set before
	err    error
	byself bool
}

var _ service.Interface = (*program)(nil)

// Start runs the agent in a goroutine and returns at once.
func (p *program) Start(service.Service) error {
	p.logger.Info("service starting")
	go func() {
		defer close(p.done)
		p.err = p.run()
		p.byself = !p.asked()
	}()
	return nil
}

// Stop cancels the agent and waits for it up to the deadline.
func (p *program) Stop(service.Service) error {
	p.cancel()
	t := time.NewTimer(p.deadline)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		return fmt.Errorf("the agent did not stop within %s", p.deadline)
	}
	switch {
	case p.byself && p.err == nil:
		return ErrStoppedByItself
	case p.byself:
		return fmt.Errorf("the agent stopped: %w", p.err)
	case p.err != nil && !errors.Is(p.err, context.Canceled):
		return fmt.Errorf("the agent stopped: %w", p.err)
	}
	p.logger.Info("service stopped")
	return nil
}
