package api_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/api/apitest"
	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/catalogue"
	"estatecrm/database"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/unithold"
	"estatecrm/ent/user"
	"estatecrm/live"
	"estatecrm/sales"
)

const holdMutation = `mutation($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { id status holdExpiresAt heldBy { id } } } }`

// agentsWithCustomers makes n agents of p, each with a customer of its own.
func agentsWithCustomers(t testing.TB, env *apitest.Env, p *ent.Project, n int) ([]*auth.Viewer, []*ent.Customer) {
	t.Helper()
	ctx := apitest.System()
	viewers := make([]*auth.Viewer, n)
	customers := make([]*ent.Customer, n)
	for i := range n {
		u := env.Client.User.Create().SetName(fmt.Sprintf("agent %d", i)).SetLogin(fmt.Sprintf("agent.%03d", i)).
			SetRole(user.RoleAGENT).AddProjectIDs(p.ID).SaveX(ctx)
		viewers[i] = &auth.Viewer{UserID: u.ID, Role: auth.RoleAgent, ProjectIDs: []pulid.ID{p.ID}}
		customers[i] = env.Client.Customer.Create().SetProjectID(p.ID).SetName(fmt.Sprintf("客户%d", i)).
			SetPhone(fmt.Sprintf("1370000%04d", i)).SetSource(customer.SourceWALK_IN).SetOwnerID(u.ID).
			SetProtectedUntil(time.Now().Add(24 * time.Hour)).SaveX(ctx)
	}
	return viewers, customers
}

func TestConcurrentHoldsOnOneUnitHaveOneWinner(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	u := env.Client.Unit.Query().OnlyX(apitest.System())
	const n = 200
	viewers, customers := agentsWithCustomers(t, env, p, n)

	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res := env.As(t, viewers[i]).Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[i].ID})
			if len(res.Errors) == 0 {
				codes[i] = "OK"
			} else {
				codes[i] = res.Errors[0].Code()
			}
		}()
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	winner := -1
	for i, c := range codes {
		count[c]++
		if c == "OK" {
			winner = i
		}
	}
	if count["OK"] != 1 || count["CONFLICT"] != n-1 {
		t.Fatalf("holds: %v", count)
	}
	got := env.Client.Unit.GetX(apitest.System(), u.ID)
	if got.Status != unit.StatusHELD || *got.HeldByID != viewers[winner].UserID || *got.HeldForID != customers[winner].ID {
		t.Fatalf("the unit is not held by the winner: %+v", got)
	}
	// One record of the hold, the winner's (the sales funnel counts them):
	// a loser's record, which on PostgreSQL rides on its UPDATE, goes with
	// its rolled-back transaction.
	holds := env.Client.UnitHold.Query().Where(unithold.UnitID(u.ID)).AllX(apitest.System())
	if len(holds) != 1 || holds[0].AgentID != viewers[winner].UserID || holds[0].CustomerID != customers[winner].ID ||
		holds[0].ProjectID != p.ID || !strings.HasPrefix(string(holds[0].ID), "UH") {
		t.Fatalf("records of the hold: %+v; want the winner's only", holds)
	}
}

