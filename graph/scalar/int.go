package scalar

import (
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// Int is a GraphQL Int: what MarshalInt and MarshalInt64 write.
type Int int64

// MarshalGQL writes i in decimal, as gqlgen's Int does.
func (i Int) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.FormatInt(int64(i), 10))
}

// MarshalInt writes i as gqlgen's MarshalInt does, without its closure: an
// Int of 0–255 is boxed without an allocation and one below 100 written
// without one (strconv's small numbers), where gqlgen allocated both for
// every value (a unit's floor and bedrooms: four allocations a unit of a
// page). It never returns graphql.Null: graph/gen counts on it
// (neverNull).
func MarshalInt(i int) graphql.Marshaler { return Int(i) }

// MarshalInt64 is MarshalInt for an int64.
func MarshalInt64(i int64) graphql.Marshaler { return Int(i) }

// UnmarshalInt reads an Int as gqlgen does.
func UnmarshalInt(v any) (int, error) { return graphql.UnmarshalInt(v) }

// UnmarshalInt64 reads an Int as gqlgen does.
func UnmarshalInt64(v any) (int64, error) { return graphql.UnmarshalInt64(v) }
