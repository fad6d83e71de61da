package api_test

// Filters and orders are reads (SPEC.md §3.4, issue 9 §3): a `where` or an
// `orderBy` on a field tells what the field holds, so a viewer may use one
// only on a field it reads on every row it sees, and an edge predicate
// (hasXWith) sees only the rows the viewer may see.
//
// The probes are derived from the schema by introspection, so a new filter,
// order or edge is probed without a new test: for every actor, every
// connection taking `where` or `orderBy` (the root ones and those one edge
// below), every where field and every order field is sent, and
//
//   - either the request is refused (FORBIDDEN or BAD_USER_INPUT) with
//     extensions.field naming the argument,
//   - or it is accepted, and the actor reads that field non-null on every row
//     it sees where the admin reads it non-null;
//
// and every edge predicate, given the IDs of rows the actor cannot see,
// matches nothing (hasXWith: {idIn: …}), and hasX agrees with it.

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/deal"
	"estatecrm/money"
)

// probeActors are the actors probed: everyone with credentials (an
// anonymous caller reads nothing and is refused before any filter runs).
func probeActors() []string {
	var out []string
	for _, a := range apitest.Actors {
		if a != "anonymous" {
			out = append(out, a)
		}
	}
	return out
}

// derivedFrom names, for a where field that is no field of its type, the
// field of the type that shows what it filters on. A where field missing
// here and from its type fails the test: say what shows it.
var derivedFrom = map[string]string{
	"Customer.phoneLast4": "phone", // the mask shows the last four digits
	// listings' filters: a path reads a field of an object field.
	"Listing.ids":        "id",
	"Listing.city":       "project.city",
	"Listing.district":   "project.district",
	"Listing.projectIds": "project.id",
	"Listing.priceMin":   "listPrice",
	"Listing.priceMax":   "listPrice",
	"Listing.areaMin":    "grossArea",
	"Listing.areaMax":    "grossArea",
}

// predicateSuffixes are entgql's where operators, longest first.
var predicateSuffixes = []string{"ContainsFold", "EqualFold", "HasPrefix", "HasSuffix", "Contains",
	"NotNil", "IsNil", "NotIn", "NEQ", "GTE", "LTE", "GT", "LT", "In"}

type typeRef struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OfType *typeRef `json:"ofType"`
}

// named is the type under any list and non-null wrappers.
func (r typeRef) named() typeRef {
	for r.OfType != nil {
		r = *r.OfType
	}
	return r
}

// sdl writes the type as in a variable definition.
func (r typeRef) sdl() string {
	switch r.Kind {
	case "NON_NULL":
		return r.OfType.sdl() + "!"
	case "LIST":
		return "[" + r.OfType.sdl() + "]"
	}
	return r.Name
}

func (r typeRef) isList() bool {
	for ; r.Kind == "NON_NULL" || r.Kind == "LIST"; r = *r.OfType {
		if r.Kind == "LIST" {
			return true
		}
	}
	return false
}

type schemaValue struct {
	Name string  `json:"name"`
	Type typeRef `json:"type"`
}

type schemaField struct {
	Name string        `json:"name"`
	Args []schemaValue `json:"args"`
	Type typeRef       `json:"type"`
}

type schemaType struct {
	Kind        string        `json:"kind"`
	Name        string        `json:"name"`
	Fields      []schemaField `json:"fields"`
	InputFields []schemaValue `json:"inputFields"`
	EnumValues  []struct {
		Name string `json:"name"`
	} `json:"enumValues"`
}

type probeSchema struct {
	query string
	types map[string]*schemaType
}

func (s *probeSchema) field(typ, name string) *schemaField {
	if t := s.types[typ]; t != nil {
		for i := range t.Fields {
			if t.Fields[i].Name == name {
				return &t.Fields[i]
			}
		}
	}
	return nil
}

func (s *probeSchema) input(typ, name string) *schemaValue {
	if t := s.types[typ]; t != nil {
		for i := range t.InputFields {
			if t.InputFields[i].Name == name {
				return &t.InputFields[i]
			}
		}
	}
	return nil
}

func arg(f *schemaField, name string) *schemaValue {
	for i := range f.Args {
		if f.Args[i].Name == name {
			return &f.Args[i]
		}
	}
	return nil
}

// nodeType is the node type of a connection type, "" if it is none.
func (s *probeSchema) nodeType(conn string) string {
	if !strings.HasSuffix(conn, "Connection") {
		return ""
	}
	edges := s.field(conn, "edges")
	if edges == nil {
		return ""
	}
	node := s.field(edges.Type.named().Name, "node")
	if node == nil {
		return ""
	}
	return node.Type.named().Name
}

