package rbac

import (
	"slices"
	"strings"
)

// Role is a user's role. Its values are stored in user events and written
// in the "role" claim of access tokens.
type Role string

// The roles of DOMAIN.md.
const (
	RoleSuperAdmin Role = "super_admin"
	RoleAdmin      Role = "admin"
	RoleManager    Role = "manager"
	RoleCustomer   Role = "customer"
)

// Roles returns every role, most powerful first. Each call returns a new
// slice.
func Roles() []Role { return []Role{RoleSuperAdmin, RoleAdmin, RoleManager, RoleCustomer} }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return indexOf(Roles(), r) >= 0 }

// ParseRole reads a role name: surrounding white space is ignored and ASCII
// letters may be in any case, so the GraphQL enum value SUPER_ADMIN is
// super_admin. Errors: ErrInvalidRole.
func ParseRole(s string) (Role, error) {
	if len(s) > 32 {
		return "", ErrInvalidRole
	}
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", ErrInvalidRole
	}
	return r, nil
}

// Scope says for which resources a role holds a permission.
type Scope string

// The scopes.
const (
	// ScopeAny: every resource of the kind in the tenant.
	ScopeAny Scope = "any"
	// ScopeOwn: only resources the actor owns (their author or creator).
	ScopeOwn Scope = "own"
)

// Grant is one permission held by a role, in a scope.
type Grant struct {
	Permission Permission
	Scope      Scope
}

// matrixRow grants every action of Actions on every resource of Resources
// to Role, in Scope.
type matrixRow struct {
	Role      Role
	Scope     Scope
	Actions   []Action
	Resources []Resource
}

var crudl = []Action{ActionCreate, ActionRead, ActionUpdate, ActionDelete, ActionList}

// matrix is the role matrix of DOMAIN.md ("Users, sessions, roles"), row by
// row in the order it is written there. It is the only place that says what
// a role may do: change it here, with the document.
var matrix = []matrixRow{
	// super_admin: manage on every resource.
	{RoleSuperAdmin, ScopeAny, []Action{ActionManage}, allResources},

	// admin: manage on ...; read+list on modules, logs and events. Not
	// tenants, not modules:manage.
	{RoleAdmin, ScopeAny, []Action{ActionManage}, []Resource{
		ResourceUsers, ResourceSettings, ResourceProducts, ResourceCategories, ResourceOrders,
		ResourceCustomers, ResourceInventory, ResourceDiscounts, ResourcePosts, ResourcePages,
		ResourceNodes, ResourceMedia, ResourceComments, ResourceAnalytics, ResourceWebhooks,
		ResourceScripts, ResourceBlogPosts, ResourceForumCategories, ResourceForumTopics,
		ResourceForumReplies,
	}},
	{RoleAdmin, ScopeAny, []Action{ActionRead, ActionList}, []Resource{ResourceModules, ResourceLogs, ResourceEvents}},

	// manager: create/read/update/delete/list on products, categories, posts,
	// nodes, media, pages, blog_posts (+publish), forum_topics and
	// forum_replies (+moderate).
	{RoleManager, ScopeAny, crudl, []Resource{
		ResourceProducts, ResourceCategories, ResourcePosts, ResourceNodes, ResourceMedia,
		ResourcePages, ResourceBlogPosts, ResourceForumTopics, ResourceForumReplies,
	}},
	{RoleManager, ScopeAny, []Action{ActionPublish}, []Resource{ResourceBlogPosts}},
	{RoleManager, ScopeAny, []Action{ActionModerate}, []Resource{ResourceForumTopics, ResourceForumReplies}},
	// create/read/update/list on inventory and forum_categories; read/update/
	// list on orders; read/list on customers; analytics:read.
	{RoleManager, ScopeAny, []Action{ActionCreate, ActionRead, ActionUpdate, ActionList}, []Resource{ResourceInventory, ResourceForumCategories}},
	{RoleManager, ScopeAny, []Action{ActionRead, ActionUpdate, ActionList}, []Resource{ResourceOrders}},
	{RoleManager, ScopeAny, []Action{ActionRead, ActionList}, []Resource{ResourceCustomers}},
	{RoleManager, ScopeAny, []Action{ActionRead}, []Resource{ResourceAnalytics}},

	// customer: read/list on products, categories, posts, nodes, pages,
	// blog_posts, forum_categories, forum_topics, forum_replies, inventory;
	// create on orders, comments, forum_topics, forum_replies; update/delete
	// only their own comments, topics and replies.
	{RoleCustomer, ScopeAny, []Action{ActionRead, ActionList}, []Resource{
		ResourceProducts, ResourceCategories, ResourcePosts, ResourceNodes, ResourcePages,
		ResourceBlogPosts, ResourceForumCategories, ResourceForumTopics, ResourceForumReplies,
		ResourceInventory,
	}},
	{RoleCustomer, ScopeAny, []Action{ActionCreate}, []Resource{ResourceOrders, ResourceComments, ResourceForumTopics, ResourceForumReplies}},
	{RoleCustomer, ScopeOwn, []Action{ActionUpdate, ActionDelete}, []Resource{ResourceComments, ResourceForumTopics, ResourceForumReplies}},
}

