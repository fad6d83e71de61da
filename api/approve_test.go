package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"estatecrm/api/apitest"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/sales"
)

const requestApproval = `mutation($u: ID!, $c: ID!, $d: Int) {
  reserveUnit(input: {unitId: $u, customerId: $c, discountBp: $d, deposit: "50000.00", paymentMethod: MORTGAGE, requestApproval: true}) {
    deal { id stage price discountBp unit { status holdExpiresAt heldBy { id } } customer { stage } }
  }
}`

const approveMutation = `mutation($d: ID!) { approveDiscount(input: {dealId: $d}) { deal { id stage price unit { status } customer { stage } } } }`
const rejectMutation = `mutation($d: ID!) { rejectDiscount(input: {dealId: $d, reason: "低于底价"}) { deal { id stage cancelReason unit { status } } } }`

// pending has actor hold unit for cust and ask for a 6% discount (the cap
// is 3%): the deal waits for a manager, the unit stays held for it.
func pending(t *testing.T, w *apitest.World, actor, u, cust string) string {
	t.Helper()
	c := w.Caller(t, actor)
	c.Query(t, holdMutation, map[string]any{"u": w.ID(u), "c": w.ID(cust)}).Decode(t, &struct{}{})
	var r struct {
		ReserveUnit struct {
			Deal struct {
				ID, Stage string
				Unit      struct {
					Status        string
					HoldExpiresAt *string
					HeldBy        struct{ ID string }
				}
			}
		}
	}
	c.Query(t, requestApproval, map[string]any{"u": w.ID(u), "c": w.ID(cust), "d": 600}).Decode(t, &r)
	d := r.ReserveUnit.Deal
	if d.Stage != "PENDING_APPROVAL" || d.Unit.Status != "HELD" || d.Unit.HoldExpiresAt != nil || d.Unit.HeldBy.ID != string(w.ID(actor)) {
		t.Fatalf("%s's request for approval: %+v", actor, d)
	}
	return d.ID
}

// state is a deal's stage, its unit's status and holder, as stored.
func state(w *apitest.World, dealID string) string {
	sys := apitest.System()
	d := w.Env.Client.Deal.GetX(sys, pulid.ID(dealID))
	u := w.Env.Client.Unit.GetX(sys, d.UnitID)
	s := string(d.Stage) + " " + string(u.Status)
	if u.HeldByID != nil {
		s += " " + w.Label(string(*u.HeldByID))
	}
	return s
}

