package graph

import (
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// An operation's answer is written into a buffer with room for its last
// answer; another operation's is not; the hints start again when full.
func TestResponseBufferHasRoomForTheLastAnswer(t *testing.T) {
	list := &graphql.OperationContext{RawQuery: "{ units(first: 20) { edges { node { id } } } }"}
	other := &graphql.OperationContext{RawQuery: list.RawQuery, OperationName: "Other"}
	if c := responseBuffer(list).Cap(); c != 0 {
		t.Fatalf("a first answer's buffer has room for %d bytes, want none yet", c)
	}
	noteResponse(list, 4000)
	if c := responseBuffer(list).Cap(); c < 4000 || c > 4600 {
		t.Errorf("room for %d bytes after a 4000-byte answer, want 4000-4600", c)
	}
	if c := responseBuffer(other).Cap(); c != 0 {
		t.Errorf("another operation's buffer has room for %d bytes, want none", c)
	}
	for i := range maxSizeHints {
		noteResponse(&graphql.OperationContext{RawQuery: string(rune(i))}, 10)
	}
	if n := len(responseSizes.sizes); n > maxSizeHints {
		t.Errorf("%d hints kept, want at most %d", n, maxSizeHints)
	}
}
