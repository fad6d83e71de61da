package api_test

import (
	"context"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
	"estatecrm/ent/customer"
	"estatecrm/ent/unit"
	"estatecrm/ent/visit"
)

const logVisitMutation = `mutation($c: ID!, $k: VisitContact!, $at: Time!, $units: [ID!], $g: CustomerGrade, $next: Time) {
  logVisit(input: {customerId: $c, kind: $k, occurredAt: $at, unitIds: $units, touchpoints: [SAND_TABLE, SHOW_FLAT],
                   gradeAfter: $g, nextFollowUpAt: $next, nextFollowUpAction: "带家人看样板间"}) {
    visit { id kind occurredAt unitsShown { number } customer { stage grade lastContactAt nextFollowUpAt attribution { protectedUntil } } }
  }
}`

type loggedVisit struct {
	LogVisit struct {
		Visit struct {
			ID, Kind, OccurredAt string
			UnitsShown           []struct{ Number string }
			Customer             struct {
				Stage, Grade, LastContactAt, NextFollowUpAt string
				Attribution                                 struct{ ProtectedUntil string }
			}
		}
	}
}

func TestLogVisit(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 2, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	a1, a2, c := env.As(t, viewers[0]), env.As(t, viewers[1]), customers[0]
	env.Client.Customer.UpdateOne(c).SetProtectedUntil(time.Now().Add(time.Hour)).ExecX(ctx)
	units := env.Client.Unit.Query().AllX(ctx)
	now := time.Now().UTC()
	vars := func(kind string, at time.Time) map[string]any {
		return map[string]any{"c": c.ID, "k": kind, "at": at.Format(time.RFC3339), "units": []string{string(units[0].ID), string(units[1].ID)},
			"g": "A", "next": now.Add(48 * time.Hour).Format(time.RFC3339)}
	}

	// Logged after the fact (yesterday, offline): the first in-person visit.
	var v loggedVisit
	a1.Query(t, logVisitMutation, vars("IN_PERSON", now.Add(-24*time.Hour))).Decode(t, &v)
	got := v.LogVisit.Visit
	if got.Kind != "FIRST_VISIT" || len(got.UnitsShown) != 2 || got.Customer.Stage != "VISITED" || got.Customer.Grade != "A" {
		t.Fatalf("first visit: %+v", got)
	}
	until, _ := time.Parse(time.RFC3339Nano, got.Customer.Attribution.ProtectedUntil)
	if want := now.Add(-24 * time.Hour).Add(30 * 24 * time.Hour); until.Sub(want).Abs() > time.Second {
		t.Fatalf("protection runs %s, want 30 days from the visit (%s)", until, want)
	}
	// The next in-person visit is a revisit, whatever the client thinks.
	v = loggedVisit{}
	a1.Query(t, logVisitMutation, vars("IN_PERSON", now.Add(-time.Minute))).Decode(t, &v)
	if v.LogVisit.Visit.Kind != "REVISIT" {
		t.Fatalf("second in-person visit is %s", v.LogVisit.Visit.Kind)
	}
	// A stage only moves forward.
	env.Client.Customer.UpdateOne(c).SetStage(customer.StageNEGOTIATING).ExecX(ctx)
	v = loggedVisit{}
	a1.Query(t, logVisitMutation, vars("PHONE_CALL", now)).Decode(t, &v)
	if v.LogVisit.Visit.Customer.Stage != "NEGOTIATING" {
		t.Fatalf("a call moved the stage back to %s", v.LogVisit.Visit.Customer.Stage)
	}

	// Bad input: coded, named, and nothing written.
	before := env.Client.Visit.Query().CountX(ctx)
	for _, tc := range []struct {
		name, field string
		vars        map[string]any
	}{
		{"tomorrow", "input.occurredAt", vars("PHONE_CALL", now.Add(24*time.Hour))},
		{"8 days ago", "input.occurredAt", vars("PHONE_CALL", now.Add(-8*24*time.Hour))},
		{"a unit of another project", "input.unitIds", func() map[string]any {
			m := vars("IN_PERSON", now)
			other := env.Project(t, "前海·天汇", 1, 1, 1)
			m["units"] = []string{string(units[0].ID), string(env.Client.Unit.Query().Where(unit.ProjectID(other.ID)).OnlyX(ctx).ID)}
			return m
		}()},
		{"a kind the server decides", "", vars("FIRST_VISIT", now)},
	} {
		res := a1.Query(t, logVisitMutation, tc.vars)
		if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" || (tc.field != "" && e.Field() != tc.field) {
			t.Fatalf("%s: want BAD_USER_INPUT on %s, got %s", tc.name, tc.field, res.Body)
		}
	}
	// Another agent may not log a visit of A1's customer.
	if e := a2.Query(t, logVisitMutation, vars("PHONE_CALL", now)).OnlyError(t); e.Code() != "NOT_FOUND" {
		t.Fatalf("another agent: %+v", e)
	}
	if after := env.Client.Visit.Query().CountX(ctx); after != before {
		t.Fatalf("refused visits were written: %d → %d", before, after)
	}
	kinds := env.Client.Visit.Query().Where(visit.CustomerID(c.ID)).Order(visit.ByOccurredAt()).Select(visit.FieldKind).StringsX(ctx)
	if len(kinds) != 3 || kinds[0] != "FIRST_VISIT" || kinds[1] != "REVISIT" || kinds[2] != "PHONE_CALL" {
		t.Fatalf("visits: %v", kinds)
	}
}

