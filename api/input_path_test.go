package api_test

import (
	"fmt"
	"testing"
)

// A value that passes validation but not its decoder (a Time that is no
// time, a cursor that is no cursor) is refused as BAD_USER_INPUT at its
// place: the field, its argument, then each input field and list index on
// the way down, as the error's path says.
func TestUndecodableValueIsBadInputAtItsPath(t *testing.T) {
	w := newComplaintWorld(t)
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		path        string
	}{
		{"a field of the where input", `query($t: Time) { customers(first: 5, where: {createdAtGT: $t}) { totalCount } }`,
			map[string]any{"t": "yesterday"}, "[customers where createdAtGT]"},
		{"in a list of where inputs", `query($t: Time) { customers(first: 5, where: {and: [{nameContains: "a"}, {createdAtGT: $t}]}) { totalCount } }`,
			map[string]any{"t": "yesterday"}, "[customers where and 1 createdAtGT]"},
		{"a list element", `query($t: [Time!]) { customers(first: 5, where: {createdAtIn: $t}) { totalCount } }`,
			map[string]any{"t": []any{"2026-01-01T00:00:00Z", "yesterday"}}, "[customers where createdAtIn 1]"},
		{"an argument", `query($c: Cursor) { customers(first: 5, after: $c) { totalCount } }`,
			map[string]any{"c": "no cursor"}, "[customers after]"},
		{"a nested field's argument", `query($c: Cursor) { customers(first: 1) { edges { node { visits(first: 2, after: $c) { totalCount } } } } }`,
			map[string]any{"c": "no cursor"}, "[customers edges 0 node visits after]"},
		// Base64 of no cursor: its decoder reads past the end (io.ErrUnexpectedEOF,
		// which a dropped connection also says).
		{"an argument cut short", `query($c: Cursor) { units(first: 2, after: $c) { totalCount } }`,
			map[string]any{"c": "garbage"}, "[units after]"},
		{"a nested field's argument cut short", `query($c: Cursor) { customers(first: 1) { edges { node { visits(first: 2, before: $c) { totalCount } } } } }`,
			map[string]any{"c": "garbage"}, "[customers edges 0 node visits before]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.as(t, "A1").Query(t, tc.query, tc.vars)
			if len(res.Errors) == 0 {
				t.Fatalf("want an error at %s, got %s", tc.path, res.Body)
			}
			e := res.Errors[0]
			if e.Code() != "BAD_USER_INPUT" || fmt.Sprint(e.Path) != tc.path {
				t.Fatalf("want BAD_USER_INPUT at %s, got %s", tc.path, res.Body)
			}
		})
	}
}