func TestHoldRules(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 2, 3) // 6 units
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	a1, a2 := env.As(t, viewers[0]), env.As(t, viewers[1])
	units := env.Client.Unit.Query().Order(unit.ByFloor(), unit.ByNumber()).AllX(ctx)
	hold := func(c *apitest.Caller, u *ent.Unit, cust *ent.Customer) *apitest.Response {
		return c.Query(t, holdMutation, map[string]any{"u": u.ID, "c": cust.ID})
	}

	// A hold lasts the project's hold minutes.
	var out struct {
		HoldUnit struct {
			Unit struct{ Status, HoldExpiresAt string }
		}
	}
	hold(a1, units[0], customers[0]).Decode(t, &out)
	exp, _ := time.Parse(time.RFC3339Nano, out.HoldUnit.Unit.HoldExpiresAt)
	if out.HoldUnit.Unit.Status != "HELD" || time.Until(exp) < 29*time.Minute || time.Until(exp) > 30*time.Minute {
		t.Fatalf("hold %+v", out)
	}
	// A held unit cannot be held again, nor a sold one; nothing changes.
	env.Client.Unit.UpdateOne(units[1]).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
	for _, u := range units[:2] {
		if e := hold(a2, u, customers[1]).OnlyError(t); e.Code() != "CONFLICT" {
			t.Fatalf("hold on a %s unit: %+v", u.Status, e)
		}
	}
	if got := env.Client.Unit.GetX(ctx, units[0].ID); *got.HeldByID != viewers[0].UserID {
		t.Fatal("a refused hold changed the holder")
	}
	// An agent holds at most 3 units at once.
	for _, u := range units[2:4] {
		if res := hold(a1, u, customers[0]); len(res.Errors) != 0 {
			t.Fatalf("2nd/3rd hold: %s", res.Body)
		}
	}
	if e := hold(a1, units[4], customers[0]).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("a 4th live hold: %+v", e)
	}
	if got := env.Client.Unit.GetX(ctx, units[4].ID); got.Status != unit.StatusAVAILABLE {
		t.Fatal("the refused 4th hold changed the unit")
	}
	// A hold that lapsed one second ago reads as available and can be taken by another agent.
	env.Client.Unit.UpdateOne(units[0]).SetHoldExpiresAt(time.Now().Add(-time.Second)).ExecX(ctx)
	var seen struct{ Node struct{ Status string } }
	a2.Query(t, `query($id: ID!) { node(id: $id) { ... on Unit { status } } }`, map[string]any{"id": units[0].ID}).Decode(t, &seen)
	if seen.Node.Status != "AVAILABLE" {
		t.Fatalf("a lapsed hold reads as %s", seen.Node.Status)
	}
	if res := hold(a2, units[0], customers[1]); len(res.Errors) != 0 {
		t.Fatalf("a lapsed hold could not be taken: %s", res.Body)
	}
	// With one hold lapsed, A1 holds 2 live units and may hold again.
	if res := hold(a1, units[4], customers[0]); len(res.Errors) != 0 {
		t.Fatalf("a hold after one lapsed: %s", res.Body)
	}
	// Release: only the holder's own live hold.
	if e := a2.Query(t, `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { status } } }`, map[string]any{"u": units[2].ID}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("releasing another agent's hold: %+v", e)
	}
	var rel struct {
		ReleaseHold struct{ Unit struct{ Status string } }
	}
	a1.Query(t, `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { status } } }`, map[string]any{"u": units[2].ID}).Decode(t, &rel)
	if rel.ReleaseHold.Unit.Status != "AVAILABLE" {
		t.Fatalf("released: %+v", rel)
	}
}

