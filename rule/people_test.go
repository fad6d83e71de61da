package rule_test

import (
	"testing"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/phone"
	"estatecrm/rule"
)

// Steward, per role: an admin, or a manager of every customer's project;
// another project's customer is not found, as a read answers; anyone else
// is forbidden before anything is read. The customers come back in the
// order asked, with their phones as stored (the workflows need them),
// though the viewer's own reads of them stay masked.
func TestSteward(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		actor string
		ids   []string
		want  string // "ok", or the code
	}{
		{"admin", []string{"cA", "cQ"}, "ok"},
		{"M", []string{"cB", "cA"}, "ok"},
		{"M", []string{"cA", "cQ"}, "NOT_FOUND"},
		{"M", []string{"cQ"}, "NOT_FOUND"},
		{"A", []string{"cA"}, string(apperr.Forbidden)},
		{"C", []string{"cQ"}, string(apperr.Forbidden)},
		{"H", []string{"cH"}, string(apperr.Forbidden)},
		{"portal", []string{"cA"}, string(apperr.Forbidden)},
		{"anonymous", []string{"cA"}, string(apperr.Unauthenticated)},
	} {
		ids := make([]pulid.ID, len(tc.ids))
		for i, l := range tc.ids {
			ids[i] = w.ids[l]
		}
		got, sys, err := rule.Steward(w.as(tc.actor), w.client, ids...)
		code := "ok"
		switch e, ok := apperr.As(err); {
		case err == nil:
		case ok:
			code = string(e.Code)
		case ent.IsNotFound(err):
			code = "NOT_FOUND"
		default:
			t.Fatalf("%s %v: %v", tc.actor, tc.ids, err)
		}
		if code != tc.want {
			t.Errorf("%s as steward of %v: %s, want %s", tc.actor, tc.ids, code, tc.want)
			continue
		}
		if err != nil {
			if got != nil || sys != nil {
				t.Errorf("%s: a refusal returned customers", tc.actor)
			}
			continue
		}
		for i, c := range got {
			if c.ID != ids[i] {
				t.Errorf("%s: customer %d is %s", tc.actor, i, c.ID)
			}
			if stored := w.client.Customer.Query().Where(customer.ID(c.ID)).Select(customer.FieldPhone).StringX(w.sys()); c.Phone != stored {
				t.Errorf("%s: %s's phone %q, stored %q", tc.actor, tc.ids[i], c.Phone, stored)
			}
		}
		// The viewer's own read stays masked.
		if shown := w.client.Customer.GetX(w.as(tc.actor), ids[0]); shown.Phone != phone.Mask(got[0].Phone) {
			t.Errorf("%s reads %s's phone as %q", tc.actor, tc.ids[0], shown.Phone)
		}
	}
}

// MaySeePhone: the owning agent and the customer themself; not a manager,
// an admin or another agent; an erased customer's placeholder is nobody's.
func TestMaySeePhone(t *testing.T) {
	w := newWorld(t)
	cA := w.client.Customer.GetX(w.sys(), w.ids["cA"])
	cH := w.client.Customer.GetX(w.sys(), w.ids["cH"])
	for _, tc := range []struct {
		actor string
		c     *ent.Customer
		want  bool
	}{
		{"A", cA, true}, {"B", cA, false}, {"M", cA, false}, {"admin", cA, false},
		{"H", cH, true}, {"B", cH, true}, {"H", cA, false},
	} {
		if got := rule.MaySeePhone(w.viewers[tc.actor], tc.c); got != tc.want {
			t.Errorf("%s may see %s's phone: %v, want %v", tc.actor, tc.c.Name, got, tc.want)
		}
	}
	erased := *cA
	erased.Phone = rule.ErasedPhone(cA.ID)
	if rule.MaySeePhone(w.viewers["A"], &erased) || len(erased.Phone) > 20 {
		t.Errorf("the erased placeholder %q is shown to its agent", erased.Phone)
	}
}
