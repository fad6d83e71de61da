package api_test

// The authorization matrix of SPEC.md §3.4 (issue 3): every actor of
// apitest.World against every root Query and Mutation field and the
// sensitive edges, each cell stating exactly what the actor gets back: the
// objects (by their world labels), counts, phones, and error codes.
//
// A cell's answer is rendered canonically: an object as its label, with its
// other selected fields in braces (cPool{phone=138****0003}); a connection as
// #totalCount[nodes…]; lists sorted; then the error codes, as !CODE. For a
// mutation, " db=changed" or " db=unchanged" says whether the database moved.
// Expectations may list items in any order.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/account"
	"github.com/coder/websocket/wsjson"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/deal"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
	"estatecrm/graph"
	"estatecrm/phone"
)

// authzRow is one operation of the matrix: a root field (or an edge reached
// through one) and what each actor gets from it.
type authzRow struct {
	field string // the root field exercised, "Query.customers"
	name  string
	run   func(t *testing.T, w *apitest.World, actor string) string
	want  map[string]string // by actor; every actor has a cell
}

// authzAssertions counts the assertions the matrix made, for the record.
var authzAssertions atomic.Int64

func authzCheck(t *testing.T, what, got, want string) {
	t.Helper()
	authzAssertions.Add(1)
	if authzSorted(got) != authzSorted(want) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

// every gives all actors the same cell, then applies the exceptions.
func authzEvery(cell string, except map[string]string) map[string]string {
	m := map[string]string{}
	for _, a := range apitest.Actors {
		m[a] = cell
	}
	for a, c := range except {
		m[a] = c
	}
	return m
}

// authzQuery is a row that sends one query as the actor and renders the answer.
func authzQuery(field, name, query string, vars func(w *apitest.World, actor string) map[string]any, want map[string]string) authzRow {
	return authzRow{field: field, name: name, want: want, run: func(t *testing.T, w *apitest.World, actor string) string {
		var v map[string]any
		if vars != nil {
			v = vars(w, actor)
		}
		return authzRender(w, w.Caller(t, actor).Query(t, query, v))
	}}
}

// authzMutation is a row that sends a mutation as the actor and reports,
// besides the answer, whether state (read as the system) moved.
func authzMutation(field, name, query string, vars func(w *apitest.World, actor string) map[string]any,
	setup func(t *testing.T, w *apitest.World, actor string), state func(t *testing.T, w *apitest.World, actor string) string,
	want map[string]string,
) authzRow {
	return authzRow{field: field, name: name, want: want, run: func(t *testing.T, w *apitest.World, actor string) string {
		if setup != nil {
			setup(t, w, actor)
		}
		before := state(t, w, actor)
		out := authzRender(w, w.Caller(t, actor).Query(t, query, vars(w, actor)))
		if state(t, w, actor) == before {
			return out + " db=unchanged"
		}
		return out + " db=changed"
	}}
}

func authzIDVar(label string) func(w *apitest.World, _ string) map[string]any {
	return func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID(label)} }
}

// refreshedAfter is r followed by a refresh of the actor's token: a change
// of one's own role or projects ends the tokens issued before it
// (auth.Revocations), and the actor's app signs in again as the user now is.
func refreshedAfter(r authzRow) authzRow {
	run := r.run
	r.run = func(t *testing.T, w *apitest.World, actor string) string {
		out := run(t, w, actor)
		if v := w.Viewers[actor]; v != nil {
			w.Viewers[actor] = auth.ViewerOf(w.Env.Client.User.Query().Where(user.ID(v.UserID)).WithProjects().OnlyX(apitest.System()))
		}
		return out
	}
	return r
}

// authzRender renders a response canonically (see the top of the file).
func authzRender(w *apitest.World, res *apitest.Response) string {
	var parts []string
	if len(res.Data) > 0 && string(res.Data) != "null" {
		d := json.NewDecoder(strings.NewReader(string(res.Data)))
		d.UseNumber()
		var data map[string]any
		if err := d.Decode(&data); err != nil {
			return "undecodable " + string(res.Body)
		}
		if len(data) == 1 {
			for _, v := range data {
				parts = append(parts, authzRenderValue(w, v))
			}
		} else {
			parts = append(parts, authzRenderValue(w, data))
		}
	}
	var codes []string
	for _, e := range res.Errors {
		codes = append(codes, "!"+e.Code())
	}
	sort.Strings(codes)
	return strings.Join(append(parts, slices.Compact(codes)...), " ")
}

func authzRenderValue(w *apitest.World, v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		items := make([]string, len(x))
		for i, e := range x {
			items[i] = authzRenderValue(w, e)
		}
		sort.Strings(items)
		return "[" + strings.Join(items, " ") + "]"
	case map[string]any:
		edges, isConn := x["edges"]
		total, hasTotal := x["totalCount"]
		if isConn || hasTotal {
			s := ""
			if hasTotal {
				s = "#" + authzRenderValue(w, total)
			}
			if isConn {
				var nodes []any
				for _, e := range edges.([]any) {
					nodes = append(nodes, e.(map[string]any)["node"])
				}
				s += authzRenderValue(w, append([]any{}, nodes...))
			}
			return s
		}
		label := ""
		if id, ok := x["id"].(string); ok {
			label = w.Label(id)
		}
		var kv []string
		for k, e := range x {
			if k != "id" && k != "__typename" {
				kv = append(kv, k+"="+authzRenderValue(w, e))
			}
		}
		if len(kv) == 0 {
			if label == "" {
				return "{}"
			}
			return label
		}
		sort.Strings(kv)
		return label + "{" + strings.Join(kv, ",") + "}"
	}
	return fmt.Sprint(v)
}

// authzSorted canonicalises a rendering and sorts its top-level words.
func authzSorted(s string) string {
	words := strings.Fields(authzCanon(s))
	// Words split inside brackets glue back: only top-level spaces separate.
	var top []string
	depth := 0
	for _, w := range words {
		if depth > 0 {
			top[len(top)-1] += " " + w
		} else {
			top = append(top, w)
		}
		depth += strings.Count(w, "[") + strings.Count(w, "{") - strings.Count(w, "]") - strings.Count(w, "}")
	}
	sort.Strings(top)
	return strings.Join(top, " ")
}

