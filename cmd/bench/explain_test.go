package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
)

// hotRequest is a request a phone or a portal sends often, as the actor
// who sends it.
type hotRequest struct {
	name, actor, query string
	vars               func(w *apitest.World) map[string]any
}

// indexOnly are the requests that read a range of customers or visits
// from an index alone, never their rows (see heapReads), by the range's
// leading column: the dashboards count all of a project's customers and
// visits; an agent's read of visits lists every customer the agent owns
// (the visits of their own customers are theirs to see), which is
// thousands of customers at scale (a phone lookup's visits, folded under
// each customer's row, compare that row's owner instead:
// rule.VisitsOfCustomerRow; should a lookup list them again, it must be
// from the index).
var indexOnly = map[string]string{
	"salesFunnel (manager)": "project_id", "agentBoard (manager)": "project_id", "customerValue (manager)": "project_id",
	"customer by phone suffix, last 5 visits": "owner_id", "a customer's visits": "owner_id",
}

// Customers' and visits' filters that phones use: an agent's list by stage,
// grade, source, lapsing protection and follow-up date; a manager's by
// owner, stage, grade, source and new leads; visits by customer, by project
// and day, by agent.
const (
	qCustomers = `query($where: CustomerWhereInput, $order: [CustomerOrder!]) { customers(first: 20, where: $where, orderBy: $order) { edges { node { id name phone stage grade nextFollowUpAt } } pageInfo { hasNextPage endCursor } } }`
	qVisits    = `query($where: VisitWhereInput) { visits(first: 20, where: $where, orderBy: [{field: OCCURRED_AT, direction: DESC}]) { edges { node { id kind occurredAt notes } } } }`
	qUnits     = `query($where: UnitWhereInput, $order: [UnitOrder!]) { units(first: 20, where: $where, orderBy: $order) { edges { node { id number floor status listPrice } } } }`
	qFollowUps = `{ myFollowUps { date due { id name nextFollowUpAt } overdue { id name nextFollowUpAt } } }`
	qCustomer  = `query($id: ID!) { node(id: $id) { ... on Customer { id name stage visits(first: 20, orderBy: [{field: OCCURRED_AT, direction: DESC}]) { edges { node { kind occurredAt } } } deals(first: 5) { edges { node { stage } } } } } }`
	qQueue     = `query($p: ID) { complaintQueue(projectId: $p, first: 20) { edges { node { id title status } } } }`
)

