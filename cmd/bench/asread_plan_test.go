package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
)

var asReadScale = flag.Int("asread-scale", 10, "projects of 2,000 units that TestAsReadUnitsUseIndexes adds (100: 200 k units)")

// asReadRequest is a request on units whose condition is on a column the
// as-read table (rule.UnitsAsRead) reads through the lapse of a hold, and
// the index columns its statement on units must seek on.
type asReadRequest struct {
	name, actor, query string
	vars               func(w *apitest.World, cursor string) map[string]any
	seek               []string // columns the Index Cond on units names
	paged              bool     // run twice, the second time after the first page's end cursor
	// inOrder: a page of available units, read as two ordered halves
	// merged (rule.AvailableInOrder), each stopping at the page's limit;
	// a Sort (of every matching unit) fails.
	inOrder bool
}

const (
	qUnitsPage   = `query($where: UnitWhereInput, $order: [UnitOrder!], $after: Cursor) { units(first: 20, after: $after, where: $where, orderBy: $order) { edges { node { id number status listPrice } } pageInfo { endCursor } } }`
	qAgentHolds  = `query($id: ID!) { node(id: $id) { ... on User { heldUnits { id number status } } } }`
	qCustomerHds = `query($p: ID) { customers(first: 20, where: {projectID: $p}) { edges { node { id heldUnits { id number status } } } } }`
)

func asReadRequests() []asReadRequest {
	where := func(f func(w *apitest.World) map[string]any, order ...map[string]any) func(*apitest.World, string) map[string]any {
		return func(w *apitest.World, cursor string) map[string]any {
			v := map[string]any{"where": f(w)}
			if len(order) > 0 {
				v["order"] = order
			}
			if cursor != "" {
				v["after"] = cursor
			}
			return v
		}
	}
	return []asReadRequest{
		{name: "available units of a project in a price range (agent)", actor: "A1", query: qListings,
			vars: func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"p": w.ID("pA"), "min": "1000000.00", "max": "2000000.00"}
			}, seek: []string{"project_id", "status", "list_price"}, inOrder: true},
		{name: "available units of a project in a price range (portal)", actor: "portal", query: qListings,
			vars: func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"p": w.ID("pA"), "min": "1000000.00", "max": "2000000.00"}
			}, seek: []string{"project_id", "status", "list_price"}, inOrder: true},
		{name: "active listings of a project in a price range (portal's feed)", actor: "portal", query: qFeed,
			vars: func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"p": w.ID("pA"), "min": "1000000.00", "max": "2000000.00"}
			}, seek: []string{"project_id", "status", "list_price"}, inOrder: true},
		{name: "held units of a project (manager)", actor: "MA", query: qUnitsPage,
			vars: where(func(w *apitest.World) map[string]any {
				return map[string]any{"projectID": w.ID("pA"), "status": "HELD"}
			}),
			seek: []string{"project_id", "status"}},
		{name: "units of a project by status, paged (manager)", actor: "MA", query: qUnitsPage, paged: true,
			vars: where(func(w *apitest.World) map[string]any { return map[string]any{"projectID": w.ID("pA")} },
				map[string]any{"field": "STATUS"}),
			seek: []string{"project_id"}},
		{name: "an agent's held units (manager)", actor: "MA", query: qAgentHolds,
			vars: func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID("A1")} },
			seek: []string{"held_by_id"}},
		{name: "customers' held units, batched (manager)", actor: "MA", query: qCustomerHds,
			vars: func(w *apitest.World, _ string) map[string]any { return map[string]any{"p": w.ID("pA")} },
			seek: []string{"held_for_id"}},
		// An admin sees every project's units: nothing but the holder's
		// key narrows the read.
		{name: "an agent's held units (admin)", actor: "admin", query: qAgentHolds,
			vars: func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID("A1")} },
			seek: []string{"held_by_id"}},
		{name: "customers' held units, batched (admin)", actor: "admin", query: qCustomerHds,
			vars: func(w *apitest.World, _ string) map[string]any { return map[string]any{"p": w.ID("pA")} },
			seek: []string{"held_for_id"}},
	}
}

