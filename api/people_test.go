package api_test

// The person behind customer records (issue 13, parts 3 and 4): phones
// masked for managers with an audited reveal, duplicate candidates, merge,
// export and erasure.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/audit"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/user"
	"estatecrm/phone"
)

// A manager and an admin see every phone masked, on every path, except
// through revealPhone, which is audited with its reason; the owning agent
// and the homeowner themself see theirs in full, and no read is audited.
func TestPeoplePhonesMaskedAndRevealed(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	full, masked := apitest.WorldPhones["cA1"], phone.Mask(apitest.WorldPhones["cA1"])
	reads := map[string]string{
		"list":  `{ customers(first: 20, where: {phoneLast4: "0001"}) { edges { node { phone } } } }`,
		"node":  `query($id: ID!) { node(id: $id) { ... on Customer { phone } } }`,
		"edge":  `{ visits(first: 20) { edges { node { customer { phone } } } } }`,
		"held":  `{ units(first: 20, where: {status: HELD}) { edges { node { heldFor { phone } } } } }`,
		"deals": `{ deals(first: 20) { edges { node { customer { phone } } } } }`,
	}
	for _, actor := range []string{"MA", "admin", "A1"} {
		want := masked
		if actor == "A1" {
			want = full
		}
		for name, q := range reads {
			res := w.Caller(t, actor).Query(t, q, map[string]any{"id": w.ID("cA1")})
			if len(res.Errors) > 0 {
				t.Fatalf("%s %s: %s", actor, name, res.Body)
			}
			body := string(res.Data)
			if strings.Contains(body, full) != (want == full) || !strings.Contains(body, want) {
				t.Errorf("%s reads cA1's phone by %s as %s, want %s", actor, name, body, want)
			}
		}
	}
	if n := env.Client.AuditEvent.Query().Where(auditevent.ActionHasPrefix("customer.phone")).CountX(sys); n != 0 {
		t.Fatalf("%d phone audit events from reads that showed no phone to a manager", n)
	}

	const reveal = `mutation($id: ID!, $r: String!) { revealPhone(input: {customerId: $id, reason: $r}) { phone customer { phone } } }`
	var out struct {
		RevealPhone struct {
			Phone    string
			Customer struct{ Phone string }
		}
	}
	w.Caller(t, "MA").Query(t, reveal, map[string]any{"id": w.ID("cA1"), "r": "  calling back about the deposit "}).Decode(t, &out)
	if out.RevealPhone.Phone != full || out.RevealPhone.Customer.Phone != masked {
		t.Fatalf("revealPhone = %+v", out.RevealPhone)
	}
	ev := env.Client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerPhoneReveal)).OnlyX(sys)
	if ev.ObjectID != string(w.ID("cA1")) || *ev.ActorID != w.ID("MA") || *ev.ProjectID != w.ID("pA") || ev.Detail != "calling back about the deposit" {
		t.Fatalf("reveal audited as %+v", ev)
	}
	// The project's managers see the reveal; another project's do not.
	for actor, want := range map[string]int{"MA": 1, "MB": 0} {
		var got struct{ AuditEvents struct{ TotalCount int } }
		w.Caller(t, actor).Query(t, `{ auditEvents(first: 1, where: {action: "customer.phone.reveal"}) { totalCount } }`, nil).Decode(t, &got)
		if got.AuditEvents.TotalCount != want {
			t.Errorf("%s sees %d reveals, want %d", actor, got.AuditEvents.TotalCount, want)
		}
	}
	// Refusals change nothing.
	for _, tc := range []struct{ actor, id, reason, code, field string }{
		{"MA", "cA1", "   ", "BAD_USER_INPUT", "input.reason"},
		{"MA", "pA", "why", "BAD_USER_INPUT", "input.customerId"},
		{"MB", "cA1", "why", "NOT_FOUND", ""},
		{"A1", "cA1", "why", "FORBIDDEN", ""},
		{"H1", "cH1", "why", "FORBIDDEN", ""},
	} {
		e := w.Caller(t, tc.actor).Query(t, reveal, map[string]any{"id": w.ID(tc.id), "r": tc.reason}).OnlyError(t)
		if e.Code() != tc.code || e.Field() != tc.field {
			t.Errorf("%s reveals %s (%q): %s %s %q", tc.actor, tc.id, tc.reason, e.Code(), e.Field(), e.Message)
		}
	}
	if n := env.Client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerPhoneReveal)).CountX(sys); n != 1 {
		t.Fatalf("%d reveals recorded, want 1", n)
	}
}

