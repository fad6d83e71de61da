package api_test

// The complaint rows of the authorization matrix (issue 5): who may list the
// work queue, take each step of a complaint, and hear of its timeline.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"estatecrm/api/apitest"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/live"
)

func authzComplaintQueryRows() []authzRow {
	return []authzRow{
		authzQuery("Query.complaintQueue", "complaintQueue", `{ complaintQueue(first: 10) { totalCount edges { node { id } } } }`, nil,
			authzEvery("!FORBIDDEN", map[string]string{
				"admin": "#2[cpH1 cpH2]", "MA": "#2[cpH1 cpH2]", "MB": "#0[]", "B1": "#0[]",
				"A1": "#1[cpH1]", "A2": "#1[cpH2]", "anonymous": "!UNAUTHENTICATED",
			})),
		{field: "Subscription.complaintUpdated", name: "complaintUpdated, then a staff note and a public event on cpH1", run: authzWatchComplaints,
			want: authzEvery("no event", map[string]string{
				"admin": "{event={internal=true,kind=NOTE},complaint=cpH1}", "MA": "{event={internal=true,kind=NOTE},complaint=cpH1}",
				"A1": "{event={internal=true,kind=NOTE},complaint=cpH1}",
				// The homeowner hears the public event, not the staff note.
				"H1":        "{event={internal=false,kind=ACKNOWLEDGED},complaint=cpH1}",
				"anonymous": "!UNAUTHENTICATED",
			})},
	}
}

