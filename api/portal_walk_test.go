package api_test

// A portal walks the whole schema (issue 12): every root query it can call,
// and every object by id through nodes(ids:), each with all its fields and
// the type of every object one field further. It reaches projects,
// buildings, units, listings and their change log, never a person (a
// customer, a user, a visit, a deal, a complaint …), and reads every
// internal field (the sales office's rules, who holds a unit and until
// when) as null. The walk is derived from the schema by introspection, so a
// new type or field is walked without a new test.

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"estatecrm/api/apitest"
)

// portalReachable are the types a portal may read a non-null value of.
var portalReachable = map[string]bool{
	"Project": true, "Building": true, "Unit": true, "Amenity": true, "PageInfo": true,
	"Listing": true, "ListingProject": true, "ListingBuilding": true, "ListingChange": true,
	"SalesGrid": true, "SalesGridBuilding": true, "SalesGridFloor": true, "UnitStatusCount": true,
	"PriceChange": true,
}

// portalInternal are the fields a portal must read as null.
var portalInternal = map[string]bool{
	"Project.protectionDays": true, "Project.holdMinutes": true, "Project.agentDiscountCapBp": true,
	"Unit.holdExpiresAt": true, "Unit.heldBy": true, "Unit.heldFor": true, "Unit.heldByID": true, "Unit.heldForID": true,
	"PriceChange.changedBy": true, "PriceChange.changedByID": true,
}

type walkType struct {
	Name          string      `json:"name"`
	Kind          string      `json:"kind"`
	Fields        []walkField `json:"fields"`
	PossibleTypes []struct {
		Name string `json:"name"`
	} `json:"possibleTypes"`
}

type walkField struct {
	Name string `json:"name"`
	Args []struct {
		Name         string  `json:"name"`
		DefaultValue *string `json:"defaultValue"`
		Type         typeRef `json:"type"`
	} `json:"args"`
	Type typeRef `json:"type"`
}

type walker struct {
	types map[string]walkType
	ids   map[string]string // argument values by name (projectId …)
}

// args returns the arguments to call f with, and false when a required
// one cannot be given.
func (w walker) args(f walkField) (string, bool) {
	var out []string
	for _, a := range f.Args {
		switch {
		case a.Name == "first":
			out = append(out, "first: 3")
		case w.ids[a.Name] != "":
			out = append(out, a.Name+": "+w.ids[a.Name])
		case a.Type.Kind == "NON_NULL" && a.DefaultValue == nil:
			return "", false
		}
	}
	if len(out) == 0 {
		return "", true
	}
	return "(" + strings.Join(out, ", ") + ")", true
}

// selection selects every field of typ: scalars as they are, objects with
// their type name (and, deeper than that, their own fields while depth
// lasts); a connection counts as its nodes.
func (w walker) selection(typ string, depth int) string {
	t := w.types[typ]
	if strings.HasSuffix(typ, "Connection") {
		var node string
		for _, f := range w.types[strings.TrimSuffix(typ, "Connection")+"Edge"].Fields {
			if f.Name == "node" {
				node = f.Type.named().Name
			}
		}
		if node != "" {
			return "__typename edges { __typename node { " + w.selection(node, depth) + " } }"
		}
	}
	if t.Kind == "INTERFACE" || t.Kind == "UNION" {
		parts := []string{"__typename"}
		for _, p := range t.PossibleTypes {
			parts = append(parts, "... on "+p.Name+" { "+w.selection(p.Name, depth)+" }")
		}
		return strings.Join(parts, " ")
	}
	parts := []string{"__typename"}
	for _, f := range t.Fields {
		args, ok := w.args(f)
		if !ok {
			continue
		}
		switch k := f.Type.named().Kind; {
		case k == "SCALAR" || k == "ENUM":
			parts = append(parts, f.Name+args)
		case depth > 0:
			parts = append(parts, f.Name+args+" { "+w.selection(f.Type.named().Name, depth-1)+" }")
		default:
			parts = append(parts, f.Name+args+" { __typename }")
		}
	}
	return strings.Join(parts, " ")
}

