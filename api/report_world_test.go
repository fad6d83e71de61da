package api_test

import (
	"fmt"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// shanghai is the company's zone of the dashboards' tests.
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// sh is a moment in Shanghai.
func sh(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, shanghai)
}

// reportWorld is the sales history the dashboards are checked against, made
// through the API's operations at their times (Shanghai):
//
//	project P (units u1..u4), managed by MP, agents A1 and A2;
//	project Q (units q1, q2), managed by MQ, agent B1.
//	10-30 10:00  A1 registers c1 (WALK_IN)
//	10-31 23:59  A1 visits c1: first visit (October)
//	11-01 00:01  A2 registers c2 (ONLINE_AD) and visits: first visit (November)
//	11-02 10:00  A1 revisits c1, holds u1 for c1, reserves it (d1)
//	11-03 10:00  A2 holds u2 for c2 and releases it; holds u3, reserves it (d2)
//	11-04 10:00  B1 registers c3 (REFERRAL) in Q and visits: first visit
//	11-05 10:00  A1 contracts d1
//	11-10 10:00  MP cancels d2
type reportWorld struct {
	env                *apitest.Env
	P, Q               *ent.Project
	MP, MQ, A1, A2, B1 *auth.Viewer
	users              map[string]*ent.User
	c1, c2, c3         pulid.ID
	d1, d2             pulid.ID
	units              map[string]pulid.ID
}

func newReportWorld(t *testing.T) *reportWorld {
	t.Helper()
	env := apitest.New(t)
	ctx := apitest.System()
	w := &reportWorld{env: env, users: map[string]*ent.User{}, units: map[string]pulid.ID{}}
	w.P = env.Project(t, "P", 1, 1, 4)
	w.Q = env.Project(t, "Q", 1, 1, 2)
	for i, u := range env.Client.Unit.Query().Where(unit.ProjectID(w.P.ID)).Order(unit.ByNumber()).AllX(ctx) {
		w.units[fmt.Sprintf("u%d", i+1)] = u.ID
	}
	for i, u := range env.Client.Unit.Query().Where(unit.ProjectID(w.Q.ID)).Order(unit.ByNumber()).AllX(ctx) {
		w.units[fmt.Sprintf("q%d", i+1)] = u.ID
	}
	mk := func(role user.Role, login string, p *ent.Project) *auth.Viewer {
		u, v := env.User(t, role, login, p)
		w.users[login] = u
		return v
	}
	w.MP, w.MQ = mk(user.RoleMANAGER, "MP", w.P), mk(user.RoleMANAGER, "MQ", w.Q)
	w.A1, w.A2, w.B1 = mk(user.RoleAGENT, "A1", w.P), mk(user.RoleAGENT, "A2", w.P), mk(user.RoleAGENT, "B1", w.Q)

	at := func(t0 time.Time) { env.Now = func() time.Time { return t0 } }
	do := func(v *auth.Viewer, q string, vars map[string]any, out any) {
		t.Helper()
		env.As(t, v).Query(t, q, vars).Decode(t, out)
	}
	register := func(v *auth.Viewer, p *ent.Project, name, phone, source string) pulid.ID {
		t.Helper()
		var out struct {
			RegisterCustomer struct{ Customer struct{ ID pulid.ID } }
		}
		do(v, `mutation($p: ID!, $n: String!, $ph: String!, $s: CustomerSource!) {
			registerCustomer(input: {projectId: $p, name: $n, phone: $ph, source: $s}) { customer { id } } }`,
			map[string]any{"p": p.ID, "n": name, "ph": phone, "s": source}, &out)
		return out.RegisterCustomer.Customer.ID
	}
	visit := func(v *auth.Viewer, c pulid.ID, when time.Time, kind string) {
		t.Helper()
		var out struct {
			LogVisit struct{ Visit struct{ Kind string } }
		}
		do(v, `mutation($c: ID!, $at: Time!) { logVisit(input: {customerId: $c, kind: IN_PERSON, occurredAt: $at}) { visit { kind } } }`,
			map[string]any{"c": c, "at": when.UTC().Format(time.RFC3339)}, &out)
		if out.LogVisit.Visit.Kind != kind {
			t.Fatalf("visit of %s at %s: %s, want %s", c, when, out.LogVisit.Visit.Kind, kind)
		}
	}
	hold := func(v *auth.Viewer, u string, c pulid.ID) {
		t.Helper()
		do(v, holdMutation, map[string]any{"u": w.units[u], "c": c}, &struct{}{})
	}
	reserve := func(v *auth.Viewer, u string, c pulid.ID) pulid.ID {
		t.Helper()
		var r reserved
		do(v, reserveMutation, map[string]any{"u": w.units[u], "c": c, "d": 0}, &r)
		return pulid.ID(r.ReserveUnit.Deal.ID)
	}

	at(sh(10, 30, 10, 0))
	w.c1 = register(w.A1, w.P, "客户一", "13800000001", "WALK_IN")
	at(sh(10, 31, 23, 59))
	visit(w.A1, w.c1, sh(10, 31, 23, 59), "FIRST_VISIT")
	at(sh(11, 1, 0, 1))
	w.c2 = register(w.A2, w.P, "客户二", "13800000002", "ONLINE_AD")
	visit(w.A2, w.c2, sh(11, 1, 0, 1), "FIRST_VISIT")
	at(sh(11, 2, 10, 0))
	visit(w.A1, w.c1, sh(11, 2, 10, 0), "REVISIT")
	hold(w.A1, "u1", w.c1)
	w.d1 = reserve(w.A1, "u1", w.c1)
	at(sh(11, 3, 10, 0))
	hold(w.A2, "u2", w.c2)
	do(w.A2, `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { status } } }`, map[string]any{"u": w.units["u2"]}, &struct{}{})
	hold(w.A2, "u3", w.c2)
	w.d2 = reserve(w.A2, "u3", w.c2)
	at(sh(11, 4, 10, 0))
	w.c3 = register(w.B1, w.Q, "客户三", "13800000003", "REFERRAL")
	visit(w.B1, w.c3, sh(11, 4, 10, 0), "FIRST_VISIT")
	at(sh(11, 5, 10, 0))
	do(w.A1, `mutation($d: ID!) { contractDeal(input: {dealId: $d}) { deal { stage } } }`, map[string]any{"d": w.d1}, &struct{}{})
	at(sh(11, 10, 10, 0))
	do(w.MP, `mutation($d: ID!) { cancelDeal(input: {dealId: $d, reason: "贷款未批"}) { deal { stage } } }`, map[string]any{"d": w.d2}, &struct{}{})
	at(sh(11, 29, 12, 0))
	return w
}
