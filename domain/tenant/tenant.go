package tenant

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
)

// Limits of the tenant aggregate.
const (
	// MaxNameLength is the longest name, in characters (runes), after trimming.
	MaxNameLength = 255
	// MaxDomains is the most domains a tenant has.
	MaxDomains = 20
	// MaxLocales is the most locales a tenant has enabled; it keeps the
	// aggregate small whatever clients send.
	MaxLocales = 100
)

// initialLocale is the default and only locale of a new tenant.
const initialLocale = "en"

// Status is a tenant's status.
type Status string

// The tenant statuses.
const (
	// StatusActive tenants serve requests.
	StatusActive Status = "active"
	// StatusDisabled tenants refuse every request (ErrDisabled); operators can
	// still enable them again.
	StatusDisabled Status = "disabled"
)

// Tenant is the tenant aggregate: one workspace with its slug, domains,
// status, settings, locales and enabled optional modules. Build one with
// Create or Load. The zero Tenant is not a tenant: a decision on it that
// produces an event fails with an error wrapping ErrInvalidHistory.
type Tenant struct {
	id            string
	name          string
	slug          string
	domains       []string // in the order added
	status        Status
	settings      json.RawMessage
	defaultLocale string
	locales       []string // in the order enabled
	modules       []string // enabled optional modules, in the order enabled
	version       int64    // number of events applied
}

// Create validates a new tenant and returns it with its one event,
// Created, already applied (Version 1). The tenant starts active with
// default locale "en", locales ["en"], settings "{}", the domains normalized
// with duplicates dropped (first occurrence kept), and the optional modules
// defaultModules (normally configuration; see module.Defaults) in registry
// order. at is recorded in UTC.
//
// Errors: ErrInvalidID unless id is a lowercase UUID; ErrInvalidSlug,
// ErrReservedSlug or ErrUUIDSlug for the slug; ErrInvalidName; an error
// naming the field "domains" that wraps ErrInvalidHost for a bad domain;
// ErrTooManyDomains beyond MaxDomains distinct domains; the errors of
// module.Registry.ValidateDefaults for bad default modules. A nil reg is an
// internal error.
func Create(id, slug, name string, domains []string, defaultModules []string, reg *module.Registry, at time.Time) (*Tenant, []Event, error) {
	if reg == nil {
		return nil, nil, errNilRegistry
	}
	if !IsUUID(id) {
		return nil, nil, ErrInvalidID
	}
	slug, err := NormalizeSlug(slug)
	if err != nil {
		return nil, nil, err
	}
	if IsUUID(slug) {
		return nil, nil, ErrUUIDSlug
	}
	name, err = normalizeName(name)
	if err != nil {
		return nil, nil, err
	}
	hosts, err := normalizeDomains(domains)
	if err != nil {
		return nil, nil, err
	}
	if err := reg.ValidateDefaults(defaultModules); err != nil {
		return nil, nil, fmt.Errorf("default modules: %w", err)
	}
	modules := []string{}
	for _, d := range reg.All() {
		if d.Kind == module.KindOptional && slices.Contains(defaultModules, d.Slug) {
			modules = append(modules, d.Slug)
		}
	}
	t := &Tenant{}
	events, err := t.record(Created{
		TenantID:      id,
		Slug:          slug,
		Name:          name,
		Domains:       hosts,
		Modules:       modules,
		DefaultLocale: initialLocale,
		Locales:       []string{initialLocale},
		Settings:      json.RawMessage("{}"),
		At:            at.UTC(),
	})
	if err != nil {
		return nil, nil, err
	}
	return t, events, nil
}

// Load rebuilds a tenant from its stored events, in stream order, by applying
// each one as the decisions do. The events are those of Decode.
//
// Errors: one wrapping ErrInvalidHistory for an empty history, a first event
// other than Created, a second Created, or an event of another
// tenant; one wrapping ErrUnknownEvent for an event type this package does
// not know.
func Load(history []Event) (*Tenant, error) {
	t := &Tenant{}
	if err := domain.Load("tenant", history, t.apply, ErrInvalidHistory); err != nil {
		return nil, err
	}
	return t, nil
}

// Rename changes the tenant's name (trimmed) and returns Updated, or no
// events if the name is unchanged. Errors: ErrInvalidName.
func (t *Tenant) Rename(name string, at time.Time) ([]Event, error) {
	name, err := normalizeName(name)
	if err != nil {
		return nil, err
	}
	if name == t.name {
		return nil, nil
	}
	return t.record(Updated{TenantID: t.id, Name: name, At: at.UTC()})
}

// AddDomain adds a host name (normalized with NormalizeHost) to the tenant and
// returns DomainAdded, or no events if the tenant already has it. That no
// other tenant has it is the command layer's check. Errors: ErrInvalidHost,
// ErrTooManyDomains.
func (t *Tenant) AddDomain(host string, at time.Time) ([]Event, error) {
	host, err := NormalizeHost(host)
	if err != nil {
		return nil, err
	}
	if slices.Contains(t.domains, host) {
		return nil, nil
	}
	if len(t.domains) >= MaxDomains {
		return nil, ErrTooManyDomains
	}
	return t.record(DomainAdded{TenantID: t.id, Domain: host, At: at.UTC()})
}

