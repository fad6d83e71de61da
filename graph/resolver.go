// Package graph is the GraphQL layer: hand-written *.graphql, gqlgen's
// generated executor, and resolvers that decode input, call ent or a domain
// package, and return.
package graph

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"estatecrm/aftersales"
	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/graph/model"
	"estatecrm/live"
	"estatecrm/media"
	"estatecrm/rule"
	"estatecrm/sales"
	"estatecrm/webhook"
)

//go:generate go run ./gen
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
	// Desk holds the complaint rules; nil means the default SLA, no photos.
	Desk *aftersales.Desk
	// PhotoURL links a photo for a short while; nil means the
	// authenticated download path alone.
	PhotoURL func(pulid.ID) string
	// Media keeps the photos and floor plans of the catalogue; nil refuses
	// uploads.
	Media *media.Library
	// Logger reports what fails after a request was answered (a record
	// written once its transaction ended); nil means slog.Default().
	Logger *slog.Logger
	// WebhookHosts are the hosts webhook endpoints may point to; none by default.
	WebhookHosts webhook.Allowlist
}

// Resolver is the resolver root.
type Resolver struct {
	client   *ent.Client
	sessions *auth.Sessions
	now      func() time.Time
	zone     *time.Location
	churn    sales.ChurnPolicy
	hub      *live.Hub
	desk     *aftersales.Desk
	photoURL func(pulid.ID) string
	media    *media.Library
	logger   *slog.Logger
	webhooks webhook.Allowlist
	folds    *foldCache // the rendered subqueries of folded visits
	pages    *pageCache // the rendered statements of pages of customers
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
	if d.Desk == nil {
		d.Desk = &aftersales.Desk{}
	}
	if d.Desk.Hub == nil {
		d.Desk.Hub = d.Hub
	}
	if d.PhotoURL == nil {
		d.PhotoURL = func(id pulid.ID) string { return "/photos/" + string(id) }
	}
	if d.Churn == (sales.ChurnPolicy{}) {
		d.Churn = sales.DefaultChurn()
	}
	return batched{NewExecutableSchema(Config{Resolvers: &Resolver{
		client: d.Client, sessions: d.Sessions, zone: d.Zone, churn: d.Churn, hub: d.Hub,
		desk: d.Desk, photoURL: d.PhotoURL, media: d.Media, logger: d.Logger, webhooks: d.WebhookHosts,
		now:   func() time.Time { return now().UTC() },
		folds: newFoldCache(),
		pages: newPageCache(),
	}})}
}

// records is where what must outlive a refused mutation is written: the
// plain client, outside the request's transaction.
func (r *Resolver) records() rule.Records {
	return rule.Records{Client: r.client, Logger: r.logger}
}

// endSubscription returns what tells a subscriber why its stream ended
// early (live.ErrStalled): the WebSocket transport sends the error, with
// its code as every other error has it, in place of complete.
func (r *Resolver) endSubscription(ctx context.Context) func(error) {
	logger := r.logger
	if logger == nil {
		logger = slog.Default()
	}
	return func(err error) { transport.AddSubscriptionError(ctx, ErrorPresenter(logger)(ctx, err)) }
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

// complaintPayload wraps a complaint returned by an after-sales step.
func complaintPayload(c *ent.Complaint, err error) (*model.ComplaintPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.ComplaintPayload{Complaint: c}, nil
}

// queueOffset reads a work-queue cursor: its value is the position after
// the item it points at.
func queueOffset(after *entgql.Cursor[pulid.ID]) (int, error) {
	if after == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(fmt.Sprint(after.Value))
	if err != nil || n < 0 {
		return 0, apperr.Input("after", "not a cursor of this list")
	}
	return n, nil
}

// queueConnection turns a page of the work queue into a connection.
func queueConnection(q *aftersales.Queue) *ent.ComplaintConnection {
	conn := &ent.ComplaintConnection{TotalCount: q.Total, Edges: make([]*ent.ComplaintEdge, 0, len(q.Complaints))}
	conn.PageInfo.HasNextPage = q.HasNext
	conn.PageInfo.HasPreviousPage = q.Offset > 0
	for i, c := range q.Complaints {
		conn.Edges = append(conn.Edges, &ent.ComplaintEdge{Node: c, Cursor: ent.Cursor{ID: c.ID, Value: q.Offset + i + 1}})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &conn.Edges[n-1].Cursor
	}
	return conn
}

// asked reports whether the client selected a field of the current field.
func asked(ctx context.Context, field string) bool {
	return slices.Contains(graphql.CollectAllFields(ctx), field)
}

// collectNodes shapes the query of a hand-made complaint connection by what
// the client selected under edges.node, as entgql's Paginate does for the
// generated ones: each edge asked for loads in one statement for the page.
func collectNodes(ctx context.Context) aftersales.Shape {
	return func(q *ent.ComplaintQuery) (*ent.ComplaintQuery, error) {
		oc := graphql.GetOperationContext(ctx)
		for _, edges := range graphql.CollectFieldsCtx(ctx, nil) {
			if edges.Name != "edges" {
				continue
			}
			for _, node := range graphql.CollectFields(oc, edges.Selections, nil) {
				if node.Name == "node" {
					return q.CollectFields(graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "ComplaintEdge", Field: node}), "Complaint")
				}
			}
		}
		return q, nil
	}
}

// mediaPayload wraps a media item returned by a media operation.
func mediaPayload(m *ent.Media, err error) (*model.MediaPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.MediaPayload{Media: m}, nil
}
