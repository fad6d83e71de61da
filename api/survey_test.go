package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// Satisfaction surveys (issue 13, item 2): sent to the homeowner in the
// transaction that resolves their complaint or delivers their unit, once per
// complaint or delivery, answered once through answerSurvey, seen by the
// homeowner and the project's staff only.

const (
	svList = `query($pending: Boolean) { surveys(first: 20, pending: $pending) { totalCount edges { node {
  id kind answered csat csatComment nps npsReason answeredAt createdAt
  customer { id } unit { id } complaint { id } deal { id } project { id } } } } }`
	svAnswer = `mutation($id: ID!, $csat: Int!, $nps: Int!, $comment: String, $reason: String) {
  answerSurvey(input: {surveyId: $id, csat: $csat, csatComment: $comment, nps: $nps, npsReason: $reason}) {
    survey { id answered csat csatComment nps npsReason answeredAt } } }`
)

type surveyView struct {
	ID          string
	Kind        string
	Answered    bool
	Csat        *int
	CsatComment string
	Nps         *int
	NpsReason   string
	AnsweredAt  *time.Time
	CreatedAt   time.Time
	Customer    struct{ ID string }
	Unit        struct{ ID string }
	Complaint   *struct{ ID string }
	Deal        *struct{ ID string }
	Project     struct{ ID string }
}

// surveysOf lists the surveys actor sees (pending: nil all, else filtered).
func surveysOf(t *testing.T, c *apitest.Caller, pending any) []surveyView {
	t.Helper()
	var out struct {
		Surveys struct {
			TotalCount int
			Edges      []struct{ Node surveyView }
		}
	}
	c.Query(t, svList, map[string]any{"pending": pending}).Decode(t, &out)
	var views []surveyView
	for _, e := range out.Surveys.Edges {
		views = append(views, e.Node)
	}
	if out.Surveys.TotalCount != len(views) {
		t.Fatalf("totalCount %d for %d surveys", out.Surveys.TotalCount, len(views))
	}
	return views
}

// resolved walks a complaint of H1's on uH1 to RESOLVED (the manager
// acknowledges and starts, then resolves at resolveAt) and returns its ID.
func (w *complaintWorld) resolved(t *testing.T, title string, resolveAt time.Duration) string {
	t.Helper()
	c := w.submit(t, "H1", "uH1", "", "NORMAL", title)
	w.step(t, "MA", cpAcknowledge, cpVars{}.with(c.ID))
	w.step(t, "MA", cpStart, cpVars{}.with(c.ID))
	w.at(resolveAt)
	if got := w.step(t, "MA", cpResolve, cpVars{"note": "fixed"}.with(c.ID)); got.Status != "RESOLVED" {
		t.Fatalf("resolved: %+v", got)
	}
	return c.ID
}

