// Package aftersales holds the rules of homeowners' complaints and repair
// requests (SPEC.md §3.3): filing with photos, the steps from submitted to
// closed with a timeline, the SLA clocks, ratings and the staff work queue.
// Every function runs with the viewer's privacy rules in the request's
// transaction (submitComplaint alone opens its own once its photos are
// stored); the conditional UPDATEs here settle races.
package aftersales

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/live"
	"estatecrm/rule"
	"estatecrm/storage"
)

// Desk is the after-sales desk: the complaint rules and what they need.
type Desk struct {
	// SLA is the deadline policy; nil means DefaultPolicy.
	SLA Policy
	// Photos keeps the photos; nil refuses complaints with photos.
	Photos storage.Store
	// Hub carries timeline events to subscribers; nil sends none.
	Hub *live.Hub
}

// Filing is a new complaint.
type Filing struct {
	UnitID pulid.ID
	// CustomerID is the homeowner staff file for; a homeowner files for themself.
	CustomerID  *pulid.ID
	Category    complaint.Category
	Severity    *complaint.Severity
	Title       string
	Description string
	Photos      []*graphql.Upload
}

// Submit files a complaint about a unit: by its homeowner, or by staff of
// its project on behalf of the customer who bought it. The SLA clocks start
// now; the photos are checked and stored, and removed again if the filing
// fails or its transaction rolls back.
func (d *Desk) Submit(ctx context.Context, client *ent.Client, f Filing, now time.Time) (*ent.Complaint, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	title, description := strings.TrimSpace(f.Title), strings.TrimSpace(f.Description)
	switch {
	case title == "" || utf8.RuneCountInString(title) > 100:
		return nil, apperr.Input("input.title", "a title of 1 to 100 characters is required")
	case description == "" || utf8.RuneCountInString(description) > 5000:
		return nil, apperr.Input("input.description", "a description of 1 to 5000 characters is required")
	case len(f.Photos) > MaxPhotos:
		return nil, apperr.Input("input.photos", "at most %d photos", MaxPhotos)
	}
	customerID, err := d.complainant(ctx, client, v, f)
	if err != nil {
		return nil, err
	}
	// complainant made sure the viewer sees the unit (a homeowner sees the
	// units they bought).
	u, err := client.Unit.Query().Where(unit.ID(f.UnitID)).Select(unit.FieldID, unit.FieldProjectID).Only(ctx)
	if err != nil {
		return nil, apperr.Input("input.unitId", "no such unit")
	}
	photos, err := d.storePhotos(ctx, f.Photos)
	if err != nil {
		return nil, err
	}
	f.Title, f.Description = title, description
	dr := draft{Filing: f, viewer: v, unit: u, customer: customerID, photos: photos}
	if ent.TxFromContext(ctx) != nil { // part of a larger mutation: its transaction
		c, err := d.file(ctx, client, dr, now)
		if err != nil {
			photos.discard(ctx)
		}
		return c, err
	}
	// The photos are stored: now the rows, in a transaction of their own.
	tx, err := client.Tx(ctx)
	if err != nil {
		photos.discard(ctx)
		return nil, err
	}
	c, err := d.file(ent.NewContext(ent.NewTxContext(ctx, tx), tx.Client()), tx.Client(), dr, now)
	if err == nil {
		err = tx.Commit()
	} else {
		_ = tx.Rollback()
	}
	if err != nil {
		photos.discard(ctx)
		return nil, err
	}
	return c.Unwrap(), nil
}

// draft is a filing checked and with its photos stored.
type draft struct {
	Filing
	viewer   *auth.Viewer
	unit     *ent.Unit
	customer pulid.ID
	photos   *storedPhotos
}

// file writes a new complaint, its photos and its first timeline event.
func (d *Desk) file(ctx context.Context, client *ent.Client, dr draft, now time.Time) (*ent.Complaint, error) {
	severity := complaint.SeverityNORMAL
	if dr.Severity != nil {
		severity = *dr.Severity
	}
	w := d.policy().Window(severity)
	create := client.Complaint.Create().
		SetUnitID(dr.unit.ID).SetProjectID(dr.unit.ProjectID).SetCustomerID(dr.customer).
		SetCategory(dr.Category).SetSeverity(severity).SetTitle(dr.Title).SetDescription(dr.Description).
		SetCreatedAt(now).SetUpdatedAt(now).
		SetResponseDueAt(now.Add(w.Response)).SetResponseRiskAt(RiskAt(now, now.Add(w.Response))).
		SetResolutionStartedAt(now).
		SetResolutionDueAt(now.Add(w.Resolution)).SetResolutionRiskAt(RiskAt(now, now.Add(w.Resolution)))
	if dr.viewer.UserID != "" {
		create.SetFiledByID(dr.viewer.UserID)
	}
	c, err := create.Save(ctx)
	if err != nil {
		return nil, err
	}
	if err := dr.photos.attach(ctx, client, c.ID, now); err != nil {
		return nil, err
	}
	if err := d.record(ctx, client, c, complaintevent.KindSUBMITTED, "", complaint.StatusSUBMITTED, "", false, now); err != nil {
		return nil, err
	}
	return c, nil
}

