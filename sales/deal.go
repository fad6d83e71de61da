package sales

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/audit"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/visit"
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
	// RequestApproval: an agent's discount above the project's cap makes a
	// deal pending a manager's approval instead of being refused.
	RequestApproval *bool
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
	// The unit with its project's agent discount cap, in one statement
	// (whoever sees a unit sees its project).
	u, err := client.Unit.Query().Where(unit.ID(in.UnitID)).
		Modify(func(s *sql.Selector) {
			p := sql.Table(project.Table)
			s.LeftJoin(p).On(s.C(unit.FieldProjectID), p.C(project.FieldID)).
				AppendSelectAs(p.C(project.FieldAgentDiscountCapBp), projectDiscountCap)
		}).Only(ctx)
	if err != nil {
		return nil, err
	}
	capBp, err := rule.Selected[int](u.Value(projectDiscountCap))
	if err != nil {
		return nil, err
	}
	p := &ent.Project{ID: u.ProjectID, AgentDiscountCapBp: capBp}
	pending := false
	if limit := rule.AgentDiscountCap(p); v.Role == auth.RoleAgent && discount > limit {
		if in.RequestApproval == nil || !*in.RequestApproval {
			return nil, &apperr.Error{Code: apperr.Forbidden, Field: "input.discountBp",
				Message: "a discount above the project's agent cap needs a manager: ask for approval (requestApproval: true)"}
		}
		pending = true
	}
	// The deal's privacy rule checks the cap again (for every entry point):
	// with the project just read, not by reading it again.
	ctx = rule.WithProjectRead(ctx, p)
	// Only the caller's live hold for this customer becomes a reservation:
	// the condition is in the WHERE clause, so a race has one winner. The
	// update names its one unit, so the announcement needs no lookup.
	// A reservation waiting for a manager keeps the agent's hold, for the
	// customer, with no end (rule.PendingHold): nobody else may hold the
	// unit, the hold neither lapses nor is swept, and the agent cannot
	// release it; the manager's decision ends it.
	upd := client.Unit.Update().
		Where(unit.ID(u.ID), rule.LiveHold(now), unit.HeldByID(v.UserID), unit.HeldForID(in.CustomerID))
	if pending {
		upd.ClearHoldExpiresAt()
	} else {
		upd.SetStatus(unit.StatusRESERVED).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt()
	}
	n, err := changeUnit(ctx, upd.SetUpdatedAt(now), u.ID, u.ProjectID)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "input.unitId",
			Message: "you do not hold this unit for this customer: hold it first"}
	}
	price := money.Fen(int64(u.ListPrice) * int64(10000-discount) / 10000)
	stage, customerStage := deal.StageRESERVED, customer.StageRESERVED
	if pending {
		stage, customerStage = deal.StagePENDING_APPROVAL, customer.StageNEGOTIATING
	}
	d, err := client.Deal.Create().
		SetUnitID(u.ID).SetCustomerID(in.CustomerID).SetAgentID(v.UserID).SetProjectID(u.ProjectID).
		SetStage(stage).SetPrice(price).SetDiscountBp(discount).SetDeposit(in.Deposit).
		SetPaymentMethod(in.PaymentMethod).SetReservedAt(now).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if pending {
		err = audit.Record(ctx, client, audit.Event{Action: DiscountRequest, ObjectID: d.ID, ProjectID: d.ProjectID,
			Detail: fmt.Sprintf("%d bp on %s for %s", discount, u.ID, in.CustomerID)})
		if err != nil {
			return nil, err
		}
	}
	if err := advanceCustomer(ctx, client, in.CustomerID, customerStage); err != nil {
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
		SetStage(deal.StageCONTRACTED).SetContractedAt(now).SetUpdatedAt(now).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "only a reserved deal can be signed")
	}
	// A deal is of its unit's project (ReserveUnit): the update names its
	// one unit and project, so the announcement needs no lookup.
	if _, err := changeUnit(ctx, client.Unit.Update().Where(unit.ID(d.UnitID), unit.StatusEQ(unit.StatusRESERVED)).
		SetStatus(unit.StatusCONTRACTED).SetUpdatedAt(now), d.UnitID, d.ProjectID); err != nil {
		return nil, err
	}
	if err := advanceCustomer(ctx, client, d.CustomerID, customer.StageCONTRACTED); err != nil {
		return nil, err
	}
	// The row is what was read plus what was written: no re-read.
	d.Stage, d.ContractedAt, d.UpdatedAt = deal.StageCONTRACTED, &now, now
	return d, nil
}