// walkAnswer walks an answer: every object's type name, and the internal fields
// read non-null, as "Type.field".
func walkAnswer(v any, reached map[string]bool, leaks map[string]bool) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walkAnswer(e, reached, leaks)
		}
	case map[string]any:
		typ, _ := x["__typename"].(string)
		if typ != "" {
			reached[typ] = true
		}
		for k, e := range x {
			if portalInternal[typ+"."+k] && e != nil {
				leaks[typ+"."+k] = true
			}
			walkAnswer(e, reached, leaks)
		}
	}
}

func TestPortalWalksTheSchemaToNoPersonNorInternalField(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	res := env.Query(t, `{ __schema { types { name kind possibleTypes { name }
	  fields { name args { name defaultValue type { kind name ofType { kind name ofType { kind name } } } }
	    type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`, nil)
	var schema struct {
		Schema struct{ Types []walkType } `json:"__schema"`
	}
	res.Decode(t, &schema)
	wk := walker{types: map[string]walkType{}, ids: map[string]string{"projectId": `"` + string(w.ID("pA")) + `"`,
		"endpointId": `"WE01ARZ3NDEKTSV4RRFFQ69G5FAV"`,          // webhooks: a portal is refused before any is read
		"period":     `{from: "2026-11-01", to: "2026-11-30"}`}} // dashboards: a portal is refused
	for _, typ := range schema.Schema.Types {
		wk.types[typ.Name] = typ
	}
	portal := w.Caller(t, "portal")
	reached, leaks := map[string]bool{}, map[string]bool{}
	walked := 0
	send := func(what, q string, vars map[string]any) {
		t.Helper()
		res := portal.Query(t, q, vars)
		for _, e := range res.Errors {
			switch e.Code() {
			case "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT": // refused: nothing read
			default:
				t.Errorf("%s: %s", what, res.Body)
			}
		}
		var data any
		if err := json.Unmarshal(res.Data, &data); err == nil {
			walkAnswer(data, reached, leaks)
		}
		walked++
	}
	// Every root query the portal can call, two objects deep.
	for _, f := range wk.types["Query"].Fields {
		if f.Name == "node" || f.Name == "nodes" || strings.HasPrefix(f.Name, "__") {
			continue
		}
		args, ok := wk.args(f)
		if !ok {
			t.Errorf("Query.%s: the walk cannot call it: give its arguments a value", f.Name)
			continue
		}
		sel := ""
		if k := f.Type.named().Kind; k != "SCALAR" && k != "ENUM" {
			sel = " { " + wk.selection(f.Type.named().Name, 1) + " }"
		}
		send("Query."+f.Name, "{ "+f.Name+args+sel+" }", nil)
	}
	// Every object of the world by id, each node type with all its fields.
	var ids []string
	for _, l := range w.Labels() {
		ids = append(ids, string(w.ID(l)))
	}
	for _, p := range wk.types["Node"].PossibleTypes {
		send("nodes as "+p.Name, `query($ids: [ID!]!) { nodes(ids: $ids) { ... on `+p.Name+` { `+wk.selection(p.Name, 0)+` } } }`,
			map[string]any{"ids": ids})
	}
	var persons, leaked []string
	for typ := range reached {
		if !portalReachable[typ] && !strings.HasSuffix(typ, "Connection") && !strings.HasSuffix(typ, "Edge") &&
			!strings.HasSuffix(typ, "Payload") && typ != "Query" {
			persons = append(persons, typ)
		}
	}
	for f := range leaks {
		leaked = append(leaked, f)
	}
	sort.Strings(persons)
	sort.Strings(leaked)
	var seen []string
	for typ := range reached {
		seen = append(seen, typ)
	}
	sort.Strings(seen)
	t.Logf("%d requests; the portal reached %v", walked, seen)
	if len(persons) > 0 {
		t.Errorf("a portal reached %v: no person, nothing but the catalogue and listings", persons)
	}
	if len(leaked) > 0 {
		t.Errorf("a portal read internal fields %v", leaked)
	}
	for _, want := range []string{"Listing", "ListingProject", "ListingChange", "Unit", "Project"} {
		if !reached[want] {
			t.Errorf("the walk never reached %s: it walks too little to prove anything", want)
		}
	}
}