// complainant is the customer a filing is for. A homeowner files about a
// unit they bought; staff about a unit of their project, for the customer who
// bought it. Any other unit is FORBIDDEN whether it exists or not.
func (d *Desk) complainant(ctx context.Context, client *ent.Client, v *auth.Viewer, f Filing) (pulid.ID, error) {
	// Staff file for a customer whose deal another agent may have made.
	bought := func(customerID pulid.ID) (bool, error) { return rule.Bought(ctx, client, f.UnitID, customerID) }
	switch v.Role {
	case auth.RoleOwner:
		if f.CustomerID != nil && *f.CustomerID != v.CustomerID {
			return "", apperr.New(apperr.Forbidden, "a homeowner files complaints for themself")
		}
		ok, err := bought(v.CustomerID)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", &apperr.Error{Code: apperr.Forbidden, Field: "input.unitId", Message: "you can report only about a unit you own"}
		}
		return v.CustomerID, nil
	case auth.RoleManager, auth.RoleAgent, auth.RoleAdmin:
		if f.CustomerID == nil {
			return "", apperr.Input("input.customerId", "staff file a complaint for a customer: customerId is required")
		}
		// The customer and the unit must be the viewer's to see.
		if _, err := client.Customer.Query().Where(customer.ID(*f.CustomerID)).OnlyID(ctx); err != nil {
			return "", &apperr.Error{Code: apperr.Forbidden, Field: "input.customerId", Message: "not a customer of yours"}
		}
		if ok, err := client.Unit.Query().Where(unit.ID(f.UnitID)).Exist(ctx); err != nil || !ok {
			return "", &apperr.Error{Code: apperr.Forbidden, Field: "input.unitId", Message: "not a unit of your projects"}
		}
		ok, err := bought(*f.CustomerID)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", apperr.Input("input.unitId", "the customer has not bought this unit")
		}
		return *f.CustomerID, nil
	}
	return "", apperr.New(apperr.Forbidden, "only homeowners and staff file complaints")
}

func (d *Desk) policy() Policy {
	if d.SLA == nil {
		return DefaultPolicy()
	}
	return d.SLA
}

// Who may take a step.
var (
	staff = func(v *auth.Viewer, _ *ent.Complaint) bool {
		return is(v, auth.RoleManager, auth.RoleAgent, auth.RoleAdmin)
	}
	// Routing is a manager's call.
	manager = func(v *auth.Viewer, _ *ent.Complaint) bool { return is(v, auth.RoleManager, auth.RoleAdmin) }
	// The homeowner whose complaint it is; privacy already keeps others' out.
	homeowner = func(v *auth.Viewer, c *ent.Complaint) bool {
		return v.Role == auth.RoleOwner && c.CustomerID == v.CustomerID
	}
	managerOrHomeowner = func(v *auth.Viewer, c *ent.Complaint) bool { return manager(v, c) || homeowner(v, c) }
)

func is(v *auth.Viewer, roles ...auth.Role) bool { return slices.Contains(roles, v.Role) }

// step is one move of a complaint from some statuses to another.
type step struct {
	name string
	kind complaintevent.Kind
	from []complaint.Status
	to   complaint.Status
	who  func(*auth.Viewer, *ent.Complaint) bool
	// set adds the step's own changes to the update.
	set func(*ent.ComplaintUpdate, *ent.Complaint)
}

// Step is a request to move a complaint, with an optional note for the
// timeline.
type Step struct {
	ComplaintID pulid.ID
	Note        *string
}

// Acknowledge is the first response to a submitted complaint: it stops the
// response clock.
func (d *Desk) Acknowledge(ctx context.Context, client *ent.Client, s Step, now time.Time) (*ent.Complaint, error) {
	return d.move(ctx, client, s, step{
		name: "acknowledge", kind: complaintevent.KindACKNOWLEDGED, who: staff,
		from: []complaint.Status{complaint.StatusSUBMITTED}, to: complaint.StatusACKNOWLEDGED,
		set: func(u *ent.ComplaintUpdate, _ *ent.Complaint) { u.SetAcknowledgedAt(now) },
	}, now)
}

