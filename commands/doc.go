// Package commands is the kit every command handler shares: the Handler
// interface and its Result, the decorators that time, count and log every
// command (Decorate), Repository, the one aggregate repository (load an
// aggregate from its stream, append a decision's events at the version
// loaded), and AppendError, which turns event store refusals into
// application errors a client can act on.
//
// A module's command package (commands/tenant, commands/commerce, ...)
// declares one command struct and one unexported handler per use case, and
// its NewXHandler constructors return the handler wrapped by Decorate, so
// that no handler repeats logging or metrics.
package commands
