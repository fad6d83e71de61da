package api_test

import (
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
)

// A unit kept held for a deal pending a manager's approval of its discount
// (no expiry) is one of its agent's 3 holds (SPEC.md §3.2): with it and 2
// live holds, a 4th hold is refused and changes nothing. It used to be
// left out of the count (a hold counted only with an expiry after now),
// so the agent held 4.
func TestPendingApprovalHoldCountsTowardTheLimit(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 2, 3) // 6 units
	env.Client.Project.UpdateOne(p).SetAgentDiscountCapBp(300).ExecX(ctx)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	a := env.As(t, viewers[0])
	units := env.Client.Unit.Query().Order(unit.ByFloor(), unit.ByNumber()).AllX(ctx)
	hold := func(u int) *apitest.Response {
		return a.Query(t, holdMutation, map[string]any{"u": units[u].ID, "c": customers[0].ID})
	}

	if res := hold(0); len(res.Errors) != 0 {
		t.Fatalf("1st hold: %s", res.Body)
	}
	var r struct {
		ReserveUnit struct {
			Deal struct {
				Stage string
				Unit  struct {
					Status        string
					HoldExpiresAt *string
				}
			}
		}
	}
	a.Query(t, requestApproval, map[string]any{"u": units[0].ID, "c": customers[0].ID, "d": 600}).Decode(t, &r)
	if d := r.ReserveUnit.Deal; d.Stage != "PENDING_APPROVAL" || d.Unit.Status != "HELD" || d.Unit.HoldExpiresAt != nil {
		t.Fatalf("the request for approval: %+v", d)
	}
	for _, u := range []int{1, 2} {
		if res := hold(u); len(res.Errors) != 0 {
			t.Fatalf("live hold on unit %d: %s", u, res.Body)
		}
	}
	e := hold(3).OnlyError(t)
	if e.Code() != "CONFLICT" || !strings.Contains(e.Message, "already hold 3") {
		t.Fatalf("a 4th hold besides a pending one: %+v", e)
	}
	if got := env.Client.Unit.GetX(ctx, units[3].ID); got.Status != unit.StatusAVAILABLE || got.HeldByID != nil {
		t.Fatalf("the refused 4th hold changed the unit: %s", got.Status)
	}
	if n := env.Client.Unit.Query().Where(unit.HeldByID(viewers[0].UserID)).CountX(ctx); n != 3 {
		t.Fatalf("the agent holds %d units, want 3", n)
	}
	// Releasing a live hold frees a place: the pending one still counts.
	if res := a.Query(t, `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { status } } }`, map[string]any{"u": units[1].ID}); len(res.Errors) != 0 {
		t.Fatalf("release: %s", res.Body)
	}
	if res := hold(3); len(res.Errors) != 0 {
		t.Fatalf("a 3rd hold after a release: %s", res.Body)
	}
	if e := hold(4).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("a 4th hold after the release: %+v", e)
	}
}
