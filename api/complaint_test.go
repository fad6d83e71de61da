package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/money"
)

// Complaints and repair requests (SPEC.md §3.3): the steps from submitted to
// closed with their timeline, who may take which step, the SLA clocks, the
// staff work queue and filing on a homeowner's behalf.

// complaintFields is what the tests read of a complaint, after every step
// and through node(id:).
const complaintFields = `fragment C on Complaint {
  id title status severity department assigneeID customerID filedByID
  reopenCount rating ratingComment ratedAt resolutionNote acknowledgedAt resolvedAt closedAt updatedAt
  responseSla { state startedAt dueAt metAt takenSeconds remainingSeconds }
  resolutionSla { state startedAt dueAt metAt takenSeconds remainingSeconds }
  events(first: 50) { totalCount edges { node { kind fromStatus toStatus note internal actorID } } }
}`

// The mutations under test; each answers with the complaint (fragment C).
const (
	cpSubmit = `mutation($u: ID!, $c: ID, $sev: ComplaintSeverity, $title: String!) {
  submitComplaint(input: {unitId: $u, customerId: $c, category: LEAK, severity: $sev, title: $title,
    description: "water comes through the bathroom ceiling"}) { complaint { ...C } } }` + complaintFields
	cpAcknowledge = `mutation($id: ID!, $note: String) {
  acknowledgeComplaint(input: {complaintId: $id, note: $note}) { complaint { ...C } } }` + complaintFields
	cpAssign = `mutation($id: ID!, $dept: ComplaintDepartment!, $assignee: ID!, $note: String) {
  assignComplaint(input: {complaintId: $id, department: $dept, assigneeId: $assignee, note: $note}) { complaint { ...C } } }` + complaintFields
	cpStart = `mutation($id: ID!, $note: String) {
  startComplaint(input: {complaintId: $id, note: $note}) { complaint { ...C } } }` + complaintFields
	cpResolve = `mutation($id: ID!, $note: String) {
  resolveComplaint(input: {complaintId: $id, note: $note}) { complaint { ...C } } }` + complaintFields
	cpClose = `mutation($id: ID!, $note: String) {
  closeComplaint(input: {complaintId: $id, note: $note}) { complaint { ...C } } }` + complaintFields
	cpReopen = `mutation($id: ID!, $note: String) {
  reopenComplaint(input: {complaintId: $id, note: $note}) { complaint { ...C } } }` + complaintFields
	cpRate = `mutation($id: ID!, $rating: Int!, $comment: String) {
  rateComplaint(input: {complaintId: $id, rating: $rating, comment: $comment}) { complaint { ...C } } }` + complaintFields
	cpNote = `mutation($id: ID!, $note: String!, $internal: Boolean) {
  addComplaintNote(input: {complaintId: $id, note: $note, internal: $internal}) { event { kind internal note actorID } } }`
	cpRead  = `query($id: ID!) { node(id: $id) { ...C } }` + complaintFields
	cpQueue = `query($p: ID, $first: Int!, $after: Cursor) {
  complaintQueue(projectId: $p, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id title acknowledgedAt responseSla { state } resolutionSla { state } } } } }`
)

