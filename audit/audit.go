// Package audit records who read or changed personal data or an
// attribution (SPEC.md §2, PIPL): the owner of a customer, a user's role,
// password or projects, a customer's full phone revealed to a manager, and
// the merge, export and erasure of a person's records.
package audit

import (
	"context"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
)

// Actions recorded.
const (
	CustomerOwnerChange = "customer.owner.change"
	UserCreate          = "user.create"
	UserRoleChange      = "user.role.change"
	UserPasswordChange  = "user.password.change"
	UserProjectsChange  = "user.projects.change"
	UserActiveChange    = "user.active.change"
)

// Event is one audit record.
type Event struct {
	Action    string
	ObjectID  pulid.ID
	ProjectID pulid.ID // optional: lets the project's managers see it
	Detail    string   // what changed, never the personal data itself
}

// Record writes events as the viewer in ctx, through client, so that inside
// a transaction they commit or roll back with the change they describe.
func Record(ctx context.Context, client *ent.Client, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	var actor *pulid.ID
	if v := auth.FromContext(ctx); v != nil && v.UserID != "" {
		actor = &v.UserID
	}
	sys := auth.SystemContext(ctx)
	rows := make([]*ent.AuditEventCreate, len(events))
	for i, e := range events {
		c := client.AuditEvent.Create().
			SetAction(e.Action).SetObjectID(string(e.ObjectID)).SetDetail(e.Detail).SetNillableActorID(actor)
		if e.ProjectID != "" {
			c.SetProjectID(e.ProjectID)
		}
		rows[i] = c
	}
	return client.AuditEvent.CreateBulk(rows...).Exec(sys)
}

type ownerChangeKey struct{}

// OwnerChange is what the caller of an update of one customer's owner
// already knows of the row: which customer, of which project, and its owner
// before (nil: none).
type OwnerChange struct {
	CustomerID, ProjectID pulid.ID
	From                  *pulid.ID
}

// ChangingOwner returns a context for a bulk update of customers that the
// caller guarantees touches at most the one customer c.CustomerID, and only
// while its owner is c.From (predicates on its id and its owner): the audit
// hook then records the change from what the caller knows and the update's
// count, without reading the row before (issue 10: no hook repeats a
// SELECT its caller did).
func ChangingOwner(ctx context.Context, c OwnerChange) context.Context {
	return context.WithValue(ctx, ownerChangeKey{}, c)
}

// OwnerChangeOf returns what ChangingOwner put in ctx.
func OwnerChangeOf(ctx context.Context) (OwnerChange, bool) {
	c, ok := ctx.Value(ownerChangeKey{}).(OwnerChange)
	return c, ok
}
