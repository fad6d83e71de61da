package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/catalogue"
	"estatecrm/ent"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/deal"
	"estatecrm/ent/hook"
	"estatecrm/ent/pricechange"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/money"
)

const setPricesMutation = `mutation($in: SetUnitPricesInput!) { setUnitPrices(input: $in) {
	units { id listPrice } priceChanges { oldPrice newPrice reason changedBy { id } } } }`

type setPricesOut struct {
	SetUnitPrices struct {
		Units []struct {
			ID        pulid.ID
			ListPrice string
		}
		PriceChanges []struct {
			OldPrice, NewPrice, Reason string
			ChangedBy                  struct{ ID pulid.ID }
		}
	}
}

// priceState is every unit's list price and the number of price changes
// and their audit events, as the system reads them.
func priceState(t *testing.T, env *apitest.Env) (map[pulid.ID]money.Fen, int, int) {
	t.Helper()
	ctx := apitest.System()
	prices := map[pulid.ID]money.Fen{}
	for _, u := range env.Client.Unit.Query().AllX(ctx) {
		prices[u.ID] = u.ListPrice
	}
	return prices, env.Client.PriceChange.Query().CountX(ctx),
		env.Client.AuditEvent.Query().Where(auditevent.Action(catalogue.PriceAuditAction)).CountX(ctx)
}