// TestComplaintLifecycle walks one complaint from the homeowner's report to
// their rating, checking each step and the timeline both sides see.
func TestComplaintLifecycle(t *testing.T) {
	w := newComplaintWorld(t)
	w.at(0)
	c := w.submit(t, "H1", "uH1", "", "NORMAL", "leak in the bathroom")
	if c.Status != "SUBMITTED" || c.CustomerID != string(w.id("cH1")) || orEmpty(c.FiledByID) != string(w.id("H1")) || c.Severity != "NORMAL" {
		t.Fatalf("submitted %+v", c)
	}
	// The deadlines of a NORMAL complaint: respond in 24 h, resolve in 48 h.
	w.wantClock(t, "response", c.ResponseSla, "ON_TRACK", 0, 24*time.Hour, clockRunning)
	w.wantClock(t, "resolution", c.ResolutionSla, "ON_TRACK", 0, 48*time.Hour, clockRunning)
	id := c.ID

	// A2 neither owns the customer nor is assigned yet: the complaint is not theirs to see.
	w.at(30 * time.Minute)
	w.wantRefused(t, id, "A2", cpStart, cpVars{}, "NOT_FOUND", "")

	// addNote adds a note at 2 h 30 min without saying whether it is
	// internal: a staff member's is, a homeowner's is not.
	addNote := func(actor, note string, internal bool) func(*testing.T) {
		return func(t *testing.T) {
			w.at(2*time.Hour + 30*time.Minute)
			var n struct {
				AddComplaintNote struct{ Event struct{ Internal bool } }
			}
			w.as(t, actor).Query(t, cpNote, cpVars{"note": note}.with(id)).Decode(t, &n)
			if n.AddComplaintNote.Event.Internal != internal {
				t.Fatalf("%s's note: internal %v, want %v", actor, n.AddComplaintNote.Event.Internal, internal)
			}
		}
	}
	steps := []struct {
		name   string
		at     time.Duration
		actor  string
		query  string
		vars   cpVars
		status string
		// then runs after the step.
		then func(*testing.T)
	}{
		{name: "the manager acknowledges", at: time.Hour, actor: "MA", query: cpAcknowledge,
			vars: cpVars{"note": "we will call you today"}, status: "ACKNOWLEDGED"},
		{name: "the manager assigns it to an agent of the project", at: 2 * time.Hour, actor: "MA", query: cpAssign,
			vars: cpVars{"dept": "ENGINEERING", "assignee": w.id("A2"), "note": "plumber on Tuesday"}, status: "ACKNOWLEDGED",
			then: func(t *testing.T) {
				addNote("MA", "the owner drilled into the pipe himself", true)(t)
				addNote("H1", "please come after 6 pm", false)(t)
			}},
		{name: "the assignee starts", at: 3 * time.Hour, actor: "A2", query: cpStart, status: "IN_PROGRESS"},
		{name: "the assignee resolves it with a note", at: 20 * time.Hour, actor: "A2", query: cpResolve,
			vars: cpVars{"note": "replaced the cracked pipe"}, status: "RESOLVED"},
		{name: "the homeowner rates it 4 stars", at: 22 * time.Hour, actor: "H1", query: cpRate,
			vars: cpVars{"rating": 4, "comment": "quick and clean"}, status: "CLOSED"},
	}
	for _, s := range steps {
		w.at(s.at)
		got := w.step(t, s.actor, s.query, s.vars.with(id))
		if got.Status != s.status {
			t.Fatalf("%s: status %s, want %s", s.name, got.Status, s.status)
		}
		if s.then != nil {
			s.then(t)
		}
	}

	final := w.read(t, "MA", id)
	if orEmpty(final.Department) != "ENGINEERING" || orEmpty(final.AssigneeID) != string(w.id("A2")) ||
		orEmpty(final.ResolutionNote) != "replaced the cracked pipe" || orZero(final.Rating) != 4 || orEmpty(final.RatingComment) != "quick and clean" ||
		!timeIs(final.AcknowledgedAt, w.t0.Add(time.Hour)) || !timeIs(final.ResolvedAt, w.t0.Add(20*time.Hour)) ||
		!timeIs(final.ClosedAt, w.t0.Add(22*time.Hour)) || !timeIs(final.RatedAt, w.t0.Add(22*time.Hour)) {
		t.Fatalf("closed complaint %+v", final)
	}
	// Acknowledged after 1 h, resolved after 20 h: both clocks met.
	w.wantClock(t, "response", final.ResponseSla, "MET", 0, 24*time.Hour, time.Hour)
	w.wantClock(t, "resolution", final.ResolutionSla, "MET", 0, 48*time.Hour, 20*time.Hour)

	h1, ma, a2 := string(w.id("H1")), string(w.id("MA")), string(w.id("A2"))
	internal := timelineEvent{"NOTE", "", "", ma, true}
	timeline := []timelineEvent{
		{"SUBMITTED", "", "SUBMITTED", h1, false},
		{"ACKNOWLEDGED", "SUBMITTED", "ACKNOWLEDGED", ma, false},
		{"ASSIGNED", "", "", ma, false},
		internal, // the manager's routing note ("plumber on Tuesday") is for staff
		internal,
		{"NOTE", "", "", h1, false},
		{"STARTED", "ACKNOWLEDGED", "IN_PROGRESS", a2, false},
		{"RESOLVED", "IN_PROGRESS", "RESOLVED", a2, false},
		{"RATED", "", "", h1, false},
		{"CLOSED", "RESOLVED", "CLOSED", h1, false},
	}
	t.Run("the manager sees the whole timeline", func(t *testing.T) {
		wantTimeline(t, final, timeline)
		if notes := final.notes(); notes[2] != "ENGINEERING" || notes[3] != "plumber on Tuesday" ||
			notes[7] != "replaced the cracked pipe" || !strings.Contains(notes[8], "quick and clean") {
			t.Errorf("timeline notes %q", notes)
		}
	})
	t.Run("the homeowner sees the public events only", func(t *testing.T) {
		wantTimeline(t, w.read(t, "H1", id), slices.DeleteFunc(slices.Clone(timeline), func(e timelineEvent) bool { return e == internal }))
	})

	// A manager may also end a resolved complaint, or send it back to work.
	for _, tc := range []struct {
		name, query, status string
		reopens             int
	}{
		{"a manager closes a resolved complaint", cpClose, "CLOSED", 0},
		{"a manager reopens a resolved complaint", cpReopen, "IN_PROGRESS", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.at(30 * time.Hour)
			id := w.submit(t, "H1", "uH1", "", "NORMAL", tc.name).ID
			for _, s := range []string{cpAcknowledge, cpStart, cpResolve} {
				w.step(t, "MA", s, cpVars{"id": id, "note": "done"})
			}
			w.at(31 * time.Hour)
			c := w.step(t, "MA", tc.query, cpVars{"id": id, "note": "called the owner back"})
			if c.Status != tc.status || c.ReopenCount != tc.reopens || c.Rating != nil {
				t.Fatalf("status %s, reopens %d, rating %v", c.Status, c.ReopenCount, c.Rating)
			}
			if last := c.timeline()[len(c.timeline())-1]; last.from != "RESOLVED" || last.to != tc.status || last.actor != ma {
				t.Fatalf("last event %+v", last)
			}
		})
	}
}

