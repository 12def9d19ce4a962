package main

import (
	"context"

	"github.com/google/uuid"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain/rbac"
	gql "github.com/rustok/rustok/transport/graphql"
	httpserver "github.com/rustok/rustok/transport/http"
)

// tenantAdmin is the GraphQL face of `rustok tenants`: the same command
// handlers, for a caller holding the tenants permission each needs (only
// a super_admin does). The tenant commands predate the command pipeline
// (they take no actor), so the permission is checked here, by rbac.Check,
// before the handler runs.
func tenantAdmin(th tenantHandlers) gql.TenantAdminDeps {
	allowed := func(ctx context.Context, action rbac.Action) error {
		return rbac.Check(httpserver.ActorFrom(ctx), rbac.P(rbac.ResourceTenants, action), "")
	}
	return gql.TenantAdminDeps{
		Create: func(ctx context.Context, in gql.TenantInput) (string, int64, error) {
			if err := allowed(ctx, rbac.ActionCreate); err != nil {
				return "", 0, err
			}
			id, err := uuid.NewV7()
			if err != nil {
				return "", 0, err
			}
			res, err := th.create.Handle(ctx, tenantcmd.CreateTenant{
				ID: id.String(), Slug: deref(in.Slug), Name: deref(in.Name), Domains: in.Domains, Modules: in.Modules, Actor: requestMeta(ctx),
			})
			return id.String(), res.Position, err
		},
		Update: func(ctx context.Context, id string, in gql.TenantInput) (int64, error) {
			if err := allowed(ctx, rbac.ActionUpdate); err != nil {
				return 0, err
			}
			res, err := th.update.Handle(ctx, tenantcmd.UpdateTenant{
				Tenant: id, Name: in.Name, AddDomains: in.AddDomains, RemoveDomains: in.RemoveDomains, Actor: requestMeta(ctx),
			})
			return res.Position, err
		},
		Disable: func(ctx context.Context, id string) (int64, error) {
			if err := allowed(ctx, rbac.ActionUpdate); err != nil {
				return 0, err
			}
			res, err := th.disable.Handle(ctx, tenantcmd.DisableTenant{Tenant: id, Actor: requestMeta(ctx)})
			return res.Position, err
		},
		Enable: func(ctx context.Context, id string) (int64, error) {
			if err := allowed(ctx, rbac.ActionUpdate); err != nil {
				return 0, err
			}
			res, err := th.enable.Handle(ctx, tenantcmd.EnableTenant{Tenant: id, Actor: requestMeta(ctx)})
			return res.Position, err
		},
	}
}
