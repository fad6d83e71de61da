package graph

import (
	"context"

	"entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/ent"
	"estatecrm/ent/project"
	"estatecrm/ent/unit"
)

// A listing is a page of units, each with its project's name. ent loads
// the project edge in a second statement once it has the units' keys; the
// page below reads it in the units' statement instead, as the
// hand-written yardstick joins it: one statement, one round trip.
//
// Each unit row carries its project_id and, in columns of their own, the
// project fields asked for, each read by a scalar subquery that is the
// Project query ent would run for the edge (SQLSelector: the Project
// privacy policy applied, so a project the viewer may not see reads as
// null, and the edge then goes ent's way, which refuses it as before).
// Only columns no mask touches are folded (maskProjectRules hides the
// sales-office rules from all but staff; those go ent's way), and only the
// plain shape `units { edges { node { … project { <those fields> } } } }`
// (pageInfo and totalCount beside edges allowed) without fragments or
// directives on the way (as for the folded visits of customers). The project
// field is taken out of the selection that ent's field collection sees, so
// the edge is not loaded again, and the units come back with their
// project set from the columns.

// foldedProjectPrefix names a unit row's columns of its folded project.
const foldedProjectPrefix = "folded_project_"

// projectColumns are the Project fields foldable, by GraphQL name: text
// columns that every viewer who may see the project reads as stored.
var projectColumns = map[string]string{
	"id":       project.FieldID,
	"name":     project.FieldName,
	"city":     project.FieldCity,
	"district": project.FieldDistrict,
	"address":  project.FieldAddress,
}

// foldUnitProjects returns the context in which q pages units and a
// function that sets each loaded unit's project from its folded columns:
// when the units field asks for the project in the plain shape, q reads it
// in its own statement and the context's selection no longer has the
// project field; otherwise ctx unchanged and a function that does nothing.
func foldUnitProjects(ctx context.Context, client *ent.Client, q *ent.UnitQuery) (context.Context, func(*ent.UnitConnection)) {
	none := func(*ent.UnitConnection) {}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !graphql.HasOperationContext(ctx) {
		return ctx, none
	}
	// A COUNT (totalCount) selects only the count, not the folded columns;
	// cursors are made from the units.
	edges, node, proj, ok := foldablePath(fc.Field.Field, "project", "pageInfo", "totalCount")
	if !ok {
		return ctx, none
	}
	fields, ok := foldableProject(proj)
	if !ok {
		return ctx, none
	}
	var cols []string // the project's id is the unit's project_id
	for _, f := range fields {
		if c := projectColumns[f]; c != project.FieldID && !contains(cols, c) {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		cols = append(cols, project.FieldName) // to know that the viewer may see the project
	}
	ps, err := client.Project.Query().Select(append([]string{project.FieldID}, cols...)...).SQLSelector(ctx)
	if err != nil {
		return ctx, none // a refusal is the edge's to give, as it would
	}
	q.Modify(func(s *sql.Selector) {
		// The unit's key, whatever its fields asked: a column of its own,
		// scanned into ProjectID (a second copy is harmless).
		s.AppendSelect(s.C(unit.FieldProjectID))
		for _, c := range cols {
			s.AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
				b.WriteString("(SELECT ").Ident("p").WriteByte('.').Ident(c).WriteString(" FROM (").Join(ps).
					WriteString(") AS ").Ident("p").WriteString(" WHERE ").Ident("p").WriteByte('.').Ident(project.FieldID).
					WriteString(" = ").WriteString(s.C(unit.FieldProjectID)).WriteString(")")
			}), foldedProjectPrefix+c)
		}
	})
	pruned := *fc
	pruned.Field.Field = without(fc.Field.Field, edges, node, proj)
	pruned.Field.Selections = pruned.Field.Field.SelectionSet
	return graphql.WithFieldContext(ctx, &pruned), func(conn *ent.UnitConnection) {
		if conn == nil {
			return
		}
		// The units of a page share a few projects (most often one): each
		// is built once and shared by its units, not once per unit. The
		// folded fields are all the project answers here (no edge of it
		// is loaded), so the units see the same values either way.
		byID := map[string]*ent.Project{}
		for _, e := range conn.Edges {
			if e == nil || e.Node == nil {
				continue
			}
			p, seen := byID[string(e.Node.ProjectID)]
			if !seen {
				p = foldedProject(e.Node, cols)
				byID[string(e.Node.ProjectID)] = p
			}
			e.Node.Edges.Project = p
		}
	}
}

// foldableProject returns the fields asked of the project when all of them
// are foldable columns (and __typename).
func foldableProject(f *ast.Field) ([]string, bool) {
	if len(f.Directives) > 0 || len(f.Arguments) > 0 || len(f.SelectionSet) == 0 {
		return nil, false
	}
	var fields []string
	for _, s := range f.SelectionSet {
		g, isField := s.(*ast.Field)
		if !isField || len(g.Directives) > 0 {
			return nil, false
		}
		if g.Name == "__typename" {
			continue
		}
		if _, known := projectColumns[g.Name]; !known {
			return nil, false
		}
		fields = append(fields, g.Name)
	}
	return fields, true
}

// foldedProject is a unit's project read from its folded columns; nil
// when they are null (a project the viewer may not see: the columns folded
// are never null otherwise), which leaves the edge to ent.
func foldedProject(u *ent.Unit, cols []string) *ent.Project {
	if u.ProjectID == "" {
		return nil
	}
	p := &ent.Project{ID: u.ProjectID}
	for _, c := range cols {
		v, err := u.Value(foldedProjectPrefix + c)
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case []byte:
			text = string(v)
		default:
			return nil
		}
		if err != nil {
			return nil
		}
		switch c {
		case project.FieldName:
			p.Name = text
		case project.FieldCity:
			p.City = text
		case project.FieldDistrict:
			p.District = text
		case project.FieldAddress:
			p.Address = text
		}
	}
	return p
}