// TestComplaintIllegalTransitions: a step from the wrong status is a
// CONFLICT, by the wrong role FORBIDDEN, on a complaint the caller cannot
// see NOT_FOUND, with bad input BAD_USER_INPUT; and a refused step changes
// nothing, not even updatedAt or the timeline.
func TestComplaintIllegalTransitions(t *testing.T) {
	w := newComplaintWorld(t)
	type refusal struct {
		name   string
		status complaint.Status
		// prep adds state beyond the status (the complaint as a step left it).
		prep  func(*ent.ComplaintUpdateOne)
		actor string
		query string
		vars  cpVars
		code  string
		field string
	}
	note := cpVars{"note": "still leaking"}
	rated := func(u *ent.ComplaintUpdateOne) { u.SetRating(1).SetRatedAt(w.t0).AddReopenCount(1) }
	cases := []refusal{
		// Wrong status.
		{name: "acknowledging an ACKNOWLEDGED complaint", status: complaint.StatusACKNOWLEDGED, actor: "MA", query: cpAcknowledge, code: "CONFLICT"},
		{name: "acknowledging a CLOSED complaint", status: complaint.StatusCLOSED, actor: "MA", query: cpAcknowledge, code: "CONFLICT"},
		{name: "starting a SUBMITTED complaint", status: complaint.StatusSUBMITTED, actor: "MA", query: cpStart, code: "CONFLICT"},
		{name: "resolving an ACKNOWLEDGED complaint", status: complaint.StatusACKNOWLEDGED, actor: "MA", query: cpResolve, vars: cpVars{"note": "fixed"}, code: "CONFLICT"},
		{name: "closing an IN_PROGRESS complaint (manager)", status: complaint.StatusIN_PROGRESS, actor: "MA", query: cpClose, code: "CONFLICT"},
		{name: "closing an IN_PROGRESS complaint (homeowner)", status: complaint.StatusIN_PROGRESS, actor: "H1", query: cpClose, code: "CONFLICT"},
		{name: "reopening a CLOSED complaint", status: complaint.StatusCLOSED, actor: "H1", query: cpReopen, vars: note, code: "CONFLICT"},
		{name: "assigning a RESOLVED complaint", status: complaint.StatusRESOLVED, actor: "MA", query: cpAssign,
			vars: cpVars{"dept": "PROPERTY", "assignee": w.id("A2")}, code: "CONFLICT"},
		{name: "rating an IN_PROGRESS complaint", status: complaint.StatusIN_PROGRESS, actor: "H1", query: cpRate, vars: cpVars{"rating": 5}, code: "CONFLICT"},
		{name: "rating a complaint a second time", status: complaint.StatusRESOLVED, prep: rated, actor: "H1", query: cpRate, vars: cpVars{"rating": 5}, code: "CONFLICT"},
		// Bad input.
		{name: "resolving without a note", status: complaint.StatusIN_PROGRESS, actor: "MA", query: cpResolve, code: "BAD_USER_INPUT", field: "input.note"},
		{name: "resolving with a blank note", status: complaint.StatusIN_PROGRESS, actor: "MA", query: cpResolve, vars: cpVars{"note": "  "}, code: "BAD_USER_INPUT", field: "input.note"},
		{name: "reopening without a note", status: complaint.StatusRESOLVED, actor: "H1", query: cpReopen, code: "BAD_USER_INPUT", field: "input.note"},
		{name: "a rating of 0", status: complaint.StatusRESOLVED, actor: "H1", query: cpRate, vars: cpVars{"rating": 0}, code: "BAD_USER_INPUT", field: "input.rating"},
		{name: "a rating of 6", status: complaint.StatusRESOLVED, actor: "H1", query: cpRate, vars: cpVars{"rating": 6}, code: "BAD_USER_INPUT", field: "input.rating"},
		{name: "a homeowner's internal note", status: complaint.StatusSUBMITTED, actor: "H1", query: cpNote,
			vars: cpVars{"note": "hide this", "internal": true}, code: "BAD_USER_INPUT", field: "input.internal"},
		{name: "assigning to staff of another project", status: complaint.StatusSUBMITTED, actor: "MA", query: cpAssign,
			vars: cpVars{"dept": "ENGINEERING", "assignee": w.id("B1")}, code: "BAD_USER_INPUT", field: "input.assigneeId"},
		{name: "assigning to an inactive agent of the project", status: complaint.StatusSUBMITTED, actor: "MA", query: cpAssign,
			vars: cpVars{"dept": "ENGINEERING", "assignee": w.id("AX")}, code: "BAD_USER_INPUT", field: "input.assigneeId"},
		{name: "assigning to a homeowner", status: complaint.StatusSUBMITTED, actor: "MA", query: cpAssign,
			vars: cpVars{"dept": "ENGINEERING", "assignee": w.id("H2")}, code: "BAD_USER_INPUT", field: "input.assigneeId"},
		// Wrong role, on a complaint the caller sees.
		{name: "a homeowner acknowledging", status: complaint.StatusSUBMITTED, actor: "H1", query: cpAcknowledge, code: "FORBIDDEN"},
		{name: "a homeowner resolving", status: complaint.StatusIN_PROGRESS, actor: "H1", query: cpResolve, vars: cpVars{"note": "fixed it myself"}, code: "FORBIDDEN"},
		{name: "an agent assigning", status: complaint.StatusSUBMITTED, actor: "A1", query: cpAssign,
			vars: cpVars{"dept": "ENGINEERING", "assignee": w.id("A1")}, code: "FORBIDDEN"},
		{name: "an agent closing", status: complaint.StatusRESOLVED, actor: "A1", query: cpClose, code: "FORBIDDEN"},
		{name: "an agent reopening", status: complaint.StatusRESOLVED, actor: "A1", query: cpReopen, vars: note, code: "FORBIDDEN"},
		{name: "a manager rating", status: complaint.StatusRESOLVED, actor: "MA", query: cpRate, vars: cpVars{"rating": 5}, code: "FORBIDDEN"},
		// Routing is a manager's call whoever the assignee: the role is
		// refused before the assignee is looked at, so a homeowner cannot
		// probe which IDs are staff of the project.
		{name: "a homeowner assigning to someone who is not staff", status: complaint.StatusSUBMITTED, actor: "H1", query: cpAssign,
			vars: cpVars{"dept": "ENGINEERING", "assignee": w.id("H2")}, code: "FORBIDDEN"},
		// Not the caller's to see.
		{name: "another homeowner acknowledging", status: complaint.StatusSUBMITTED, actor: "H2", query: cpAcknowledge, code: "NOT_FOUND"},
		{name: "another homeowner rating", status: complaint.StatusRESOLVED, actor: "H2", query: cpRate, vars: cpVars{"rating": 1}, code: "NOT_FOUND"},
		{name: "another homeowner reopening", status: complaint.StatusRESOLVED, actor: "H2", query: cpReopen, vars: note, code: "NOT_FOUND"},
		{name: "another homeowner adding a note", status: complaint.StatusSUBMITTED, actor: "H2", query: cpNote, vars: cpVars{"note": "me too", "internal": false}, code: "NOT_FOUND"},
		{name: "an agent of another project acknowledging", status: complaint.StatusSUBMITTED, actor: "B1", query: cpAcknowledge, code: "NOT_FOUND"},
		{name: "an agent of the project who has nothing to do with it", status: complaint.StatusSUBMITTED, actor: "A2", query: cpAcknowledge, code: "NOT_FOUND"},
		{name: "a manager of another project assigning", status: complaint.StatusSUBMITTED, actor: "MB", query: cpAssign,
			vars: cpVars{"dept": "ENGINEERING", "assignee": w.id("B1")}, code: "NOT_FOUND"},
		// Nobody.
		{name: "an anonymous caller acknowledging", status: complaint.StatusSUBMITTED, actor: "anonymous", query: cpAcknowledge, code: "UNAUTHENTICATED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.at(0)
			id := w.submit(t, "H1", "uH1", "", "NORMAL", tc.name).ID
			u := w.env.Client.Complaint.UpdateOneID(pulid.ID(id)).SetStatus(tc.status)
			if tc.prep != nil {
				tc.prep(u)
			}
			u.ExecX(apitest.System())
			// An hour later, so that a write would show in updatedAt.
			w.at(time.Hour)
			w.wantRefused(t, id, tc.actor, tc.query, tc.vars, tc.code, tc.field)
		})
	}
	t.Run("a complaint that does not exist", func(t *testing.T) {
		missing := pulid.MustNew("CP")
		for _, q := range []string{cpAcknowledge, cpStart} {
			if e := w.as(t, "MA").Query(t, q, cpVars{"id": missing}).OnlyError(t); e.Code() != "NOT_FOUND" {
				t.Errorf("a step on a missing complaint: %+v", e)
			}
		}
	})
}