func samePrices(a, b map[pulid.ID]money.Fen) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSetUnitPricesHeldVsReserved: a held unit may be repriced, a reserved
// one may not, and a list naming both changes nothing (all or nothing),
// with a CONFLICT naming the reserved unit. The change is kept with who,
// when and why, and audited.
func TestSetUnitPricesHeldVsReserved(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ma := w.Caller(t, "MA")
	ctx := apitest.System()
	before, changes, audits := priceState(t, env)
	gridPrice := func() string { // of uHeld, on MA's (cached) sales grid
		t.Helper()
		var g struct {
			SalesGrid struct {
				Buildings []struct {
					Floors []struct {
						Units []struct {
							ID        pulid.ID
							ListPrice string
						}
					}
				}
			}
		}
		ma.Query(t, `query($p: ID!) { salesGrid(projectId: $p) { buildings { floors { units { id listPrice } } } } }`,
			map[string]any{"p": w.ID("pA")}).Decode(t, &g)
		for _, b := range g.SalesGrid.Buildings {
			for _, f := range b.Floors {
				for _, u := range f.Units {
					if u.ID == w.ID("uHeld") {
						return u.ListPrice
					}
				}
			}
		}
		return ""
	}
	if got := gridPrice(); got != before[w.ID("uHeld")].String() {
		t.Fatalf("grid price %s", got)
	}

	res := ma.Query(t, setPricesMutation, map[string]any{"in": map[string]any{
		"reason": "周末促销",
		"prices": []any{
			map[string]any{"unitId": w.ID("uHeld"), "listPrice": "3100000"},
			map[string]any{"unitId": w.ID("uR"), "listPrice": "3100000"},
		}}})
	e := res.OnlyError(t)
	if e.Code() != "CONFLICT" || e.Field() != "input.prices[1].unitId" || !strings.Contains(e.Message, "103") || !strings.Contains(e.Message, string(w.ID("uR"))) {
		t.Fatalf("a list with a reserved unit: %s", res.Body)
	}
	after, c, a := priceState(t, env)
	if !samePrices(before, after) || c != changes || a != audits {
		t.Fatalf("a refused repricing changed something: %d→%d changes, %d→%d audits", changes, c, audits, a)
	}

	// The held unit alone is repriced; its hold is untouched.
	var out setPricesOut
	ma.Query(t, setPricesMutation, map[string]any{"in": map[string]any{
		"reason": " 周末促销 ",
		"prices": []any{map[string]any{"unitId": w.ID("uHeld"), "listPrice": "3100000.50"}},
	}}).Decode(t, &out)
	old := before[w.ID("uHeld")]
	if len(out.SetUnitPrices.Units) != 1 || out.SetUnitPrices.Units[0].ListPrice != "3100000.50" {
		t.Fatalf("payload %+v", out)
	}
	pc := out.SetUnitPrices.PriceChanges
	if len(pc) != 1 || pc[0].OldPrice != old.String() || pc[0].NewPrice != "3100000.50" || pc[0].Reason != "周末促销" || pc[0].ChangedBy.ID != w.ID("MA") {
		t.Fatalf("price change %+v (old %s)", pc, old)
	}
	if got := gridPrice(); got != "3100000.50" {
		t.Fatalf("the sales grid still shows %s after the repricing", got)
	}
	u := env.Client.Unit.GetX(ctx, w.ID("uHeld"))
	if u.ListPrice != money.Fen(310000050) || u.Status != unit.StatusHELD || u.HeldByID == nil || *u.HeldByID != w.ID("A1") {
		t.Fatalf("held unit after repricing: %+v", u)
	}
	rec := env.Client.PriceChange.Query().Where(pricechange.UnitID(u.ID)).OnlyX(ctx)
	if rec.ProjectID != w.ID("pA") || rec.OldPrice != old || rec.NewPrice != u.ListPrice || *rec.ChangedByID != w.ID("MA") {
		t.Fatalf("stored price change %+v", rec)
	}
	ev := env.Client.AuditEvent.Query().Where(auditevent.Action(catalogue.PriceAuditAction)).OnlyX(ctx)
	if ev.ObjectID != string(u.ID) || *ev.ProjectID != w.ID("pA") || *ev.ActorID != w.ID("MA") || !strings.Contains(ev.Detail, "3100000.50") {
		t.Fatalf("audit event %+v", ev)
	}
	// The project's manager reads the audit event (the audit's own rules).
	var audit struct {
		AuditEvents struct{ TotalCount int }
	}
	ma.Query(t, `{ auditEvents(first: 10, where: {action: "unit.price.change"}) { totalCount } }`, nil).Decode(t, &audit)
	if audit.AuditEvents.TotalCount != 1 {
		t.Fatalf("MA sees %d price audit events", audit.AuditEvents.TotalCount)
	}

	// Contracted and delivered units are refused too.
	for _, label := range []string{"uH1"} {
		e := ma.Query(t, setPricesMutation, map[string]any{"in": map[string]any{"reason": "x",
			"prices": []any{map[string]any{"unitId": w.ID(label), "listPrice": "1"}}}}).OnlyError(t)
		if e.Code() != "CONFLICT" {
			t.Fatalf("repricing %s: %+v", label, e)
		}
	}
	env.Client.Unit.UpdateOneID(w.ID("uH2")).SetStatus(unit.StatusDELIVERED).ExecX(ctx)
	if e := ma.Query(t, setPricesMutation, map[string]any{"in": map[string]any{"reason": "x",
		"prices": []any{map[string]any{"unitId": w.ID("uH2"), "listPrice": "1"}}}}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("repricing a delivered unit: %+v", e)
	}
}

