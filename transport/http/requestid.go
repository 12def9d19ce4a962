package httpserver

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// HeaderRequestID is the request id header, read from requests and set on
// every response.
const HeaderRequestID = "X-Request-ID"

// maxRequestIDLen bounds an accepted incoming request id.
const maxRequestIDLen = 64

type requestIDKey struct{}

// WithRequestID returns a copy of ctx carrying request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "" when there is none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID reports whether an incoming request id may be kept: 1 to 64
// characters of [A-Za-z0-9._-], so that it is safe in logs and headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns a time-ordered UUIDv7 string.
func newRequestID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// crypto/rand does not fail since Go 1.24; keep the request
		// identifiable anyway rather than panicking.
		return "t" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return id.String()
}
