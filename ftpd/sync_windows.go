package ftpd

import (
	"errors"
	"os"
	"syscall"
)

// syncDir does nothing on Windows: directories cannot be flushed there, and
// NTFS journals the rename itself.
func syncDir(*os.Root) error { return nil }

const (
	errorHandleDiskFull syscall.Errno = 39   // ERROR_HANDLE_DISK_FULL
	errorDiskFull       syscall.Errno = 112  // ERROR_DISK_FULL
	errorDiskQuota      syscall.Errno = 1295 // ERROR_DISK_QUOTA_EXCEEDED
)

// isDiskFull reports whether err means the disk (or the user's quota) is full.
func isDiskFull(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull) || errors.Is(err, errorDiskQuota) || errors.Is(err, syscall.ENOSPC)
}
