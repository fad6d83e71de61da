// Package rule holds the privacy rules of SPEC.md §3.4, written once and
// attached to every ent schema, so that lists, edges, node(id:), counts and
// subscriptions all see the same rows:
//
//   - anonymous: nothing (UNAUTHENTICATED);
//   - admin and the system itself: everything;
//   - manager: everything in their projects;
//   - agent: their projects' units; their own customers, and the public pool
//     of their projects (phone masked); their own visits and deals;
//   - homeowner: their own profile, units, deals and complaints;
//   - portal: published projects and their published units.
//
// A read the viewer may not make is filtered out, not refused, so a denied
// object is indistinguishable from a missing one (NOT_FOUND). Mutations are
// denied unless a rule allows them.
package rule

import (
	"context"
	"slices"

	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/privacy"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// ErrUnauthenticated answers any data access without a viewer.
var ErrUnauthenticated = apperr.New(apperr.Unauthenticated, "authentication required")

// DenyIfNoViewer refuses anonymous access.
func DenyIfNoViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if auth.FromContext(ctx) == nil {
			return ErrUnauthenticated
		}
		return privacy.Skip
	})
}

// AllowIfAdmin lets admins and the system itself through.
func AllowIfAdmin() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := auth.FromContext(ctx); v != nil && (v.Role == auth.RoleAdmin || v.Role == auth.RoleSystem) {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowIfSystem lets only the server itself through (seed, jobs, sessions).
func AllowIfSystem() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := auth.FromContext(ctx); v != nil && v.Role == auth.RoleSystem {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// Policy is the usual policy of an entity: no anonymous access, admins and
// the system allowed, reads filtered by the entity's filter, and mutations
// allowed only by the extra rules given (domain workflows add theirs).
func Policy(filter privacy.QueryRule, mutations ...privacy.MutationRule) privacy.Policy {
	m := privacy.MutationPolicy{DenyIfNoViewer(), AllowIfAdmin()}
	m = append(m, mutations...)
	m = append(m, privacy.AlwaysDenyRule())
	return privacy.Policy{
		Query:    privacy.QueryPolicy{DenyIfNoViewer(), loadDeciders(), AllowIfAdmin(), filter, privacy.AlwaysDenyRule()},
		Mutation: m,
	}
}

// SystemOnly is the policy of internal entities (refresh tokens).
func SystemOnly() privacy.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{AllowIfSystem(), privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{AllowIfSystem(), privacy.AlwaysDenyRule()},
	}
}

// none matches no row.
func none(s *sql.Selector) { s.Where(sql.False()) }

// MaySeePhone reports whether the viewer may see a customer's full phone:
// the owning agent and the customer themself (and the server). Everyone
// else who may see the customer at all (an agent looking at the public
// pool, the project's managers, an admin) sees it masked on every read
// path; a manager or an admin who needs the number asks for it through
// revealPhone, with a reason that is audited (people.RevealPhone). An
// erased customer's placeholder is nobody's number: masked for everyone.
func MaySeePhone(v *auth.Viewer, c *ent.Customer) bool {
	if v == nil {
		return false
	}
	if v.Role == auth.RoleSystem {
		return true
	}
	if Erased(c) {
		return false
	}
	switch v.Role {
	case auth.RoleAdmin, auth.RoleManager, auth.RoleAgent:
		return c.OwnerID != nil && *c.OwnerID == v.UserID
	case auth.RoleOwner:
		return c.ID == v.CustomerID
	}
	return false
}

type passwordProofKey struct{}

// WithPasswordProof marks ctx as belonging to a user who has just proved
// their current password (account.ChangePassword does, before the update).
func WithPasswordProof(ctx context.Context) context.Context {
	return context.WithValue(ctx, passwordProofKey{}, true)
}

// AllowOwnPasswordChange lets a signed-in user update their own password,
// and nothing else of their user row, once they proved the current one: a
// stolen access token alone cannot take the account over.
func AllowOwnPasswordChange() privacy.MutationRule {
	return privacy.UserMutationRuleFunc(func(ctx context.Context, m *ent.UserMutation) error {
		v := auth.FromContext(ctx)
		id, ok := m.ID()
		proved, _ := ctx.Value(passwordProofKey{}).(bool)
		if !ok || !proved || !m.Op().Is(ent.OpUpdateOne) || v == nil || v.UserID == "" || id != v.UserID {
			return privacy.Skip
		}
		if _, ok := m.PasswordHash(); !ok {
			return privacy.Skip // no password change: an update of nothing is no exception
		}
		for _, f := range m.Fields() {
			if f != user.FieldPasswordHash && f != user.FieldUpdatedAt {
				return privacy.Skip
			}
		}
		if len(m.AddedFields()) > 0 || len(m.ClearedFields()) > 0 || len(m.AddedEdges()) > 0 || len(m.RemovedEdges()) > 0 || len(m.ClearedEdges()) > 0 {
			return privacy.Skip
		}
		return privacy.Allow
	})
}

// MaySeeDealTerms reports whether the viewer may see a deal's price,
// discount and deposit: anyone who may see the deal, except an agent who did
// not make it.
func MaySeeDealTerms(v *auth.Viewer, d *ent.Deal) bool {
	return v == nil || v.Role != auth.RoleAgent || d.AgentID == v.UserID
}

// IsStaff reports whether the viewer works for the developer (or is the
// server itself): the sales-office rules and who holds what are theirs.
func IsStaff(v *auth.Viewer) bool {
	if v == nil {
		return false
	}
	switch v.Role {
	case auth.RoleSystem, auth.RoleAdmin, auth.RoleManager, auth.RoleAgent:
		return true
	}
	return false
}

// AllowStaffCustomerWrites lets managers write the customers of their
// projects, and an agent create customers it owns in its projects, update
// its own customers, and take pool customers of its projects for itself.
// Reassigning is a manager's act: an agent may not reassign, not even its
// own customer or a pool customer to itself (that would renew protection
// without a contact), and takes an owner only by claiming from the pool.
// Updates are filtered, not checked: a row outside them is not found.
func AllowStaffCustomerWrites() privacy.MutationRule {
	return privacy.CustomerMutationRuleFunc(func(ctx context.Context, m *ent.CustomerMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || (v.Role != auth.RoleManager && v.Role != auth.RoleAgent) {
			return privacy.Skip
		}
		if pid, ok := m.ProjectID(); ok && !slices.Contains(v.ProjectIDs, pid) {
			return privacy.Denyf("not a project of yours")
		}
		owner, ownerSet := m.OwnerID()
		if v.Role == auth.RoleAgent {
			if (ownerSet && owner != v.UserID) || m.OwnerCleared() {
				return privacy.Denyf("an agent takes customers only for itself")
			}
			if r, ok := m.AttributionRule(); ok && r == customer.AttributionRuleREASSIGNED {
				return privacy.Denyf("only a manager reassigns a customer")
			}
		}
		switch {
		case m.Op().Is(ent.OpCreate):
			if _, ok := m.ProjectID(); !ok || (v.Role == auth.RoleAgent && !ownerSet) {
				return privacy.Denyf("a customer is created in a project, owned by its agent")
			}
			return privacy.Allow
		case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
			now := clock.Now(ctx)
			switch {
			case v.Role == auth.RoleManager:
				m.Where(customer.ProjectIDIn(v.ProjectIDs...))
			case ownerSet: // a claim: only from the pool
				m.Where(customer.ProjectIDIn(v.ProjectIDs...), PublicPool(now))
			default:
				m.Where(customer.ProjectIDIn(v.ProjectIDs...), customer.Or(customer.OwnerID(v.UserID), PublicPool(now)))
			}
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowStaffUnitWrites lets staff change the units of their projects; the
// sales workflows (holds, deals) decide which changes, under conditions in
// their own WHERE clauses. Updates are filtered: another project's unit is
// not found.
func AllowStaffUnitWrites() privacy.MutationRule {
	return privacy.UnitMutationRuleFunc(func(ctx context.Context, m *ent.UnitMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || (v.Role != auth.RoleManager && v.Role != auth.RoleAgent) || !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) {
			return privacy.Skip
		}
		if by, ok := m.HeldByID(); ok && v.Role == auth.RoleAgent && by != v.UserID {
			return privacy.Denyf("an agent holds units only for itself")
		}
		if s, ok := m.Status(); ok && v.Role == auth.RoleAgent && s == unit.StatusDELIVERED {
			return privacy.Denyf("only a manager delivers a unit")
		}
		if err := DenyAgentCatalogueWrites(v, m); err != nil {
			return err
		}
		m.Where(unit.ProjectIDIn(v.ProjectIDs...))
		return privacy.Allow
	})
}

// AllowStaffVisitLogs lets staff log visits in their projects under their
// own name. Visits are a record: nobody but an admin changes one.
func AllowStaffVisitLogs() privacy.MutationRule {
	return privacy.VisitMutationRuleFunc(func(ctx context.Context, m *ent.VisitMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || (v.Role != auth.RoleManager && v.Role != auth.RoleAgent) || !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		agent, _ := m.AgentID()
		pid, _ := m.ProjectID()
		if agent != v.UserID || !slices.Contains(v.ProjectIDs, pid) {
			return privacy.Denyf("a visit is logged by its agent, in the agent's project")
		}
		return privacy.Allow
	})
}

// AllowStaffDealWrites lets staff make deals under their own name in their
// projects and sign their own; only a manager gives a discount above the
// project's agent cap (an agent may only ask for it: a deal pending
// approval) or approves one, changes a deal's terms, cancels a deal or touches
// another agent's. Updates are filtered to what the viewer may change.
func AllowStaffDealWrites() privacy.MutationRule {
	return privacy.DealMutationRuleFunc(func(ctx context.Context, m *ent.DealMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || (v.Role != auth.RoleManager && v.Role != auth.RoleAgent) {
			return privacy.Skip
		}
		switch {
		case m.Op().Is(ent.OpCreate):
			agent, _ := m.AgentID()
			pid, _ := m.ProjectID()
			if agent != v.UserID || !slices.Contains(v.ProjectIDs, pid) {
				return privacy.Denyf("a deal is made by its agent, in the agent's project")
			}
			if d, ok := m.DiscountBp(); ok && d > 0 && v.Role == auth.RoleAgent {
				p, ok := projectRead(ctx, pid)
				if !ok {
					var err error
					if p, err = m.Client().Project.Get(ctx, pid); err != nil {
						return err
					}
				}
				// Above the cap only as a request, pending a manager's approval.
				if st, _ := m.Stage(); d > AgentDiscountCap(p) && st != deal.StagePENDING_APPROVAL {
					return privacy.Denyf("a discount above the project's agent cap needs a manager")
				}
			}
			return privacy.Allow
		case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
			if v.Role == auth.RoleAgent {
				if stage, ok := m.Stage(); ok && stage == deal.StageCANCELLED {
					return privacy.Denyf("only a manager cancels a deal")
				}
				if stage, ok := m.Stage(); ok && (stage == deal.StageRESERVED || stage == deal.StagePENDING_APPROVAL) {
					return privacy.Denyf("only a manager approves a discount")
				}
				_, price := m.Price()
				_, discount := m.DiscountBp()
				_, deposit := m.Deposit()
				if price || discount || deposit || len(m.AddedFields()) > 0 {
					return privacy.Denyf("only a manager changes a deal's terms")
				}
				m.Where(deal.AgentID(v.UserID))
			}
			m.Where(deal.ProjectIDIn(v.ProjectIDs...))
			return privacy.Allow
		}
		return privacy.Skip
	})
}

type projectReadKey struct{}

// WithProjectRead returns a context that carries p, a project the caller
// has just read from the database in this request (ReserveUnit reads the
// unit's project's cap with the unit), so that a rule needing the
// project's settings (the agents' discount cap) uses it instead of reading
// it again (issue 10: no hook repeats a SELECT its caller did). Only p's ID
// and its sales rules are used; a caller must pass the row as read, never
// one it made up.
func WithProjectRead(ctx context.Context, p *ent.Project) context.Context {
	return context.WithValue(ctx, projectReadKey{}, p)
}

// projectRead returns the project WithProjectRead put in ctx, if it is id.
func projectRead(ctx context.Context, id pulid.ID) (*ent.Project, bool) {
	p, ok := ctx.Value(projectReadKey{}).(*ent.Project)
	return p, ok && p != nil && p.ID == id
}

// AgentDiscountCap is the largest discount, in basis points, an agent may
// give alone in project p; a larger one needs a manager.
func AgentDiscountCap(p *ent.Project) int {
	if p.AgentDiscountCapBp != nil {
		return *p.AgentDiscountCapBp
	}
	return 300
}
