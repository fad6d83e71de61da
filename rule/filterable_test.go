package rule_test

import (
	"testing"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/rule"
)

// The access table says what the masks do: a viewer filters on a field only
// if the mask shows it the field on every row it may see, and the table is
// checked here against the functions the masks decide with.
func TestFieldAccessFollowsTheMasks(t *testing.T) {
	viewers := map[string]*auth.Viewer{
		"admin":   {UserID: "US0", Role: auth.RoleAdmin},
		"manager": {UserID: "US1", Role: auth.RoleManager, ProjectIDs: []pulid.ID{"PJ1"}},
		"agent":   {UserID: "US2", Role: auth.RoleAgent, ProjectIDs: []pulid.ID{"PJ1"}},
		"owner":   {UserID: "US3", Role: auth.RoleOwner, CustomerID: "CU3"},
		"portal":  {Role: auth.RolePortal},
	}
	other := pulid.ID("US9")
	for name, v := range viewers {
		// The rows this viewer may see, in every state a mask tells apart.
		deals := []*ent.Deal{{AgentID: v.UserID, CustomerID: v.CustomerID}, {AgentID: other, CustomerID: v.CustomerID}}
		own := v.UserID
		customers := []*ent.Customer{{ID: v.CustomerID, OwnerID: &own}, {ID: v.CustomerID, OwnerID: &other}}
		for _, tc := range []struct {
			entity, field string
			shows         func(i int) bool // whether the mask shows row i
			rows          int
		}{
			{ent.TypeDeal, deal.FieldPrice, func(i int) bool { return rule.MaySeeDealTerms(v, deals[i]) }, len(deals)},
			{ent.TypeDeal, deal.FieldDiscountBp, func(i int) bool { return rule.MaySeeDealTerms(v, deals[i]) }, len(deals)},
			{ent.TypeDeal, deal.FieldDeposit, func(i int) bool { return rule.MaySeeDealTerms(v, deals[i]) }, len(deals)},
			{ent.TypeCustomer, customer.FieldPhone, func(i int) bool { return rule.MaySeePhone(v, customers[i]) }, len(customers)},
			{ent.TypeProject, project.FieldProtectionDays, func(int) bool { return rule.IsStaff(v) }, 1},
			{ent.TypeProject, project.FieldHoldMinutes, func(int) bool { return rule.IsStaff(v) }, 1},
			{ent.TypeProject, project.FieldAgentDiscountCapBp, func(int) bool { return rule.IsStaff(v) }, 1},
			{ent.TypeUnit, unit.FieldHoldExpiresAt, func(int) bool { return rule.IsStaff(v) }, 1},
			{ent.TypeUnit, unit.FieldHeldByID, func(int) bool { return rule.IsStaff(v) }, 1},
		} {
			shown := 0
			for i := range tc.rows {
				if tc.shows(i) {
					shown++
				}
			}
			if name == "owner" && tc.entity == ent.TypeCustomer {
				shown = tc.rows // a homeowner sees only their own record, which shows
			}
			want := rule.ReadSome
			switch shown {
			case 0:
				want = rule.ReadNone
			case tc.rows:
				want = rule.ReadAll
			}
			if got := rule.FieldAccess(v, tc.entity, tc.field); got != want {
				t.Errorf("%s reads %s.%s: access %d, the mask shows it on %d of %d rows", name, tc.entity, tc.field, got, shown, tc.rows)
			}
			if rule.MayFilter(v, tc.entity, tc.field) != (want == rule.ReadAll) {
				t.Errorf("%s may filter %s.%s: %v", name, tc.entity, tc.field, !(want == rule.ReadAll))
			}
		}
		if !rule.MayFilter(v, ent.TypeUnit, unit.FieldListPrice) {
			t.Errorf("%s may not filter by a field no mask hides", name)
		}
	}
}