// authzCanon sorts the items of every [...] and {...} of a rendering, so
// that expectations may list them in any order.
func authzCanon(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '[' && c != '{' {
			b.WriteByte(c)
			continue
		}
		depth, j := 0, i
		for ; j < len(s); j++ {
			switch s[j] {
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if j == len(s) { // unbalanced: leave as is, the comparison will fail
			b.WriteString(s[i:])
			break
		}
		sep := byte(' ')
		if c == '{' {
			sep = ','
		}
		var items []string
		depth, start := 0, i+1
		for k := i + 1; k < j; k++ {
			switch s[k] {
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			case sep:
				if depth == 0 {
					items = append(items, authzCanon(s[start:k]))
					start = k + 1
				}
			}
		}
		if start < j {
			items = append(items, authzCanon(s[start:j]))
		}
		sort.Strings(items)
		b.WriteByte(c)
		b.WriteString(strings.Join(items, string(sep)))
		b.WriteByte(s[j])
		i = j
	}
	return b.String()
}

// authzHookAudit are the audit events the User hooks wrote as the world
// was made: they name no project, so only admins see them.
const authzHookAudit = "au:user.create:tAdmin au:user.create:admin au:user.create:MA au:user.create:MB " +
	"au:user.create:A1 au:user.create:A2 au:user.create:B1 au:user.create:H1 au:user.create:H2 " +
	"au:user.projects.change:MA au:user.projects.change:MB au:user.projects.change:A1 " +
	"au:user.projects.change:A2 au:user.projects.change:B1"

// What node(id:) and nodes(ids:) show each actor, of the world's 61 objects
// (rtA1, a refresh token, is nobody's node).
var authzNodes = map[string]string{
	"admin": "pA pB bA bB uH1 uH2 uR uHeld uFree uUnpub uB1 uB2 tAdmin admin MA MB A1 A2 B1 H1 H2 " +
		"cA1 cA2 cPool cB1 cH1 cH2 vA1 vA2 vA2c vPool vB dR dH1 dH2 dB cpH1 cpH2 evH1 evH1int evH2 " +
		"phH1 phH2 auA auB kPortal " + authzHookAudit + " !NOT_FOUND×1",
	"MA": "pA bA uH1 uH2 uR uHeld uFree uUnpub MA A1 A2 H1 H2 cA1 cA2 cPool cH1 cH2 vA1 vA2 vA2c vPool " +
		"dR dH1 dH2 cpH1 cpH2 evH1 evH1int evH2 phH1 phH2 auA !NOT_FOUND×28",
	"MB":        "pB bB uB1 uB2 MB B1 cB1 vB dB auB !NOT_FOUND×51",
	"A1":        "pA bA uH1 uH2 uR uHeld uFree uUnpub MA A1 A2 cA1 cH1 cPool vA1 vA2c dR dH1 cpH1 evH1 evH1int phH1 !NOT_FOUND×39",
	"A2":        "pA bA uH1 uH2 uR uHeld uFree uUnpub MA A1 A2 cA2 cH2 cPool vA2 vA2c vPool dH2 cpH2 evH2 phH2 !NOT_FOUND×40",
	"B1":        "pB bB uB1 uB2 MB B1 cB1 vB dB !NOT_FOUND×52",
	"H1":        "pA bA uH1 H1 cH1 dH1 cpH1 evH1 phH1 !NOT_FOUND×52",
	"H2":        "pA bA uH2 H2 cH2 dH2 cpH2 evH2 phH2 !NOT_FOUND×52",
	"portal":    "pA bA uH1 uH2 uR uHeld uFree !NOT_FOUND×54",
	"anonymous": "!NOT_FOUND×1 !UNAUTHENTICATED×60",
}

// authzVisible renders which labels came back and how many of the others
// failed with which code.
func authzVisible(visible []string, codes map[string]int) string {
	sort.Strings(visible)
	out := visible
	var cs []string
	for c, n := range codes {
		cs = append(cs, fmt.Sprintf("!%s×%d", c, n))
	}
	sort.Strings(cs)
	return strings.Join(append(out, cs...), " ")
}

// authzNodeSweep asks node(id:) for every object of the world. An object
// the actor may not see must fail exactly as a missing one of its type does
// (same code, same message), so that nothing tells them apart.
func authzNodeSweep(t *testing.T, w *apitest.World, actor string) string {
	var visible []string
	codes := map[string]int{}
	c := w.Caller(t, actor)
	node := func(id string) *apitest.Response {
		return c.Query(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
	}
	missing := map[string]apitest.Error{} // by ID prefix
	for _, l := range w.Labels() {
		id := string(w.ID(l))
		res := node(id)
		var out struct{ Node *struct{ ID string } }
		if len(res.Errors) == 0 {
			res.Decode(t, &out)
			if out.Node == nil || out.Node.ID != id {
				t.Errorf("node(%s) = %s", l, res.Body)
			}
			visible = append(visible, l)
			continue
		}
		e := res.OnlyError(t)
		codes[e.Code()]++
		m, ok := missing[id[:2]]
		if !ok {
			m = node(id[:2] + strings.Repeat("0", len(id)-2)).OnlyError(t)
			missing[id[:2]] = m
		}
		authzAssertions.Add(1)
		if e.Code() != m.Code() || e.Message != m.Message {
			t.Errorf("node(%s) fails unlike a missing %s: %s vs %s %q", l, id[:2], res.Body, m.Code(), m.Message)
		}
	}
	return authzVisible(visible, codes)
}

func authzNodesAll(t *testing.T, w *apitest.World, actor string) string {
	labels := w.Labels()
	ids := make([]string, len(labels))
	for i, l := range labels {
		ids[i] = string(w.ID(l))
	}
	res := w.Caller(t, actor).Query(t, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids})
	var out struct{ Nodes []*struct{ ID string } }
	if err := json.Unmarshal(res.Data, &out); err != nil || len(out.Nodes) != len(ids) {
		t.Fatalf("nodes(ids:) of %d IDs: %s", len(ids), res.Body)
	}
	var visible []string
	nulls := map[int]bool{}
	for i, n := range out.Nodes {
		switch {
		case n == nil:
			nulls[i] = true
		case n.ID != ids[i]:
			t.Errorf("nodes(ids:)[%d] is %s, want %s", i, n.ID, labels[i])
		default:
			visible = append(visible, labels[i])
		}
	}
	codes := map[string]int{}
	for _, e := range res.Errors {
		codes[e.Code()]++
		// Each error belongs to a null entry: ["nodes", i].
		if len(e.Path) != 2 {
			t.Errorf("nodes(ids:) error without an index: %+v", e)
			continue
		}
		i, _ := e.Path[1].(float64)
		if !nulls[int(i)] {
			t.Errorf("nodes(ids:) error for a returned entry %v: %+v", i, e)
		}
		delete(nulls, int(i))
	}
	if len(nulls) > 0 {
		t.Errorf("nodes(ids:) has %d null entries without an error", len(nulls))
	}
	return authzVisible(visible, codes)
}

// The units of a project that have deals, their deals and their customers.
const authzProjectDeals = `query($a: ID!, $b: ID!) {
  a: node(id: $a) { ...P }
  b: node(id: $b) { ...P }
}
fragment P on Project { id units(first: 10, where: {statusIn: [RESERVED, CONTRACTED, DELIVERED]}) { totalCount edges { node { id
  deals(first: 5) { totalCount edges { node { id customer { id phone } } } } } } } }`

const authzGrid = `query($id: ID!) { salesGrid(projectId: $id) {
  project { id } buildings { building { id } floors { floor units { id } } } statusCounts { status count } } }`

func authzProjects(w *apitest.World, _ string) map[string]any {
	return map[string]any{"a": w.ID("pA"), "b": w.ID("pB")}
}

func authzPhone(label string) string { return apitest.WorldPhones[label] }

// authzQueryRows are the rows of the read side. They share one world.
func authzQueryRows() []authzRow {
	p := authzPhone
	// Only the owning agent and the homeowner read a full phone (issue 13):
	// managers and admins read it masked on every path.
	mk := func(label string) string { return phone.Mask(authzPhone(label)) }
	return append(authzComplaintQueryRows(), []authzRow{
		{field: "Query.node", name: "node(id:) of every object", run: authzNodeSweep, want: authzNodes},
		{field: "Query.nodes", name: "nodes(ids:) of every object", run: authzNodesAll, want: authzNodes},
		authzQuery("Query.node", "node(id:) malformed", `{ node(id: "not-an-id") { id } }`, nil,
			authzEvery("null !BAD_USER_INPUT", nil)),
		authzQuery("Query.projects", "projects", `{ projects(first: 10) { totalCount edges { node { id } } } }`, nil,
			authzEvery("#1[pA]", map[string]string{"admin": "#2[pA pB]", "MB": "#1[pB]", "B1": "#1[pB]", "anonymous": "!UNAUTHENTICATED"})),
		authzQuery("Query.buildings", "buildings", `{ buildings(first: 10) { totalCount edges { node { id } } } }`, nil,
			authzEvery("#1[bA]", map[string]string{"admin": "#2[bA bB]", "MB": "#1[bB]", "B1": "#1[bB]", "anonymous": "!UNAUTHENTICATED"})),
		authzQuery("Query.units", "units", `{ units(first: 20) { totalCount edges { node { id } } } }`, nil, map[string]string{
			"admin":     "#8[uH1 uH2 uR uHeld uFree uUnpub uB1 uB2]",
			"MA":        "#6[uH1 uH2 uR uHeld uFree uUnpub]",
			"MB":        "#2[uB1 uB2]",
			"A1":        "#6[uH1 uH2 uR uHeld uFree uUnpub]",
			"A2":        "#6[uH1 uH2 uR uHeld uFree uUnpub]",
			"B1":        "#2[uB1 uB2]",
			"H1":        "#1[uH1]",
			"H2":        "#1[uH2]",
			"portal":    "#5[uH1 uH2 uR uHeld uFree]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.units", "unit→heldBy, heldFor", `{ units(first: 20, where: {status: HELD}) { edges { node { id heldBy { id } heldFor { id phone } } } } }`, nil, map[string]string{
			"admin":     "[uHeld{heldBy=A1,heldFor=cA1{phone=" + mk("cA1") + "}}]",
			"MA":        "[uHeld{heldBy=A1,heldFor=cA1{phone=" + mk("cA1") + "}}]",
			"MB":        "[]",
			"A1":        "[uHeld{heldBy=A1,heldFor=cA1{phone=" + p("cA1") + "}}]",
			"A2":        "[uHeld{heldBy=A1,heldFor=null}]",
			"B1":        "[]",
			"H1":        "[]",
			"H2":        "[]",
			"portal":    "[uHeld{heldBy=null,heldFor=null}]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.customers", "customers", `{ customers(first: 20) { totalCount edges { node { id } } } }`, nil, map[string]string{
			"admin":     "#6[cA1 cA2 cPool cB1 cH1 cH2]",
			"MA":        "#5[cA1 cA2 cPool cH1 cH2]",
			"MB":        "#1[cB1]",
			"A1":        "#3[cA1 cH1 cPool]",
			"A2":        "#3[cA2 cH2 cPool]",
			"B1":        "#1[cB1]",
			"H1":        "#1[cH1]",
			"H2":        "#1[cH2]",
			"portal":    "#0[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.customers", "customers totalCount alone", `{ customers(first: 1) { totalCount } }`, nil, map[string]string{
			"admin": "#6", "MA": "#5", "MB": "#1", "A1": "#3", "A2": "#3", "B1": "#1", "H1": "#1", "H2": "#1",
			"portal": "#0", "anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.customers", "customer phones (masked in the pool)", `{ customers(first: 20) { edges { node { id phone } } } }`, nil, map[string]string{
			"admin": "[cA1{phone=" + mk("cA1") + "} cA2{phone=" + mk("cA2") + "} cPool{phone=" + mk("cPool") + "} cB1{phone=" + mk("cB1") + "} cH1{phone=" + mk("cH1") + "} cH2{phone=" + mk("cH2") + "}]",
			"MA":    "[cA1{phone=" + mk("cA1") + "} cA2{phone=" + mk("cA2") + "} cPool{phone=" + mk("cPool") + "} cH1{phone=" + mk("cH1") + "} cH2{phone=" + mk("cH2") + "}]",
			"MB":    "[cB1{phone=" + mk("cB1") + "}]",
			// A1 sees their own in full and the public pool masked.
			"A1": "[cA1{phone=+8613811110001} cH1{phone=+8613811110005} cPool{phone=138****0003}]",
			// A2 owns cPool, lapsed or not.
			"A2":        "[cA2{phone=" + p("cA2") + "} cH2{phone=" + p("cH2") + "} cPool{phone=" + p("cPool") + "}]",
			"B1":        "[cB1{phone=" + p("cB1") + "}]",
			"H1":        "[cH1{phone=" + p("cH1") + "}]",
			"H2":        "[cH2{phone=" + p("cH2") + "}]",
			"portal":    "[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.customers", "customer→visits", `{ customers(first: 20) { edges { node { id visits(first: 10) { totalCount edges { node { id } } } } } } }`, nil, map[string]string{
			"admin":     "[cA1{visits=#2[vA1 vA2c]} cA2{visits=#1[vA2]} cPool{visits=#1[vPool]} cB1{visits=#1[vB]} cH1{visits=#0[]} cH2{visits=#0[]}]",
			"MA":        "[cA1{visits=#2[vA1 vA2c]} cA2{visits=#1[vA2]} cPool{visits=#1[vPool]} cH1{visits=#0[]} cH2{visits=#0[]}]",
			"MB":        "[cB1{visits=#1[vB]}]",
			"A1":        "[cA1{visits=#2[vA1 vA2c]} cH1{visits=#0[]} cPool{visits=#0[]}]",
			"A2":        "[cA2{visits=#1[vA2]} cH2{visits=#0[]} cPool{visits=#1[vPool]}]",
			"B1":        "[cB1{visits=#1[vB]}]",
			"H1":        "[cH1{visits=#0[]}]",
			"H2":        "[cH2{visits=#0[]}]",
			"portal":    "[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.visits", "visits", `{ visits(first: 20) { totalCount edges { node { id } } } }`, nil, map[string]string{
			"admin":     "#5[vA1 vA2 vA2c vPool vB]",
			"MA":        "#4[vA1 vA2 vA2c vPool]",
			"MB":        "#1[vB]",
			"A1":        "#2[vA1 vA2c]",
			"A2":        "#3[vA2 vA2c vPool]",
			"B1":        "#1[vB]",
			"H1":        "#0[]",
			"H2":        "#0[]",
			"portal":    "#0[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.visits", "visit→customer, unitsShown", `{ visits(first: 20) { edges { node { id customer { id phone } unitsShown { id } } } } }`, nil, map[string]string{
			"admin": "[vA1{customer=cA1{phone=" + mk("cA1") + "},unitsShown=[uR uFree]} vA2{customer=cA2{phone=" + mk("cA2") + "},unitsShown=[]} " +
				"vA2c{customer=cA1{phone=" + mk("cA1") + "},unitsShown=[]} vPool{customer=cPool{phone=" + mk("cPool") + "},unitsShown=[]} vB{customer=cB1{phone=" + mk("cB1") + "},unitsShown=[]}]",
			"MA": "[vA1{customer=cA1{phone=" + mk("cA1") + "},unitsShown=[uR uFree]} vA2{customer=cA2{phone=" + mk("cA2") + "},unitsShown=[]} " +
				"vA2c{customer=cA1{phone=" + mk("cA1") + "},unitsShown=[]} vPool{customer=cPool{phone=" + mk("cPool") + "},unitsShown=[]}]",
			"MB": "[vB{customer=cB1{phone=" + mk("cB1") + "},unitsShown=[]}]",
			"A1": "[vA1{customer=cA1{phone=" + p("cA1") + "},unitsShown=[uR uFree]} vA2c{customer=cA1{phone=" + p("cA1") + "},unitsShown=[]}]",
			// vA2c is A2's own visit of a customer since given to A1: A2
			// keeps the visit but not the customer, whose field (non-null)
			// fails NOT_FOUND and takes the visit with it.
			"A2":        "[null vA2{customer=cA2{phone=" + p("cA2") + "},unitsShown=[]} vPool{customer=cPool{phone=" + p("cPool") + "},unitsShown=[]}] !NOT_FOUND",
			"B1":        "[vB{customer=cB1{phone=" + p("cB1") + "},unitsShown=[]}]",
			"H1":        "[]",
			"H2":        "[]",
			"portal":    "[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.deals", "deals", `{ deals(first: 20) { totalCount edges { node { id } } } }`, nil, map[string]string{
			"admin":     "#4[dR dH1 dH2 dB]",
			"MA":        "#3[dR dH1 dH2]",
			"MB":        "#1[dB]",
			"A1":        "#2[dR dH1]",
			"A2":        "#1[dH2]",
			"B1":        "#1[dB]",
			"H1":        "#1[dH1]",
			"H2":        "#1[dH2]",
			"portal":    "#0[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.node", "project→units→deals→customer", authzProjectDeals, authzProjects, map[string]string{
			"admin": "{a=pA{units=#3[uH1{deals=#1[dH1{customer=cH1{phone=" + mk("cH1") + "}}]} uH2{deals=#1[dH2{customer=cH2{phone=" + mk("cH2") + "}}]} uR{deals=#1[dR{customer=cA1{phone=" + mk("cA1") + "}}]}]}," +
				"b=pB{units=#1[uB1{deals=#1[dB{customer=cB1{phone=" + mk("cB1") + "}}]}]}}",
			"MA": "{a=pA{units=#3[uH1{deals=#1[dH1{customer=cH1{phone=" + mk("cH1") + "}}]} uH2{deals=#1[dH2{customer=cH2{phone=" + mk("cH2") + "}}]} uR{deals=#1[dR{customer=cA1{phone=" + mk("cA1") + "}}]}]},b=null} !NOT_FOUND",
			"MB": "{a=null,b=pB{units=#1[uB1{deals=#1[dB{customer=cB1{phone=" + mk("cB1") + "}}]}]}} !NOT_FOUND",
			"A1": "{a=pA{units=#3[uH1{deals=#1[dH1{customer=cH1{phone=" + p("cH1") + "}}]} uH2{deals=#0[]} uR{deals=#1[dR{customer=cA1{phone=" + p("cA1") + "}}]}]},b=null} !NOT_FOUND",
			"A2": "{a=pA{units=#3[uH1{deals=#0[]} uH2{deals=#1[dH2{customer=cH2{phone=" + p("cH2") + "}}]} uR{deals=#0[]}]},b=null} !NOT_FOUND",
			"B1": "{a=null,b=pB{units=#1[uB1{deals=#1[dB{customer=cB1{phone=" + p("cB1") + "}}]}]}} !NOT_FOUND",
			"H1": "{a=pA{units=#1[uH1{deals=#1[dH1{customer=cH1{phone=" + p("cH1") + "}}]}]},b=null} !NOT_FOUND",
			"H2": "{a=pA{units=#1[uH2{deals=#1[dH2{customer=cH2{phone=" + p("cH2") + "}}]}]},b=null} !NOT_FOUND",
			// The portal sees the published units (their status says as
			// much), never a deal or a person.
			"portal":    "{a=pA{units=#3[uH1{deals=#0[]} uH2{deals=#0[]} uR{deals=#0[]}]},b=null} !NOT_FOUND",
			"anonymous": "{a=null,b=null} !UNAUTHENTICATED",
		}),
		authzQuery("Query.projects", "project→every connection, totalCount", `{ projects(first: 5) { edges { node { id
		  buildings(first: 1) { totalCount } units(first: 1) { totalCount } customers(first: 1) { totalCount } visits(first: 1) { totalCount }
		  deals(first: 1) { totalCount } complaints(first: 1) { totalCount } staff(first: 1) { totalCount } } } } }`, nil, func() map[string]string {
			pr := func(label string, buildings, units, customers, visits, deals, complaints, staff int) string {
				return fmt.Sprintf("%s{buildings=#%d,complaints=#%d,customers=#%d,deals=#%d,staff=#%d,units=#%d,visits=#%d}",
					label, buildings, complaints, customers, deals, staff, units, visits)
			}
			a, b := pr("pA", 1, 6, 5, 4, 3, 2, 3), pr("pB", 1, 2, 1, 1, 1, 0, 2)
			return map[string]string{
				"admin": "[" + a + " " + b + "]", "MA": "[" + a + "]", "MB": "[" + b + "]", "B1": "[" + b + "]",
				"A1":        "[" + pr("pA", 1, 6, 3, 2, 2, 1, 3) + "]",
				"A2":        "[" + pr("pA", 1, 6, 3, 3, 1, 1, 3) + "]",
				"H1":        "[" + pr("pA", 1, 1, 1, 0, 1, 1, 0) + "]",
				"H2":        "[" + pr("pA", 1, 1, 1, 0, 1, 1, 0) + "]",
				"portal":    "[" + pr("pA", 1, 5, 0, 0, 0, 0, 0) + "]",
				"anonymous": "!UNAUTHENTICATED",
			}
		}()),
		authzQuery("Query.units", "unit→shownIn, complaints", `{ units(first: 20, where: {numberIn: ["101", "102", "103", "202"], hasProjectWith: [{published: true}]}) { edges { node { id
		  shownIn(first: 5) { totalCount } complaints(first: 5) { totalCount } } } } }`, nil, func() map[string]string {
			u := func(label string, complaints, shown int) string {
				return fmt.Sprintf("%s{complaints=#%d,shownIn=#%d}", label, complaints, shown)
			}
			staff := "[" + u("uH1", 1, 0) + " " + u("uH2", 1, 0) + " " + u("uR", 0, 1) + " " + u("uFree", 0, 1) + "]"
			return authzEvery("[]", map[string]string{
				"admin": staff, "MA": staff,
				"A1":        "[" + u("uH1", 1, 0) + " " + u("uH2", 0, 0) + " " + u("uR", 0, 1) + " " + u("uFree", 0, 1) + "]",
				"A2":        "[" + u("uH1", 0, 0) + " " + u("uH2", 1, 0) + " " + u("uR", 0, 0) + " " + u("uFree", 0, 0) + "]",
				"H1":        "[" + u("uH1", 1, 0) + "]",
				"H2":        "[" + u("uH2", 1, 0) + "]",
				"portal":    "[" + u("uH1", 0, 0) + " " + u("uH2", 0, 0) + " " + u("uR", 0, 0) + " " + u("uFree", 0, 0) + "]",
				"anonymous": "!UNAUTHENTICATED",
			})
		}()),
		authzQuery("Query.complaints", "complaints", `{ complaints(first: 20) { totalCount edges { node { id } } } }`, nil,
			authzEvery("#0[]", map[string]string{"admin": "#2[cpH1 cpH2]", "MA": "#2[cpH1 cpH2]", "A1": "#1[cpH1]", "A2": "#1[cpH2]",
				"H1": "#1[cpH1]", "H2": "#1[cpH2]", "anonymous": "!UNAUTHENTICATED"})),
		authzQuery("Query.complaints", "complaint→customer, photos, events", `{ complaints(first: 20) { edges { node { id
		  customer { id phone } photos { id contentType sizeBytes } events(first: 10) { totalCount edges { node { id internal } } } } } } }`, nil, func() map[string]string {
			ph := func(l string) string {
				return fmt.Sprintf("photos=[%s{contentType=image/png,sizeBytes=%d}]", l, len(apitest.PhotoBytes(map[string]string{"phH1": "cpH1", "phH2": "cpH2"}[l])))
			}
			k1 := "cpH1{customer=cH1{phone=" + p("cH1") + "},events=#2[evH1{internal=false} evH1int{internal=true}]," + ph("phH1") + "}"
			k1owner := "cpH1{customer=cH1{phone=" + p("cH1") + "},events=#1[evH1{internal=false}]," + ph("phH1") + "}"
			k2 := "cpH2{customer=cH2{phone=" + p("cH2") + "},events=#1[evH2{internal=false}]," + ph("phH2") + "}"
			// Staff who own neither customer (the manager, the admin) read both phones masked.
			k1m := "cpH1{customer=cH1{phone=" + mk("cH1") + "},events=#2[evH1{internal=false} evH1int{internal=true}]," + ph("phH1") + "}"
			k2m := "cpH2{customer=cH2{phone=" + mk("cH2") + "},events=#1[evH2{internal=false}]," + ph("phH2") + "}"
			return authzEvery("[]", map[string]string{
				"admin": "[" + k1m + " " + k2m + "]", "MA": "[" + k1m + " " + k2m + "]",
				"A1": "[" + k1 + "]", "A2": "[" + k2 + "]",
				// The homeowner does not see the staff-only note.
				"H1": "[" + k1owner + "]", "H2": "[" + k2 + "]",
				"anonymous": "!UNAUTHENTICATED",
			})
		}()),
		authzQuery("Query.myFollowUps", "myFollowUps", `{ myFollowUps(date: "2026-11-23") { date due { id } overdue { id } } }`, nil,
			authzEvery("{date=2026-11-23,due=[],overdue=[]}", map[string]string{
				"portal": "!FORBIDDEN", "anonymous": "!UNAUTHENTICATED",
			})),
		{field: "Subscription.unitStatusChanged", name: "unitStatusChanged of project A, then a hold of uFree", run: authzWatch,
			want: authzEvery("{status=HELD,unit=uFree{number=202}}", map[string]string{
				"MB": "!NOT_FOUND", "B1": "!NOT_FOUND", "H1": "no event", "H2": "no event", "anonymous": "!UNAUTHENTICATED",
			})},
		authzQuery("Query.users", "users", `{ users(first: 20) { totalCount edges { node { id } } } }`, nil, map[string]string{
			"admin":     "#9[tAdmin admin MA MB A1 A2 B1 H1 H2]",
			"MA":        "#5[MA A1 A2 H1 H2]",
			"MB":        "#2[MB B1]",
			"A1":        "#3[MA A1 A2]",
			"A2":        "#3[MA A1 A2]",
			"B1":        "#2[MB B1]",
			"H1":        "#1[H1]",
			"H2":        "#1[H2]",
			"portal":    "#0[]",
			"anonymous": "!UNAUTHENTICATED",
		}),
		authzQuery("Query.users", "user→customers, visits, deals", `{ users(first: 20) { edges { node { id
		  customers(first: 10) { edges { node { id phone } } } visits(first: 10) { totalCount } deals(first: 10) { totalCount } } } } }`, nil, func() map[string]string {
			u := func(label, customers string, visits, deals int) string {
				return fmt.Sprintf("%s{customers=[%s],deals=#%d,visits=#%d}", label, customers, deals, visits)
			}
			phones := func(show func(string) string, labels ...string) string {
				var out []string
				for _, l := range labels {
					out = append(out, l+"{phone="+show(l)+"}")
				}
				return strings.Join(out, " ")
			}
			none := func(label string) string { return u(label, "", 0, 0) }
			// The agents read their own customers' phones; the managers and
			// the admin read every phone masked.
			a1, a2, b1 := u("A1", phones(p, "cA1", "cH1"), 1, 2), u("A2", phones(p, "cA2", "cH2", "cPool"), 3, 1), u("B1", phones(p, "cB1"), 1, 1)
			a1m, a2m, b1m := u("A1", phones(mk, "cA1", "cH1"), 1, 2), u("A2", phones(mk, "cA2", "cH2", "cPool"), 3, 1), u("B1", phones(mk, "cB1"), 1, 1)
			return map[string]string{
				"admin": "[" + strings.Join([]string{none("tAdmin"), none("admin"), none("MA"), none("MB"), a1m, a2m, b1m, none("H1"), none("H2")}, " ") + "]",
				"MA":    "[" + none("MA") + " " + a1m + " " + a2m + " " + none("H1") + " " + none("H2") + "]",
				"MB":    "[" + none("MB") + " " + b1m + "]",
				// A1 sees, of A2's, the pool customer (masked) and the visit
				// of a customer A1 now owns.
				"A1":        "[" + none("MA") + " " + a1 + " " + u("A2", "cPool{phone=138****0003}", 1, 0) + "]",
				"A2":        "[" + none("MA") + " " + none("A1") + " " + a2 + "]",
				"B1":        "[" + none("MB") + " " + b1 + "]",
				"H1":        "[" + none("H1") + "]",
				"H2":        "[" + none("H2") + "]",
				"portal":    "[]",
				"anonymous": "!UNAUTHENTICATED",
			}
		}()),
		authzQuery("Query.me", "me", `{ me { id role customer { id phone } projects { id } } }`, nil, map[string]string{
			"admin":     "admin{customer=null,projects=[],role=ADMIN}",
			"MA":        "MA{customer=null,projects=[pA],role=MANAGER}",
			"MB":        "MB{customer=null,projects=[pB],role=MANAGER}",
			"A1":        "A1{customer=null,projects=[pA],role=AGENT}",
			"A2":        "A2{customer=null,projects=[pA],role=AGENT}",
			"B1":        "B1{customer=null,projects=[pB],role=AGENT}",
			"H1":        "H1{customer=cH1{phone=" + p("cH1") + "},projects=[],role=OWNER}",
			"H2":        "H2{customer=cH2{phone=" + p("cH2") + "},projects=[],role=OWNER}",
			"portal":    "null",
			"anonymous": "null !UNAUTHENTICATED",
		}),
		authzQuery("Query.apiKeys", "apiKeys", `{ apiKeys(first: 10) { totalCount edges { node { id } } } }`, nil,
			authzEvery("#0[]", map[string]string{"admin": "#1[kPortal]", "anonymous": "!UNAUTHENTICATED"})),
		authzQuery("Query.auditEvents", "auditEvents", `{ auditEvents(first: 20, where: {actionNEQ: "customer.phone.read"}) { totalCount edges { node { id } } } }`, nil,
			authzEvery("#0[]", map[string]string{"admin": "#16[auA auB " + authzHookAudit + "]", "MA": "#1[auA]", "MB": "#1[auB]", "anonymous": "!UNAUTHENTICATED"})),
		authzQuery("Query.salesGrid", "salesGrid of A", authzGrid, authzIDVar("pA"), func() map[string]string {
			grid := func(floor1, floor2, counts string) string {
				return "{buildings=[{building=bA,floors=[{floor=1,units=[" + floor1 + "]} {floor=2,units=[" + floor2 + "]}]}],project=pA,statusCounts=[" + counts + "]}"
			}
			counts := func(avail, held, reserved, contracted int) string {
				return fmt.Sprintf("{count=%d,status=AVAILABLE} {count=%d,status=HELD} {count=%d,status=RESERVED} {count=%d,status=CONTRACTED} {count=0,status=DELIVERED}",
					avail, held, reserved, contracted)
			}
			// Staff also count withdrawn units (issue 11); nobody else sees one.
			staff := grid("uH1 uH2 uR", "uHeld uFree uUnpub", counts(2, 1, 1, 2)+" {count=0,status=WITHDRAWN}")
			return map[string]string{
				"admin": staff, "MA": staff, "A1": staff, "A2": staff,
				"MB": "!NOT_FOUND", "B1": "!NOT_FOUND",
				// A homeowner's grid holds their unit only; floor 2 has none.
				"H1":        "{buildings=[{building=bA,floors=[{floor=1,units=[uH1]}]}],project=pA,statusCounts=[" + counts(0, 0, 0, 1) + "]}",
				"H2":        "{buildings=[{building=bA,floors=[{floor=1,units=[uH2]}]}],project=pA,statusCounts=[" + counts(0, 0, 0, 1) + "]}",
				"portal":    grid("uH1 uH2 uR", "uHeld uFree", counts(1, 1, 1, 2)),
				"anonymous": "!UNAUTHENTICATED",
			}
		}()),
		authzQuery("Query.salesGrid", "salesGrid of B", authzGrid, authzIDVar("pB"), func() map[string]string {
			b := "{buildings=[{building=bB,floors=[{floor=1,units=[uB1 uB2]}]}],project=pB,statusCounts=[" +
				"{count=1,status=AVAILABLE} {count=0,status=HELD} {count=1,status=RESERVED} {count=0,status=CONTRACTED} {count=0,status=DELIVERED} {count=0,status=WITHDRAWN}]}"
			return authzEvery("!NOT_FOUND", map[string]string{"admin": b, "MB": b, "B1": b, "anonymous": "!UNAUTHENTICATED"})
		}()),
		authzQuery("Query.salesGrid", "salesGrid of a unit's ID", authzGrid, authzIDVar("uFree"), authzEvery("!BAD_USER_INPUT", nil)),
	}...)
}

// authzLogin is the login an actor signs in with: their own, or A1's for
// the portal and anonymous callers (who have none).
func authzLogin(actor string) string {
	if actor == "portal" || actor == "anonymous" {
		return "a1"
	}
	return strings.ToLower(actor)
}

// authzSelf is the user an actor acts on when acting on themself: their own,
// or the victim V for the portal and anonymous callers.
func authzSelf(w *apitest.World, actor string) string {
	if actor == "portal" || actor == "anonymous" {
		return string(w.ID("V"))
	}
	return string(w.ID(actor))
}

// authzSignedInAs is what a login, as the actor, signs in as.
func authzSignedInAs() map[string]string {
	m := map[string]string{}
	for _, a := range apitest.Actors {
		m[a] = "{user=" + a + "}"
	}
	m["portal"], m["anonymous"] = "{user=A1}", "{user=A1}"
	return m
}

const (
	authzLoginMutation   = `mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { user { id } refreshToken } }`
	authzRefreshMutation = `mutation($r: String!) { refreshToken(input: {refreshToken: $r}) { user { id } } }`
)

// authzRefreshToken signs in anonymously and returns the refresh token.
func authzRefreshToken(t *testing.T, w *apitest.World, login string) string {
	t.Helper()
	var out struct{ Login struct{ RefreshToken string } }
	w.Env.Anonymous().Query(t, authzLoginMutation, map[string]any{"l": login, "p": apitest.Password}).Decode(t, &out)
	return out.Login.RefreshToken
}

// State read as the system, for "db=changed/unchanged".
func authzUser(label string, show func(u *ent.User) string) func(t *testing.T, w *apitest.World, actor string) string {
	return func(t *testing.T, w *apitest.World, actor string) string {
		id := w.ID("V")
		switch {
		case label != "":
			id = w.ID(label)
		case actor != "portal" && actor != "anonymous":
			id = w.ID(actor)
		}
		u, err := w.Env.Client.User.Get(apitest.System(), id)
		if err != nil {
			t.Fatal(err)
		}
		return show(u)
	}
}

func authzUserShow(u *ent.User) string {
	return fmt.Sprintf("%s/%s/%s/%t/%s/%v", u.Name, u.Role, u.Login, u.Active, u.PasswordHash, u.UpdatedAt.UnixNano())
}

// authzMutationRows are the rows of the write side. They share one world
// and run in order: the password changes come last.
func authzMutationRows() []authzRow {
	self := func(w *apitest.World, actor string) map[string]any { return map[string]any{"id": authzSelf(w, actor)} }
	victim := func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID("V")} }
	resetVictim := func(t *testing.T, w *apitest.World, _ string) {
		if err := w.Env.Client.User.UpdateOneID(w.ID("V")).SetName("V").SetRole(user.RoleAGENT).Exec(apitest.System()); err != nil {
			t.Fatal(err)
		}
	}
	forbidden := func(admin string) map[string]string {
		return authzEvery("!FORBIDDEN db=unchanged", map[string]string{"admin": admin, "anonymous": "!UNAUTHENTICATED db=unchanged"})
	}
	newLogin := func(actor string) string { return "new-" + strings.ToLower(actor) }
	registered := "{customer={attribution={rule=REGISTERED},name=walk-in}} db=changed"
	claimed := "{customer={attribution={rule=CLAIMED}}} db=changed"
	reassigned := "{customer={attribution={owner=A2,rule=REASSIGNED}}} db=changed"
	return append(append(authzComplaintMutationRows(), authzProfileMutationRows()...), []authzRow{
		authzQuery("Mutation.login", "login", `mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { user { id } } }`,
			func(_ *apitest.World, actor string) map[string]any {
				return map[string]any{"l": authzLogin(actor), "p": apitest.Password}
			}, authzSignedInAs()),
		authzQuery("Mutation.login", "login with a wrong password", `mutation { login(input: {login: "nobody", password: "not-the-password"}) { user { id } } }`,
			nil, authzEvery("!UNAUTHENTICATED", nil)),
		{field: "Mutation.refreshToken", name: "refreshToken", want: authzSignedInAs(),
			run: func(t *testing.T, w *apitest.World, actor string) string {
				r := authzRefreshToken(t, w, authzLogin(actor))
				return authzRender(w, w.Caller(t, actor).Query(t, authzRefreshMutation, map[string]any{"r": r}))
			}},
		{field: "Mutation.logout", name: "logout, then the token is spent", want: authzEvery("{ok=true} then !UNAUTHENTICATED", nil),
			run: func(t *testing.T, w *apitest.World, actor string) string {
				r := authzRefreshToken(t, w, authzLogin(actor))
				out := authzRender(w, w.Caller(t, actor).Query(t, `mutation($r: String!) { logout(input: {refreshToken: $r}) { ok } }`, map[string]any{"r": r}))
				return out + " then " + authzRender(w, w.Env.Anonymous().Query(t, authzRefreshMutation, map[string]any{"r": r}))
			}},
		authzMutation("Mutation.createUser", "createUser",
			`mutation($l: String!, $p: ID!) { createUser(input: {name: $l, login: $l, password: "long-enough-pw", role: AGENT, projectIds: [$p]}) { user { login role projects { id } } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"l": newLogin(actor), "p": w.ID("pA")}
			}, nil,
			func(t *testing.T, w *apitest.World, actor string) string {
				return strconv.Itoa(w.Env.Client.User.Query().Where(user.Login(newLogin(actor))).CountX(apitest.System()))
			},
			forbidden("{user={login=new-admin,projects=[pA],role=AGENT}} db=changed")),
		authzMutation("Mutation.createUser", "createUser with a short password",
			`mutation($l: String!) { createUser(input: {name: $l, login: $l, password: "short", role: ADMIN}) { user { id } } }`,
			func(_ *apitest.World, actor string) map[string]any {
				return map[string]any{"l": newLogin(actor) + "-2"}
			}, nil,
			func(t *testing.T, w *apitest.World, actor string) string {
				return strconv.Itoa(w.Env.Client.User.Query().Where(user.Login(newLogin(actor) + "-2")).CountX(apitest.System()))
			},
			// The input is checked before the rules: nobody learns anything from it.
			authzEvery("!BAD_USER_INPUT db=unchanged", nil)),
		authzMutation("Mutation.updateUser", "updateUser of another user",
			`mutation($id: ID!) { updateUser(input: {id: $id, name: "renamed", role: MANAGER}) { user { id name role } } }`,
			victim, resetVictim, authzUser("V", authzUserShow),
			forbidden("{user=V{name=renamed,role=MANAGER}} db=changed")),
		refreshedAfter(authzMutation("Mutation.updateUser", "updateUser of oneself to ADMIN",
			`mutation($id: ID!) { updateUser(input: {id: $id, name: "me", role: ADMIN, projectIds: []}) { user { id name role } } }`,
			self, resetVictim, authzUser("", authzUserShow),
			forbidden("{user=admin{name=me,role=ADMIN}} db=changed"))),
		authzMutation("Mutation.updateUser", "updateUser of oneself changing nothing",
			`mutation($id: ID!) { updateUser(input: {id: $id}) { user { id } } }`,
			self, resetVictim, authzUser("", authzUserShow),
			forbidden("{user=admin} db=changed")),
		authzMutation("Mutation.resetUserPassword", "resetUserPassword of another user",
			`mutation($id: ID!) { resetUserPassword(input: {id: $id, password: "reset-password"}) { user { id } } }`,
			victim, nil, authzUser("V", authzUserShow),
			forbidden("{user=V} db=changed")),
		authzMutation("Mutation.resetUserPassword", "resetUserPassword of oneself (no current password)",
			`mutation($id: ID!, $p: String!) { resetUserPassword(input: {id: $id, password: $p}) { user { id } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"id": authzSelf(w, actor), "p": apitest.Password}
			}, nil, authzUser("", authzUserShow),
			forbidden("{user=admin} db=changed")),
		authzMutation("Mutation.registerCustomer", "registerCustomer in project A",
			`mutation($p: ID!, $ph: String!) { registerCustomer(input: {projectId: $p, name: "walk-in", phone: $ph, source: WALK_IN}) { customer { name attribution { rule } } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"p": w.ID("pA"), "ph": fmt.Sprintf("1390000%04d", slices.Index(apitest.Actors, actor))}
			}, nil,
			func(t *testing.T, w *apitest.World, _ string) string {
				return strconv.Itoa(w.Env.Client.Customer.Query().CountX(apitest.System()))
			},
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"MA": registered, "A1": registered, "A2": registered,
				"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.claimCustomer", "claimCustomer of A's public pool",
			`mutation($id: ID!) { claimCustomer(input: {customerId: $id}) { customer { attribution { rule } } } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID("cPool")} },
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Customer.UpdateOneID(w.ID("cPool")).SetOwnerID(w.ID("A2")).
					SetProtectedUntil(time.Now().Add(-time.Hour)).ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				c := w.Env.Client.Customer.GetX(apitest.System(), w.ID("cPool"))
				return string(*c.OwnerID) + c.ProtectedUntil.String()
			},
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"MA": claimed, "A1": claimed, "A2": claimed,
				"admin": "!FORBIDDEN db=unchanged", "portal": "!FORBIDDEN db=unchanged", "H1": "!FORBIDDEN db=unchanged", "H2": "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.reassignCustomer", "reassignCustomer of A1's customer to A2",
			`mutation($id: ID!, $a: ID!) { reassignCustomer(input: {customerId: $id, agentId: $a}) { customer { attribution { rule owner { id } } } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"id": w.ID("cA1"), "a": w.ID("A2")}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Customer.UpdateOneID(w.ID("cA1")).SetOwnerID(w.ID("A1")).
					SetProtectedUntil(time.Now().Add(24 * time.Hour)).ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				return string(*w.Env.Client.Customer.GetX(apitest.System(), w.ID("cA1")).OwnerID)
			},
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": reassigned, "MA": reassigned, "A1": "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.holdUnit", "holdUnit of a free unit for A1's customer",
			`mutation($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { status } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"u": w.ID("uFree"), "c": w.ID("cA1")}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusAVAILABLE).
					ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().ExecX(apitest.System())
			},
			unitState("uFree"),
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"A1": "{unit={status=HELD}} db=changed",
				"MA": "!BAD_USER_INPUT db=unchanged", "A2": "!BAD_USER_INPUT db=unchanged",
				"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.releaseHold", "releaseHold of A1's hold",
			`mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { status } } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"u": w.ID("uHeld")} },
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Unit.UpdateOneID(w.ID("uHeld")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A1")).
					SetHeldForID(w.ID("cA1")).SetHoldExpiresAt(time.Now().Add(30 * time.Minute)).ExecX(apitest.System())
			},
			unitState("uHeld"),
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"A1": "{unit={status=AVAILABLE}} db=changed", "MA": "{unit={status=AVAILABLE}} db=changed",
				"A2": "!CONFLICT db=unchanged",
				"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.logVisit", "logVisit of A1's customer",
			`mutation($c: ID!, $at: Time!) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at}) { visit { kind } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"c": w.ID("cA1"), "at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)}
			}, nil,
			func(t *testing.T, w *apitest.World, _ string) string {
				return strconv.Itoa(w.Env.Client.Visit.Query().Where(visit.CustomerID(w.ID("cA1"))).CountX(apitest.System()))
			},
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"A1": "{visit={kind=PHONE_CALL}} db=changed", "MA": "{visit={kind=PHONE_CALL}} db=changed",
				"A2": "!NOT_FOUND db=unchanged", "MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.reserveUnit", "reserveUnit of A1's hold",
			`mutation($u: ID!, $c: ID!) { reserveUnit(input: {unitId: $u, customerId: $c, deposit: "50000", paymentMethod: MORTGAGE}) { deal { stage } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"u": w.ID("uHeld"), "c": w.ID("cA1")}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Deal.Delete().Where(deal.UnitID(w.ID("uHeld"))).ExecX(apitest.System())
				w.Env.Client.Unit.UpdateOneID(w.ID("uHeld")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A1")).
					SetHeldForID(w.ID("cA1")).SetHoldExpiresAt(time.Now().Add(30 * time.Minute)).ExecX(apitest.System())
			},
			unitState("uHeld"),
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"A1": "{deal={stage=RESERVED}} db=changed",
				"MA": "!CONFLICT db=unchanged", "A2": "!CONFLICT db=unchanged",
				"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.contractDeal", "contractDeal of A1's reservation",
			`mutation($d: ID!) { contractDeal(input: {dealId: $d}) { deal { stage } } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"d": w.ID("dR")} },
			resetReservation, dealState("dR"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": "{deal={stage=CONTRACTED}} db=changed", "MA": "{deal={stage=CONTRACTED}} db=changed",
				"A1":        "{deal={stage=CONTRACTED}} db=changed",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.cancelDeal", "cancelDeal of A1's reservation",
			`mutation($d: ID!) { cancelDeal(input: {dealId: $d, reason: "客户资金未到位"}) { deal { stage } } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"d": w.ID("dR")} },
			resetReservation, dealState("dR"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": "{deal={stage=CANCELLED}} db=changed", "MA": "{deal={stage=CANCELLED}} db=changed",
				"A1":        "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.deliverUnit", "deliverUnit of H1's contracted unit",
			`mutation($u: ID!) { deliverUnit(input: {unitId: $u}) { unit { status } } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"u": w.ID("uH1")} },
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Unit.UpdateOneID(w.ID("uH1")).SetStatus(unit.StatusCONTRACTED).ExecX(apitest.System())
			},
			unitState("uH1"),
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin": "{unit={status=DELIVERED}} db=changed", "MA": "{unit={status=DELIVERED}} db=changed",
				"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged", "H2": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.activateOwner", "activateOwner with a code nobody was given",
			`mutation { activateOwner(input: {code: "NOPE2345", login: "someone", password: "long-enough-1"}) { user { id } } }`,
			func(*apitest.World, string) map[string]any { return nil }, nil,
			func(t *testing.T, w *apitest.World, _ string) string {
				return strconv.Itoa(w.Env.Client.User.Query().CountX(apitest.System()))
			},
			authzEvery("!BAD_USER_INPUT db=unchanged", nil)),
		authzMutation("Mutation.createAPIKey", "createAPIKey",
			`mutation($n: String!) { createAPIKey(input: {name: $n}) { apiKey { name active } } }`,
			func(_ *apitest.World, actor string) map[string]any { return map[string]any{"n": "key-" + actor} }, nil,
			func(t *testing.T, w *apitest.World, _ string) string {
				return strconv.Itoa(w.Env.Client.APIKey.Query().CountX(apitest.System()))
			},
			forbidden("{apiKey={active=true,name=key-admin}} db=changed")),
		authzMutation("Mutation.revokeAPIKey", "revokeAPIKey",
			`mutation($id: ID!) { revokeAPIKey(input: {id: $id}) { apiKey { id active } } }`,
			func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID("kV")} },
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.APIKey.UpdateOneID(w.ID("kV")).SetActive(true).ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				return strconv.FormatBool(w.Env.Client.APIKey.GetX(apitest.System(), w.ID("kV")).Active)
			},
			forbidden("{apiKey=kV{active=false}} db=changed")),
		authzMutation("Mutation.changePassword", "changePassword with a wrong current password",
			`mutation { changePassword(input: {currentPassword: "not-the-password", newPassword: "a-new-password"}) { user { id } } }`,
			func(*apitest.World, string) map[string]any { return nil }, nil, authzUser("", authzUserShow),
			authzEvery("!BAD_USER_INPUT db=unchanged", map[string]string{"portal": "!UNAUTHENTICATED db=unchanged", "anonymous": "!UNAUTHENTICATED db=unchanged"})),
		authzMutation("Mutation.changePassword", "changePassword",
			`mutation($p: String!) { changePassword(input: {currentPassword: $p, newPassword: "a-new-password"}) { user { id } } }`,
			func(*apitest.World, string) map[string]any { return map[string]any{"p": apitest.Password} }, nil, authzUser("", authzUserShow),
			func() map[string]string {
				m := map[string]string{}
				for _, a := range apitest.Actors {
					m[a] = "{user=" + a + "} db=changed"
				}
				// A portal is no user: it has no password to change.
				m["portal"], m["anonymous"] = "!UNAUTHENTICATED db=unchanged", "!UNAUTHENTICATED db=unchanged"
				return m
			}()),
	}...)
}