// TestSetUnitPricesFloorRange: +2.5% on floors 10–20 of one building,
// rounded to the whole yuan; refused whole when a unit of the range is
// reserved, unless onlyUnsold skips it; other floors and buildings keep
// their prices; the history reads newest first.
func TestSetUnitPricesFloorRange(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 2, 20, 2)
	_, mv := env.User(t, user.RoleMANAGER, "manager", p)
	ma := env.As(t, mv)
	b := env.Client.Building.Query().Order(ent.Asc("name")).FirstX(ctx)
	before, _, _ := priceState(t, env)
	adjust := func(bp int, onlyUnsold bool) *apitest.Response {
		return ma.Query(t, setPricesMutation, map[string]any{"in": map[string]any{"reason": "开盘调价",
			"adjust": map[string]any{"buildingId": b.ID, "floorFrom": 10, "floorTo": 20, "changeBp": bp, "onlyUnsold": onlyUnsold}}})
	}

	// A reserved unit in the range refuses the whole change.
	reserved := env.Client.Unit.Query().Where(unit.BuildingID(b.ID), unit.Floor(15), unit.Number("1501")).OnlyX(ctx)
	env.Client.Unit.UpdateOne(reserved).SetStatus(unit.StatusRESERVED).ExecX(ctx)
	e := adjust(250, false).OnlyError(t)
	if e.Code() != "CONFLICT" || !strings.Contains(e.Message, "1501") {
		t.Fatalf("a range with a reserved unit: %+v", e)
	}
	if after, n, _ := priceState(t, env); !samePrices(before, after) || n != 0 {
		t.Fatal("a refused adjustment changed prices")
	}

	// onlyUnsold skips it: 11 floors × 2 units less the reserved one.
	var out setPricesOut
	adjust(250, true).Decode(t, &out)
	if len(out.SetUnitPrices.Units) != 21 || len(out.SetUnitPrices.PriceChanges) != 21 {
		t.Fatalf("%d units repriced, want 21", len(out.SetUnitPrices.Units))
	}
	after, n, audits := priceState(t, env)
	if n != 21 || audits != 21 {
		t.Fatalf("%d price changes, %d audit events, want 21", n, audits)
	}
	for _, u := range env.Client.Unit.Query().AllX(ctx) {
		inRange := u.BuildingID == b.ID && u.Floor >= 10 && u.Floor <= 20 && u.ID != reserved.ID
		want := before[u.ID]
		if inRange {
			want = catalogue.PriceAdjusted(want, 250)
		}
		if after[u.ID] != want {
			t.Fatalf("unit %s floor %d: %s, want %s", u.Number, u.Floor, after[u.ID], want)
		}
	}
	// 3,100,001 yuan (floor 10, door 1) + 2.5% = 3,177,501.025 → 3,177,501.
	u1001 := env.Client.Unit.Query().Where(unit.BuildingID(b.ID), unit.Number("1001")).OnlyX(ctx)
	if u1001.ListPrice != money.Yuan(3_177_501) {
		t.Fatalf("1001: %s", u1001.ListPrice)
	}

	// A second change; the history reads newest first.
	adjust(-100, true).Decode(t, &out)
	var hist struct {
		Node struct {
			PriceHistory struct {
				TotalCount int
				Edges      []struct {
					Node struct{ OldPrice, NewPrice string }
				}
			}
		}
	}
	ma.Query(t, `query($id: ID!) { node(id: $id) { ... on Unit { priceHistory(first: 10) { totalCount edges { node { oldPrice newPrice } } } } } }`,
		map[string]any{"id": u1001.ID}).Decode(t, &hist)
	h := hist.Node.PriceHistory
	if h.TotalCount != 2 || len(h.Edges) != 2 || h.Edges[0].Node.OldPrice != money.Yuan(3_177_501).String() || h.Edges[1].Node.NewPrice != money.Yuan(3_177_501).String() ||
		h.Edges[1].Node.OldPrice != money.Yuan(3_100_001).String() || h.Edges[0].Node.NewPrice != money.Yuan(3_145_726).String() {
		t.Fatalf("history %+v", h)
	}
}