func TestSurveyAfterResolutionAnsweredOnce(t *testing.T) {
	w := newComplaintWorld(t)
	ctx := apitest.System()
	w.at(0)
	c := w.submit(t, "H1", "uH1", "", "NORMAL", "leak in the bathroom")
	w.step(t, "MA", cpAcknowledge, cpVars{}.with(c.ID))
	w.step(t, "MA", cpStart, cpVars{}.with(c.ID))
	// A refused resolution (no note) sends nothing.
	w.wantRefused(t, c.ID, "MA", cpResolve, cpVars{}, "BAD_USER_INPUT", "input.note")
	if n := w.env.Client.Survey.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d surveys before the complaint is resolved", n)
	}
	w.at(5 * time.Hour)
	w.step(t, "MA", cpResolve, cpVars{"note": "replaced the pipe"}.with(c.ID))

	got := surveysOf(t, w.as(t, "H1"), nil)
	if len(got) != 1 {
		t.Fatalf("H1 has %d surveys, want 1", len(got))
	}
	s := got[0]
	if s.Kind != "COMPLAINT_RESOLVED" || s.Answered || s.Csat != nil || s.Nps != nil || s.Complaint == nil || s.Complaint.ID != c.ID ||
		s.Customer.ID != string(w.id("cH1")) || s.Unit.ID != string(w.id("uH1")) || s.Project.ID != string(w.id("pA")) ||
		s.Deal != nil || !s.CreatedAt.Equal(w.t0.Add(5*time.Hour)) {
		t.Fatalf("the survey sent: %+v", s)
	}

	// Who sees it: the homeowner, the project's manager, the agent who owns
	// the homeowner; not the other homeowner, nor another agent, nor the
	// other project's manager.
	for actor, want := range map[string]int{"H1": 1, "MA": 1, "A1": 1, "admin": 1, "H2": 0, "A2": 0, "MB": 0, "B1": 0} {
		if n := len(surveysOf(t, w.as(t, actor), nil)); n != want {
			t.Errorf("%s sees %d surveys, want %d", actor, n, want)
		}
	}

	snap := func() string {
		x := w.env.Client.Survey.GetX(ctx, pulid.ID(s.ID))
		at := "-"
		if x.AnsweredAt != nil {
			at = x.AnsweredAt.UTC().Format(time.RFC3339Nano)
		}
		return fmt.Sprintf("csat=%d nps=%d %q %q %s", orZero(x.Csat), orZero(x.Nps), x.CsatComment, x.NpsReason, at)
	}
	before := snap()
	refused := func(actor string, vars map[string]any, code, field string) {
		t.Helper()
		vars["id"] = s.ID
		e := w.as(t, actor).Query(t, svAnswer, vars).OnlyError(t)
		if e.Code() != code || e.Field() != field {
			t.Errorf("%s answering %v: %s %q (%s), want %s %q", actor, vars, e.Code(), e.Field(), e.Message, code, field)
		}
		if snap() != before {
			t.Errorf("a refused answer changed the survey: %s, was %s", snap(), before)
		}
	}
	refused("H1", map[string]any{"csat": 0, "nps": 5}, "BAD_USER_INPUT", "input.csat")
	refused("H1", map[string]any{"csat": 6, "nps": 5}, "BAD_USER_INPUT", "input.csat")
	refused("H1", map[string]any{"csat": 4, "nps": -1}, "BAD_USER_INPUT", "input.nps")
	refused("H1", map[string]any{"csat": 4, "nps": 11}, "BAD_USER_INPUT", "input.nps")
	refused("H1", map[string]any{"csat": 4, "nps": 9, "comment": strings.Repeat("好", 1001)}, "BAD_USER_INPUT", "input.csatComment")
	refused("H1", map[string]any{"csat": 4, "nps": 9, "reason": strings.Repeat("好", 1001)}, "BAD_USER_INPUT", "input.npsReason")
	refused("MA", map[string]any{"csat": 5, "nps": 10}, "FORBIDDEN", "")
	refused("A1", map[string]any{"csat": 5, "nps": 10}, "FORBIDDEN", "")
	refused("H2", map[string]any{"csat": 5, "nps": 10}, "NOT_FOUND", "")
	refused("MB", map[string]any{"csat": 5, "nps": 10}, "NOT_FOUND", "")

	w.at(6 * time.Hour)
	var a struct{ AnswerSurvey struct{ Survey surveyView } }
	w.as(t, "H1").Query(t, svAnswer, map[string]any{"id": s.ID, "csat": 4, "nps": 9,
		"comment": " 师傅很专业 ", "reason": "服务好"}).Decode(t, &a)
	ans := a.AnswerSurvey.Survey
	if !ans.Answered || *ans.Csat != 4 || *ans.Nps != 9 || ans.CsatComment != "师傅很专业" || ans.NpsReason != "服务好" ||
		!timeIs(ans.AnsweredAt, w.t0.Add(6*time.Hour)) {
		t.Fatalf("answered: %+v", ans)
	}
	before = snap()
	refused("H1", map[string]any{"csat": 1, "nps": 0}, "CONFLICT", "")
	if n := len(surveysOf(t, w.as(t, "H1"), true)); n != 0 {
		t.Errorf("%d pending surveys after the answer", n)
	}
	if n := len(surveysOf(t, w.as(t, "MA"), false)); n != 1 {
		t.Errorf("the manager sees %d answered surveys, want 1", n)
	}
	// The complaint's own rating is untouched by the survey, and rating it
	// does not answer or add a survey.
	w.step(t, "H1", cpRate, cpVars{"rating": 5}.with(c.ID))
	if snap() != before || w.env.Client.Survey.Query().CountX(ctx) != 1 {
		t.Errorf("rating the complaint changed surveys: %s", snap())
	}
}

