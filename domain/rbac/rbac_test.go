package rbac_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
)

const (
	aliceID = "01900000-0000-7000-8000-00000000a11c"
	bobID   = "01900000-0000-7000-8000-000000000b0b"
)

func mustUser(tb testing.TB, role rbac.Role) rbac.Actor {
	tb.Helper()
	a, err := rbac.UserActor(aliceID, role)
	if err != nil {
		tb.Fatalf("UserActor(%s) = %v", role, err)
	}
	return a
}

func mustKey(tb testing.TB, role rbac.Role, perms ...string) rbac.Actor {
	tb.Helper()
	ps, err := rbac.ParsePermissions(perms)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := rbac.KeyActor(aliceID, role, ps)
	if err != nil {
		tb.Fatalf("KeyActor(%s, %v) = %v", role, perms, err)
	}
	return a
}

func mustPerm(tb testing.TB, s string) rbac.Permission {
	tb.Helper()
	p, err := rbac.ParsePermission(s)
	if err != nil {
		tb.Fatalf("ParsePermission(%q) = %v", s, err)
	}
	return p
}

// TestRoleMatrix checks each role against permissions taken line by line
// from DOMAIN.md "Users, sessions, roles", with no owner (any-scope use).
func TestRoleMatrix(t *testing.T) {
	type row struct {
		perm string
		want bool
	}
	matrix := map[rbac.Role][]row{
		rbac.RoleSuperAdmin: {
			{"tenants:manage", true}, {"tenants:create", true}, {"modules:manage", true}, {"users:delete", true},
			{"scripts:update", true}, {"tags:export", true}, {"logs:read", true}, {"events:read", true},
			{"forum_replies:moderate", true}, {"settings:import", true},
		},
		rbac.RoleAdmin: {
			// manage on users ... forum_replies: every action follows from manage.
			{"users:manage", true}, {"users:create", true}, {"users:delete", true}, {"settings:update", true},
			{"products:publish", true}, {"categories:delete", true}, {"orders:export", true}, {"customers:read", true},
			{"inventory:update", true}, {"discounts:create", true}, {"posts:delete", true}, {"pages:publish", true},
			{"nodes:update", true}, {"media:delete", true}, {"comments:moderate", true}, {"analytics:read", true},
			{"webhooks:manage", true}, {"scripts:create", true}, {"blog_posts:publish", true},
			{"forum_categories:delete", true}, {"forum_topics:moderate", true}, {"forum_replies:delete", true},
			// read+list on modules, logs and events.
			{"modules:read", true}, {"modules:list", true}, {"logs:read", true}, {"logs:list", true},
			{"events:read", true}, {"events:list", true},
			// Not tenants, not modules:manage (nor other writes on read-only resources).
			{"tenants:read", false}, {"tenants:manage", false}, {"tenants:create", false},
			{"modules:manage", false}, {"modules:update", false}, {"logs:delete", false}, {"events:manage", false},
			{"tags:create", false},
		},
		rbac.RoleManager: {
			{"products:create", true}, {"products:read", true}, {"products:update", true}, {"products:delete", true},
			{"products:list", true}, {"categories:delete", true}, {"posts:update", true}, {"nodes:create", true},
			{"media:delete", true}, {"pages:list", true}, {"blog_posts:delete", true}, {"blog_posts:publish", true},
			{"forum_topics:delete", true}, {"forum_topics:moderate", true}, {"forum_replies:moderate", true},
			{"inventory:create", true}, {"inventory:update", true}, {"inventory:list", true},
			{"forum_categories:create", true}, {"forum_categories:update", true},
			{"orders:read", true}, {"orders:update", true}, {"orders:list", true},
			{"customers:read", true}, {"customers:list", true}, {"analytics:read", true},
			// What the matrix does not give.
			{"products:manage", false}, {"products:publish", false}, {"pages:publish", false},
			{"inventory:delete", false}, {"forum_categories:delete", false}, {"orders:create", false},
			{"orders:delete", false}, {"customers:update", false}, {"analytics:list", false},
			{"users:read", false}, {"users:update", false}, {"settings:read", false}, {"logs:read", false},
			{"events:read", false}, {"webhooks:read", false}, {"scripts:read", false}, {"comments:update", false},
			{"tenants:read", false}, {"modules:read", false},
		},
		rbac.RoleCustomer: {
			{"products:read", true}, {"products:list", true}, {"categories:read", true}, {"posts:list", true},
			{"nodes:read", true}, {"pages:read", true}, {"blog_posts:list", true}, {"forum_categories:read", true},
			{"forum_topics:list", true}, {"forum_replies:read", true}, {"inventory:read", true},
			{"orders:create", true}, {"comments:create", true}, {"forum_topics:create", true}, {"forum_replies:create", true},
			// Own scope only: with no owner, refused.
			{"comments:update", false}, {"comments:delete", false}, {"forum_topics:update", false}, {"forum_replies:delete", false},
			// Not in the matrix.
			{"orders:read", false}, {"products:create", false}, {"customers:read", false}, {"media:read", false},
			{"users:read", false}, {"analytics:read", false}, {"blog_posts:publish", false}, {"forum_topics:moderate", false},
			{"comments:read", false}, {"forum_categories:create", false},
		},
	}
	for _, role := range rbac.Roles() {
		actor := mustUser(t, role)
		for _, r := range matrix[role] {
			t.Run(string(role)+"/"+r.perm, func(t *testing.T) {
				err := rbac.Check(actor, mustPerm(t, r.perm), "")
				if (err == nil) != r.want {
					t.Fatalf("Check(%s, %s) = %v, want allowed=%v", role, r.perm, err, r.want)
				}
				if err != nil && domain.CodeOf(err) != domain.CodeForbidden {
					t.Errorf("code = %s, want FORBIDDEN", domain.CodeOf(err))
				}
				if got := rbac.Can(actor, mustPerm(t, r.perm), ""); got != r.want {
					t.Errorf("Can = %v, want %v", got, r.want)
				}
			})
		}
	}
}

