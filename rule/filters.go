package rule

import (
	"context"
	stdsql "database/sql"
	"slices"

	"entgo.io/ent/dialect/sql"

	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/building"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/complaintphoto"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/predicate"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
)

// Each filter below runs after DenyIfNoViewer and AllowIfAdmin, so the
// viewer is a manager, an agent, a homeowner or a portal.

// ownedUnit is a unit the homeowner has signed for.
func ownedUnit(v *auth.Viewer) predicate.Unit {
	return unit.HasDealsWith(deal.CustomerID(v.CustomerID), deal.StageEQ(deal.StageCONTRACTED))
}

// publishedUnit is what a portal may list.
func publishedUnit() predicate.Unit {
	// A withdrawn unit is off sale: no portal lists it, whatever its flag.
	return unit.And(unit.Published(true), unit.StatusNEQ(unit.StatusWITHDRAWN), unit.HasProjectWith(project.Published(true)))
}

// PublishedUnit is a unit on the portals: published, not withdrawn, of a
// published project. listings shows only those, to staff as to portals.
func PublishedUnit() predicate.Unit { return publishedUnit() }

// portalLimited reports whether v is a portal whose key is limited to some
// projects (PortalProjects), and so sees nothing of the others.
func portalLimited(v *auth.Viewer) bool {
	return v != nil && v.Role == auth.RolePortal && len(v.PortalProjects) > 0
}

// all matches every row: what an admin or the system sees.
func all(*sql.Selector) {}

// ProjectsVisibleTo is the projects v may see: staff their projects, a
// homeowner the projects of their units, a portal the published ones, an
// admin all. FilterProjects scopes reads with it, and edge filters
// (hasProjectWith) look only at the rows it matches.
func ProjectsVisibleTo(v *auth.Viewer) predicate.Project {
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem:
		return all
	case auth.RoleManager, auth.RoleAgent:
		return project.IDIn(v.ProjectIDs...)
	case auth.RoleOwner:
		return project.HasUnitsWith(ownedUnit(v))
	case auth.RolePortal:
		if portalLimited(v) {
			return project.And(project.Published(true), project.IDIn(v.PortalProjects...))
		}
		return project.Published(true)
	}
	return none
}

// BuildingsVisibleTo is the buildings v may see: those of the projects it
// sees, and for a homeowner those of their units.
func BuildingsVisibleTo(v *auth.Viewer) predicate.Building {
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem:
		return all
	case auth.RoleManager, auth.RoleAgent:
		return building.ProjectIDIn(v.ProjectIDs...)
	case auth.RoleOwner:
		return building.HasUnitsWith(ownedUnit(v))
	case auth.RolePortal:
		if portalLimited(v) {
			return building.And(building.ProjectIDIn(v.PortalProjects...), building.HasProjectWith(project.Published(true)))
		}
		return building.HasProjectWith(project.Published(true))
	}
	return none
}

// UnitsVisibleTo is the units v may see: staff their projects' units, a
// homeowner their own, a portal the published units of published projects.
func UnitsVisibleTo(v *auth.Viewer) predicate.Unit {
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem:
		return all
	case auth.RoleManager, auth.RoleAgent:
		return unit.ProjectIDIn(v.ProjectIDs...)
	case auth.RoleOwner:
		return ownedUnit(v)
	case auth.RolePortal:
		if portalLimited(v) {
			return unit.And(unit.ProjectIDIn(v.PortalProjects...), publishedUnit())
		}
		return publishedUnit()
	}
	return none
}

// customerProjectUnitsColumn is the column SelectUnitsOfCustomerProject adds.
const customerProjectUnitsColumn = "customer_project_units"

// SelectUnitsOfCustomerProject adds to a read of customers (a Modify of a
// customer query) how many of the units ids are of the customer's project
// and visible to v (UnitsVisibleTo, the units' own rule): what a read of
// those units would count, in the statement that reads the customer (the
// units a visit to the customer shows, LogVisit). UnitsOfCustomerProject
// reads the answer.
func SelectUnitsOfCustomerProject(v *auth.Viewer, ids []pulid.ID) func(*sql.Selector) {
	return func(s *sql.Selector) {
		t := sql.Table(unit.Table)
		sub := sql.Select(sql.Count("*")).From(t)
		sub.Where(sql.ColumnsEQ(sub.C(unit.FieldProjectID), s.C(customer.FieldProjectID)))
		unit.IDIn(ids...)(sub)
		UnitsVisibleTo(v)(sub)
		s.AppendSelectExprAs(sub, customerProjectUnitsColumn)
	}
}

