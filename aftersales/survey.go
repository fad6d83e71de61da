package aftersales

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
)

// SurveyAnswer is a homeowner's answer to a satisfaction survey.
type SurveyAnswer struct {
	SurveyID    pulid.ID
	Csat        int
	CsatComment *string
	Nps         int
	NpsReason   *string
}

// AnswerSurvey records the homeowner's answer to a survey of theirs, once:
// CSAT 1–5 and NPS 0–10, each with optional words. A second answer is
// CONFLICT; staff see surveys but do not answer them.
func AnswerSurvey(ctx context.Context, client *ent.Client, a SurveyAnswer, now time.Time) (*ent.Survey, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	if a.Csat < 1 || a.Csat > 5 {
		return nil, apperr.Input("input.csat", "satisfaction is 1 to 5")
	}
	if a.Nps < 0 || a.Nps > 10 {
		return nil, apperr.Input("input.nps", "likelihood to recommend is 0 to 10")
	}
	comment, err := words(a.CsatComment, "input.csatComment")
	if err != nil {
		return nil, err
	}
	reason, err := words(a.NpsReason, "input.npsReason")
	if err != nil {
		return nil, err
	}
	s, err := client.Survey.Get(ctx, a.SurveyID)
	if err != nil {
		return nil, err
	}
	if v.Role != auth.RoleOwner || s.CustomerID != v.CustomerID {
		return nil, apperr.New(apperr.Forbidden, "only the homeowner answers their survey")
	}
	if s.AnsweredAt != nil {
		return nil, apperr.New(apperr.Conflict, "the survey is already answered")
	}
	// answered_at IS NULL in the UPDATE: of two racing answers one counts.
	n, err := client.Survey.Update().Where(survey.ID(s.ID), survey.AnsweredAtIsNil()).
		SetCsat(a.Csat).SetCsatComment(comment).SetNps(a.Nps).SetNpsReason(reason).SetAnsweredAt(now).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "the survey is already answered")
	}
	return client.Survey.Get(ctx, s.ID)
}

// words is an optional free text of at most 1000 characters, trimmed.
func words(s *string, field string) (string, error) {
	if s == nil {
		return "", nil
	}
	t := strings.TrimSpace(*s)
	if utf8.RuneCountInString(t) > 1000 {
		return "", apperr.Input(field, "at most 1000 characters")
	}
	return t, nil
}

// Surveys lists the surveys the viewer sees (the privacy rules decide):
// pending true, only those not yet answered; false, only answered ones.
func Surveys(client *ent.Client, pending *bool) *ent.SurveyQuery {
	q := client.Survey.Query()
	if pending != nil {
		if *pending {
			q.Where(survey.AnsweredAtIsNil())
		} else {
			q.Where(survey.AnsweredAtNotNil())
		}
	}
	return q
}
