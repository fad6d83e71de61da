package api_test

import (
	"fmt"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent"
	"estatecrm/ent/pricechange"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

// The catalogue's cells of the authorization matrix (issue 11): pricing,
// publishing and withdrawing are a manager's, in their projects, and an
// admin's; the price history is read by the staff of the unit's project.

// worldPrice is the list price apitest.Project gives unit number n on floor f.
func worldPrice(label string) money.Fen {
	at := map[string][2]int{"uHeld": {2, 1}, "uFree": {2, 2}, "uUnpub": {2, 3}, "uB2": {1, 2}}[label]
	f, n := at[0], at[1]
	return money.Yuan(int64(3_000_000 + f*10_000 + n))
}

// resetPrices puts units back at their fixture's price.
func resetPrices(labels ...string) func(t *testing.T, w *apitest.World, _ string) {
	return func(t *testing.T, w *apitest.World, _ string) {
		for _, l := range labels {
			w.Env.Client.Unit.UpdateOneID(w.ID(l)).SetListPrice(worldPrice(l)).ExecX(apitest.System())
		}
	}
}

// priceChangesOf is units' list prices and how many price changes they have.
func priceChangesOf(labels ...string) func(t *testing.T, w *apitest.World, _ string) string {
	return func(t *testing.T, w *apitest.World, _ string) string {
		ctx := apitest.System()
		s := ""
		for _, l := range labels {
			u := w.Env.Client.Unit.GetX(ctx, w.ID(l))
			s += fmt.Sprintf("%s=%s/%d ", l, u.ListPrice, w.Env.Client.PriceChange.Query().Where(pricechange.UnitID(u.ID)).CountX(ctx))
		}
		return s
	}
}

// publishedOf is a unit's (or project's) published flag.
func publishedOf(label string) func(t *testing.T, w *apitest.World, _ string) string {
	return func(t *testing.T, w *apitest.World, _ string) string {
		ctx := apitest.System()
		if ent.IDOfType(w.ID(label), unit.Table) {
			return fmt.Sprint(w.Env.Client.Unit.GetX(ctx, w.ID(label)).Published)
		}
		return fmt.Sprint(w.Env.Client.Project.GetX(ctx, w.ID(label)).Published)
	}
}

func setPublished(label string, published bool) func(t *testing.T, w *apitest.World, _ string) {
	return func(t *testing.T, w *apitest.World, _ string) {
		ctx := apitest.System()
		if ent.IDOfType(w.ID(label), unit.Table) {
			w.Env.Client.Unit.UpdateOneID(w.ID(label)).SetPublished(published).ExecX(ctx)
			return
		}
		w.Env.Client.Project.UpdateOneID(w.ID(label)).SetPublished(published).ExecX(ctx)
	}
}

// pricingCells is the cells of a pricing or publishing write on a unit or project of pA
// that the portal can see: the project's manager and admins change it,
// A's agents are refused, the staff of B do not find it.
func pricingCells(ok string, except map[string]string) map[string]string {
	cells := authzEvery("!FORBIDDEN db=unchanged", map[string]string{
		"admin": ok, "MA": ok,
		"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
		"H1": "!NOT_FOUND db=unchanged", "H2": "!NOT_FOUND db=unchanged",
		"anonymous": "!UNAUTHENTICATED db=unchanged",
	})
	for a, c := range except {
		cells[a] = c
	}
	return cells
}

func authzPricingRows() []authzRow {
	sameUnits := func(label string) func(w *apitest.World, _ string) map[string]any {
		return func(w *apitest.World, _ string) map[string]any { return map[string]any{"ids": []any{w.ID(label)}} }
	}
	return []authzRow{
		authzMutation("Mutation.setUnitPrices", "setUnitPrices of uFree",
			`mutation($u: ID!) { setUnitPrices(input: {reason: "调价", prices: [{unitId: $u, listPrice: "3333333"}]}) {
				units { id listPrice } priceChanges { oldPrice newPrice } } }`,
			authzIDVarAs("u", "uFree"), resetPrices("uFree"), priceChangesOf("uFree"),
			pricingCells("{priceChanges=[{newPrice=3333333.00,oldPrice=3020002.00}],units=[uFree{listPrice=3333333.00}]} db=changed", nil)),
		authzMutation("Mutation.setUnitPrices", "setUnitPrices +2.5% on floor 2 of bA (held, free, unpublished units)",
			`mutation($b: ID!) { setUnitPrices(input: {reason: "调价", adjust: {buildingId: $b, floorFrom: 2, floorTo: 2, changeBp: 250}}) {
				units { id listPrice } } }`,
			authzIDVarAs("b", "bA"), resetPrices("uHeld", "uFree", "uUnpub"), priceChangesOf("uHeld", "uFree", "uUnpub"),
			pricingCells("{units=[uFree{listPrice=3095502.00} uHeld{listPrice=3095501.00} uUnpub{listPrice=3095503.00}]} db=changed", map[string]string{
				// A homeowner sees bA (their unit's building) but no unit of floor 2.
				"H1": "!BAD_USER_INPUT db=unchanged", "H2": "!BAD_USER_INPUT db=unchanged",
			})),
		authzMutation("Mutation.setUnitPrices", "setUnitPrices of uB2 (project B)",
			`mutation($u: ID!) { setUnitPrices(input: {reason: "调价", prices: [{unitId: $u, listPrice: "3333333"}]}) { units { id } } }`,
			authzIDVarAs("u", "uB2"), resetPrices("uB2"), priceChangesOf("uB2"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": "{units=[uB2]} db=changed", "MB": "{units=[uB2]} db=changed",
				"B1": "!FORBIDDEN db=unchanged", "anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.publishUnits", "publishUnits of uUnpub",
			`mutation($ids: [ID!]!) { publishUnits(input: {unitIds: $ids}) { units { id published } } }`,
			sameUnits("uUnpub"), setPublished("uUnpub", false), publishedOf("uUnpub"),
			pricingCells("{units=[uUnpub{published=true}]} db=changed", map[string]string{
				"portal": "!NOT_FOUND db=unchanged", // not published: the portal does not see it
			})),
		authzMutation("Mutation.unpublishUnits", "unpublishUnits of uFree",
			`mutation($ids: [ID!]!) { unpublishUnits(input: {unitIds: $ids}) { units { id published } } }`,
			sameUnits("uFree"), setPublished("uFree", true), publishedOf("uFree"),
			pricingCells("{units=[uFree{published=false}]} db=changed", nil)),
		authzMutation("Mutation.publishProject", "publishProject of pB",
			`mutation($p: ID!) { publishProject(input: {projectId: $p}) { project { id published } } }`,
			authzIDVarAs("p", "pB"), setPublished("pB", false), publishedOf("pB"),
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin": "{project=pB{published=true}} db=changed", "MB": "{project=pB{published=true}} db=changed",
				"MA":        "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.unpublishProject", "unpublishProject of pA",
			`mutation($p: ID!) { unpublishProject(input: {projectId: $p}) { project { id published } } }`,
			authzIDVarAs("p", "pA"), setPublished("pA", true), publishedOf("pA"),
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin": "{project=pA{published=false}} db=changed", "MA": "{project=pA{published=false}} db=changed",
				"MB":        "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.withdrawUnit", "withdrawUnit of uFree",
			`mutation($u: ID!) { withdrawUnit(input: {unitId: $u}) { unit { id status } } }`,
			authzIDVarAs("u", "uFree"),
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusAVAILABLE).SetPublished(true).ExecX(apitest.System())
			},
			unitState("uFree"),
			pricingCells("{unit=uFree{status=WITHDRAWN}} db=changed", nil)),
		authzMutation("Mutation.withdrawUnit", "withdrawUnit of uR (reserved: has a deal)",
			`mutation($u: ID!) { withdrawUnit(input: {unitId: $u}) { unit { id status } } }`,
			authzIDVarAs("u", "uR"), nil, unitState("uR"),
			pricingCells("!CONFLICT db=unchanged", nil)),
		authzRow{field: "Query.node", name: "Unit.priceHistory of uFree, and node(id:) of its price change",
			run: func(t *testing.T, w *apitest.World, actor string) string {
				res := w.Caller(t, actor).Query(t, `query($u: ID!, $pc: ID!) {
					u: node(id: $u) { ... on Unit { priceHistory(first: 10) { totalCount edges { node { id reason } } } } }
					pc: node(id: $pc) { id } }`, map[string]any{"u": w.ID("uFree"), "pc": w.ID("pcFree")})
				return authzRender(w, res)
			},
			want: authzEvery("{pc=null,u=null} !NOT_FOUND", map[string]string{
				"admin": "{pc=pcFree,u={priceHistory=#1[pcFree{reason=开盘}]}}",
				"MA":    "{pc=pcFree,u={priceHistory=#1[pcFree{reason=开盘}]}}",
				"A1":    "{pc=pcFree,u={priceHistory=#1[pcFree{reason=开盘}]}}",
				"A2":    "{pc=pcFree,u={priceHistory=#1[pcFree{reason=开盘}]}}",
				// The portal lists uFree, not who priced it.
				"portal":    "{pc=null,u={priceHistory=#0[]}} !NOT_FOUND",
				"anonymous": "{pc=null,u=null} !UNAUTHENTICATED",
			})},
		authzRow{field: "Query.node", name: "Unit.priceHistory of uH1 (H1's own unit)",
			run: func(t *testing.T, w *apitest.World, actor string) string {
				res := w.Caller(t, actor).Query(t, `query($u: ID!) {
					node(id: $u) { ... on Unit { priceHistory(first: 10) { totalCount edges { node { id } } } } } }`,
					map[string]any{"u": w.ID("uH1")})
				return authzRender(w, res)
			},
			want: authzEvery("null !NOT_FOUND", map[string]string{
				"admin": "{priceHistory=#1[pcH1]}", "MA": "{priceHistory=#1[pcH1]}",
				"A1": "{priceHistory=#1[pcH1]}", "A2": "{priceHistory=#1[pcH1]}",
				// The homeowner sees their unit, not the developer's repricing of it.
				"H1":        "{priceHistory=#0[]}",
				"portal":    "{priceHistory=#0[]}",
				"anonymous": "null !UNAUTHENTICATED",
			})},
	}
}

func authzIDVarAs(name, label string) func(w *apitest.World, _ string) map[string]any {
	return func(w *apitest.World, _ string) map[string]any { return map[string]any{name: w.ID(label)} }
}

// TestAuthzMatrixPricing runs the catalogue's cells on a world with a price
// change of uFree (pcFree) and one of uH1 before it was sold (pcH1). The
// read rows run first: the writes add changes of uFree.
func TestAuthzMatrixPricing(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ctx := apitest.System()
	for _, h := range []struct{ label, unit string }{{"pcFree", "uFree"}, {"pcH1", "uH1"}} {
		u := env.Client.Unit.GetX(ctx, w.ID(h.unit))
		pc := env.Client.PriceChange.Create().SetUnitID(u.ID).SetProjectID(u.ProjectID).
			SetOldPrice(u.ListPrice - money.Yuan(10_000)).SetNewPrice(u.ListPrice).
			SetChangedByID(w.ID("MA")).SetReason("开盘").SaveX(ctx)
		w.Add(h.label, pc.ID)
	}
	rows := authzPricingRows()
	reads, writes := rows[len(rows)-2:], rows[:len(rows)-2]
	authzRun(t, w, append(append([]authzRow{}, reads...), writes...))
}
