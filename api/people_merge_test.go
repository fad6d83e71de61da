package api_test

import (
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/audit"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/survey"
	"estatecrm/ent/unit"
	"estatecrm/ent/unithold"
	"estatecrm/ent/visit"
)

const mergeMutation = `mutation($k: ID!, $m: ID!, $dry: Boolean!) { mergeCustomers(input: {keep: $k, merge: $m, dryRun: $dry}) {
  dryRun mergedId ownerRule ownerReason owner { id } customer { id name tags notes }
  moved { visits deals complaints consentEvents attributionEvents referrals heldUnits activationCodes surveys holds login } } }`

type mergeOut struct {
	MergeCustomers struct {
		DryRun      bool
		MergedID    string
		OwnerRule   string
		OwnerReason string
		Owner       *struct{ ID string }
		Customer    struct {
			ID, Name string
			Tags     []string
			Notes    *string
		}
		Moved struct {
			Visits, Deals, Complaints, ConsentEvents, AttributionEvents, Referrals, HeldUnits, ActivationCodes, Surveys, Holds int
			Login                                                                                                              bool
		}
	}
}

// Merging cA2 into cA1: a dry run says what would move and who would own
// and changes no row of any table; the merge then moves exactly that, is
// audited, and deletes cA2.
func TestPeopleMergeMovesEverythingAndDryRunChangesNothing(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	c := env.Client
	// cA2's history: a consent, a line of attribution history, a referral
	// (cPool came through cA2), a held unit, tags and notes.
	c.ConsentEvent.Create().SetCustomerID(w.ID("cA2")).SetKind(consentevent.KindGIVEN).SetConsent(true).SetNote("form").ExecX(sys)
	c.AttributionEvent.Create().SetCustomerID(w.ID("cA2")).SetProjectID(w.ID("pA")).SetKind(attributionevent.KindREGISTERED).
		SetToID(w.ID("A2")).SetAt(w.Now).SetProtectedUntil(w.Now.Add(time.Hour)).ExecX(sys)
	c.Customer.UpdateOneID(w.ID("cPool")).SetReferredByID(w.ID("cA2")).ExecX(sys)
	c.Customer.UpdateOneID(w.ID("cA2")).SetTags([]string{"school"}).SetNotes("wants a south view").ExecX(sys)
	c.Customer.UpdateOneID(w.ID("cA1")).SetTags([]string{"vip"}).ExecX(sys)
	c.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A2")).SetHeldForID(w.ID("cA2")).
		SetHoldExpiresAt(time.Now().Add(20 * time.Minute)).ExecX(sys)
	// The hold as the sales funnel counts it, and a survey sent to cA2
	// (both reference the customer: a merge that left them would fail to
	// delete cA2, or leave the figures pointing at nobody).
	c.UnitHold.Create().SetUnitID(w.ID("uFree")).SetCustomerID(w.ID("cA2")).SetAgentID(w.ID("A2")).SetProjectID(w.ID("pA")).
		SetHeldAt(w.Now).ExecX(sys)
	sv := c.Survey.Create().SetKind(survey.KindCOMPLAINT_RESOLVED).SetProjectID(w.ID("pA")).SetCustomerID(w.ID("cA2")).
		SetUnitID(w.ID("uFree")).SetCreatedAt(w.Now).SaveX(sys)
	vars := map[string]any{"k": w.ID("cA1"), "m": w.ID("cA2"), "dry": true}

	before := tableCounts(t, env)
	cA1, cA2 := c.Customer.GetX(sys, w.ID("cA1")), c.Customer.GetX(sys, w.ID("cA2"))
	var dry mergeOut
	w.Caller(t, "MA").Query(t, mergeMutation, vars).Decode(t, &dry)
	if after := tableCounts(t, env); after != before {
		t.Fatalf("a dry run changed row counts:\n%s\n%s", before, after)
	}
	if a1, a2 := c.Customer.GetX(sys, w.ID("cA1")), c.Customer.GetX(sys, w.ID("cA2")); a1.UpdatedAt != cA1.UpdatedAt || a2.UpdatedAt != cA2.UpdatedAt {
		t.Fatal("a dry run updated a customer")
	}
	d := dry.MergeCustomers
	if !d.DryRun || d.MergedID != string(w.ID("cA2")) || d.OwnerRule != "EARLIEST_PROTECTED" || d.Owner == nil || d.Owner.ID != string(w.ID("A1")) ||
		!strings.Contains(d.OwnerReason, string(w.ID("cA1"))) {
		t.Fatalf("dry run: %+v", d)
	}
	m := d.Moved
	if m.Visits != 1 || m.Deals != 0 || m.ConsentEvents != 1 || m.AttributionEvents != 1 || m.Referrals != 1 || m.HeldUnits != 1 || m.Surveys != 1 || m.Holds != 1 || m.Login {
		t.Fatalf("dry run would move %+v", m)
	}

	vars["dry"] = false
	var done mergeOut
	w.Caller(t, "MA").Query(t, mergeMutation, vars).Decode(t, &done)
	if done.MergeCustomers.Moved != d.Moved || done.MergeCustomers.OwnerRule != d.OwnerRule || done.MergeCustomers.DryRun {
		t.Fatalf("the merge did %+v, the dry run said %+v", done.MergeCustomers, d)
	}
	if ok, _ := c.Customer.Query().Where(customer.ID(w.ID("cA2"))).Exist(sys); ok {
		t.Fatal("the merged record is still there")
	}
	keep := c.Customer.GetX(sys, w.ID("cA1"))
	if *keep.OwnerID != w.ID("A1") || strings.Join(keep.Tags, ",") != "vip,school" || keep.Notes != "wants a south view" {
		t.Fatalf("kept record: owner %v tags %v notes %q", *keep.OwnerID, keep.Tags, keep.Notes)
	}
	if n := c.Visit.Query().Where(visit.CustomerID(w.ID("cA1"))).CountX(sys); n != 3 { // vA1, vA2c and vA2
		t.Errorf("cA1 has %d visits, want 3", n)
	}
	if n := c.ConsentEvent.Query().Where(consentevent.CustomerID(w.ID("cA1"))).CountX(sys); n != 1 {
		t.Errorf("cA1 has %d consent events", n)
	}
	if n := c.AttributionEvent.Query().Where(attributionevent.CustomerID(w.ID("cA1"))).CountX(sys); n != 1 {
		t.Errorf("cA1 has %d attribution events", n)
	}
	if p := c.Customer.GetX(sys, w.ID("cPool")); p.ReferredByID == nil || *p.ReferredByID != w.ID("cA1") {
		t.Errorf("cPool is referred by %v", p.ReferredByID)
	}
	if u := c.Unit.GetX(sys, w.ID("uFree")); u.HeldForID == nil || *u.HeldForID != w.ID("cA1") {
		t.Errorf("uFree is held for %v", u.HeldForID)
	}
	if got := c.Survey.GetX(sys, sv.ID); got.CustomerID != w.ID("cA1") {
		t.Errorf("the survey is for %v", got.CustomerID)
	}
	if n := c.UnitHold.Query().Where(unithold.CustomerID(w.ID("cA1"))).CountX(sys); n != 1 {
		t.Errorf("cA1 has %d holds in unit_holds, want 1", n)
	}
	events := c.AuditEvent.Query().Where(auditevent.Action(audit.CustomerMerge)).AllX(sys)
	if len(events) != 2 {
		t.Fatalf("%d merge audit events, want 2", len(events))
	}
	for _, e := range events {
		if *e.ActorID != w.ID("MA") || *e.ProjectID != w.ID("pA") {
			t.Errorf("merge audited as %+v", e)
		}
		switch e.ObjectID {
		case string(w.ID("cA1")):
			if !strings.Contains(e.Detail, string(w.ID("cA2"))) || !strings.Contains(e.Detail, "visits 1") {
				t.Errorf("merge detail %q", e.Detail)
			}
		case string(w.ID("cA2")):
			if e.Detail != "into "+string(w.ID("cA1")) {
				t.Errorf("merged record's event %q", e.Detail)
			}
		}
	}
}