func TestSuperAdminManagesEveryResource(t *testing.T) {
	actor := mustUser(t, rbac.RoleSuperAdmin)
	for _, res := range rbac.Resources() {
		for _, act := range rbac.Actions() {
			if err := rbac.Check(actor, rbac.P(res, act), ""); err != nil {
				t.Errorf("super_admin %s:%s = %v", res, act, err)
			}
		}
	}
	if got := len(rbac.Grants(rbac.RoleSuperAdmin)); got != len(rbac.Resources()) {
		t.Errorf("super_admin has %d grants, want one manage per resource (%d)", got, len(rbac.Resources()))
	}
}

func TestOwnScope(t *testing.T) {
	tests := []struct {
		name  string
		role  rbac.Role
		perm  string
		owner string
		want  error
	}{
		{"customer updates own comment", rbac.RoleCustomer, "comments:update", aliceID, nil},
		{"customer deletes own comment", rbac.RoleCustomer, "comments:delete", aliceID, nil},
		{"customer updates own forum topic", rbac.RoleCustomer, "forum_topics:update", aliceID, nil},
		{"customer deletes own forum topic", rbac.RoleCustomer, "forum_topics:delete", aliceID, nil},
		{"customer updates own forum reply", rbac.RoleCustomer, "forum_replies:update", aliceID, nil},
		{"customer deletes own forum reply", rbac.RoleCustomer, "forum_replies:delete", aliceID, nil},
		{"customer cannot update another's comment", rbac.RoleCustomer, "comments:update", bobID, rbac.ErrForbidden},
		{"customer cannot delete another's reply", rbac.RoleCustomer, "forum_replies:delete", bobID, rbac.ErrForbidden},
		{"customer cannot update a resource without owner", rbac.RoleCustomer, "forum_topics:update", "", rbac.ErrForbidden},
		{"own scope covers only the listed resources", rbac.RoleCustomer, "orders:update", aliceID, rbac.ErrForbidden},
		{"own scope covers only update and delete", rbac.RoleCustomer, "forum_topics:moderate", aliceID, rbac.ErrForbidden},
		{"own resource does not widen a read", rbac.RoleCustomer, "customers:read", aliceID, rbac.ErrForbidden},
		{"manager updates anyone's forum topic", rbac.RoleManager, "forum_topics:update", bobID, nil},
		{"admin deletes anyone's comment through manage", rbac.RoleAdmin, "comments:delete", bobID, nil},
		{"any scope ignores the owner", rbac.RoleCustomer, "products:read", bobID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rbac.Check(mustUser(t, tc.role), mustPerm(t, tc.perm), tc.owner)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want allowed", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("not owner names the own scope", func(t *testing.T) {
		err := rbac.Check(mustUser(t, rbac.RoleCustomer), mustPerm(t, "comments:update"), bobID)
		var denied *rbac.DeniedError
		if !errors.As(err, &denied) || denied.Reason != rbac.ReasonNotOwner {
			t.Fatalf("Check = %#v, want a DeniedError with ReasonNotOwner", err)
		}
		if msg := domain.MessageOf(err); !strings.Contains(msg, "comments:update") || !strings.Contains(msg, "own") {
			t.Errorf("message %q does not name the permission and the own scope", msg)
		}
	})
}

