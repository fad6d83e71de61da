package api_test

// The rows of the authorization matrix that call each manager-only (and
// admin-only) mutation as an agent on the agent's own data (issue 9 §4): an
// agent reassigning its own or a pool customer to itself, cancelling its own
// deal, delivering the unit it sold, giving a discount above the cap on its
// own hold, routing, closing or reopening a complaint it works. Rows that
// only try someone else's data miss exactly these.

import (
	"fmt"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/complaint"
	"estatecrm/ent/deal"
	"estatecrm/ent/unit"
)

// authzOwn picks, for each actor, the object that is its own (the agents'
// and the managers' of project B), and def for everyone else.
func authzOwn(def string, own map[string]string) func(actor string) string {
	return func(actor string) string {
		if l, ok := own[actor]; ok {
			return l
		}
		return def
	}
}

var (
	// Each agent's own protected customer (MB: its project's).
	authzOwnCustomer = authzOwn("cA1", map[string]string{"A1": "cA1", "A2": "cA2", "B1": "cB1", "MB": "cB1"})
	// The agent a customer is reassigned to: the acting agent itself.
	authzOwnAgent = authzOwn("A1", map[string]string{"A1": "A1", "A2": "A2", "B1": "B1", "MB": "B1"})
	// Each agent's own deal (MB: its project's).
	authzOwnDeal = authzOwn("dR", map[string]string{"A1": "dR", "A2": "dH2", "B1": "dB", "MB": "dB"})
	// The unit of each agent's own contracted deal; a homeowner's own unit.
	authzOwnSoldUnit = authzOwn("uH1", map[string]string{"A1": "uH1", "A2": "uH2", "H1": "uH1", "H2": "uH2"})
	// A complaint each agent works (of its customer), each homeowner's own.
	authzOwnComplaint = authzOwn("cpH1", map[string]string{"A1": "cpH1", "A2": "cpH2", "H1": "cpH1", "H2": "cpH2"})
)

// authzCustomerState is a customer's owner, protection and attribution rule
// as the system reads them: a reassignment to the same owner still renews
// the protection, and that is a change.
func authzCustomerState(label func(string) string) func(t *testing.T, w *apitest.World, actor string) string {
	return func(t *testing.T, w *apitest.World, actor string) string {
		c := w.Env.Client.Customer.GetX(apitest.System(), w.ID(label(actor)))
		return fmt.Sprint(*c.OwnerID, c.ProtectedUntil.UnixNano(), c.AttributionRule)
	}
}

