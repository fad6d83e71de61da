// Package scalar marshals GraphQL scalars whose Go type is not ours to extend.
package scalar

import (
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
)

// MarshalTime writes t in UTC, RFC 3339 with sub-second digits only when present.
// It never returns graphql.Null: graph/gen counts on it to marshal a Time!
// field without a field context (neverNull).
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		// RFC 3339 is digits, letters and punctuation that JSON writes as
		// they are: quoted, it needs no escaping. Written into the answer's
		// buffer where there is one (the text and its quoted copy were two
		// allocations for every time answered).
		if b, ok := w.(availableBuffer); ok {
			_, _ = b.Write(appendTime(b.AvailableBuffer(), t))
			return
		}
		_, _ = w.Write(appendTime(nil, t))
	})
}

// availableBuffer is a writer that lends its free space (bytes.Buffer).
type availableBuffer interface {
	AvailableBuffer() []byte
	Write([]byte) (int, error)
}

// appendTime appends t as MarshalTime writes it.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
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