func TestDeniedErrors(t *testing.T) {
	tests := []struct {
		name       string
		actor      rbac.Actor
		perm       string
		wantCode   domain.Code
		wantIs     error
		wantReason rbac.Reason
	}{
		{"anonymous needs to authenticate", rbac.Anonymous(), "products:read", domain.CodeUnauthenticated, rbac.ErrUnauthenticated, rbac.ReasonUnauthenticated},
		{"zero actor is anonymous", rbac.Actor{}, "orders:create", domain.CodeUnauthenticated, rbac.ErrUnauthenticated, rbac.ReasonUnauthenticated},
		{"missing permission is forbidden", mustUser(t, rbac.RoleManager), "users:delete", domain.CodeForbidden, rbac.ErrForbidden, rbac.ReasonMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rbac.Check(tc.actor, mustPerm(t, tc.perm), "")
			if domain.CodeOf(err) != tc.wantCode {
				t.Errorf("code = %s, want %s", domain.CodeOf(err), tc.wantCode)
			}
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
			var denied *rbac.DeniedError
			if !errors.As(err, &denied) || denied.Reason != tc.wantReason || denied.Permission.String() != tc.perm {
				t.Fatalf("Check = %#v, want DeniedError{%s, %v}", err, tc.perm, tc.wantReason)
			}
			if msg := domain.MessageOf(err); !strings.Contains(msg, tc.perm) || msg != err.Error() {
				t.Errorf("message %q (Error %q) does not name %s", msg, err.Error(), tc.perm)
			}
		})
	}
	t.Run("unknown permission is an internal error", func(t *testing.T) {
		for _, p := range []rbac.Permission{{}, rbac.P("rockets", rbac.ActionRead), rbac.P(rbac.ResourceProducts, "fly")} {
			err := rbac.Check(mustUser(t, rbac.RoleSuperAdmin), p, "")
			if err == nil || domain.CodeOf(err) != domain.CodeInternal {
				t.Errorf("Check(%v) = %v, want an internal error", p, err)
			}
		}
	})
}

func TestActors(t *testing.T) {
	if _, err := rbac.UserActor("", rbac.RoleAdmin); err == nil || domain.CodeOf(err) != domain.CodeInternal {
		t.Errorf("UserActor without id = %v, want an internal error", err)
	}
	if _, err := rbac.UserActor(aliceID, "root"); !errors.Is(err, rbac.ErrInvalidRole) {
		t.Errorf("UserActor(root) = %v, want ErrInvalidRole", err)
	}
	if _, err := rbac.UserActor(aliceID, ""); !errors.Is(err, rbac.ErrInvalidRole) {
		t.Errorf("UserActor(\"\") = %v, want ErrInvalidRole", err)
	}
	if _, err := rbac.KeyActor(aliceID, rbac.RoleAdmin, []rbac.Permission{rbac.P("rockets", rbac.ActionRead)}); !errors.Is(err, rbac.ErrInvalidPermission) {
		t.Errorf("KeyActor with a bad permission = %v, want ErrInvalidPermission", err)
	}
	a := mustUser(t, rbac.RoleManager)
	if a.Anonymous() || a.APIKey() || a.UserID() != aliceID || a.Role() != rbac.RoleManager || a.KeyPermissions() != nil {
		t.Errorf("user actor = %+v", a)
	}
	k := mustKey(t, rbac.RoleAdmin, "products:read", "products:read")
	if k.Anonymous() || !k.APIKey() || len(k.KeyPermissions()) != 1 {
		t.Errorf("key actor = %+v", k)
	}
	if n := mustKey(t, rbac.RoleAdmin); !n.APIKey() {
		t.Errorf("a key without permissions is still a key")
	}
	if !rbac.Anonymous().Anonymous() || rbac.Anonymous().APIKey() {
		t.Errorf("Anonymous() is not anonymous")
	}
}