// Start says work on the problem has begun.
func (d *Desk) Start(ctx context.Context, client *ent.Client, s Step, now time.Time) (*ent.Complaint, error) {
	return d.move(ctx, client, s, step{
		name: "start", kind: complaintevent.KindSTARTED, who: staff,
		from: []complaint.Status{complaint.StatusACKNOWLEDGED}, to: complaint.StatusIN_PROGRESS,
	}, now)
}

// Resolve says the problem is fixed, with a note of how: it stops the
// resolution clock, waits for the homeowner's rating, and sends the
// homeowner the complaint's satisfaction survey (in the same transaction;
// a complaint resolved again after a reopen keeps the survey it has).
func (d *Desk) Resolve(ctx context.Context, client *ent.Client, s Step, now time.Time) (*ent.Complaint, error) {
	note, err := requiredNote(s.Note, "a resolution note saying what was done is required")
	if err != nil {
		return nil, err
	}
	c, err := d.move(ctx, client, s, step{
		name: "resolve", kind: complaintevent.KindRESOLVED, who: staff,
		from: []complaint.Status{complaint.StatusIN_PROGRESS}, to: complaint.StatusRESOLVED,
		set: func(u *ent.ComplaintUpdate, _ *ent.Complaint) { u.SetResolvedAt(now).SetResolutionNote(note) },
	}, now)
	if err != nil {
		return nil, err
	}
	if err := rule.IssueComplaintSurvey(ctx, client, c.ID, now); err != nil {
		return nil, err
	}
	return c, nil
}

// Close ends a resolved complaint: the homeowner confirming the fix, or a
// manager after calling them back.
func (d *Desk) Close(ctx context.Context, client *ent.Client, s Step, now time.Time) (*ent.Complaint, error) {
	return d.move(ctx, client, s, step{
		name: "close", kind: complaintevent.KindCLOSED, who: managerOrHomeowner,
		from: []complaint.Status{complaint.StatusRESOLVED}, to: complaint.StatusCLOSED,
		set: func(u *ent.ComplaintUpdate, _ *ent.Complaint) { u.SetClosedAt(now) },
	}, now)
}

// Reopen sends a resolved complaint back to work because the problem is
// still there: the homeowner or a manager says why, and the resolution
// clock starts again from now.
func (d *Desk) Reopen(ctx context.Context, client *ent.Client, s Step, now time.Time) (*ent.Complaint, error) {
	if _, err := requiredNote(s.Note, "say why the complaint is reopened"); err != nil {
		return nil, err
	}
	return d.move(ctx, client, s, d.reopen(managerOrHomeowner, now), now)
}

// reopen is the step back from resolved to in progress, by a reopen or a
// low rating.
func (d *Desk) reopen(who func(*auth.Viewer, *ent.Complaint) bool, now time.Time) step {
	return step{
		name: "reopen", kind: complaintevent.KindREOPENED, who: who,
		from: []complaint.Status{complaint.StatusRESOLVED}, to: complaint.StatusIN_PROGRESS,
		set: func(u *ent.ComplaintUpdate, c *ent.Complaint) {
			due := now.Add(d.policy().Window(c.Severity).Resolution)
			u.ClearResolvedAt().AddReopenCount(1).
				SetResolutionStartedAt(now).SetResolutionDueAt(due).SetResolutionRiskAt(RiskAt(now, due))
		},
	}
}

// Assignment routes a complaint to a department and a person.
type Assignment struct {
	ComplaintID pulid.ID
	Department  complaint.Department
	AssigneeID  pulid.ID
	Note        *string
}

