package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain/rbac"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/tenantcache"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// tenantHandlers are the tenant command handlers, the same ones the API uses.
type tenantHandlers struct {
	create  commands.Handler[tenantcmd.CreateTenant]
	update  commands.Handler[tenantcmd.UpdateTenant]
	disable commands.Handler[tenantcmd.DisableTenant]
	enable  commands.Handler[tenantcmd.EnableTenant]
	toggle  commands.Handler[tenantcmd.ToggleModule]
}

func newTenantHandlers(a *app) (tenantHandlers, error) {
	m, err := a.commandMetrics()
	if err != nil {
		return tenantHandlers{}, err
	}
	d := commands.Decorators{Logger: a.logger, Metrics: m}
	// The base domains apply in every resolution mode (docs/adr/0017).
	bases, err := tenantdom.NewBaseDomains(a.cfg.Settings.Rustok.Tenant.BaseDomains)
	if err != nil {
		return tenantHandlers{}, fmt.Errorf("settings.rustok.tenant.base_domains: %w", err)
	}
	newID := func() (string, error) {
		id, err := uuid.NewV7()
		return id.String(), err
	}
	return tenantHandlers{
		create:  tenantcmd.NewCreateTenantHandler(a.store, a.modules, a.cfg.Settings.Rustok.Modules.DefaultEnabled, newID, time.Now, d, tenantcmd.WithBaseDomains(bases)),
		update:  tenantcmd.NewUpdateTenantHandler(a.store, time.Now, d, tenantcmd.WithBaseDomains(bases)),
		disable: tenantcmd.NewDisableTenantHandler(a.store, time.Now, d),
		enable:  tenantcmd.NewEnableTenantHandler(a.store, time.Now, d),
		toggle:  tenantcmd.NewToggleModuleHandler(a.store, a.modules, time.Now, d),
	}, nil
}

// actor is the metadata of commands an operator runs from the CLI.
func (c *cli) actor() eventstore.Metadata {
	user := c.getenv("USER")
	if user == "" {
		user = "unknown"
	}
	id, _ := uuid.NewV7()
	return eventstore.Metadata{ActorID: "cli:" + user, RequestID: id.String(), CorrelationID: id.String()}
}

// operator is the actor of an operator at the CLI: a super_admin, since
// whoever runs the binary against the database holds every right anyway.
func (c *cli) operator() rbac.Actor {
	a, err := rbac.UserActor(c.actor().ActorID, rbac.RoleSuperAdmin)
	if err != nil {
		panic("cli operator: " + err.Error()) // a non-empty id and a valid role
	}
	return a
}

func (c *cli) tenantsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "Tenant administration (through the same command handlers as the API)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("tenants needs a subcommand: create, update, disable, enable, list or modules")
		},
	}
	cmd.AddCommand(c.tenantsCreate(), c.tenantsUpdate(), c.tenantsStatus("disable"), c.tenantsStatus("enable"), c.tenantsList(), c.tenantsModules())
	return cmd
}

// withTenants opens the app, runs f with the handlers, then brings the tenants
// read model up to date and tells running instances over Redis (if configured).
func (c *cli) withTenants(ctx context.Context, f func(a *app, h tenantHandlers) (tenantID string, res commands.Result, err error)) error {
	a, err := c.open(ctx, buildOptions{})
	if err != nil {
		return err
	}
	defer a.Close()
	h, err := newTenantHandlers(a)
	if err != nil {
		return err
	}
	tenantID, res, err := f(a, h)
	if err != nil {
		return err
	}
	if res.Position > 0 {
		if err := a.catchUp(ctx, tenantproj.Name, res.Position); err != nil {
			return fmt.Errorf("the change is saved (position %d), but updating the tenants read model failed: %w", res.Position, err)
		}
		c.publishInvalidation(ctx, a, tenantID)
	}
	return nil
}

