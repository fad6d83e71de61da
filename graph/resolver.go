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
	"estatecrm/live"
	"estatecrm/sales"
)

//go:generate go tool gqlgen
//go:generate go run ./sdl ../schema.graphql

// Deps are what the resolvers work with.
type Deps struct {
	Client   *ent.Client
	Sessions *auth.Sessions
	// Now is the clock of the domain rules (protection, holds, follow-ups),
	// injectable for tests; nil means time.Now.
	Now func() time.Time
	// Zone is the company's time zone, where "today" is; nil means Asia/Shanghai.
	Zone *time.Location
	// Churn is when a customer not contacted is a risk; zero means the default.
	Churn sales.ChurnPolicy
	// Hub carries unit status changes to subscriptions; nil means none arrive.
	Hub *live.Hub
}

// Resolver is the resolver root.
type Resolver struct {
	client   *ent.Client
	sessions *auth.Sessions
	now      func() time.Time
	zone     *time.Location
	churn    sales.ChurnPolicy
	hub      *live.Hub
}

// NewSchema returns the executable schema.
func NewSchema(d Deps) graphql.ExecutableSchema {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	if d.Zone == nil {
		d.Zone = shanghai
	}
	if d.Hub == nil {
		d.Hub = live.NewHub()
	}
	if d.Churn == (sales.ChurnPolicy{}) {
		d.Churn = sales.DefaultChurn()
	}
	return NewExecutableSchema(Config{Resolvers: &Resolver{
		client: d.Client, sessions: d.Sessions, zone: d.Zone, churn: d.Churn, hub: d.Hub,
		now: func() time.Time { return now().UTC() },
	}})
}

// shanghai is UTC+8 all year (no daylight saving since 1991), so a fixed
// zone is exact and needs no time zone database.
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

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