func hotRequests(now time.Time) []hotRequest {
	id := func(label string) func(w *apitest.World) map[string]any {
		return func(w *apitest.World) map[string]any { return map[string]any{"id": w.ID(label)} }
	}
	where := func(f func(w *apitest.World) map[string]any, order ...map[string]any) func(w *apitest.World) map[string]any {
		return func(w *apitest.World) map[string]any {
			v := map[string]any{"where": f(w)}
			if len(order) > 0 {
				v["order"] = order
			}
			return v
		}
	}
	fixed := func(m map[string]any) func(*apitest.World) map[string]any {
		return func(*apitest.World) map[string]any { return m }
	}
	listing := func(w *apitest.World) map[string]any {
		return map[string]any{"p": w.ID("pA"), "min": "100000.00", "max": "100000000.00"}
	}
	day := now.Add(-24 * time.Hour).Format(time.RFC3339)
	week := now.Add(7 * 24 * time.Hour).Format(time.RFC3339)
	byFollowUp := map[string]any{"field": "NEXT_FOLLOW_UP_AT"}
	today := now.In(time.FixedZone("Asia/Shanghai", 8*60*60))
	month := map[string]any{"from": today.AddDate(0, 0, -29).Format(time.DateOnly), "to": today.Format(time.DateOnly)}
	return []hotRequest{
		{"listings (agent)", "A1", qListings, listing},
		{"listings (portal)", "portal", qListings, listing},
		{"listings by layout (portal)", "portal", qUnits, where(func(w *apitest.World) map[string]any {
			return map[string]any{"projectID": w.ID("pA"), "status": "AVAILABLE", "bedroomsGTE": 2, "grossAreaLTE": 150}
		}, map[string]any{"field": "LIST_PRICE"})},
		{"customer by phone suffix, last 5 visits", "A1", qPhone, fixed(map[string]any{"d": "0001"})},
		{"customer by phone suffix (manager)", "MA", qPhone, fixed(map[string]any{"d": "0001"})},
		{"sales grid", "A1", qGrid, func(w *apitest.World) map[string]any { return map[string]any{"p": w.ID("pA")} }},
		{"units of a building and floor (manager)", "MA", qUnits, where(func(w *apitest.World) map[string]any {
			return map[string]any{"buildingID": w.ID("bA"), "floorGTE": 1}
		})},
		{"agent's customers by follow-up", "A1", qCustomers, where(fixed(map[string]any{}), byFollowUp)},
		{"agent's customers by stage and grade", "A1", qCustomers, where(fixed(map[string]any{"stageIn": []string{"VISITED", "NEGOTIATING"}, "grade": "A"}))},
		{"agent's customers lapsing this week", "A1", qCustomers, where(fixed(map[string]any{"protectedUntilLT": week, "protectedUntilGT": day}))},
		{"agent's customers by name", "A1", qCustomers, where(fixed(map[string]any{"nameHasPrefix": "王"}))},
		{"manager's customers of a project by stage", "MA", qCustomers, where(func(w *apitest.World) map[string]any {
			return map[string]any{"projectID": w.ID("pA"), "stage": "NEGOTIATING"}
		})},
		{"manager's customers of an agent", "MA", qCustomers, where(func(w *apitest.World) map[string]any {
			return map[string]any{"ownerID": w.ID("A1")}
		}, byFollowUp)},
		{"manager's new leads", "MA", qCustomers, where(fixed(map[string]any{"createdAtGTE": day, "source": "WALK_IN"}))},
		{"myFollowUps", "A1", qFollowUps, fixed(nil)},
		{"a customer with their visits and deals", "A1", qCustomer, id("cA1")},
		{"a customer's visits", "A1", qVisits, where(func(w *apitest.World) map[string]any {
			return map[string]any{"customerID": w.ID("cA1")}
		})},
		{"agent's own visits", "A1", qVisits, where(fixed(map[string]any{"occurredAtGTE": day}))},
		{"manager's visits of a project today", "MA", qVisits, where(func(w *apitest.World) map[string]any {
			return map[string]any{"projectID": w.ID("pA"), "occurredAtGTE": day}
		})},
		{"manager's visits of an agent", "MA", qVisits, where(func(w *apitest.World) map[string]any {
			return map[string]any{"agentID": w.ID("A1")}
		})},
		{"complaints queue (manager)", "MA", qQueue, fixed(map[string]any{})},
		// The dashboards over a project-month, as the bench asks them
		// (dash_sales.go, dash_service.go): a manager opens them daily.
		{"salesFunnel (manager)", "MA", qDashFunnel, fixed(month)},
		{"channelMix (manager)", "MA", qDashChannels, fixed(month)},
		{"agentBoard (manager)", "MA", qDashAgents, fixed(month)},
		{"customerValue (manager)", "MA", qDashValue, fixed(month)},
		{"serviceBoard (manager)", "MA", qServiceBoard, fixed(map[string]any{"p": month})},
		{"satisfaction (manager)", "MA", qSatisfaction, fixed(map[string]any{"p": month})},
	}
}

// Plan nodes that read a table or an index.
var (
	seqScan   = regexp.MustCompile(`Seq Scan on (\w+)`)
	indexScan = regexp.MustCompile(`(?:Index|Index Only|Bitmap Index) Scan(?: Backward)? (?:using|on) (\w+)`)
)

// watched are the tables that grow with the business (the issue names the
// first three; complaints grow with the homes delivered).
var watched = map[string]bool{"customers": true, "units": true, "visits": true, "complaints": true}

// btree is an index: its table and leading column.
type btree struct{ table, lead string }

