package scalar

import (
	"io"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
)

// Float is a GraphQL Float: what MarshalFloat writes.
type Float float64

// MarshalGQL writes f as gqlgen's Float does (fmt's %g).
func (f Float) MarshalGQL(w io.Writer) {
	var b [32]byte
	_, _ = w.Write(strconv.AppendFloat(b[:0], float64(f), 'g', -1, 64))
}

// MarshalFloat writes f as gqlgen's MarshalFloatContext does, without the
// closure and the context it carries for every value (five allocations a
// Float of a unit of a page), and returns graphql.Null for a value JSON
// cannot hold (NaN, ±Inf): the generated marshaller then reports the
// field's null as an error at its path, as gqlgen's error did.
func MarshalFloat(f float64) graphql.Marshaler {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return graphql.Null
	}
	return Float(f)
}

// UnmarshalFloat reads a Float as gqlgen does (a JSON number, or a string
// of one) and refuses NaN and ±Inf, which no JSON answer could give back.
func UnmarshalFloat(v any) (float64, error) {
	f, err := graphql.UnmarshalFloat(v)
	if err != nil {
		return 0, apperr.Input("", "%v is not a number", v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, apperr.Input("", "%v is not a finite number", v)
	}
	return f, nil
}
