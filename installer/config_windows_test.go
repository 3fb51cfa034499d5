package installer

import (
	"syscall"
	"testing"
)

// TestWindowsEscapeArgMatchesSyscall checks the mirror against the function
// the Service Control Manager's command line is really built with.
func TestWindowsEscapeArgMatchesSyscall(t *testing.T) {
	for _, in := range []string{`C:\Program Files\x.exe`, `C:\a b\`, `q"uote`, `a\\"b c`, "", "run"} {
		if got, want := windowsEscapeArg(in), syscall.EscapeArg(in); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
