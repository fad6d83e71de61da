package api_test

import (
	"fmt"
	"testing"

	"estatecrm/api/apitest"
)

// Issue 9 §1: filters sent as variables reached the database whatever their
// size: an `or` of 38,000 terms ran for 10 s at cost 2, a `nameIn` of
// 70,000 names and a `not` nested 9,000 deep came back INTERNAL. Each is
// refused now as BAD_USER_INPUT naming the argument, before any statement.
func TestHugeFiltersAreRefusedBeforeTheDatabase(t *testing.T) {
	env := apitest.New(t)
	env.Project(t, "pA", 1, 1, 1)
	names := func(n int) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = fmt.Sprint("name", i)
		}
		return l
	}
	or := make([]any, 38000)
	for i := range or {
		or[i] = map[string]any{"nameContains": fmt.Sprint(i)}
	}
	deep := map[string]any{"name": "pA"}
	for range 9000 {
		deep = map[string]any{"not": deep}
	}
	for _, tc := range []struct {
		name  string
		where map[string]any
		field string
	}{
		{"or of 38,000 terms", map[string]any{"or": or}, "variables.w.or"},
		{"nameIn of 70,000", map[string]any{"nameIn": names(70000)}, "variables.w.nameIn"},
		{"not 9,000 deep", deep, "variables.w.not.not.not.not.not.not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env.Counter.Reset()
			res := env.Query(t, `query($w: ProjectWhereInput) { projects(first: 10, where: $w) { totalCount } }`, map[string]any{"w": tc.where})
			e := res.OnlyError(t)
			if e.Code() != "BAD_USER_INPUT" || e.Field() != tc.field {
				t.Fatalf("got %s %q (%s), want BAD_USER_INPUT naming %s", e.Code(), e.Field(), e.Message, tc.field)
			}
			if n := env.Counter.Count(); n != 0 {
				t.Fatalf("%d statements ran", n)
			}
		})
	}
	// At the limits, the filter runs.
	res := env.Query(t, `query($w: ProjectWhereInput) { projects(first: 10, where: $w) { totalCount } }`,
		map[string]any{"w": map[string]any{"nameIn": append(names(99), "pA")}})
	var out struct {
		Projects struct{ TotalCount int }
	}
	res.Decode(t, &out)
	if out.Projects.TotalCount != 1 {
		t.Fatalf("nameIn of 100 found %d projects, want 1", out.Projects.TotalCount)
	}
}
