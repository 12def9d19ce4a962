package session

import (
	"context"

	"github.com/rustok/rustok/commands"
)

// TokenHandler handles a command whose answer is a pair of tokens (SignIn,
// Refresh). Implementations are safe for concurrent use.
type TokenHandler[C any] interface {
	// Handle runs the command. Errors are application errors (package
	// domain) for anything the caller caused, and internal errors otherwise.
	Handle(ctx context.Context, cmd C) (Tokens, error)
}

// tokenHandler runs a decorated commands.Handler of call[C] and returns the
// answer it left in the call's slot.
type tokenHandler[C any] struct {
	next commands.Handler[call[C]]
}

func (t tokenHandler[C]) Handle(ctx context.Context, cmd C) (Tokens, error) {
	out := new(Tokens)
	if _, err := t.next.Handle(ctx, call[C]{cmd: cmd, out: out}); err != nil {
		return Tokens{}, err
	}
	return *out, nil
}
