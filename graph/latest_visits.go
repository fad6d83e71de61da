package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/visit"
	"estatecrm/graph/arguments"
	"estatecrm/rule"
)

// A page of customers with each one's latest visits is what an agent's
// phone asks most (a customer found by phone suffix with the last 5
// visits). ent loads the visits edge in a second statement once it has the
// customers' keys; on PostgreSQL the page below reads them in the
// customers' statement instead: one round trip, one statement to run.
//
// Each customer row carries, in a column of its own, the JSON array of its
// latest visits (each visit an array of the columns the nodes answer, in
// the order the selection names them), read by a correlated subquery that is the Visit query ent
// would run for the edge (ent's SQLSelector: the Visit privacy policy and
// filters applied, so an agent still gets only their own visits and those
// of customers they own), ordered and limited as the edge's arguments say.
// That subquery, rendered, is kept per viewer and selection (fold_cache.go).
// The visits field is taken out of the selection that ent's field
// collection sees (so it does not load the edge again), and its resolver
// answers from the column.
//
// Only a plain shape is folded, so that the answer is the edge's answer
// field for field: `visits(first: N[, orderBy: one field])` asking only
// `edges { node { <columns of a visit> } }`, under `customers { edges {
// node { … } } }` without fragments or directives on that path, and no
// totalCount or pageInfo on the customers (whose COUNT must not carry the
// column). Anything else goes ent's usual way.

// maxFoldedVisits bounds the visits per customer read in the folded column.
const maxFoldedVisits = 100

// foldedVisitsPrefix names a customer row's column of folded visits: the
// prefix and the GraphQL alias of the visits field.
const foldedVisitsPrefix = "folded_visits_"

// visitColumns are the Visit fields that are columns read as they are
// (JSON columns and edges are not folded), by GraphQL name.
var visitColumns = map[string]string{
	"id":                 visit.FieldID,
	"createdAt":          visit.FieldCreatedAt,
	"updatedAt":          visit.FieldUpdatedAt,
	"customerID":         visit.FieldCustomerID,
	"agentID":            visit.FieldAgentID,
	"projectID":          visit.FieldProjectID,
	"kind":               visit.FieldKind,
	"occurredAt":         visit.FieldOccurredAt,
	"durationMinutes":    visit.FieldDurationMinutes,
	"notes":              visit.FieldNotes,
	"gradeAfter":         visit.FieldGradeAfter,
	"nextFollowUpAt":     visit.FieldNextFollowUpAt,
	"nextFollowUpAction": visit.FieldNextFollowUpAction,
}

// visitOrderColumns are the VisitOrderField values foldable, by name.
var visitOrderColumns = map[string]string{
	ent.VisitOrderFieldOccurredAt.String(): visit.FieldOccurredAt,
}

// foldLatestVisits returns the context in which q pages customers: when the
// customers field asks for their latest visits in the plain shape, q reads
// them in its own statement and the context's selection no longer has the
// visits field; otherwise ctx unchanged.
func (r *Resolver) foldLatestVisits(ctx context.Context, q *ent.CustomerQuery) context.Context {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !graphql.HasOperationContext(ctx) {
		return ctx
	}
	vars := graphql.GetOperationContext(ctx).Variables
	edges, node, visits, ok := foldablePath(fc.Field.Field, "visits")
	if !ok {
		return ctx
	}
	first, order, dir, cols, out, ok := foldableVisits(arguments.Of(ctx, visits, vars), visits)
	if !ok {
		return ctx
	}
	key, cacheable := foldKey(ctx, first, order, dir, cols, out)
	cached := cacheable && r.folds.has(key)
	// The visible visits: the Visit query with its policy applied. Built
	// when the rendered subquery is not cached yet (or cannot be).
	// Under the customer row: the agent's rule compares that row's owner
	// instead of listing the customers they own (rule.VisitsOfCustomerRow).
	rowCtx := rule.VisitsOfCustomerRow(ctx, customer.Table)
	selector := func() (*sql.Selector, error) { return r.client.Visit.Query().Select(cols...).SQLSelector(rowCtx) }
	var vs *sql.Selector
	if !cached {
		var err error
		if vs, err = selector(); err != nil || vs.Dialect() != dialect.Postgres {
			return ctx // a refusal is the edge's to give, as it would
		}
	}
	// The edge's order: its field, then the id ascending (ent's pager).
	order = fmt.Sprintf("%%[1]s.%s %s, %%[1]s.%s ASC", quote(order), dir, quote(visit.FieldID))
	column := foldedVisitsPrefix + visits.Alias
	q.Modify(func(s *sql.Selector) {
		s.AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
			outer := s.C(customer.FieldID)
			if want := sql.Dialect(b.Dialect()).Table(customer.Table).C(customer.FieldID); outer != want {
				// The policy's filter names the customers table (rowCtx).
				b.AddError(fmt.Errorf("folded visits: the customer row is %s, not %s", outer, want))
				return
			}
			if f := r.folds.get(key, b.Total(), outer); cacheable && f != nil {
				b.Join(f)
				return
			}
			if vs == nil {
				var err error
				if vs, err = selector(); err != nil {
					b.AddError(err)
					return
				}
			}
			// The visible visits are a derived table, so that the customer's
			// condition is ANDed with the policy's filters whatever their form.
			f := &sql.Builder{}
			f.SetDialect(b.Dialect())
			f.SetTotal(b.Total()) // PostgreSQL's placeholders are numbered
			// ARRAY(subquery) keeps the subquery's order: no second sort,
			// as json_agg(… ORDER BY …) made; an array per visit, not an
			// object: no key written per column (together a sixth of the
			// statement's execution time).
			f.WriteString("array_to_json(ARRAY(SELECT " + jsonArray(cols[:out]) + " FROM (").
				Join(vs).
				WriteString(fmt.Sprintf(") AS w WHERE w.%s = %s ORDER BY %s LIMIT %d))", quote(visit.FieldCustomerID), outer, fmt.Sprintf(order, "w"), first))
			if f.Err() != nil {
				b.AddError(f.Err())
				return
			}
			text, args := f.Query()
			if cacheable {
				r.folds.put(key, &renderedFold{total: b.Total(), outer: outer, text: text, args: args})
			}
			b.Join(&renderedFold{text: text, args: args})
		}), column)
	})
	// The selection ent collects: the same, less the visits field.
	pruned := *fc
	pruned.Field.Field = without(fc.Field.Field, edges, node, visits)
	pruned.Field.Selections = pruned.Field.Field.SelectionSet
	return graphql.WithFieldContext(ctx, &pruned)
}

