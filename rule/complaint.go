package rule

import (
	"context"
	"slices"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/privacy"
	"estatecrm/ent/schema/pulid"
)

// ownerComplaintFields are what a homeowner's own steps change: closing,
// reopening and rating. Routing, acknowledging and resolving are staff's.
var ownerComplaintFields = []string{
	complaint.FieldStatus, complaint.FieldClosedAt, complaint.FieldResolvedAt,
	complaint.FieldResolutionStartedAt, complaint.FieldResolutionDueAt, complaint.FieldResolutionRiskAt,
	complaint.FieldReopenCount, complaint.FieldRating, complaint.FieldRatingComment, complaint.FieldRatedAt,
	complaint.FieldUpdatedAt,
}

// agentComplaintFields are what an agent's steps change: acknowledging,
// starting and resolving. Routing, closing and reopening are a manager's
// (or, for the last two, the homeowner's).
var agentComplaintFields = []string{
	complaint.FieldStatus, complaint.FieldAcknowledgedAt, complaint.FieldResolvedAt,
	complaint.FieldResolutionNote, complaint.FieldUpdatedAt,
}

// agentComplaintStatuses are the statuses an agent's steps lead to.
var agentComplaintStatuses = []complaint.Status{
	complaint.StatusACKNOWLEDGED, complaint.StatusIN_PROGRESS, complaint.StatusRESOLVED,
}

// AllowComplaintWrites lets a homeowner file complaints for themself and
// staff file them in their projects; updates are filtered to the complaints
// the viewer sees (package aftersales decides which step is whose), a
// homeowner's updates may touch only their own steps' fields, and an
// agent's only the fields of the staff steps (no routing, closing or
// reopening, even of a complaint it works).
func AllowComplaintWrites() privacy.MutationRule {
	return privacy.ComplaintMutationRuleFunc(func(ctx context.Context, m *ent.ComplaintMutation) error {
		v := auth.FromContext(ctx)
		if v == nil {
			return privacy.Skip
		}
		switch {
		case m.Op().Is(ent.OpCreate):
			cid, _ := m.CustomerID()
			pid, _ := m.ProjectID()
			if (v.Role == auth.RoleOwner && cid == v.CustomerID) ||
				((v.Role == auth.RoleManager || v.Role == auth.RoleAgent) && slices.Contains(v.ProjectIDs, pid)) {
				return privacy.Allow
			}
			return privacy.Denyf("not a complaint you may file")
		case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
			if v.Role == auth.RoleOwner {
				for _, f := range append(m.Fields(), m.ClearedFields()...) {
					if !slices.Contains(ownerComplaintFields, f) {
						return privacy.Denyf("a homeowner does not change %s", f)
					}
				}
			}
			if v.Role == auth.RoleAgent {
				if len(m.ClearedFields()) > 0 || len(m.AddedFields()) > 0 {
					return privacy.Denyf("only a manager routes, closes or reopens a complaint")
				}
				for _, f := range m.Fields() {
					if !slices.Contains(agentComplaintFields, f) {
						return privacy.Denyf("only a manager changes a complaint's %s", f)
					}
				}
				if s, ok := m.Status(); ok && !slices.Contains(agentComplaintStatuses, s) {
					return privacy.Denyf("only a manager or the homeowner closes a complaint")
				}
			}
			if v.Role == auth.RoleOwner || v.Role == auth.RoleManager || v.Role == auth.RoleAgent {
				m.Where(complaintsOf(v))
				return privacy.Allow
			}
		}
		return privacy.Skip
	})
}

// AllowComplaintEventWrites lets whoever sees a complaint add to its
// timeline under their own name; a homeowner adds no staff-only notes.
// Timeline events are a record: nobody but an admin changes one.
func AllowComplaintEventWrites() privacy.MutationRule {
	return privacy.ComplaintEventMutationRuleFunc(func(ctx context.Context, m *ent.ComplaintEventMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		actor, _ := m.ActorID()
		internal, _ := m.Internal()
		if actor != v.UserID || (v.Role == auth.RoleOwner && internal) {
			return privacy.Denyf("a timeline event is written by its actor")
		}
		return allowIfComplaintVisible(ctx, m.Client(), m.ComplaintID)
	})
}

// AllowComplaintPhotoWrites lets whoever sees a complaint attach photos.
func AllowComplaintPhotoWrites() privacy.MutationRule {
	return privacy.ComplaintPhotoMutationRuleFunc(func(ctx context.Context, m *ent.ComplaintPhotoMutation) error {
		if auth.FromContext(ctx) == nil || !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		return allowIfComplaintVisible(ctx, m.Client(), m.ComplaintID)
	})
}

func allowIfComplaintVisible(ctx context.Context, client *ent.Client, id func() (pulid.ID, bool)) error {
	cid, ok := id()
	if !ok {
		return privacy.Skip
	}
	seen, err := client.Complaint.Query().Where(complaint.ID(cid)).Exist(ctx)
	if err != nil {
		return err
	}
	if !seen {
		return privacy.Denyf("not a complaint of yours")
	}
	return privacy.Allow
}
