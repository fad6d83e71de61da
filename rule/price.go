package rule

import (
	"context"
	"slices"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/pricechange"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/unit"
)

// The catalogue's rules (issue 11): a unit's list price, its publication
// and its withdrawal are a manager's (in their projects) or an admin's; an
// agent, who may write a unit's status through a hold or a deal, may not
// touch them.

// PriceChangesVisibleTo is the price changes v may read: the history of a
// unit's list price is the developer's pricing record (who repriced, and
// why), read by the staff of the unit's project and admins. Portals see a
// unit's current price, never who set it; a homeowner sees what they paid
// in their deal, not the developer's repricing of the building.
func PriceChangesVisibleTo(v *auth.Viewer) func(*ent.PriceChangeQuery) {
	return func(q *ent.PriceChangeQuery) {
		switch role(v) {
		case auth.RoleAdmin, auth.RoleSystem:
		case auth.RoleManager, auth.RoleAgent:
			q.Where(pricechange.ProjectIDIn(v.ProjectIDs...))
		default:
			q.Where(none)
		}
	}
}

// FilterPriceChanges: see PriceChangesVisibleTo.
func FilterPriceChanges() privacy.QueryRule {
	return privacy.PriceChangeQueryRuleFunc(func(ctx context.Context, q *ent.PriceChangeQuery) error {
		PriceChangesVisibleTo(auth.FromContext(ctx))(q)
		return privacy.Allow
	})
}

// AllowPriceChangeWrites lets a manager record, under their own name, a
// price change of a unit of their projects. Nobody but an admin changes the
// record afterwards (its fields are immutable besides).
func AllowPriceChangeWrites() privacy.MutationRule {
	return privacy.PriceChangeMutationRuleFunc(func(ctx context.Context, m *ent.PriceChangeMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleManager || !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		pid, _ := m.ProjectID()
		by, ok := m.ChangedByID()
		if !ok || by != v.UserID || !slices.Contains(v.ProjectIDs, pid) {
			return privacy.Denyf("a price change is recorded by its manager, in the manager's project")
		}
		return privacy.Allow
	})
}

// DenyAgentCatalogueWrites refuses an agent's unit write that reprices,
// publishes or withdraws: AllowStaffUnitWrites lets agents write units for
// the sales workflows, not for the catalogue.
func DenyAgentCatalogueWrites(v *auth.Viewer, m *ent.UnitMutation) error {
	if v.Role != auth.RoleAgent {
		return nil
	}
	_, price := m.ListPrice()
	_, added := m.AddedListPrice()
	_, published := m.Published()
	if s, ok := m.Status(); price || added || published || (ok && s == unit.StatusWITHDRAWN) {
		return privacy.Denyf("only a manager prices, publishes or withdraws a unit")
	}
	return nil
}

// AllowProjectPublishing lets a manager publish or unpublish a project of
// theirs (what portals see), and change nothing else of it. Updates are
// filtered: another project is not found.
func AllowProjectPublishing() privacy.MutationRule {
	return privacy.ProjectMutationRuleFunc(func(ctx context.Context, m *ent.ProjectMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleManager || !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) {
			return privacy.Skip
		}
		if _, ok := m.Published(); !ok {
			return privacy.Skip
		}
		for _, f := range m.Fields() {
			if f != project.FieldPublished && f != project.FieldUpdatedAt {
				return privacy.Skip
			}
		}
		if len(m.AddedFields()) > 0 || len(m.ClearedFields()) > 0 || len(m.AddedEdges()) > 0 ||
			len(m.RemovedEdges()) > 0 || len(m.ClearedEdges()) > 0 {
			return privacy.Skip
		}
		m.Where(project.IDIn(v.ProjectIDs...))
		return privacy.Allow
	})
}
