package rule_test

// The write rules a manager's acts depend on, asked by every role on the
// ent client, and the time rules against the request's clock.

import (
	"fmt"
	"testing"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/rule"
)

// inTx runs f in a transaction that is rolled back, so that each role
// starts from the same world.
func (w *world) inTx(t *testing.T, f func(c *ent.Client) error) string {
	t.Helper()
	tx, err := w.client.Tx(w.sys())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	return outcome(f(tx.Client()))
}

func TestOnlyAManagerReassigns(t *testing.T) {
	w := newWorld(t)
	// A reassigning its own protected customer to itself renews the
	// protection with no contact: refused, as reassigning the pool to itself.
	reassign := func(label, to string) func(role string) string {
		return func(role string) string {
			return w.inTx(t, func(c *ent.Client) error {
				return c.Customer.UpdateOneID(w.ids[label]).SetOwnerID(w.ids[to]).
					SetProtectedUntil(w.now.Add(30 * 24 * time.Hour)).
					SetAttributionRule(customer.AttributionRuleREASSIGNED).Exec(w.as(role))
			})
		}
	}
	check(t, "cA reassigned to A", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED",
	}), reassign("cA", "A"))
	check(t, "cPool reassigned to B", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED",
	}), reassign("cPool", "B"))

	// An agent takes an owner only from the pool: claiming its own protected
	// customer (a renewal under another name) finds no such customer.
	claim := func(label string) func(role string) string {
		return func(role string) string {
			v := w.viewers[role]
			if v == nil || v.UserID == "" {
				return "no one to claim for"
			}
			return w.inTx(t, func(c *ent.Client) error {
				return c.Customer.UpdateOneID(w.ids[label]).SetOwnerID(v.UserID).SetProtectedUntil(w.now.Add(30 * 24 * time.Hour)).
					SetAttributionRule(customer.AttributionRuleCLAIMED).Exec(w.as(role))
			})
		}
	}
	noOne := map[string]string{"portal": "no one to claim for", "anonymous": "no one to claim for"}
	cell := func(m map[string]string) map[string]string {
		for k, v := range noOne {
			m[k] = v
		}
		return m
	}
	check(t, "claim cA", cell(map[string]string{"admin": "ok", "M": "ok", "A": "NOT_FOUND", "B": "NOT_FOUND", "C": "NOT_FOUND", "H": "FORBIDDEN"}), claim("cA"))
	check(t, "claim cPool", cell(map[string]string{"admin": "ok", "M": "ok", "A": "ok", "B": "ok", "C": "NOT_FOUND", "H": "FORBIDDEN"}), claim("cPool"))
	// The pool is on the request's clock: 11 days on, cA is in it.
	if got := w.inTx(t, func(c *ent.Client) error {
		return c.Customer.UpdateOneID(w.ids["cA"]).SetOwnerID(w.ids["B"]).Exec(w.at("B", w.now.Add(11*24*time.Hour)))
	}); got != "ok" {
		t.Errorf("B claiming cA once its protection lapsed on the request's clock: %s", got)
	}
}

func TestOnlyAManagerGoesAboveTheDiscountCap(t *testing.T) {
	w := newWorld(t)
	reserve := func(discount int) func(role string) string {
		return func(role string) string {
			v := w.viewers[role]
			if v == nil || v.UserID == "" || len(v.ProjectIDs) == 0 || v.ProjectIDs[0] != w.ids["P"] {
				return "-"
			}
			return w.inTx(t, func(c *ent.Client) error {
				return c.Deal.Create().SetUnitID(w.ids["uLive"]).SetCustomerID(w.ids["cA"]).SetAgentID(v.UserID).
					SetProjectID(w.ids["P"]).SetStage(deal.StageRESERVED).SetPrice(3_000_000).SetDiscountBp(discount).
					SetPaymentMethod(deal.PaymentMethodFULL).SetReservedAt(w.now).Exec(w.as(role))
			})
		}
	}
	staffOfP := every("-", map[string]string{"M": "ok", "A": "ok", "B": "ok"})
	check(t, "a deal at the cap", staffOfP, reserve(300))
	staffOfP["A"], staffOfP["B"] = "FORBIDDEN", "FORBIDDEN"
	check(t, "a deal above the cap", staffOfP, reserve(301))

	// A deal's terms are a manager's to change afterwards.
	reprice := func(role string) string {
		return w.inTx(t, func(c *ent.Client) error {
			return c.Deal.UpdateOneID(w.ids["dSold"]).SetDiscountBp(900).SetPrice(1).Exec(w.as(role))
		})
	}
	check(t, "B repricing its own deal", every("NOT_FOUND", map[string]string{
		"admin": "ok", "M": "ok", "B": "FORBIDDEN", "A": "FORBIDDEN", "C": "FORBIDDEN", "H": "FORBIDDEN", "portal": "FORBIDDEN", "anonymous": "UNAUTHENTICATED",
	}), reprice)
}

