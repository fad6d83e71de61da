package api_test

import (
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