// unitsRead is a node that reads rows of units: a scan through an index
// (its Index Cond), a bitmap heap scan (its Recheck Cond, the conditions
// of every index it combines), or a sequential scan.
var unitsRead = regexp.MustCompile(`(?:(?:Index|Index Only) Scan(?: Backward)? using \w+|Bitmap Heap Scan|Seq Scan) on units\b`)

// halvesInOrder reports whether plan reads a page of available units as
// rule.AvailableInOrder's two halves (subqueries a and h), each a Limit
// over reads in order: no Sort (not even an Incremental one) inside a half,
// where it would sort every unit the conditions match. Above the halves the
// page may be merged (Merge Append) or sorted (at most two pages, after a
// join).
func halvesInOrder(plan string) bool {
	lines := strings.Split(plan, "\n")
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ->")) }
	halves := 0
	for i, l := range lines {
		if !strings.Contains(l, "Subquery Scan on a ") && !strings.Contains(l, "Subquery Scan on h ") {
			continue
		}
		if i+1 >= len(lines) || !strings.Contains(lines[i+1], "Limit") {
			return false
		}
		halves++
		for _, c := range lines[i+1:] {
			if strings.TrimSpace(c) != "" && indent(c) <= indent(l) {
				break
			}
			if strings.Contains(c, "Sort  (cost") {
				return false
			}
		}
	}
	return halves == 2
}

// unitsSeeks returns, for every node of plan that reads rows of units, the
// node and the condition it seeks on (empty for a sequential scan).
func unitsSeeks(plan string) []string {
	var conds []string
	lines := strings.Split(runnable(plan), "\n")
	for i, l := range lines {
		m := unitsRead.FindString(l)
		if m == "" {
			continue
		}
		var cond string
		for _, c := range lines[i+1:] {
			if strings.Contains(c, "->") {
				break
			}
			for _, k := range []string{"Index Cond:", "Recheck Cond:"} {
				if _, after, ok := strings.Cut(c, k); ok {
					cond = after
				}
			}
		}
		conds = append(conds, m+": "+cond)
	}
	return conds
}

// TestAsReadUnitsUseIndexes: a unit query reads units as they read at the
// request's clock (rule.UnitsAsRead: a lapsed hold is AVAILABLE and held by
// nobody), and its conditions on status and on the holder must still seek
// the indexes on those columns: a listing of a project's available units
// in a price range, its held units, its units ordered by status (both
// pages), a user's and customers' held units (entgql's batched IN). The
// demo project A is grown to 2,000 units more (a scale project's, with
// holds live and lapsed) among -asread-scale such projects; every SELECT
// of units the request runs is EXPLAINed with sequential scans off, and
// each node reading units must seek an index on the columns the request
// filters on (its Index Cond, or a bitmap scan's Recheck Cond, names them) (a CASE on the lapse would leave them to a Filter,
// after reading the whole project, or all of units).
func TestAsReadUnitsUseIndexes(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("EXPLAIN of PostgreSQL's plans; set TEST_DATABASE_URL")
	}
	env := apitest.New(t)
	w := env.World(t)
	ctx := context.Background()
	db := env.DB.SQL
	if err := loadAsReadUnits(ctx, db, w, *asReadScale); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, r := range asReadRequests() {
		t.Run(r.name, func(t *testing.T) {
			cursor := ""
			for page := 0; page < 2; page++ {
				env.Counter.Reset()
				env.Counter.Record()
				res := w.Caller(t, r.actor).Query(t, r.query, r.vars(w, cursor))
				if len(res.Errors) > 0 {
					t.Fatalf("%s", res.Body)
				}
				explained := 0
				for _, s := range env.Counter.Recorded() {
					q := strings.TrimSpace(s.Query)
					if !strings.HasPrefix(q, "SELECT") || !strings.Contains(q, `FROM "units"`) {
						continue
					}
					explained++
					if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
						t.Fatal(err)
					}
					plan, err := explain(ctx, conn, q, s.Args)
					if err != nil {
						t.Fatalf("EXPLAIN %s: %v", q, err)
					}
					if _, err := conn.ExecContext(ctx, `RESET enable_seqscan`); err != nil {
						t.Fatal(err)
					}
					if r.inOrder && !halvesInOrder(plan) {
						t.Errorf("%s: not two halves that each stop at the page's limit, or a sort of every matching unit:\n%s\n%s", r.name, q, plan)
					}
					seeks := unitsSeeks(plan)
					if len(seeks) == 0 {
						t.Errorf("%s reads units with no index:\n%s\n%s", r.name, q, plan)
					}
					for _, c := range seeks {
						for _, col := range r.seek {
							if !regexp.MustCompile(`\b` + col + `\b`).MatchString(c) {
								t.Errorf("%s: the read of units seeks no %s (%s):\n%s\n%s", r.name, col, c, q, plan)
							}
						}
					}
					if testing.Verbose() {
						analyzed, err := explain(ctx, conn, q, s.Args, "ANALYZE")
						if err != nil {
							t.Fatalf("EXPLAIN ANALYZE %s: %v", q, err)
						}
						t.Logf("page %d: %s\n%s", page+1, q, analyzed)
					}
				}
				if explained == 0 {
					t.Fatalf("no SELECT of units recorded: %s", res.Body)
				}
				if !r.paged {
					break
				}
				var data struct {
					Units struct{ PageInfo struct{ EndCursor string } }
				}
				if err := json.Unmarshal(res.Data, &data); err != nil || data.Units.PageInfo.EndCursor == "" {
					t.Fatalf("no end cursor: %v %s", err, res.Data)
				}
				cursor = data.Units.PageInfo.EndCursor
			}
		})
	}
}