// TestComplaintLowRatingReopens: a rating of 1 or 2 sends the complaint back
// to work with a new resolution clock, 3 to 5 close it; either way the
// homeowner rates once.
func TestComplaintLowRatingReopens(t *testing.T) {
	w := newComplaintWorld(t)
	// resolved files a complaint at 0 and has it resolved at 10 h.
	resolved := func(t *testing.T, title string) string {
		w.at(0)
		id := w.submit(t, "H1", "uH1", "", "NORMAL", title).ID
		for i, s := range []string{cpAcknowledge, cpStart, cpResolve} {
			w.at(time.Duration(8+i) * time.Hour)
			w.step(t, "MA", s, cpVars{"id": id, "note": "done"})
		}
		return id
	}

	t.Run("2 stars reopen it and restart the resolution clock", func(t *testing.T) {
		id := resolved(t, "two stars")
		// Rated at 60 h, long after the original deadline (48 h).
		ratedAt := 60 * time.Hour
		w.at(ratedAt)
		c := w.step(t, "H1", cpRate, cpVars{"id": id, "rating": 2, "comment": "still damp"})
		if c.Status != "IN_PROGRESS" || c.ReopenCount != 1 || orZero(c.Rating) != 2 || orEmpty(c.RatingComment) != "still damp" ||
			!timeIs(c.RatedAt, w.t0.Add(ratedAt)) || c.ResolvedAt != nil || c.ClosedAt != nil {
			t.Fatalf("after 2 stars %+v", c)
		}
		w.wantClock(t, "resolution", c.ResolutionSla, "ON_TRACK", ratedAt, 48*time.Hour, clockRunning)
		// The response clock is not restarted: it was met at 8 h.
		w.wantClock(t, "response", c.ResponseSla, "MET", 0, 24*time.Hour, 8*time.Hour)
		events := c.timeline()
		tail := events[len(events)-2:]
		h1 := string(w.id("H1"))
		if want := []timelineEvent{{"RATED", "", "", h1, false}, {"REOPENED", "RESOLVED", "IN_PROGRESS", h1, false}}; !slices.Equal(tail, want) {
			t.Fatalf("timeline ends %+v, want %+v", tail, want)
		}

		// Fixed again; a second rating is refused and changes nothing, and
		// the homeowner may still close it.
		w.at(ratedAt + time.Hour)
		w.step(t, "MA", cpResolve, cpVars{"id": id, "note": "dried and repainted"})
		w.at(ratedAt + 2*time.Hour)
		w.wantRefused(t, id, "H1", cpRate, cpVars{"rating": 5}, "CONFLICT", "")
		if got := w.step(t, "H1", cpClose, cpVars{"id": id}); got.Status != "CLOSED" || orZero(got.Rating) != 2 {
			t.Fatalf("closed after the second fix: %s, rating %v", got.Status, got.Rating)
		}
	})

	for _, tc := range []struct {
		rating int
		status string
	}{{1, "IN_PROGRESS"}, {2, "IN_PROGRESS"}, {3, "CLOSED"}, {4, "CLOSED"}, {5, "CLOSED"}} {
		rating, status := tc.rating, tc.status
		t.Run(fmt.Sprintf("%d stars leave it %s", rating, status), func(t *testing.T) {
			id := resolved(t, fmt.Sprintf("rated %d", rating))
			w.at(12 * time.Hour)
			c := w.step(t, "H1", cpRate, cpVars{"id": id, "rating": rating})
			reopens := map[string]int{"IN_PROGRESS": 1, "CLOSED": 0}[status]
			if c.Status != status || orZero(c.Rating) != rating || c.ReopenCount != reopens {
				t.Fatalf("rated %d: status %s, rating %v, reopens %d", rating, c.Status, c.Rating, c.ReopenCount)
			}
			w.wantRefused(t, id, "H1", cpRate, cpVars{"rating": 3}, "CONFLICT", "")
		})
	}
}

// TestComplaintSLAStates moves the clock across each threshold of both
// clocks and checks state and remaining time, then meets the clocks in time
// and late, and reopens.
func TestComplaintSLAStates(t *testing.T) {
	w := newComplaintWorld(t)
	severities := []struct {
		severity             string
		response, resolution time.Duration
	}{
		{"NORMAL", 24 * time.Hour, 48 * time.Hour},
		{"URGENT", 2 * time.Hour, 24 * time.Hour},
		{"LOW", 48 * time.Hour, 7 * 24 * time.Hour},
	}
	for _, sev := range severities {
		w.at(0)
		id := w.submit(t, "H1", "uH1", "", sev.severity, sev.severity+" clocks").ID
		for _, clk := range []struct {
			name   string
			window time.Duration
			pick   func(complaintView) slaView
		}{
			{"response", sev.response, func(c complaintView) slaView { return c.ResponseSla }},
			{"resolution", sev.resolution, func(c complaintView) slaView { return c.ResolutionSla }},
		} {
			// At risk once less than a fifth of the window is left.
			risk := clk.window - clk.window/5
			for _, pt := range []struct {
				name  string
				at    time.Duration
				state string
			}{
				{"at filing", 0, "ON_TRACK"},
				{"a second before the at-risk point", risk - time.Second, "ON_TRACK"},
				{"at the at-risk point (20% left is not less than 20%)", risk, "ON_TRACK"},
				{"a second after the at-risk point", risk + time.Second, "AT_RISK"},
				{"at the deadline", clk.window, "AT_RISK"},
				{"a second after the deadline", clk.window + time.Second, "BREACHED"},
				{"a day after the deadline", clk.window + 24*time.Hour, "BREACHED"},
			} {
				t.Run(fmt.Sprintf("%s %s clock %s", sev.severity, clk.name, pt.name), func(t *testing.T) {
					w.at(pt.at)
					w.wantClock(t, clk.name, clk.pick(w.read(t, "MA", id)), pt.state, 0, clk.window, clockRunning)
				})
			}
		}
	}

	// Met at or before the deadline is MET, after it BREACHED, and stays so.
	for _, tc := range []struct {
		name     string
		severity string
		window   time.Duration
		ackAt    time.Duration
		state    string
	}{
		{"NORMAL acknowledged after 3 h", "NORMAL", 24 * time.Hour, 3 * time.Hour, "MET"},
		{"NORMAL acknowledged at the deadline", "NORMAL", 24 * time.Hour, 24 * time.Hour, "MET"},
		{"NORMAL acknowledged a second late", "NORMAL", 24 * time.Hour, 24*time.Hour + time.Second, "BREACHED"},
		{"NORMAL acknowledged after 25 h", "NORMAL", 24 * time.Hour, 25 * time.Hour, "BREACHED"},
		{"URGENT acknowledged after 1 h 50 min (at risk)", "URGENT", 2 * time.Hour, 110 * time.Minute, "MET"},
		{"URGENT acknowledged after 3 h", "URGENT", 2 * time.Hour, 3 * time.Hour, "BREACHED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.at(0)
			id := w.submit(t, "H1", "uH1", "", tc.severity, tc.name).ID
			w.at(tc.ackAt)
			c := w.step(t, "MA", cpAcknowledge, cpVars{"id": id})
			w.wantClock(t, "response", c.ResponseSla, tc.state, 0, tc.window, tc.ackAt)
			// Much later the verdict stands.
			w.at(tc.ackAt + 72*time.Hour)
			w.wantClock(t, "response", w.read(t, "MA", id).ResponseSla, tc.state, 0, tc.window, tc.ackAt)
		})
	}

	t.Run("resolution met late, then reopened: a new clock", func(t *testing.T) {
		w.at(0)
		id := w.submit(t, "H1", "uH1", "", "NORMAL", "reopened clock").ID
		w.at(time.Hour)
		w.step(t, "MA", cpAcknowledge, cpVars{"id": id})
		w.at(2 * time.Hour)
		w.step(t, "MA", cpStart, cpVars{"id": id})
		w.at(50 * time.Hour)
		c := w.step(t, "MA", cpResolve, cpVars{"id": id, "note": "resealed"})
		w.wantClock(t, "resolution", c.ResolutionSla, "BREACHED", 0, 48*time.Hour, 50*time.Hour)

		// The homeowner reopens at 60 h: the original deadline is long past,
		// yet the new clock runs 48 h from now.
		reopened := 60 * time.Hour
		w.at(reopened)
		c = w.step(t, "H1", cpReopen, cpVars{"id": id, "note": "the stain is back"})
		if c.Status != "IN_PROGRESS" || c.ReopenCount != 1 || c.ResolvedAt != nil {
			t.Fatalf("reopened %+v", c)
		}
		w.wantClock(t, "resolution", c.ResolutionSla, "ON_TRACK", reopened, 48*time.Hour, clockRunning)
		w.wantClock(t, "response", c.ResponseSla, "MET", 0, 24*time.Hour, time.Hour)
		risk := reopened + 48*time.Hour - 48*time.Hour/5
		w.at(risk + time.Second)
		w.wantClock(t, "resolution", w.read(t, "MA", id).ResolutionSla, "AT_RISK", reopened, 48*time.Hour, clockRunning)
		// Resolved 10 h after the reopen: met, counted from the reopen.
		w.at(reopened + 10*time.Hour)
		c = w.step(t, "MA", cpResolve, cpVars{"id": id, "note": "replaced the seal"})
		w.wantClock(t, "resolution", c.ResolutionSla, "MET", reopened, 48*time.Hour, reopened+10*time.Hour)
	})
}