// TestSetUnitPricesBadInput: each bad input is a BAD_USER_INPUT naming the
// field, and changes nothing.
func TestSetUnitPricesBadInput(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ma := w.Caller(t, "MA")
	free, bA := w.ID("uFree"), w.ID("bA")
	price := func(id any, p string) []any { return []any{map[string]any{"unitId": id, "listPrice": p}} }
	rng := func(from, to, bp int) map[string]any {
		return map[string]any{"buildingId": bA, "floorFrom": from, "floorTo": to, "changeBp": bp}
	}
	before, changes, _ := priceState(t, env)
	for _, c := range []struct {
		name  string
		in    map[string]any
		field string
	}{
		{"no reason", map[string]any{"reason": "  ", "prices": price(free, "1")}, "input.reason"},
		{"long reason", map[string]any{"reason": strings.Repeat("价", 501), "prices": price(free, "1")}, "input.reason"},
		{"neither", map[string]any{"reason": "x"}, "input"},
		{"both", map[string]any{"reason": "x", "prices": price(free, "1"), "adjust": rng(1, 2, 100)}, "input"},
		{"zero price", map[string]any{"reason": "x", "prices": price(free, "0")}, "input.prices[0].listPrice"},
		{"negative price", map[string]any{"reason": "x", "prices": price(free, "-5")}, "input.prices[0].listPrice"},
		{"not a unit", map[string]any{"reason": "x", "prices": price(bA, "1")}, "input.prices[0].unitId"},
		{"twice", map[string]any{"reason": "x", "prices": append(price(free, "1"), price(free, "2")...)}, "input.prices[1].unitId"},
		{"zero change", map[string]any{"reason": "x", "adjust": rng(1, 2, 0)}, "input.adjust.changeBp"},
		{"huge cut", map[string]any{"reason": "x", "adjust": rng(1, 2, -9000)}, "input.adjust.changeBp"},
		{"floors upside down", map[string]any{"reason": "x", "adjust": rng(2, 1, 100)}, "input.adjust.floorTo"},
		{"floor 0", map[string]any{"reason": "x", "adjust": rng(0, 1, 100)}, "input.adjust.floorFrom"},
		{"no units there", map[string]any{"reason": "x", "adjust": rng(30, 40, 100)}, "input.adjust"},
		{"not a building", map[string]any{"reason": "x", "adjust": map[string]any{"buildingId": free, "floorFrom": 1, "floorTo": 2, "changeBp": 100}}, "input.adjust.buildingId"},
	} {
		e := ma.Query(t, setPricesMutation, map[string]any{"in": c.in}).OnlyError(t)
		if e.Code() != "BAD_USER_INPUT" || e.Field() != c.field {
			t.Errorf("%s: got %s on %q, want BAD_USER_INPUT on %q (%s)", c.name, e.Code(), e.Field(), c.field, e.Message)
		}
	}
	if after, n, _ := priceState(t, env); !samePrices(before, after) || n != changes {
		t.Fatal("bad input changed prices")
	}
}

// portalSees reports whether the portal finds a unit, by node(id:) and in
// the units list.
func portalSees(t *testing.T, w *apitest.World, label string) (byNode, inList bool) {
	t.Helper()
	var out struct {
		Node  *struct{ ID pulid.ID }
		Units struct {
			Edges []struct{ Node struct{ ID pulid.ID } }
		}
	}
	res := w.Caller(t, "portal").Query(t, `query($id: ID!) { node(id: $id) { id } units(first: 100) { edges { node { id } } } }`,
		map[string]any{"id": w.ID(label)})
	if err := json.Unmarshal(res.Data, &out); err != nil {
		t.Fatalf("%s: %v", res.Body, err)
	}
	for _, e := range out.Units.Edges {
		if e.Node.ID == w.ID(label) {
			inList = true
		}
	}
	return out.Node != nil, inList
}