func TestOnlyAManagerRoutesClosesOrReopens(t *testing.T) {
	w := newWorld(t)
	// A filed a complaint of cH (B's customer) about uSold: A and B work it.
	cp := w.client.Complaint.Create().SetUnitID(w.ids["uSold"]).SetProjectID(w.ids["P"]).SetCustomerID(w.ids["cH"]).
		SetFiledByID(w.ids["A"]).SetCategory(complaint.CategoryLEAK).SetTitle("漏水").SetDescription("滴水").
		SetStatus(complaint.StatusRESOLVED).SetResolvedAt(w.now).
		SetResponseDueAt(w.now).SetResponseRiskAt(w.now).SetResolutionStartedAt(w.now).
		SetResolutionDueAt(w.now).SetResolutionRiskAt(w.now).SaveX(w.sys())
	step := func(set func(u *ent.ComplaintUpdateOne)) func(role string) string {
		return func(role string) string {
			return w.inTx(t, func(c *ent.Client) error {
				u := c.Complaint.UpdateOneID(cp.ID).SetUpdatedAt(w.now)
				set(u)
				return u.Exec(w.as(role))
			})
		}
	}
	// H may close and reopen its own complaint (not route it); A and B may
	// take the staff steps of a complaint they work, no more. An agent is
	// refused a manager's step whichever complaint it names.
	base := map[string]string{"admin": "ok", "M": "ok", "A": "FORBIDDEN", "B": "FORBIDDEN", "C": "FORBIDDEN", "portal": "FORBIDDEN", "anonymous": "UNAUTHENTICATED"}
	with := func(more map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	check(t, "route", with(map[string]string{"H": "FORBIDDEN"}), step(func(u *ent.ComplaintUpdateOne) {
		u.SetDepartment(complaint.DepartmentENGINEERING).SetAssigneeID(w.ids["A"])
	}))
	check(t, "close", with(map[string]string{"H": "ok"}), step(func(u *ent.ComplaintUpdateOne) {
		u.SetStatus(complaint.StatusCLOSED).SetClosedAt(w.now)
	}))
	check(t, "reopen", with(map[string]string{"H": "ok"}), step(func(u *ent.ComplaintUpdateOne) {
		u.SetStatus(complaint.StatusIN_PROGRESS).ClearResolvedAt().AddReopenCount(1).SetResolutionStartedAt(w.now)
	}))
	check(t, "resolve again", with(map[string]string{"A": "ok", "B": "ok", "C": "NOT_FOUND", "H": "FORBIDDEN"}), step(func(u *ent.ComplaintUpdateOne) {
		u.SetStatus(complaint.StatusRESOLVED).SetResolvedAt(w.now).SetResolutionNote("换了密封圈")
	}))
}

func TestTimeRulesAreWrittenOnce(t *testing.T) {
	w := newWorld(t)
	sys := w.sys()
	w.client.Unit.UpdateOneID(w.ids["uQ"]).SetStatus(unit.StatusHELD).ExecX(sys) // held, with no expiry
	// Units as stored: a read of *ent.Unit shows a lapsed hold as available.
	var rows []struct {
		ID            string     `json:"id"`
		Status        string     `json:"status"`
		HoldExpiresAt *time.Time `json:"hold_expires_at"`
	}
	w.client.Unit.Query().Select(unit.FieldID, unit.FieldStatus, unit.FieldHoldExpiresAt).ScanX(sys, &rows)
	var units []*ent.Unit
	for _, r := range rows {
		units = append(units, &ent.Unit{ID: pulid.ID(r.ID), Status: unit.Status(r.Status), HoldExpiresAt: r.HoldExpiresAt})
	}
	if len(units) != 5 {
		t.Fatalf("%d units stored, want 5", len(units))
	}
	customers := w.client.Customer.Query().AllX(sys)
	// Around every stored expiry and protection, the SQL predicate and the Go
	// function agree, at the instant itself too.
	var instants []time.Time
	for _, u := range units {
		if u.HoldExpiresAt != nil {
			instants = append(instants, u.HoldExpiresAt.Add(-time.Second), *u.HoldExpiresAt, u.HoldExpiresAt.Add(time.Second))
		}
	}
	for _, c := range customers {
		instants = append(instants, c.ProtectedUntil.Add(-time.Second), *c.ProtectedUntil, c.ProtectedUntil.Add(time.Second))
	}
	for _, at := range instants {
		lapsed := map[string]bool{}
		for _, id := range w.client.Unit.Query().Where(rule.LapsedHold(at)).IDsX(sys) {
			lapsed[string(id)] = true
		}
		live := map[string]bool{}
		for _, id := range w.client.Unit.Query().Where(rule.LiveHold(at)).IDsX(sys) {
			live[string(id)] = true
		}
		holdable := map[string]bool{}
		for _, id := range w.client.Unit.Query().Where(rule.Holdable(at)).IDsX(sys) {
			holdable[string(id)] = true
		}
		for _, u := range units {
			id := string(u.ID)
			goLapsed := rule.HoldLapsed(u, at)
			if lapsed[id] != goLapsed || (live[id] && goLapsed) || holdable[id] != (u.Status == unit.StatusAVAILABLE || goLapsed) {
				t.Errorf("%s at %v: SQL lapsed %t live %t holdable %t, Go lapsed %t", w.label(id), at, lapsed[id], live[id], holdable[id], goLapsed)
			}
		}
		pool := map[string]bool{}
		for _, id := range w.client.Customer.Query().Where(rule.PublicPool(at)).IDsX(sys) {
			pool[string(id)] = true
		}
		for _, c := range customers {
			if pool[string(c.ID)] != rule.InPublicPool(c, at) {
				t.Errorf("%s at %v: SQL pool %t, Go %t", w.label(string(c.ID)), at, pool[string(c.ID)], rule.InPublicPool(c, at))
			}
		}
	}

	// A read shows a lapsed hold as available on the request's clock, not
	// the machine's: 30 minutes on, uLive has lapsed too.
	status := func(at time.Time) string {
		u := w.client.Unit.GetX(w.at("A", at), w.ids["uLive"])
		return fmt.Sprintf("%s %t", u.Status, u.HeldByID == nil)
	}
	if got := status(w.now.Add(19 * time.Minute)); got != "HELD false" {
		t.Errorf("uLive now: %s, want HELD by someone", got)
	}
	if got := status(w.now.Add(30 * time.Minute)); got != "AVAILABLE true" {
		t.Errorf("uLive 30 minutes on: %s, want AVAILABLE, held by nobody", got)
	}
}