func TestAPIKeys(t *testing.T) {
	tests := []struct {
		name  string
		actor rbac.Actor
		perm  string
		owner string
		want  bool
	}{
		{"key holds an exact permission", mustKey(t, rbac.RoleAdmin, "products:read"), "products:read", "", true},
		{"key lacks other actions", mustKey(t, rbac.RoleAdmin, "products:read"), "products:update", "", false},
		{"key lacks other resources", mustKey(t, rbac.RoleAdmin, "products:read"), "orders:read", "", false},
		{"key manage implies every action", mustKey(t, rbac.RoleAdmin, "products:manage"), "products:delete", "", true},
		{"empty key may do nothing", mustKey(t, rbac.RoleSuperAdmin), "products:read", "", false},
		{"key is capped by the owner's role", mustKey(t, rbac.RoleManager, "users:read"), "users:read", "", false},
		{"demoted owner shrinks the key", mustKey(t, rbac.RoleCustomer, "products:manage"), "products:update", "", false},
		{"demoted owner keeps what the role allows", mustKey(t, rbac.RoleCustomer, "products:manage"), "products:read", "", true},
		{"key keeps the owner's own scope", mustKey(t, rbac.RoleCustomer, "comments:update"), "comments:update", aliceID, true},
		{"key's own scope refuses others' resources", mustKey(t, rbac.RoleCustomer, "comments:update"), "comments:update", bobID, false},
		{"events:read through a key", mustKey(t, rbac.RoleAdmin, "events:read"), "events:read", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rbac.Check(tc.actor, mustPerm(t, tc.perm), tc.owner)
			if (err == nil) != tc.want {
				t.Fatalf("Check = %v, want allowed=%v", err, tc.want)
			}
			if err != nil && !errors.Is(err, rbac.ErrForbidden) {
				t.Errorf("Check = %v, want ErrForbidden", err)
			}
		})
	}
}

