package rbac

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
)

// Resource is what a permission is about, such as products or forum_topics.
type Resource string

// Action is what a permission allows on its resource.
type Action string

// The resources of CONTRACT.md. They are stored (API keys keep their
// permissions as "resource:action" strings): renaming one breaks them.
const (
	ResourceUsers           Resource = "users"
	ResourceTenants         Resource = "tenants"
	ResourceModules         Resource = "modules"
	ResourceSettings        Resource = "settings"
	ResourceProducts        Resource = "products"
	ResourceCategories      Resource = "categories"
	ResourceOrders          Resource = "orders"
	ResourceCustomers       Resource = "customers"
	ResourceInventory       Resource = "inventory"
	ResourceDiscounts       Resource = "discounts"
	ResourcePosts           Resource = "posts"
	ResourcePages           Resource = "pages"
	ResourceNodes           Resource = "nodes"
	ResourceMedia           Resource = "media"
	ResourceComments        Resource = "comments"
	ResourceTags            Resource = "tags"
	ResourceAnalytics       Resource = "analytics"
	ResourceLogs            Resource = "logs"
	ResourceEvents          Resource = "events"
	ResourceWebhooks        Resource = "webhooks"
	ResourceBlogPosts       Resource = "blog_posts"
	ResourceForumCategories Resource = "forum_categories"
	ResourceForumTopics     Resource = "forum_topics"
	ResourceForumReplies    Resource = "forum_replies"
	ResourceScripts         Resource = "scripts"
)

// The actions of CONTRACT.md. ActionManage implies every action on its
// resource, including actions added later.
const (
	ActionCreate   Action = "create"
	ActionRead     Action = "read"
	ActionUpdate   Action = "update"
	ActionDelete   Action = "delete"
	ActionList     Action = "list"
	ActionExport   Action = "export"
	ActionImport   Action = "import"
	ActionManage   Action = "manage"
	ActionPublish  Action = "publish"
	ActionModerate Action = "moderate"
)

var (
	allResources = []Resource{
		ResourceUsers, ResourceTenants, ResourceModules, ResourceSettings, ResourceProducts,
		ResourceCategories, ResourceOrders, ResourceCustomers, ResourceInventory, ResourceDiscounts,
		ResourcePosts, ResourcePages, ResourceNodes, ResourceMedia, ResourceComments, ResourceTags,
		ResourceAnalytics, ResourceLogs, ResourceEvents, ResourceWebhooks, ResourceBlogPosts,
		ResourceForumCategories, ResourceForumTopics, ResourceForumReplies, ResourceScripts,
	}
	allActions = []Action{
		ActionCreate, ActionRead, ActionUpdate, ActionDelete, ActionList,
		ActionExport, ActionImport, ActionManage, ActionPublish, ActionModerate,
	}
)

// Resources returns every resource, in the order of CONTRACT.md. Each call
// returns a new slice.
func Resources() []Resource { return append([]Resource(nil), allResources...) }

// Actions returns every action, in the order of CONTRACT.md. Each call
// returns a new slice.
func Actions() []Action { return append([]Action(nil), allActions...) }

// Valid reports whether r is one of Resources.
func (r Resource) Valid() bool { return indexOf(allResources, r) >= 0 }

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool { return indexOf(allActions, a) >= 0 }

// Permission allows Action on Resource. The zero Permission is invalid.
// Permissions are comparable and can be map keys.
type Permission struct {
	Resource Resource
	Action   Action
}

// P returns the permission of action on resource. It does not validate: use
// it for constants of the code, ParsePermission for input.
func P(resource Resource, action Action) Permission {
	return Permission{Resource: resource, Action: action}
}

// String returns the permission as "resource:action", the form of the API
// and of stored API keys.
func (p Permission) String() string { return string(p.Resource) + ":" + string(p.Action) }

// Valid reports whether p names a known resource and a known action.
func (p Permission) Valid() bool { return p.Resource.Valid() && p.Action.Valid() }

// manage returns resource:manage for p's resource: the permission that
// implies p.
func (p Permission) manage() Permission { return P(p.Resource, ActionManage) }

// MaxPermissionLength is the longest permission string ParsePermission
// reads, in bytes; the longest valid one ("forum_categories:moderate") is
// far shorter.
const MaxPermissionLength = 64

// ParsePermission reads "resource:action": surrounding white space is
// ignored and ASCII letters may be in any case; the resource and the action
// must be among Resources and Actions. It accepts any string without
// panicking, and ParsePermission(p.String()) returns p for every valid p.
//
// Errors: an error wrapping ErrInvalidPermission (BAD_USER_INPUT, field
// permissions) whose message names the problem.
func ParsePermission(s string) (Permission, error) {
	p, problem := parsePermission(s)
	if problem != "" {
		return Permission{}, invalidPermission("permission %s", problem)
	}
	return p, nil
}

// parsePermission returns the permission s names, or a description of what
// is wrong with s.
func parsePermission(s string) (Permission, string) {
	if len(s) > MaxPermissionLength {
		return Permission{}, fmt.Sprintf("is longer than %d bytes", MaxPermissionLength)
	}
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			// Only ASCII: no Unicode case mapping (the Kelvin sign would
			// lowercase to k) makes a name valid.
			return Permission{}, fmt.Sprintf("%q is not ASCII", s)
		}
	}
	s = strings.ToLower(s)
	res, act, ok := strings.Cut(s, ":")
	if !ok {
		return Permission{}, fmt.Sprintf("%q is not of the form resource:action", s)
	}
	p := P(Resource(res), Action(act))
	if !p.Resource.Valid() {
		return Permission{}, fmt.Sprintf("%q names an unknown resource", s)
	}
	if !p.Action.Valid() {
		return Permission{}, fmt.Sprintf("%q names an unknown action", s)
	}
	return p, ""
}

// MaxPermissions is the most permission strings ParsePermissions reads: one
// per resource and action.
const MaxPermissions = 250

// ParsePermissions parses each string as ParsePermission does and returns
// the permissions in input order, without duplicates (first occurrence
// kept). The result is never nil.
//
// Errors: one wrapping ErrInvalidPermission whose message names the index
// of the first bad string and what is wrong with it, or says that there are
// more than MaxPermissions strings.
func ParsePermissions(list []string) ([]Permission, error) {
	if len(list) > MaxPermissions {
		return nil, invalidPermission("at most %d permissions are allowed", MaxPermissions)
	}
	out := make([]Permission, 0, len(list))
	for i, s := range list {
		p, problem := parsePermission(s)
		if problem != "" {
			return nil, invalidPermission("permissions[%d] %s", i, problem)
		}
		if indexOf(out, p) < 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// invalidPermission returns a BAD_USER_INPUT error with a precise message
// that matches ErrInvalidPermission with errors.Is.
func invalidPermission(format string, args ...any) error {
	return domain.InvalidField("permissions", format, args...).Wrap(ErrInvalidPermission)
}

func indexOf[T comparable](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}
