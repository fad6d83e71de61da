package sales

import (
	"context"
	"io"
	"slices"
	"strconv"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/ent/visit"
	"estatecrm/ride"
	"estatecrm/rule"
)

// Contact is how a visit or follow-up happened, as a client reports it.
// Whether an in-person visit is a first visit or a revisit is the server's
// call, from the customer's history.
type Contact string

// The contacts a client may report.
const (
	InPerson  Contact = "IN_PERSON"
	PhoneCall Contact = "PHONE_CALL"
	Message   Contact = "MESSAGE"
	HomeVisit Contact = "HOME_VISIT"
	Online    Contact = "ONLINE"
)

// MarshalGQL implements graphql.Marshaler.
func (c Contact) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(c))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (c *Contact) UnmarshalGQL(v any) error {
	s, _ := v.(string)
	switch Contact(s) {
	case InPerson, PhoneCall, Message, HomeVisit, Online:
		*c = Contact(s)
		return nil
	}
	return apperr.Input("input.kind", "%v is not a kind of contact", v)
}

// Visit is the input of LogVisit.
type Visit struct {
	CustomerID         pulid.ID
	Kind               Contact
	OccurredAt         time.Time
	DurationMinutes    *int
	UnitIDs            []pulid.ID
	Touchpoints        []schematype.Touchpoint
	Notes              *string
	GradeAfter         *customer.Grade
	NextFollowUpAt     *time.Time
	NextFollowUpAction *string
}

// Visits logged after the fact (offline on a tour) may be this old at most;
// a small skew of the phone's clock ahead of the server's is forgiven.
const (
	maxVisitAge = 7 * 24 * time.Hour
	clockSkew   = 2 * time.Minute
)

// stageOrder is the forward order of the lifecycle; LOST is set only by a
// manager and never by a visit.
var stageOrder = []customer.Stage{
	customer.StageLEAD, customer.StageVISITED, customer.StageNEGOTIATING,
	customer.StageRESERVED, customer.StageCONTRACTED, customer.StageOWNER,
}