// peopleCustomer creates a customer of project p owned by owner.
func peopleCustomer(t *testing.T, env *apitest.Env, p *ent.Project, owner *ent.User, name, ph, notes string) *ent.Customer {
	t.Helper()
	return env.Client.Customer.Create().SetProjectID(p.ID).SetName(name).SetPhone(ph).SetNotes(notes).
		SetSource(customer.SourceWALK_IN).SetOwnerID(owner.ID).SetProtectedUntil(time.Now().Add(24 * time.Hour)).
		SaveX(apitest.System())
}

// duplicateCandidates finds the same phone across projects, the same name
// with phones sharing their last 8 digits or one digit apart, and the same
// resident ID in notes; a manager only among their projects' customers.
func TestPeopleDuplicateCandidates(t *testing.T) {
	env := apitest.New(t)
	pA := env.Project(t, "pA", 1, 1, 1)
	pB := env.Project(t, "pB", 1, 1, 1)
	a, _ := env.User(t, user.RoleAGENT, "agent.a", pA)
	b, _ := env.User(t, user.RoleAGENT, "agent.b", pB)
	_, ma := env.User(t, user.RoleMANAGER, "manager.a", pA)
	_, mab := env.User(t, user.RoleMANAGER, "manager.ab", pA, pB)
	_, mb := env.User(t, user.RoleMANAGER, "manager.b", pB)
	_, av := env.User(t, user.RoleAGENT, "agent.v", pA)
	names := map[string]string{}
	add := func(label string, p *ent.Project, owner *ent.User, name, ph, notes string) {
		c := peopleCustomer(t, env, p, owner, name, ph, notes)
		names[string(c.ID)] = label
	}
	add("wangA", pA, a, "王伟", "13800000001", "")
	add("wangB", pB, b, "王伟", "13800000001", "")  // same phone, project B
	add("li1", pA, a, "李娜", "13900001234", "")    // one digit apart…
	add("li2", pA, a, "李娜", "13900001235", "")    // …from li1
	add("zhao1", pA, a, "赵强", "13712345678", "")  // the same last 8…
	add("zhao2", pA, a, "赵强", "15912345678", "")  // …as zhao1
	add("zhang1", pA, a, "张三", "13800000009", "") // same name, phones unlike
	add("zhang2", pA, a, "张三", "13600000000", "") //
	add("id1", pA, a, "陈静", "13500000001", "身份证 33010219900101123X 已核实")
	add("id2", pA, a, "陈晶", "13500000777", "证件号33010219900101123x")
	add("id3", pA, a, "刘洋", "13500000888", "卡号 1233010219900101123X9") // inside a longer number: no ID
	add("idB", pB, b, "陈静", "13600000222", "330102199001011238")

	const q = `query($p: ID) { duplicateCandidates(projectId: $p, first: 50) { reason customers { id phone } } }`
	render := func(v *auth.Viewer, project *ent.Project) string {
		vars := map[string]any{}
		if project != nil {
			vars["p"] = project.ID
		}
		if v == nil {
			v = apitest.Admin
		}
		c := env.As(t, v)
		var out struct {
			DuplicateCandidates []struct {
				Reason    string
				Customers []struct{ ID, Phone string }
			}
		}
		res := c.Query(t, q, vars)
		if len(res.Errors) > 0 {
			t.Fatalf("%s\n%s", res.Body, env.Log.String())
		}
		res.Decode(t, &out)
		var groups []string
		for _, g := range out.DuplicateCandidates {
			var ls []string
			for _, c := range g.Customers {
				if strings.Contains(c.Phone, "0000") && len(c.Phone) > 11 {
					t.Errorf("a full phone in candidates: %s", c.Phone)
				}
				ls = append(ls, names[c.ID])
			}
			groups = append(groups, g.Reason+":"+strings.Join(ls, ","))
		}
		sort.Strings(groups)
		return strings.Join(groups, " ")
	}
	inA := "SAME_NAME_ONE_DIGIT_APART:li1,li2 SAME_NAME_SAME_LAST8:zhao1,zhao2 SAME_RESIDENT_ID:id1,id2"
	for _, tc := range []struct {
		name    string
		v       *auth.Viewer
		project *ent.Project
		want    string
	}{
		{"admin", nil, nil, "SAME_NAME_ONE_DIGIT_APART:li1,li2 SAME_NAME_SAME_LAST8:zhao1,zhao2 SAME_PHONE:wangA,wangB SAME_RESIDENT_ID:id1,id2"},
		{"manager of A", ma, nil, inA},
		{"manager of A and B", mab, nil, "SAME_NAME_ONE_DIGIT_APART:li1,li2 SAME_NAME_SAME_LAST8:zhao1,zhao2 SAME_PHONE:wangA,wangB SAME_RESIDENT_ID:id1,id2"},
		{"manager of B", mb, nil, ""},
		{"manager of A and B, project B", mab, pB, "SAME_PHONE:wangA,wangB"},
		{"manager of B asking for A", mb, pA, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(tc.v, tc.project); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if e := env.As(t, av).Query(t, q, nil).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Errorf("an agent asks for duplicates: %s", e.Code())
	}
}

// tableCounts counts the rows of every table, as the system.
func tableCounts(t *testing.T, env *apitest.Env) string {
	t.Helper()
	tables := peopleTables(t, env)
	var out []string
	for tbl := range tables {
		var n int
		if err := env.DB.SQL.QueryRow("SELECT COUNT(*) FROM " + tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", tbl, n))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// peopleTables lists every table with its text and JSON columns, from the
// database's own catalogue.
func peopleTables(t *testing.T, env *apitest.Env) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	if env.DB.Dialect == "postgres" {
		rows, err := env.DB.SQL.Query(`SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
		  JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		  WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var tbl, col, typ string
			if err := rows.Scan(&tbl, &col, &typ); err != nil {
				t.Fatal(err)
			}
			if _, ok := out[tbl]; !ok {
				out[tbl] = nil
			}
			switch typ {
			case "text", "character varying", "character", "json", "jsonb":
				out[tbl] = append(out[tbl], col)
			}
		}
		return out
	}
	rows, err := env.DB.SQL.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, tbl := range tables {
		out[tbl] = nil
		cols, err := env.DB.SQL.Query(`SELECT name, type FROM pragma_table_info(?)`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var col, typ string
			if err := cols.Scan(&col, &typ); err != nil {
				t.Fatal(err)
			}
			typ = strings.ToLower(typ)
			// SQLite: text, varchar(n), json, or no declared type at all.
			if typ == "" || strings.Contains(typ, "char") || strings.Contains(typ, "text") || strings.Contains(typ, "json") || strings.Contains(typ, "clob") {
				out[tbl] = append(out[tbl], col)
			}
		}
		cols.Close()
	}
	return out
}

// peopleFind returns "table.column" of every text or JSON column of every
// table that holds one of values.
func peopleFind(t *testing.T, env *apitest.Env, values ...string) []string {
	t.Helper()
	var found []string
	for tbl, cols := range peopleTables(t, env) {
		for _, col := range cols {
			for _, v := range values {
				var n int
				q := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE CAST(%s AS TEXT) LIKE '%%' || $1 || '%%'`, tbl, col)
				if env.DB.Dialect != "postgres" {
					q = strings.Replace(q, "$1", "?", 1)
				}
				if err := env.DB.SQL.QueryRow(q, v).Scan(&n); err != nil {
					t.Fatalf("%s.%s: %v", tbl, col, err)
				}
				if n > 0 {
					found = append(found, fmt.Sprintf("%s.%s has %q", tbl, col, v))
				}
			}
		}
	}
	sort.Strings(found)
	return found
}

// exportOf decodes an export document.
func exportOf(t *testing.T, doc string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	return m
}
