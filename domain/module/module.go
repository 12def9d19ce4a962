package module

// Kind says whether a module can be switched off.
type Kind string

// The module kinds. Their values are the GraphQL enum values of
// ModuleRegistryItem.kind.
const (
	// KindCore modules are always enabled and cannot be disabled.
	KindCore Kind = "CORE"
	// KindOptional modules are enabled or disabled per tenant.
	KindOptional Kind = "OPTIONAL"
)

// The slugs of the built-in modules. A slug is stored in events
// (tenant.module_toggled) and configuration: renaming one breaks both.
const (
	SlugTenant   = "tenant"
	SlugRBAC     = "rbac"
	SlugIndex    = "index"
	SlugContent  = "content"
	SlugCommerce = "commerce"
	SlugBlog     = "blog"
	SlugForum    = "forum"
	SlugPages    = "pages"
	SlugAlloy    = "alloy"
)

// Descriptor describes one module: its unique slug, a display name and
// description, its version, its kind and the slugs of the modules it needs
// enabled (Dependencies).
type Descriptor struct {
	Slug         string
	Name         string
	Description  string
	Version      string
	Kind         Kind
	Dependencies []string
}

// builtinVersion is the version every built-in module reports.
const builtinVersion = "1.0.0"

// Builtin returns the descriptors of the modules this server hosts, in
// registry order: the core modules tenant, rbac and index, then the optional
// modules content, commerce, blog (needs content), forum (needs content),
// pages and alloy. Each call returns a new slice that the caller may change.
func Builtin() []Descriptor {
	return []Descriptor{
		{Slug: SlugTenant, Name: "Tenants", Description: "Tenancy: tenants, their domains, locales and enabled modules.", Version: builtinVersion, Kind: KindCore},
		{Slug: SlugRBAC, Name: "Access control", Description: "Users, sessions, roles and permissions.", Version: builtinVersion, Kind: KindCore},
		{Slug: SlugIndex, Name: "Index", Description: "Read models built from the event log.", Version: builtinVersion, Kind: KindCore},
		{Slug: SlugContent, Name: "Content", Description: "Content nodes with translations and bodies.", Version: builtinVersion, Kind: KindOptional},
		{Slug: SlugCommerce, Name: "Commerce", Description: "Products, variants, prices and inventory.", Version: builtinVersion, Kind: KindOptional},
		{Slug: SlugBlog, Name: "Blog", Description: "Blog posts, built on content nodes.", Version: builtinVersion, Kind: KindOptional, Dependencies: []string{SlugContent}},
		{Slug: SlugForum, Name: "Forum", Description: "Forum categories, topics and replies, built on content nodes.", Version: builtinVersion, Kind: KindOptional, Dependencies: []string{SlugContent}},
		{Slug: SlugPages, Name: "Pages", Description: "Pages with blocks and menus.", Version: builtinVersion, Kind: KindOptional},
		{Slug: SlugAlloy, Name: "Alloy scripting", Description: "Tenant scripts run on events, schedules, API calls or by hand.", Version: builtinVersion, Kind: KindOptional},
	}
}

// Defaults returns the optional modules a new tenant gets when configuration
// does not name others: content, commerce and pages. Each call returns a new
// slice.
func Defaults() []string {
	return []string{SlugContent, SlugCommerce, SlugPages}
}
