package schema

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"entgo.io/ent"

	"estatecrm/apperr"
	"estatecrm/audit"
	"estatecrm/auth"
	"estatecrm/clock"
	gen "estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/hook"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/phone"
	"estatecrm/rule"
)

// normalizePhone stores a customer's phone in E.164 with its last four digits
// beside it, whatever entry point wrote it, so that one person is one customer.
func normalizePhone(next gen.Mutator) gen.Mutator {
	return hook.CustomerFunc(func(ctx context.Context, m *gen.CustomerMutation) (gen.Value, error) {
		if raw, ok := m.Phone(); ok {
			p, err := phone.Normalize(raw)
			if err != nil {
				return nil, apperr.Input("phone", "%s", err.Error())
			}
			m.SetPhone(p)
			m.SetPhoneLast4(phone.Last4(p))
		}
		return next.Mutate(ctx, m)
	})
}

// checkBudget refuses a budget range whose minimum is above its maximum.
func checkBudget(next gen.Mutator) gen.Mutator {
	return hook.CustomerFunc(func(ctx context.Context, m *gen.CustomerMutation) (gen.Value, error) {
		lo, okLo := m.BudgetMin()
		hi, okHi := m.BudgetMax()
		if okLo && okHi && lo > hi {
			return nil, apperr.Input("budgetMax", "the budget maximum is below the minimum")
		}
		return next.Mutate(ctx, m)
	})
}

// lowerLogin makes logins case-insensitive by storing them lower-cased.
func lowerLogin(next gen.Mutator) gen.Mutator {
	return hook.UserFunc(func(ctx context.Context, m *gen.UserMutation) (gen.Value, error) {
		if l, ok := m.Login(); ok {
			m.SetLogin(strings.ToLower(strings.TrimSpace(l)))
		}
		return next.Mutate(ctx, m)
	})
}

// checkUnitPlace keeps a unit inside its building: the building belongs to
// the unit's project and the floor lies within the building's floors.
func checkUnitPlace(next gen.Mutator) gen.Mutator {
	return hook.UnitFunc(func(ctx context.Context, m *gen.UnitMutation) (gen.Value, error) {
		floor, floorSet := m.Floor()
		if !floorSet && !m.Op().Is(gen.OpCreate) {
			return next.Mutate(ctx, m)
		}
		buildingID, ok := m.BuildingID()
		if !ok { // an update of the floor: the building is the stored one
			id, err := m.OldBuildingID(ctx)
			if err != nil {
				return nil, err
			}
			buildingID = id
		}
		b, ok := rule.BuildingRead(ctx, buildingID) // read by the caller (catalogue.AddUnits)
		if !ok {
			var err error
			if b, err = m.Client().Building.Get(ctx, buildingID); err != nil {
				if gen.IsNotFound(err) {
					return nil, apperr.Input("buildingId", "no such building")
				}
				return nil, err
			}
		}
		if projectID, ok := m.ProjectID(); ok && projectID != b.ProjectID {
			return nil, apperr.Input("buildingId", "the building belongs to another project")
		}
		if floorSet && floor > b.Floors {
			return nil, apperr.Input("floor", "floor %d is above the top floor (%d) of building %s", floor, b.Floors, b.Name)
		}
		return next.Mutate(ctx, m)
	})
}

// maskPhones hides the phone of customers the viewer may see but not call
// (an agent looking at the public pool): 138****8000. It runs on every read
// of customers, whichever path loaded them.
func maskPhones() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			if customers, ok := v.([]*gen.Customer); ok && err == nil {
				viewer := auth.FromContext(ctx)
				for _, c := range customers {
					if c.Phone != "" && !rule.MaySeePhone(viewer, c) {
						c.Phone = phone.Mask(c.Phone)
					}
				}
			}
			return v, err
		})
	})
}

// bumpAccessVersion counts a change of what a user may see (their role,
// projects or customer record) on the user's row. Access tokens carry the
// role and projects they were issued with, for up to 15 minutes; the count
// they carry must match the row's (auth.Revocations), so a changed user's
// tokens stop within seconds, as a deactivated user's do (SPEC.md §3.4),
// and their app refreshes into a token of what they may see now. A
// creation has no tokens yet.
func bumpAccessVersion(next gen.Mutator) gen.Mutator {
	return hook.UserFunc(func(ctx context.Context, m *gen.UserMutation) (gen.Value, error) {
		_, role := m.Role()
		_, record := m.CustomerID()
		projects := len(m.ProjectsIDs()) > 0 || len(m.RemovedProjectsIDs()) > 0 || m.ProjectsCleared()
		if !m.Op().Is(gen.OpCreate) && (role || record || m.CustomerIDCleared() || projects) {
			m.AddAccessVersion(1)
		}
		return next.Mutate(ctx, m)
	})
}

