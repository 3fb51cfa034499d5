//go:build !windows

package installer

// newManager is kardianos' service for p; on Linux it is systemd's when
// systemd runs the machine (Control refuses any other).
func newManager(p Paths) (Manager, error) {
	return openService(p)
}