func quote(ident string) string { return `"` + ident + `"` }

// jsonArray is the JSON array of a folded visit row w: its columns cols, in
// their order. Only the columns the nodes answer: the row's whole record
// also carried the id and customer_id that only the statement needs. The
// names are ent's column names: nothing in them to escape.
func jsonArray(cols []string) string {
	var b strings.Builder
	b.WriteString("json_build_array(")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("w." + quote(c))
	}
	b.WriteString(")")
	return b.String()
}

// foldablePath finds f { edges { node { child } } } (customers { edges {
// node { visits } } }) with only fields (no fragments, no directives) on
// the way and, beside edges, only the fields named in besideEdges (neither
// totalCount nor pageInfo unless named).
func foldablePath(f *ast.Field, child string, besideEdges ...string) (edges, node, visits *ast.Field, ok bool) {
	only := func(set ast.SelectionSet, allowed ...string) (map[string]*ast.Field, bool) {
		out := map[string]*ast.Field{}
		for _, sel := range set {
			f, isField := sel.(*ast.Field)
			if !isField || len(f.Directives) > 0 {
				return nil, false
			}
			if allowed != nil && !contains(allowed, f.Name) {
				return nil, false
			}
			if f.Name == "__typename" {
				continue
			}
			if _, twice := out[f.Name]; twice {
				return nil, false
			}
			out[f.Name] = f
		}
		return out, true
	}
	top, ok := only(f.SelectionSet, append([]string{"edges", "__typename"}, besideEdges...)...)
	if !ok || top["edges"] == nil {
		return nil, nil, nil, false
	}
	edges = top["edges"]
	e, ok := only(edges.SelectionSet, "node", "cursor", "__typename")
	if !ok || e["node"] == nil {
		return nil, nil, nil, false
	}
	node = e["node"]
	n, ok := only(node.SelectionSet)
	if !ok || n[child] == nil {
		return nil, nil, nil, false
	}
	return edges, node, n[child], true
}