func introspect(t *testing.T, env *apitest.Env) *probeSchema {
	t.Helper()
	res := env.Query(t, `{ __schema { queryType { name } types { kind name
		fields { name type { ...R } args { name type { ...R } } }
		inputFields { name type { ...R } } enumValues { name } } } }
		fragment R on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`, nil)
	var out struct {
		Schema struct {
			QueryType struct{ Name string } `json:"queryType"`
			Types     []*schemaType         `json:"types"`
		} `json:"__schema"`
	}
	res.Decode(t, &out)
	s := &probeSchema{query: out.Schema.QueryType.Name, types: map[string]*schemaType{}}
	for _, ty := range out.Schema.Types {
		s.types[ty.Name] = ty
	}
	return s
}

// probeConn is a connection the probes filter or order: a root field, or a
// field of the nodes of a root connection.
type probeConn struct {
	root, nested string
	node         string // the node type of the probed connection
	field        *schemaField
}

func (c probeConn) String() string {
	if c.nested == "" {
		return c.root
	}
	return c.root + "." + c.nested
}

// query wraps the probed connection, with args and selection, in its path.
func (c probeConn) query(vars, args, sel string) string {
	if c.nested == "" {
		return fmt.Sprintf("query%s { %s(%s) { %s } }", vars, c.root, args, sel)
	}
	return fmt.Sprintf("query%s { %s(first: 20) { edges { node { %s(%s) { %s } } } } }", vars, c.root, c.nested, args, sel)
}

// connections lists the connections taking where or orderBy, and the root
// connection of each node type.
func (s *probeSchema) connections() (probed []probeConn, rootOf map[string]string) {
	rootOf = map[string]string{}
	q := s.types[s.query]
	for i := range q.Fields {
		f := &q.Fields[i]
		node := s.nodeType(f.Type.named().Name)
		if node == "" || arg(f, "first") == nil {
			continue
		}
		if _, ok := rootOf[node]; !ok {
			rootOf[node] = f.Name
		}
		if arg(f, "where") != nil || arg(f, "orderBy") != nil {
			probed = append(probed, probeConn{root: f.Name, node: node, field: f})
		}
		for j := range s.types[node].Fields {
			g := &s.types[node].Fields[j]
			nested := s.nodeType(g.Type.named().Name)
			if nested != "" && (arg(g, "where") != nil || arg(g, "orderBy") != nil) {
				probed = append(probed, probeConn{root: f.Name, nested: g.Name, node: nested, field: g})
			}
		}
	}
	return probed, rootOf
}

// sample is a value of an input type, as a client would send it.
func (s *probeSchema) sample(r typeRef) any {
	if r.isList() {
		return []any{s.sample(r.named())}
	}
	n := r.named()
	switch n.Kind {
	case "ENUM":
		return s.types[n.Name].EnumValues[0].Name
	case "INPUT_OBJECT":
		return map[string]any{}
	}
	switch n.Name {
	case "Boolean":
		return true
	case "Int":
		return 1
	case "Float":
		return 1.5
	case "Money":
		return "1.00"
	case "Time":
		return time.Now().UTC().Format(time.RFC3339)
	}
	return "1" // String, ID and any other scalar taking a string
}

// baseField is the field a where field filters on: the name without its
// operator, when the input also has the field itself (its EQ form).
func (s *probeSchema) baseField(where, name string) string {
	for _, suf := range predicateSuffixes {
		if base, ok := strings.CutSuffix(name, suf); ok && s.input(where, base) != nil {
			return base
		}
	}
	return name
}

// prober runs the probes against one world and keeps what it learned.
type prober struct {
	t      *testing.T
	w      *apitest.World
	s      *probeSchema
	rootOf map[string]string
	reads  map[string]map[string]any // by conn/field/actor: node ID → value
	counts map[string]map[string]int // by actor, by kind of probe
}

func (p *prober) count(actor, kind string) {
	if p.counts[actor] == nil {
		p.counts[actor] = map[string]int{}
	}
	p.counts[actor][kind]++
}

// post sends a query as actor and decodes its data, failing on any error.
func (p *prober) post(actor, query string, vars map[string]any) map[string]any {
	p.t.Helper()
	res := p.w.Caller(p.t, actor).Query(p.t, query, vars)
	var data map[string]any
	res.Decode(p.t, &data)
	return data
}

