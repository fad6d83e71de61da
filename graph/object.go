package graph

import (
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// object holds the values of an object's fields that were all resolved in
// place (every object but the Query root: see graph/gen, which makes the
// generated executor use it where gqlgen writes graphql.NewFieldSet). It
// writes what graphql.FieldSet writes, without what FieldSet.MarshalGQL
// allocates for each object marshalled: a map of the fields written and a
// copy of every field.
type object struct {
	fields   []graphql.CollectedField
	Values   []graphql.Marshaler
	Invalids uint32
	// inline holds the values of an object of a few fields (most: an
	// edge, a unit of a listing), in the object's allocation.
	inline [8]graphql.Marshaler
}

func newObject(fields []graphql.CollectedField) *object {
	o := &object{fields: fields}
	if len(fields) <= len(o.inline) {
		o.Values = o.inline[:len(fields)]
	} else {
		o.Values = make([]graphql.Marshaler, len(fields))
	}
	return o
}

// MarshalGQL writes the fields in order under their response names. A name
// is written once, as graphql.FieldSet does: CollectFields merges the
// fields of one name but keeps apart those selected through fragments on
// two interfaces neither of which holds the other, and validation has made
// them the same field. Names are GraphQL names: nothing in them to escape.
func (o *object) MarshalGQL(w io.Writer) {
	io.WriteString(w, "{")
	first := true
	for i := range o.fields {
		alias := o.fields[i].Alias
		if writtenBefore(o.fields[:i], alias) {
			continue
		}
		if first {
			first = false
			io.WriteString(w, `"`)
		} else {
			io.WriteString(w, `,"`)
		}
		io.WriteString(w, alias)
		io.WriteString(w, `":`)
		o.Values[i].MarshalGQL(w)
	}
	io.WriteString(w, "}")
}

func writtenBefore(fields []graphql.CollectedField, alias string) bool {
	for i := range fields {
		if fields[i].Alias == alias {
			return true
		}
	}
	return false
}
