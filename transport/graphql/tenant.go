package gql

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/rbac"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/tenantcache"
	tenantqry "github.com/rustok/rustok/queries/tenant"
	httpserver "github.com/rustok/rustok/transport/http"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// HistoryReader reads a stream's events from the log.
type HistoryReader interface {
	LoadHistory(ctx context.Context, tenantID string, refs []eventstore.StreamRef, afterPosition int64, limit int) ([]eventstore.Event, int64, error)
}

// HistorySource finds the streams that make up the history of an entity
// of a module: ok is false when id is none of its entities in the tenant.
// The user module's source gives a user's stream and their sessions'.
type HistorySource func(ctx context.Context, tenantID, id string) (refs []eventstore.StreamRef, ok bool, err error)

// TenantReader reads the tenants read model.
type TenantReader interface {
	ByID(ctx context.Context, id string) (tenantqry.View, error)
}

// TenantDeps are what the tenant fields need.
type TenantDeps struct {
	Modules *module.Registry
	History HistoryReader
	Tenants TenantReader
	// Histories find the streams of an entity other than the tenant
	// itself, tried in order.
	Histories []HistorySource
	// Redact returns an event's payload as history may show it: without
	// password hashes, token hashes or any other secret.
	Redact func(e eventstore.Event) (json.RawMessage, error)
	// ToggleModule switches a module of the tenant on or off for the
	// actor of ctx (who needs modules:manage) and returns the position of
	// its event (0: no change).
	ToggleModule func(ctx context.Context, tenantID, module string, enabled bool) (int64, error)
	// Admin is the platform's tenant administration (tenantadmin.go).
	Admin TenantAdminDeps
}

// maxHistoryPage bounds history(first).
const maxHistoryPage = 100

// TenantFields returns currentTenant, enabledModules, moduleRegistry,
// tenantModules and history. Every field answers for the tenant resolved from
// the request (tenancy middleware), never for a tenant named by the client.
func TenantFields(d TenantDeps) Fields {
	kind := graphql.NewEnum(graphql.EnumConfig{Name: "ModuleKind", Values: graphql.EnumValueConfigMap{
		"CORE": {Value: string(module.KindCore)}, "OPTIONAL": {Value: string(module.KindOptional)},
	}})
	tenantType := graphql.NewObject(graphql.ObjectConfig{Name: "Tenant", Fields: graphql.Fields{
		"id":            &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
		"name":          &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"slug":          &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"domains":       &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(graphql.String)))},
		"status":        &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"defaultLocale": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"locales":       &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(graphql.String)))},
	}})
	registryItem := graphql.NewObject(graphql.ObjectConfig{Name: "ModuleRegistryItem", Fields: graphql.Fields{
		"moduleSlug":   &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"name":         &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"description":  &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"version":      &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"kind":         &graphql.Field{Type: graphql.NewNonNull(kind)},
		"enabled":      &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
		"dependencies": &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(graphql.String)))},
	}})
	tenantModule := graphql.NewObject(graphql.ObjectConfig{Name: "TenantModule", Fields: graphql.Fields{
		"moduleSlug": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"enabled":    &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
		"settings":   &graphql.Field{Type: graphql.NewNonNull(graphql.String), Description: "Module settings as a JSON string."},
	}})
	historyEvent := graphql.NewObject(graphql.ObjectConfig{Name: "HistoryEvent", Fields: graphql.Fields{
		"position":      &graphql.Field{Type: graphql.NewNonNull(Position), Description: "The event's position in the global log."},
		"type":          &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
		"schemaVersion": &graphql.Field{Type: graphql.NewNonNull(graphql.Int)},
		"streamVersion": &graphql.Field{Type: graphql.NewNonNull(graphql.Int)},
		"recordedAt":    &graphql.Field{Type: graphql.NewNonNull(graphql.String), Description: "RFC 3339."},
		"actorId":       &graphql.Field{Type: graphql.String},
		"payload":       &graphql.Field{Type: graphql.NewNonNull(graphql.String), Description: "The event payload as a JSON string."},
	}})
	historyEdge := graphql.NewObject(graphql.ObjectConfig{Name: "HistoryEdge", Fields: graphql.Fields{
		"node":   &graphql.Field{Type: graphql.NewNonNull(historyEvent)},
		"cursor": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
	}})
	historyConn := graphql.NewObject(graphql.ObjectConfig{Name: "HistoryConnection", Fields: graphql.Fields{
		"edges":      &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(historyEdge)))},
		"pageInfo":   &graphql.Field{Type: graphql.NewNonNull(pageInfoType)},
		"totalCount": &graphql.Field{Type: graphql.NewNonNull(graphql.Int)},
	}})
	r := tenantResolvers{d}
	mutation := r.tenantAdminFields(tenantType)
	mutation["toggleModule"] = &graphql.Field{
		Type:        graphql.NewNonNull(tenantModule),
		Description: "Switches an optional module of this tenant on or off (its dependencies first). Needs modules:manage.",
		Args: graphql.FieldConfigArgument{
			"moduleSlug": {Type: graphql.NewNonNull(graphql.String)},
			"enabled":    {Type: graphql.NewNonNull(graphql.Boolean)},
		},
		Resolve: r.toggleModule,
	}
	return Fields{Mutation: mutation, Query: graphql.Fields{
		"currentTenant": &graphql.Field{
			Type:        tenantType,
			Description: "The tenant of this request. With minPosition, answers once the read models reached that log position (read-your-writes, bounded wait; the answer's extensions.readYourWrites says whether it was reached).",
			Args:        graphql.FieldConfigArgument{"minPosition": {Type: Position}},
			Resolve:     r.currentTenant,
		},
		"enabledModules": &graphql.Field{
			Type:    graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(graphql.String))),
			Resolve: r.enabledModules,
		},
		"moduleRegistry": &graphql.Field{
			Type:    graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(registryItem))),
			Resolve: r.moduleRegistry,
		},
		"tenantModules": &graphql.Field{
			Type:    graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(tenantModule))),
			Resolve: r.tenantModules,
		},
		"history": &graphql.Field{
			Type:        historyConn,
			Description: "The event history of an entity of this tenant (the tenant itself; a user, with their sessions), oldest first, secrets removed. Needs logs:read.",
			Args: graphql.FieldConfigArgument{
				"id":    {Type: graphql.NewNonNull(graphql.ID)},
				"first": {Type: graphql.Int, DefaultValue: 20},
				"after": {Type: graphql.String},
			},
			Resolve: r.history,
		},
	}}
}

