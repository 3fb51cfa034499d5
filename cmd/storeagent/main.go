// Command storeagent is the TMAS store agent: one binary that runs as a
// service in a retail store, receives staff-hours files over FTP or in a
// watched folder, polls the store's point of sale, keeps every record on disk
// and forwards it to TMAS headquarters. `storeagent --help` lists commands;
// `storeagent demo` shows it working on this machine with nothing installed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError marks bad usage or a bad configuration: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "storeagent:", err)
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