// RemoveDomain removes a host name (normalized with NormalizeHost) from the
// tenant and returns DomainRemoved. Errors: ErrInvalidHost,
// ErrDomainNotFound if the tenant does not have it.
func (t *Tenant) RemoveDomain(host string, at time.Time) ([]Event, error) {
	host, err := NormalizeHost(host)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(t.domains, host) {
		return nil, ErrDomainNotFound
	}
	return t.record(DomainRemoved{TenantID: t.id, Domain: host, At: at.UTC()})
}

// Disable returns Disabled, or no events if the tenant is already
// disabled.
func (t *Tenant) Disable(at time.Time) ([]Event, error) {
	if t.status == StatusDisabled {
		return nil, nil
	}
	return t.record(Disabled{TenantID: t.id, At: at.UTC()})
}

// Enable returns Enabled, or no events if the tenant is already active.
func (t *Tenant) Enable(at time.Time) ([]Event, error) {
	if t.status == StatusActive {
		return nil, nil
	}
	return t.record(Enabled{TenantID: t.id, At: at.UTC()})
}

// ToggleModule switches the module slug on (enabled true) or off for the
// tenant under the toggle rules of reg (module.Registry.CheckToggle) and
// returns ModuleToggled, or no events if the change is a no-op
// (including enabling a core module).
//
// Errors: those of CheckToggle (errors.Is module.ErrUnknownModule,
// module.ErrCoreModule, module.ErrMissingDependency,
// module.ErrDependentEnabled). A nil reg is an internal error.
func (t *Tenant) ToggleModule(reg *module.Registry, slug string, enabled bool, at time.Time) ([]Event, error) {
	if reg == nil {
		return nil, errNilRegistry
	}
	noop, err := reg.CheckToggle(t.modules, slug, enabled)
	if err != nil || noop {
		return nil, err
	}
	return t.record(ModuleToggled{TenantID: t.id, Module: slug, Enabled: enabled, At: at.UTC()})
}

// EnableLocale enables a locale for the tenant and returns
// LocaleEnabled, or no events if it is already enabled. The locale is
// xx or xx-YY, matched ignoring case and stored as "xx" or "xx-YY" (so
// "EN-us" is "en-US"). Errors: ErrInvalidLocale, ErrTooManyLocales beyond
// MaxLocales.
func (t *Tenant) EnableLocale(locale string, at time.Time) ([]Event, error) {
	locale, err := normalizeLocale(locale)
	if err != nil {
		return nil, err
	}
	if slices.Contains(t.locales, locale) {
		return nil, nil
	}
	if len(t.locales) >= MaxLocales {
		return nil, ErrTooManyLocales
	}
	return t.record(LocaleEnabled{TenantID: t.id, Locale: locale, At: at.UTC()})
}

// DisableLocale disables a locale (normalized as in EnableLocale) and returns
// LocaleDisabled, or no events if it is not enabled. Errors:
// ErrInvalidLocale, ErrDefaultLocale for the tenant's default locale.
func (t *Tenant) DisableLocale(locale string, at time.Time) ([]Event, error) {
	locale, err := normalizeLocale(locale)
	if err != nil {
		return nil, err
	}
	if locale == t.defaultLocale {
		return nil, ErrDefaultLocale
	}
	if !slices.Contains(t.locales, locale) {
		return nil, nil
	}
	return t.record(LocaleDisabled{TenantID: t.id, Locale: locale, At: at.UTC()})
}

// ID returns the tenant id (a lowercase UUID).
func (t *Tenant) ID() string { return t.id }

// Slug returns the tenant slug.
func (t *Tenant) Slug() string { return t.slug }

// Name returns the tenant name.
func (t *Tenant) Name() string { return t.name }

// Domains returns a copy of the tenant's host names, in the order added.
func (t *Tenant) Domains() []string { return slices.Clone(t.domains) }

// Status returns the tenant status.
func (t *Tenant) Status() Status { return t.status }

// Settings returns a copy of the tenant settings, a JSON object.
func (t *Tenant) Settings() json.RawMessage { return slices.Clone(t.settings) }

// DefaultLocale returns the tenant's default locale.
func (t *Tenant) DefaultLocale() string { return t.defaultLocale }

// Locales returns a copy of the tenant's enabled locales, in the order
// enabled; the default locale is always among them.
func (t *Tenant) Locales() []string { return slices.Clone(t.locales) }

// EnabledModules returns a copy of the tenant's enabled optional modules, in
// the order enabled. module.Registry.Effective turns it into the full list in
// registry order.
func (t *Tenant) EnabledModules() []string { return slices.Clone(t.modules) }

// Version returns the number of events applied to the tenant: the stream
// version to expect when appending its next events.
func (t *Tenant) Version() int64 { return t.version }