// TestComplaintQueueOrder: the staff work queue lists open complaints,
// breached first, then at risk, then on track, each group by its active
// deadline, and pages without losing or repeating any.
func TestComplaintQueueOrder(t *testing.T) {
	w := newComplaintWorld(t)
	// T is when the queue is read; each complaint is filed (and moved) some
	// hours before it. The active deadline is the response deadline until
	// acknowledged, the resolution deadline after.
	const T = 100 * time.Hour
	type filed struct {
		title, homeowner, unit, severity string
		filedAgo                         time.Duration
		ackAgo                           time.Duration // 0: not acknowledged
		start                            bool
		status                           complaint.Status // set afterwards in the database
	}
	for _, f := range []filed{
		// BREACHED: response due T-6h, T-2h, T-1h.
		{title: "B1", homeowner: "H1", unit: "uH1", severity: "NORMAL", filedAgo: 30 * time.Hour},
		{title: "B2", homeowner: "H1", unit: "uH1", severity: "NORMAL", filedAgo: 25 * time.Hour},
		{title: "B3", homeowner: "H2", unit: "uH2", severity: "URGENT", filedAgo: 4 * time.Hour},
		// AT_RISK: response due T+2h; resolution due T+8h (responded long ago,
		// its response deadline T-16h no longer counts); resolution due T+26h
		// (a week's window, so at risk since T-7.6h).
		{title: "R1", homeowner: "H2", unit: "uH2", severity: "NORMAL", filedAgo: 22 * time.Hour},
		{title: "R2", homeowner: "H1", unit: "uH1", severity: "NORMAL", filedAgo: 40 * time.Hour, ackAgo: 39 * time.Hour, start: true},
		{title: "R3", homeowner: "H2", unit: "uH2", severity: "LOW", filedAgo: 142 * time.Hour, ackAgo: 141 * time.Hour},
		// ON_TRACK: response due T+23h; resolution due T+28h (its response
		// deadline, T+4h, would sort it first were it still waiting); response due T+46h.
		{title: "O1", homeowner: "H2", unit: "uH2", severity: "NORMAL", filedAgo: time.Hour},
		{title: "O2", homeowner: "H1", unit: "uH1", severity: "NORMAL", filedAgo: 20 * time.Hour, ackAgo: 19 * time.Hour},
		{title: "O3", homeowner: "H2", unit: "uH2", severity: "LOW", filedAgo: 2 * time.Hour},
		// Not open: waiting on the homeowner, or done. Long breached, so
		// they would lead the queue were they in it.
		{title: "resolved", homeowner: "H1", unit: "uH1", severity: "NORMAL", filedAgo: 70 * time.Hour, status: complaint.StatusRESOLVED},
		{title: "closed", homeowner: "H2", unit: "uH2", severity: "NORMAL", filedAgo: 70 * time.Hour, status: complaint.StatusCLOSED},
		// Another project's, also long breached.
		{title: "other project", homeowner: "HB", unit: "uB", severity: "NORMAL", filedAgo: 50 * time.Hour},
	} {
		w.at(T - f.filedAgo)
		id := w.submit(t, f.homeowner, f.unit, "", f.severity, f.title).ID
		if f.ackAgo != 0 {
			w.at(T - f.ackAgo)
			w.step(t, "MA", cpAcknowledge, cpVars{"id": id})
			if f.start {
				w.step(t, "MA", cpStart, cpVars{"id": id})
			}
		}
		if f.status != "" {
			w.env.Client.Complaint.UpdateOneID(pulid.ID(id)).SetStatus(f.status).ExecX(apitest.System())
		}
		if f.title == "O1" {
			// H2's complaint, routed to A1: A1 works on it too.
			w.step(t, "MA", cpAssign, cpVars{"id": id, "dept": "ENGINEERING", "assignee": w.id("A1")})
		}
	}
	w.at(T)

	t.Run("the manager's queue", func(t *testing.T) {
		got, states := w.queue(t, "MA", "", 20)
		if want := []string{"B1", "B3", "B2", "R1", "R2", "R3", "O1", "O2", "O3"}; !slices.Equal(got, want) {
			t.Fatalf("queue %q, want %q", got, want)
		}
		// The premise: each is in the state its name says, by the clock the queue uses.
		for i, title := range got {
			if want := map[byte]string{'B': "BREACHED", 'R': "AT_RISK", 'O': "ON_TRACK"}[title[0]]; states[i] != want {
				t.Errorf("%s is %s, want %s", title, states[i], want)
			}
		}
	})
	t.Run("of one project", func(t *testing.T) {
		if got, _ := w.queue(t, "admin", "pA", 20); !slices.Equal(got, []string{"B1", "B3", "B2", "R1", "R2", "R3", "O1", "O2", "O3"}) {
			t.Fatalf("admin's queue of project A: %q", got)
		}
		if got, _ := w.queue(t, "MB", "", 20); !slices.Equal(got, []string{"other project"}) {
			t.Fatalf("project B's manager's queue: %q", got)
		}
		if got, _ := w.queue(t, "MA", "pB", 20); len(got) != 0 {
			t.Fatalf("project A's manager asking for project B's queue: %q", got)
		}
	})
	t.Run("pages of two", func(t *testing.T) {
		var all []string
		var after any
		for page := 1; ; page++ {
			var r complaintQueuePage
			w.as(t, "MA").Query(t, cpQueue, cpVars{"first": 2, "after": after}).Decode(t, &r)
			q := r.ComplaintQueue
			if len(q.Edges) > 2 || q.TotalCount != 9 {
				t.Fatalf("page %d: %d edges of %d", page, len(q.Edges), q.TotalCount)
			}
			for _, e := range q.Edges {
				all = append(all, e.Node.Title)
			}
			if !q.PageInfo.HasNextPage {
				break
			}
			if page > 8 {
				t.Fatalf("no end after %d pages: %q", page, all)
			}
			after = q.PageInfo.EndCursor
		}
		if want := []string{"B1", "B3", "B2", "R1", "R2", "R3", "O1", "O2", "O3"}; !slices.Equal(all, want) {
			t.Fatalf("paged %q, want %q", all, want)
		}
	})
	t.Run("an agent's queue: their customers' and those assigned to them", func(t *testing.T) {
		if got, _ := w.queue(t, "A1", "", 20); !slices.Equal(got, []string{"B1", "B2", "R2", "O1", "O2"}) {
			t.Fatalf("A1's queue %q", got)
		}
		if got, _ := w.queue(t, "A2", "", 20); !slices.Equal(got, []string{"B3", "R1", "R3", "O1", "O3"}) {
			t.Fatalf("A2's queue %q", got)
		}
		if got, _ := w.queue(t, "B1", "", 20); !slices.Equal(got, []string{"other project"}) {
			t.Fatalf("B1's queue %q", got)
		}
	})
	t.Run("a cursor not of this list is bad input", func(t *testing.T) {
		var units struct {
			Units struct{ PageInfo struct{ EndCursor any } }
		}
		w.as(t, "MA").Query(t, `{ units(first: 1) { edges { cursor } pageInfo { endCursor } } }`, nil).Decode(t, &units)
		if units.Units.PageInfo.EndCursor == nil {
			t.Fatal("no units cursor to try")
		}
		for _, c := range []struct {
			name   string
			cursor any
		}{{"another list's cursor", units.Units.PageInfo.EndCursor}, {"a malformed cursor", "not-a-cursor"}} {
			e := w.as(t, "MA").Query(t, cpQueue, cpVars{"first": 2, "after": c.cursor}).OnlyError(t)
			if e.Code() != "BAD_USER_INPUT" || e.Field() != "after" {
				t.Errorf("%s: got %s %q (%s), want BAD_USER_INPUT \"after\"", c.name, e.Code(), e.Field(), e.Message)
			}
		}
	})
	t.Run("not for homeowners or strangers", func(t *testing.T) {
		if e := w.as(t, "H1").Query(t, cpQueue, cpVars{"first": 5}).OnlyError(t); e.Code() != "FORBIDDEN" {
			t.Errorf("a homeowner's queue: %+v", e)
		}
		if e := w.as(t, "anonymous").Query(t, cpQueue, cpVars{"first": 5}).OnlyError(t); e.Code() != "UNAUTHENTICATED" {
			t.Errorf("an anonymous queue: %+v", e)
		}
	})
}

