package api_test

// Field collection reads only the columns a query asks for (issue 10): the
// columns of the fields selected, those a hand-written resolver names
// (ent/schema/gqlselect) and those the privacy masks decide by (rule's
// loadDeciders). A column that a mask, an audit or a resolver reads but that
// is not selected shows as a wrong answer only when the field is asked for
// without the others: a phone masked for its own agent, a hold shown as
// live after it lapsed, a churn risk computed from a zero time.
//
// So, derived from the schema by introspection: for every root connection,
// every actor and every field of the node type, the field read alone (with
// the id) must answer exactly what it answers read together with every
// other field, on the same rows, with the same errors.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/customer"
)

// selection is the selection of every field of typ that takes no required
// argument: leaves as they are, objects with their own leaves (and the id
// of objects under them), connections with the ids of a few nodes.
func (s *probeSchema) selection(typ string, depth int) map[string]string {
	out := map[string]string{}
	t := s.types[typ]
	if t == nil {
		return out
	}
	for _, f := range t.Fields {
		if slices.ContainsFunc(f.Args, func(a schemaValue) bool { return a.Type.Kind == "NON_NULL" }) {
			continue
		}
		named := f.Type.named()
		switch kind := s.types[named.Name].Kind; {
		case kind == "SCALAR" || kind == "ENUM":
			out[f.Name] = f.Name
		case s.nodeType(named.Name) != "":
			if depth == 0 {
				out[f.Name] = f.Name + "(first: 3) { edges { node { id } } }"
			}
		case kind == "OBJECT":
			if depth > 0 {
				if s.field(named.Name, "id") != nil {
					out[f.Name] = f.Name + " { id }"
				}
				continue
			}
			sub := s.selection(named.Name, depth+1)
			if len(sub) > 0 {
				out[f.Name] = f.Name + " { " + strings.Join(sortedValues(sub), " ") + " }"
			}
		default:
			out[f.Name] = f.Name + " { __typename }"
		}
	}
	return out
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// fieldRead is what one query answered: each node's fields by node id, in
// the order the nodes came, and the errors by node index and field.
type fieldRead struct {
	ids    []string
	nodes  map[string]map[string]any
	errors map[string][]string // "index/field" → messages
	closed bool                // refused as a whole
}

func readNodes(t *testing.T, c *apitest.Caller, root, sel string) fieldRead {
	t.Helper()
	// 16, not 20: every field of a customer at once, 20 of them, is over
	// the query cost limit (graph/guard).
	res := c.Query(t, fmt.Sprintf("{ %s(first: 16) { edges { node { id %s } } } }", root, sel), nil)
	var data map[string]struct {
		Edges []struct{ Node map[string]any }
	}
	if err := json.Unmarshal(res.Data, &data); err != nil && len(res.Data) > 0 && string(res.Data) != "null" {
		t.Fatalf("%s: %v in %s", root, err, res.Body)
	}
	r := fieldRead{nodes: map[string]map[string]any{}, errors: map[string][]string{}}
	for _, e := range res.Errors {
		if len(e.Path) <= 1 {
			if code := e.Code(); code != "FORBIDDEN" && code != "UNAUTHENTICATED" && code != "NOT_FOUND" {
				t.Fatalf("%s { %.200s… }: %s", root, sel, res.Body)
			}
			r.closed = true
			continue
		}
		if len(e.Path) >= 5 {
			r.errors[fmt.Sprintf("%v/%v", e.Path[2], e.Path[4])] = append(r.errors[fmt.Sprintf("%v/%v", e.Path[2], e.Path[4])], e.Message)
		} else {
			t.Fatalf("%s: an error on the connection itself: %s", root, res.Body)
		}
	}
	if conn, ok := data[root]; ok {
		for _, e := range conn.Edges {
			// A node nulled by an error in a non-null field of it (an
			// edge the viewer may not follow) keeps its place.
			id, _ := e.Node["id"].(string)
			r.ids = append(r.ids, id)
			r.nodes[id] = e.Node
		}
	}
	return r
}

func TestEveryFieldReadAloneAsWithAllOthers(t *testing.T) {
	w := probeWorld(t)
	// Values that the hand-written fields compute from: a grade-A customer
	// not contacted for 10 days is a churn risk, an attribution has a date
	// and a rule.
	if err := w.Env.Client.Customer.UpdateOneID(w.ID("cA1")).SetGrade(customer.GradeA).
		SetLastContactAt(time.Now().Add(-10 * 24 * time.Hour)).SetOwnedSince(time.Now().Add(-20 * 24 * time.Hour)).
		SetAttributionRule(customer.AttributionRuleCLAIMED).Exec(apitest.System()); err != nil {
		t.Fatal(err)
	}
	// (Lapsed holds on every path: lapse_test.go.)
	// One instant for the whole test: SLA clocks, churn risk and lapsed
	// holds are computed from the request's clock.
	now := time.Now()
	w.Env.Now = func() time.Time { return now }
	s := introspect(t, w.Env)
	q := s.types[s.query]
	checked := map[string]int{}
	for _, root := range q.Fields {
		node := s.nodeType(root.Type.named().Name)
		if node == "" || arg(&root, "first") == nil ||
			slices.ContainsFunc(root.Args, func(a schemaValue) bool { return a.Type.Kind == "NON_NULL" }) {
			continue
		}
		sels := s.selection(node, 0)
		full := strings.Join(sortedValues(sels), " ")
		// Reading audited fields (a manager reading phones) writes audit
		// events: their list grows while the test reads it.
		growing := node == "AuditEvent"
		for _, actor := range probeActors() {
			c := w.Caller(t, actor)
			all := readNodes(t, c, root.Name, full)
			if all.closed {
				continue
			}
			for name, sel := range sels {
				one := readNodes(t, c, root.Name, sel)
				where := fmt.Sprintf("%s { %s } as %s", root.Name, sel, actor)
				if one.closed {
					t.Errorf("%s: refused alone, answered with the other fields", where)
					continue
				}
				if !growing && !sameRows(one, all) {
					t.Errorf("%s: rows %v alone, %v with the other fields", where, one.ids, all.ids)
					continue
				}
				for i, id := range one.ids {
					other, ok := all.nodes[id]
					if !ok {
						continue // a new audit event, or nulled with the other fields
					}
					if got, want := one.nodes[id][name], other[name]; !reflect.DeepEqual(got, want) {
						t.Errorf("%s: node %s reads %v alone, %v with the other fields", where, w.Label(id), got, want)
					}
					if !growing {
						key := fmt.Sprintf("%d/%s", i, name)
						if got, want := one.errors[key], all.errors[key]; !slices.Equal(got, want) {
							t.Errorf("%s: node %s errors %q alone, %q with the other fields", where, w.Label(id), got, want)
						}
					}
				}
				checked[node]++
			}
		}
	}
	for _, typ := range []string{"Unit", "Customer", "Visit"} {
		if checked[typ] == 0 {
			t.Errorf("no field of %s was checked: the introspection found no root connection of it", typ)
		}
	}
	t.Logf("fields checked per type (times actors): %v", checked)
}

// sameRows reports whether one and all read the same rows in the same order,
// where a row all read as null (an error in another of its fields) may be
// anything in one.
func sameRows(one, all fieldRead) bool {
	if len(one.ids) != len(all.ids) {
		return false
	}
	for i := range one.ids {
		if all.ids[i] == "" && all.nulled(i) {
			continue
		}
		if one.ids[i] != all.ids[i] {
			return false
		}
	}
	return true
}

// nulled reports whether an error was raised in the i-th node.
func (r fieldRead) nulled(i int) bool {
	for k := range r.errors {
		if strings.HasPrefix(k, fmt.Sprintf("%d/", i)) {
			return true
		}
	}
	return false
}