// The attribution rule decides the owner: a protected registration beats a
// lapsed one even when the lapsed one is the record kept; the change of
// owner is in the attribution history and audited.
func TestPeopleMergeOwnerByAttributionRule(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	// Keep cPool (A2's, lapsed) and merge a protected record of A1's.
	m := peopleCustomer(t, env, env.Client.Project.GetX(sys, w.ID("pA")), w.Users["A1"], "cPool", "13811119999", "")
	var out mergeOut
	w.Caller(t, "admin").Query(t, mergeMutation, map[string]any{"k": w.ID("cPool"), "m": m.ID, "dry": false}).Decode(t, &out)
	if out.MergeCustomers.OwnerRule != "ONLY_PROTECTED" || out.MergeCustomers.Owner == nil || out.MergeCustomers.Owner.ID != string(w.ID("A1")) {
		t.Fatalf("merge: %+v", out.MergeCustomers)
	}
	kept := env.Client.Customer.GetX(sys, w.ID("cPool"))
	if *kept.OwnerID != w.ID("A1") || kept.ProtectedUntil == nil || !kept.ProtectedUntil.After(time.Now()) {
		t.Fatalf("kept: owner %v until %v", *kept.OwnerID, kept.ProtectedUntil)
	}
	h := env.Client.AttributionEvent.Query().Where(attributionevent.CustomerID(kept.ID), attributionevent.KindEQ(attributionevent.KindREASSIGNED)).OnlyX(sys)
	if *h.FromID != w.ID("A2") || *h.ToID != w.ID("A1") {
		t.Errorf("attribution history: %+v", h)
	}
	if n := env.Client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerOwnerChange), auditevent.ObjectID(string(kept.ID))).CountX(sys); n != 2 { // auA, and the merge's
		t.Errorf("%d owner changes audited on the kept record, want 2", n)
	}
}

// Refused merges change nothing: two projects (a customer belongs to one),
// two homeowner logins, a record into itself, another project's manager,
// an agent.
func TestPeopleMergeRefusals(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	before := tableCounts(t, env)
	for _, tc := range []struct {
		actor, keep, merge, code, field string
	}{
		{"admin", "cA1", "cB1", "CONFLICT", "input.merge"},
		{"admin", "cH1", "cH2", "CONFLICT", "input.merge"},
		{"MA", "cA1", "cA1", "BAD_USER_INPUT", "input.merge"},
		{"MB", "cA1", "cA2", "NOT_FOUND", ""},
		{"MA", "cA1", "cB1", "NOT_FOUND", ""},
		{"A1", "cA1", "cH1", "FORBIDDEN", ""},
	} {
		for _, dry := range []bool{true, false} {
			e := w.Caller(t, tc.actor).Query(t, mergeMutation, map[string]any{"k": w.ID(tc.keep), "m": w.ID(tc.merge), "dry": dry}).OnlyError(t)
			if e.Code() != tc.code || e.Field() != tc.field {
				t.Errorf("%s merges %s into %s (dry %v): %s %q %s", tc.actor, tc.merge, tc.keep, dry, e.Code(), e.Field(), e.Message)
			}
		}
	}
	if after := tableCounts(t, env); after != before {
		t.Fatalf("a refused merge changed rows:\n%s\n%s", before, after)
	}
}
