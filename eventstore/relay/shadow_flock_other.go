//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package relay

import (
	"errors"
	"fmt"
	"os"
)

// lockFile creates the lock file at path and reports false when it exists
// already. Without flock(2) the lock cannot tell a live owner from a dead
// one, so it errs on the safe side: the shadow tables of a run that died
// stay until its lock file is removed by hand (docs/adr/0020).
func lockFile(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("create shadow lock file: %w", err)
	}
	return f, true, nil
}
