package api_test

import (
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/complaintevent"
)

// wantBadInput fails unless res is one BAD_USER_INPUT error on field.
func wantBadInput(t *testing.T, res *apitest.Response, field string) {
	t.Helper()
	e := res.OnlyError(t)
	if e.Code() != "BAD_USER_INPUT" || e.Field() != field {
		t.Fatalf("want BAD_USER_INPUT on %s, got %s", field, res.Body)
	}
	if len(res.Data) > 0 && string(res.Data) != "null" {
		t.Fatalf("a refused request returned data: %s", res.Data)
	}
}

// A NUL character is refused wherever a string goes in, by the path of its
// argument, before anything runs: PostgreSQL would refuse it mid-statement
// (INTERNAL) and SQLite would store it.
func TestNULInAnyStringIsBadInput(t *testing.T) {
	w := newComplaintWorld(t)
	env, ctx := w.env, apitest.System()
	c := w.submit(t, "H1", "uH1", "", "NORMAL", "leak")
	before := env.Client.Visit.Query().CountX(ctx) + env.Client.Customer.Query().CountX(ctx) +
		env.Client.ComplaintEvent.Query().Where(complaintevent.KindEQ(complaintevent.KindNOTE)).CountX(ctx)
	now := time.Now().UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, actor, query string
		vars               map[string]any
		field              string
	}{
		{"login", "anonymous", `mutation($l: String!) { login(input: {login: $l, password: "demo-2026"}) { accessToken } }`,
			map[string]any{"l": "A1\x00"}, "input.login"},
		{"visit notes", "A1", `mutation($c: ID!, $at: Time!, $n: String) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at, notes: $n}) { visit { id } } }`,
			map[string]any{"c": w.id("cA1"), "at": now, "n": "rang\x00back"}, "input.notes"},
		{"customer name, written in the query", "A1", `mutation($p: ID!) { registerCustomer(input: {projectId: $p, name: "王\u0000伟", phone: "13912345678", source: WALK_IN}) { customer { id } } }`,
			map[string]any{"p": w.id("pA")}, "input.name"},
		{"complaint note", "MA", cpNote, map[string]any{"id": c.ID, "note": "\x00", "internal": true}, "input.note"},
		{"where value", "MA", `query($s: String) { customers(first: 5, where: {nameContains: $s}) { totalCount } }`,
			map[string]any{"s": "c\x00"}, "where.nameContains"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.as(t, tc.actor).Query(t, tc.query, tc.vars)
			wantBadInput(t, res, tc.field)
			if e := res.Errors[0]; !strings.Contains(e.Message, "NUL") {
				t.Fatalf("the message should say what is wrong: %s", res.Body)
			}
		})
	}
	after := env.Client.Visit.Query().CountX(ctx) + env.Client.Customer.Query().CountX(ctx) +
		env.Client.ComplaintEvent.Query().Where(complaintevent.KindEQ(complaintevent.KindNOTE)).CountX(ctx)
	if after != before {
		t.Fatalf("refused requests wrote %d rows", after-before)
	}
	if strings.Contains(env.Log.String(), `"level":"ERROR"`) {
		t.Fatalf("bad input was logged as an error: %.500s", env.Log.String())
	}
}

// A name or title of nothing but white space is refused as BAD_USER_INPUT
// naming the field, whichever mutation takes it.
func TestBlankNamesAreBadInput(t *testing.T) {
	w := newComplaintWorld(t)
	for _, blank := range []string{"   ", "\u3000", "\t"} {
		for _, tc := range []struct {
			name, actor, query string
			vars               map[string]any
			field              string
		}{
			{"customer", "A1", `mutation($p: ID!, $n: String!) { registerCustomer(input: {projectId: $p, name: $n, phone: "13912345678", source: WALK_IN}) { customer { id } } }`,
				map[string]any{"p": w.id("pA")}, "name"},
			{"user", "admin", `mutation($n: String!) { createUser(input: {name: $n, login: "new.agent", password: "a-long-enough-password", role: AGENT}) { user { id } } }`,
				nil, "name"},
			{"complaint title", "H1", `mutation($u: ID!, $n: String!) { submitComplaint(input: {unitId: $u, category: LEAK, title: $n, description: "drips"}) { complaint { id } } }`,
				map[string]any{"u": w.id("uH1")}, "input.title"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				vars := map[string]any{"n": blank}
				for k, v := range tc.vars {
					vars[k] = v
				}
				wantBadInput(t, w.as(t, tc.actor).Query(t, tc.query, vars), tc.field)
			})
		}
	}
	ctx := apitest.System()
	if n := w.env.Client.Complaint.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d complaints filed with blank titles", n)
	}
}