// nodes walks data down path, collecting the objects at its end; lists
// along the way are flattened.
func nodes(v any, path ...string) []map[string]any {
	if len(path) == 0 {
		if m, ok := v.(map[string]any); ok {
			return []map[string]any{m}
		}
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		return nodes(v[path[0]], path[1:]...)
	case []any:
		var out []map[string]any
		for _, e := range v {
			out = append(out, nodes(e, path...)...)
		}
		return out
	}
	return nil
}

func (c probeConn) nodePath() []string {
	if c.nested == "" {
		return []string{c.root, "edges", "node"}
	}
	return []string{c.root, "edges", "node", c.nested, "edges", "node"}
}

func (c probeConn) countPath() []string {
	if c.nested == "" {
		return []string{c.root}
	}
	return []string{c.root, "edges", "node", c.nested}
}

// read returns what actor reads of field on the nodes of c, by node ID.
func (p *prober) read(c probeConn, field, actor string) map[string]any {
	key := c.String() + "/" + field + "/" + actor
	if got, ok := p.reads[key]; ok {
		return got
	}
	first := "first: 100"
	if c.nested != "" {
		first = "first: 50"
	}
	// A path (project.city) reads a field of an object field.
	path := strings.Split(field, ".")
	sel := strings.Join(path, " { ") + strings.Repeat(" }", len(path)-1)
	data := p.post(actor, c.query("", first, "edges { node { id "+sel+" } }"), nil)
	got := map[string]any{}
	for _, n := range nodes(data, c.nodePath()...) {
		var v any = n
		for _, f := range path {
			if m, ok := v.(map[string]any); ok {
				v = m[f]
			} else {
				v = nil
			}
		}
		got[n["id"].(string)] = v
	}
	p.reads[key] = got
	return got
}

// unreadable lists the nodes of c on which actor reads field as null where
// the admin reads a value.
func (p *prober) unreadable(c probeConn, field, actor string) []string {
	admin, mine := p.read(c, field, "admin"), p.read(c, field, actor)
	var out []string
	for id, v := range mine {
		if v == nil && admin[id] != nil {
			out = append(out, p.w.Label(id))
		}
	}
	sort.Strings(out)
	return out
}

// refusal classifies a response: nil when it was answered, else the error
// that refused it. Any error that is not a refusal naming a field fails.
func (p *prober) refusal(what string, res *apitest.Response, field func(string) bool) *apitest.Error {
	p.t.Helper()
	if len(res.Errors) == 0 {
		return nil
	}
	e := res.Errors[0]
	if (e.Code() != "FORBIDDEN" && e.Code() != "BAD_USER_INPUT") || !field(e.Field()) {
		p.t.Errorf("%s: want an answer or a refusal naming the argument, got %s", what, res.Body)
	}
	return &e
}

// closed reports whether c refuses actor whatever the filter: a root
// field only some roles may call.
func (p *prober) closed(c probeConn, actor string) bool {
	res := p.w.Caller(p.t, actor).Query(p.t, c.query("", "first: 1", "totalCount"), nil)
	if len(res.Errors) > 0 {
		p.count(actor, "closed")
		return true
	}
	return false
}

// total sums the totalCount of c's connections in a response.
func total(c probeConn, data map[string]any) int {
	n := 0
	for _, conn := range nodes(data, c.countPath()...) {
		n += int(conn["totalCount"].(float64))
	}
	return n
}

// probeWhere filters c by each of its where fields as actor.
func (p *prober) probeWhere(c probeConn, actor string) {
	where := arg(c.field, "where")
	if where == nil {
		return
	}
	input := where.Type.named().Name
	q := c.query("($w: "+where.Type.sdl()+")", "first: 1, where: $w", "totalCount")
	for _, f := range p.s.types[input].InputFields {
		switch {
		case f.Name == "and" || f.Name == "or" || f.Name == "not":
			continue // structure, not a field: probed through the fields it holds
		case f.Type.named().Kind == "INPUT_OBJECT":
			p.probeEdge(c, q, f, actor)
			continue
		case p.s.input(input, f.Name+"With") != nil:
			p.probeHas(c, q, f.Name, actor)
			continue
		}
		p.count(actor, "where")
		what := fmt.Sprintf("%s as %s, where: {%s}", c, actor, f.Name)
		res := p.w.Caller(p.t, actor).Query(p.t, q, map[string]any{"w": map[string]any{f.Name: p.s.sample(f.Type)}})
		if p.refusal(what, res, func(got string) bool { return got == "where."+f.Name }) != nil {
			p.count(actor, "refused")
			continue
		}
		base := p.s.baseField(input, f.Name)
		if d, ok := derivedFrom[c.node+"."+base]; ok {
			base = d
		}
		if p.s.field(c.node, strings.Split(base, ".")[0]) == nil {
			p.t.Errorf("%s: %s has no field %s to read: name the field that shows it in derivedFrom", what, c.node, base)
			continue
		}
		if hidden := p.unreadable(c, base, actor); len(hidden) > 0 {
			p.t.Errorf("%s is answered, yet %s reads %s as null on %v", what, actor, base, hidden)
		}
	}
}