// TestComplaintStaffFilesOnBehalf: staff file for the customer who bought
// the unit; a homeowner only about their own unit.
func TestComplaintStaffFilesOnBehalf(t *testing.T) {
	w := newComplaintWorld(t)
	w.at(0)
	count := func() int { return w.env.Client.Complaint.Query().CountX(apitest.System()) }

	for _, staff := range []string{"MA", "A1"} {
		t.Run(staff+" files for the buyer", func(t *testing.T) {
			c := w.submit(t, staff, "uH1", w.id("cH1"), "URGENT", "filed by "+staff)
			if c.Status != "SUBMITTED" || c.CustomerID != string(w.id("cH1")) || orEmpty(c.FiledByID) != string(w.id(staff)) {
				t.Fatalf("filed %+v", c)
			}
			if c.Events.TotalCount != 1 || c.timeline()[0] != (timelineEvent{"SUBMITTED", "", "SUBMITTED", string(w.id(staff)), false}) {
				t.Fatalf("timeline %+v", c.timeline())
			}
			// The homeowner sees what was filed for them.
			if got := w.read(t, "H1", c.ID); got.ID != c.ID {
				t.Fatalf("the homeowner reads %+v", got)
			}
		})
	}

	for _, tc := range []struct {
		name, actor, unit string
		customer          string // a label, or "" for none
		code, field       string
	}{
		{"staff without customerId", "MA", "uH1", "", "BAD_USER_INPUT", "input.customerId"},
		{"staff for a customer who did not buy the unit", "MA", "uH1", "cH2", "BAD_USER_INPUT", "input.unitId"},
		{"staff for a customer who bought nothing", "MA", "uFree", "cA1", "BAD_USER_INPUT", "input.unitId"},
		{"an agent for another agent's customer", "A2", "uH1", "cH1", "FORBIDDEN", "input.customerId"},
		{"staff of another project", "MB", "uH1", "cH1", "FORBIDDEN", "input.customerId"},
		{"a homeowner about another's unit", "H1", "uH2", "", "FORBIDDEN", "input.unitId"},
		{"a homeowner about an unsold unit", "H1", "uFree", "", "FORBIDDEN", "input.unitId"},
		{"a homeowner about another project's unit", "H1", "uB", "", "FORBIDDEN", "input.unitId"},
		{"a homeowner for another customer", "H1", "uH2", "cH2", "FORBIDDEN", ""},
		{"an anonymous caller", "anonymous", "uH1", "cH1", "UNAUTHENTICATED", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := count()
			var cust any
			if tc.customer != "" {
				cust = w.id(tc.customer)
			}
			e := w.as(t, tc.actor).Query(t, cpSubmit, cpVars{"u": w.id(tc.unit), "c": cust, "sev": "NORMAL", "title": tc.name}).OnlyError(t)
			if e.Code() != tc.code || (tc.field != "" && e.Field() != tc.field) {
				t.Errorf("got %s %q (%s), want %s %q", e.Code(), e.Field(), e.Message, tc.code, tc.field)
			}
			if after := count(); after != before {
				t.Errorf("a refused filing made %d complaints", after-before)
			}
		})
	}
}