func TestCheckGrant(t *testing.T) {
	tests := []struct {
		name     string
		actor    rbac.Actor
		perms    []string
		wantErr  error
		wantPerm string
	}{
		{"nothing requested", mustUser(t, rbac.RoleCustomer), nil, nil, ""},
		{"admin grants what manage covers", mustUser(t, rbac.RoleAdmin), []string{"products:read", "products:manage", "events:read"}, nil, ""},
		{"admin cannot grant tenants", mustUser(t, rbac.RoleAdmin), []string{"products:read", "tenants:read"}, rbac.ErrForbidden, "tenants:read"},
		{"admin cannot grant modules:manage", mustUser(t, rbac.RoleAdmin), []string{"modules:manage"}, rbac.ErrForbidden, "modules:manage"},
		{"manager cannot grant manage of what it has every action on", mustUser(t, rbac.RoleManager), []string{"products:manage"}, rbac.ErrForbidden, "products:manage"},
		{"manager grants its exact permissions", mustUser(t, rbac.RoleManager), []string{"products:delete", "blog_posts:publish", "analytics:read"}, nil, ""},
		{"customer grants an own-scope permission", mustUser(t, rbac.RoleCustomer), []string{"comments:update"}, nil, ""},
		{"customer cannot grant users", mustUser(t, rbac.RoleCustomer), []string{"users:read"}, rbac.ErrForbidden, "users:read"},
		{"super_admin grants anything", mustUser(t, rbac.RoleSuperAdmin), []string{"tenants:manage", "modules:manage"}, nil, ""},
		{"a key grants only within its own set", mustKey(t, rbac.RoleAdmin, "products:manage"), []string{"products:read", "orders:read"}, rbac.ErrForbidden, "orders:read"},
		{"anonymous grants nothing", rbac.Anonymous(), []string{"products:read"}, rbac.ErrUnauthenticated, "products:read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			perms, err := rbac.ParsePermissions(tc.perms)
			if err != nil {
				t.Fatal(err)
			}
			err = rbac.CheckGrant(tc.actor, perms)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckGrant = %v, want nil", err)
				}
				return
			}
			var denied *rbac.DeniedError
			if !errors.Is(err, tc.wantErr) || !errors.As(err, &denied) || denied.Permission.String() != tc.wantPerm {
				t.Fatalf("CheckGrant = %v, want %v naming %s", err, tc.wantErr, tc.wantPerm)
			}
			if !strings.Contains(domain.MessageOf(err), tc.wantPerm) {
				t.Errorf("message %q does not name %s", domain.MessageOf(err), tc.wantPerm)
			}
		})
	}
	t.Run("invalid permission", func(t *testing.T) {
		err := rbac.CheckGrant(mustUser(t, rbac.RoleSuperAdmin), []rbac.Permission{rbac.P("x", "y")})
		if !errors.Is(err, rbac.ErrInvalidPermission) {
			t.Errorf("CheckGrant = %v, want ErrInvalidPermission", err)
		}
	})
}