func authzOwnDataRows() []authzRow {
	reassigned := func(owner string) string {
		return "{customer={attribution={owner=" + owner + ",rule=REASSIGNED}}} db=changed"
	}
	reassign := `mutation($id: ID!, $a: ID!) { reassignCustomer(input: {customerId: $id, agentId: $a}) { customer { attribution { rule owner { id } } } } }`
	// The world's customers as they were made: owners, protection, no rule.
	resetCustomers := func(t *testing.T, w *apitest.World, _ string) {
		for _, c := range []struct {
			label, owner string
			until        time.Time
		}{
			{"cA1", "A1", w.Now.Add(30 * 24 * time.Hour)}, {"cA2", "A2", w.Now.Add(30 * 24 * time.Hour)},
			{"cB1", "B1", w.Now.Add(30 * 24 * time.Hour)}, {"cPool", "A2", w.Now.Add(-24 * time.Hour)},
		} {
			w.Env.Client.Customer.UpdateOneID(w.ID(c.label)).SetOwnerID(w.ID(c.owner)).
				SetProtectedUntil(c.until).ClearAttributionRule().ExecX(apitest.System())
		}
	}
	resetDeals := func(t *testing.T, w *apitest.World, _ string) {
		for _, d := range []struct {
			label, unit string
			stage       deal.Stage
			status      unit.Status
		}{
			{"dR", "uR", deal.StageRESERVED, unit.StatusRESERVED}, {"dH2", "uH2", deal.StageCONTRACTED, unit.StatusCONTRACTED},
			{"dB", "uB1", deal.StageRESERVED, unit.StatusRESERVED},
		} {
			w.Env.Client.Deal.UpdateOneID(w.ID(d.label)).SetStage(d.stage).ClearCancelledAt().ClearCancelReason().ExecX(apitest.System())
			w.Env.Client.Unit.UpdateOneID(w.ID(d.unit)).SetStatus(d.status).ExecX(apitest.System())
		}
	}
	resetComplaints := func(status complaint.Status) func(t *testing.T, w *apitest.World, _ string) {
		return func(t *testing.T, w *apitest.World, _ string) {
			for _, l := range []string{"cpH1", "cpH2"} {
				w.Env.Client.Complaint.UpdateOneID(w.ID(l)).SetStatus(status).
					ClearAcknowledgedAt().ClearResolvedAt().ClearClosedAt().ClearRating().ClearRatedAt().
					ClearAssigneeID().ClearDepartment().ExecX(apitest.System())
			}
		}
	}
	ownComplaintState := func(t *testing.T, w *apitest.World, actor string) string {
		return complaintState(authzOwnComplaint(actor))(t, w, actor)
	}
	ownComplaint := func(w *apitest.World, actor string) map[string]any {
		return map[string]any{"c": w.ID(authzOwnComplaint(actor))}
	}
	complaintStep := func(status string) map[string]string {
		changed := "{complaint={status=" + status + "}} db=changed"
		return authzEvery("!NOT_FOUND db=unchanged", map[string]string{
			"admin": changed, "MA": changed, "H1": changed, "H2": changed,
			"A1": "!FORBIDDEN db=unchanged", "A2": "!FORBIDDEN db=unchanged",
			"anonymous": "!UNAUTHENTICATED db=unchanged",
		})
	}
	return []authzRow{
		authzMutation("Mutation.reassignCustomer", "reassignCustomer of one's own customer to oneself", reassign,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"id": w.ID(authzOwnCustomer(actor)), "a": w.ID(authzOwnAgent(actor))}
			},
			resetCustomers, authzCustomerState(authzOwnCustomer),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": reassigned("A1"), "MA": reassigned("A1"), "MB": reassigned("B1"),
				// Protection renewed for 30 days with no contact: a manager's act only.
				"A1": "!FORBIDDEN db=unchanged", "A2": "!FORBIDDEN db=unchanged", "B1": "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.reassignCustomer", "reassignCustomer of a pool customer to oneself", reassign,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"id": w.ID("cPool"), "a": w.ID(authzOwn("A1", map[string]string{"A2": "A2", "B1": "B1"})(actor))}
			},
			resetCustomers, authzCustomerState(func(string) string { return "cPool" }),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": reassigned("A1"), "MA": reassigned("A1"),
				// The pool is claimed (claimCustomer), never reassigned by an agent.
				"A1": "!FORBIDDEN db=unchanged", "A2": "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.cancelDeal", "cancelDeal of one's own deal",
			`mutation($d: ID!) { cancelDeal(input: {dealId: $d, reason: "客户资金未到位"}) { deal { stage } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"d": w.ID(authzOwnDeal(actor))}
			},
			resetDeals, func(t *testing.T, w *apitest.World, actor string) string {
				return dealState(authzOwnDeal(actor))(t, w, actor)
			},
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": "{deal={stage=CANCELLED}} db=changed", "MA": "{deal={stage=CANCELLED}} db=changed",
				"MB": "{deal={stage=CANCELLED}} db=changed",
				"A1": "!FORBIDDEN db=unchanged", "A2": "!FORBIDDEN db=unchanged", "B1": "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.deliverUnit", "deliverUnit of the unit of one's own sale",
			`mutation($u: ID!) { deliverUnit(input: {unitId: $u}) { unit { status } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"u": w.ID(authzOwnSoldUnit(actor))}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				for _, l := range []string{"uH1", "uH2"} {
					w.Env.Client.Unit.UpdateOneID(w.ID(l)).SetStatus(unit.StatusCONTRACTED).ExecX(apitest.System())
				}
			},
			func(t *testing.T, w *apitest.World, actor string) string {
				return unitState(authzOwnSoldUnit(actor))(t, w, actor)
			},
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin": "{unit={status=DELIVERED}} db=changed", "MA": "{unit={status=DELIVERED}} db=changed",
				"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.reserveUnit", "reserveUnit of one's own hold above the agents' discount cap",
			`mutation($u: ID!, $c: ID!) { reserveUnit(input: {unitId: $u, customerId: $c, discountBp: 800, deposit: "50000", paymentMethod: MORTGAGE}) { deal { stage discountBp } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"u": w.ID("uHeld"), "c": w.ID("cA1")}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Deal.Delete().Where(deal.UnitID(w.ID("uHeld"))).ExecX(apitest.System())
				w.Env.Client.Unit.UpdateOneID(w.ID("uHeld")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A1")).
					SetHeldForID(w.ID("cA1")).SetHoldExpiresAt(time.Now().Add(30 * time.Minute)).ExecX(apitest.System())
			},
			unitState("uHeld"),
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"A1": "!FORBIDDEN db=unchanged", "MA": "!CONFLICT db=unchanged",
				"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.assignComplaint", "assignComplaint of a complaint one works, to oneself",
			`mutation($c: ID!, $a: ID!) { assignComplaint(input: {complaintId: $c, department: ENGINEERING, assigneeId: $a}) { complaint { department } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"c": w.ID(authzOwnComplaint(actor)), "a": w.ID(authzOwn("A1", map[string]string{"A2": "A2"})(actor))}
			},
			resetComplaints(complaint.StatusSUBMITTED), ownComplaintState,
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": "{complaint={department=ENGINEERING}} db=changed", "MA": "{complaint={department=ENGINEERING}} db=changed",
				"A1": "!FORBIDDEN db=unchanged", "A2": "!FORBIDDEN db=unchanged",
				"H1": "!FORBIDDEN db=unchanged", "H2": "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.closeComplaint", "closeComplaint of a complaint one works",
			`mutation($c: ID!) { closeComplaint(input: {complaintId: $c}) { complaint { status } } }`, ownComplaint,
			resetComplaints(complaint.StatusRESOLVED), ownComplaintState, complaintStep("CLOSED")),
		authzMutation("Mutation.reopenComplaint", "reopenComplaint of a complaint one works",
			`mutation($c: ID!) { reopenComplaint(input: {complaintId: $c, note: "又漏了"}) { complaint { status } } }`, ownComplaint,
			resetComplaints(complaint.StatusRESOLVED), ownComplaintState, complaintStep("IN_PROGRESS")),
	}
}

// TestAuthzMatrixOwnData runs the own-data rows on a world of their own.
func TestAuthzMatrixOwnData(t *testing.T) {
	env := apitest.New(t)
	authzRun(t, env.World(t), authzOwnDataRows())
}
