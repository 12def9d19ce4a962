package module

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rustok/rustok/domain"
)

// Registry is an ordered, validated set of module descriptors. It is
// immutable once built and safe for concurrent use. Build it with NewRegistry;
// the zero Registry is empty.
type Registry struct {
	descs []Descriptor
	index map[string]int // slug → position in descs
}

// NewRegistry validates ds and returns a registry that keeps their order.
// It copies ds, so later changes to ds do not affect the registry.
//
// It reports every problem found, joined (errors.Join), each wrapping one of:
// ErrInvalidDescriptor (empty slug, kind other than KindCore or KindOptional),
// ErrDuplicateModule, ErrUnknownDependency, ErrCoreDependsOnOptional (a core
// module cannot need a module that may be off) and ErrDependencyCycle
// (including a module that depends on itself).
func NewRegistry(ds ...Descriptor) (*Registry, error) {
	r := &Registry{descs: make([]Descriptor, 0, len(ds)), index: make(map[string]int, len(ds))}
	var errs []error
	for _, d := range ds {
		switch {
		case d.Slug == "":
			errs = append(errs, fmt.Errorf("module %q: empty slug: %w", d.Name, ErrInvalidDescriptor))
			continue
		case d.Kind != KindCore && d.Kind != KindOptional:
			errs = append(errs, fmt.Errorf("module %s: kind %q: %w", d.Slug, d.Kind, ErrInvalidDescriptor))
		}
		if _, dup := r.index[d.Slug]; dup {
			errs = append(errs, fmt.Errorf("module %s: %w", d.Slug, ErrDuplicateModule))
			continue
		}
		d.Dependencies = slices.Clone(d.Dependencies)
		r.index[d.Slug] = len(r.descs)
		r.descs = append(r.descs, d)
	}
	for _, d := range r.descs {
		for _, dep := range d.Dependencies {
			i, ok := r.index[dep]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("module %s needs %q: %w", d.Slug, dep, ErrUnknownDependency))
			case d.Kind == KindCore && r.descs[i].Kind != KindCore:
				errs = append(errs, fmt.Errorf("module %s needs %s: %w", d.Slug, dep, ErrCoreDependsOnOptional))
			}
		}
	}
	if cycle := r.findCycle(); cycle != nil {
		errs = append(errs, fmt.Errorf("%s: %w", strings.Join(cycle, " -> "), ErrDependencyCycle))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// findCycle returns one dependency cycle as a path whose first and last slugs
// are the same, or nil if there is none. Unknown dependencies are skipped
// (NewRegistry reports them on their own).
func (r *Registry) findCycle() []string {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]int, len(r.descs))
	var path []string
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onPath
		path = append(path, r.descs[i].Slug)
		for _, dep := range r.descs[i].Dependencies {
			j, ok := r.index[dep]
			if !ok {
				continue
			}
			switch state[j] {
			case onPath:
				start := slices.Index(path, dep)
				return append(slices.Clone(path[start:]), dep)
			case unvisited:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return nil
	}
	for i := range r.descs {
		if state[i] == unvisited {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// All returns every descriptor in registry order (the order given to
// NewRegistry). The result is a copy the caller may change.
func (r *Registry) All() []Descriptor {
	out := make([]Descriptor, len(r.descs))
	for i, d := range r.descs {
		d.Dependencies = slices.Clone(d.Dependencies)
		out[i] = d
	}
	return out
}

// Get returns a copy of the descriptor of slug and reports whether the
// registry has it.
func (r *Registry) Get(slug string) (Descriptor, bool) {
	i, ok := r.index[slug]
	if !ok {
		return Descriptor{}, false
	}
	d := r.descs[i]
	d.Dependencies = slices.Clone(d.Dependencies)
	return d, true
}

// IsCore reports whether slug names a core module. It is false for unknown
// slugs.
func (r *Registry) IsCore(slug string) bool {
	i, ok := r.index[slug]
	return ok && r.descs[i].Kind == KindCore
}

// CoreSlugs returns the slugs of the core modules in registry order.
func (r *Registry) CoreSlugs() []string {
	var out []string
	for _, d := range r.descs {
		if d.Kind == KindCore {
			out = append(out, d.Slug)
		}
	}
	return out
}

// CheckToggle applies the toggle rules to a change of module slug to the
// state enable, given the optional modules currently enabled for a tenant.
// Entries of enabled that are core or unknown are ignored (core modules are
// always on). It returns noop true, with a nil error, when the change would
// change nothing: enabling an enabled or core module, or disabling a disabled
// one; the caller then records no event.
//
// Errors, checked in this order: *UnknownModuleError (errors.Is
// ErrUnknownModule) for an unknown slug; ErrCoreModule when disabling a core
// module; when enabling, an error wrapping ErrMissingDependency naming the
// first dependency not enabled; when disabling, an error wrapping
// ErrDependentEnabled naming the first enabled module, in registry order, that
// depends on slug. Only direct dependencies are checked: the rules keep every
// enabled module's dependencies enabled, so the transitive ones follow.
func (r *Registry) CheckToggle(enabled []string, slug string, enable bool) (noop bool, err error) {
	i, ok := r.index[slug]
	if !ok {
		return false, &UnknownModuleError{Slug: slug}
	}
	d := r.descs[i]
	if d.Kind == KindCore {
		if enable {
			return true, nil
		}
		return false, ErrCoreModule
	}
	if slices.Contains(enabled, slug) == enable {
		return true, nil
	}
	if enable {
		for _, dep := range d.Dependencies {
			if !r.IsCore(dep) && !slices.Contains(enabled, dep) {
				return false, missingDependency(slug, dep)
			}
		}
		return false, nil
	}
	for _, other := range r.descs {
		if other.Kind == KindOptional && slices.Contains(other.Dependencies, slug) && slices.Contains(enabled, other.Slug) {
			return false, dependentEnabled(slug, other.Slug)
		}
	}
	return false, nil
}

// Effective returns the modules in effect for a tenant whose enabled optional
// modules are enabledOptional: every core module plus the known optional
// modules of enabledOptional, in registry order, each once. Unknown slugs are
// left out. This is what the enabledModules query answers.
func (r *Registry) Effective(enabledOptional []string) []string {
	out := make([]string, 0, len(r.descs))
	for _, d := range r.descs {
		if d.Kind == KindCore || slices.Contains(enabledOptional, d.Slug) {
			out = append(out, d.Slug)
		}
	}
	return out
}

// ValidateDefaults checks a configured list of modules enabled for new
// tenants: each must be known (*UnknownModuleError, errors.Is
// ErrUnknownModule), optional (an error wrapping ErrCoreModule: core modules
// are always on and must not be listed) and have its dependencies in the list
// or core (an error wrapping ErrMissingDependency). It reports every problem,
// joined with errors.Join; an empty list is valid. Duplicates are allowed.
func (r *Registry) ValidateDefaults(slugs []string) error {
	var errs []error
	for _, slug := range slugs {
		i, ok := r.index[slug]
		if !ok {
			errs = append(errs, &UnknownModuleError{Slug: slug})
			continue
		}
		d := r.descs[i]
		if d.Kind == KindCore {
			errs = append(errs, domain.BadInput("module %s is core and always enabled: list only optional modules", slug).Wrap(ErrCoreModule))
			continue
		}
		for _, dep := range d.Dependencies {
			if !r.IsCore(dep) && !slices.Contains(slugs, dep) {
				errs = append(errs, missingDependency(slug, dep))
			}
		}
	}
	return errors.Join(errs...)
}
