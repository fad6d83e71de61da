package seed_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"estatecrm/aftersales"
	"estatecrm/api/apitest"
	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/seed"
)

// checkSurveys: every delivered unit's buyer got one delivery survey and
// every complaint ever resolved one survey, each to the homeowner it is
// about; an unanswered survey holds no answer; an answer has both scores in
// range, was given by the survey's homeowner through a login of theirs that
// existed by then, after the survey was sent and not after now, and a
// second answer by them is CONFLICT and changes nothing. The demo answers
// most (4–5, 9–10) and leaves some pending, of homeowners with a login too.
func checkSurveys(t *testing.T, ctx context.Context, client *ent.Client, now time.Time) {
	t.Helper()
	svs := client.Survey.Query().Order(survey.ByCreatedAt(), survey.ByID()).AllX(ctx)
	logins := map[pulid.ID]*ent.User{}
	for _, u := range client.User.Query().Where(user.RoleEQ(user.RoleOWNER)).AllX(ctx) {
		logins[*u.CustomerID] = u
	}
	deals := map[pulid.ID]*ent.Deal{}
	for _, d := range client.Deal.Query().WithUnit().AllX(ctx) {
		deals[d.ID] = d
	}
	complaints := map[pulid.ID]*ent.Complaint{}
	for _, c := range client.Complaint.Query().WithEvents().AllX(ctx) {
		complaints[c.ID] = c
	}
	delivered := map[pulid.ID]bool{} // deals with their delivery survey
	resolved := map[pulid.ID]bool{}  // complaints with theirs
	var answered, pendingWithLogin, satisfied, promoters, detractors, unhappy int
	for _, sv := range svs {
		switch sv.Kind {
		case survey.KindUNIT_DELIVERED:
			d := deals[*sv.DealID]
			if d == nil || d.CustomerID != sv.CustomerID || d.UnitID != sv.UnitID || d.Edges.Unit.Status != unit.StatusDELIVERED || delivered[d.ID] {
				t.Errorf("delivery survey %s: not the one survey of the buyer of a delivered unit (deal %v)", sv.ID, d)
			} else {
				delivered[d.ID] = true
			}
		case survey.KindCOMPLAINT_RESOLVED:
			c := complaints[*sv.ComplaintID]
			if c == nil || c.CustomerID != sv.CustomerID || resolved[c.ID] || !hasResolution(c, sv.CreatedAt) {
				t.Errorf("complaint survey %s sent %v: not the one survey of a complaint resolved then", sv.ID, sv.CreatedAt)
			} else {
				resolved[c.ID] = true
			}
		}
		login := logins[sv.CustomerID]
		if sv.AnsweredAt == nil {
			if sv.Csat != nil || sv.Nps != nil || sv.CsatComment != "" || sv.NpsReason != "" {
				t.Errorf("pending survey %s holds an answer: %v %v %q %q", sv.ID, sv.Csat, sv.Nps, sv.CsatComment, sv.NpsReason)
			}
			if login != nil {
				pendingWithLogin++
			}
			continue
		}
		answered++
		at := *sv.AnsweredAt
		switch {
		case sv.Csat == nil || *sv.Csat < 1 || *sv.Csat > 5 || sv.Nps == nil || *sv.Nps < 0 || *sv.Nps > 10:
			t.Errorf("survey %s answered out of range: csat %v nps %v", sv.ID, sv.Csat, sv.Nps)
			continue
		case !at.After(sv.CreatedAt) || at.After(now):
			t.Errorf("survey %s sent %v answered %v (now %v)", sv.ID, sv.CreatedAt, at, now)
		case login == nil || login.CreatedAt.After(at):
			t.Errorf("survey %s answered %v: its homeowner had no login then (%v)", sv.ID, at, login)
		}
		if *sv.Csat >= 4 {
			satisfied++
		}
		if *sv.Csat <= 2 {
			unhappy++
		}
		switch {
		case *sv.Nps >= 9:
			promoters++
		case *sv.Nps <= 6:
			detractors++
		}
		if login == nil {
			continue
		}
		// Answered once: the homeowner's second answer is refused.
		again := auth.NewContext(ctx, &auth.Viewer{UserID: login.ID, Role: auth.RoleOwner, CustomerID: sv.CustomerID})
		if _, err := aftersales.AnswerSurvey(again, client, aftersales.SurveyAnswer{SurveyID: sv.ID, Csat: 1, Nps: 0}, now); !isCode(err, apperr.Conflict) {
			t.Errorf("survey %s answered again: %v", sv.ID, err)
		}
		if got := client.Survey.GetX(ctx, sv.ID); *got.Csat != *sv.Csat || *got.Nps != *sv.Nps || !got.AnsweredAt.Equal(at) {
			t.Errorf("survey %s changed by a second answer: %v %v %v", sv.ID, *got.Csat, *got.Nps, got.AnsweredAt)
		}
	}
	for _, d := range deals {
		if d.Edges.Unit.Status == unit.StatusDELIVERED && d.Stage == "CONTRACTED" && !delivered[d.ID] {
			t.Errorf("deal %s: unit delivered, no survey", d.ID)
		}
	}
	for _, c := range complaints {
		if hasResolution(c, time.Time{}) && !resolved[c.ID] {
			t.Errorf("complaint %s: resolved, no survey", c.ID)
		}
	}
	t.Logf("%d surveys: %d answered (%d satisfied, %d promoters, %d detractors), %d pending of homeowners with a login",
		len(svs), answered, satisfied, promoters, detractors, pendingWithLogin)
	if answered < 20 || pendingWithLogin == 0 || answered == len(svs) {
		t.Errorf("%d of %d surveys answered, %d pending of homeowners with a login: want many answered and some pending",
			answered, len(svs), pendingWithLogin)
	}
	if 2*satisfied <= answered || promoters <= detractors || detractors == 0 || unhappy == 0 {
		t.Errorf("answers: %d satisfied, %d rating 1–2, %d promoters, %d detractors of %d: want mostly satisfied, some detractors",
			satisfied, unhappy, promoters, detractors, answered)
	}
}

