package api_test

// The surveys' cells of the authorization matrix (issue 13, item 2): a
// homeowner sees and answers only their own; a manager sees the surveys of
// their projects, an agent those of customers it owns (or complaints it
// works); nobody but the homeowner answers; portals see none. And the
// after-sales dashboards' (item 1): a manager's projects, an admin's all,
// nobody else's.

import (
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/survey"
)

func authzSurveyRows() []authzRow {
	// Today in the company's zone: the world's complaints and surveys are
	// of today.
	today := func(w *apitest.World, _ string) map[string]any {
		d := w.Now.In(time.FixedZone("Asia/Shanghai", 8*3600)).Format(time.DateOnly)
		return map[string]any{"p": map[string]any{"from": d, "to": d}}
	}
	dashboard := func(cell string) map[string]string {
		return authzEvery("!FORBIDDEN", map[string]string{
			"admin": cell, "MA": cell, "MB": strings.ReplaceAll(cell, "2", "0"), "anonymous": "!UNAUTHENTICATED",
		})
	}
	return []authzRow{
		authzQuery("Query.serviceBoard", "serviceBoard", `query($p: ReportPeriod!) { serviceBoard(period: $p) { total { opened openBreaches } } }`,
			today, dashboard("{total={openBreaches=0,opened=2}}")),
		authzQuery("Query.satisfaction", "satisfaction", `query($p: ReportPeriod!) { satisfaction(period: $p) { total { sent answered } } }`,
			today, dashboard("{total={answered=0,sent=2}}")),
		authzQuery("Query.surveys", "surveys", `{ surveys(first: 10) { totalCount edges { node { id } } } }`, nil, map[string]string{
			"admin":     "#2[svH1 svH2]",
			"MA":        "#2[svH1 svH2]",
			"MB":        "#0[]",
			"A1":        "#1[svH1]",
			"A2":        "#1[svH2]",
			"B1":        "#0[]",
			"H1":        "#1[svH1]",
			"H2":        "#1[svH2]",
			"portal":    "#0[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.surveys", "survey→customer, complaint, deal, unit",
			`{ surveys(first: 10) { edges { node { id customer { id } complaint { id } deal { id } unit { id } } } } }`, nil, map[string]string{
				"admin":     "[svH1{complaint=cpH1,customer=cH1,deal=null,unit=uH1} svH2{complaint=null,customer=cH2,deal=dH2,unit=uH2}]",
				"MA":        "[svH1{complaint=cpH1,customer=cH1,deal=null,unit=uH1} svH2{complaint=null,customer=cH2,deal=dH2,unit=uH2}]",
				"MB":        "[]",
				"A1":        "[svH1{complaint=cpH1,customer=cH1,deal=null,unit=uH1}]",
				"A2":        "[svH2{complaint=null,customer=cH2,deal=dH2,unit=uH2}]",
				"B1":        "[]",
				"H1":        "[svH1{complaint=cpH1,customer=cH1,deal=null,unit=uH1}]",
				"H2":        "[svH2{complaint=null,customer=cH2,deal=dH2,unit=uH2}]",
				"portal":    "[]",
				"anonymous": "!UNAUTHENTICATED",
			}),
		authzQuery("Query.node", "node(id:) of a survey", `query($id: ID!) { node(id: $id) { id } }`, authzIDVar("svH1"),
			authzEvery("null !NOT_FOUND", map[string]string{
				"admin": "svH1", "MA": "svH1", "A1": "svH1", "H1": "svH1", "anonymous": "null !UNAUTHENTICATED",
			})),
		authzMutation("Mutation.answerSurvey", "answerSurvey",
			`mutation($id: ID!) { answerSurvey(input: {surveyId: $id, csat: 5, nps: 10}) { survey { id answered csat nps } } }`,
			authzIDVar("svH1"),
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Survey.UpdateOneID(w.ID("svH1")).ClearCsat().ClearNps().ClearAnsweredAt().ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				s := w.Env.Client.Survey.GetX(apitest.System(), w.ID("svH1"))
				return map[bool]string{true: "answered", false: "pending"}[s.AnsweredAt != nil]
			},
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				// Staff who see it may not answer for the homeowner.
				"admin":     "!FORBIDDEN db=unchanged",
				"MA":        "!FORBIDDEN db=unchanged",
				"A1":        "!FORBIDDEN db=unchanged",
				"H1":        "{survey=svH1{answered=true,csat=5,nps=10}} db=changed",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
	}
}

// authzSurveyWorld adds to the world a survey of H1's complaint cpH1
// (svH1) and one of H2's delivery, deal dH2 by A2 (svH2).
func authzSurveyWorld(t *testing.T) *apitest.World {
	env := apitest.New(t)
	w := env.World(t)
	ctx := apitest.System()
	c := env.Client
	s1 := c.Survey.Create().SetKind(survey.KindCOMPLAINT_RESOLVED).SetProjectID(w.ID("pA")).SetCustomerID(w.ID("cH1")).
		SetUnitID(w.ID("uH1")).SetComplaintID(w.ID("cpH1")).SetCreatedAt(w.Now).SaveX(ctx)
	s2 := c.Survey.Create().SetKind(survey.KindUNIT_DELIVERED).SetProjectID(w.ID("pA")).SetCustomerID(w.ID("cH2")).
		SetUnitID(w.ID("uH2")).SetDealID(w.ID("dH2")).SetAgentID(w.ID("A2")).SetCreatedAt(w.Now).SaveX(ctx)
	w.Add("svH1", s1.ID)
	w.Add("svH2", s2.ID)
	return w
}

func TestAuthzSurveys(t *testing.T) {
	authzRun(t, authzSurveyWorld(t), authzSurveyRows())
}