// TestPublishUnitsAndProjects: a portal sees a unit after publishUnits and
// not after unpublishUnits; a project and its units after publishProject
// (units: true), nothing of it after unpublishProject.
func TestPublishUnitsAndProjects(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ma, mb := w.Caller(t, "MA"), w.Caller(t, "MB")
	sees := func(label string, want bool) {
		t.Helper()
		if n, l := portalSees(t, w, label); n != want || l != want {
			t.Fatalf("portal sees %s: node %v, list %v; want %v", label, n, l, want)
		}
	}
	sees("uUnpub", false)
	var out struct {
		PublishUnits struct {
			Units []struct {
				ID        pulid.ID
				Published bool
			}
		}
	}
	ma.Query(t, `mutation($ids: [ID!]!) { publishUnits(input: {unitIds: $ids}) { units { id published } } }`,
		map[string]any{"ids": []pulid.ID{w.ID("uUnpub")}}).Decode(t, &out)
	if len(out.PublishUnits.Units) != 1 || !out.PublishUnits.Units[0].Published {
		t.Fatalf("publishUnits: %+v", out)
	}
	sees("uUnpub", true)
	res := ma.Query(t, `mutation($ids: [ID!]!) { unpublishUnits(input: {unitIds: $ids}) { units { id published } } }`,
		map[string]any{"ids": []pulid.ID{w.ID("uUnpub"), w.ID("uFree")}})
	if len(res.Errors) > 0 {
		t.Fatal(string(res.Body))
	}
	sees("uUnpub", false)
	sees("uFree", false)

	// pB is not published; its units are (the fixture's flag), but hidden.
	ctx := apitest.System()
	env.Client.Unit.UpdateOneID(w.ID("uB2")).SetPublished(false).ExecX(ctx)
	sees("uB2", false)
	var pp struct {
		PublishProject struct{ Project struct{ Published bool } }
	}
	mb.Query(t, `mutation($p: ID!) { publishProject(input: {projectId: $p, units: true}) { project { published } } }`,
		map[string]any{"p": w.ID("pB")}).Decode(t, &pp)
	if !pp.PublishProject.Project.Published {
		t.Fatalf("publishProject: %+v", pp)
	}
	sees("uB2", true)
	var up struct {
		UnpublishProject struct{ Project struct{ Published bool } }
	}
	mb.Query(t, `mutation($p: ID!) { unpublishProject(input: {projectId: $p}) { project { published } } }`,
		map[string]any{"p": w.ID("pB")}).Decode(t, &up)
	if up.UnpublishProject.Project.Published || env.Client.Project.GetX(ctx, w.ID("pB")).Published {
		t.Fatal("unpublishProject left the project published")
	}
	sees("uB2", false)
	if res := w.Caller(t, "portal").Query(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": w.ID("pB")}); string(res.Data) != `{"node":null}` {
		t.Fatal("the portal sees an unpublished project")
	}

	// Bad input names the field and changes nothing.
	for _, c := range []struct {
		ids   []any
		field string
	}{
		{[]any{}, "input.unitIds"},
		{[]any{w.ID("pA")}, "input.unitIds[0]"},
		{[]any{w.ID("uFree"), w.ID("uFree")}, "input.unitIds[1]"},
	} {
		e := ma.Query(t, `mutation($ids: [ID!]!) { publishUnits(input: {unitIds: $ids}) { units { id } } }`, map[string]any{"ids": c.ids}).OnlyError(t)
		if e.Code() != "BAD_USER_INPUT" || e.Field() != c.field {
			t.Errorf("publishUnits %v: %+v", c.ids, e)
		}
	}
	if env.Client.Unit.GetX(ctx, w.ID("uFree")).Published {
		t.Fatal("a refused publishUnits published a unit")
	}
	if e := ma.Query(t, `mutation($p: ID!) { publishProject(input: {projectId: $p}) { project { id } } }`,
		map[string]any{"p": w.ID("uFree")}).OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.projectId" {
		t.Errorf("publishProject of a unit id: %+v", e)
	}
}

const withdrawMutation = `mutation($u: ID!) { withdrawUnit(input: {unitId: $u, reason: "样板间"}) { unit { id status published } } }`

