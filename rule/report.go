package rule

import (
	"context"
	"slices"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/channelspend"
	"estatecrm/ent/privacy"
	"estatecrm/ent/unithold"
)

// FilterUnitHolds: a manager sees the hold records of their projects, an
// agent its own; nobody else any (admins pass before this rule).
func FilterUnitHolds() privacy.QueryRule {
	return privacy.UnitHoldQueryRuleFunc(func(ctx context.Context, q *ent.UnitHoldQuery) error {
		v := auth.FromContext(ctx)
		switch v.Role {
		case auth.RoleManager:
			q.Where(unithold.ProjectIDIn(v.ProjectIDs...))
		case auth.RoleAgent:
			q.Where(unithold.AgentID(v.UserID))
		default:
			q.Where(none)
		}
		return privacy.Allow
	})
}

// AllowStaffHoldRecords lets staff record their own holds in their
// projects (sales.HoldUnit writes one with each hold). Records never change.
func AllowStaffHoldRecords() privacy.MutationRule {
	return privacy.UnitHoldMutationRuleFunc(func(ctx context.Context, m *ent.UnitHoldMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || (v.Role != auth.RoleManager && v.Role != auth.RoleAgent) || !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		agent, _ := m.AgentID()
		pid, _ := m.ProjectID()
		if agent != v.UserID || !slices.Contains(v.ProjectIDs, pid) {
			return privacy.Denyf("a hold is recorded by its agent, in the agent's project")
		}
		return privacy.Allow
	})
}

// FilterChannelSpends: a manager sees the channel spend of their projects;
// agents, homeowners and portals none (it is the office's budget).
func FilterChannelSpends() privacy.QueryRule {
	return privacy.ChannelSpendQueryRuleFunc(func(ctx context.Context, q *ent.ChannelSpendQuery) error {
		v := auth.FromContext(ctx)
		if v.Role == auth.RoleManager {
			q.Where(channelspend.ProjectIDIn(v.ProjectIDs...))
		} else {
			q.Where(none)
		}
		return privacy.Allow
	})
}

// AllowManagerChannelSpendWrites lets a manager enter and change the
// channel spend of their projects (admins pass before this rule).
func AllowManagerChannelSpendWrites() privacy.MutationRule {
	return privacy.ChannelSpendMutationRuleFunc(func(ctx context.Context, m *ent.ChannelSpendMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleManager {
			return privacy.Skip
		}
		switch {
		case m.Op().Is(ent.OpCreate):
			if pid, _ := m.ProjectID(); !slices.Contains(v.ProjectIDs, pid) {
				return privacy.Denyf("not a project of yours")
			}
			return privacy.Allow
		case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
			m.Where(channelspend.ProjectIDIn(v.ProjectIDs...))
			return privacy.Allow
		}
		return privacy.Skip
	})
}