func TestApproveDiscount(t *testing.T) {
	w := apitest.New(t).World(t)
	sys := apitest.System()
	c := w.Env.Client

	// Without requestApproval an agent's discount above the cap is refused, as before.
	w.Caller(t, "A2").Query(t, holdMutation, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA2")}).Decode(t, &struct{}{})
	if e := w.Caller(t, "A2").Query(t, reserveMutation, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA2"), "d": 600}).OnlyError(t); e.Code() != "FORBIDDEN" || e.Field() != "input.discountBp" {
		t.Fatalf("an agent's discount over the cap: %+v", e)
	}
	c.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().ExecX(sys)

	d1 := pending(t, w, "A2", "uFree", "cA2")
	if got := c.Customer.GetX(sys, w.ID("cA2")).Stage; got != customer.StageNEGOTIATING {
		t.Fatalf("cA2 while the discount waits: %s", got)
	}
	// The pending deal keeps the unit out of everyone else's reach, even
	// past the hold minutes and a sweep; its agent can neither release it
	// nor reserve it again.
	later := time.Now().Add(2 * time.Hour)
	w.Env.Now = func() time.Time { return later }
	if _, err := sales.SweepHolds(context.Background(), c, later); err != nil { // it takes uHeld, lapsed by then
		t.Fatal(err)
	}
	if got := state(w, d1); got != "PENDING_APPROVAL HELD A2" {
		t.Fatalf("after a sweep the pending deal is %s", got)
	}
	if e := w.Caller(t, "A1").Query(t, holdMutation, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA1")}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("another agent held a unit pending approval: %+v", e)
	}
	if e := w.Caller(t, "A2").Query(t, `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id } } }`, map[string]any{"u": w.ID("uFree")}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("the agent released a unit pending approval: %+v", e)
	}
	if e := w.Caller(t, "A2").Query(t, requestApproval, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA2"), "d": 500}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("a second request on a pending unit: %+v", e)
	}
	if e := w.Caller(t, "MA").Query(t, cancelDealMutation, map[string]any{"d": d1}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("cancelDeal on a pending deal: %+v", e)
	}
	if got := authzRender(w, w.Caller(t, "MA").Query(t, `{ units(first: 5, where: {status: HELD, number: "202"}) { edges { node { id heldBy { id } holdExpiresAt } } } }`, nil)); got != "[uFree{heldBy=A2,holdExpiresAt=null}]" {
		t.Fatalf("the pending unit reads %s", got)
	}
	w.Env.Now = time.Now

	// Who may approve: a manager of the project, an admin; nobody else, and
	// a refusal changes nothing.
	refused := map[string]string{"MB": "NOT_FOUND", "A1": "NOT_FOUND", "A2": "FORBIDDEN", "B1": "NOT_FOUND",
		"H1": "NOT_FOUND", "portal": "NOT_FOUND", "anonymous": "UNAUTHENTICATED"}
	for actor, code := range refused {
		for _, m := range []string{approveMutation, rejectMutation} {
			if e := w.Caller(t, actor).Query(t, m, map[string]any{"d": d1}).OnlyError(t); e.Code() != code {
				t.Errorf("%s deciding a discount: %s, want %s", actor, e.Code(), code)
			}
		}
	}
	if got := state(w, d1); got != "PENDING_APPROVAL HELD A2" {
		t.Fatalf("a refused decision changed %s", got)
	}

	// Live: a subscriber of the project's grid hears the unit reserved.
	srv := httptest.NewServer(w.Env.Handler)
	defer srv.Close()
	sock, err := dial(t, srv.URL, authzSocketPayload(t, w, "MA"))
	if err != nil {
		t.Fatal(err)
	}
	subscribeWithin(sock, w.Env.Hub, w.ID("pA"), time.Second)

	var a struct {
		ApproveDiscount struct {
			Deal struct {
				ID, Stage, Price string
				Unit             struct{ Status string }
				Customer         struct{ Stage string }
			}
		}
	}
	w.Caller(t, "MA").Query(t, approveMutation, map[string]any{"d": d1}).Decode(t, &a)
	uFree := c.Unit.GetX(sys, w.ID("uFree"))
	if got := a.ApproveDiscount.Deal; got.Stage != "RESERVED" || got.Unit.Status != "RESERVED" || got.Customer.Stage != "RESERVED" ||
		got.Price != moneyString(int64(uFree.ListPrice)*9400/10000) {
		t.Fatalf("approved %+v", got)
	}
	if got := state(w, d1); got != "RESERVED RESERVED" {
		t.Fatalf("after the approval: %s", got)
	}
	if e := w.Caller(t, "MA").Query(t, approveMutation, map[string]any{"d": d1}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("approving twice: %+v", e)
	}
	ctx, cancel := context.WithTimeout(sock.ctx, 2*time.Second)
	defer cancel()
	for heard := false; !heard; {
		var m map[string]any
		if err := wsjson.Read(ctx, sock.conn, &m); err != nil {
			t.Fatal("the grid's subscriber heard nothing of the approval")
		}
		if m["type"] == "next" {
			got := authzRenderValue(w, m["payload"].(map[string]any)["data"].(map[string]any)["unitStatusChanged"])
			heard = strings.Contains(got, "status=RESERVED")
		}
	}
	audited := c.AuditEvent.Query().Where(auditevent.ObjectID(d1)).AllX(sys)
	actions := map[string]string{}
	for _, e := range audited {
		if e.ActorID != nil {
			actions[e.Action] = w.Label(string(*e.ActorID))
		}
	}
	if actions[sales.DiscountRequest] != "A2" || actions[sales.DiscountApprove] != "MA" {
		t.Fatalf("audit of the discount: %v", actions)
	}

	// A rejection: the deal is cancelled with the reason, the unit is free,
	// the customer back to what the rest says (cA1 still has dR: RESERVED).
	d2 := pending(t, w, "A1", "uHeld", "cA1") // the sweep above released the world's hold of it
	if e := w.Caller(t, "MA").Query(t, `mutation($d: ID!) { rejectDiscount(input: {dealId: $d, reason: " "}) { deal { id } } }`, map[string]any{"d": d2}).OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.reason" {
		t.Fatalf("a rejection without reason: %+v", e)
	}
	if got := state(w, d2); got != "PENDING_APPROVAL HELD A1" {
		t.Fatalf("a refused rejection changed %s", got)
	}
	var r struct {
		RejectDiscount struct {
			Deal struct {
				Stage, CancelReason string
				Unit                struct{ Status string }
			}
		}
	}
	w.Caller(t, "admin").Query(t, rejectMutation, map[string]any{"d": d2}).Decode(t, &r)
	if got := r.RejectDiscount.Deal; got.Stage != "CANCELLED" || got.CancelReason != "低于底价" || got.Unit.Status != "AVAILABLE" {
		t.Fatalf("rejected %+v", got)
	}
	if got := c.Customer.GetX(sys, w.ID("cA1")).Stage; got != customer.StageRESERVED {
		t.Fatalf("cA1 after the rejection: %s", got)
	}
	if !c.AuditEvent.Query().Where(auditevent.ObjectID(d2), auditevent.Action(sales.DiscountReject)).ExistX(sys) {
		t.Fatal("the rejection is not audited")
	}

	// An admin approves; a manager of the project rejects; a manager of
	// another project does neither (pB is MB's).
	d3 := pending(t, w, "A1", "uUnpub", "cA1")
	w.Caller(t, "admin").Query(t, approveMutation, map[string]any{"d": d3}).Decode(t, &struct{}{})
	d4 := pending(t, w, "B1", "uB2", "cB1")
	if e := w.Caller(t, "MA").Query(t, approveMutation, map[string]any{"d": d4}).OnlyError(t); e.Code() != "NOT_FOUND" {
		t.Fatalf("a manager of another project approved: %+v", e)
	}
	w.Caller(t, "MB").Query(t, rejectMutation, map[string]any{"d": d4}).Decode(t, &struct{}{})
	if got := state(w, d3) + ", " + state(w, d4); got != "RESERVED RESERVED, CANCELLED AVAILABLE" {
		t.Fatalf("after the admin's approval and MB's rejection: %s", got)
	}
}