// complaintWorld is the cast of the complaint tests, built as the system:
//
//	project pA: units 101 uH1 (bought by cH1), 102 uH2 (bought by cH2), 103 uFree
//	project pB: unit 101 uB (bought by cB)
//	staff: MA manager of pA, MB of pB; agents A1, A2 and AX (inactive) of pA, B1 of pB
//	customers: cH1 (A1's), cH2 (A2's), cA1 (A1's, bought nothing) in pA; cB (B1's) in pB
//	homeowners: H1 (cH1), H2 (cH2), HB (cB); "admin" and "anonymous" too
//
// Its clock starts at t0 and moves with at.
type complaintWorld struct {
	env     *apitest.Env
	t0      time.Time
	ids     map[string]pulid.ID
	viewers map[string]*auth.Viewer
}

func newComplaintWorld(t *testing.T) *complaintWorld {
	t.Helper()
	env := apitest.New(t)
	ctx := apitest.System()
	c := env.Client
	// Whole seconds: PostgreSQL keeps microseconds, and the tests compare times exactly.
	w := &complaintWorld{env: env, t0: time.Now().UTC().Truncate(time.Second),
		ids: map[string]pulid.ID{}, viewers: map[string]*auth.Viewer{"admin": apitest.Admin}}
	w.at(0)

	pA, pB := env.Project(t, "pA", 1, 1, 3), env.Project(t, "pB", 1, 1, 1)
	w.ids["pA"], w.ids["pB"] = pA.ID, pB.ID
	for _, u := range c.Unit.Query().AllX(ctx) {
		w.ids[map[pulid.ID]map[string]string{pA.ID: {"101": "uH1", "102": "uH2", "103": "uFree"}, pB.ID: {"101": "uB"}}[u.ProjectID][u.Number]] = u.ID
	}
	for _, s := range []struct {
		label string
		role  user.Role
		p     *ent.Project
	}{
		{"MA", user.RoleMANAGER, pA}, {"MB", user.RoleMANAGER, pB},
		{"A1", user.RoleAGENT, pA}, {"A2", user.RoleAGENT, pA}, {"AX", user.RoleAGENT, pA}, {"B1", user.RoleAGENT, pB},
	} {
		u, v := env.User(t, s.role, s.label, s.p)
		w.ids[s.label], w.viewers[s.label] = u.ID, v
	}
	c.User.UpdateOneID(w.id("AX")).SetActive(false).ExecX(ctx)

	for i, cu := range []struct{ label, project, owner, unit, homeowner string }{
		{"cH1", "pA", "A1", "uH1", "H1"},
		{"cH2", "pA", "A2", "uH2", "H2"},
		{"cA1", "pA", "A1", "", ""},
		{"cB", "pB", "B1", "uB", "HB"},
	} {
		stage := customer.StageVISITED
		if cu.unit != "" {
			stage = customer.StageOWNER
		}
		got := c.Customer.Create().SetProjectID(w.id(cu.project)).SetName(cu.label).SetPhone(fmt.Sprintf("1391234%04d", i)).
			SetSource(customer.SourceWALK_IN).SetStage(stage).SetOwnerID(w.id(cu.owner)).
			SetProtectedUntil(w.t0.Add(30 * 24 * time.Hour)).SaveX(ctx)
		w.ids[cu.label] = got.ID
		if cu.unit == "" {
			continue
		}
		// A contracted deal makes the customer the unit's homeowner.
		c.Deal.Create().SetUnitID(w.id(cu.unit)).SetCustomerID(got.ID).SetAgentID(w.id(cu.owner)).
			SetProjectID(w.id(cu.project)).SetStage(deal.StageCONTRACTED).SetPrice(money.Yuan(3_000_000)).
			SetPaymentMethod(deal.PaymentMethodFULL).SetReservedAt(w.t0.Add(-48 * time.Hour)).
			SetContractedAt(w.t0.Add(-24 * time.Hour)).ExecX(ctx)
		c.Unit.UpdateOneID(w.id(cu.unit)).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
		h := c.User.Create().SetName(cu.homeowner).SetLogin(cu.homeowner).SetRole(user.RoleOWNER).
			SetCustomerID(got.ID).SaveX(ctx)
		w.ids[cu.homeowner], w.viewers[cu.homeowner] = h.ID, auth.ViewerOf(h)
	}
	return w
}

// at sets the server's clock to d after t0. Callers are made per request
// (as), so their tokens are issued by the moved clock.
func (w *complaintWorld) at(d time.Duration) {
	now := w.t0.Add(d)
	w.env.Now = func() time.Time { return now }
}

func (w *complaintWorld) id(label string) pulid.ID {
	id, ok := w.ids[label]
	if !ok {
		panic("complaint world: no " + label)
	}
	return id
}

func (w *complaintWorld) as(t *testing.T, actor string) *apitest.Caller {
	t.Helper()
	if actor == "anonymous" {
		return w.env.Anonymous()
	}
	v, ok := w.viewers[actor]
	if !ok {
		t.Fatalf("complaint world: no actor %s", actor)
	}
	return w.env.As(t, v)
}

// submit files a complaint about the unit labelled unitLabel; staff file it
// for customerID.
func (w *complaintWorld) submit(t *testing.T, actor, unitLabel string, customerID pulid.ID, severity, title string) complaintView {
	t.Helper()
	var cust any
	if customerID != "" {
		cust = customerID
	}
	return w.step(t, actor, cpSubmit, cpVars{"u": w.id(unitLabel), "c": cust, "sev": severity, "title": title})
}

// step runs a mutation that answers with a complaint, which it returns.
func (w *complaintWorld) step(t *testing.T, actor, query string, v cpVars) complaintView {
	t.Helper()
	var out map[string]struct{ Complaint complaintView }
	w.as(t, actor).Query(t, query, v).Decode(t, &out)
	for _, p := range out {
		return p.Complaint
	}
	t.Fatal("no payload")
	return complaintView{}
}

// read reads a complaint through node(id:) as actor.
func (w *complaintWorld) read(t *testing.T, actor, id string) complaintView {
	t.Helper()
	var out struct{ Node *complaintView }
	w.as(t, actor).Query(t, cpRead, cpVars{"id": id}).Decode(t, &out)
	if out.Node == nil {
		t.Fatalf("%s cannot read complaint %s", actor, id)
	}
	return *out.Node
}

