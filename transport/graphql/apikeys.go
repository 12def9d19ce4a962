package gql

import (
	"context"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/rustok/rustok/domain"
)

// APIKeyInfo is an API key as the fields show it: never its secret or
// hash.
type APIKeyInfo struct {
	ID, Name, Prefix string
	Permissions      []string
	ExpiresAt        *time.Time
	LastUsedAt       *time.Time
	CreatedAt        time.Time
}

// APIKeyDeps are the API key operations (CONTRACT.md, "Identity on the
// wire"): the tenant and the actor come from ctx.
type APIKeyDeps struct {
	List   func(ctx context.Context) ([]APIKeyInfo, error)
	Create func(ctx context.Context, name string, permissions []string, expiresAt *time.Time) (key APIKeyInfo, secret string, position int64, err error)
	Revoke func(ctx context.Context, id string) (int64, error)
}

type apiKeyOut struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Prefix      string   `json:"prefix"`
	Permissions []string `json:"permissions"`
	ExpiresAt   *string  `json:"expiresAt"`
	LastUsedAt  *string  `json:"lastUsedAt"`
	CreatedAt   string   `json:"createdAt"`
}

type createAPIKeyOut struct {
	APIKey   apiKeyOut `json:"apiKey"`
	Secret   string    `json:"secret"`
	Position any       `json:"position"`
}

func rfc3339(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func toAPIKeyOut(k APIKeyInfo) apiKeyOut {
	perms := k.Permissions
	if perms == nil {
		perms = []string{}
	}
	return apiKeyOut{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Permissions: perms, ExpiresAt: rfc3339(k.ExpiresAt),
		LastUsedAt: rfc3339(k.LastUsedAt), CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

// apiKeyFields returns apiKeys (query) and createApiKey and revokeApiKey
// (mutations).
func apiKeyFields(d APIKeyDeps, success *graphql.Object) (query, mutation graphql.Fields) {
	nonNullString := graphql.NewNonNull(graphql.String)
	keyType := graphql.NewObject(graphql.ObjectConfig{Name: "ApiKey", Fields: graphql.Fields{
		"id":          &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
		"name":        &graphql.Field{Type: nonNullString},
		"prefix":      &graphql.Field{Type: nonNullString, Description: "The secret's first 12 characters, which tell keys apart."},
		"permissions": &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(nonNullString))},
		"expiresAt":   &graphql.Field{Type: graphql.String, Description: "RFC 3339; null: no expiry."},
		"lastUsedAt":  &graphql.Field{Type: graphql.String, Description: "RFC 3339, to the minute; null: never used."},
		"createdAt":   &graphql.Field{Type: nonNullString, Description: "RFC 3339."},
	}})
	created := graphql.NewObject(graphql.ObjectConfig{Name: "CreateApiKeyPayload", Fields: graphql.Fields{
		"apiKey":   &graphql.Field{Type: graphql.NewNonNull(keyType)},
		"secret":   &graphql.Field{Type: nonNullString, Description: "The key's secret (Authorization: Bearer rtk_…): shown this once, stored nowhere."},
		"position": &graphql.Field{Type: Position},
	}})
	input := graphql.NewInputObject(graphql.InputObjectConfig{Name: "CreateApiKeyInput", Fields: graphql.InputObjectConfigFieldMap{
		"name":        {Type: nonNullString},
		"permissions": {Type: graphql.NewNonNull(graphql.NewList(nonNullString)), Description: `"resource:action" permissions, a subset of the creator's.`},
		"expiresAt":   {Type: graphql.String, Description: "RFC 3339; absent: no expiry."},
	}})
	query = graphql.Fields{"apiKeys": &graphql.Field{
		Type:        graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(keyType))),
		Description: "The API keys of this tenant that were not revoked, newest first. Needs settings:list.",
		Resolve: func(p graphql.ResolveParams) (any, error) {
			if _, err := requestTenant(p.Context); err != nil {
				return nil, err
			}
			keys, err := d.List(p.Context)
			if err != nil {
				return nil, err
			}
			out := make([]apiKeyOut, 0, len(keys))
			for _, k := range keys {
				out = append(out, toAPIKeyOut(k))
			}
			return out, nil
		},
	}}
	mutation = graphql.Fields{
		"createApiKey": &graphql.Field{
			Type:        graphql.NewNonNull(created),
			Description: "Creates an API key for integrations. Needs settings:create; the permissions must be the caller's own.",
			Args:        graphql.FieldConfigArgument{"input": {Type: graphql.NewNonNull(input)}},
			Resolve: func(p graphql.ResolveParams) (any, error) {
				if _, err := requestTenant(p.Context); err != nil {
					return nil, err
				}
				in, _ := p.Args["input"].(map[string]any)
				name, _ := in["name"].(string)
				var perms []string
				list, _ := in["permissions"].([]any)
				for _, v := range list {
					s, _ := v.(string)
					perms = append(perms, s)
				}
				var expiresAt *time.Time
				if s, ok := in["expiresAt"].(string); ok {
					t, err := time.Parse(time.RFC3339Nano, s)
					if err != nil {
						return nil, domain.InvalidField("expiresAt", "expiresAt must be an RFC 3339 time")
					}
					expiresAt = &t
				}
				k, secret, pos, err := d.Create(p.Context, name, perms, expiresAt)
				if err != nil {
					return nil, err
				}
				if err := written(p.Context, pos); err != nil {
					return nil, err
				}
				return createAPIKeyOut{APIKey: toAPIKeyOut(k), Secret: secret, Position: positionOf(pos)}, nil
			},
		},
		"revokeApiKey": &graphql.Field{
			Type:        graphql.NewNonNull(success),
			Description: "Revokes an API key of this tenant: refused from the next request on. Needs settings:delete.",
			Args:        graphql.FieldConfigArgument{"id": {Type: graphql.NewNonNull(graphql.ID)}},
			Resolve: func(p graphql.ResolveParams) (any, error) {
				if _, err := requestTenant(p.Context); err != nil {
					return nil, err
				}
				id, _ := p.Args["id"].(string)
				pos, err := d.Revoke(p.Context, id)
				return done(p.Context, pos, err)
			},
		},
	}
	return query, mutation
}