// UnitsOfCustomerProject is the answer of SelectUnitsOfCustomerProject for
// a customer read with it.
func UnitsOfCustomerProject(c *ent.Customer) (int, error) {
	v, err := c.Value(customerProjectUnitsColumn)
	if err != nil {
		return 0, err
	}
	var n stdsql.NullInt64
	if err := n.Scan(v); err != nil {
		return 0, err
	}
	return int(n.Int64), nil
}

// role is v's role, "" for no viewer.
func role(v *auth.Viewer) auth.Role {
	if v == nil {
		return ""
	}
	return v.Role
}

// FilterProjects: see ProjectsVisibleTo.
func FilterProjects() privacy.QueryRule {
	return privacy.ProjectQueryRuleFunc(func(ctx context.Context, q *ent.ProjectQuery) error {
		q.Where(ProjectsVisibleTo(auth.FromContext(ctx)))
		return privacy.Allow
	})
}

// FilterBuildings: see BuildingsVisibleTo.
func FilterBuildings() privacy.QueryRule {
	return privacy.BuildingQueryRuleFunc(func(ctx context.Context, q *ent.BuildingQuery) error {
		q.Where(BuildingsVisibleTo(auth.FromContext(ctx)))
		return privacy.Allow
	})
}

// ListingChangeProjects is which lines of the change of listings v reads
// (package listing, which reads them from the outbox, not through ent): a
// portal those of its key's projects if it is limited, else all (every);
// an admin (and the server) all, staff those of their projects; a
// homeowner or anyone else none (what rule.Policy with a filter gave the
// log's own table). A line names a listing and its project, no person and
// no rule.
func ListingChangeProjects(v *auth.Viewer) (projects []pulid.ID, every bool) {
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem:
		return nil, true
	case auth.RoleManager, auth.RoleAgent:
		return v.ProjectIDs, false
	case auth.RolePortal:
		if portalLimited(v) {
			return v.PortalProjects, false
		}
		return nil, true
	}
	return nil, false
}

// FilterUnits: see UnitsVisibleTo.
func FilterUnits() privacy.QueryRule {
	return privacy.UnitQueryRuleFunc(func(ctx context.Context, q *ent.UnitQuery) error {
		q.Where(UnitsVisibleTo(auth.FromContext(ctx)))
		return privacy.Allow
	})
}

// FilterCustomers: a manager sees the customers of their projects; an agent
// their own, the public pool of their projects and the homeowners of the
// complaints they work or filed (the phone of any customer not their own is
// masked by the Customer interceptor); a homeowner themself.
func FilterCustomers() privacy.QueryRule {
	return privacy.CustomerQueryRuleFunc(func(ctx context.Context, q *ent.CustomerQuery) error {
		v := auth.FromContext(ctx)
		switch v.Role {
		case auth.RoleManager:
			q.Where(customer.ProjectIDIn(v.ProjectIDs...))
		case auth.RoleAgent:
			// Their own, their projects' public pool, and the homeowner of
			// a complaint they work or filed (phone masked): rendered once
			// per agent (rendered.go).
			now := clock.Now(ctx)
			q.Where(func(s *sql.Selector) { s.Where(agentCustomersP(s, v, now)) })
		case auth.RoleOwner:
			q.Where(customer.ID(v.CustomerID))
		default:
			q.Where(none)
		}
		return privacy.Allow
	})
}

