package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Query.units ordered by columns a lapse leaves alone (a listing: by
// price) reads the units table as stored, in one plain read of units
// (rule.StoredReadsAgree: no UNION ALL of the as-read table), and answers
// what the as-read table answers: for each filter on status and on the
// expiry, the same units, the same totalCount and the same fields as the
// same query ordered by status (which reads through rule.UnitsAsRead), a
// lapsed hold AVAILABLE, held by nobody, with no expiry. It would fail if
// the mark let a lapsed hold read HELD, or kept its holder, or if the
// listing read the as-read table again.
func TestUnitsReadStoredAgreeWithAsRead(t *testing.T) {
	w, later := lapsedEdgeWorld(t)
	const q = `query($w: UnitWhereInput, $o: [UnitOrder!]) { units(first: 100, where: $w, orderBy: $o) {
	  totalCount edges { node { id status holdExpiresAt heldBy { id } } } } }`
	stored := []map[string]any{{"field": "LIST_PRICE"}, {"field": "NUMBER"}}
	asRead := []map[string]any{{"field": "STATUS"}, {"field": "NUMBER"}}
	wheres := []map[string]any{
		nil,
		{"status": "AVAILABLE"},
		{"status": "HELD"},
		{"statusNEQ": "AVAILABLE"},
		{"statusIn": []string{"AVAILABLE", "HELD"}},
		{"statusNotIn": []string{"HELD"}},
		{"not": map[string]any{"status": "AVAILABLE"}},
		{"or": []any{map[string]any{"status": "HELD"}, map[string]any{"number": "201"}}},
	}
	staffOnly := []map[string]any{
		{"holdExpiresAtNotNil": true},
		{"holdExpiresAtIsNil": true},
		{"holdExpiresAtLT": later.Format(time.RFC3339)},
		{"holdExpiresAtGT": w.Now.Format(time.RFC3339)},
	}
	// read returns the answer as sorted "label:status:expiry:holder" rows
	// and the totalCount, and whether a statement read the as-read table.
	read := func(actor string, where map[string]any, order []map[string]any) (rows []string, total int, union bool) {
		t.Helper()
		w.Env.Counter.Reset()
		w.Env.Counter.Record()
		var got struct{ Units unitEdgeConn }
		w.Caller(t, actor).Query(t, q, map[string]any{"w": where, "o": order}).Decode(t, &got)
		for _, s := range w.Env.Counter.Recorded() {
			// The as-read table's lapsed branch reads status as a literal
			// (a UNION ALL alone may be rule.AvailableInOrder's halves).
			if strings.Contains(s.Query, "units") && strings.Contains(s.Query, "('AVAILABLE') AS ") {
				union = true
			}
		}
		for _, e := range got.Units.Edges {
			n := e.Node
			rows = append(rows, fmt.Sprintf("%s:%s:%v:%v", w.Label(n.ID), n.Status, n.HoldExpiresAt != nil, n.HeldBy != nil))
		}
		slices.Sort(rows)
		return rows, got.Units.TotalCount, union
	}
	for _, actor := range []string{"admin", "MA", "A1", "A2", "portal"} {
		cases := wheres
		if actor != "portal" {
			cases = append(slices.Clone(wheres), staffOnly...)
		}
		for _, where := range cases {
			got, n, union := read(actor, where, stored)
			if union {
				t.Errorf("%s where %v ordered by price: the statement reads the as-read table", actor, where)
			}
			want, m, union := read(actor, where, asRead)
			if !union {
				t.Errorf("%s where %v ordered by status: the statement does not read the as-read table", actor, where)
			}
			if !slices.Equal(got, want) || n != m {
				t.Errorf("%s where %v: read as stored #%d %v, as read #%d %v", actor, where, n, got, m, want)
			}
			if where == nil && actor != "portal" && !slices.Contains(got, "uHeld:AVAILABLE:false:false") {
				t.Errorf("%s: the lapsed hold is not read as an available unit held by nobody: %v", actor, got)
			}
		}
	}
}
