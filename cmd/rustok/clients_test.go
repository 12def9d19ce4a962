package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// requireClients reports whether the real-client tests must run (CI sets
// RUSTOK_TEST_REQUIRE_CLIENTS=1): then a missing tool fails the test
// instead of skipping it.
func requireClients() bool { return os.Getenv("RUSTOK_TEST_REQUIRE_CLIENTS") == "1" }

// nodeWithGraphQL returns the node binary and a NODE_PATH under which
// require("graphql") finds graphql-js, or skips (fails in CI) with what is
// missing. graphql-js is installed outside the repository:
// `npm install --prefix ~/.cache/rustok-ci/npm graphql@17` (see .ci/run), or
// wherever RUSTOK_TEST_NODE_PATH points.
func nodeWithGraphQL(t *testing.T) (node, nodePath string) {
	t.Helper()
	missing := func(what string) {
		if requireClients() {
			t.Fatalf("%s (RUSTOK_TEST_REQUIRE_CLIENTS=1)", what)
		}
		t.Skipf("skipping: %s; install it as .ci/run does", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	nodePath = os.Getenv("RUSTOK_TEST_NODE_PATH")
	if nodePath == "" {
		home, _ := os.UserHomeDir()
		nodePath = filepath.Join(home, ".cache", "rustok-ci", "npm", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(nodePath, "graphql", "package.json")); err != nil {
		missing("graphql-js is not installed in " + nodePath)
	}
	return node, nodePath
}

// clientDocuments are documents an admin or storefront UI sends; graphql-js
// must find them valid against the schema it built from introspection.
var clientDocuments = []struct{ name, query string }{
	{"tenant", `query Tenant { currentTenant { id name slug domains status defaultLocale locales } }`},
	{"modules", `query Modules { enabledModules moduleRegistry { moduleSlug name description version kind enabled dependencies } tenantModules { moduleSlug enabled settings } }`},
	{"read your writes with a Position variable", `query Fresh($at: Position) { currentTenant(minPosition: $at) { name } }`},
	{"null literal", `query { currentTenant(minPosition: null) { slug } }`},
	{"history connection", `query History($id: ID!, $after: String) {
		history(id: $id, first: 20, after: $after) {
			totalCount
			pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
			edges { cursor node { position type schemaVersion streamVersion recordedAt actorId payload } }
		}
	}`},
	{"fragments and typename", `query { ...Base } fragment Base on Query { __typename health apiVersion }`},
	{"users connection", `query Users($after: String) { users(first: 20, after: $after, filter: {role: ADMIN, status: ACTIVE}, search: "a") {
		totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id email name role status createdAt tenantName can(action: "users:update") } } } }`},
	{"account mutations", `mutation Account($token: String!) {
		forgotPassword(input: {email: "a@example.com"}) { success message }
		resetPassword(input: {token: $token, newPassword: "a new password"}) { success position }
		changePassword(input: {currentPassword: "x", newPassword: "y"}) { success }
		updateProfile(input: {name: "A"}) { id name }
		revokeAllSessions { success }
	}`},
	{"user administration", `mutation Admin($id: ID!) {
		createUser(input: {email: "b@example.com", password: "a long password", name: "B", role: MANAGER}) { id role }
		updateUser(id: $id, input: {name: "C", status: BANNED}) { id status }
		disableUser(id: $id) { status }
		deleteUser(id: $id) { success position }
	}`},
	{"sessions and API keys", `query Keys { sessions { id createdAt lastSeenAt userAgent ip current } apiKeys { id name prefix permissions expiresAt lastUsedAt createdAt } }`},
	{"API key mutations", `mutation K($id: ID!, $sid: ID!) {
		createApiKey(input: {name: "CRM", permissions: ["users:read"], expiresAt: "2027-01-01T00:00:00Z"}) { apiKey { id prefix } secret position }
		revokeApiKey(id: $id) { success }
		revokeSession(id: $sid) { success }
	}`},
	{"toggle a module", `mutation { toggleModule(moduleSlug: "blog", enabled: true) { moduleSlug enabled settings } }`},
	{"tenant administration", `mutation T($id: ID!) {
		createTenant(input: {slug: "s", name: "S", domains: ["s.example.com"], modules: ["blog"]}) { id slug }
		updateTenant(id: $id, input: {name: "N", addDomains: ["a.example.com"], removeDomains: ["s.example.com"]}) { name domains }
		disableTenant(id: $id) { status }
		enableTenant(id: $id) { status }
	}`},
	{"user history", `query H($id: ID!) { history(id: $id, first: 50) { totalCount edges { node { type actorId payload } } } }`},
}

// TestGraphQLJSIntrospectsAndValidates: with the default limits, graphql-js's
// own getIntrospectionQuery() is answered without a tenant, the client schema
// it builds equals the SDL route's, no description is "", and client
// documents validate against it (a wrong one does not).
func TestGraphQLJSIntrospectsAndValidates(t *testing.T) {
	t.Parallel()
	node, nodePath := nodeWithGraphQL(t)
	ts := startServer(t, testConfig(dbtest.URL(t, database.SQLite)))

	docs := []map[string]string{{"name": "unknown field (must be invalid)", "query": `{ currentTenant { nope } }`}}
	for _, d := range clientDocuments {
		docs = append(docs, map[string]string{"name": d.name, "query": d.query})
	}
	docsFile := filepath.Join(t.TempDir(), "documents.json")
	raw, _ := json.Marshal(docs)
	if err := os.WriteFile(docsFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/graphqljs/check.cjs", ts.base, docsFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var report struct {
		GraphQLVersion      string           `json:"graphqlVersion"`
		IntrospectionStatus int              `json:"introspectionStatus"`
		IntrospectionErrors []map[string]any `json:"introspectionErrors"`
		Types               []string         `json:"types"`
		SDLStatus           int              `json:"sdlStatus"`
		SchemasEqual        bool             `json:"schemasEqual"`
		FirstDifference     []map[string]any `json:"firstDifference"`
		SchemaErrors        []string         `json:"schemaErrors"`
		EmptyDescriptions   int              `json:"emptyDescriptions"`
		Documents           []struct {
			Name   string   `json:"name"`
			Errors []string `json:"errors"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("report %q: %v (stderr %s)", stdout.String(), err, stderr.String())
	}
	t.Logf("graphql-js %s; %d types", report.GraphQLVersion, len(report.Types))
	if report.IntrospectionStatus != 200 || len(report.IntrospectionErrors) > 0 {
		t.Fatalf("introspection without a tenant: %d %v", report.IntrospectionStatus, report.IntrospectionErrors)
	}
	if report.SDLStatus != 200 {
		t.Fatalf("SDL without a tenant: %d", report.SDLStatus)
	}
	if !report.SchemasEqual {
		t.Fatalf("the schema built from introspection differs from the SDL route's: %v", report.FirstDifference)
	}
	if len(report.SchemaErrors) > 0 || report.EmptyDescriptions > 0 {
		t.Fatalf("schema errors %v, empty descriptions %d", report.SchemaErrors, report.EmptyDescriptions)
	}
	if !strings.Contains(strings.Join(report.Types, ","), "Position") {
		t.Fatalf("no Position scalar among %v", report.Types)
	}
	for _, d := range report.Documents {
		invalid := strings.HasPrefix(d.Name, "unknown field")
		if invalid != (len(d.Errors) > 0) {
			t.Errorf("document %q: graphql-js says %v", d.Name, d.Errors)
		}
	}
}
