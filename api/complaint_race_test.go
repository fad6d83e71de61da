package api_test

import (
	"strings"
	"sync"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
)

// Of many concurrent steps on one complaint exactly one is taken; the rest
// get CONFLICT and leave no trace on the timeline.
func TestComplaintConcurrentSteps(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	id := w.ID("cpH1")
	race := func(actor, query string) (ok, conflicts int) {
		const n = 12
		codes := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := w.Caller(t, actor).Query(t, query, map[string]any{"c": id})
				if len(res.Errors) == 0 {
					codes[i] = "ok"
				} else {
					codes[i] = res.Errors[0].Code()
				}
			}()
		}
		wg.Wait()
		for _, c := range codes {
			switch c {
			case "ok":
				ok++
			case "CONFLICT":
				conflicts++
			default:
				t.Errorf("%s: unexpected %s", actor, c)
			}
		}
		return ok, conflicts
	}
	events := func(kind complaintevent.Kind) int {
		return env.Client.ComplaintEvent.Query().Where(complaintevent.ComplaintID(id), complaintevent.KindEQ(kind)).CountX(sys)
	}

	if ok, conflicts := race("MA", acknowledge); ok != 1 || conflicts != 11 || events(complaintevent.KindACKNOWLEDGED) != 1 {
		t.Fatalf("acknowledge: %d taken, %d CONFLICT, %d events; want 1, 11, 1", ok, conflicts, events(complaintevent.KindACKNOWLEDGED))
	}

	env.Client.Complaint.UpdateOneID(id).SetStatus(complaint.StatusRESOLVED).ExecX(sys)
	rate := `mutation($c: ID!) { rateComplaint(input: {complaintId: $c, rating: 5}) { complaint { status } } }`
	if ok, conflicts := race("H1", rate); ok != 1 || conflicts != 11 || events(complaintevent.KindRATED) != 1 || events(complaintevent.KindCLOSED) != 1 {
		t.Fatalf("rate: %d taken, %d CONFLICT, %d RATED, %d CLOSED events; want 1, 11, 1, 1",
			ok, conflicts, events(complaintevent.KindRATED), events(complaintevent.KindCLOSED))
	}
	if c := env.Client.Complaint.GetX(sys, id); c.Status != complaint.StatusCLOSED || c.Rating == nil || *c.Rating != 5 {
		t.Fatalf("after the race the complaint is %s rated %v", c.Status, c.Rating)
	}
}

// submitComplaint runs in a transaction of its own, outside the request's:
// a retry with the same Idempotency-Key still files one complaint and gets
// the first answer.
func TestSubmitComplaintIsIdempotent(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	submit := `mutation($u: ID!) { submitComplaint(input: {unitId: $u, category: CRACK, title: "墙面裂缝", description: "客厅墙面有裂缝"}) { complaint { id } } }`
	var first, again struct {
		SubmitComplaint struct{ Complaint struct{ ID string } }
	}
	postWithKey(t, env, w.Viewers["H1"], "crack-1", submit, map[string]any{"u": w.ID("uH1")}).Decode(t, &first)
	postWithKey(t, env, w.Viewers["H1"], "crack-1", submit, map[string]any{"u": w.ID("uH1")}).Decode(t, &again)
	n := env.Client.Complaint.Query().Where(complaint.UnitID(w.ID("uH1"))).CountX(apitest.System())
	if n != 2 || again.SubmitComplaint.Complaint.ID != first.SubmitComplaint.Complaint.ID {
		t.Fatalf("after a retry uH1 has %d complaints (want the world's and one more), answers %s and %s",
			n, first.SubmitComplaint.Complaint.ID, again.SubmitComplaint.Complaint.ID)
	}
}