// authzRun runs every cell of rows against w, row by row.
func authzRun(t *testing.T, w *apitest.World, rows []authzRow) {
	before := authzAssertions.Load()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			for _, a := range apitest.Actors {
				want, ok := r.want[a]
				if !ok {
					t.Fatalf("row %q has no cell for %s", r.name, a)
				}
				t.Run(a, func(t *testing.T) {
					authzCheck(t, r.name+" as "+a, r.run(t, w, a), want)
				})
			}
		})
	}
	t.Logf("%d operations × %d actors = %d cells, %d assertions", len(rows), len(apitest.Actors),
		len(rows)*len(apitest.Actors), authzAssertions.Load()-before)
}

func TestAuthzMatrixQueries(t *testing.T) {
	env := apitest.New(t)
	authzRun(t, env.World(t), authzQueryRows())
}

func TestAuthzMatrixMutations(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	pA := env.Client.Project.GetX(apitest.System(), w.ID("pA"))
	v, _ := env.User(t, user.RoleAGENT, "V", pA)
	w.Add("V", v.ID)
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "victim"})
	if err != nil {
		t.Fatal(err)
	}
	w.Add("kV", k.APIKey.ID)
	authzRun(t, w, authzMutationRows())
}

// TestAuthzMatrixCoversTheSchema fails on a root field without a row, so
// that no field joins the API without its authorization cells.
func TestAuthzMatrixCoversTheSchema(t *testing.T) {
	rows := slices.Concat(authzQueryRows(), authzMutationRows(), authzOwnDataRows(), authzPricingRows(), authzCatalogueRows(), authzDealRows(), authzCostRows(), authzMediaRows(), authzListingsRows(), authzWebhookRows(), authzPeopleRows(), authzReportRows(), authzSurveyRows())
	covered := map[string]bool{}
	for _, r := range rows {
		covered[r.field] = true
		for _, a := range apitest.Actors {
			if _, ok := r.want[a]; !ok {
				t.Errorf("row %q (%s) has no cell for %s", r.name, r.field, a)
			}
		}
		if len(r.want) != len(apitest.Actors) {
			t.Errorf("row %q has cells for actors that do not exist: %v", r.name, r.want)
		}
	}
	schema := graph.NewSchema(graph.Deps{}).Schema()
	fields := map[string]bool{}
	for _, typ := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		if typ == nil {
			continue
		}
		for _, f := range typ.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			name := typ.Name + "." + f.Name
			fields[name] = true
			if !covered[name] {
				t.Errorf("%s has no row in the authorization matrix (api/authz_test.go)", name)
			}
		}
	}
	for f := range covered {
		if !fields[f] {
			t.Errorf("the matrix has rows for %s, which is not in the schema", f)
		}
	}
	t.Logf("%d root fields, %d rows", len(fields), len(rows))
}