// visibleIDs returns the IDs of the nodes of type typ that actor sees, and
// of those it does not.
func (p *prober) visibleIDs(typ, actor string) (seen, unseen []string) {
	root := p.rootOf[typ]
	if root == "" {
		p.t.Fatalf("no root connection of %s to find its IDs", typ)
	}
	c := probeConn{root: root, node: typ}
	all, mine := p.read(c, "id", "admin"), p.read(c, "id", actor)
	for id := range all {
		if _, ok := mine[id]; ok {
			seen = append(seen, id)
		} else {
			unseen = append(unseen, id)
		}
	}
	return seen, unseen
}

// probeEdge filters c by an edge predicate naming only rows actor cannot
// see: it must match nothing.
func (p *prober) probeEdge(c probeConn, q string, f schemaValue, actor string) {
	target := strings.TrimSuffix(f.Type.named().Name, "WhereInput")
	_, unseen := p.visibleIDs(target, actor)
	if len(unseen) == 0 {
		return // nothing hidden from this actor to probe with
	}
	p.count(actor, "edge")
	what := fmt.Sprintf("%s as %s, where: {%s: {idIn: %d unseen}}", c, actor, f.Name, len(unseen))
	res := p.w.Caller(p.t, actor).Query(p.t, q, map[string]any{"w": map[string]any{f.Name: []any{map[string]any{"idIn": unseen}}}})
	if p.refusal(what, res, func(got string) bool { return got == "where."+f.Name }) != nil {
		p.count(actor, "refused")
		return
	}
	var data map[string]any
	res.Decode(p.t, &data)
	if n := total(c, data); n != 0 {
		p.t.Errorf("%s matches %d rows, want none: the edge predicate looks at rows %s cannot see", what, n, actor)
	}
}

// probeHas filters c by hasX: true and false, which must agree with
// hasXWith the IDs actor sees.
func (p *prober) probeHas(c probeConn, q, has, actor string) {
	input := arg(c.field, "where").Type.named().Name
	target := strings.TrimSuffix(p.s.input(input, has+"With").Type.named().Name, "WhereInput")
	seen, _ := p.visibleIDs(target, actor)
	count := func(w map[string]any) (int, bool) {
		res := p.w.Caller(p.t, actor).Query(p.t, q, map[string]any{"w": w})
		if p.refusal(fmt.Sprintf("%s as %s, where: %v", c, actor, w), res, func(got string) bool { return strings.HasPrefix(got, "where.") }) != nil {
			return 0, false
		}
		var data map[string]any
		res.Decode(p.t, &data)
		return total(c, data), true
	}
	all, _ := count(nil)
	want := 0
	if len(seen) > 0 {
		want, _ = count(map[string]any{has + "With": []any{map[string]any{"idIn": seen}}})
	}
	for _, v := range []bool{true, false} {
		p.count(actor, "edge")
		got, ok := count(map[string]any{has: v})
		if !ok {
			continue
		}
		if exp := map[bool]int{true: want, false: all - want}[v]; got != exp {
			p.t.Errorf("%s as %s, where: {%s: %v} matches %d rows, want %d (as many as have an %s the actor sees)", c, actor, has, v, got, exp, target)
		}
	}
}

