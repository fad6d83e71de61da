package rule_test

import (
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/rule"
)

// The held half of a page of available units repeats the available half's
// conditions with the same parameters ($1, $2), which are sent once: the
// page's values and the two statuses, whatever the conditions.
func TestAvailableInOrderSendsTheConditionsOnce(t *testing.T) {
	s := sql.Dialect(dialect.Postgres).Select("*").From(sql.Table("units"))
	s.Where(sql.And(sql.EQ(s.C("project_id"), "PJ1"), sql.GTE(s.C("list_price"), 100))).
		OrderBy(s.C("list_price"), s.C("id")).Limit(21)
	rule.AvailableInOrder()(s)
	query, args := s.Query()
	if len(args) != 4 || args[2] != "AVAILABLE" || args[3] != "HELD" {
		t.Fatalf("args %v, want [PJ1 100 AVAILABLE HELD]", args)
	}
	cond := `("units"."project_id" = $1 AND "units"."list_price" >= $2)`
	if n := strings.Count(query, cond); n != 2 {
		t.Fatalf("the conditions %d times in %s, want 2", n, query)
	}
	if !strings.Contains(query, `"units"."status" = $3`) || !strings.Contains(query, `"units"."status" = $4`) {
		t.Fatalf("%s, want each half's status its own parameter", query)
	}
}