// On PostgreSQL logVisit alone runs without a transaction (graph/tx.go): the
// visit's rows ride on the customer's UPDATE in one statement, which must
// write nothing when the UPDATE changes no row, as a rollback would. Here
// the customer changes hands between the read and the write, as a manager's
// reassignment committed in between would make it: a trigger skips the
// UPDATE of that customer's row. The visit is not written, and the answer
// is NOT_FOUND.
func TestVisitOfACustomerWhoChangedHandsIsNotWritten(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("the statement's guard (require_changed) is PostgreSQL's; set TEST_DATABASE_URL")
	}
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 2, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	c := customers[0]
	for _, q := range []string{
		`CREATE FUNCTION skip_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
		`CREATE TRIGGER skip_update BEFORE UPDATE ON customers FOR EACH ROW WHEN (OLD.id = '` + string(c.ID) + `') EXECUTE FUNCTION skip_update()`,
	} {
		if _, err := env.DB.SQL.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	for _, kind := range []string{"PHONE_CALL", "IN_PERSON"} {
		env.Counter.Reset()
		res := env.As(t, viewers[0]).Query(t, logVisitMutation, map[string]any{"c": c.ID, "k": kind, "at": at})
		if e := res.OnlyError(t); e.Code() != "NOT_FOUND" {
			t.Fatalf("%s of a customer whose row did not change: %s, want NOT_FOUND", kind, res.Body)
		}
		if n := env.Counter.Txs(); n != 0 {
			t.Fatalf("%s alone began %d transactions, want none", kind, n)
		}
	}
	if n := env.Client.Visit.Query().Where(visit.CustomerID(c.ID)).CountX(ctx); n != 0 {
		t.Fatalf("%d visits written for a customer whose UPDATE changed nothing, want 0", n)
	}
}

// A nested connection obeys orderBy written as one object as it does a
// list of one (GraphQL coerces the one to the other); entgql's field
// collection ignored the object, so the last 5 visits came oldest first.
func TestNestedOrderByOfOneObject(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	a1, c := env.As(t, viewers[0]), customers[0]
	now := time.Now().UTC()
	for _, ago := range []time.Duration{72 * time.Hour, 48 * time.Hour, 24 * time.Hour} {
		a1.Query(t, logVisitMutation, map[string]any{"c": c.ID, "k": "PHONE_CALL", "at": now.Add(-ago).Format(time.RFC3339)}).Decode(t, &loggedVisit{})
	}
	for _, order := range []string{`{field: OCCURRED_AT, direction: DESC}`, `[{field: OCCURRED_AT, direction: DESC}]`} {
		var got struct {
			Node struct {
				Visits struct {
					Edges []struct {
						Node struct{ OccurredAt time.Time }
					}
				}
			}
		}
		a1.Query(t, `query($id: ID!) { node(id: $id) { ... on Customer { visits(first: 5, orderBy: `+order+`) { edges { node { occurredAt } } } } } }`,
			map[string]any{"id": c.ID}).Decode(t, &got)
		e := got.Node.Visits.Edges
		if len(e) != 3 || !e[0].Node.OccurredAt.After(e[1].Node.OccurredAt) || !e[1].Node.OccurredAt.After(e[2].Node.OccurredAt) {
			t.Errorf("orderBy: %s: want newest first, got %+v", order, e)
		}
	}
}
