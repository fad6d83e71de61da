package graph

import (
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// An operation's answer is written into a buffer with room for its recent
// answers; another operation's is not; the hints start again when full.
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
	// A shorter answer leaves room for the longer one, less a sixteenth
	// each time: a query's answers differ in length.
	noteResponse(list, 1000)
	if c := responseBuffer(list).Cap(); c < 3750 || c > 4300 {
		t.Errorf("room for %d bytes after a 4000- and a 1000-byte answer, want 3750-4300", c)
	}
	for range 40 {
		noteResponse(list, 1000)
	}
	if c := responseBuffer(list).Cap(); c < 1000 || c > 1200 {
		t.Errorf("room for %d bytes after 40 answers of 1000 bytes, want 1000-1200", c)
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
