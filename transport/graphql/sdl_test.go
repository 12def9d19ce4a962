package gql_test

import (
	"testing"

	"github.com/graphql-go/graphql"

	gql "github.com/rustok/rustok/transport/graphql"
)

func TestSDL(t *testing.T) {
	role := graphql.NewEnum(graphql.EnumConfig{
		Name:        "Role",
		Description: "What a user may do.",
		Values: graphql.EnumValueConfigMap{
			"ADMIN":    {Value: "admin"},
			"CUSTOMER": {Value: "customer"},
			"LEGACY":   {Value: "legacy", DeprecationReason: "use CUSTOMER"},
		},
	})
	filter := graphql.NewInputObject(graphql.InputObjectConfig{
		Name: "UserFilter",
		Fields: graphql.InputObjectConfigFieldMap{
			"role":   {Type: role, DefaultValue: "customer"},
			"search": {Type: graphql.String, Description: "Matches name or email."},
			"tags":   {Type: graphql.NewList(graphql.NewNonNull(graphql.String)), DefaultValue: []any{"a", "b\"c"}},
		},
	})
	time := graphql.NewScalar(graphql.ScalarConfig{
		Name:      "Time",
		Serialize: func(v any) any { return v },
	})
	user := graphql.NewObject(graphql.ObjectConfig{
		Name: "User",
		Fields: graphql.Fields{
			"id":        {Type: graphql.NewNonNull(graphql.ID)},
			"role":      {Type: graphql.NewNonNull(role)},
			"createdAt": {Type: time, Description: "When the user signed up.\nRFC 3339."},
			"nick":      {Type: graphql.String, DeprecationReason: graphql.DefaultDeprecationReason},
		},
	})
	part := gql.Fields{
		Query: graphql.Fields{
			"users": {
				Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(user))),
				Args: graphql.FieldConfigArgument{
					"first":  {Type: graphql.Int, DefaultValue: 20},
					"filter": {Type: filter},
				},
			},
			"user": {
				Type: user,
				Args: graphql.FieldConfigArgument{"id": {Type: graphql.NewNonNull(graphql.ID), Description: "The user's id."}},
			},
		},
		Mutation: graphql.Fields{
			"setRole": {
				Type: user,
				Args: graphql.FieldConfigArgument{"role": {Type: graphql.NewNonNull(role), DefaultValue: "admin"}},
			},
		},
	}
	h, err := gql.New(gql.Options{}, gql.BaseFields("1"), part)
	if err != nil {
		t.Fatal(err)
	}
	want := `type Query {
  """The server's version."""
  apiVersion: String!
  """Always "ok" while the API answers."""
  health: String!
  user(
    """The user's id."""
    id: ID!
  ): User
  users(filter: UserFilter, first: Int = 20): [User!]!
}

type Mutation {
  setRole(role: Role! = ADMIN): User
}

"""What a user may do."""
enum Role {
  ADMIN
  CUSTOMER
  LEGACY @deprecated(reason: "use CUSTOMER")
}

scalar Time

type User {
  """
  When the user signed up.
  RFC 3339.
  """
  createdAt: Time
  id: ID!
  nick: String @deprecated
  role: Role!
}

input UserFilter {
  role: Role = CUSTOMER
  """Matches name or email."""
  search: String
  tags: [String!] = ["a", "b\"c"]
}
`
	if got := h.SDL(); got != want {
		t.Errorf("SDL =\n%s\nwant\n%s", got, want)
	}
}
