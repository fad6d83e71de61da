// Package graph is the GraphQL layer: hand-written *.graphql, gqlgen's
// generated executor, and resolvers that decode input, call ent or a domain
// package, and return.
package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"estatecrm/ent"
)

//go:generate go tool gqlgen
//go:generate go run ./sdl ../schema.graphql

// Resolver is the resolver root.
type Resolver struct{ client *ent.Client }

// NewSchema returns the executable schema over the client.
func NewSchema(client *ent.Client) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{
		Resolvers: &Resolver{client: client},
	})
}
