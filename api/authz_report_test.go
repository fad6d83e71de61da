package api_test

import (
	"testing"
	"time"

	"estatecrm/api/apitest"
)

// The dashboards' cells of the authorization matrix (issue 13): a manager
// reports on their projects, an admin on all; agents (but for their own row
// of agentBoard), homeowners and portals are refused.

// authzReportPeriod is the days around the world's making, in Shanghai.
func authzReportPeriod(w *apitest.World, _ string) map[string]any {
	today := w.Now.In(shanghai)
	return map[string]any{
		"from": today.AddDate(0, 0, -1).Format(time.DateOnly),
		"to":   today.AddDate(0, 0, 1).Format(time.DateOnly),
	}
}

func authzReportRows() []authzRow {
	refused := func(cells map[string]string) map[string]string {
		return authzEvery("!FORBIDDEN", mergeCells(map[string]string{"anonymous": "!UNAUTHENTICATED"}, cells))
	}
	return []authzRow{
		authzQuery("Query.salesFunnel", "salesFunnel by project: leads registered",
			`query($from: String!, $to: String!) { salesFunnel(period: {from: $from, to: $to}, groupBy: PROJECT) {
				total { leads } groups { group { label } figures { leads } } } }`,
			authzReportPeriod,
			refused(map[string]string{
				"admin": "{groups=[{figures={leads=1},group={label=pB}} {figures={leads=5},group={label=pA}}],total={leads=6}}",
				"MA":    "{groups=[{figures={leads=5},group={label=pA}}],total={leads=5}}",
				"MB":    "{groups=[{figures={leads=1},group={label=pB}}],total={leads=1}}",
			})),
	}
}

// mergeCells returns a with b's cells over it.
func mergeCells(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestAuthzMatrixReports(t *testing.T) {
	env := apitest.New(t)
	authzRun(t, env.World(t), authzReportRows())
}