func authzComplaintMutationRows() []authzRow {
	cpH1 := func(w *apitest.World, _ string) map[string]any { return map[string]any{"c": w.ID("cpH1")} }
	step := func(mutation, note string) string {
		return `mutation($c: ID!) { ` + mutation + `(input: {complaintId: $c` + note + `}) { complaint { status } } }`
	}
	changed := func(status string) string { return "{complaint={status=" + status + "}} db=changed" }
	// Staff who see cpH1 (of H1, whose agent is A1) may work it; the
	// homeowner sees it but may not; the rest do not see it.
	staffStep := func(status string) map[string]string {
		return authzEvery("!NOT_FOUND db=unchanged", map[string]string{
			"admin": changed(status), "MA": changed(status), "A1": changed(status),
			"H1": "!FORBIDDEN db=unchanged", "anonymous": "!UNAUTHENTICATED db=unchanged",
		})
	}
	managerOrOwnerStep := func(status string) map[string]string {
		return authzEvery("!NOT_FOUND db=unchanged", map[string]string{
			"admin": changed(status), "MA": changed(status), "H1": changed(status),
			"A1": "!FORBIDDEN db=unchanged", "anonymous": "!UNAUTHENTICATED db=unchanged",
		})
	}
	state := complaintState("cpH1")
	return []authzRow{
		authzMutation("Mutation.submitComplaint", "submitComplaint about uH1",
			`mutation($u: ID!, $c: ID) { submitComplaint(input: {unitId: $u, customerId: $c, category: LEAK, title: "漏水", description: "卫生间天花板滴水"}) { complaint { status } } }`,
			func(w *apitest.World, actor string) map[string]any {
				vars := map[string]any{"u": w.ID("uH1")}
				if actor != "H1" && actor != "H2" {
					vars["c"] = w.ID("cH1") // staff file for the customer who bought it
				}
				return vars
			}, nil,
			func(t *testing.T, w *apitest.World, _ string) string {
				return fmt.Sprint(w.Env.Client.Complaint.Query().Where(complaint.UnitID(w.ID("uH1"))).CountX(apitest.System()))
			},
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin": changed("SUBMITTED"), "MA": changed("SUBMITTED"), "A1": changed("SUBMITTED"), "H1": changed("SUBMITTED"),
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.acknowledgeComplaint", "acknowledgeComplaint of cpH1", step("acknowledgeComplaint", ""), cpH1,
			resetComplaint(complaint.StatusSUBMITTED), state, staffStep("ACKNOWLEDGED")),
		authzMutation("Mutation.assignComplaint", "assignComplaint of cpH1 to A2",
			`mutation($c: ID!, $a: ID!) { assignComplaint(input: {complaintId: $c, department: ENGINEERING, assigneeId: $a}) { complaint { department } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"c": w.ID("cpH1"), "a": w.ID("A2")}
			},
			resetComplaint(complaint.StatusSUBMITTED), state,
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": "{complaint={department=ENGINEERING}} db=changed", "MA": "{complaint={department=ENGINEERING}} db=changed",
				"A1": "!FORBIDDEN db=unchanged", "H1": "!FORBIDDEN db=unchanged", "anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.startComplaint", "startComplaint of cpH1", step("startComplaint", ""), cpH1,
			resetComplaint(complaint.StatusACKNOWLEDGED), state, staffStep("IN_PROGRESS")),
		authzMutation("Mutation.resolveComplaint", "resolveComplaint of cpH1", step("resolveComplaint", `, note: "更换了密封圈"`), cpH1,
			resetComplaint(complaint.StatusIN_PROGRESS), state, staffStep("RESOLVED")),
		authzMutation("Mutation.closeComplaint", "closeComplaint of cpH1", step("closeComplaint", ""), cpH1,
			resetComplaint(complaint.StatusRESOLVED), state, managerOrOwnerStep("CLOSED")),
		authzMutation("Mutation.reopenComplaint", "reopenComplaint of cpH1", step("reopenComplaint", `, note: "又漏了"`), cpH1,
			resetComplaint(complaint.StatusRESOLVED), state, managerOrOwnerStep("IN_PROGRESS")),
		authzMutation("Mutation.rateComplaint", "rateComplaint of cpH1",
			`mutation($c: ID!) { rateComplaint(input: {complaintId: $c, rating: 5, comment: "师傅很专业"}) { complaint { status } } }`, cpH1,
			resetComplaint(complaint.StatusRESOLVED), state,
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"H1":    changed("CLOSED"),
				"admin": "!FORBIDDEN db=unchanged", "MA": "!FORBIDDEN db=unchanged", "A1": "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.addComplaintNote", "addComplaintNote on cpH1",
			`mutation($c: ID!) { addComplaintNote(input: {complaintId: $c, note: "已约周二上门"}) { event { kind internal } } }`, cpH1,
			nil, state,
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": "{event={internal=true,kind=NOTE}} db=changed", "MA": "{event={internal=true,kind=NOTE}} db=changed",
				"A1": "{event={internal=true,kind=NOTE}} db=changed",
				"H1": "{event={internal=false,kind=NOTE}} db=changed", "anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
	}
}

// resetComplaint puts cpH1 back in a status, unrouted and unrated.
func resetComplaint(status complaint.Status) func(t *testing.T, w *apitest.World, _ string) {
	return func(t *testing.T, w *apitest.World, _ string) {
		w.Env.Client.Complaint.UpdateOneID(w.ID("cpH1")).SetStatus(status).
			ClearAcknowledgedAt().ClearResolvedAt().ClearClosedAt().ClearRating().ClearRatedAt().
			ClearAssigneeID().ClearDepartment().ExecX(apitest.System())
	}
}

// complaintState is a complaint's status, routing, rating and timeline
// length, as the system reads them.
func complaintState(label string) func(t *testing.T, w *apitest.World, _ string) string {
	return func(t *testing.T, w *apitest.World, _ string) string {
		sys := apitest.System()
		c := w.Env.Client.Complaint.GetX(sys, w.ID(label))
		n := w.Env.Client.ComplaintEvent.Query().Where(complaintevent.ComplaintID(c.ID)).CountX(sys)
		return fmt.Sprint(c.Status, c.AssigneeID, c.Rating, n)
	}
}

// authzWatchComplaints subscribes to complaint updates as the actor, then
// writes a staff-only note and a public event on cpH1 (as the system) and
// reports the first update the subscriber hears.
func authzWatchComplaints(t *testing.T, w *apitest.World, actor string) string {
	sys := apitest.System()
	srv := httptest.NewServer(w.Env.Handler)
	defer srv.Close()
	s, err := dial(t, srv.URL, authzSocketPayload(t, w, actor))
	if err != nil {
		return "!UNAUTHENTICATED"
	}
	// A subscription of an earlier actor may still be going away.
	for deadline := time.Now().Add(time.Second); w.Env.Hub.ComplaintSubscribers() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { complaintUpdated { complaint { id } event { kind internal } } }`}})
	for deadline := time.Now().Add(time.Second); w.Env.Hub.ComplaintSubscribers() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	for _, e := range []struct {
		kind     complaintevent.Kind
		internal bool
	}{{complaintevent.KindNOTE, true}, {complaintevent.KindACKNOWLEDGED, false}} {
		ev := w.Env.Client.ComplaintEvent.Create().SetComplaintID(w.ID("cpH1")).SetKind(e.kind).
			SetInternal(e.internal).SaveX(sys)
		defer w.Env.Client.ComplaintEvent.DeleteOne(ev).ExecX(sys) // the world stays as other rows expect it
		// As aftersales announces it: with the complaint's project and homeowner.
		c := w.Env.Client.Complaint.GetX(sys, ev.ComplaintID)
		if err := w.Env.Hub.AnnounceComplaint(sys, w.Env.Client, live.ComplaintEvent{ComplaintID: ev.ComplaintID, EventID: ev.ID,
			ProjectID: c.ProjectID, CustomerID: c.CustomerID, Internal: ev.Internal}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, 700*time.Millisecond)
	defer cancel()
	for {
		var m map[string]any
		if err := wsjson.Read(ctx, s.conn, &m); err != nil {
			return "no event"
		}
		switch m["type"] {
		case "next":
			p, _ := m["payload"].(map[string]any)
			if data, ok := p["data"].(map[string]any); ok {
				return authzRenderValue(w, data["complaintUpdated"])
			}
			errs, _ := p["errors"].([]any)
			return authzSocketError(errs)
		case "error":
			errs, _ := m["payload"].([]any)
			return authzSocketError(errs)
		}
	}
}
