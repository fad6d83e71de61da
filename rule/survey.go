package rule

import (
	"context"
	"slices"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/predicate"
	"estatecrm/ent/privacy"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
	"estatecrm/ent/unit"
)

// Surveys (满意度回访) carry a homeowner's verdict on a resolution or a
// delivery, in their words. Who sees one follows who sees what it is about:
// a manager the surveys of their projects; an agent those of customers it
// owns and of complaints it works or filed (as complaints); the homeowner
// their own; a portal none.

// SurveysVisibleTo is the surveys v may see.
func SurveysVisibleTo(v *auth.Viewer) predicate.Survey {
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem:
		return all
	case auth.RoleManager:
		return survey.ProjectIDIn(v.ProjectIDs...)
	case auth.RoleAgent:
		return func(s *sql.Selector) {
			// One predicate tree whose arms are index conditions (indexed.go).
			owned := sql.Table(customer.Table)
			ownedSub := sql.Select(owned.C(customer.FieldID)).From(owned).Where(sql.EQ(owned.C(customer.FieldOwnerID), v.UserID))
			worked := sql.Table(complaint.Table)
			workedSub := sql.Select(worked.C(complaint.FieldID)).From(worked).
				Where(sql.Or(sql.EQ(worked.C(complaint.FieldAssigneeID), v.UserID), sql.EQ(worked.C(complaint.FieldFiledByID), v.UserID)))
			s.Where(sql.And(
				sql.In(s.C(survey.FieldProjectID), anys(v.ProjectIDs)...),
				sql.Or(inSubqueryP(s, s.C(survey.FieldCustomerID), ownedSub), inSubqueryP(s, s.C(survey.FieldComplaintID), workedSub)),
			))
		}
	case auth.RoleOwner:
		return survey.CustomerID(v.CustomerID)
	}
	return none
}

// FilterSurveys: see SurveysVisibleTo.
func FilterSurveys() privacy.QueryRule {
	return privacy.SurveyQueryRuleFunc(func(ctx context.Context, q *ent.SurveyQuery) error {
		q.Where(SurveysVisibleTo(auth.FromContext(ctx)))
		return privacy.Allow
	})
}

// surveyAnswerFields are all an answer writes.
var surveyAnswerFields = []string{
	survey.FieldCsat, survey.FieldCsatComment, survey.FieldNps, survey.FieldNpsReason, survey.FieldAnsweredAt,
}

// AllowSurveyAnswers lets a homeowner answer their own surveys, and change
// nothing else of them; updates are filtered to theirs (another's is not
// found). Staff read surveys but never answer for the homeowner.
func AllowSurveyAnswers() privacy.MutationRule {
	return privacy.SurveyMutationRuleFunc(func(ctx context.Context, m *ent.SurveyMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleOwner || !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) {
			return privacy.Skip
		}
		if len(m.ClearedFields()) > 0 || len(m.AddedFields()) > 0 {
			return privacy.Denyf("a survey is answered once")
		}
		for _, f := range m.Fields() {
			if !slices.Contains(surveyAnswerFields, f) {
				return privacy.Denyf("a homeowner does not change a survey's %s", f)
			}
		}
		m.Where(survey.CustomerID(v.CustomerID))
		return privacy.Allow
	})
}

// IssueComplaintSurvey sends the homeowner of a complaint its survey, in
// the transaction of the step that resolved it: staff who see the complaint
// (it must be RESOLVED), once per complaint. A complaint reopened and
// resolved again keeps the survey it has, answered or not: one verdict per
// complaint, so that satisfaction counts each complaint once. Nobody else
// makes surveys, and nobody reads the existing one through this.
func IssueComplaintSurvey(ctx context.Context, client *ent.Client, complaintID pulid.ID, now time.Time) error {
	v := auth.FromContext(ctx)
	if v == nil {
		return ErrUnauthenticated
	}
	if !IsStaff(v) {
		return apperr.New(apperr.Forbidden, "only staff resolve a complaint")
	}
	c, err := client.Complaint.Query().Where(complaint.ID(complaintID), complaint.StatusEQ(complaint.StatusRESOLVED)).
		Select(complaint.FieldID, complaint.FieldProjectID, complaint.FieldCustomerID, complaint.FieldUnitID, complaint.FieldAssigneeID).Only(ctx)
	if err != nil {
		return err
	}
	sys := bypass(ctx)
	if ok, err := client.Survey.Query().Where(survey.ComplaintID(c.ID)).Exist(sys); err != nil || ok {
		return err
	}
	return client.Survey.Create().SetKind(survey.KindCOMPLAINT_RESOLVED).SetProjectID(c.ProjectID).
		SetCustomerID(c.CustomerID).SetUnitID(c.UnitID).SetComplaintID(c.ID).SetNillableAgentID(c.AssigneeID).
		SetCreatedAt(now).Exec(sys)
}

// IssueDeliverySurvey sends the buyer of a delivered unit its survey, in the
// transaction of the delivery: a manager (or an admin) who sees the unit,
// DELIVERED, for the buyer of its contracted deal, once per deal.
func IssueDeliverySurvey(ctx context.Context, client *ent.Client, unitID pulid.ID, now time.Time) error {
	v := auth.FromContext(ctx)
	if v == nil {
		return ErrUnauthenticated
	}
	if v.Role != auth.RoleManager && v.Role != auth.RoleAdmin && v.Role != auth.RoleSystem {
		return apperr.New(apperr.Forbidden, "only a manager delivers a unit")
	}
	d, err := client.Deal.Query().
		Where(deal.UnitID(unitID), deal.StageEQ(deal.StageCONTRACTED), deal.HasUnitWith(unit.StatusEQ(unit.StatusDELIVERED))).
		Select(deal.FieldID, deal.FieldProjectID, deal.FieldCustomerID, deal.FieldUnitID, deal.FieldAgentID).Only(ctx)
	if err != nil {
		return err
	}
	sys := bypass(ctx)
	if ok, err := client.Survey.Query().Where(survey.DealID(d.ID)).Exist(sys); err != nil || ok {
		return err
	}
	return client.Survey.Create().SetKind(survey.KindUNIT_DELIVERED).SetProjectID(d.ProjectID).
		SetCustomerID(d.CustomerID).SetUnitID(d.UnitID).SetDealID(d.ID).SetAgentID(d.AgentID).
		SetCreatedAt(now).Exec(sys)
}
