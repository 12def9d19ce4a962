// Package module is the catalogue of RusToK modules and the rules for
// switching them on and off per tenant.
//
// A module is described once by a [Descriptor] (slug, name, kind,
// dependencies); a [Registry] built from descriptors with [NewRegistry] is the
// single list that the module registry query, enabledModules and the
// per-tenant toggle all read. [Builtin] returns the modules of this server.
//
// Core modules (tenant, rbac, index) are always on. Optional modules are
// enabled per tenant, subject to the toggle rules that [Registry.CheckToggle]
// applies: an unknown slug is refused, a core module cannot be disabled,
// enabling needs every dependency enabled, disabling is refused while an
// enabled module depends on it, and an unchanged value is a no-op.
//
// The package is pure: a Registry is immutable once built and safe for
// concurrent use.
package module