// bumpStaffAccess is bumpAccessVersion for a change of a project's staff
// made from the project's side of the edge: its users' tokens stop too.
func bumpStaffAccess(next gen.Mutator) gen.Mutator {
	return hook.ProjectFunc(func(ctx context.Context, m *gen.ProjectMutation) (gen.Value, error) {
		users := append(m.StaffIDs(), m.RemovedStaffIDs()...)
		if m.StaffCleared() && !m.Op().Is(gen.OpCreate) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			staff, err := m.Client().User.Query().Where(user.HasProjectsWith(project.IDIn(ids...))).IDs(auth.SystemContext(ctx))
			if err != nil {
				return nil, err
			}
			users = append(users, staff...)
		}
		v, err := next.Mutate(ctx, m)
		if err != nil || len(users) == 0 {
			return v, err
		}
		// As the system: the caller may change the project's staff, which
		// is the change of these users' access being counted.
		return v, m.Client().User.Update().Where(user.IDIn(users...)).AddAccessVersion(1).Exec(auth.SystemContext(ctx))
	})
}

// auditUser records changes of a user's role, password, projects or active
// flag, and the creation of users, in the same transaction as the change.
func auditUser(next gen.Mutator) gen.Mutator {
	return hook.UserFunc(func(ctx context.Context, m *gen.UserMutation) (gen.Value, error) {
		var actions []string
		if m.Op().Is(gen.OpCreate) {
			actions = append(actions, audit.UserCreate)
		} else {
			if _, ok := m.Role(); ok {
				actions = append(actions, audit.UserRoleChange)
			}
			if _, ok := m.Active(); ok {
				actions = append(actions, audit.UserActiveChange)
			}
			if _, ok := m.PasswordHash(); ok {
				actions = append(actions, audit.UserPasswordChange)
			}
		}
		if len(m.ProjectsIDs()) > 0 || len(m.RemovedProjectsIDs()) > 0 || m.ProjectsCleared() {
			actions = append(actions, audit.UserProjectsChange)
		}
		if len(actions) == 0 {
			return next.Mutate(ctx, m)
		}
		var ids []pulid.ID // the users an update touches; a create's comes back from it
		if !m.Op().Is(gen.OpCreate) {
			var err error
			if ids, err = m.IDs(ctx); err != nil {
				return nil, err
			}
		}
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return nil, err
		}
		if u, ok := v.(*gen.User); ok && len(ids) == 0 {
			ids = append(ids, u.ID)
		}
		var events []audit.Event
		for _, id := range ids {
			for _, a := range actions {
				events = append(events, audit.Event{Action: a, ObjectID: id})
			}
		}
		return v, audit.Record(ctx, m.Client(), events...)
	})
}

// auditOwner records every change of a customer's owning agent (SPEC.md §3.1).
func auditOwner(next gen.Mutator) gen.Mutator {
	return hook.CustomerFunc(func(ctx context.Context, m *gen.CustomerMutation) (gen.Value, error) {
		newOwner, set := m.OwnerID()
		if !set && !m.OwnerCleared() || m.Op().Is(gen.OpCreate) {
			return next.Mutate(ctx, m)
		}
		to := "none"
		if set {
			to = string(newOwner)
		}
		if known, ok := audit.OwnerChangeOf(ctx); ok && m.Op().Is(gen.OpUpdate) {
			// The caller pinned the one row and its owner in the update's
			// predicates: the count says whether it changed.
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			from := "none"
			if known.From != nil {
				from = string(*known.From)
			}
			switch n, _ := v.(int); {
			case n == 0 || from == to:
				return v, nil
			case n > 1:
				return nil, fmt.Errorf("audit: an update of the owner of customer %s changed %d rows", known.CustomerID, n)
			}
			return v, audit.Record(ctx, m.Client(), audit.Event{Action: audit.CustomerOwnerChange,
				ObjectID: known.CustomerID, ProjectID: known.ProjectID, Detail: from + " → " + to})
		}
		ids, err := m.IDs(ctx)
		if err != nil {
			return nil, err
		}
		before, err := m.Client().Customer.Query().Where(customer.IDIn(ids...)).All(auth.SystemContext(ctx))
		if err != nil {
			return nil, err
		}
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return nil, err
		}
		var events []audit.Event
		for _, c := range before {
			from := "none"
			if c.OwnerID != nil {
				from = string(*c.OwnerID)
			}
			if from != to {
				events = append(events, audit.Event{Action: audit.CustomerOwnerChange, ObjectID: c.ID, ProjectID: c.ProjectID, Detail: from + " → " + to})
			}
		}
		return v, audit.Record(ctx, m.Client(), events...)
	})
}

// checkUserKind keeps the two kinds of login apart: a homeowner is a
// customer record and works in no project; staff are no customer.
func checkUserKind(next gen.Mutator) gen.Mutator {
	return hook.UserFunc(func(ctx context.Context, m *gen.UserMutation) (gen.Value, error) {
		role, roleSet := m.Role()
		if !roleSet && m.Op().Is(gen.OpUpdateOne) {
			old, err := m.OldRole(ctx)
			if err != nil {
				return nil, err
			}
			role = old
		}
		if !roleSet && !m.Op().Is(gen.OpCreate|gen.OpUpdateOne) {
			return next.Mutate(ctx, m)
		}
		_, customerSet := m.CustomerID()
		switch {
		case role == user.RoleOWNER && m.Op().Is(gen.OpCreate) && !customerSet:
			return nil, apperr.Input("customerId", "a homeowner login needs the customer record it belongs to")
		case role == user.RoleOWNER && len(m.ProjectsIDs()) > 0:
			return nil, apperr.Input("projectIds", "a homeowner works in no project")
		case role != user.RoleOWNER && customerSet:
			return nil, apperr.Input("customerId", "only a homeowner login belongs to a customer record")
		}
		return next.Mutate(ctx, m)
	})
}