// TestAuthzWhereEdgePredicatesDoNotLeak probes the generated where inputs:
// a has…With predicate would filter a viewer's rows by objects the viewer
// may not see, in SQL, past their privacy rules. Such predicates are not in
// the schema (ent/schema noWhere): each probe must be refused as unknown and
// learn nothing.
func TestAuthzWhereEdgePredicatesDoNotLeak(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	var leaks []string
	// Each probe runs with a value that matches a hidden object and one that
	// matches nothing: any difference is a leak.
	for _, p := range []struct{ actor, name, query, hit, miss string }{
		{"portal", "which project has a customer whose phone ends 0005",
			`{ projects(first: 5, where: {hasCustomersWith: [{phoneLast4: "%s"}]}) { totalCount } }`, "0005", "9999"},
		{"portal", "which unit a person named cH1 bought",
			`{ units(first: 5, where: {hasDealsWith: [{hasCustomerWith: [{name: "%s"}]}]}) { totalCount } }`, "cH1", "nobody"},
		{"A2", "which colleague owns the protected customer whose phone ends 0001",
			`{ users(first: 5, where: {hasCustomersWith: [{phoneLast4: "%s"}]}) { totalCount } }`, "0001", "9999"},
		{"A2", "whether A1's protected customer has a unit held",
			`{ units(first: 5, where: {hasHeldForWith: [{phoneLast4: "%s"}]}) { totalCount } }`, "0001", "9999"},
		{"H1", "whether another homeowner is a customer of the project",
			`{ projects(first: 5, where: {hasCustomersWith: [{name: "%s"}]}) { totalCount } }`, "cH2", "nobody"},
		{"H1", "whether a complaint is filed about a leak on another unit",
			`{ projects(first: 5, where: {hasComplaintsWith: [{titleContains: "%s"}, {customerIDNEQ: "` + string(w.ID("cH1")) + `"}]}) { totalCount } }`, "leak", "nothing"},
	} {
		c := w.Caller(t, p.actor)
		hit := authzRender(w, c.Query(t, fmt.Sprintf(p.query, p.hit), nil))
		miss := authzRender(w, c.Query(t, fmt.Sprintf(p.query, p.miss), nil))
		authzAssertions.Add(2)
		if hit != miss || hit != "!BAD_USER_INPUT" {
			leaks = append(leaks, fmt.Sprintf("%s learns %s: %s vs %s", p.actor, p.name, hit, miss))
		}
	}
	if len(leaks) > 0 {
		t.Fatalf("where-predicates on edges let viewers probe hidden rows:\n%s", strings.Join(leaks, "\n"))
	}
}