func TestCheckAssignRole(t *testing.T) {
	tests := []struct {
		name    string
		actor   rbac.Actor
		role    rbac.Role
		wantErr error
	}{
		{"super_admin assigns super_admin", mustUser(t, rbac.RoleSuperAdmin), rbac.RoleSuperAdmin, nil},
		{"admin assigns admin", mustUser(t, rbac.RoleAdmin), rbac.RoleAdmin, nil},
		{"admin assigns manager", mustUser(t, rbac.RoleAdmin), rbac.RoleManager, nil},
		{"admin assigns customer", mustUser(t, rbac.RoleAdmin), rbac.RoleCustomer, nil},
		{"admin cannot make a super_admin", mustUser(t, rbac.RoleAdmin), rbac.RoleSuperAdmin, rbac.ErrForbidden},
		{"manager cannot change roles", mustUser(t, rbac.RoleManager), rbac.RoleCustomer, rbac.ErrForbidden},
		{"customer cannot change roles", mustUser(t, rbac.RoleCustomer), rbac.RoleCustomer, rbac.ErrForbidden},
		{"anonymous must authenticate", rbac.Anonymous(), rbac.RoleCustomer, rbac.ErrUnauthenticated},
		{"unknown role", mustUser(t, rbac.RoleSuperAdmin), "root", rbac.ErrInvalidRole},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rbac.CheckAssignRole(tc.actor, tc.role)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("CheckAssignRole = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestParsePermission(t *testing.T) {
	tests := []struct {
		in      string
		want    rbac.Permission
		wantErr bool
	}{
		{"products:read", rbac.P(rbac.ResourceProducts, rbac.ActionRead), false},
		{"  Forum_Topics:MODERATE ", rbac.P(rbac.ResourceForumTopics, rbac.ActionModerate), false},
		{"blog_posts:publish", rbac.P(rbac.ResourceBlogPosts, rbac.ActionPublish), false},
		{"", rbac.Permission{}, true},
		{"products", rbac.Permission{}, true},
		{"products:", rbac.Permission{}, true},
		{":read", rbac.Permission{}, true},
		{"products:read:extra", rbac.Permission{}, true},
		{"rockets:read", rbac.Permission{}, true},
		{"products:fly", rbac.Permission{}, true},
		{"products :read", rbac.Permission{}, true},
		{"pr\u0131ducts:read", rbac.Permission{}, true},
		{"products:read\x00", rbac.Permission{}, true},
		{"webhoo\u212As:read", rbac.Permission{}, true},
		{strings.Repeat("a", 65), rbac.Permission{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := rbac.ParsePermission(tc.in)
			if tc.wantErr {
				if !errors.Is(err, rbac.ErrInvalidPermission) || domain.FieldOf(err) != "permissions" || got != (rbac.Permission{}) {
					t.Fatalf("ParsePermission = %v, %v; want ErrInvalidPermission on field permissions", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParsePermission = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParsePermissions(t *testing.T) {
	got, err := rbac.ParsePermissions([]string{"products:read", "PRODUCTS:READ", "orders:list"})
	if err != nil || len(got) != 2 || got[0].String() != "products:read" || got[1].String() != "orders:list" {
		t.Fatalf("ParsePermissions = %v, %v", got, err)
	}
	if got, err := rbac.ParsePermissions(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ParsePermissions(nil) = %#v, %v; want an empty non-nil slice", got, err)
	}
	_, err = rbac.ParsePermissions([]string{"products:read", "nope"})
	if !errors.Is(err, rbac.ErrInvalidPermission) || !strings.Contains(domain.MessageOf(err), "permissions[1]") {
		t.Errorf("ParsePermissions with a bad second = %v (message %q)", err, domain.MessageOf(err))
	}
	if _, err := rbac.ParsePermissions(make([]string, rbac.MaxPermissions+1)); !errors.Is(err, rbac.ErrInvalidPermission) {
		t.Errorf("too many permissions = %v", err)
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]rbac.Role{"SUPER_ADMIN": rbac.RoleSuperAdmin, " admin ": rbac.RoleAdmin, "Manager": rbac.RoleManager, "customer": rbac.RoleCustomer} {
		if got, err := rbac.ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "root", "super admin", strings.Repeat("a", 100)} {
		if _, err := rbac.ParseRole(in); !errors.Is(err, rbac.ErrInvalidRole) {
			t.Errorf("ParseRole(%q) = %v, want ErrInvalidRole", in, err)
		}
	}
}

func TestGrantsAreOrderedAndScoped(t *testing.T) {
	grants := rbac.Grants(rbac.RoleCustomer)
	own := 0
	for i, g := range grants {
		if g.Scope == rbac.ScopeOwn {
			own++
		}
		if i > 0 && grants[i-1].Permission == g.Permission {
			t.Errorf("duplicate grant %v", g)
		}
	}
	if own != 6 {
		t.Errorf("customer has %d own-scope grants, want 6 (update/delete × comments, forum_topics, forum_replies)", own)
	}
	if grants[0].Permission != rbac.P(rbac.ResourceProducts, rbac.ActionRead) {
		t.Errorf("first customer grant = %v, want products:read (resource order, then action order)", grants[0])
	}
	if rbac.Grants("root") != nil {
		t.Errorf("Grants of an unknown role is not nil")
	}
	if got := len(rbac.RolePermissions(rbac.RoleCustomer)); got != len(grants) {
		t.Errorf("RolePermissions has %d, Grants %d", got, len(grants))
	}
}

func TestPublicRead(t *testing.T) {
	for perm, want := range map[string]bool{
		"products:read": true, "products:list": true, "posts:read": true, "blog_posts:list": true,
		"pages:read": true, "forum_topics:read": true, "forum_replies:list": true, "forum_categories:read": true,
		"products:update": false, "orders:read": false, "users:list": false, "customers:read": false,
		"comments:read": false, "nodes:read": false,
	} {
		if got := rbac.PublicRead(mustPerm(t, perm)); got != want {
			t.Errorf("PublicRead(%s) = %v, want %v", perm, got, want)
		}
	}
}

func TestReasonString(t *testing.T) {
	for r, want := range map[rbac.Reason]string{
		rbac.ReasonUnauthenticated: "unauthenticated", rbac.ReasonMissing: "missing",
		rbac.ReasonNotOwner: "not_owner", rbac.ReasonNotGrantable: "not_grantable", rbac.Reason(42): "Reason(42)",
	} {
		if got := r.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(r), got, want)
		}
	}
}
