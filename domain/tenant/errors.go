package tenant

import (
	"errors"

	"github.com/rustok/rustok/domain"
)

// Application errors of tenant identifiers and decisions (see package domain
// for the codes). Match them with errors.Is: some returned errors carry a more
// precise message and wrap these values.
var (
	// ErrInvalidSlug (BAD_USER_INPUT, field slug): the slug breaks the format.
	ErrInvalidSlug = domain.InvalidField("slug", "slug must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit")
	// ErrReservedSlug (BAD_USER_INPUT, field slug): the slug is a reserved word.
	ErrReservedSlug = domain.InvalidField("slug", "slug is reserved")
	// ErrUUIDSlug (BAD_USER_INPUT, field slug): a new tenant's slug has the form
	// of a tenant id, which X-Tenant-ID could not tell apart from an id.
	ErrUUIDSlug = domain.InvalidField("slug", "slug must not have the form of a tenant id")
	// ErrInvalidHost (BAD_USER_INPUT): the value is not a valid host name.
	ErrInvalidHost = domain.BadInput("host must be a domain name of at most 253 characters, in labels of 1 to 63 characters of a-z, 0-9 and '-' that neither start nor end with '-'")
	// ErrInvalidIdentifier (BAD_USER_INPUT): a tenant identifier is neither a
	// tenant id nor a valid slug.
	ErrInvalidIdentifier = domain.BadInput("tenant identifier must be a tenant id (UUID) or a slug")
	// ErrInvalidID (BAD_USER_INPUT, field id): a new tenant's id is not a
	// lowercase hyphenated UUID.
	ErrInvalidID = domain.InvalidField("id", "tenant id must be a lowercase hyphenated UUID")
	// ErrInvalidName (BAD_USER_INPUT, field name).
	ErrInvalidName = domain.InvalidField("name", "name must be 1 to 255 characters, without control characters")
	// ErrTooManyDomains (BAD_USER_INPUT, field domains): more than MaxDomains.
	ErrTooManyDomains = domain.InvalidField("domains", "a tenant has at most 20 domains")
	// ErrDomainUnderBase (BAD_USER_INPUT, field domains): the domain is
	// "<label>.<base>" for a configured base domain and a label that
	// subdomain resolution reads as a slug other than the tenant's own (see
	// BaseDomains.CheckDomain). Returned inside a *CollisionError whose
	// message names the domain, the base domain and the slug.
	ErrDomainUnderBase = domain.InvalidField("domains", "a domain directly under a base domain must not begin with a label that names another tenant slug")
	// ErrSlugSubdomainTaken (CONFLICT, field slug): "<slug>.<base>" for a
	// configured base domain is already another tenant's domain (see
	// BaseDomains.SubdomainTaken). Returned inside a *CollisionError whose
	// message names the slug, the domain and the base domain.
	ErrSlugSubdomainTaken = &domain.Error{Code: domain.CodeConflict, Field: "slug", Message: "the slug's subdomain under a base domain is already a domain of another tenant"}
	// ErrDomainNotFound (NOT_FOUND): the domain is not one of the tenant's.
	ErrDomainNotFound = domain.NotFound("domain is not registered for this tenant")
	// ErrInvalidLocale (BAD_USER_INPUT, field locale).
	ErrInvalidLocale = domain.InvalidField("locale", "locale must be xx or xx-YY, for example en or en-US")
	// ErrTooManyLocales (BAD_USER_INPUT, field locale): more than MaxLocales.
	ErrTooManyLocales = domain.InvalidField("locale", "a tenant has at most 100 locales")
	// ErrDefaultLocale (CONFLICT): the default locale cannot be disabled.
	ErrDefaultLocale = domain.Conflict("the default locale cannot be disabled")

	// ErrNotFound (NOT_FOUND) is what a lookup of an unknown tenant answers.
	ErrNotFound = domain.NotFound("tenant not found")
	// ErrDisabled (FORBIDDEN) is what any request to a disabled tenant answers.
	ErrDisabled = domain.Forbidden("tenant is disabled")
)

// Internal errors: stored data that this package cannot read. They are not
// application errors, so clients see only INTERNAL.
var (
	// ErrUnknownEvent: an event type or schema version this package does not
	// know.
	ErrUnknownEvent = errors.New("unknown tenant event")
	// ErrInvalidHistory: a stream that does not describe one tenant (empty, not
	// starting with tenant.created, created twice, or mixing tenant ids).
	ErrInvalidHistory = errors.New("invalid tenant history")
)

var errNilRegistry = errors.New("tenant: nil module registry")
