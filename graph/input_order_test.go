package graph

import (
	"slices"
	"testing"
)

// An input's fields come out in the schema's order whatever the map's
// order, fields the type does not have left out.
func TestInputOrderPresent(t *testing.T) {
	o := newInputOrder("not", "and", "or", "id", "name", "phoneLast4", "stage")
	in := map[string]any{"stage": "LEAD", "phoneLast4": "0001", "not": nil, "bogus": 1, "id": "CU1"}
	for range 20 { // a map's order changes from one range to the next
		var buf [2]string // fewer than the fields: present grows it
		got := o.present(buf[:0], in)
		if want := []string{"not", "id", "phoneLast4", "stage"}; !slices.Equal(got, want) {
			t.Fatalf("present = %v, want %v", got, want)
		}
	}
	if got := o.present(nil, map[string]any{}); len(got) != 0 {
		t.Fatalf("present of an empty input = %v", got)
	}
}