// CancelDeal cancels a reserved or contracted deal (a manager's act) and
// makes the unit available again. A unit already handed over (DELIVERED) is
// its homeowner's: its sale is not cancelled (CONFLICT), since that would
// leave a delivered unit without its deal and hide the homeowner's unit and
// complaints from them. The customer's stage goes back to what the rest of
// their history says (stageFromHistory).
func CancelDeal(ctx context.Context, client *ent.Client, dealID pulid.ID, reason string, now time.Time) (*ent.Deal, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, apperr.Input("input.reason", "say why the deal is cancelled")
	}
	d, err := client.Deal.Get(ctx, dealID)
	if err != nil {
		return nil, err
	}
	// The unit's status is the update's own condition: a delivery that
	// commits first wins, and this cancel changes nothing.
	n, err := client.Deal.Update().
		Where(deal.ID(d.ID), deal.StageIn(deal.StageRESERVED, deal.StageCONTRACTED),
			deal.HasUnitWith(unit.StatusNEQ(unit.StatusDELIVERED))).
		SetStage(deal.StageCANCELLED).SetCancelledAt(now).SetCancelReason(reason).SetUpdatedAt(now).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		switch d.Stage {
		case deal.StageCANCELLED:
			return nil, apperr.New(apperr.Conflict, "the deal is already cancelled")
		case deal.StagePENDING_APPROVAL:
			return nil, &apperr.Error{Code: apperr.Conflict, Field: "input.dealId",
				Message: "the deal waits for approval of its discount: approve or reject it"}
		}
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "input.dealId",
			Message: "the unit has been delivered to its homeowner: a delivered sale is not cancelled"}
	}
	if _, err := changeUnit(ctx, client.Unit.Update().
		Where(unit.ID(d.UnitID), unit.StatusIn(unit.StatusRESERVED, unit.StatusCONTRACTED)).
		SetStatus(unit.StatusAVAILABLE).SetUpdatedAt(now), d.UnitID, d.ProjectID); err != nil {
		return nil, err
	}
	if err := restoreStage(ctx, client, d.CustomerID); err != nil {
		return nil, err
	}
	// The row is what was read plus what was written: no re-read.
	d.Stage, d.CancelledAt, d.CancelReason, d.UpdatedAt = deal.StageCANCELLED, &now, reason, now
	return d, nil
}

// restoreStage sets a customer's stage to what their history says once a
// deal of theirs is cancelled: the furthest of their other live deals (a
// delivered unit: OWNER; contracted; reserved; pending approval:
// NEGOTIATING), else VISITED if they came in
// person (a first visit, revisit or home visit), else LEAD. A customer a
// manager marked LOST stays LOST. Only a manager (or an admin) cancels, and
// they see the whole history of their projects' customers.
func restoreStage(ctx context.Context, client *ent.Client, customerID pulid.ID) error {
	live := client.Deal.Query().Where(deal.CustomerID(customerID),
		deal.StageIn(deal.StagePENDING_APPROVAL, deal.StageRESERVED, deal.StageCONTRACTED))
	stages, err := live.Clone().Select(deal.FieldStage).Strings(ctx)
	if err != nil {
		return err
	}
	stage := customer.StageLEAD
	switch {
	case slices.Contains(stages, string(deal.StageCONTRACTED)):
		stage = customer.StageCONTRACTED
		delivered, err := live.Where(deal.StageEQ(deal.StageCONTRACTED), deal.HasUnitWith(unit.StatusEQ(unit.StatusDELIVERED))).Exist(ctx)
		if err != nil {
			return err
		}
		if delivered {
			stage = customer.StageOWNER
		}
	case slices.Contains(stages, string(deal.StageRESERVED)):
		stage = customer.StageRESERVED
	case len(stages) > 0: // a reservation waiting for a manager
		stage = customer.StageNEGOTIATING
	default:
		came, err := client.Visit.Query().Where(visit.CustomerID(customerID),
			visit.KindIn(visit.KindFIRST_VISIT, visit.KindREVISIT, visit.KindHOME_VISIT)).Exist(ctx)
		if err != nil {
			return err
		}
		if came {
			stage = customer.StageVISITED
		}
	}
	return client.Customer.Update().
		Where(customer.ID(customerID), customer.StageNEQ(customer.StageLOST)).
		SetStage(stage).Exec(ctx)
}

