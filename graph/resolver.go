// Package graph is the GraphQL layer: hand-written *.graphql, gqlgen's
// generated executor, and resolvers that decode input, call ent or a domain
// package, and return.
package graph

import (
	"time"

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
	now      func() time.Time
}

// NewSchema returns the executable schema over the client; now is the
// clock of the domain rules (protection, holds), injectable for tests.
func NewSchema(client *ent.Client, sessions *auth.Sessions, now func() time.Time) graphql.ExecutableSchema {
	if now == nil {
		now = time.Now
	}
	return NewExecutableSchema(Config{
		Resolvers: &Resolver{client: client, sessions: sessions, now: func() time.Time { return now().UTC() }},
	})
}

// customerPayload wraps a customer returned by a sales operation.
func customerPayload(c *ent.Customer, err error) (*model.CustomerPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.CustomerPayload{Customer: c}, nil
}

// userPayload wraps a user returned by an account operation.
func userPayload(u *ent.User, err error) (*model.UserPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.UserPayload{User: u}, nil
}

// unitPayload wraps a unit returned by a sales operation.
func unitPayload(u *ent.Unit, err error) (*model.UnitPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.UnitPayload{Unit: u}, nil
}

// dealPayload wraps a deal returned by a sales operation.
func dealPayload(d *ent.Deal, err error) (*model.DealPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.DealPayload{Deal: d}, nil
}