type tenantResolvers struct{ d TenantDeps }

type tenantOut struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Slug          string   `json:"slug"`
	Domains       []string `json:"domains"`
	Status        string   `json:"status"`
	DefaultLocale string   `json:"defaultLocale"`
	Locales       []string `json:"locales"`
}

func requestTenant(ctx context.Context) (tenantcache.Tenant, error) {
	t, ok := tenancy.FromContext(ctx)
	if !ok {
		return tenantcache.Tenant{}, domain.NotFound("no tenant resolved for this request")
	}
	return t, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (r tenantResolvers) currentTenant(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	minPos, ok := p.Args["minPosition"].(int64)
	if !ok || minPos <= 0 {
		return tenantOut{t.ID, t.Name, t.Slug, nonNil(t.Domains), t.Status, t.DefaultLocale, nonNil(t.Locales)}, nil
	}
	if err := AwaitPosition(p.Context, minPos); err != nil {
		return nil, fmt.Errorf("wait for position %d: %w", minPos, err)
	}
	v, err := r.d.Tenants.ByID(p.Context, t.ID)
	if err != nil {
		return nil, err
	}
	return tenantOut{v.ID, v.Name, v.Slug, nonNil(v.Domains), v.Status, v.DefaultLocale, nonNil(v.Locales)}, nil
}

func (r tenantResolvers) enabledModules(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	return nonNil(r.d.Modules.Effective(t.EnabledModules)), nil
}

type registryItemOut struct {
	ModuleSlug   string   `json:"moduleSlug"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Version      string   `json:"version"`
	Kind         string   `json:"kind"`
	Enabled      bool     `json:"enabled"`
	Dependencies []string `json:"dependencies"`
}

func (r tenantResolvers) moduleRegistry(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	enabled := map[string]bool{}
	for _, s := range r.d.Modules.Effective(t.EnabledModules) {
		enabled[s] = true
	}
	var out []registryItemOut
	for _, m := range r.d.Modules.All() {
		out = append(out, registryItemOut{m.Slug, m.Name, m.Description, m.Version, string(m.Kind), enabled[m.Slug], nonNil(m.Dependencies)})
	}
	return out, nil
}

type tenantModuleOut struct {
	ModuleSlug string `json:"moduleSlug"`
	Enabled    bool   `json:"enabled"`
	Settings   string `json:"settings"`
}

func (r tenantResolvers) tenantModules(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	enabled := map[string]bool{}
	for _, s := range r.d.Modules.Effective(t.EnabledModules) {
		enabled[s] = true
	}
	var out []tenantModuleOut
	for _, m := range r.d.Modules.All() {
		// Per-module settings arrive with the modules that have any.
		out = append(out, tenantModuleOut{ModuleSlug: m.Slug, Enabled: enabled[m.Slug], Settings: "{}"})
	}
	return out, nil
}

func (r tenantResolvers) toggleModule(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	slug, _ := p.Args["moduleSlug"].(string)
	enabled, _ := p.Args["enabled"].(bool)
	pos, err := r.d.ToggleModule(p.Context, t.ID, slug, enabled)
	if err != nil {
		return nil, err
	}
	if err := AwaitPosition(p.Context, pos); err != nil {
		return nil, err
	}
	v, err := r.d.Tenants.ByID(p.Context, t.ID)
	if err != nil {
		return nil, err
	}
	return tenantModuleOut{ModuleSlug: slug, Enabled: slices.Contains(r.d.Modules.Effective(v.Modules), slug), Settings: "{}"}, nil
}

type historyEventOut struct {
	Position      int64   `json:"position"`
	Type          string  `json:"type"`
	SchemaVersion int     `json:"schemaVersion"`
	StreamVersion int64   `json:"streamVersion"`
	RecordedAt    string  `json:"recordedAt"`
	ActorID       *string `json:"actorId"`
	Payload       string  `json:"payload"`
}

type historyEdgeOut struct {
	Node   historyEventOut `json:"node"`
	Cursor string          `json:"cursor"`
}

type pageInfoOut struct {
	HasNextPage     bool    `json:"hasNextPage"`
	HasPreviousPage bool    `json:"hasPreviousPage"`
	StartCursor     *string `json:"startCursor"`
	EndCursor       *string `json:"endCursor"`
}

type historyOut struct {
	Edges      []historyEdgeOut `json:"edges"`
	PageInfo   pageInfoOut      `json:"pageInfo"`
	TotalCount int64            `json:"totalCount"`
}

const historyCursorPrefix = "v:"

func encodeHistoryCursor(version int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(historyCursorPrefix + strconv.FormatInt(version, 10)))
}

func decodeHistoryCursor(c string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(raw), historyCursorPrefix) {
		return 0, domain.InvalidField("after", "after is not a cursor of this connection")
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(string(raw), historyCursorPrefix), 10, 64)
	if err != nil || v < 0 {
		return 0, domain.InvalidField("after", "after is not a cursor of this connection")
	}
	return v, nil
}

// streamsOf returns the streams of entity id of the tenant: the tenant's
// own stream, or those a HistorySource finds. An id no source knows is
// FORBIDDEN, as an entity of another tenant is: the two are not told
// apart.
func (r tenantResolvers) streamsOf(ctx context.Context, tenantID, id string) ([]eventstore.StreamRef, error) {
	if id == tenantID {
		return []eventstore.StreamRef{{Type: tenantdom.StreamType, ID: id}}, nil
	}
	for _, find := range r.d.Histories {
		refs, ok, err := find(ctx, tenantID, id)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		if ok {
			return refs, nil
		}
	}
	return nil, domain.Forbidden("history of %s is not visible to this tenant", id)
}

func (r tenantResolvers) history(p graphql.ResolveParams) (any, error) {
	t, err := requestTenant(p.Context)
	if err != nil {
		return nil, err
	}
	if err := rbac.Check(httpserver.ActorFrom(p.Context), rbac.P(rbac.ResourceLogs, rbac.ActionRead), ""); err != nil {
		return nil, err
	}
	id, _ := p.Args["id"].(string)
	if !tenantdom.IsUUID(id) {
		return nil, domain.InvalidField("id", "id must be a lowercase UUID")
	}
	refs, err := r.streamsOf(p.Context, t.ID, id)
	if err != nil {
		return nil, err
	}
	first, _ := p.Args["first"].(int)
	if first < 1 || first > maxHistoryPage {
		return nil, domain.InvalidField("first", "first must be between 1 and %d", maxHistoryPage)
	}
	var after int64
	if c, ok := p.Args["after"].(string); ok && c != "" {
		if after, err = decodeHistoryCursor(c); err != nil {
			return nil, err
		}
	}
	evs, total, err := r.d.History.LoadHistory(p.Context, t.ID, refs, after, first+1)
	if err != nil {
		return nil, err
	}
	out := historyOut{TotalCount: total, Edges: []historyEdgeOut{}}
	if len(evs) > first {
		out.PageInfo.HasNextPage = true
		evs = evs[:first]
	}
	out.PageInfo.HasPreviousPage = after > 0
	for _, e := range evs {
		var actor *string
		if e.Metadata.ActorID != "" {
			a := e.Metadata.ActorID
			actor = &a
		}
		payload := e.Payload
		if r.d.Redact != nil {
			if payload, err = r.d.Redact(e); err != nil {
				return nil, fmt.Errorf("history of %s: %w", id, err)
			}
		}
		out.Edges = append(out.Edges, historyEdgeOut{
			Node: historyEventOut{Position: e.Position, Type: e.Type, SchemaVersion: e.SchemaVersion, StreamVersion: e.Version,
				RecordedAt: e.RecordedAt.UTC().Format(time.RFC3339Nano), ActorID: actor, Payload: string(payload)},
			Cursor: encodeHistoryCursor(e.Position),
		})
	}
	if n := len(out.Edges); n > 0 {
		s, e := out.Edges[0].Cursor, out.Edges[n-1].Cursor
		out.PageInfo.StartCursor, out.PageInfo.EndCursor = &s, &e
	}
	return out, nil
}