// LogVisit records a visit or follow-up of a customer of the caller's and
// what follows from it, in the request's transaction: the kind (first visit
// or revisit, decided here), the last contact, the protection extended from
// the contact, the grade and next follow-up, and the stage moved forward,
// never back.
func LogVisit(ctx context.Context, client *ent.Client, in Visit, now time.Time) (*ent.Visit, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case in.OccurredAt.After(now.Add(clockSkew)):
		return nil, apperr.Input("input.occurredAt", "a visit cannot be in the future")
	case in.OccurredAt.Before(now.Add(-maxVisitAge)):
		return nil, apperr.Input("input.occurredAt", "a visit older than 7 days cannot be logged")
	case in.NextFollowUpAt != nil && in.NextFollowUpAt.Before(in.OccurredAt):
		return nil, apperr.Input("input.nextFollowUpAt", "the next follow-up comes after the visit")
	}
	// The customer with their project's protection days, with how many of
	// the units shown are of their project (and visible to the caller), and
	// for a visit in person with whether they came in person before: one
	// statement (whoever sees a customer sees the customer's project).
	// Only the columns used below: not the customer's other thirty (their
	// scan was a tenth of the server's CPU per visit), nor their phone.
	c, err := client.Customer.Query().Where(customer.ID(in.CustomerID)).
		Select(customer.FieldID, customer.FieldProjectID, customer.FieldOwnerID, customer.FieldStage,
			customer.FieldLastContactAt, customer.FieldProtectedUntil).
		Modify(func(s *sql.Selector) {
			p := sql.Table(project.Table)
			s.LeftJoin(p).On(s.C(customer.FieldProjectID), p.C(project.FieldID)).
				AppendSelectAs(p.C(project.FieldProtectionDays), projectProtectionDays)
			if len(in.UnitIDs) > 0 {
				rule.SelectUnitsOfCustomerProject(v, in.UnitIDs)(s)
			}
			if in.Kind == InPerson {
				rule.SelectInPersonVisitBefore(in.OccurredAt)(s)
			}
		}).Only(ctx)
	if err != nil {
		return nil, err
	}
	days, err := protectionDays(c)
	if err != nil {
		return nil, err
	}
	if v.Role == auth.RoleAgent && (c.OwnerID == nil || *c.OwnerID != v.UserID) {
		return nil, apperr.New(apperr.Forbidden, "only the customer's agent logs their visits; claim them first")
	}
	if len(in.UnitIDs) > 0 {
		n, err := rule.UnitsOfCustomerProject(c)
		if err != nil {
			return nil, err
		}
		if n != len(slices.Compact(slices.Sorted(slices.Values(in.UnitIDs)))) {
			return nil, apperr.Input("input.unitIds", "units shown must be units of the customer's project")
		}
	}
	kind := visit.Kind(in.Kind)
	if in.Kind == InPerson {
		// The server decides from the history, by any agent.
		before, err := rule.InPersonVisitBeforeOf(c)
		if err != nil {
			return nil, err
		}
		kind = visit.KindFIRST_VISIT
		if before {
			kind = visit.KindREVISIT
		}
	}
	create := client.Visit.Create().
		SetCustomerID(c.ID).SetAgentID(v.UserID).SetProjectID(c.ProjectID).
		SetKind(kind).SetOccurredAt(in.OccurredAt).SetNillableDurationMinutes(in.DurationMinutes).
		AddUnitsShownIDs(in.UnitIDs...).SetTouchpoints(in.Touchpoints).SetNillableNotes(in.Notes).
		SetNillableGradeAfter(visitGrade(in.GradeAfter)).
		SetNillableNextFollowUpAt(in.NextFollowUpAt).SetNillableNextFollowUpAction(in.NextFollowUpAction)
	// A bulk update of the one row: UpdateOne would read the row back, and
	// nothing here needs it.
	upd := client.Customer.Update().Where(customer.ID(c.ID))
	// On PostgreSQL the visit's INSERT (and its units shown) ride on the
	// customer's UPDATE as data-modifying CTEs: one statement, not two or
	// three (each round trip costs both processes CPU, which is what a write
	// waits for at 50 clients). The INSERTs are built by ent (SQLInsert:
	// privacy, validators); the statement fails unless the UPDATE changed
	// the customer (ride.OnChange), so that a customer who changed hands
	// since the read above takes the visit with it, with or without a
	// transaction around the statement (graph/tx.go runs logVisit alone
	// without one).
	var created *ent.Visit
	if client.Dialect() == dialect.Postgres {
		var inserts []sql.Querier
		if created, inserts, err = create.SQLInsert(ctx); err != nil {
			return nil, err
		}
		upd.Modify(ride.OnChange(inserts))
	} else if created, err = create.Save(ctx); err != nil {
		return nil, err
	}
	if c.LastContactAt == nil || in.OccurredAt.After(*c.LastContactAt) {
		upd.SetLastContactAt(in.OccurredAt)
	}
	if c.OwnerID != nil && *c.OwnerID == v.UserID {
		// Protection runs from the latest contact by the owner.
		if until := protection(&ent.Project{ProtectionDays: days}, in.OccurredAt); c.ProtectedUntil == nil || until.After(*c.ProtectedUntil) {
			upd.SetProtectedUntil(until)
		}
	}
	if in.GradeAfter != nil {
		upd.SetGrade(*in.GradeAfter)
	}
	if in.NextFollowUpAt != nil {
		upd.SetNextFollowUpAt(*in.NextFollowUpAt).SetNextFollowUpAction(deref(in.NextFollowUpAction))
	}
	if kind == visit.KindFIRST_VISIT || kind == visit.KindREVISIT || kind == visit.KindHOME_VISIT {
		upd.SetStage(forward(c.Stage, customer.StageVISITED))
	}
	n, err := upd.Save(ctx)
	if ride.NoneChanged(err) {
		n, err = 0, nil
	}
	if err != nil {
		return nil, err
	}
	if n != 1 { // as UpdateOne answers a row its privacy rules leave out
		return nil, apperr.New(apperr.NotFound, "customer not found")
	}
	return created, nil
}

// execAsOne runs statements as one (PostgreSQL): all but the last as
// data-modifying CTEs of the last. A constraint they break answers as
// ent's would (CONFLICT), not in the driver's words.
func execAsOne(ctx context.Context, client *ent.Client, stmts []sql.Querier) error {
	if len(stmts) == 0 {
		return nil
	}
	var b sql.Builder
	b.SetDialect(dialect.Postgres)
	last := len(stmts) - 1
	if last > 0 {
		b.WriteString("WITH ").JoinComma(ride.CTEs(stmts[:last])...).WriteByte(' ')
	}
	b.Join(stmts[last])
	if err := b.Err(); err != nil {
		return err
	}
	query, args := b.Query()
	if _, err := client.ExecContext(ctx, query, args...); err != nil {
		if sqlgraph.IsConstraintError(err) {
			return apperr.New(apperr.Conflict, "conflicts with an existing record")
		}
		return err
	}
	return nil
}

// projectProtectionDays is the column LogVisit reads the protection days of
// the customer's project into.
const projectProtectionDays = "project_protection_days"

// protectionDays returns the protection days read beside c (nil: the default).
func protectionDays(c *ent.Customer) (*int, error) {
	return rule.Selected[int](c.Value(projectProtectionDays))
}

// forward returns the later of two stages; LOST stays LOST.
func forward(current, next customer.Stage) customer.Stage {
	if current == customer.StageLOST || slices.Index(stageOrder, next) <= slices.Index(stageOrder, current) {
		return current
	}
	return next
}

func visitGrade(g *customer.Grade) *visit.GradeAfter {
	if g == nil {
		return nil
	}
	v := visit.GradeAfter(*g)
	return &v
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