// Assign routes an open complaint (a manager's call) to a department and an
// active staff member of its project. Its status does not change.
func (d *Desk) Assign(ctx context.Context, client *ent.Client, a Assignment, now time.Time) (*ent.Complaint, error) {
	c, err := client.Complaint.Get(ctx, a.ComplaintID)
	if err != nil {
		return nil, err
	}
	if !manager(auth.FromContext(ctx), c) { // before the assignee: who is staff is no homeowner's business
		return nil, apperr.New(apperr.Forbidden, "you may not assign this complaint")
	}
	// A manager sees the staff of their projects (the complaint's among them).
	ok, err := client.User.Query().Where(user.ID(a.AssigneeID), user.Active(true),
		user.RoleIn(user.RoleMANAGER, user.RoleAGENT), user.HasProjectsWith(project.ID(c.ProjectID))).
		Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Input("input.assigneeId", "not an active staff member of the complaint's project")
	}
	// The homeowner sees where it went; the manager's words go to staff only.
	note := string(a.Department)
	c, err = d.move(ctx, client, Step{ComplaintID: a.ComplaintID, Note: &note}, step{
		name: "assign", kind: complaintevent.KindASSIGNED, who: manager,
		from: []complaint.Status{complaint.StatusSUBMITTED, complaint.StatusACKNOWLEDGED, complaint.StatusIN_PROGRESS},
		set: func(u *ent.ComplaintUpdate, _ *ent.Complaint) {
			u.SetDepartment(a.Department).SetAssigneeID(a.AssigneeID)
		},
	}, now)
	if err != nil || a.Note == nil || strings.TrimSpace(*a.Note) == "" {
		return c, err
	}
	internal := true
	if _, err := d.AddNote(ctx, client, Note{ComplaintID: c.ID, Note: *a.Note, Internal: &internal}, now); err != nil {
		return nil, err
	}
	return c, nil
}

