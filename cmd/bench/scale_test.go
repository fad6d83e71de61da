package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/aftersales"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent/schema/pulid"
	"estatecrm/seed"
)

// seeded returns a PostgreSQL database with the demo data, as the bench
// makes it before adding the scale data.
func seeded(t *testing.T) *database.DB {
	t.Helper()
	if !dbtest.OnPostgres() {
		t.Skip("the scale data is copied into PostgreSQL only (COPY); set TEST_DATABASE_URL")
	}
	db := dbtest.Open(t)
	if _, err := seed.Run(auth.SystemContext(context.Background()), database.NewClient(db.Driver), time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

// indexes lists the definitions of the indexes and constraints of the public schema.
func indexes(t *testing.T, db *database.DB) []string {
	t.Helper()
	var defs []string
	if err := column(context.Background(), db.SQL, &defs, `
SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	return defs
}

// TestScaleData loads -scale 1 as the bench does and checks the rows obey
// the model: valid ids, phones, a unit's status agreeing with its deal and
// the deal's customer, a customer's dates following from their visits; and
// that the indexes and constraints dropped for the copy came back as the
// migrations made them.
func TestScaleData(t *testing.T) {
	db := seeded(t)
	ctx := context.Background()
	before := indexes(t, db)
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.SQL.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	customers, units, visits := count(`SELECT count(*) FROM customers`), count(`SELECT count(*) FROM units`), count(`SELECT count(*) FROM visits`)
	st, err := addScale(ctx, db.SQL, 1, "", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(st)
	if got := count(`SELECT count(*) FROM customers`) - customers; got != scaleCustomers || int64(got) != st.rows["customers"] {
		t.Errorf("customers added: %d, want %d", got, scaleCustomers)
	}
	if got := count(`SELECT count(*) FROM units`) - units; got != scaleUnits {
		t.Errorf("units added: %d, want %d", got, scaleUnits)
	}
	if got := count(`SELECT count(*) FROM visits`) - visits; got < 8*scaleCustomers || got > 11*scaleCustomers {
		t.Errorf("visits added: %d, want about 10 a customer", got)
	}
	if after := indexes(t, db); !slices.Equal(before, after) {
		t.Errorf("indexes and constraints after the load differ:\nbefore %q\nafter  %q", before, after)
	}

	// Every id is a prefixed ULID of its table's type.
	for table, prefix := range map[string]string{"customers": "CU", "visits": "VS", "units": "UN", "deals": "DL", "buildings": "BD", "projects": "PJ", "users": "US",
		"complaints": "CP", "complaint_events": "CE", "surveys": "SV"} {
		var ids []string
		if err := column(ctx, db.SQL, &ids, `SELECT id FROM `+table); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if p := pulid.ID(id); !p.Valid() || p.Prefix() != prefix {
				t.Fatalf("%s: id %q is not a %s… prefixed ULID", table, id, prefix)
			}
		}
	}
	checks := []struct{ what, query string }{
		{"phones not E.164 mainland mobiles, or last4 not their last digits",
			`SELECT count(*) FROM customers WHERE phone !~ '^\+861[3-9][0-9]{9}$' OR phone_last4 <> right(phone, 4)`},
		{"units reserved or contracted without a deal of that stage, or with one of another project",
			`SELECT count(*) FROM units u WHERE u.status IN ('RESERVED', 'CONTRACTED') AND NOT EXISTS
			  (SELECT 1 FROM deals d WHERE d.unit_id = u.id AND d.stage = u.status AND d.project_id = u.project_id)`},
		{"live deals on a unit not in their stage, or of a customer in another stage or project",
			`SELECT count(*) FROM deals d JOIN units u ON u.id = d.unit_id JOIN customers c ON c.id = d.customer_id
			 WHERE d.stage <> 'CANCELLED' AND ((u.status <> d.stage AND NOT (u.status = 'DELIVERED' AND d.stage = 'CONTRACTED')) OR c.project_id <> d.project_id OR (c.stage <> d.stage AND c.stage <> 'OWNER'))`},
		{"held units without a live hold",
			`SELECT count(*) FROM units WHERE status = 'HELD' AND (hold_expires_at IS NULL OR held_by_id IS NULL OR held_for_id IS NULL)`},
		{"customers whose last contact is not their last visit",
			`SELECT count(*) FROM customers c WHERE c.last_contact_at IS DISTINCT FROM (SELECT max(occurred_at) FROM visits v WHERE v.customer_id = c.id) AND c.id LIKE 'CU%' AND c.phone ~ '^\+86(134|145|147|149|175|184|196|197)'`},
		{"scale customers whose protection is not their last contact + 30 days",
			`SELECT count(*) FROM customers WHERE phone ~ '^\+86(134|145|147|149|175|184|196|197)' AND protected_until <> coalesce(last_contact_at, created_at) + interval '30 days'`},
		{"visits of another project or agent than their customer's, or in the future",
			`SELECT count(*) FROM visits v JOIN customers c ON c.id = v.customer_id WHERE v.occurred_at > now() OR (v.project_id <> c.project_id) OR (v.agent_id <> c.owner_id AND c.phone ~ '^\+86(134|145|147|149|175|184|196|197)')`},
		{"owners who are not agents of the customer's project",
			`SELECT count(*) FROM customers c WHERE c.owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_projects up WHERE up.user_id = c.owner_id AND up.project_id = c.project_id)`},
		{"demo agents without protected scale customers in their project",
			`SELECT count(*) FROM users u WHERE u.role = 'AGENT' AND u.login LIKE 'agent.%' AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.owner_id = u.id
			   AND c.protected_until > now() AND c.phone ~ '^\+86(134|145|147|149|175|184|196|197)')`},
	}
	for _, c := range checks {
		if n := count(c.query); n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}
	if n := count(`SELECT count(*) FROM units WHERE status IN ('RESERVED', 'CONTRACTED', 'DELIVERED') AND project_id IN (SELECT project_id FROM buildings WHERE name = '20幢')`); n < scaleUnits/50 {
		t.Errorf("only %d units of the new project are sold: the deals are missing", n)
	}
	checkScaleAftersales(t, db, count)
}

// checkScaleAftersales checks the scale data's complaints, timelines and
// surveys against the desk's rules (package aftersales, rule.Issue*Survey).
func checkScaleAftersales(t *testing.T, db *database.DB, count func(string, ...any) int) {
	t.Helper()
	ctx := context.Background()
	// The SLA windows as aftersales computes them, by severity.
	var due strings.Builder
	due.WriteString("CASE severity")
	for sev, w := range aftersales.DefaultPolicy() {
		fmt.Fprintf(&due, " WHEN '%s' THEN ARRAY[%d, %d]", sev, w.Response/time.Second, w.Resolution/time.Second)
	}
	due.WriteString(" END")
	win := due.String()
	// 1/5 of a window before its deadline, as aftersales.RiskAt (to the microsecond PostgreSQL keeps).
	riskOK := func(start, dueCol, riskCol string) string {
		return fmt.Sprintf("abs(extract(epoch FROM %s - (%s - (%s - %s) / 5))) < 0.001", riskCol, dueCol, dueCol, start)
	}
	checks := []struct{ what, query string }{
		{"complaints on a unit not contracted or delivered, or not by its buyer, or of another project",
			`SELECT count(*) FROM (SELECT * FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) c JOIN units u ON u.id = c.unit_id WHERE u.status NOT IN ('CONTRACTED', 'DELIVERED') OR c.project_id <> u.project_id
			 OR NOT EXISTS (SELECT 1 FROM deals d WHERE d.unit_id = u.id AND d.stage = 'CONTRACTED' AND d.customer_id = c.customer_id AND d.contracted_at <= c.created_at)`},
		{"complaints filed by someone not staff of the project",
			`SELECT count(*) FROM (SELECT * FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) c WHERE c.filed_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_projects up WHERE up.user_id = c.filed_by_id AND up.project_id = c.project_id)`},
		{"complaints assigned to someone not staff of the project, or without a department",
			`SELECT count(*) FROM (SELECT * FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) c WHERE (c.assignee_id IS NULL) <> (c.department IS NULL) OR (c.assignee_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_projects up WHERE up.user_id = c.assignee_id AND up.project_id = c.project_id))`},
		{"deadlines not as aftersales computes them (filing, or the latest reopen, + the severity's window; risk at 80% of it)",
			`SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE response_due_at <> created_at + make_interval(secs => (` + win + `)[1])
			 OR resolution_due_at <> resolution_started_at + make_interval(secs => (` + win + `)[2])
			 OR NOT (` + riskOK("created_at", "response_due_at", "response_risk_at") + `) OR NOT (` + riskOK("resolution_started_at", "resolution_due_at", "resolution_risk_at") + `)
			 OR (reopen_count = 0 AND resolution_started_at <> created_at) OR (reopen_count > 0 AND resolution_started_at <= created_at)`},
		{"statuses that their times contradict",
			`SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE (acknowledged_at IS NULL) <> (status = 'SUBMITTED')
			 OR (resolved_at IS NOT NULL) <> (status IN ('RESOLVED', 'CLOSED')) OR (closed_at IS NOT NULL) <> (status = 'CLOSED')
			 OR acknowledged_at < created_at OR resolved_at < resolution_started_at OR closed_at < resolved_at OR updated_at > now()
			 OR (rating IS NULL) <> (rated_at IS NULL) OR (rating <= 2 AND reopen_count = 0) OR (rating > 2 AND status <> 'CLOSED')`},
		{"complaints resolved without their survey, surveyed without a resolution, or a survey not of its complaint",
			`SELECT count(*) FROM (SELECT * FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) c WHERE EXISTS (SELECT 1 FROM complaint_events e WHERE e.complaint_id = c.id AND e.kind = 'RESOLVED')
			   <> EXISTS (SELECT 1 FROM surveys s WHERE s.complaint_id = c.id AND s.kind = 'COMPLAINT_RESOLVED' AND s.customer_id = c.customer_id
			     AND s.unit_id = c.unit_id AND s.project_id = c.project_id
			     AND s.created_at = (SELECT min(e.created_at) FROM complaint_events e WHERE e.complaint_id = c.id AND e.kind = 'RESOLVED'))`},
		{"delivered units without their survey, or a delivery survey not of the unit's buyer",
			`SELECT count(*) FROM (SELECT * FROM units WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) u JOIN deals d ON d.unit_id = u.id AND d.stage = 'CONTRACTED' WHERE u.status = 'DELIVERED' AND NOT EXISTS
			   (SELECT 1 FROM surveys s WHERE s.deal_id = d.id AND s.kind = 'UNIT_DELIVERED' AND s.customer_id = d.customer_id AND s.unit_id = u.id AND s.agent_id = d.agent_id AND s.created_at = u.updated_at)`},
		{"delivered units whose buyer is not an OWNER",
			`SELECT count(*) FROM (SELECT * FROM units WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) u JOIN deals d ON d.unit_id = u.id AND d.stage = 'CONTRACTED' JOIN customers c ON c.id = d.customer_id WHERE u.status = 'DELIVERED' AND c.stage <> 'OWNER'`},
		{"surveys answered in part, before they were sent, or in the future",
			`SELECT count(*) FROM (SELECT * FROM surveys WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) surveys WHERE (answered_at IS NULL) <> (csat IS NULL) OR (answered_at IS NULL) <> (nps IS NULL) OR answered_at < created_at OR answered_at > now()`},
	}
	for _, c := range checks {
		if n := count(c.query); n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}

	// Each timeline follows the state machine from SUBMITTED to the
	// complaint's status, one move at a time, and counts its reopens.
	next := map[string][]string{"ACKNOWLEDGED": {"SUBMITTED", "ACKNOWLEDGED"}, "STARTED": {"ACKNOWLEDGED", "IN_PROGRESS"},
		"RESOLVED": {"IN_PROGRESS", "RESOLVED"}, "CLOSED": {"RESOLVED", "CLOSED"}, "REOPENED": {"RESOLVED", "IN_PROGRESS"}}
	rows, err := db.SQL.QueryContext(ctx, `SELECT c.id, c.status, c.reopen_count, e.kind, e.from_status, e.to_status
		FROM (SELECT * FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) c JOIN complaint_events e ON e.complaint_id = c.id WHERE c.id IN (SELECT id FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE filed_by_id IN
		  (SELECT id FROM users WHERE login LIKE 'scale.%')) ORDER BY c.id, e.created_at, e.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type state struct {
		status, want   string
		reopens, want2 int
	}
	walked := map[string]*state{}
	var order []string
	for rows.Next() {
		var id, status, kind, from, to string
		var reopens int
		if err := rows.Scan(&id, &status, &reopens, &kind, &from, &to); err != nil {
			t.Fatal(err)
		}
		s := walked[id]
		if s == nil {
			if kind != "SUBMITTED" || to != "SUBMITTED" {
				t.Fatalf("complaint %s: the timeline starts with %s", id, kind)
			}
			s = &state{status: "SUBMITTED", want: status, want2: reopens}
			walked[id] = s
			order = append(order, id)
			continue
		}
		move, ok := next[kind]
		switch {
		case kind == "ASSIGNED" || kind == "RATED":
			if from != "" || to != "" || s.status == "CLOSED" || (kind == "RATED" && s.status != "RESOLVED") {
				t.Fatalf("complaint %s: %s in %s, moving %q → %q", id, kind, s.status, from, to)
			}
		case !ok || from != move[0] || to != move[1] || s.status != from:
			t.Fatalf("complaint %s: %s %q → %q while %s", id, kind, from, to, s.status)
		default:
			s.status = to
			if kind == "REOPENED" {
				s.reopens++
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range order {
		if s := walked[id]; s.status != s.want || s.reopens != s.want2 {
			t.Errorf("complaint %s: the timeline ends %s after %d reopens, the complaint says %s after %d", id, s.status, s.reopens, s.want, s.want2)
		}
	}

	// Realistic: a few complaints a month, of every kind, some of each fate.
	if len(walked) < 50 {
		t.Errorf("%d complaints on the scale project: want a few %% of its sold units a month", len(walked))
	}
	for what, q := range map[string]string{
		"reopened":                     `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE reopen_count > 0`,
		"breached the response SLA":    `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE coalesce(acknowledged_at, now()) > response_due_at`,
		"breached the resolution SLA":  `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE coalesce(resolved_at, now()) > resolution_due_at`,
		"rated":                        `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE rating IS NOT NULL`,
		"closed":                       `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE status = 'CLOSED'`,
		"urgent":                       `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE severity = 'URGENT'`,
		"low":                          `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE severity = 'LOW'`,
		"routed to engineering":        `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE department = 'ENGINEERING'`,
		"routed to sales":              `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE department = 'SALES'`,
		"filed this month":             `SELECT count(*) FROM (SELECT * FROM complaints WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) complaints WHERE created_at > now() - interval '30 days'`,
		"complaint surveys answered":   `SELECT count(*) FROM (SELECT * FROM surveys WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) surveys WHERE kind = 'COMPLAINT_RESOLVED' AND answered_at IS NOT NULL`,
		"complaint surveys unanswered": `SELECT count(*) FROM (SELECT * FROM surveys WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) surveys WHERE kind = 'COMPLAINT_RESOLVED' AND answered_at IS NULL`,
		"delivery surveys answered":    `SELECT count(*) FROM (SELECT * FROM surveys WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) surveys WHERE kind = 'UNIT_DELIVERED' AND answered_at IS NOT NULL`,
		"promoters":                    `SELECT count(*) FROM (SELECT * FROM surveys WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) surveys WHERE nps >= 9`,
		"detractors":                   `SELECT count(*) FROM (SELECT * FROM surveys WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '规模·%')) surveys WHERE nps <= 6`,
	} {
		if count(q) == 0 {
			t.Errorf("no complaint or survey %s in the scale data", what)
		}
	}
}
