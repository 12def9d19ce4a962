package commands

import "context"

// Result is what a successful command returns.
type Result struct {
	// Position is the global log position of the last event the command
	// appended: the value a client passes back for read-your-writes. It is 0
	// when the command changed nothing (a no-op appends no event).
	Position int64
}

// Handler handles one kind of command C. Implementations are safe for
// concurrent use.
type Handler[C any] interface {
	// Handle runs the command. Errors are application errors (package
	// domain) for anything the caller caused, and internal errors otherwise.
	Handle(ctx context.Context, cmd C) (Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc[C any] func(ctx context.Context, cmd C) (Result, error)

// Handle calls f(ctx, cmd).
func (f HandlerFunc[C]) Handle(ctx context.Context, cmd C) (Result, error) { return f(ctx, cmd) }
