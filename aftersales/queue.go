package aftersales

import (
	"context"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/schema/pulid"
)

// Queue is a page of the staff work queue.
type Queue struct {
	Complaints []*ent.Complaint
	Offset     int
	HasNext    bool
	Total      int
}

// Shape adds to a query what its reader will ask of the results (GraphQL
// field collection), so that their edges load in one statement each.
type Shape func(*ent.ComplaintQuery) (*ent.ComplaintQuery, error)

// WorkQueue lists the open complaints the viewer sees (of one project, if
// given) most urgent first: breached, then at risk, then on track, each by
// its nearest deadline. A complaint waiting for its first response runs on
// both clocks; after that on the resolution clock alone. Resolved ones wait
// on the homeowner and are not in it. The order depends on now, so pages
// are by offset.
func WorkQueue(ctx context.Context, client *ent.Client, projectID *pulid.ID, offset, limit int, withTotal bool, shape Shape, now time.Time) (*Queue, error) {
	switch v := auth.FromContext(ctx); {
	case v == nil:
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	case !is(v, auth.RoleManager, auth.RoleAgent, auth.RoleAdmin):
		return nil, apperr.New(apperr.Forbidden, "the work queue is for staff")
	}
	q := client.Complaint.Query().Where(complaint.StatusIn(
		complaint.StatusSUBMITTED, complaint.StatusACKNOWLEDGED, complaint.StatusIN_PROGRESS))
	if projectID != nil {
		q.Where(complaint.ProjectID(*projectID))
	}
	out := &Queue{Offset: offset}
	if withTotal {
		n, err := q.Clone().Count(ctx)
		if err != nil {
			return nil, err
		}
		out.Total = n
	}
	if shape != nil {
		var err error
		if q, err = shape(q); err != nil {
			return nil, err
		}
	}
	list, err := q.Order(urgency(now)).Offset(offset).Limit(limit + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) > limit {
		out.HasNext, list = true, list[:limit]
	}
	out.Complaints = list
	return out, nil
}

// urgency orders by SLA state at now, then by the nearest deadline. It
// matches Clock: breached once now is past a deadline, at risk once past
// the risk time.
func urgency(now time.Time) func(*sql.Selector) {
	return func(s *sql.Selector) {
		waiting := s.C(complaint.FieldAcknowledgedAt) + " IS NULL"
		past := func(b *sql.Builder, column string) {
			b.WriteString(s.C(column)).WriteString(" < ").Arg(now)
		}
		s.OrderExpr(sql.ExprFunc(func(b *sql.Builder) {
			b.WriteString("CASE WHEN (" + waiting + " AND ")
			past(b, complaint.FieldResponseDueAt)
			b.WriteString(") OR ")
			past(b, complaint.FieldResolutionDueAt)
			b.WriteString(" THEN 0 WHEN (" + waiting + " AND ")
			past(b, complaint.FieldResponseRiskAt)
			b.WriteString(") OR ")
			past(b, complaint.FieldResolutionRiskAt)
			b.WriteString(" THEN 1 ELSE 2 END")
		}))
		s.OrderExpr(sql.Expr("CASE WHEN " + waiting + " THEN " + s.C(complaint.FieldResponseDueAt) +
			" ELSE " + s.C(complaint.FieldResolutionDueAt) + " END"))
		s.OrderBy(s.C(complaint.FieldID))
	}
}
