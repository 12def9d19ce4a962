//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package relay

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile opens (creating it if needed) the lock file at path and takes an
// exclusive flock(2) on it without waiting. It reports false when another
// open file holds the lock, in this process or another. The kernel drops the
// lock when the file is closed or the process ends, however it ends.
func lockFile(path string) (*os.File, bool, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("open shadow lock file: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("lock shadow lock file %s: %w", path, err)
		}
		// The last holder removes the file before it unlocks it: a lock taken
		// on a file no longer at path locks nothing, so open it again.
		held, err1 := f.Stat()
		named, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			return f, true, nil
		}
		_ = f.Close()
		if err1 != nil || (err2 != nil && !errors.Is(err2, os.ErrNotExist)) {
			return nil, false, fmt.Errorf("check shadow lock file %s: %w", path, errors.Join(err1, err2))
		}
	}
}
