package graph

import (
	"bytes"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// An object writes what gqlgen's FieldSet writes for the same fields and
// values: in order, each response name once (the first), nulls and nested
// objects as they are.
func TestObjectWritesWhatAFieldSetWrites(t *testing.T) {
	f := func(alias, name string) graphql.CollectedField {
		return graphql.CollectedField{Field: &ast.Field{Alias: alias, Name: name}}
	}
	inner := newObject([]graphql.CollectedField{f("n", "number")})
	inner.Values[0] = graphql.MarshalString("A-0101")
	for name, c := range map[string]struct {
		fields []graphql.CollectedField
		values []graphql.Marshaler
	}{
		"none": {},
		"one":  {[]graphql.CollectedField{f("id", "id")}, []graphql.Marshaler{graphql.MarshalString("UN01")}},
		"several, a null and an object": {
			[]graphql.CollectedField{f("id", "id"), f("price", "listPrice"), f("held", "heldFor"), f("project", "project")},
			[]graphql.Marshaler{graphql.MarshalString("UN01"), graphql.MarshalInt(3), graphql.Null, inner},
		},
		// Fields through fragments on two interfaces that neither holds
		// the other stay apart in CollectFields' answer under one name.
		"more fields than an object holds inline": {
			[]graphql.CollectedField{f("a", "a"), f("b", "b"), f("c", "c"), f("d", "d"), f("e", "e"), f("f", "f"), f("g", "g"), f("h", "h"), f("i", "i")},
			[]graphql.Marshaler{graphql.MarshalInt(1), graphql.MarshalInt(2), graphql.MarshalInt(3), graphql.MarshalInt(4), graphql.MarshalInt(5), graphql.MarshalInt(6), graphql.MarshalInt(7), graphql.MarshalInt(8), graphql.MarshalInt(9)},
		},
		"a name twice": {
			[]graphql.CollectedField{f("id", "id"), f("x", "number"), f("x", "number"), f("y", "floor")},
			[]graphql.Marshaler{graphql.MarshalString("UN01"), graphql.MarshalString("first"), graphql.MarshalString("second"), graphql.MarshalInt(7)},
		},
	} {
		t.Run(name, func(t *testing.T) {
			o, fs := newObject(c.fields), graphql.NewFieldSet(c.fields)
			copy(o.Values, c.values)
			copy(fs.Values, c.values)
			var got, want bytes.Buffer
			o.MarshalGQL(&got)
			fs.MarshalGQL(&want)
			if got.String() != want.String() {
				t.Fatalf("object wrote %s, FieldSet %s", got.String(), want.String())
			}
		})
	}
}