// requireTerms makes a deal's price required on create; the column is
// nullable only so that reads can hide it (maskDealTerms).
func requireTerms(next gen.Mutator) gen.Mutator {
	return hook.DealFunc(func(ctx context.Context, m *gen.DealMutation) (gen.Value, error) {
		if _, ok := m.Price(); m.Op().Is(gen.OpCreate) && !ok {
			return nil, apperr.Input("price", "a deal needs its price")
		}
		return next.Mutate(ctx, m)
	})
}

// maskDealTerms hides the price, discount and deposit of a deal from an
// agent who did not make it (they may see the deal because its customer is
// now theirs): another agent's terms are not theirs to see.
func maskDealTerms() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			if deals, ok := v.([]*gen.Deal); ok && err == nil {
				viewer := auth.FromContext(ctx)
				for _, d := range deals {
					if !rule.MaySeeDealTerms(viewer, d) {
						d.Price, d.DiscountBp, d.Deposit = nil, nil, nil
					}
				}
			}
			return v, err
		})
	})
}

// maskProjectRules hides a project's sales-office rules (protection days,
// hold minutes, the agents' discount cap) from everyone but staff.
func maskProjectRules() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			if projects, ok := v.([]*gen.Project); ok && err == nil && !rule.IsStaff(auth.FromContext(ctx)) {
				for _, p := range projects {
					p.ProtectionDays, p.HoldMinutes, p.AgentDiscountCapBp = nil, nil, nil
				}
			}
			return v, err
		})
	})
}

// maskHolds shows a lapsed hold as an available unit, and hides who holds a
// unit, for whom and until when, from everyone but staff: a portal sees a
// held unit as held, never a person. A lapsed hold is an available unit
// held by nobody on every path: every unit query reads the table as it
// reads at the request's clock (rule.UnitsAsRead), unless it is marked
// rule.StoredReadsAgree (its conditions and order select the same rows from
// the table as stored; the fields are then fixed up below), so its ordering, its
// cursors, its conditions and its counts on status or on the holder agree
// with the fields (units ordered by STATUS in Query.units and in the edges
// of projects and buildings, customers { heldUnits }, the user's held
// units), and an edge loader never meets a row whose key this mask then
// clears; the holder and customer loaded with the unit (field collection)
// are dropped with their keys.
func maskHolds() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			now := clock.Now(ctx)
			if uq, ok := q.(*gen.UnitQuery); ok {
				uq.Where(rule.UnitsAsReadUnlessStoredAgrees(now))
			}
			v, err := next.Query(ctx, q)
			units, ok := v.([]*gen.Unit)
			if !ok || err != nil {
				return v, err
			}
			staff := rule.IsStaff(auth.FromContext(ctx))
			for _, u := range units {
				// A hold lapses by itself: once expired the unit reads as
				// available, to everyone, with no sweeper having run.
				if rule.HoldLapsed(u, now) {
					u.Status = unit.StatusAVAILABLE
					u.HeldByID, u.HeldForID, u.HoldExpiresAt = nil, nil, nil
					u.Edges.HeldBy, u.Edges.HeldFor = nil, nil
				}
				if !staff {
					u.HeldByID, u.HeldForID, u.HoldExpiresAt = nil, nil, nil
					u.Edges.HeldBy, u.Edges.HeldFor = nil, nil
				}
			}
			return v, err
		})
	})
}

// photosInUploadOrder returns a complaint's photos in the order they were
// sent: their IDs are monotonic ULIDs, and the database returns an edge's
// rows in no particular order.
func photosInUploadOrder() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			if photos, ok := v.([]*gen.ComplaintPhoto); ok && err == nil {
				slices.SortFunc(photos, func(a, b *gen.ComplaintPhoto) int { return strings.Compare(string(a.ID), string(b.ID)) })
			}
			return v, err
		})
	})
}

// displayName checks a name or title people read in lists (a person, a
// project, a building, a complaint, an API key): at most n characters, not
// made only of white space or invisible characters (a full-width space from
// a Chinese keyboard, a zero-width space pasted from a chat), and no control
// characters (a newline, a NUL that PostgreSQL would refuse). A validator,
// not a resolver check, so that every entry point obeys it.
func displayName(n int) func(string) error {
	limit := maxRunes(n)
	return func(s string) error {
		if err := limit(s); err != nil {
			return err
		}
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			return errors.New("holds a control character")
		}
		if strings.TrimFunc(s, invisible) == "" {
			return errors.New("is blank")
		}
		return nil
	}
}

// invisible reports whether r shows nothing: white space (unicode.IsSpace
// covers U+3000 and U+00A0) or a format character (U+200B, U+FEFF).
func invisible(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }
