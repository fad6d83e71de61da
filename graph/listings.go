package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/ent"
	"estatecrm/graph/model"
	"estatecrm/listing"
)

// listingConnection turns a page of listings into a connection.
func listingConnection(p *listing.Page) *model.ListingConnection {
	conn := &model.ListingConnection{TotalCount: p.Total, PageInfo: &ent.PageInfo{HasNextPage: p.HasNext},
		Edges: make([]*model.ListingEdge, len(p.Listings))}
	for i, l := range p.Listings {
		conn.Edges[i] = &model.ListingEdge{Node: l, Cursor: p.Cursors[i]}
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &conn.Edges[n-1].Cursor
	}
	return conn
}

// listingChangeConnection turns a page of the change log into a connection.
func listingChangeConnection(p *listing.Changes) *model.ListingChangeConnection {
	conn := &model.ListingChangeConnection{Head: p.Head,
		PageInfo: &model.ListingChangePageInfo{HasNextPage: p.HasNext, EndCursor: p.After},
		Edges:    make([]*model.ListingChangeEdge, len(p.Changes))}
	for i := range p.Changes {
		c := &p.Changes[i]
		conn.Edges[i] = &model.ListingChangeEdge{Node: c, Cursor: c.Cursor()}
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.EndCursor = conn.Edges[n-1].Cursor
	}
	return conn
}

// askedPath tells whether the client selected the field at path below the
// current field (edges, node, media: each listing's media), fragments
// included.
func askedPath(ctx context.Context, path ...string) bool {
	oc := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for i, name := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name != name {
				continue
			}
			if i == len(path)-1 {
				return true
			}
			next = append(next, graphql.CollectFields(oc, f.Selections, nil)...)
		}
		fields = next
	}
	return false
}

// listingFields are the Listing fields selected under edges.node, by name,
// those of its project and building as "project.name", fragments included
// (listing.Request.Fields).
func listingFields(ctx context.Context) map[string]bool {
	oc := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for _, name := range []string{"edges", "node"} {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name == name {
				next = append(next, graphql.CollectFields(oc, f.Selections, nil)...)
			}
		}
		fields = next
	}
	asked := map[string]bool{}
	for _, f := range fields {
		asked[f.Name] = true
		if f.Name == "project" || f.Name == "building" {
			for _, g := range graphql.CollectFields(oc, f.Selections, nil) {
				asked[f.Name+"."+g.Name] = true
			}
		}
	}
	return asked
}
