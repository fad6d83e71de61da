// Package graph is the GraphQL layer: hand-written *.graphql, gqlgen's
// generated executor, and resolvers that decode input, call ent or a domain
// package, and return.
package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/graph/model"
)

//go:generate go tool gqlgen
//go:generate go run ./sdl ../schema.graphql

// Resolver is the resolver root.
type Resolver struct {
	client   *ent.Client
	sessions *auth.Sessions
}

// NewSchema returns the executable schema over the client.
func NewSchema(client *ent.Client, sessions *auth.Sessions) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{
		Resolvers: &Resolver{client: client, sessions: sessions},
	})
}

// userPayload wraps a user returned by an account operation.
func userPayload(u *ent.User, err error) (*model.UserPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.UserPayload{User: u}, nil
}
