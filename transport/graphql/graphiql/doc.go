// Package graphiql serves the GraphiQL IDE from the binary: the page, and
// GraphiQL 3, React 18 and the start script as assets embedded with go:embed.
// The page names no other origin and runs no inline script, so it works
// offline and behind a strict firewall, under a Content-Security-Policy that
// allows only this origin (see Page.CSP). It uses net/http types only, so
// any router can mount it; with echo:
//
//	page, err := graphiql.New(graphiql.Config{Endpoint: "/api/graphql", AssetsPath: "/api/graphql/assets"})
//	if err != nil {
//		return fmt.Errorf("graphiql: %w", err)
//	}
//	g.Match([]string{http.MethodGet, http.MethodHead}, "/graphql/assets/*", echo.WrapHandler(page.AssetsHandler()))
//	// and in GET /graphql, for a browser that asks for HTML:
//	page.ServePage(c.Response(), c.Request(), map[string]string{"X-Tenant-ID": tenant})
//
// ServePage sets the page's own policy in place of the server's. The assets
// are text/javascript and text/css, to which a document policy does not
// apply, so the server's headers may stay on them.
//
// assets/README.md says which versions are vendored and how to update them.
package graphiql
