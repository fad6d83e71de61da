package api_test

import (
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/deal"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

// authzDealRows are the rows of the discount approval (issue 11): dP is
// A2's reservation of uFree for cA2 at 6% off (the cap is 3%), waiting for
// a manager, its unit held for it with no expiry.
func authzDealRows() []authzRow {
	resetPending := func(t *testing.T, w *apitest.World, _ string) {
		sys := apitest.System()
		w.Env.Client.Deal.UpdateOneID(w.ID("dP")).SetStage(deal.StagePENDING_APPROVAL).
			ClearCancelledAt().ClearCancelReason().ExecX(sys)
		w.Env.Client.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A2")).
			SetHeldForID(w.ID("cA2")).ClearHoldExpiresAt().ExecX(sys)
	}
	vars := func(w *apitest.World, _ string) map[string]any { return map[string]any{"d": w.ID("dP")} }
	cells := func(stage string) map[string]string {
		return authzEvery("!NOT_FOUND db=unchanged", map[string]string{
			"admin": "{deal={stage=" + stage + "}} db=changed", "MA": "{deal={stage=" + stage + "}} db=changed",
			"A2":        "!FORBIDDEN db=unchanged",
			"anonymous": "!UNAUTHENTICATED db=unchanged",
		})
	}
	return []authzRow{
		authzMutation("Mutation.approveDiscount", "approveDiscount of A2's pending reservation",
			`mutation($d: ID!) { approveDiscount(input: {dealId: $d}) { deal { stage } } }`,
			vars, resetPending, dealState("dP"), cells("RESERVED")),
		authzMutation("Mutation.rejectDiscount", "rejectDiscount of A2's pending reservation",
			`mutation($d: ID!) { rejectDiscount(input: {dealId: $d, reason: "低于底价"}) { deal { stage } } }`,
			vars, resetPending, dealState("dP"), cells("CANCELLED")),
	}
}

func TestAuthzMatrixDeals(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	d := env.Client.Deal.Create().SetUnitID(w.ID("uFree")).SetCustomerID(w.ID("cA2")).SetAgentID(w.ID("A2")).
		SetProjectID(w.ID("pA")).SetStage(deal.StagePENDING_APPROVAL).SetPrice(money.Yuan(2_820_000)).
		SetDiscountBp(600).SetPaymentMethod(deal.PaymentMethodMORTGAGE).SetReservedAt(time.Now()).
		SaveX(apitest.System())
	w.Add("dP", d.ID)
	authzRun(t, w, authzDealRows())
}