// loadAsReadUnits adds scale projects of 2,000 units (addScale's, without
// customers or visits), moves the first one's buildings and units into the
// demo project A, and holds some: in A one unit in a hundred by A1 for cA1,
// elsewhere one in fifty by B1 for cPool, every other hold of each lapsed
// at the world's clock (until an hour before it, or after it); one unit in
// five is reserved.
func loadAsReadUnits(ctx context.Context, db *sql.DB, w *apitest.World, scale int) error {
	g, err := newGenerator(ctx, db, scale, "")
	if err != nil {
		return err
	}
	st := &scaleStats{rows: map[string]int64{}}
	restore, err := dropForLoad(ctx, db, "units")
	if err != nil {
		return err
	}
	if err := g.loadProjects(ctx, db, st); err != nil {
		return err
	}
	if err := g.loadUnits(ctx, db, st); err != nil {
		return err
	}
	if err := recreate(ctx, db, restore); err != nil {
		return err
	}
	first := g.projects[len(g.projects)-scale].id
	pA := string(w.ID("pA"))
	past, future := w.Now.Add(-3600e9), w.Now.Add(3600e9)
	for _, s := range []struct {
		q    string
		args []any
	}{
		{`UPDATE buildings SET project_id = $1, name = name || '·规模' WHERE project_id = $2`, []any{pA, first}},
		{`UPDATE units SET project_id = $1 WHERE project_id = $2`, []any{pA, first}},
		// Hundreds of holds of one agent, for the planner's statistics: a
		// shape no workflow makes, which the cap's trigger would refuse.
		{`ALTER TABLE units DISABLE TRIGGER units_hold_cap`, nil},
		{`WITH n AS (SELECT id, row_number() OVER (ORDER BY id) AS i FROM units WHERE id LIKE 'UN%')
			UPDATE units u SET status = CASE WHEN n.i % 5 = 0 THEN 'RESERVED' ELSE 'HELD' END,
				held_by_id = CASE WHEN n.i % 5 = 0 THEN NULL WHEN u.project_id = $1 THEN $2 ELSE $3 END,
				held_for_id = CASE WHEN n.i % 5 = 0 THEN NULL WHEN u.project_id = $1 THEN $4 ELSE $5 END,
				hold_expires_at = CASE WHEN n.i % 5 = 0 THEN NULL WHEN (n.i / CASE WHEN u.project_id = $1 THEN 100 ELSE 50 END) % 2 = 0 THEN $6::timestamptz ELSE $7::timestamptz END
			FROM n WHERE u.id = n.id AND (n.i % 5 = 0 OR n.i % (CASE WHEN u.project_id = $1 THEN 100 ELSE 50 END) = 1)`,
			[]any{pA, w.ID("A1"), w.ID("B1"), w.ID("cA1"), w.ID("cPool"), past, future}},
		{`ALTER TABLE units ENABLE TRIGGER units_hold_cap`, nil},
		{`ANALYZE`, nil},
	} {
		if _, err := db.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.q, err)
		}
	}
	return nil
}
