package api_test

import (
	"fmt"
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
		authzQuery("Query.channelMix", "channelMix: customers registered",
			`query($from: String!, $to: String!) { channelMix(period: {from: $from, to: $to}) { total { customers } } }`,
			authzReportPeriod,
			refused(map[string]string{
				"admin": "{total={customers=6}}",
				"MA":    "{total={customers=5}}",
				"MB":    "{total={customers=1}}",
			})),
		authzQuery("Query.channelSpends", "channelSpends of project A",
			`query($p: ID) { channelSpends(projectId: $p) { channel } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"p": w.ID("pA")} },
			refused(map[string]string{"admin": "[]", "MA": "[]", "MB": "!NOT_FOUND"})),
		authzQuery("Query.agentBoard", "agentBoard: customers owned per agent",
			`query($from: String!, $to: String!) { agentBoard(period: {from: $from, to: $to}) { agents { agent { label } customersOwned } } }`,
			authzReportPeriod,
			refused(map[string]string{
				"admin": "{agents=[{agent={label=A1},customersOwned=2} {agent={label=A2},customersOwned=3} {agent={label=B1},customersOwned=1}]}",
				"MA":    "{agents=[{agent={label=A1},customersOwned=2} {agent={label=A2},customersOwned=3}]}",
				"MB":    "{agents=[{agent={label=B1},customersOwned=1}]}",
				// An agent: its own row alone.
				"A1": "{agents=[{agent={label=A1},customersOwned=2}]}",
				"A2": "{agents=[{agent={label=A2},customersOwned=3}]}",
				"B1": "{agents=[{agent={label=B1},customersOwned=1}]}",
			})),
		authzQuery("Query.customerValue", "customerValue: the customers scored",
			`query($from: String!, $to: String!) { customerValue(period: {from: $from, to: $to}, first: 10) { customers { customer { id } } } }`,
			authzReportPeriod,
			refused(map[string]string{
				"admin": "{customers=[{customer=cA1} {customer=cA2} {customer=cB1} {customer=cPool}]}",
				"MA":    "{customers=[{customer=cA1} {customer=cA2} {customer=cPool}]}",
				"MB":    "{customers=[{customer=cB1}]}",
			})),
		authzMutation("Mutation.setChannelSpend", "setChannelSpend in project A",
			`mutation($p: ID!) { setChannelSpend(input: {projectId: $p, channel: ONLINE_AD, from: "2026-11-01", to: "2026-11-30", amount: "100"}) {
				channelSpend { amount } } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"p": w.ID("pA")} },
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.ChannelSpend.Delete().ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				return fmt.Sprint(w.Env.Client.ChannelSpend.Query().CountX(apitest.System()))
			},
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin":     "{channelSpend={amount=100.00}} db=changed",
				"MA":        "{channelSpend={amount=100.00}} db=changed",
				"MB":        "!NOT_FOUND db=unchanged",
				"B1":        "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
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