// foldableVisits checks the visits field's arguments (args) and selection
// and returns the page size, the order column and direction and the
// columns to read: first the out columns the nodes answer, in the order
// asked, then those only the statement needs (the id and the order column
// for the order, customer_id for the customer), which the JSON leaves out.
func foldableVisits(args map[string]any, f *ast.Field) (first int, order, dir string, cols []string, out int, ok bool) {
	order, dir = visit.FieldID, "ASC"
	for name, v := range args {
		switch name {
		case "first":
			n, isInt := toInt(v)
			if !isInt || n < 1 || n > maxFoldedVisits {
				return 0, "", "", nil, 0, false
			}
			first = n
		case "orderBy":
			if v == nil {
				continue
			}
			if one, isOne := v.(map[string]any); isOne {
				v = []any{one}
			}
			list, isList := v.([]any)
			if !isList || len(list) != 1 {
				return 0, "", "", nil, 0, false
			}
			o, isMap := list[0].(map[string]any)
			if !isMap {
				return 0, "", "", nil, 0, false
			}
			field, _ := o["field"].(string)
			col, known := visitOrderColumns[field]
			if !known || len(o) > 2 {
				return 0, "", "", nil, 0, false
			}
			order = col
			switch d := o["direction"]; d {
			case nil, "ASC":
				dir = "ASC"
			case "DESC":
				dir = "DESC"
			default:
				return 0, "", "", nil, 0, false
			}
		default:
			if v != nil {
				return 0, "", "", nil, 0, false
			}
		}
	}
	if first == 0 || len(f.Directives) > 0 {
		return 0, "", "", nil, 0, false
	}
	if cols, ok = nodeColumns(f); !ok {
		return 0, "", "", nil, 0, false
	}
	out = len(cols)
	for _, col := range []string{visit.FieldID, visit.FieldCustomerID, order} {
		if !contains(cols, col) {
			cols = append(cols, col)
		}
	}
	return first, order, dir, cols, out, true
}

// nodeColumns returns the columns that the nodes of the visits field f
// (`edges { node { … } }`) answer, in the order the selection names them
// first, when the selection is the plain shape folded.
func nodeColumns(f *ast.Field) (cols []string, ok bool) {
	sel := f.SelectionSet
	for _, level := range []string{"edges", "node"} {
		var next ast.SelectionSet
		for _, s := range sel {
			g, isField := s.(*ast.Field)
			if !isField || len(g.Directives) > 0 || (g.Name != level && g.Name != "__typename") || (g.Name == level && next != nil) {
				return nil, false
			}
			if g.Name == level {
				next = g.SelectionSet
			}
		}
		if next == nil {
			return nil, false
		}
		sel = next
	}
	for _, s := range sel {
		g, isField := s.(*ast.Field)
		if !isField || len(g.Directives) > 0 {
			return nil, false
		}
		if g.Name == "__typename" {
			continue
		}
		col, known := visitColumns[g.Name]
		if !known {
			return nil, false
		}
		if !contains(cols, col) {
			cols = append(cols, col)
		}
	}
	return cols, true
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case float64:
		return int(n), float64(int(n)) == n
	}
	return 0, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// without copies f down the path edges → node, leaving visits out of
// node's selection; the operation's own tree (cached across requests) is
// not touched.
func without(f, edges, node, visits *ast.Field) *ast.Field {
	replace := func(set ast.SelectionSet, old, new ast.Selection) ast.SelectionSet {
		out := make(ast.SelectionSet, 0, len(set))
		for _, s := range set {
			switch {
			case s == old && new == nil:
			case s == old:
				out = append(out, new)
			default:
				out = append(out, s)
			}
		}
		return out
	}
	n := *node
	n.SelectionSet = replace(node.SelectionSet, visits, nil)
	e := *edges
	e.SelectionSet = replace(edges.SelectionSet, node, &n)
	c := *f
	c.SelectionSet = replace(f.SelectionSet, edges, &e)
	return &c
}

// foldedVisits answers Customer.visits from the customer's folded column,
// when its statement read one for this field.
func foldedVisits(ctx context.Context, obj *ent.Customer) (*ent.VisitConnection, bool, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return nil, false, nil
	}
	v, err := obj.Value(foldedVisitsPrefix + fc.Field.Alias)
	if err != nil {
		return nil, false, nil // not folded
	}
	var raw []byte
	switch v := v.(type) {
	case nil: // no visits
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		return nil, false, fmt.Errorf("folded visits: unexpected %T", v)
	}
	var nodes []*ent.Visit
	if raw != nil {
		// The columns of each visit's array: those the field's nodes answer,
		// as when the statement was built (foldableVisits).
		cols, ok := nodeColumns(fc.Field.Field)
		if !ok {
			return nil, false, fmt.Errorf("folded visits: the field %q is not of the shape folded", fc.Field.Alias)
		}
		var plain bool
		if nodes, plain = decodeVisits(raw, cols); !plain {
			if nodes, err = decodeVisitsJSON(raw, cols); err != nil {
				return nil, false, fmt.Errorf("folded visits: %w", err)
			}
		}
	}
	conn := &ent.VisitConnection{Edges: make([]*ent.VisitEdge, len(nodes)), TotalCount: len(nodes)}
	edges := make([]ent.VisitEdge, len(nodes)) // one allocation for all
	for i, n := range nodes {
		// No cursor is asked for (the shape folded has none).
		edges[i] = ent.VisitEdge{Node: n, Cursor: entgql.Cursor[pulid.ID]{ID: n.ID}}
		conn.Edges[i] = &edges[i]
	}
	return conn, true, nil
}
