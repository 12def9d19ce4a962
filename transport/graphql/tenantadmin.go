package gql

import (
	"context"

	"github.com/graphql-go/graphql"

	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// TenantInput is the input of createTenant and updateTenant; nil and
// empty fields are not given.
type TenantInput struct {
	Slug, Name                *string
	Domains, Modules          []string
	AddDomains, RemoveDomains []string
}

// TenantAdminDeps are the platform's tenant administration operations,
// for a super_admin (tenants:create, tenants:update): the same command
// handlers as `rustok tenants`. Each returns the tenant's id and the
// position of its last event (0: no change); the actor comes from ctx.
type TenantAdminDeps struct {
	Create  func(ctx context.Context, in TenantInput) (id string, position int64, err error)
	Update  func(ctx context.Context, id string, in TenantInput) (int64, error)
	Disable func(ctx context.Context, id string) (int64, error)
	Enable  func(ctx context.Context, id string) (int64, error)
}

// tenantAdminFields returns createTenant, updateTenant, disableTenant and
// enableTenant over the Tenant type.
func (r tenantResolvers) tenantAdminFields(tenantType *graphql.Object) graphql.Fields {
	d := r.d.Admin
	strList := graphql.NewList(graphql.NewNonNull(graphql.String))
	nonNullID := graphql.NewNonNull(graphql.ID)
	createInput := graphql.NewInputObject(graphql.InputObjectConfig{Name: "CreateTenantInput", Fields: graphql.InputObjectConfigFieldMap{
		"slug":    {Type: graphql.NewNonNull(graphql.String)},
		"name":    {Type: graphql.NewNonNull(graphql.String)},
		"domains": {Type: strList},
		"modules": {Type: strList, Description: "Optional modules to enable; absent: the configured defaults."},
	}})
	updateInput := graphql.NewInputObject(graphql.InputObjectConfig{Name: "UpdateTenantInput", Fields: graphql.InputObjectConfigFieldMap{
		"name":          {Type: graphql.String},
		"addDomains":    {Type: strList},
		"removeDomains": {Type: strList},
	}})
	// answer reads the tenant once the read models reached position.
	answer := func(p graphql.ResolveParams, id string, position int64, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		if err := AwaitPosition(p.Context, position); err != nil {
			return nil, err
		}
		v, err := r.d.Tenants.ByID(p.Context, id)
		if err != nil {
			return nil, err
		}
		return tenantViewOut(v), nil
	}
	idArg := func(p graphql.ResolveParams) string { id, _ := p.Args["id"].(string); return id }
	return graphql.Fields{
		"createTenant": &graphql.Field{
			Type:        graphql.NewNonNull(tenantType),
			Description: "Creates a tenant of the platform. Needs tenants:create (super_admin).",
			Args:        graphql.FieldConfigArgument{"input": {Type: graphql.NewNonNull(createInput)}},
			Resolve: func(p graphql.ResolveParams) (any, error) {
				if _, err := requestTenant(p.Context); err != nil {
					return nil, err
				}
				in, _ := p.Args["input"].(map[string]any)
				id, pos, err := d.Create(p.Context, TenantInput{
					Slug: inputStringPtr(in, "slug"), Name: inputStringPtr(in, "name"),
					Domains: inputStrings(in, "domains"), Modules: inputStrings(in, "modules"),
				})
				return answer(p, id, pos, err)
			},
		},
		"updateTenant": &graphql.Field{
			Type:        graphql.NewNonNull(tenantType),
			Description: "Renames a tenant or changes its domains (removed first, then added). Needs tenants:update (super_admin).",
			Args:        graphql.FieldConfigArgument{"id": {Type: nonNullID}, "input": {Type: graphql.NewNonNull(updateInput)}},
			Resolve: func(p graphql.ResolveParams) (any, error) {
				if _, err := requestTenant(p.Context); err != nil {
					return nil, err
				}
				in, _ := p.Args["input"].(map[string]any)
				pos, err := d.Update(p.Context, idArg(p), TenantInput{
					Name: inputStringPtr(in, "name"), AddDomains: inputStrings(in, "addDomains"), RemoveDomains: inputStrings(in, "removeDomains"),
				})
				return answer(p, idArg(p), pos, err)
			},
		},
		"disableTenant": &graphql.Field{
			Type:        graphql.NewNonNull(tenantType),
			Description: "Disables a tenant: its requests are FORBIDDEN until it is enabled. Needs tenants:update (super_admin).",
			Args:        graphql.FieldConfigArgument{"id": {Type: nonNullID}},
			Resolve: func(p graphql.ResolveParams) (any, error) {
				if _, err := requestTenant(p.Context); err != nil {
					return nil, err
				}
				pos, err := d.Disable(p.Context, idArg(p))
				return answer(p, idArg(p), pos, err)
			},
		},
		"enableTenant": &graphql.Field{
			Type:        graphql.NewNonNull(tenantType),
			Description: "Enables a disabled tenant. Needs tenants:update (super_admin).",
			Args:        graphql.FieldConfigArgument{"id": {Type: nonNullID}},
			Resolve: func(p graphql.ResolveParams) (any, error) {
				if _, err := requestTenant(p.Context); err != nil {
					return nil, err
				}
				pos, err := d.Enable(p.Context, idArg(p))
				return answer(p, idArg(p), pos, err)
			},
		},
	}
}

func inputStrings(in map[string]any, field string) []string {
	list, ok := in[field].([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func tenantViewOut(v tenantqry.View) tenantOut {
	return tenantOut{v.ID, v.Name, v.Slug, nonNil(v.Domains), v.Status, v.DefaultLocale, nonNil(v.Locales)}
}
