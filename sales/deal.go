package sales

import (
	"context"
	"slices"
	"strings"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/money"
	"estatecrm/rule"
)

// Reservation is the input of ReserveUnit (认购).
type Reservation struct {
	UnitID        pulid.ID
	CustomerID    pulid.ID
	DiscountBp    *int
	Deposit       money.Fen
	PaymentMethod deal.PaymentMethod
}

// ReserveUnit turns the caller's live hold on a unit into a reservation for
// the customer it was held for. The price is the list price less the
// discount, computed here; a discount above the project's agent cap needs a
// manager. Unit, deal and customer move together in the request's
// transaction.
func ReserveUnit(ctx context.Context, client *ent.Client, in Reservation, now time.Time) (*ent.Deal, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	discount := 0
	if in.DiscountBp != nil {
		discount = *in.DiscountBp
	}
	if discount < 0 || discount > 10000 {
		return nil, apperr.Input("input.discountBp", "a discount is 0 to 10000 basis points")
	}
	if in.Deposit < 0 {
		return nil, apperr.Input("input.deposit", "a deposit cannot be negative")
	}
	u, err := client.Unit.Query().Where(unit.ID(in.UnitID)).WithProject().Only(ctx)
	if err != nil {
		return nil, err
	}
	if limit := rule.AgentDiscountCap(u.Edges.Project); v.Role == auth.RoleAgent && discount > limit {
		return nil, &apperr.Error{Code: apperr.Forbidden, Field: "input.discountBp",
			Message: "a discount above the project's agent cap needs a manager"}
	}
	// Only the caller's live hold for this customer becomes a reservation:
	// the condition is in the WHERE clause, so a race has one winner.
	n, err := client.Unit.Update().
		Where(unit.ID(u.ID), rule.LiveHold(now), unit.HeldByID(v.UserID), unit.HeldForID(in.CustomerID)).
		SetStatus(unit.StatusRESERVED).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "input.unitId",
			Message: "you do not hold this unit for this customer: hold it first"}
	}
	price := money.Fen(int64(u.ListPrice) * int64(10000-discount) / 10000)
	d, err := client.Deal.Create().
		SetUnitID(u.ID).SetCustomerID(in.CustomerID).SetAgentID(v.UserID).SetProjectID(u.ProjectID).
		SetStage(deal.StageRESERVED).SetPrice(price).SetDiscountBp(discount).SetDeposit(in.Deposit).
		SetPaymentMethod(in.PaymentMethod).SetReservedAt(now).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if err := advanceCustomer(ctx, client, in.CustomerID, customer.StageRESERVED); err != nil {
		return nil, err
	}
	return d, nil
}

// ContractDeal signs a reserved deal (签约): deal and unit become CONTRACTED.
func ContractDeal(ctx context.Context, client *ent.Client, dealID pulid.ID, now time.Time) (*ent.Deal, error) {
	d, err := client.Deal.Get(ctx, dealID)
	if err != nil {
		return nil, err
	}
	n, err := client.Deal.Update().Where(deal.ID(d.ID), deal.StageEQ(deal.StageRESERVED)).
		SetStage(deal.StageCONTRACTED).SetContractedAt(now).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "only a reserved deal can be signed")
	}
	if err := client.Unit.Update().Where(unit.ID(d.UnitID), unit.StatusEQ(unit.StatusRESERVED)).
		SetStatus(unit.StatusCONTRACTED).Exec(ctx); err != nil {
		return nil, err
	}
	if err := advanceCustomer(ctx, client, d.CustomerID, customer.StageCONTRACTED); err != nil {
		return nil, err
	}
	return client.Deal.Get(ctx, d.ID)
}

// CancelDeal cancels a reserved or contracted deal (a manager's act) and
// makes the unit available again.
func CancelDeal(ctx context.Context, client *ent.Client, dealID pulid.ID, reason string, now time.Time) (*ent.Deal, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, apperr.Input("input.reason", "say why the deal is cancelled")
	}
	d, err := client.Deal.Get(ctx, dealID)
	if err != nil {
		return nil, err
	}
	n, err := client.Deal.Update().
		Where(deal.ID(d.ID), deal.StageIn(deal.StageRESERVED, deal.StageCONTRACTED)).
		SetStage(deal.StageCANCELLED).SetCancelledAt(now).SetCancelReason(reason).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "the deal is already cancelled")
	}
	if err := client.Unit.Update().
		Where(unit.ID(d.UnitID), unit.StatusIn(unit.StatusRESERVED, unit.StatusCONTRACTED)).
		SetStatus(unit.StatusAVAILABLE).Exec(ctx); err != nil {
		return nil, err
	}
	return client.Deal.Get(ctx, d.ID)
}

// advanceCustomer moves a customer's stage forward to next, if it is
// before next (LOST stays LOST). The condition is the UPDATE's own: it needs
// no read of the customer, and a customer the viewer may not change (no
// longer their agent's) is left as it is.
func advanceCustomer(ctx context.Context, client *ent.Client, id pulid.ID, next customer.Stage) error {
	earlier := stageOrder[:max(slices.Index(stageOrder, next), 0)]
	return client.Customer.Update().Where(customer.ID(id), customer.StageIn(earlier...)).SetStage(next).Exec(ctx)
}
