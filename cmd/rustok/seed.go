package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/domain/module"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/domain/user"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	userproj "github.com/rustok/rustok/projections/user"
)

// The demo data of `rustok seed` (DOMAIN.md "Seed data and tasks").
const (
	seedTenantSlug = "demo"
	seedTenantName = "Demo Workspace"
	seedDomain     = "demo.localhost"
	// seedPasswordEnv names the variable with the password of the seeded
	// users; seedDefaultPassword is used when it is unset or empty.
	seedPasswordEnv     = "RUSTOK_SEED_PASSWORD"
	seedDefaultPassword = "dev-password-123"
)

// seedModules are the optional modules the demo tenant has enabled; they
// are switched on in dependency order (moduleOrder), whatever the order here.
var seedModules = []string{module.SlugContent, module.SlugCommerce, module.SlugPages, module.SlugBlog, module.SlugForum}

// seedUsers are the users of the demo tenant.
var seedUsers = []struct {
	email, name string
	role        user.Role
}{
	{"admin@demo.local", "Demo Admin", user.RoleSuperAdmin},
	{"customer@demo.local", "Demo Customer", user.RoleCustomer},
}

func (c *cli) seedCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "seed",
		Short: "Create the demo tenant, its modules and users (idempotent; refused in production)",
		Long: "Create the tenant demo (\"Demo Workspace\", domain demo.localhost), enable the modules content,\n" +
			"commerce, pages, blog and forum, and create the super admin admin@demo.local and the customer\n" +
			"customer@demo.local with the password of $" + seedPasswordEnv + " (default " + seedDefaultPassword + ").\n" +
			"What exists already is left as it is, so a second run changes nothing. Refused in production.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Env == config.EnvProduction {
				return errors.New("seed is refused when the environment is production")
			}
			a, err := build(cmd.Context(), cfg, newLogger(cfg.Logger, c.stderr), buildOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			return c.seed(cmd.Context(), a)
		},
	}
}

// seed makes sure of the demo data, printing a line per step, and then
// brings the tenants and users read models up to date.
func (c *cli) seed(ctx context.Context, a *app) error {
	password := c.getenv(seedPasswordEnv)
	if password == "" {
		password = seedDefaultPassword
	}
	// Checked before anything is written, so that a password the policy
	// refuses does not leave half the demo data behind.
	policy := user.Policy{MinLength: a.cfg.Auth.Password.MinLength}
	for _, u := range seedUsers {
		if err := policy.Check(password, u.email); err != nil {
			return fmt.Errorf("%s: %w", seedPasswordEnv, err)
		}
	}
	order, err := moduleOrder(a.modules, seedModules)
	if err != nil {
		return err
	}
	th, err := newTenantHandlers(a)
	if err != nil {
		return err
	}
	id, err := cliIdentity(a)
	if err != nil {
		return err
	}
	defer id.Close()

	meta, who := c.actor(), c.operator()
	var last int64
	changes := 0
	note := func(pos int64) {
		if pos > 0 {
			changes++
			last = max(last, pos)
		}
	}

	tenantID, pos, err := ensureTenant(ctx, a, th.create, meta, tenantSpec{
		ref:  tenantdom.Identifier{Kind: tenantdom.KindSlug, Value: seedTenantSlug},
		slug: seedTenantSlug, name: seedTenantName, domains: []string{seedDomain},
	})
	if err != nil {
		return fmt.Errorf("seed tenant %s: %w", seedTenantSlug, err)
	}
	note(pos)
	if pos > 0 {
		fmt.Fprintf(c.stdout, "seed: tenant %s created (id %s)\n", seedTenantSlug, tenantID)
	} else {
		fmt.Fprintf(c.stdout, "seed: tenant %s exists (id %s)\n", seedTenantSlug, tenantID)
	}

	for _, m := range order {
		res, err := th.toggle.Handle(ctx, tenantcmd.ToggleModule{Tenant: tenantID, Module: m, Enabled: true, Actor: meta, Who: who})
		if err != nil {
			return fmt.Errorf("seed: enable module %s: %w", m, err)
		}
		note(res.Position)
		if res.Position > 0 {
			fmt.Fprintf(c.stdout, "seed: module %s enabled\n", m)
		} else {
			fmt.Fprintf(c.stdout, "seed: module %s already enabled\n", m)
		}
	}

	for _, u := range seedUsers {
		_, pos, role, err := ensureUser(ctx, a, id, who, meta, userSpec{
			tenantID: tenantID, email: u.email, name: u.name, password: password, role: u.role,
		})
		if err != nil {
			return fmt.Errorf("seed user %s: %w", u.email, err)
		}
		note(pos)
		switch {
		case pos > 0:
			fmt.Fprintf(c.stdout, "seed: user %s (%s) created\n", u.email, role)
		case role != u.role:
			fmt.Fprintf(c.stdout, "seed: user %s exists with role %s (not %s); left as it is\n", u.email, role, u.role)
		default:
			fmt.Fprintf(c.stdout, "seed: user %s (%s) exists\n", u.email, role)
		}
	}

	if changes == 0 {
		fmt.Fprintln(c.stdout, "seed: nothing to do, the demo data is already there")
		return nil
	}
	for _, name := range []string{tenantproj.Name, userproj.Name} {
		if err := a.catchUp(ctx, name, last); err != nil {
			return fmt.Errorf("the demo data is saved (position %d), but updating the %s read model failed: %w", last, name, err)
		}
	}
	c.publishInvalidation(ctx, a, tenantID)
	fmt.Fprintf(c.stdout, "seed: done, %d changes (sign in to tenant %s as %s)\n", changes, seedTenantSlug, seedUsers[0].email)
	return nil
}

// moduleOrder returns the modules of wanted in registry order, each after
// the optional modules it depends on, which are added when wanted does not
// name them (the registry has no cycles). Errors: *module.UnknownModuleError.
func moduleOrder(reg *module.Registry, wanted []string) ([]string, error) {
	for _, w := range wanted {
		if _, ok := reg.Get(w); !ok {
			return nil, &module.UnknownModuleError{Slug: w}
		}
	}
	var out []string
	seen := map[string]bool{}
	var visit func(d module.Descriptor)
	visit = func(d module.Descriptor) {
		if seen[d.Slug] {
			return
		}
		seen[d.Slug] = true
		for _, dep := range d.Dependencies {
			if dd, ok := reg.Get(dep); ok {
				visit(dd)
			}
		}
		if d.Kind == module.KindOptional {
			out = append(out, d.Slug)
		}
	}
	for _, d := range reg.All() {
		if slices.Contains(wanted, d.Slug) {
			visit(d)
		}
	}
	return out, nil
}