// publicReads are the permissions anonymous callers hold for published
// storefront content of an enabled module (DOMAIN.md: published products,
// posts, pages, forum).
var publicReads = expand([]Action{ActionRead, ActionList}, []Resource{
	ResourceProducts, ResourcePosts, ResourceBlogPosts, ResourcePages,
	ResourceForumCategories, ResourceForumTopics, ResourceForumReplies,
})

// roleGrants is matrix indexed by role and permission. It is built once and
// never changed.
var roleGrants = buildGrants(matrix)

func buildGrants(rows []matrixRow) map[Role]map[Permission]Scope {
	out := map[Role]map[Permission]Scope{}
	for _, row := range rows {
		g := out[row.Role]
		if g == nil {
			g = map[Permission]Scope{}
			out[row.Role] = g
		}
		for _, p := range expand(row.Actions, row.Resources) {
			if g[p] != ScopeAny { // a broader scope is never narrowed
				g[p] = row.Scope
			}
		}
	}
	return out
}

func expand(actions []Action, resources []Resource) []Permission {
	out := make([]Permission, 0, len(actions)*len(resources))
	for _, r := range resources {
		for _, a := range actions {
			out = append(out, P(r, a))
		}
	}
	return out
}

// Grants returns the permissions role holds as the matrix writes them (a
// manage permission is one grant, not one per action), ordered by resource
// and action in the order of Resources and Actions. It returns nil for an
// invalid role.
func Grants(role Role) []Grant {
	g := roleGrants[role]
	out := make([]Grant, 0, len(g))
	for p, s := range g {
		out = append(out, Grant{Permission: p, Scope: s})
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b Grant) int { return comparePermissions(a.Permission, b.Permission) })
	return out
}

// RolePermissions returns the permissions of Grants(role), whatever their
// scope: what a user of the role may grant (see CheckGrant).
func RolePermissions(role Role) []Permission {
	grants := Grants(role)
	out := make([]Permission, len(grants))
	for i, g := range grants {
		out[i] = g.Permission
	}
	return out
}

// PublicRead reports whether anonymous callers may use p on published
// storefront content (read and list of products, posts, blog_posts, pages
// and the forum). Check still answers ErrUnauthenticated to an anonymous
// actor: a storefront query asks PublicRead first, and then shows published
// content only (and only of modules the tenant has enabled).
func PublicRead(p Permission) bool { return slices.Contains(publicReads, p) }

func comparePermissions(a, b Permission) int {
	if c := indexOf(allResources, a.Resource) - indexOf(allResources, b.Resource); c != 0 {
		return c
	}
	return indexOf(allActions, a.Action) - indexOf(allActions, b.Action)
}