// loadDeciders never decides: when a read loads a field that is masked for
// some viewers, it adds to the columns read those the mask decides by,
// whatever the client asked for (GraphQL field collection selects only
// that): a customer's owner and project with its phone (MaySeePhone), a deal's agent with any of its terms
// (MaySeeDealTerms), a unit's status and hold expiry with its status or
// hold (a lapsed hold reads as available, and as held by nobody).
// Without them an agent saw even their own customers' phones masked, and
// their own deals' discount and deposit when the price was not asked for.
func loadDeciders() privacy.QueryRule {
	return privacy.QueryRuleFunc(func(_ context.Context, q ent.Query) error {
		switch q := q.(type) {
		case *ent.CustomerQuery:
			q.Where(alsoSelect(customer.FieldID, []string{customer.FieldPhone}, customer.FieldOwnerID, customer.FieldProjectID))
		case *ent.DealQuery:
			q.Where(alsoSelect(deal.FieldID, []string{deal.FieldPrice, deal.FieldDiscountBp, deal.FieldDeposit}, deal.FieldAgentID))
		case *ent.UnitQuery:
			q.Where(alsoSelect(unit.FieldID, []string{unit.FieldStatus, unit.FieldHoldExpiresAt, unit.FieldHeldByID, unit.FieldHeldForID},
				unit.FieldStatus, unit.FieldHoldExpiresAt))
		}
		return privacy.Skip
	})
}

// alsoSelect returns a no-op predicate that, on a selector loading rows (its
// id) with any of the masked fields, appends the deciding columns to what it
// reads. Other selections (counts, group-bys, a Select of other fields) are
// left alone.
func alsoSelect(id string, masked []string, deciders ...string) func(*sql.Selector) {
	return func(s *sql.Selector) {
		cols := s.SelectedColumns()
		if !slices.Contains(cols, s.C(id)) || !slices.ContainsFunc(masked, func(f string) bool { return slices.Contains(cols, s.C(f)) }) {
			return
		}
		for _, f := range deciders {
			if c := s.C(f); !slices.Contains(cols, c) {
				s.AppendSelect(c)
			}
		}
	}
}

// FilterVisits: a manager sees their projects' visits; an agent their own
// and those of customers they own. It decides by the viewer alone (no
// clock, nothing else in the context but VisitsOfCustomerRow's mark): a
// page of customers with their latest visits keeps the SQL it renders per
// viewer (graph/fold_cache.go).
func FilterVisits() privacy.QueryRule {
	return privacy.VisitQueryRuleFunc(func(ctx context.Context, q *ent.VisitQuery) error {
		v := auth.FromContext(ctx)
		switch v.Role {
		case auth.RoleManager:
			q.Where(visit.ProjectIDIn(v.ProjectIDs...))
		case auth.RoleAgent:
			q.Where(func(s *sql.Selector) { // one predicate tree, as for customers; indexed.go
				owned := visitOfCustomerOwnedByP(s, v.UserID)
				if table, ok := ctx.Value(customerRowKey{}).(string); ok {
					owned = sql.EQ(sql.Dialect(s.Dialect()).Table(table).C(customer.FieldOwnerID), v.UserID)
				}
				s.Where(sql.Or(sql.EQ(s.C(visit.FieldAgentID), v.UserID), owned))
			})
		default:
			q.Where(none)
		}
		return privacy.Allow
	})
}

// FilterDeals: a manager sees their projects' deals; an agent their own and
// their customers'; a homeowner their own.
func FilterDeals() privacy.QueryRule {
	return privacy.DealQueryRuleFunc(func(ctx context.Context, q *ent.DealQuery) error {
		v := auth.FromContext(ctx)
		switch v.Role {
		case auth.RoleManager:
			q.Where(deal.ProjectIDIn(v.ProjectIDs...))
		case auth.RoleAgent:
			q.Where(deal.Or(deal.AgentID(v.UserID), deal.HasCustomerWith(customer.OwnerID(v.UserID))))
		case auth.RoleOwner:
			q.Where(deal.CustomerID(v.CustomerID))
		default:
			q.Where(none)
		}
		return privacy.Allow
	})
}

// complaintsOf is the complaints a viewer may see.
func complaintsOf(v *auth.Viewer) predicate.Complaint {
	switch v.Role {
	case auth.RoleManager:
		return complaint.ProjectIDIn(v.ProjectIDs...)
	case auth.RoleAgent:
		return complaint.Or(complaint.HasCustomerWith(customer.OwnerID(v.UserID)),
			complaint.AssigneeID(v.UserID), complaint.FiledByID(v.UserID))
	case auth.RoleOwner:
		return complaint.CustomerID(v.CustomerID)
	default:
		return none
	}
}