// unitState is a unit's status and holder, as the system reads them.
func unitState(label string) func(t *testing.T, w *apitest.World, _ string) string {
	return func(t *testing.T, w *apitest.World, _ string) string {
		u := w.Env.Client.Unit.GetX(apitest.System(), w.ID(label))
		if u.HeldByID == nil {
			return string(u.Status)
		}
		return string(u.Status) + " " + string(*u.HeldByID)
	}
}

// resetReservation puts dR and its unit back to reserved.
func resetReservation(t *testing.T, w *apitest.World, _ string) {
	w.Env.Client.Deal.UpdateOneID(w.ID("dR")).SetStage(deal.StageRESERVED).ClearContractedAt().ClearCancelledAt().ExecX(apitest.System())
	w.Env.Client.Unit.UpdateOneID(w.ID("uR")).SetStatus(unit.StatusRESERVED).ExecX(apitest.System())
}

// dealState is a deal's stage and its unit's status, as the system reads them.
func dealState(label string) func(t *testing.T, w *apitest.World, _ string) string {
	return func(t *testing.T, w *apitest.World, _ string) string {
		d := w.Env.Client.Deal.GetX(apitest.System(), w.ID(label))
		return string(d.Stage) + " " + string(w.Env.Client.Unit.GetX(apitest.System(), d.UnitID).Status)
	}
}

