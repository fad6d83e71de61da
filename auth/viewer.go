// Package auth turns credentials into a Viewer carried in the request
// context. It only says who is asking; ent privacy rules decide what they see.
package auth

import (
	"context"
	"time"

	"estatecrm/ent/schema/pulid"
)

// Role is what kind of user a viewer is.
type Role string

// The roles.
const (
	RoleAdmin   Role = "ADMIN"
	RoleManager Role = "MANAGER"
	RoleAgent   Role = "AGENT"
	RoleOwner   Role = "OWNER"
	// RolePortal is a listing portal calling with an API key.
	RolePortal Role = "PORTAL"
	// RoleSystem is the server itself: migrations, the seed, background jobs.
	RoleSystem Role = "SYSTEM"
)

// Viewer is who is asking.
type Viewer struct {
	UserID     pulid.ID   // empty for a portal or the system
	APIKeyID   pulid.ID   // set for a portal
	Role       Role       //
	ProjectIDs []pulid.ID // the projects a staff member works in
	CustomerID pulid.ID   // the customer record a homeowner is
	// PortalProjects are the projects a portal's key is limited to; nil or
	// empty: every published project.
	PortalProjects []pulid.ID
	// SessionID is the session (refresh-token family) a user's access token
	// belongs to; empty for a portal, the system, or a token made outside a
	// login (tests, tools).
	SessionID string
	// Expires is when the access token behind the viewer runs out (zero for
	// an API key): a subscription ends then.
	Expires time.Time
	// AccessVersion is the user's count of changes of what they may see
	// when their token was issued: a token of an older count is refused
	// (Revocations).
	AccessVersion int
}

type viewerKey struct{}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext returns the viewer in ctx, or nil.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey{}).(*Viewer)
	return v
}

// SystemContext returns ctx acting as the server itself. It is the one
// bypass of the privacy rules: for the seed, migrations and background jobs,
// never for a request.
func SystemContext(ctx context.Context) context.Context {
	return NewContext(ctx, &Viewer{Role: RoleSystem})
}