// move takes a step: the viewer must see the complaint (else NOT_FOUND) and
// be allowed the step (else FORBIDDEN), and the complaint must be in a
// status the step starts from (else CONFLICT). The UPDATE repeats the status
// condition, so of two racing steps one wins and the other gets CONFLICT.
func (d *Desk) move(ctx context.Context, client *ent.Client, s Step, st step, now time.Time) (*ent.Complaint, error) {
	v := auth.FromContext(ctx)
	c, err := client.Complaint.Get(ctx, s.ComplaintID)
	if err != nil {
		return nil, err
	}
	if !st.who(v, c) {
		return nil, apperr.New(apperr.Forbidden, "you may not %s this complaint", st.name)
	}
	if !slices.Contains(st.from, c.Status) {
		return nil, conflict(st, c.Status)
	}
	note := ""
	if s.Note != nil {
		note = strings.TrimSpace(*s.Note)
	}
	if utf8.RuneCountInString(note) > 2000 {
		return nil, apperr.Input("input.note", "at most 2000 characters")
	}
	u := client.Complaint.Update().Where(complaint.ID(c.ID)).SetUpdatedAt(now)
	if st.to != "" {
		u.Where(complaint.StatusEQ(c.Status)).SetStatus(st.to)
	} else { // a step within a status (routing) needs only to be in one of them
		u.Where(complaint.StatusIn(st.from...))
	}
	if st.set != nil {
		st.set(u, c)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		fresh, err := client.Complaint.Get(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		return nil, conflict(st, fresh.Status)
	}
	from := c.Status
	if st.to == "" { // a step within a status (routing) moves nothing
		from = ""
	}
	if err := d.record(ctx, client, c, st.kind, from, st.to, note, false, now); err != nil {
		return nil, err
	}
	return client.Complaint.Get(ctx, c.ID)
}

func conflict(st step, status complaint.Status) error {
	from := make([]string, len(st.from))
	for i, s := range st.from {
		from[i] = string(s)
	}
	return apperr.New(apperr.Conflict, "the complaint is %s: only a complaint that is %s can %s",
		status, strings.Join(from, " or "), st.name)
}

func requiredNote(note *string, msg string) (string, error) {
	if note == nil || strings.TrimSpace(*note) == "" {
		return "", apperr.Input("input.note", "%s", msg)
	}
	return strings.TrimSpace(*note), nil
}

// Rating is a homeowner's verdict on a resolution.
type Rating struct {
	ComplaintID pulid.ID
	Rating      int
	Comment     *string
}

// Rate records the homeowner's rating of a resolved complaint of theirs,
// once: a rating of 1 or 2 reopens it, a better one closes it.
func (d *Desk) Rate(ctx context.Context, client *ent.Client, r Rating, now time.Time) (*ent.Complaint, error) {
	if r.Rating < 1 || r.Rating > 5 {
		return nil, apperr.Input("input.rating", "a rating is 1 to 5")
	}
	comment := ""
	if r.Comment != nil {
		comment = strings.TrimSpace(*r.Comment)
	}
	if utf8.RuneCountInString(comment) > 1000 {
		return nil, apperr.Input("input.comment", "at most 1000 characters")
	}
	v := auth.FromContext(ctx)
	c, err := client.Complaint.Get(ctx, r.ComplaintID)
	if err != nil {
		return nil, err
	}
	if !homeowner(v, c) {
		return nil, apperr.New(apperr.Forbidden, "only the homeowner rates a complaint")
	}
	if c.Rating != nil {
		return nil, apperr.New(apperr.Conflict, "the complaint is already rated")
	}
	st := step{name: "close", kind: complaintevent.KindCLOSED, who: homeowner,
		from: []complaint.Status{complaint.StatusRESOLVED}, to: complaint.StatusCLOSED,
		set: func(u *ent.ComplaintUpdate, _ *ent.Complaint) { u.SetClosedAt(now) }}
	if r.Rating <= 2 {
		st = d.reopen(homeowner, now)
	}
	st.name = "be rated"
	set := st.set
	st.set = func(u *ent.ComplaintUpdate, c *ent.Complaint) {
		// rating IS NULL in the UPDATE: two racing ratings cannot both count.
		u.Where(complaint.RatingIsNil()).SetRating(r.Rating).SetRatingComment(comment).SetRatedAt(now)
		set(u, c)
	}
	if c.Status != complaint.StatusRESOLVED {
		return nil, conflict(st, c.Status)
	}
	if err := d.record(ctx, client, c, complaintevent.KindRATED, "", "", ratingNote(r.Rating, comment), false, now); err != nil {
		return nil, err
	}
	return d.move(ctx, client, Step{ComplaintID: c.ID}, st, now)
}

func ratingNote(rating int, comment string) string {
	note := strings.Repeat("★", rating) + strings.Repeat("☆", 5-rating)
	if comment != "" {
		note += " " + comment
	}
	return note
}

// Note is a line added to a complaint's timeline.
type Note struct {
	ComplaintID pulid.ID
	Note        string
	// Internal notes are for staff only; unset, a staff note is internal
	// and a homeowner's public.
	Internal *bool
}

// AddNote adds a note to the timeline of a complaint the viewer sees: staff
// notes are internal unless said otherwise, a homeowner's are public.
func (d *Desk) AddNote(ctx context.Context, client *ent.Client, n Note, now time.Time) (*ent.ComplaintEvent, error) {
	note, err := requiredNote(&n.Note, "a note is required")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(note) > 2000 {
		return nil, apperr.Input("input.note", "at most 2000 characters")
	}
	v := auth.FromContext(ctx)
	c, err := client.Complaint.Get(ctx, n.ComplaintID)
	if err != nil {
		return nil, err
	}
	internal := v.Role != auth.RoleOwner
	if n.Internal != nil {
		internal = *n.Internal
	}
	if v.Role == auth.RoleOwner && internal {
		return nil, apperr.Input("input.internal", "a homeowner's notes are seen by staff and the homeowner")
	}
	if err := client.Complaint.UpdateOneID(c.ID).SetUpdatedAt(now).Exec(ctx); err != nil {
		return nil, err
	}
	e, err := d.event(ctx, client, c.ID, complaintevent.KindNOTE, "", "", note, internal, now)
	if err != nil {
		return nil, err
	}
	return e, d.announce(ctx, client, c, e)
}

// record writes a timeline event of c and announces it.
func (d *Desk) record(ctx context.Context, client *ent.Client, c *ent.Complaint, kind complaintevent.Kind, from, to complaint.Status, note string, internal bool, now time.Time) error {
	e, err := d.event(ctx, client, c.ID, kind, from, to, note, internal, now)
	if err != nil {
		return err
	}
	return d.announce(ctx, client, c, e)
}

func (d *Desk) event(ctx context.Context, client *ent.Client, id pulid.ID, kind complaintevent.Kind, from, to complaint.Status, note string, internal bool, now time.Time) (*ent.ComplaintEvent, error) {
	create := client.ComplaintEvent.Create().SetComplaintID(id).SetKind(kind).
		SetFromStatus(string(from)).SetToStatus(string(to)).SetNote(note).SetInternal(internal).SetCreatedAt(now)
	if v := auth.FromContext(ctx); v != nil && v.UserID != "" {
		create.SetActorID(v.UserID)
	}
	return create.Save(ctx)
}

func (d *Desk) announce(ctx context.Context, client *ent.Client, c *ent.Complaint, e *ent.ComplaintEvent) error {
	if d.Hub == nil {
		return nil
	}
	return d.Hub.AnnounceComplaint(ctx, client, live.ComplaintEvent{ComplaintID: c.ID, EventID: e.ID,
		ProjectID: c.ProjectID, CustomerID: c.CustomerID, Internal: e.Internal})
}