// Many decisions on one pending deal at once, approvals and rejections
// mixed: exactly one wins, and the unit ends as that one says.
func TestConcurrentDiscountDecisionsHaveOneWinner(t *testing.T) {
	w := apitest.New(t).World(t)
	d := pending(t, w, "A2", "uFree", "cA2")
	const n = 30
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			m := approveMutation
			if i%2 == 1 {
				m = rejectMutation
			}
			res := w.Caller(t, "MA").Query(t, m, map[string]any{"d": d})
			codes[i] = "OK"
			if len(res.Errors) > 0 {
				codes[i] = res.Errors[0].Code()
			}
		}()
	}
	close(start)
	wg.Wait()
	won := -1
	count := map[string]int{}
	for i, c := range codes {
		count[c]++
		if c == "OK" {
			won = i
		}
	}
	if count["OK"] != 1 || count["CONFLICT"] != n-1 {
		t.Fatalf("decisions: %v", count)
	}
	want := "RESERVED RESERVED"
	if won%2 == 1 {
		want = "CANCELLED AVAILABLE"
	}
	if got := state(w, d); got != want {
		t.Fatalf("the winner was %d, the deal and unit are %s", won, got)
	}
	if got := w.Env.Client.Deal.Query().Where(deal.UnitID(w.ID("uFree"))).CountX(apitest.System()); got != 1 {
		t.Fatalf("%d deals on the unit", got)
	}
}

// Concurrent requests for approval on one hold make one pending deal.
func TestConcurrentRequestsForApprovalHaveOneWinner(t *testing.T) {
	w := apitest.New(t).World(t)
	a2 := w.Caller(t, "A2")
	a2.Query(t, holdMutation, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA2")}).Decode(t, &struct{}{})
	const n = 30
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res := a2.Query(t, requestApproval, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA2"), "d": 600})
			codes[i] = "OK"
			if len(res.Errors) > 0 {
				codes[i] = res.Errors[0].Code()
			}
		}()
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	deals := w.Env.Client.Deal.Query().Where(deal.UnitID(w.ID("uFree"))).CountX(apitest.System())
	if count["OK"] != 1 || count["CONFLICT"] != n-1 || deals != 1 {
		t.Fatalf("requests: %v, deals %d", count, deals)
	}
}