// On PostgreSQL a hold, a release or a visit alone in its operation is one
// write statement, its own transaction: it runs without the request's (graph/tx.go),
// which saves BEGIN and COMMIT. Sent with an Idempotency-Key (whose answer is
// kept in the mutation's transaction) or beside another mutation, it runs in
// one, and a refusal of either rolls both back. SQLite always opens one.
func TestOneStatementMutationsRunWithoutATransaction(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 2, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	agent, c := env.As(t, viewers[0]), customers[0]
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	alone := int64(1)
	if env.DB.Dialect == dialect.Postgres {
		alone = 0
	}
	run := func(name string, want int64, caller *apitest.Caller, query string, vars map[string]any) *apitest.Response {
		t.Helper()
		env.Counter.Reset()
		res := caller.Query(t, query, vars)
		if got := env.Counter.Txs(); got != want {
			t.Fatalf("%s began %d transactions, want %d", name, got, want)
		}
		return res
	}
	const release = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id status } } }`
	if res := run("holdUnit alone", alone, agent, holdMutation, map[string]any{"u": units[0].ID, "c": c.ID}); len(res.Errors) > 0 {
		t.Fatalf("holdUnit: %s", res.Body)
	}
	if res := run("releaseHold alone", alone, agent, release, map[string]any{"u": units[0].ID}); len(res.Errors) > 0 {
		t.Fatalf("releaseHold: %s", res.Body)
	}
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if res := run("logVisit alone", alone, agent, logVisitMutation, map[string]any{"c": c.ID, "k": "IN_PERSON", "at": at,
		"units": []string{string(units[0].ID)}}); len(res.Errors) > 0 {
		t.Fatalf("logVisit: %s", res.Body)
	}
	keyed := agent.With("Idempotency-Key", "hold-once")
	first := run("holdUnit with a key", 1, keyed, holdMutation, map[string]any{"u": units[0].ID, "c": c.ID})
	again := run("holdUnit with the key again", 0, keyed, holdMutation, map[string]any{"u": units[0].ID, "c": c.ID})
	if len(first.Errors) > 0 || string(first.Body) != string(again.Body) {
		t.Fatalf("a hold with a key and its retry answered %s and %s; want the same hold", first.Body, again.Body)
	}
	// Two holds in one operation: the second unit is held already, so the
	// first's hold is rolled back with it.
	const two = `mutation($a: ID!, $b: ID!, $c: ID!) {
	  a: holdUnit(input: {unitId: $a, customerId: $c}) { unit { id } }
	  b: holdUnit(input: {unitId: $b, customerId: $c}) { unit { id } } }`
	res := run("two holds", 1, agent, two, map[string]any{"a": units[1].ID, "b": units[0].ID, "c": c.ID})
	if len(res.Errors) == 0 || res.Errors[0].Code() != "CONFLICT" {
		t.Fatalf("two holds, the second of a held unit, answered %s; want CONFLICT", res.Body)
	}
	if st := env.Client.Unit.GetX(apitest.System(), units[1].ID).Status; st != unit.StatusAVAILABLE {
		t.Fatalf("the first of two holds whose second was refused left its unit %s, want AVAILABLE", st)
	}
}

// One agent firing holds on many units at once still ends with 3.
func TestConcurrentHoldsByOneAgentStopAtThree(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 2, 4) // 8 units
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	units := env.Client.Unit.Query().AllX(apitest.System())
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for _, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := env.As(t, viewers[0]).Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID})
			if len(res.Errors) == 0 {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if c := res.Errors[0].Code(); c != "CONFLICT" {
				t.Errorf("a refused hold answered %s, want CONFLICT: %+v", c, res.Errors)
			}
		}()
	}
	wg.Wait()
	held := env.Client.Unit.Query().Where(unit.StatusEQ(unit.StatusHELD)).CountX(apitest.System())
	if ok != 3 || held != 3 {
		t.Fatalf("%d holds succeeded and %d units are held; want 3", ok, held)
	}
}

// The sweep puts lapsed holds back among the available units in storage, so
// listings filtering on status find them, and tells subscribers.
func TestSweepReleasesLapsedHolds(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(ctx)
	for i, u := range units {
		env.Client.Unit.UpdateOne(u).SetStatus(unit.StatusHELD).SetHeldByID(viewers[0].UserID).SetHeldForID(customers[0].ID).
			SetHoldExpiresAt(time.Now().Add(time.Duration(2*i-1) * time.Minute)).ExecX(ctx) // the first lapsed, the second live
	}
	events, err := live.Watch(auth.SystemContext(t.Context()), env.Client, env.Hub, p.ID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sales.SweepHolds(t.Context(), env.Client, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want the 1 lapsed hold", n, err)
	}
	var out struct{ Units struct{ TotalCount int } }
	env.As(t, viewers[0]).Query(t, `{ units(first: 5, where: {status: AVAILABLE}) { totalCount } }`, nil).Decode(t, &out)
	if out.Units.TotalCount != 1 || env.Client.Unit.GetX(ctx, units[1].ID).Status != unit.StatusHELD {
		t.Fatalf("after the sweep %d available (want 1), the live hold must stay", out.Units.TotalCount)
	}
	select {
	case e := <-events:
		if e.UnitID != units[0].ID || e.Status != unit.StatusAVAILABLE {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscribers did not hear of the lapse")
	}
}

// A hold that loses, run with a transaction in ctx but on a client that is
// not that transaction's (a caller holding one client for everything),
// leaves no record of a hold once the transaction rolls back: before the
// fix the record rode on the plain client's UPDATE (PostgreSQL), which
// inserts it even when the UPDATE changes nothing, and committed it at once
// although the hold answered CONFLICT.
func TestLostHoldBesideATransactionLeavesNoRecord(t *testing.T) {
	env := apitest.New(t)
	if env.DB.Dialect != dialect.Postgres {
		// SQLite's one writer: a write beside an open transaction waits for it.
		t.Skip("the record rides on the UPDATE on PostgreSQL only")
	}
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	u := env.Client.Unit.Query().OnlyX(apitest.System())
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	env.As(t, viewers[0]).Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &struct{}{})

	ctx := auth.NewContext(t.Context(), viewers[1])
	tx, err := env.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sales.HoldUnit(ent.NewTxContext(ctx, tx), env.Client, u.ID, customers[1].ID, time.Now())
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict {
		t.Fatalf("the second hold answered %v, want CONFLICT", err)
	}
	_ = tx.Rollback()
	if n := env.Client.UnitHold.Query().CountX(apitest.System()); n != 1 {
		t.Fatalf("%d records of holds, want 1 (the winner's)", n)
	}
}

// On PostgreSQL what a hold writes besides the unit (its record, the
// listing's change line, the live event) rides on the hold's UPDATE and is
// written for the unit the UPDATE changed only: a hold that loses writes
// none of it even outside any transaction (nothing to roll it back), and
// a hold that wins writes each once, in the UPDATE's one statement.
// On SQLite, where they are statements of their own, the same rows.
func TestHoldRowsRideOnlyOnTheChange(t *testing.T) {
	env := apitest.New(t)
	pg := env.DB.Dialect == dialect.Postgres
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	env.Client.Unit.Update().SetPublished(true).ExecX(apitest.System())
	env.Client.Project.UpdateOne(p).SetPublished(true).ExecX(apitest.System())
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	env.As(t, viewers[0]).Query(t, holdMutation, map[string]any{"u": units[0].ID, "c": customers[0].ID}).Decode(t, &struct{}{})

	// rowsSince lists the outbox rows after id from, as topic and kind.
	var from int64
	if err := env.DB.SQL.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM outbox_events`).Scan(&from); err != nil {
		t.Fatal(err)
	}
	rowsSince := func() []string {
		t.Helper()
		rows, err := env.DB.SQL.Query(`SELECT topic, kind FROM outbox_events WHERE id > ` + strconv.FormatInt(from, 10) + ` ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var topic, kind string
			if err := rows.Scan(&topic, &kind); err != nil {
				t.Fatal(err)
			}
			out = append(out, topic+" "+kind)
		}
		return out
	}
	holds := func() int { return env.Client.UnitHold.Query().CountX(apitest.System()) }

	ctx := auth.NewContext(t.Context(), viewers[1])
	env.Counter.Record()
	env.Counter.Reset()
	_, err := sales.HoldUnit(ctx, env.Client, units[0].ID, customers[1].ID, time.Now())
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict {
		t.Fatalf("a hold of a held unit answered %v, want CONFLICT", err)
	}
	if got := rowsSince(); len(got) != 0 || holds() != 1 {
		t.Fatalf("a lost hold wrote the outbox rows %q and left %d records of holds; want none and 1 (the winner's)", got, holds())
	}

	env.Counter.Reset()
	got, err := sales.HoldUnit(ctx, env.Client, units[1].ID, customers[1].ID, time.Now())
	if err != nil || got.Status != unit.StatusHELD {
		t.Fatalf("a hold of an available unit answered %+v, %v", got, err)
	}
	var writes []string
	for _, s := range env.Counter.Statements() {
		if !strings.HasPrefix(s, "SELECT") {
			writes = append(writes, s)
		}
	}
	if pg && (len(writes) != 1 || !strings.Contains(writes[0], "INSERT INTO unit_holds") || !strings.Contains(writes[0], "INSERT INTO outbox_events")) {
		t.Fatalf("the hold wrote with %q; want one statement: the UPDATE with the record, the line and the event riding on it", writes)
	}
	want := []string{"listings/" + string(p.ID) + " UPSERT", string(p.ID) + " unit"}
	if rows := rowsSince(); fmt.Sprint(rows) != fmt.Sprint(want) || holds() != 2 {
		t.Fatalf("the hold wrote the outbox rows %q and %d records of holds; want %q and 2", rows, holds(), want)
	}
	rec := env.Client.UnitHold.Query().Where(unithold.UnitID(units[1].ID)).OnlyX(apitest.System())
	if rec.AgentID != viewers[1].UserID || rec.CustomerID != customers[1].ID || rec.ProjectID != p.ID {
		t.Fatalf("the hold's record is %+v", rec)
	}
}

// A hold of a published unit while its project is being published, in two
// transactions that overlap, the project's first: the project's logs its
// units (the unit as it was, not yet held); the hold's line, riding on its
// UPDATE (package ride), waits for the project's transaction (the line's
// FOR SHARE on the project row) and then reads it published: an UPSERT of
// the held unit follows the project's. Read without waiting, the project
// would still be unpublished and the hold would log nothing: the portal's
// copy would keep the unit as it was before the hold. (On SQLite, one
// writer at a time, the transactions cannot overlap.)
func TestHoldLineWaitsForAProjectBeingPublished(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "三期", 1, 1, 2)
	now := time.Now().UTC()
	u := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).FirstX(ctx)
	if _, err := catalogue.PublishUnits(ctx, env.Client, []pulid.ID{u.ID}, true, now); err != nil {
		t.Fatal(err)
	}
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	c := portal(t, env)
	start, _ := changesAfter(t, c, "", 0)

	projectTx, err := env.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalogue.PublishProject(ctx, projectTx.Client(), p.ID, true, false, now); err != nil {
		t.Fatal(err)
	}
	hold := func() error {
		actx := auth.NewContext(t.Context(), viewers[0])
		tx, err := env.Client.Tx(actx)
		if err != nil {
			return err
		}
		if _, err := sales.HoldUnit(ent.NewTxContext(actx, tx), tx.Client(), u.ID, customers[0].ID, now); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	holdDone := make(chan error, 1)
	go func() { holdDone <- hold() }()
	if env.DB.Dialect == dialect.Postgres {
		// The hold's statement (the UPDATE and its riders), which locks
		// nothing the project's transaction holds but the project's row,
		// waits on a lock; then the project commits.
		waiting := 0
		for deadline := time.Now().Add(20 * time.Second); waiting == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			err := env.DB.SQL.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query LIKE 'WITH hold_in %'`).Scan(&waiting)
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := projectTx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-holdDone; err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			t.Fatal("the hold's line did not wait for the project's transaction")
		}
	} else {
		// SQLite: the hold's transaction waits for the writer lock, or fails
		// (busy): then it runs after the project's.
		time.Sleep(300 * time.Millisecond)
		_ = projectTx.Commit()
		if err := <-holdDone; err != nil {
			if err := hold(); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, _ := lines(t, env, c, start.ListingChanges.Head)
	upserts := 0
	for _, l := range got {
		if l == "UPSERT "+u.Number {
			upserts++
		}
	}
	if upserts != 2 {
		t.Fatalf("the log after both has %v: want two UPSERTs of unit %s (the project's, then the hold's)", got, u.Number)
	}
}

// A unit whose project the server knows (one it read before: a unit never
// changes project) is held and released in one statement on PostgreSQL,
// which does the checks a read before it did; when that statement changes
// nothing, a read afterwards says why, with the same answers as the read
// before. Each refusal here comes after the unit was held and released
// once, and changes nothing. The answer is the unit as the UPDATE left it.
func TestHoldOfAKnownUnitChecksInItsStatement(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 2, 3) // 6 units
	env.Client.Project.UpdateOne(p).SetHoldMinutes(45).ExecX(ctx)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	a1, a2 := env.As(t, viewers[0]), env.As(t, viewers[1])
	q := env.Project(t, "江南·樾府", 1, 1, 1)
	outsider := env.Client.User.Create().SetName("外盘").SetLogin("agent.other").SetRole(user.RoleAGENT).AddProjectIDs(q.ID).SaveX(ctx)
	theirs := env.Client.Customer.Create().SetProjectID(q.ID).SetName("外客").SetPhone("13900000001").
		SetSource(customer.SourceWALK_IN).SetOwnerID(outsider.ID).SaveX(ctx)
	a3 := env.As(t, &auth.Viewer{UserID: outsider.ID, Role: auth.RoleAgent, ProjectIDs: []pulid.ID{q.ID}})
	units := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).Order(unit.ByFloor(), unit.ByNumber()).AllX(ctx)
	u := units[0]
	pg := env.DB.Dialect == dialect.Postgres
	env.Counter.Record()

	// No edges asked for: each would be a read of its own.
	const holdQ = `mutation($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { id number floor listPrice status holdExpiresAt } } }`
	const releaseQ = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id number status holdExpiresAt } } }`
	type answer struct {
		ID, Number, Status string
		Floor              int
		ListPrice          string
		HoldExpiresAt      *string
	}
	// statements runs a mutation and, on PostgreSQL, checks how many
	// statements it sent (the sequencer's and the hub's work after the
	// commit go on a client of their own, not counted here).
	statements := func(want int64, c *apitest.Caller, query string, vars map[string]any) *apitest.Response {
		t.Helper()
		env.Counter.Reset()
		res := c.Query(t, query, vars)
		if n := env.Counter.Count(); pg && want > 0 && n != want {
			t.Fatalf("%s sent %d statements, want %d: %q", query[:20], n, want, env.Counter.Statements())
		}
		return res
	}
	hold := func(want int64, c *apitest.Caller, u *ent.Unit, cust pulid.ID) *apitest.Response {
		t.Helper()
		return statements(want, c, holdQ, map[string]any{"u": u.ID, "c": cust})
	}
	release := func(want int64, c *apitest.Caller, u *ent.Unit) *apitest.Response {
		t.Helper()
		return statements(want, c, releaseQ, map[string]any{"u": u.ID})
	}
	unchanged := func(what string, status unit.Status, holder *pulid.ID) {
		t.Helper()
		got := env.Client.Unit.GetX(ctx, u.ID)
		if got.Status != status || (holder == nil) != (got.HeldByID == nil) || (holder != nil && *got.HeldByID != *holder) {
			t.Fatalf("%s changed the unit: %s held by %v", what, got.Status, got.HeldByID)
		}
	}
	refused := func(what string, res *apitest.Response, code, field string) {
		t.Helper()
		if e := res.OnlyError(t); e.Code() != code || e.Field() != field {
			t.Fatalf("%s: %+v; want %s on %q", what, e, code, field)
		}
	}

	// The first hold of the unit reads it (its project, then kept); the
	// rest do not.
	var first struct{ HoldUnit struct{ Unit answer } }
	hold(2, a1, u, customers[0].ID).Decode(t, &first)
	var rel struct{ ReleaseHold struct{ Unit answer } }
	release(1, a1, u).Decode(t, &rel)
	if r := rel.ReleaseHold.Unit; r.ID != string(u.ID) || r.Number != u.Number || r.Status != "AVAILABLE" || r.HoldExpiresAt != nil {
		t.Fatalf("releaseHold answered %+v", r)
	}
	var again struct{ HoldUnit struct{ Unit answer } }
	hold(1, a1, u, customers[0].ID).Decode(t, &again)
	stored := env.Client.Unit.GetX(ctx, u.ID)
	for _, h := range []answer{first.HoldUnit.Unit, again.HoldUnit.Unit} {
		exp := time.Time{}
		if h.HoldExpiresAt != nil {
			exp, _ = time.Parse(time.RFC3339Nano, *h.HoldExpiresAt)
		}
		if h.ID != string(u.ID) || h.Number != u.Number || h.Floor != u.Floor || h.ListPrice != u.ListPrice.String() || h.Status != "HELD" ||
			time.Until(exp) < 44*time.Minute || time.Until(exp) > 45*time.Minute {
			t.Fatalf("holdUnit answered %+v; want the unit held for the project's 45 minutes", h)
		}
	}
	if *stored.HeldByID != viewers[0].UserID || *stored.HeldForID != customers[0].ID {
		t.Fatalf("the unit is held by %s for %s", *stored.HeldByID, *stored.HeldForID)
	}
	if !stored.HoldExpiresAt.Equal(func() time.Time { e, _ := time.Parse(time.RFC3339Nano, *again.HoldUnit.Unit.HoldExpiresAt); return e }()) {
		t.Fatalf("the answer's expiry %s is not the stored %s", *again.HoldUnit.Unit.HoldExpiresAt, stored.HoldExpiresAt)
	}
	release(1, a1, u).Decode(t, &rel)

	// Refusals of the known unit, each with the read's answer.
	refused("a hold by an agent of another project", hold(0, a3, u, theirs.ID), "NOT_FOUND", "")
	refused("a hold for another agent's customer", hold(0, a1, u, customers[1].ID), "BAD_USER_INPUT", "input.customerId")
	refused("a hold for a customer of another project", hold(0, a1, u, theirs.ID), "BAD_USER_INPUT", "input.customerId")
	unchanged("a refused hold", unit.StatusAVAILABLE, nil)
	if res := hold(1, a2, u, customers[1].ID); len(res.Errors) != 0 {
		t.Fatalf("a2's hold: %s", res.Body)
	}
	refused("a hold of a held unit", hold(0, a1, u, customers[0].ID), "CONFLICT", "")
	refused("a release by an agent of another project", release(0, a3, u), "NOT_FOUND", "")
	refused("a release of another agent's hold", release(0, a1, u), "CONFLICT", "")
	unchanged("a refused release", unit.StatusHELD, &viewers[1].UserID)
	// The cap: three holds, then a fourth of a known unit.
	for _, x := range units[1:4] {
		if res := hold(0, a1, x, customers[0].ID); len(res.Errors) != 0 {
			t.Fatalf("a1's holds: %s", res.Body)
		}
	}
	release(1, a2, u)
	e := hold(0, a1, u, customers[0].ID).OnlyError(t)
	if e.Code() != "CONFLICT" || !strings.Contains(e.Message, "already hold 3") {
		t.Fatalf("a 4th hold: %+v", e)
	}
	unchanged("the refused 4th hold", unit.StatusAVAILABLE, nil)
	if n := env.Client.UnitHold.Query().Where(unithold.UnitID(u.ID)).CountX(ctx); n != 3 {
		t.Fatalf("%d records of the unit's holds, want 3 (a1 twice, a2)", n)
	}
}

// A pool with no bound has no first-come, first-served line in front of
// it (database.fifo), which is the driver that hands a ridden update's rows
// over (ride.Reading). There a hold or release of a known unit still
// answers the unit as stored: its UPDATE's rows are not handed over, and
// the unit is read after it (on PostgreSQL two statements, not one).
func TestHoldAnswersTheUnitWhenItsRowsAreNotHandedOver(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	env.Client.Project.UpdateOne(p).SetHoldMinutes(40).ExecX(ctx)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	u := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).FirstX(ctx)
	pg := env.DB.Dialect == dialect.Postgres
	unbounded := env // SQLite: rows never ride, nor come back
	if pg {
		unbounded = env.SecondWith(t, database.Pool{})
	}
	a := unbounded.As(t, viewers[0])
	const holdQ = `mutation($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { id status holdExpiresAt } } }`
	const releaseQ = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id status holdExpiresAt } } }`
	type answer struct {
		ID, Status    string
		HoldExpiresAt *string
	}
	unbounded.Counter.Record()
	for i := range 2 { // the first makes the unit known
		var held struct{ HoldUnit struct{ Unit answer } }
		unbounded.Counter.Reset()
		a.Query(t, holdQ, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &held)
		if n := unbounded.Counter.Count(); pg && i == 1 && n != 2 {
			t.Fatalf("the hold of a known unit sent %d statements, want its UPDATE and the read after: %q", n, unbounded.Counter.Statements())
		}
		h := held.HoldUnit.Unit
		stored := env.Client.Unit.GetX(ctx, u.ID)
		if h.ID != string(u.ID) || h.Status != "HELD" || h.HoldExpiresAt == nil || stored.HoldExpiresAt == nil ||
			*h.HoldExpiresAt != stored.HoldExpiresAt.UTC().Format(time.RFC3339Nano) ||
			time.Until(*stored.HoldExpiresAt) < 39*time.Minute || time.Until(*stored.HoldExpiresAt) > 40*time.Minute {
			t.Fatalf("hold %d answered %+v; stored %s until %v, want the project's 40 minutes", i, h, stored.Status, stored.HoldExpiresAt)
		}
		var rel struct{ ReleaseHold struct{ Unit answer } }
		a.Query(t, releaseQ, map[string]any{"u": u.ID}).Decode(t, &rel)
		if r := rel.ReleaseHold.Unit; r.ID != string(u.ID) || r.Status != "AVAILABLE" || r.HoldExpiresAt != nil {
			t.Fatalf("release %d answered %+v", i, r)
		}
	}
}