// The audit actions of discounts above the agent cap.
const (
	DiscountRequest = "deal.discount.request"
	DiscountApprove = "deal.discount.approve"
	DiscountReject  = "deal.discount.reject"
)

// ApproveDiscount is a manager's approval of the discount of a reservation
// pending it: the deal and its unit become RESERVED (the unit leaves the
// agent's hold), the customer RESERVED. Of concurrent decisions on one deal
// exactly one wins; the rest get CONFLICT.
func ApproveDiscount(ctx context.Context, client *ent.Client, dealID pulid.ID, now time.Time) (*ent.Deal, error) {
	d, err := decide(ctx, client, dealID, deal.StageRESERVED, "", now)
	if err != nil {
		return nil, err
	}
	n, err := changeUnit(ctx, client.Unit.Update().Where(unit.ID(d.UnitID), rule.PendingHold(d.AgentID, d.CustomerID)).
		SetStatus(unit.StatusRESERVED).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().SetUpdatedAt(now),
		d.UnitID, d.ProjectID)
	if err != nil {
		return nil, err
	}
	if n == 0 { // never, while every write of units goes through the workflows
		return nil, apperr.New(apperr.Conflict, "the unit is no longer held for this deal")
	}
	if err := advanceCustomer(ctx, client, d.CustomerID, customer.StageRESERVED); err != nil {
		return nil, err
	}
	return d, audit.Record(ctx, client, audit.Event{Action: DiscountApprove, ObjectID: d.ID, ProjectID: d.ProjectID,
		Detail: fmt.Sprintf("%d bp", deref0(d.DiscountBp))})
}

// RejectDiscount is a manager's refusal of the discount of a reservation
// pending it: the deal is CANCELLED with the reason, the unit released, and
// the customer's stage restored from the rest of their history.
func RejectDiscount(ctx context.Context, client *ent.Client, dealID pulid.ID, reason string, now time.Time) (*ent.Deal, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, apperr.Input("input.reason", "say why the discount is refused")
	}
	d, err := decide(ctx, client, dealID, deal.StageCANCELLED, reason, now)
	if err != nil {
		return nil, err
	}
	if _, err := changeUnit(ctx, client.Unit.Update().Where(unit.ID(d.UnitID), rule.PendingHold(d.AgentID, d.CustomerID)).
		SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().SetUpdatedAt(now),
		d.UnitID, d.ProjectID); err != nil {
		return nil, err
	}
	if err := restoreStage(ctx, client, d.CustomerID); err != nil {
		return nil, err
	}
	return d, audit.Record(ctx, client, audit.Event{Action: DiscountReject, ObjectID: d.ID, ProjectID: d.ProjectID,
		Detail: reason})
}

// decide moves a deal pending approval to stage (RESERVED or CANCELLED):
// only a manager of its project or an admin may (FORBIDDEN, by the rules,
// for anyone else who sees the deal), and only once (CONFLICT).
func decide(ctx context.Context, client *ent.Client, dealID pulid.ID, stage deal.Stage, reason string, now time.Time) (*ent.Deal, error) {
	d, err := client.Deal.Get(ctx, dealID)
	if err != nil {
		return nil, err
	}
	upd := client.Deal.Update().Where(deal.ID(d.ID), deal.StageEQ(deal.StagePENDING_APPROVAL)).
		SetStage(stage).SetUpdatedAt(now)
	if stage == deal.StageCANCELLED {
		upd.SetCancelledAt(now).SetCancelReason(reason)
		d.CancelledAt, d.CancelReason = &now, reason
	} else {
		upd.SetReservedAt(now) // the reservation dates from the approval
		d.ReservedAt = now
	}
	n, err := upd.Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "input.dealId",
			Message: "the deal is not waiting for approval of its discount"}
	}
	d.Stage, d.UpdatedAt = stage, now
	return d, nil
}

func deref0(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// projectDiscountCap is the column ReserveUnit reads the agent discount cap
// of the unit's project into.
const projectDiscountCap = "project_agent_discount_cap_bp"

// advanceCustomer moves a customer's stage forward to next, if it is
// before next (LOST stays LOST). The condition is the UPDATE's own: it needs
// no read of the customer, and a customer the viewer may not change (no
// longer their agent's) is left as it is.
func advanceCustomer(ctx context.Context, client *ent.Client, id pulid.ID, next customer.Stage) error {
	earlier := stageOrder[:max(slices.Index(stageOrder, next), 0)]
	return client.Customer.Update().Where(customer.ID(id), customer.StageIn(earlier...)).SetStage(next).Exec(ctx)
}
