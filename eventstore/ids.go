package eventstore

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/google/uuid"
)

// idSource makes UUIDv7 event ids from crypto/rand read through a 4 KiB
// buffer, so that an append does not make a getrandom system call per id
// (that showed in append profiles). Safe for concurrent use.
type idSource struct {
	mu  sync.Mutex
	buf *bufio.Reader
}

func newIDSource() *idSource { return &idSource{buf: bufio.NewReaderSize(rand.Reader, 4096)} }

func (s *idSource) newID() (string, error) {
	s.mu.Lock()
	id, err := uuid.NewV7FromReader(s.buf)
	s.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("new event id: %w", err)
	}
	return id.String(), nil
}