// TestWithdrawUnit: a unit never sold is withdrawn (WITHDRAWN, unpublished,
// still stored), disappears for portals, shows as WITHDRAWN on the staff's
// grid, and can be neither held, repriced nor published; a unit with a
// deal, even a cancelled one, or a live hold is refused.
func TestWithdrawUnit(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ctx := apitest.System()
	ma := w.Caller(t, "MA")

	for _, label := range []string{"uR", "uH1", "uHeld"} {
		if e := ma.Query(t, withdrawMutation, map[string]any{"u": w.ID(label)}).OnlyError(t); e.Code() != "CONFLICT" {
			t.Fatalf("withdrawing %s: %+v", label, e)
		}
	}
	// A deal cancelled is still a history.
	env.Client.Deal.UpdateOneID(w.ID("dR")).SetStage(deal.StageCANCELLED).ExecX(ctx)
	env.Client.Unit.UpdateOneID(w.ID("uR")).SetStatus(unit.StatusAVAILABLE).ExecX(ctx)
	if e := ma.Query(t, withdrawMutation, map[string]any{"u": w.ID("uR")}).OnlyError(t); e.Code() != "CONFLICT" || !strings.Contains(e.Message, "deal") {
		t.Fatalf("withdrawing a unit with a cancelled deal: %+v", e)
	}
	if u := env.Client.Unit.GetX(ctx, w.ID("uR")); u.Status != unit.StatusAVAILABLE {
		t.Fatalf("a refused withdrawal changed the unit: %s", u.Status)
	}

	if n, l := portalSees(t, w, "uFree"); !n || !l {
		t.Fatal("the portal does not see uFree before the withdrawal")
	}
	// The grids, cached before the withdrawal, show it after.
	for _, actor := range []string{"MA", "portal"} {
		w.Caller(t, actor).Query(t, `query($p: ID!) { salesGrid(projectId: $p) { buildings { floors { units { id status } } } statusCounts { status count } } }`,
			map[string]any{"p": w.ID("pA")}).Decode(t, &struct{}{})
	}
	var out struct {
		WithdrawUnit struct {
			Unit struct {
				Status    string
				Published bool
			}
		}
	}
	ma.Query(t, withdrawMutation, map[string]any{"u": w.ID("uFree")}).Decode(t, &out)
	if out.WithdrawUnit.Unit.Status != "WITHDRAWN" || out.WithdrawUnit.Unit.Published {
		t.Fatalf("withdrawUnit: %+v", out)
	}
	if u := env.Client.Unit.GetX(ctx, w.ID("uFree")); u.Status != unit.StatusWITHDRAWN {
		t.Fatalf("stored %s", u.Status)
	}
	if env.Client.AuditEvent.Query().Where(auditevent.Action(catalogue.WithdrawAuditAction), auditevent.ObjectID(string(w.ID("uFree")))).CountX(ctx) != 1 {
		t.Fatal("the withdrawal is not audited")
	}
	if n, l := portalSees(t, w, "uFree"); n || l {
		t.Fatal("the portal sees a withdrawn unit")
	}
	// Even with its flag set back by hand, a portal never sees it.
	env.Client.Unit.UpdateOneID(w.ID("uFree")).SetPublished(true).ExecX(ctx)
	if n, l := portalSees(t, w, "uFree"); n || l {
		t.Fatal("the portal sees a withdrawn unit flagged published")
	}
	env.Client.Unit.UpdateOneID(w.ID("uFree")).SetPublished(false).ExecX(ctx)

	// Staff see it on the grid, counted as WITHDRAWN; the portal's grid has none.
	grid := func(actor string) (status string, withdrawn int) {
		var g struct {
			SalesGrid struct {
				Buildings []struct {
					Floors []struct {
						Units []struct {
							ID     pulid.ID
							Status string
						}
					}
				}
				StatusCounts []struct {
					Status string
					Count  int
				}
			}
		}
		w.Caller(t, actor).Query(t, `query($p: ID!) { salesGrid(projectId: $p) { buildings { floors { units { id status } } } statusCounts { status count } } }`,
			map[string]any{"p": w.ID("pA")}).Decode(t, &g)
		for _, b := range g.SalesGrid.Buildings {
			for _, f := range b.Floors {
				for _, u := range f.Units {
					if u.ID == w.ID("uFree") {
						status = u.Status
					}
				}
			}
		}
		for _, c := range g.SalesGrid.StatusCounts {
			if c.Status == "WITHDRAWN" {
				withdrawn = c.Count
			}
		}
		return status, withdrawn
	}
	for _, actor := range []string{"MA", "A1"} {
		if s, n := grid(actor); s != "WITHDRAWN" || n != 1 {
			t.Fatalf("%s's grid: uFree %q, %d withdrawn", actor, s, n)
		}
	}
	if s, n := grid("portal"); s != "" || n != 0 {
		t.Fatalf("the portal's grid: uFree %q, %d withdrawn", s, n)
	}

	// Neither held, repriced, published nor withdrawn again.
	if e := w.Caller(t, "A1").Query(t, holdMutation, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA1")}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("holding a withdrawn unit: %+v", e)
	}
	if e := ma.Query(t, setPricesMutation, map[string]any{"in": map[string]any{"reason": "x",
		"prices": []any{map[string]any{"unitId": w.ID("uFree"), "listPrice": "1"}}}}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("repricing a withdrawn unit: %+v", e)
	}
	if e := ma.Query(t, `mutation($ids: [ID!]!) { publishUnits(input: {unitIds: $ids}) { units { id } } }`,
		map[string]any{"ids": []pulid.ID{w.ID("uFree")}}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("publishing a withdrawn unit: %+v", e)
	}
	if e := ma.Query(t, withdrawMutation, map[string]any{"u": w.ID("uFree")}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("withdrawing twice: %+v", e)
	}
	// publishProject with units leaves it unpublished.
	ma.Query(t, `mutation($p: ID!) { publishProject(input: {projectId: $p, units: true}) { project { id } } }`,
		map[string]any{"p": w.ID("pA")}).Decode(t, &struct{}{})
	if env.Client.Unit.GetX(ctx, w.ID("uFree")).Published || !env.Client.Unit.GetX(ctx, w.ID("uUnpub")).Published {
		t.Fatal("publishProject(units: true) published a withdrawn unit or skipped an unpublished one")
	}
}