// authzWatch subscribes to project A's unit changes as the actor, then
// holds uFree (as the system) and reports what the subscriber hears.
func authzWatch(t *testing.T, w *apitest.World, actor string) string {
	sys := apitest.System()
	w.Env.Client.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusAVAILABLE).
		ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().ExecX(sys)
	srv := httptest.NewServer(w.Env.Handler)
	defer srv.Close()
	s, err := dial(t, srv.URL, authzSocketPayload(t, w, actor))
	if err != nil {
		return "!UNAUTHENTICATED"
	}
	subscribeWithin(s, w.Env.Hub, w.ID("pA"), time.Second)
	w.Env.Client.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A1")).
		SetHeldForID(w.ID("cA1")).SetHoldExpiresAt(time.Now().Add(time.Hour)).ExecX(sys)
	ctx, cancel := context.WithTimeout(s.ctx, 700*time.Millisecond)
	defer cancel()
	for {
		var m map[string]any
		if err := wsjson.Read(ctx, s.conn, &m); err != nil {
			return "no event"
		}
		switch m["type"] {
		case "next":
			p, _ := m["payload"].(map[string]any)
			if data, ok := p["data"].(map[string]any); ok {
				return authzRenderValue(w, data["unitStatusChanged"])
			}
			errs, _ := p["errors"].([]any)
			return authzSocketError(errs)
		case "error":
			errs, _ := m["payload"].([]any)
			return authzSocketError(errs)
		}
	}
}

// authzSocketPayload is the connection_init payload with the actor's credentials.
func authzSocketPayload(t *testing.T, w *apitest.World, actor string) map[string]any {
	payload := map[string]any{}
	switch actor {
	case "portal":
		payload["X-API-Key"] = w.PortalKey
	case "anonymous":
	default:
		tok, _, err := w.Env.Signer.Issue(w.Viewers[actor])
		if err != nil {
			t.Fatal(err)
		}
		payload["Authorization"] = "Bearer " + tok
	}
	return payload
}

// authzSocketError renders the first error of a WebSocket message as !CODE.
func authzSocketError(errs []any) string {
	if len(errs) > 0 {
		if e, ok := errs[0].(map[string]any); ok {
			if ext, ok := e["extensions"].(map[string]any); ok {
				return fmt.Sprintf("!%v", ext["code"])
			}
		}
	}
	return "!error"
}
