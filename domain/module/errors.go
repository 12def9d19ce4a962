package module

import (
	"errors"
	"strconv"

	"github.com/rustok/rustok/domain"
)

// Errors of the toggle rules. They are application errors (see package
// domain); match them with errors.Is. The errors actually returned carry a
// more precise message naming the modules involved and wrap these values.
var (
	// ErrUnknownModule (BAD_USER_INPUT) is wrapped by every *UnknownModuleError.
	ErrUnknownModule = domain.BadInput("unknown module")
	// ErrCoreModule (BAD_USER_INPUT): core modules are always enabled.
	ErrCoreModule = domain.BadInput("core modules cannot be disabled")
	// ErrMissingDependency (CONFLICT): a module needs a module that is not
	// enabled. The returned message reads "module blog needs content enabled".
	ErrMissingDependency = domain.Conflict("a module dependency is not enabled")
	// ErrDependentEnabled (CONFLICT): an enabled module still needs the module
	// being disabled. The returned message reads "module content is needed by blog".
	ErrDependentEnabled = domain.Conflict("an enabled module needs this module")
)

// Errors of NewRegistry. They are internal (a wrong descriptor list is a
// programming error, not a client's), and NewRegistry wraps them with the
// module at fault.
var (
	// ErrInvalidDescriptor: an empty slug or a kind other than KindCore and
	// KindOptional.
	ErrInvalidDescriptor = errors.New("invalid module descriptor")
	// ErrDuplicateModule: two descriptors with the same slug.
	ErrDuplicateModule = errors.New("duplicate module slug")
	// ErrUnknownDependency: a dependency that no descriptor has as its slug.
	ErrUnknownDependency = errors.New("unknown module dependency")
	// ErrDependencyCycle: modules that depend on each other, directly or not.
	ErrDependencyCycle = errors.New("module dependency cycle")
	// ErrCoreDependsOnOptional: a core module, always on, needs an optional
	// one, which may be off.
	ErrCoreDependsOnOptional = errors.New("core module depends on an optional module")
)

// maxSlugInMessage bounds how much of an unknown slug, which comes from the
// client, is echoed back in a message.
const maxSlugInMessage = 64

// UnknownModuleError reports a slug that is not in the registry. It keeps the
// slug for callers (errors.As) and unwraps to a BAD_USER_INPUT application
// error whose message names the slug ("unknown module \"shop\"") and which in
// turn wraps ErrUnknownModule, so errors.Is(err, ErrUnknownModule) holds and
// domain.CodeOf(err) is BAD_USER_INPUT.
type UnknownModuleError struct {
	Slug string
}

// Error returns `unknown module "<slug>"` (the slug quoted and clipped).
func (e *UnknownModuleError) Error() string {
	return "unknown module " + strconv.Quote(clip(e.Slug))
}

// Unwrap returns the client-facing application error, which wraps
// ErrUnknownModule.
func (e *UnknownModuleError) Unwrap() error {
	return domain.BadInput("unknown module %q", clip(e.Slug)).Wrap(ErrUnknownModule)
}

func clip(s string) string { return domain.Clip(s, maxSlugInMessage) }

func missingDependency(slug, dep string) error {
	return domain.Conflict("module %s needs %s enabled", slug, dep).Wrap(ErrMissingDependency)
}

func dependentEnabled(slug, dependent string) error {
	return domain.Conflict("module %s is needed by %s", slug, dependent).Wrap(ErrDependentEnabled)
}