// wantRefused sends a refused request about complaint id and checks its
// error, and that the complaint, as the database has it, did not change.
func (w *complaintWorld) wantRefused(t *testing.T, id, actor, query string, v cpVars, code, field string) {
	t.Helper()
	before := w.snapshot(id)
	e := w.as(t, actor).Query(t, query, v.with(id)).OnlyError(t)
	if e.Code() != code || (field != "" && e.Field() != field) {
		t.Errorf("%s: got %s %q (%s), want %s %q", actor, e.Code(), e.Field(), e.Message, code, field)
	}
	if after := w.snapshot(id); after != before {
		t.Errorf("a refused request changed the complaint:\n before %s\n after  %s", before, after)
	}
}

// snapshot renders what a step may change of a complaint, read as the system.
func (w *complaintWorld) snapshot(id string) string {
	ctx := apitest.System()
	c := w.env.Client.Complaint.GetX(ctx, pulid.ID(id))
	events := w.env.Client.ComplaintEvent.Query().Where(complaintevent.ComplaintID(c.ID)).CountX(ctx)
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("status=%s updatedAt=%s events=%d department=%s assignee=%s ack=%s resolved=%s closed=%s rating=%d reopens=%d resolutionDue=%s",
		c.Status, ts(&c.UpdatedAt), events, orEmpty(c.Department), orEmpty(c.AssigneeID),
		ts(c.AcknowledgedAt), ts(c.ResolvedAt), ts(c.ClosedAt), orZero(c.Rating), c.ReopenCount, ts(&c.ResolutionDueAt))
}

// clockRunning is the met time of wantClock for a clock not yet met.
const clockRunning time.Duration = -1

// wantClock checks an SLA clock in state that started at start (after t0)
// with the given window and was met at met (after t0) or is still running.
func (w *complaintWorld) wantClock(t *testing.T, name string, got slaView, state string, start, window, met time.Duration) {
	t.Helper()
	started, due := w.t0.Add(start), w.t0.Add(start+window)
	if got.State != state || !got.StartedAt.Equal(started) || !got.DueAt.Equal(due) {
		t.Errorf("%s clock %s from %s due %s, want %s from %s due %s", name, got.State, got.StartedAt, got.DueAt, state, started, due)
	}
	if met == clockRunning {
		// Running: the time left, negative once past the deadline.
		left := int(due.Sub(w.env.Now()) / time.Second)
		if got.MetAt != nil || got.TakenSeconds != nil || got.RemainingSeconds == nil || *got.RemainingSeconds != left {
			t.Errorf("%s clock running: metAt %v, taken %v, remaining %v, want %d s remaining",
				name, got.MetAt, got.TakenSeconds, got.RemainingSeconds, left)
		}
		return
	}
	metAt := w.t0.Add(met)
	if !timeIs(got.MetAt, metAt) || got.TakenSeconds == nil || *got.TakenSeconds != int(metAt.Sub(started)/time.Second) || got.RemainingSeconds != nil {
		t.Errorf("%s clock met: metAt %v, taken %v, remaining %v, want met at %s after %d s",
			name, got.MetAt, got.TakenSeconds, got.RemainingSeconds, metAt, int(metAt.Sub(started)/time.Second))
	}
}

// queue reads actor's whole work queue (of the project labelled project, if
// any): the titles in order, and the state of each by its active clocks.
func (w *complaintWorld) queue(t *testing.T, actor, project string, first int) (titles, states []string) {
	t.Helper()
	var r complaintQueuePage
	var p any
	if project != "" {
		p = w.id(project)
	}
	w.as(t, actor).Query(t, cpQueue, cpVars{"p": p, "first": first}).Decode(t, &r)
	if r.ComplaintQueue.PageInfo.HasNextPage {
		t.Fatalf("%s's queue is longer than %d", actor, first)
	}
	for _, e := range r.ComplaintQueue.Edges {
		titles = append(titles, e.Node.Title)
		state := e.Node.ResolutionSla.State
		if e.Node.AcknowledgedAt == nil {
			// Still waiting for a response: the worse of the two clocks.
			state = worseSLAState(e.Node.ResponseSla.State, state)
		}
		states = append(states, state)
	}
	return titles, states
}

func worseSLAState(a, b string) string {
	rank := map[string]int{"BREACHED": 0, "AT_RISK": 1, "ON_TRACK": 2, "MET": 3}
	if rank[a] < rank[b] {
		return a
	}
	return b
}

// cpVars are a request's variables.
type cpVars map[string]any

// with returns a copy of v naming complaint id.
func (v cpVars) with(id string) cpVars {
	out := cpVars{"id": id}
	for k, x := range v {
		out[k] = x
	}
	return out
}

type slaView struct {
	State            string
	StartedAt, DueAt time.Time
	MetAt            *time.Time
	TakenSeconds     *int
	RemainingSeconds *int
}

type complaintView struct {
	ID, Title, Status, Severity                   string
	Department, AssigneeID, FiledByID             *string
	CustomerID                                    string
	ReopenCount                                   int
	Rating                                        *int
	RatingComment, ResolutionNote                 *string
	RatedAt, AcknowledgedAt, ResolvedAt, ClosedAt *time.Time
	UpdatedAt                                     time.Time
	ResponseSla, ResolutionSla                    slaView
	Events                                        struct {
		TotalCount int
		Edges      []struct {
			Node struct {
				Kind, FromStatus, ToStatus, Note, ActorID string
				Internal                                  bool
			}
		}
	}
}

// timelineEvent is what the tests compare of a timeline event.
type timelineEvent struct {
	kind, from, to, actor string
	internal              bool
}

func (c complaintView) timeline() []timelineEvent {
	var out []timelineEvent
	for _, e := range c.Events.Edges {
		n := e.Node
		out = append(out, timelineEvent{n.Kind, n.FromStatus, n.ToStatus, n.ActorID, n.Internal})
	}
	return out
}

func (c complaintView) notes() []string {
	var out []string
	for _, e := range c.Events.Edges {
		out = append(out, e.Node.Note)
	}
	return out
}

func wantTimeline(t *testing.T, c complaintView, want []timelineEvent) {
	t.Helper()
	got := c.timeline()
	if c.Events.TotalCount != len(want) || !slices.Equal(got, want) {
		t.Fatalf("timeline (%d):\n got  %+v\n want %+v", c.Events.TotalCount, got, want)
	}
}

type complaintQueuePage struct {
	ComplaintQueue struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   any
		}
		Edges []struct {
			Node struct {
				Title                      string
				AcknowledgedAt             *time.Time
				ResponseSla, ResolutionSla struct{ State string }
			}
		}
	}
}

func timeIs(got *time.Time, want time.Time) bool { return got != nil && got.Equal(want) }

func orEmpty[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func orZero(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
