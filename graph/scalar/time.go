// Package scalar marshals GraphQL scalars whose Go type is not ours to extend.
package scalar

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
)

// MarshalTime writes t in UTC, RFC 3339 with sub-second digits only when present.
// It never returns graphql.Null: graph/gen counts on it to marshal a Time!
// field without a field context (neverNull).
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 string with a zone offset.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, apperr.Input("", "a time is an RFC 3339 string, e.g. 2026-11-23T08:30:00Z")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, apperr.Input("", "%q is not an RFC 3339 time, e.g. 2026-11-23T08:30:00Z", s)
	}
	return t.UTC(), nil
}
