// Package pulid implements prefixed ULIDs: opaque identifiers whose first two
// characters name the entity type (PJ…, UN…), so node(id:) can route an ID
// without a lookup table and without exposing row counts the way integer IDs do.
package pulid

import (
	"crypto/rand"
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"estatecrm/apperr"
)

// ID is a prefixed ULID, e.g. "PJ01JD0Z4M7Q4X8K6J9V3T2R1N0".
type ID string

// PrefixLen is the length of the type prefix.
const PrefixLen = 2

// idLen is the full length of a valid ID: a prefix and a 26-character ULID.
const idLen = PrefixLen + ulid.EncodedSize

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// MustNew returns a new ID for now with the given prefix.
func MustNew(prefix string) ID {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ID(prefix + ulid.MustNew(ulid.Timestamp(time.Now()), entropy).String())
}

// Prefix returns the type prefix of the ID, or "" when it is malformed.
func (u ID) Prefix() string {
	if !u.Valid() {
		return ""
	}
	return string(u[:PrefixLen])
}

// Valid reports whether the ID has the shape of a prefixed ULID.
func (u ID) Valid() bool {
	if len(u) != idLen {
		return false
	}
	_, err := ulid.ParseStrict(string(u[PrefixLen:]))
	return err == nil
}

// UnmarshalGQL implements graphql.Unmarshaler.
func (u *ID) UnmarshalGQL(v any) error {
	switch v := v.(type) {
	case string:
		*u = ID(v)
	case ID:
		*u = v
	default:
		return apperr.Input("", "an ID must be a string")
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
//
// An ID is printable ASCII: written between quotes as it is, which into
// gqlgen's buffer allocates nothing (strconv.Quote allocated a string per
// ID of every answer).
func (u ID) MarshalGQL(w io.Writer) {
	if !plain(string(u)) {
		_, _ = io.WriteString(w, strconv.Quote(string(u)))
		return
	}
	_, _ = io.WriteString(w, `"`)
	_, _ = io.WriteString(w, string(u))
	_, _ = io.WriteString(w, `"`)
}

// plain reports whether strconv.Quote would write s unchanged between quotes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Scan implements sql.Scanner.
func (u *ID) Scan(src any) error {
	switch src := src.(type) {
	case string:
		*u = ID(src)
	case []byte:
		*u = ID(src)
	case ID:
		*u = src
	case nil:
		return fmt.Errorf("pulid: expected a value")
	default:
		return fmt.Errorf("pulid: unexpected type %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (u ID) Value() (driver.Value, error) {
	return string(u), nil
}
