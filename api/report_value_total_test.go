package api_test

import "testing"

// customerValue's totalCount comes with the page (a window count in the
// scoring statement) and from a count of its own when there is no page:
// first: 0, or a page past the end. Every way, MP's three active customers.
func TestCustomerValueTotalWithoutAPage(t *testing.T) {
	w := newReportWorld(t)
	q := `query($first: Int, $after: String) { customerValue(period: {from: "2026-11-01", to: "2026-11-30"}, first: $first, after: $after) {
		totalCount hasNextPage customers { customer { id } } } }`
	for _, tc := range []struct {
		name string
		vars map[string]any
		rows int
	}{
		{"a page", map[string]any{"first": 1}, 1},
		{"first: 0", map[string]any{"first": 0}, 0},
		{"past the end", map[string]any{"first": 5, "after": "10"}, 0},
	} {
		var out struct {
			CustomerValue struct {
				TotalCount  int
				HasNextPage bool
				Customers   []struct{ Customer struct{ ID string } }
			}
		}
		w.env.As(t, w.MP).Query(t, q, tc.vars).Decode(t, &out)
		if cv := out.CustomerValue; cv.TotalCount != 3 || len(cv.Customers) != tc.rows {
			t.Errorf("%s: totalCount %d with %d rows, want 3 with %d", tc.name, cv.TotalCount, len(cv.Customers), tc.rows)
		}
	}
}