// hasResolution says whether the complaint's timeline resolves it (at at,
// when at is not zero).
func hasResolution(c *ent.Complaint, at time.Time) bool {
	for _, e := range c.Edges.Events {
		if e.ToStatus == "RESOLVED" && (at.IsZero() || e.CreatedAt.Equal(at)) {
			return true
		}
	}
	return false
}

func isCode(err error, code apperr.Code) bool {
	e, ok := apperr.As(err)
	return ok && e.Code == code
}

// satFigures are the figures of satisfaction, as the API answers them.
type satFigures struct {
	Sent, Answered, Satisfied, Promoters, Passives, Detractors int
	Csat, Nps                                                  *float64
}

// checkSatisfaction: satisfaction, read through the API by each demo
// manager (signed in with the demo password) over the year to now, in
// total and by kind, is what a direct SQL count of the project's surveys
// gives: sent, answered, satisfied (CSAT 4–5), promoters (NPS 9–10),
// detractors (0–6), passives, and the CSAT and NPS rates.
func checkSatisfaction(t *testing.T, ctx context.Context, env *apitest.Env, client *ent.Client, now time.Time) {
	t.Helper()
	managers := client.User.Query().Where(user.RoleEQ(user.RoleMANAGER)).WithProjects().AllX(ctx)
	if len(managers) == 0 {
		t.Fatal("no demo manager")
	}
	cst := time.FixedZone("CST", 8*60*60)
	period := map[string]any{"from": now.In(cst).AddDate(0, 0, -365).Format(time.DateOnly), "to": now.In(cst).Format(time.DateOnly)}
	for _, m := range managers {
		var in struct{ Login struct{ AccessToken string } }
		env.Anonymous().Query(t, `mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
			map[string]any{"l": m.Login, "p": seed.DemoPassword}).Decode(t, &in)
		as := env.WithHeader("Authorization", "Bearer "+in.Login.AccessToken)
		for _, p := range m.Edges.Projects {
			var got struct {
				Satisfaction struct {
					Total  satFigures
					ByKind []struct {
						Kind    string
						Figures satFigures
					}
				}
			}
			as.Query(t, `query($p: ID!, $period: ReportPeriod!) { satisfaction(period: $period, projectId: $p) {
  total { sent answered satisfied promoters passives detractors csat nps }
  byKind { kind figures { sent answered satisfied promoters passives detractors csat nps } } } }`,
				map[string]any{"p": p.ID, "period": period}).Decode(t, &got)
			want := surveyCounts(t, env, p.ID)
			if want[""].Answered == 0 {
				t.Errorf("project %s: no survey answered", p.Name)
			}
			check := func(what string, g satFigures, w satFigures) {
				t.Helper()
				ok := g.Sent == w.Sent && g.Answered == w.Answered && g.Satisfied == w.Satisfied && g.Promoters == w.Promoters &&
					g.Detractors == w.Detractors && g.Passives == w.Answered-w.Promoters-w.Detractors && g.Csat != nil && g.Nps != nil
				if ok {
					csat := float64(w.Satisfied) / float64(w.Answered)
					nps := float64(w.Promoters-w.Detractors) * 100 / float64(w.Answered)
					ok = math.Abs(*g.Csat-csat) < 0.0001 && math.Abs(*g.Nps-nps) < 0.006
				}
				if !ok {
					t.Errorf("%s sees satisfaction of %s %s as %+v (csat %v nps %v), a direct count gives %+v",
						m.Login, p.Name, what, g, deref(g.Csat), deref(g.Nps), w)
				}
			}
			check("in total", got.Satisfaction.Total, want[""])
			if len(got.Satisfaction.ByKind) != len(want)-1 {
				t.Errorf("%s: satisfaction by kind %+v, a direct count has %d kinds", m.Login, got.Satisfaction.ByKind, len(want)-1)
			}
			for _, k := range got.Satisfaction.ByKind {
				check(k.Kind, k.Figures, want[k.Kind])
			}
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// surveyCounts counts a project's surveys in SQL, by kind and in total
// (""): sent, answered, satisfied, promoters and detractors.
func surveyCounts(t *testing.T, env *apitest.Env, project pulid.ID) map[string]satFigures {
	t.Helper()
	// The ID is the database's own, a ULID: safe to inline on both dialects.
	q := fmt.Sprintf(`SELECT kind, COUNT(*), COUNT(answered_at),
  COALESCE(SUM(CASE WHEN answered_at IS NOT NULL AND csat >= 4 THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN answered_at IS NOT NULL AND nps >= 9 THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN answered_at IS NOT NULL AND nps <= 6 THEN 1 ELSE 0 END), 0)
FROM surveys WHERE project_id = '%s' GROUP BY kind`, project)
	rows, err := env.DB.SQL.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]satFigures{}
	var total satFigures
	for rows.Next() {
		var kind string
		var f satFigures
		if err := rows.Scan(&kind, &f.Sent, &f.Answered, &f.Satisfied, &f.Promoters, &f.Detractors); err != nil {
			t.Fatal(err)
		}
		out[kind] = f
		total.Sent += f.Sent
		total.Answered += f.Answered
		total.Satisfied += f.Satisfied
		total.Promoters += f.Promoters
		total.Detractors += f.Detractors
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out[""] = total
	return out
}
