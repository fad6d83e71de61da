package api_test

import (
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/customer"
)

func TestFindAndFollowUp(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	// 2026-11-23 09:00 in Shanghai is 01:00 UTC: "today" there began at 16:00 UTC yesterday.
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	env.Now = func() time.Time { return now }
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	mine := customers[0]
	set := func(c int, next time.Time, grade customer.Grade, last time.Time) {
		env.Client.Customer.UpdateOneID(customers[c].ID).SetNextFollowUpAt(next).SetGrade(grade).SetLastContactAt(last).ExecX(ctx)
	}
	set(0, time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC), customer.GradeA, now.Add(-4*24*time.Hour)) // today 01:00 Shanghai; A, 4 days quiet
	set(1, time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC), customer.GradeB, now.Add(-24*time.Hour))    // another agent's
	extra := env.Client.Customer.Create().SetProjectID(p.ID).SetName("赵敏").SetPhone("13600136000").SetSource(customer.SourceEVENT).
		SetOwnerID(viewers[0].UserID).SetNextFollowUpAt(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)). // yesterday 23:00 Shanghai
		SetGrade(customer.GradeC).SetLastContactAt(now.Add(-10 * 24 * time.Hour)).SaveX(ctx)

	var out struct {
		MyFollowUps struct {
			Date         string
			Due, Overdue []struct {
				ID        string
				ChurnRisk bool
			}
		}
	}
	env.As(t, viewers[0]).Query(t, `{ myFollowUps { date due { id churnRisk } overdue { id churnRisk } } }`, nil).Decode(t, &out)
	f := out.MyFollowUps
	if f.Date != "2026-11-23" || len(f.Due) != 1 || f.Due[0].ID != string(mine.ID) || !f.Due[0].ChurnRisk {
		t.Fatalf("due today (Shanghai): %+v", f)
	}
	if len(f.Overdue) != 1 || f.Overdue[0].ID != string(extra.ID) || f.Overdue[0].ChurnRisk {
		t.Fatalf("overdue: %+v (a C customer 10 days quiet is no churn risk)", f.Overdue)
	}
	if e := env.As(t, viewers[0]).Query(t, `{ myFollowUps(date: "23/11/2026") { date } }`, nil).OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "date" {
		t.Fatalf("a malformed date: %+v", e)
	}

	// At the door: the last 4 digits find the customer among the agent's own.
	var found struct {
		Customers struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	env.As(t, viewers[0]).Query(t, `query($d: String!) { customers(first: 5, where: {phoneLast4: $d}) { edges { node { id } } } }`,
		map[string]any{"d": mine.PhoneLast4}).Decode(t, &found)
	if len(found.Customers.Edges) != 1 || found.Customers.Edges[0].Node.ID != string(mine.ID) {
		t.Fatalf("phone suffix search: %+v", found)
	}
}
