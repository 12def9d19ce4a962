package gql

import "github.com/graphql-go/graphql"

// BaseFields returns the root fields every RusToK schema has: health (always
// "ok" while the process answers) and apiVersion (version).
func BaseFields(version string) Fields {
	return Fields{Query: graphql.Fields{
		"health": &graphql.Field{
			Type:        graphql.NewNonNull(graphql.String),
			Description: "Always \"ok\" while the API answers.",
			Resolve:     func(graphql.ResolveParams) (any, error) { return "ok", nil },
		},
		"apiVersion": &graphql.Field{
			Type:        graphql.NewNonNull(graphql.String),
			Description: "The server's version.",
			Resolve:     func(graphql.ResolveParams) (any, error) { return version, nil },
		},
	}}
}