// TestSetUnitPricesRaceChangesNothing: a unit reserved between the read of
// the units and the write of their prices (here by a hook, in the same
// transaction, just before the write) makes the write match fewer rows: a
// CONFLICT, and no price of the list changes.
func TestSetUnitPricesRaceChangesNothing(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	before, changes, _ := priceState(t, env)
	fired := false
	env.Client.Unit.Use(func(next ent.Mutator) ent.Mutator {
		return hook.UnitFunc(func(ctx context.Context, m *ent.UnitMutation) (ent.Value, error) {
			if _, ok := m.ListPrice(); ok && m.Op().Is(ent.OpUpdate) && !fired {
				fired = true
				if err := m.Client().Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusRESERVED).Exec(auth.SystemContext(ctx)); err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	})
	e := w.Caller(t, "MA").Query(t, setPricesMutation, map[string]any{"in": map[string]any{"reason": "x", "prices": []any{
		map[string]any{"unitId": w.ID("uHeld"), "listPrice": "1"},
		map[string]any{"unitId": w.ID("uFree"), "listPrice": "1"},
	}}}).OnlyError(t)
	if !fired || e.Code() != "CONFLICT" {
		t.Fatalf("a unit reserved meanwhile: %+v (hook fired: %v)", e, fired)
	}
	after, n, _ := priceState(t, env)
	if !samePrices(before, after) || n != changes {
		t.Fatal("a repricing that lost a race changed prices")
	}
	if u := env.Client.Unit.GetX(apitest.System(), w.ID("uFree")); u.Status != unit.StatusAVAILABLE {
		t.Fatalf("the refused request's transaction was not rolled back: %s", u.Status)
	}
}