// probeOrder orders c by each of its order fields as actor.
func (p *prober) probeOrder(c probeConn, actor string) {
	orderBy := arg(c.field, "orderBy")
	if orderBy == nil {
		return
	}
	field := p.s.input(orderBy.Type.named().Name, "field")
	if field == nil {
		p.t.Fatalf("%s: orderBy has no field", c)
	}
	q := c.query("($o: "+orderBy.Type.sdl()+")", "first: 50, orderBy: $o", "edges { node { id } }")
	for _, v := range p.s.types[field.Type.named().Name].EnumValues {
		p.count(actor, "order")
		what := fmt.Sprintf("%s as %s, orderBy: %s", c, actor, v.Name)
		res := p.w.Caller(p.t, actor).Query(p.t, q, map[string]any{"o": []any{map[string]any{"field": v.Name}}})
		if e := p.refusal(what, res, func(got string) bool { return strings.HasPrefix(got, "orderBy") }); e != nil {
			if !strings.Contains(e.Message, v.Name) {
				p.t.Errorf("%s: the refusal does not name %s: %s", what, v.Name, e.Message)
			}
			p.count(actor, "refused")
			continue
		}
		base := lowerCamel(v.Name)
		if p.s.field(c.node, base) == nil {
			p.t.Errorf("%s: %s has no field %s to read", what, c.node, base)
			continue
		}
		if hidden := p.unreadable(c, base, actor); len(hidden) > 0 {
			p.t.Errorf("%s is answered, yet %s reads %s as null on %v", what, actor, base, hidden)
		}
	}
}

// lowerCamel turns an order field (LIST_PRICE) into its field (listPrice).
func lowerCamel(s string) string {
	parts := strings.Split(strings.ToLower(s), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// probeWorld is the authorization world with a deal an agent sees with its
// terms masked: A2 reserved uR for cA1 before cA1 went to A1, and the deal
// was cancelled, so A1 sees it (its customer's) but not its price.
func probeWorld(t *testing.T) *apitest.World {
	t.Helper()
	env := apitest.New(t)
	w := env.World(t)
	d, err := env.Client.Deal.Create().SetUnitID(w.ID("uR")).SetCustomerID(w.ID("cA1")).
		SetAgentID(w.ID("A2")).SetProjectID(w.ID("pA")).SetStage(deal.StageCANCELLED).
		SetPrice(money.Yuan(2_950_000)).SetDiscountBp(150).SetDeposit(money.Yuan(20_000)).
		SetPaymentMethod(deal.PaymentMethodFULL).SetReservedAt(w.Now.Add(-72 * time.Hour)).
		SetCancelledAt(w.Now.Add(-60 * time.Hour)).SetCancelReason("customer changed agent").
		Save(apitest.System())
	if err != nil {
		t.Fatal(err)
	}
	w.Add("dA2c", d.ID)
	return w
}

func TestFiltersAndOrdersReadOnlyWhatTheViewerReads(t *testing.T) {
	w := probeWorld(t)
	s := introspect(t, w.Env)
	conns, rootOf := s.connections()
	if len(conns) == 0 {
		t.Fatal("no connection takes where or orderBy: the introspection found nothing to probe")
	}
	var names []string
	for _, c := range conns {
		names = append(names, c.String())
	}
	t.Logf("%d connections probed: %s", len(conns), strings.Join(names, ", "))
	p := &prober{t: t, w: w, s: s, rootOf: rootOf, reads: map[string]map[string]any{}, counts: map[string]map[string]int{}}
	for _, actor := range probeActors() {
		for _, c := range conns {
			if p.closed(c, actor) {
				continue // not offered to this actor at all: nothing to filter
			}
			p.probeWhere(c, actor)
			p.probeOrder(c, actor)
		}
	}
	for _, actor := range probeActors() {
		k := p.counts[actor]
		t.Logf("%-6s %4d probes: %d where, %d order, %d edge; %d refused; %d connections closed to it",
			actor, k["where"]+k["order"]+k["edge"], k["where"], k["order"], k["edge"], k["refused"], k["closed"])
	}
}

// Found by the probes: a read of a deal's discount or deposit without its
// price did not load the deal's agent, so the mask hid the terms even of the
// agent's own deals. The mask's deciding columns load with any masked field.
func TestOwnDealTermsReadWithoutPrice(t *testing.T) {
	w := probeWorld(t)
	var out struct {
		Deals struct {
			Edges []struct {
				Node struct {
					ID         string
					DiscountBp *int
					Deposit    *string
				}
			}
		}
	}
	w.Caller(t, "A1").Query(t, `{ deals(first: 10) { edges { node { id discountBp deposit } } } }`, nil).Decode(t, &out)
	got := map[string]bool{}
	for _, e := range out.Deals.Edges {
		n := e.Node
		got[w.Label(n.ID)] = n.DiscountBp != nil && n.Deposit != nil
	}
	// dR and dH1 are A1's; dA2c is A2's deal of A1's customer.
	if want := map[string]bool{"dR": true, "dH1": true, "dA2c": false}; !maps.Equal(got, want) {
		t.Fatalf("A1 reads the terms of %v, want %v", got, want)
	}
}