// indexesOf returns the indexes of the public schema by name.
func indexesOf(ctx context.Context, conn *sql.Conn) (map[string]btree, error) {
	rows, err := conn.QueryContext(ctx, `SELECT c.relname, t.relname, a.attname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE t.relnamespace = 'public'::regnamespace`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]btree{}
	for rows.Next() {
		var name string
		var b btree
		if err := rows.Scan(&name, &b.table, &b.lead); err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, rows.Err()
}

// fullScans lists the nodes of a plan that read all of a watched table: a
// sequential scan, or an index read without a condition on its leading
// column (a walk of the whole index, which is what the planner falls back
// to when sequential scans are off and no index serves the filter).
func fullScans(plan string, idx map[string]btree) []string {
	var bad []string
	lines := strings.Split(runnable(plan), "\n")
	for i, l := range lines {
		if m := seqScan.FindStringSubmatch(l); m != nil && watched[m[1]] {
			bad = append(bad, "Seq Scan on "+m[1])
		}
		m := indexScan.FindStringSubmatch(l)
		if m == nil || !watched[idx[m[1]].table] {
			continue
		}
		// The node's conditions are the lines below it up to the next node.
		var cond string
		for _, c := range lines[i+1:] {
			if strings.Contains(c, "->") {
				break
			}
			if _, after, ok := strings.Cut(c, "Index Cond:"); ok {
				cond = after
			}
		}
		lead := regexp.MustCompile(`\b` + regexp.QuoteMeta(idx[m[1]].lead) + `\b`)
		if !lead.MatchString(cond) {
			bad = append(bad, "all of index "+m[1]+" on "+idx[m[1]].table)
		}
	}
	return bad
}

// heapReads lists the nodes of a plan that read the rows of customers or
// visits by a range of an index led by lead (project_id: a project's
// customers, a project's visits of a period; owner_id: an agent's
// customers): thousands of them at scale, one heap page each, unless the
// index covers what they read (an Index Only Scan). Reads by id or by
// customer (a few rows each) are not these.
func heapReads(plan string, idx map[string]btree, lead string) []string {
	var bad []string
	heap := regexp.MustCompile(`(Bitmap Heap Scan on|Index Scan(?: Backward)? using (\w+) on) (customers|visits)\b`)
	bitmap := regexp.MustCompile(`Bitmap Index Scan on (\w+)`)
	lines := strings.Split(plan, "\n")
	for i, l := range lines {
		m := heap.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name := m[2]
		if name == "" { // a bitmap heap scan: the index is the next bitmap index scan
			for _, c := range lines[i+1:] {
				if b := bitmap.FindStringSubmatch(c); b != nil {
					name = b[1]
					break
				}
			}
		}
		if idx[name].lead == lead {
			bad = append(bad, strings.TrimSpace(strings.TrimLeft(strings.SplitN(l, "(cost", 2)[0], " ->")))
		}
	}
	return bad
}

// TestHotFiltersUseIndexes sends the requests phones and portals send most,
// with the filters they use, records the SQL the API runs for each, and
// EXPLAINs every statement with sequential scans off: a plan that still
// reads all of customers, units or visits (a sequential scan, or an index
// walked without a condition) has no index that serves its filter. The
// World fixture is grown by -scale 1 (10,000 customers, ~100,000 visits)
// so that the statistics are those of a real table. The dashboards that
// count all of a project's customers or visits, and an agent's read of
// visits that lists their customers, must do it from a covering index
// (indexOnly).
func TestHotFiltersUseIndexes(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("EXPLAIN of PostgreSQL's plans; set TEST_DATABASE_URL")
	}
	env := apitest.New(t)
	w := env.World(t)
	ctx := context.Background()
	if _, err := addScale(ctx, env.DB.SQL, 1, "", true); err != nil {
		t.Fatal(err)
	}
	conn, err := env.DB.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	idx, err := indexesOf(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	set := func(s string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range hotRequests(w.Now) {
		t.Run(r.name, func(t *testing.T) {
			env.Counter.Reset()
			env.Counter.Record()
			res := w.Caller(t, r.actor).Query(t, r.query, r.vars(w))
			if len(res.Errors) > 0 {
				t.Fatalf("%s", res.Body)
			}
			explained := 0
			for _, s := range env.Counter.Recorded() {
				q := strings.TrimSpace(s.Query)
				if !strings.HasPrefix(q, "SELECT") && !strings.HasPrefix(q, "WITH") {
					continue
				}
				explained++
				set(`SET enable_seqscan = off`)
				plan, err := explain(ctx, conn, q, s.Args)
				if err != nil {
					t.Fatalf("EXPLAIN %s: %v", q, err)
				}
				if lead := indexOnly[r.name]; lead != "" {
					// With sequential scans off only, as the plan would be.
					if heap := heapReads(plan, idx, lead); len(heap) > 0 {
						t.Errorf("%s reads the rows of %s by %s, not a covering index:\n%s\n%s", r.name, strings.Join(heap, ", "), lead, q, plan)
					}
				}
				bad := fullScans(plan, idx)
				if len(bad) > 0 {
					// A walk of the primary key in order, stopped by LIMIT,
					// is the planner's choice when it expects the matches
					// early; with plain index scans off too it must show an
					// index that serves the filter, or read the table.
					set(`SET enable_indexscan = off`)
					set(`SET enable_indexonlyscan = off`)
					second, err := explain(ctx, conn, q, s.Args)
					set(`RESET enable_indexscan`)
					set(`RESET enable_indexonlyscan`)
					if err != nil {
						t.Fatalf("EXPLAIN %s: %v", q, err)
					}
					if again := fullScans(second, idx); len(again) > 0 {
						t.Errorf("%s reads %s:\n%s\n%s", r.name, strings.Join(again, ", "), q, second)
					}
					plan += "with index scans off too:\n" + second
				}
				if testing.Verbose() {
					t.Logf("%s\n%s", q, plan)
				}
			}
			if explained == 0 {
				t.Fatal("no SELECT recorded: the recorder missed the request's statements")
			}
		})
	}
}

// runnable drops from a plan the nodes that never run: a node whose
// One-Time Filter compares NULL (never true), with its children. A branch
// of rule.UnitsAsRead's union that sets the holder to NULL, under a filter
// on the holder, is one: a custom plan leaves it out, a generic plan (made
// without the values) keeps it behind that filter.
func runnable(plan string) string {
	lines := strings.Split(plan, "\n")
	indent := func(l string) int {
		if i := strings.Index(l, "->"); i >= 0 {
			return i
		}
		return len(l) - len(strings.TrimLeft(l, " "))
	}
	drop := make([]bool, len(lines))
	for i, l := range lines {
		if !strings.Contains(l, "One-Time Filter: (NULL::") {
			continue
		}
		node := i
		for node > 0 && !strings.Contains(lines[node], "->") {
			node--
		}
		for k := node; k < len(lines) && (k <= i || indent(lines[k]) > indent(lines[node])); k++ {
			drop[k] = true
		}
	}
	var kept []string
	for i, l := range lines {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// explain returns the plan PostgreSQL runs q with args by. The server's
// connections force generic plans (database.postgresDSN: a statement is
// planned once per connection, not on every run), so q is prepared and the
// plan of its EXECUTE shown: the generic plan, made without the values,
// which an EXPLAIN of q with its arguments would not show. options are
// EXPLAIN's (ANALYZE).
func explain(ctx context.Context, conn *sql.Conn, q string, args []any, options ...string) (string, error) {
	var mode string
	if err := conn.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
		return "", err
	}
	if mode != "force_generic_plan" {
		return "", fmt.Errorf("plan_cache_mode is %s: the test's connections are not the server's", mode)
	}
	if _, err := conn.ExecContext(ctx, "PREPARE hot AS "+q); err != nil {
		return "", err
	}
	defer conn.ExecContext(ctx, "DEALLOCATE hot")
	values := make([]string, len(args))
	for i, a := range args {
		v, err := literal(a)
		if err != nil {
			return "", err
		}
		values[i] = v
	}
	stmt := "EXPLAIN EXECUTE hot"
	if len(options) > 0 {
		stmt = "EXPLAIN (" + strings.Join(options, ", ") + ") EXECUTE hot"
	}
	if len(values) > 0 {
		stmt += "(" + strings.Join(values, ", ") + ")"
	}
	rows, err := conn.QueryContext(ctx, stmt)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		fmt.Fprintln(&b, line)
	}
	return b.String(), rows.Err()
}

// literal writes an argument of a statement as an SQL literal of unknown
// type, which EXECUTE casts to its parameter's type.
func literal(a any) (string, error) {
	if v, ok := a.(driver.Valuer); ok {
		var err error
		if a, err = v.Value(); err != nil {
			return "", err
		}
	}
	switch v := a.(type) {
	case nil:
		return "NULL", nil
	case string:
		return pq.QuoteLiteral(v), nil
	case []byte:
		return pq.QuoteLiteral(string(v)), nil
	case json.RawMessage: // a JSON document goes as text (database.pgConn)
		return pq.QuoteLiteral(string(v)), nil
	case time.Time:
		return pq.QuoteLiteral(v.Format(time.RFC3339Nano)), nil
	default:
		return pq.QuoteLiteral(fmt.Sprint(v)), nil
	}
}
