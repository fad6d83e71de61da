package listing

import (
	"fmt"
	"io"
	"strconv"
)

// Kind is the kind of a change line: Upsert or Remove.
type Kind string

// MarshalGQL writes the kind as a GraphQL enum value.
func (k Kind) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(k))) }

// UnmarshalGQL reads a kind.
func (k *Kind) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || (s != Upsert && s != Remove) {
		return fmt.Errorf("%v is not a ListingChangeKind", v)
	}
	*k = Kind(s)
	return nil
}

// MarshalGQL writes the status as a GraphQL enum value.
func (s StandardStatus) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL reads a standard status.
func (s *StandardStatus) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	switch StandardStatus(str) {
	case Active, Pending, Closed, Withdrawn:
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%v is not a ListingStandardStatus", v)
	}
	*s = StandardStatus(str)
	return nil
}
