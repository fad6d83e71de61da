package guard

import (
	"strings"
	"testing"

	"estatecrm/graph"
)

// FilterAccess names the field of a filter or an order in ent's snake case
// (rule.MayFilter's names): the where field without its operator, the
// order field lower-cased. That holds while every order field is named after
// its column and every where field after its field; a field named otherwise
// would be let through unchecked, so it fails here.
func TestFilterNamesAreTheirFields(t *testing.T) {
	s := graph.NewExecutableSchema(graph.Config{}).Schema()
	fields := func(entity string) map[string]bool {
		out := map[string]bool{}
		if def := s.Types[entity]; def != nil {
			for _, f := range def.Fields {
				out[snake(f.Name)] = true
			}
		}
		return out
	}
	checked := 0
	for _, def := range s.Types {
		if entity, ok := strings.CutSuffix(def.Name, "Order"); ok && def.Fields.ForName("field") != nil {
			enum := s.Types[def.Fields.ForName("field").Type.Name()]
			for _, v := range enum.EnumValues {
				checked++
				if !fields(entity)[strings.ToLower(v.Name)] {
					t.Errorf("%s orders by %s, which names no field of %s", def.Name, v.Name, entity)
				}
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"discountBp", "discount_bp"}, {"projectID", "project_id"}, {"phoneLast4", "phone_last4"},
		{"agentDiscountCapBp", "agent_discount_cap_bp"}, {"id", "id"}, {"holdExpiresAt", "hold_expires_at"},
	} {
		if got := snake(tc.in); got != tc.want {
			t.Errorf("snake(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	where := s.Types["DealWhereInput"]
	for _, tc := range []struct{ in, want string }{
		{"priceGTE", "price"}, {"priceIsNil", "price"}, {"agentIDContainsFold", "agentID"}, {"stageNotIn", "stage"}, {"price", "price"},
	} {
		if got := baseField(where, tc.in); got != tc.want {
			t.Errorf("baseField(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if checked == 0 {
		t.Fatal("no order field found")
	}
}