// FilterComplaints: a manager sees their projects' complaints, an agent
// those of customers they own, assigned to them or filed by them, a
// homeowner their own.
func FilterComplaints() privacy.QueryRule {
	return privacy.ComplaintQueryRuleFunc(func(ctx context.Context, q *ent.ComplaintQuery) error {
		q.Where(complaintsOf(auth.FromContext(ctx)))
		return privacy.Allow
	})
}

// FilterComplaintEvents follows the complaints; a homeowner does not see
// staff-only notes.
func FilterComplaintEvents() privacy.QueryRule {
	return privacy.ComplaintEventQueryRuleFunc(func(ctx context.Context, q *ent.ComplaintEventQuery) error {
		v := auth.FromContext(ctx)
		q.Where(complaintevent.HasComplaintWith(complaintsOf(v)))
		if v.Role == auth.RoleOwner {
			q.Where(complaintevent.Internal(false))
		}
		return privacy.Allow
	})
}

// FilterComplaintPhotos follows the complaints.
func FilterComplaintPhotos() privacy.QueryRule {
	return privacy.ComplaintPhotoQueryRuleFunc(func(ctx context.Context, q *ent.ComplaintPhotoQuery) error {
		q.Where(complaintphoto.HasComplaintWith(complaintsOf(auth.FromContext(ctx))))
		return privacy.Allow
	})
}

// FilterUsers: staff see themselves and the staff of their projects,
// managers also their projects' homeowners; a homeowner themself; a portal
// nobody.
func FilterUsers() privacy.QueryRule {
	return privacy.UserQueryRuleFunc(func(ctx context.Context, q *ent.UserQuery) error {
		v := auth.FromContext(ctx)
		switch v.Role {
		case auth.RoleManager, auth.RoleAgent:
			colleagues := user.And(user.RoleIn(user.RoleMANAGER, user.RoleAGENT),
				user.HasProjectsWith(project.IDIn(v.ProjectIDs...)))
			if v.Role == auth.RoleAgent {
				q.Where(user.Or(user.ID(v.UserID), colleagues))
				break
			}
			// A manager also sees the homeowners of their projects (who filed
			// a complaint).
			homeowners := user.And(user.RoleEQ(user.RoleOWNER),
				user.HasCustomerWith(customer.ProjectIDIn(v.ProjectIDs...)))
			q.Where(user.Or(user.ID(v.UserID), colleagues, homeowners))
		case auth.RoleOwner:
			q.Where(user.ID(v.UserID))
		default:
			q.Where(none)
		}
		return privacy.Allow
	})
}

// FilterAPIKeys: only admins see API keys.
func FilterAPIKeys() privacy.QueryRule {
	return privacy.APIKeyQueryRuleFunc(func(_ context.Context, q *ent.APIKeyQuery) error {
		q.Where(none)
		return privacy.Allow
	})
}

// FilterAuditEvents: managers see the events of their projects.
func FilterAuditEvents() privacy.QueryRule {
	return privacy.AuditEventQueryRuleFunc(func(ctx context.Context, q *ent.AuditEventQuery) error {
		v := auth.FromContext(ctx)
		if v.Role == auth.RoleManager {
			q.Where(auditevent.ProjectIDIn(v.ProjectIDs...))
		} else {
			q.Where(none)
		}
		return privacy.Allow
	})
}

type customerRowKey struct{}

// VisitsOfCustomerRow marks ctx for a Visit query read as a subquery under
// one row of an enclosing statement's customers, named table there (and
// nothing in the Visit query names a table so): the statement that pages
// customers with each one's latest visits (graph/latest_visits.go), which
// keeps only the visits of that row's customer. There "a visit of a
// customer the agent owns" is that row's owner being the agent, and
// FilterVisits says so instead of listing every customer the agent owns
// (visitOfCustomerOwnedByP: an array of all of them built for each page,
// 8% of PostgreSQL's time on a phone's customer search, and more the more
// customers the agent has).
func VisitsOfCustomerRow(ctx context.Context, table string) context.Context {
	return context.WithValue(ctx, customerRowKey{}, table)
}
