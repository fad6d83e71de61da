// Package gqlselect names the columns that a GraphQL field resolved by hand
// (a gqlgen resolver, not an ent field) reads from its object.
//
// entgql's field collection selects only the columns a query asks for, but
// when the selection holds a field it does not know it cannot tell what that
// field's resolver reads, so it selects every column (20 of a unit, 34 of a
// customer). With the field annotated, ent/template/collection.tmpl adds the
// named columns instead; a column name that is no field of the type fails
// the build. A resolver that starts reading another column must say so here
// (api/fields_select_test.go compares every field read alone with the same
// field read with all the others).
package gqlselect

// Name is the annotation's name, as the collection template reads it.
const Name = "GQLSelect"

// Fields maps a GraphQL field of the type that ent does not resolve to the
// columns its resolver reads (the ID is always read).
type Fields map[string][]string

// Name implements schema.Annotation.
func (Fields) Name() string { return Name }

// EdgesName is the Edges annotation's name, as the collection template
// reads it.
const EdgesName = "GQLSelectEdges"

// Edges maps a GraphQL field of the type that ent does not resolve (its
// edge is skipped by entgql, the resolver written by hand) to the edge it
// lists. Field collection then loads that edge with its parents, as it
// does ent's own edges: one statement for a page of parents instead of
// one per parent (SPEC.md §6). The resolver reads the rows with
// Named<Edge>(its alias), and queries them itself when they were not
// collected (a mutation's payload).
type Edges map[string]Edge

// Edge is the latest Limit rows of the edge named Edge per parent, in
// descending order of the columns Desc (of the edge's type; the last one
// unique, such as the id, so that the order is total). A name that is no
// edge or column of the type fails the build.
type Edge struct {
	Edge  string
	Desc  []string
	Limit int
}

// Name implements schema.Annotation.
func (Edges) Name() string { return EdgesName }