// publishInvalidation is the optional Redis fast path; every instance also
// learns of the change from the log within its poll interval.
func (c *cli) publishInvalidation(ctx context.Context, a *app, tenantID string) {
	if a.cfg.Redis.URL == "" || tenantID == "" {
		return
	}
	opts, err := redis.ParseURL(a.cfg.Redis.URL)
	if err != nil {
		return
	}
	client := redis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := tenantcache.PublishInvalidation(ctx, client, invalidationChannel, tenantcache.InvalidationMessage{TenantID: tenantID}); err != nil {
		a.logger.Warn("redis invalidation not sent; instances will see the change from the log", "error", err)
	}
}

// tenantID resolves a slug or id after a write, for messages.
func tenantIDOf(ctx context.Context, a *app, ref string) string {
	for _, kind := range []string{"id", "slug"} {
		if v, err := tenantqry.NewReader(a.db).Lookup(ctx, kind, strings.ToLower(strings.TrimSpace(ref))); err == nil {
			return v.ID
		}
	}
	return ""
}

func (c *cli) tenantsCreate() *cobra.Command {
	var slug, name, adminEmail string
	var domains []string
	var adminPasswordStdin bool
	cmd := &cobra.Command{
		Use:   "create --slug S --name N [--domain HOST]... [--admin-email E [--admin-password-stdin]]",
		Short: "Create a tenant (and, with --admin-email, its first admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			admin, err := c.readFirstAdmin(adminEmail, adminPasswordStdin)
			if err != nil {
				return err
			}
			var adminErr error
			err = c.withTenants(cmd.Context(), func(a *app, h tenantHandlers) (string, commands.Result, error) {
				if admin != nil {
					if err := admin.check(a.cfg); err != nil {
						return "", commands.Result{}, err
					}
				}
				id, err := uuid.NewV7()
				if err != nil {
					return "", commands.Result{}, err
				}
				res, err := h.create.Handle(cmd.Context(), tenantcmd.CreateTenant{ID: id.String(), Slug: slug, Name: name, Domains: domains, Actor: c.actor()})
				if err != nil {
					return "", res, err
				}
				normalized := strings.ToLower(strings.TrimSpace(slug))
				fmt.Fprintf(c.stdout, "created tenant %s (id %s) at position %d\n", normalized, id, res.Position)
				if admin != nil {
					// Reported after the tenant's read model is updated: the tenant stays.
					if adminErr = c.createFirstAdmin(cmd.Context(), a, id.String(), normalized, admin); adminErr != nil {
						adminErr = fmt.Errorf("tenant %s is created, but its admin %s is not: %w", normalized, admin.email, adminErr)
					}
				}
				return id.String(), res, nil
			})
			if err != nil {
				return err
			}
			return adminErr
		},
	}
	cmd.Flags().StringVar(&slug, "slug", "", "unique slug (a-z, 0-9, -)")
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringArrayVar(&domains, "domain", nil, "a host name that resolves to this tenant (repeatable)")
	cmd.Flags().StringVar(&adminEmail, "admin-email", "", "also create the tenant's first admin with this email, and print a one-time link to set their password")
	cmd.Flags().BoolVar(&adminPasswordStdin, "admin-password-stdin", false, "read the first admin's password from stdin (one line) instead of printing a link")
	_ = cmd.MarkFlagRequired("slug")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (c *cli) tenantsUpdate() *cobra.Command {
	var name string
	var add, remove []string
	cmd := &cobra.Command{
		Use:   "update TENANT [--name N] [--add-domain H] [--remove-domain H]",
		Short: "Rename a tenant or change its domains (TENANT is a slug or an id)",
		Args:  exactArgs(1, "TENANT (a slug or an id)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := tenantcmd.UpdateTenant{Tenant: args[0], AddDomains: add, RemoveDomains: remove, Actor: c.actor()}
			if cmd.Flags().Changed("name") {
				u.Name = &name
			}
			if u.Name == nil && len(add) == 0 && len(remove) == 0 {
				return usagef("update needs at least one of --name, --add-domain, --remove-domain")
			}
			return c.withTenants(cmd.Context(), func(a *app, h tenantHandlers) (string, commands.Result, error) {
				res, err := h.update.Handle(cmd.Context(), u)
				if err != nil {
					return "", res, err
				}
				c.reportChange("updated", args[0], res)
				return tenantIDOf(cmd.Context(), a, args[0]), res, nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	cmd.Flags().StringArrayVar(&add, "add-domain", nil, "host name to add (repeatable)")
	cmd.Flags().StringArrayVar(&remove, "remove-domain", nil, "host name to remove (repeatable)")
	return cmd
}

func (c *cli) reportChange(verb, ref string, res commands.Result) {
	if res.Position == 0 {
		fmt.Fprintf(c.stdout, "tenant %s unchanged (nothing to do)\n", ref)
		return
	}
	fmt.Fprintf(c.stdout, "%s tenant %s at position %d\n", verb, ref, res.Position)
}

func (c *cli) tenantsStatus(verb string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " TENANT",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a tenant (a disabled tenant is refused everywhere with 403)",
		Args:  exactArgs(1, "TENANT (a slug or an id)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withTenants(cmd.Context(), func(a *app, h tenantHandlers) (string, commands.Result, error) {
				var res commands.Result
				var err error
				if verb == "disable" {
					res, err = h.disable.Handle(cmd.Context(), tenantcmd.DisableTenant{Tenant: args[0], Actor: c.actor()})
				} else {
					res, err = h.enable.Handle(cmd.Context(), tenantcmd.EnableTenant{Tenant: args[0], Actor: c.actor()})
				}
				if err != nil {
					return "", res, err
				}
				c.reportChange(verb+"d", args[0], res)
				return tenantIDOf(cmd.Context(), a, args[0]), res, nil
			})
		},
	}
}

func (c *cli) tenantsModules() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "modules enable|disable TENANT MODULE",
		Short: "Switch a module on or off for a tenant",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return usagef("modules needs enable or disable") },
	}
	for _, verb := range []string{"enable", "disable"} {
		cmd.AddCommand(&cobra.Command{
			Use:   verb + " TENANT MODULE",
			Short: strings.ToUpper(verb[:1]) + verb[1:] + " a module for a tenant",
			Args:  exactArgs(2, "TENANT and MODULE"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return c.withTenants(cmd.Context(), func(a *app, h tenantHandlers) (string, commands.Result, error) {
					res, err := h.toggle.Handle(cmd.Context(), tenantcmd.ToggleModule{Tenant: args[0], Module: args[1], Enabled: verb == "enable", Actor: c.actor(), Who: c.operator()})
					if err != nil {
						return "", res, err
					}
					if res.Position == 0 {
						fmt.Fprintf(c.stdout, "module %s already %sd for %s\n", args[1], verb, args[0])
					} else {
						fmt.Fprintf(c.stdout, "module %s %sd for %s at position %d\n", args[1], verb, args[0], res.Position)
					}
					return tenantIDOf(cmd.Context(), a, args[0]), res, nil
				})
			},
		})
	}
	return cmd
}

func (c *cli) tenantsList() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.open(cmd.Context(), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.catchUp(cmd.Context(), tenantproj.Name, 0); err != nil {
				return err
			}
			reader := tenantqry.NewReader(a.db)
			var all []tenantqry.View
			after := ""
			for {
				page, err := reader.List(cmd.Context(), tenantqry.ListQuery{Limit: 100, AfterSlug: after})
				if err != nil {
					return err
				}
				all = append(all, page...)
				if len(page) < 100 {
					break
				}
				after = page[len(page)-1].Slug
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if all == nil {
					all = []tenantqry.View{}
				}
				return enc.Encode(all)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SLUG\tNAME\tSTATUS\tID\tDOMAINS\tMODULES")
			for _, t := range all {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Name, t.Status, t.ID, strings.Join(t.Domains, ","), strings.Join(t.Modules, ","))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
