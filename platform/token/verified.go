package token

import (
	"sync"
	"time"
)

// MaxVerified bounds how many verified tokens an Authority remembers.
const MaxVerified = 20_000

// verified remembers the tokens whose signature and claims an Authority
// checked, so that the next request with the same token (a client sends
// its access token with every request for its lifetime) costs a map
// lookup instead of a JWS parse and a signature check. A token is
// immutable: the same text verifies the same way for as long as the key
// set is the same, which it is for the Authority's life. The time rules
// (exp, nbf, iat with the leeway) are checked again at every hit. Only
// tokens that verified are remembered, so a client cannot fill it without
// tokens the server signed; when full it is emptied. ~0.5 KiB per entry.
type verified struct {
	mu      sync.RWMutex
	entries map[string]verifiedEntry
}

type verifiedEntry struct {
	claims Claims
	nbf    time.Time // zero: no nbf
}

func (v *verified) get(raw string) (verifiedEntry, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	e, ok := v.entries[raw]
	return e, ok
}

func (v *verified) put(raw string, e verifiedEntry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.entries == nil || len(v.entries) >= MaxVerified {
		v.entries = make(map[string]verifiedEntry, 1024)
	}
	v.entries[raw] = e
}