// Two submitComplaint in one operation share its transaction: one refused,
// neither is filed.
func TestTwoSubmitsInOneOperationStandOrFallTogether(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	before := env.Client.Complaint.Query().CountX(apitest.System())
	res := w.Caller(t, "H1").Query(t, `mutation($u: ID!) {
	  a: submitComplaint(input: {unitId: $u, category: CRACK, title: "墙面裂缝", description: "客厅"}) { complaint { id } }
	  b: submitComplaint(input: {unitId: $u, category: CRACK, title: " ", description: "卧室"}) { complaint { id } } }`,
		map[string]any{"u": w.ID("uH1")})
	if len(res.Errors) == 0 || res.Errors[0].Code() != "BAD_USER_INPUT" {
		t.Fatalf("want the blank title refused, got %s", res.Body)
	}
	if after := env.Client.Complaint.Query().CountX(apitest.System()); after != before {
		t.Fatalf("%d complaints filed by a refused operation", after-before)
	}
}

// The agent a complaint is assigned to sees its homeowner, phone masked,
// and can work it; before, the homeowner is no customer of theirs.
func TestAssigneeSeesTheHomeowner(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	read := `query($c: ID!) { node(id: $c) { ... on Customer { name phone } } }`
	if res := w.Caller(t, "A2").Query(t, read, map[string]any{"c": w.ID("cH1")}); !strings.Contains(string(res.Body), `"node":null`) {
		t.Fatalf("A2 sees H1 before being assigned: %s", res.Body)
	}
	w.Caller(t, "MA").Query(t, `mutation($c: ID!, $a: ID!) { assignComplaint(input: {complaintId: $c, department: ENGINEERING, assigneeId: $a}) { complaint { id } } }`,
		map[string]any{"c": w.ID("cpH1"), "a": w.ID("A2")}).Decode(t, &struct{}{})
	var got struct {
		AcknowledgeComplaint struct {
			Complaint struct{ Customer struct{ Name, Phone string } }
		}
	}
	w.Caller(t, "A2").Query(t, `mutation($c: ID!) { acknowledgeComplaint(input: {complaintId: $c}) { complaint { customer { name phone } } } }`,
		map[string]any{"c": w.ID("cpH1")}).Decode(t, &got)
	c := got.AcknowledgeComplaint.Complaint.Customer
	if c.Name == "" || !strings.Contains(c.Phone, "****") || strings.Contains(c.Phone, apitest.WorldPhones["cH1"][3:]) {
		t.Fatalf("the assignee sees the homeowner as %+v; want the name and a masked phone", c)
	}
}

// The work queue reads each edge asked for in one statement for the whole
// page: the statements do not grow with the number of complaints.
func TestComplaintQueueStatementsDoNotGrow(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	query := `{ complaintQueue(first: 50) { edges { node { id unit { number } customer { name }
	  photos { contentType } events(first: 5) { totalCount edges { node { kind } } } } } } }`
	count := func() int64 {
		env.Counter.Reset()
		var out struct{ ComplaintQueue struct{ Edges []any } }
		w.Caller(t, "MA").Query(t, query, nil).Decode(t, &out)
		return env.Counter.Count()
	}
	few := count()
	c := env.Client.Complaint.GetX(apitest.System(), w.ID("cpH1"))
	for range 6 {
		env.Client.Complaint.Create().SetUnitID(c.UnitID).SetProjectID(c.ProjectID).SetCustomerID(c.CustomerID).
			SetCategory(c.Category).SetTitle("again").SetDescription("again").
			SetResponseDueAt(c.ResponseDueAt).SetResponseRiskAt(c.ResponseRiskAt).SetResolutionStartedAt(c.ResolutionStartedAt).
			SetResolutionDueAt(c.ResolutionDueAt).SetResolutionRiskAt(c.ResolutionRiskAt).ExecX(apitest.System())
	}
	if many := count(); many != few {
		t.Fatalf("the queue took %d statements for 2 complaints and %d for 8", few, many)
	}
	t.Logf("the queue with 5 edges: %d statements for 2 complaints and for 8", few)
}