// record applies e and returns it as the decision's events.
func (t *Tenant) record(e Event) ([]Event, error) { return domain.Record(e, t.apply) }

// apply changes the tenant's state by one event. It is the only code that
// sets state, for decisions and Load alike, and it checks only what makes a
// history coherent: the rules belong to the decisions, which already checked
// them when the event was first recorded.
func (t *Tenant) apply(e Event) error {
	switch e := e.(type) {
	case Created:
		if t.version > 0 {
			return fmt.Errorf("%s at version %d: %w", TypeCreated, t.version, ErrInvalidHistory)
		}
		t.create(e)
		return nil
	case Updated:
		return t.change(e, e.TenantID, func() { t.name = e.Name })
	case DomainAdded:
		return t.change(e, e.TenantID, func() { t.domains = addOnce(t.domains, e.Domain) })
	case DomainRemoved:
		return t.change(e, e.TenantID, func() { t.domains = remove(t.domains, e.Domain) })
	case Disabled:
		return t.change(e, e.TenantID, func() { t.status = StatusDisabled })
	case Enabled:
		return t.change(e, e.TenantID, func() { t.status = StatusActive })
	case ModuleToggled:
		return t.change(e, e.TenantID, func() {
			if e.Enabled {
				t.modules = addOnce(t.modules, e.Module)
			} else {
				t.modules = remove(t.modules, e.Module)
			}
		})
	case LocaleEnabled:
		return t.change(e, e.TenantID, func() { t.locales = addOnce(t.locales, e.Locale) })
	case LocaleDisabled:
		return t.change(e, e.TenantID, func() { t.locales = remove(t.locales, e.Locale) })
	case nil:
		return fmt.Errorf("nil event: %w", ErrUnknownEvent)
	}
	// Includes pointers to the event types: events are values.
	return fmt.Errorf("event of type %T: %w", e, ErrUnknownEvent)
}

// create sets the whole state from the first event of a history.
func (t *Tenant) create(e Created) {
	t.id = e.TenantID
	t.slug = e.Slug
	t.name = e.Name
	t.domains = slices.Clone(e.Domains)
	t.modules = slices.Clone(e.Modules)
	t.status = StatusActive
	t.defaultLocale = e.DefaultLocale
	t.locales = slices.Clone(e.Locales)
	t.settings = slices.Clone(e.Settings)
	if len(t.settings) == 0 || string(t.settings) == "null" {
		t.settings = json.RawMessage("{}")
	}
	if t.defaultLocale != "" && !slices.Contains(t.locales, t.defaultLocale) {
		t.locales = append(t.locales, t.defaultLocale)
	}
	t.version = 1
}

// change applies the state change of event e, which belongs to tenantID,
// after checking that the tenant exists and that e is this tenant's.
func (t *Tenant) change(e Event, tenantID string, apply func()) error {
	if t.version == 0 {
		return fmt.Errorf("history starts with %s, not %s: %w", e.EventType(), TypeCreated, ErrInvalidHistory)
	}
	if tenantID != t.id {
		return fmt.Errorf("%s of tenant %q in the stream of tenant %q: %w", e.EventType(), tenantID, t.id, ErrInvalidHistory)
	}
	apply()
	t.version++
	return nil
}

func remove(list []string, v string) []string {
	return slices.DeleteFunc(list, func(x string) bool { return x == v })
}

func addOnce(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// normalizeName trims name and checks it: 1 to MaxNameLength runes of valid
// UTF-8, without control characters.
func normalizeName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxNameLength*utf8.UTFMax || !utf8.ValidString(name) ||
		utf8.RuneCountInString(name) > MaxNameLength || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", ErrInvalidName
	}
	return name, nil
}

// normalizeDomains normalizes each host and drops duplicates, keeping the
// first occurrence. The result is never nil, so that the event's JSON holds
// [] rather than null.
func normalizeDomains(domains []string) ([]string, error) {
	out := make([]string, 0, min(len(domains), MaxDomains))
	for i, d := range domains {
		host, err := NormalizeHost(d)
		if err != nil {
			return nil, domain.InvalidField("domains", "domains[%d] is not a valid host name", i).Wrap(err)
		}
		if slices.Contains(out, host) {
			continue
		}
		if len(out) == MaxDomains {
			return nil, ErrTooManyDomains
		}
		out = append(out, host)
	}
	return out, nil
}

// normalizeLocale checks a locale of the form xx or xx-YY (ASCII letters,
// any case) and returns it as lowercase language and uppercase region.
func normalizeLocale(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) != 2 && (len(s) != 5 || s[2] != '-') {
		return "", ErrInvalidLocale
	}
	b := []byte(s)
	for i, c := range b {
		if i == 2 {
			continue
		}
		c |= 0x20 // ASCII letters to lower case; other bytes fail below
		if c < 'a' || c > 'z' {
			return "", ErrInvalidLocale
		}
		if i > 2 {
			c -= 'a' - 'A'
		}
		b[i] = c
	}
	return string(b), nil
}