// A complaint reopened and resolved again keeps its one survey, answered or
// not: satisfaction counts each complaint once.
func TestSurveyOncePerComplaintThroughReopen(t *testing.T) {
	w := newComplaintWorld(t)
	ctx := apitest.System()
	w.at(0)
	pendingID := w.resolved(t, "crack in the wall", time.Hour)
	answeredID := w.resolved(t, "door sticks", 2*time.Hour)
	surveyOf := func(complaintID string) pulid.ID {
		return w.env.Client.Survey.Query().Where(survey.ComplaintID(pulid.ID(complaintID))).OnlyIDX(ctx)
	}
	first := map[string]pulid.ID{pendingID: surveyOf(pendingID), answeredID: surveyOf(answeredID)}
	w.at(3 * time.Hour)
	w.as(t, "H1").Query(t, svAnswer, map[string]any{"id": first[answeredID], "csat": 2, "nps": 3}).Decode(t, &struct{}{})

	// One reopened by the homeowner, one by a low rating; both resolved again.
	w.at(4 * time.Hour)
	w.step(t, "H1", cpReopen, cpVars{"note": "still cracked"}.with(pendingID))
	w.step(t, "H1", cpRate, cpVars{"rating": 1}.with(answeredID))
	w.at(8 * time.Hour)
	for _, id := range []string{pendingID, answeredID} {
		if got := w.step(t, "MA", cpResolve, cpVars{"note": "fixed again"}.with(id)); got.Status != "RESOLVED" || got.ReopenCount != 1 {
			t.Fatalf("resolved again: %+v", got)
		}
	}
	if n := w.env.Client.Survey.Query().CountX(ctx); n != 2 {
		t.Fatalf("%d surveys after a reopen and a second resolution, want 2", n)
	}
	for id, sv := range first {
		if got := surveyOf(id); got != sv {
			t.Errorf("complaint %s: survey %s replaced by %s", id, sv, got)
		}
	}
	s := w.env.Client.Survey.GetX(ctx, first[answeredID])
	if s.Csat == nil || *s.Csat != 2 || !s.AnsweredAt.Equal(w.t0.Add(3*time.Hour)) {
		t.Errorf("the answered survey changed: %+v", s)
	}
	if s := w.env.Client.Survey.GetX(ctx, first[pendingID]); s.AnsweredAt != nil || !s.CreatedAt.Equal(w.t0.Add(time.Hour)) {
		t.Errorf("the pending survey changed: %+v", s)
	}
}

// Delivering a unit sends its buyer a survey, answered once they have a login.
func TestSurveyAfterDelivery(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	_, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	u := env.Client.Unit.Query().Order(unit.ByNumber()).FirstX(ctx)
	c := customers[0]
	const (
		contract = `mutation($d: ID!) { contractDeal(input: {dealId: $d}) { deal { stage } } }`
		deliver  = `mutation($u: ID!) { deliverUnit(input: {unitId: $u}) { activationCode } }`
		activate = `mutation($c: String!) { activateOwner(input: {code: $c, login: "owner.sv", password: "my-new-home-1"}) { user { id } } }`
	)
	a1 := env.As(t, viewers[0])
	a1.Query(t, holdMutation, map[string]any{"u": u.ID, "c": c.ID}).Decode(t, &struct{}{})
	var r reserved
	a1.Query(t, reserveMutation, map[string]any{"u": u.ID, "c": c.ID, "d": 0}).Decode(t, &r)
	a1.Query(t, contract, map[string]any{"d": r.ReserveUnit.Deal.ID}).Decode(t, &struct{}{})
	if n := env.Client.Survey.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d surveys before delivery", n)
	}
	// An agent may not deliver: no survey either.
	if e := env.As(t, viewers[0]).Query(t, deliver, map[string]any{"u": u.ID}).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Fatalf("an agent delivered: %+v", e)
	}
	if n := env.Client.Survey.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d surveys after a refused delivery", n)
	}
	var d struct {
		DeliverUnit struct{ ActivationCode string }
	}
	env.As(t, manager).Query(t, deliver, map[string]any{"u": u.ID}).Decode(t, &d)
	var a struct {
		ActivateOwner struct{ User struct{ ID string } }
	}
	env.Anonymous().Query(t, activate, map[string]any{"c": d.DeliverUnit.ActivationCode}).Decode(t, &a)
	h := env.As(t, auth.ViewerOf(env.Client.User.GetX(ctx, pulid.ID(a.ActivateOwner.User.ID))))
	got := surveysOf(t, h, true)
	if len(got) != 1 || got[0].Kind != "UNIT_DELIVERED" || got[0].Deal == nil || got[0].Deal.ID != r.ReserveUnit.Deal.ID ||
		got[0].Unit.ID != string(u.ID) || got[0].Customer.ID != string(c.ID) || got[0].Complaint != nil {
		t.Fatalf("the homeowner's surveys after delivery: %+v", got)
	}
	h.Query(t, svAnswer, map[string]any{"id": got[0].ID, "csat": 5, "nps": 10}).Decode(t, &struct{}{})
	if e := h.Query(t, svAnswer, map[string]any{"id": got[0].ID, "csat": 5, "nps": 10}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("a second answer: %+v", e)
	}
	// The manager sees it answered; the selling agent owns the buyer and sees it too.
	for name, v := range map[string]*auth.Viewer{"manager": manager, "agent": viewers[0]} {
		if got := surveysOf(t, env.As(t, v), false); len(got) != 1 || *got[0].Csat != 5 || *got[0].Nps != 10 {
			t.Errorf("the %s's answered surveys: %+v", name, got)
		}
	}
}
