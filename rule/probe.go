package rule

// The named ways around the privacy rules (CONVENTIONS.md, "Bypasses are
// named and narrow"). A request sometimes must learn one thing about rows its
// viewer may not read — is this phone taken, and until when; has this
// customer been here before; how many live holds has this agent — or must
// write one row no rule lets its viewer write. Each function below is one
// such question or write: it checks who asks, lifts the rules for its own
// statements only (privacy.DecisionContext), and answers no more than the
// viewer may learn. Each has its own test per role (probe_test.go).
// auth.SystemContext is for the seed, migrations and background jobs, never
// for a request: a request that needs more than these asks for a new probe
// here, reviewed with the rules.

import (
	"context"
	stdsql "database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/activationcode"
	"estatecrm/ent/complaintphoto"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/predicate"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
)

// bypass lifts the privacy rules for what runs with the returned context;
// interceptors (masking) still see the viewer.
func bypass(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

// notFound answers a probe about something outside the viewer's reach as if
// it did not exist (NOT_FOUND), as the rules answer a read.
func notFound() error { return &ent.NotFoundError{} }

// salesperson returns the viewer if it sells in project: a manager or an
// agent of it, or an admin.
func salesperson(ctx context.Context, project pulid.ID) (*auth.Viewer, error) {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return nil, ErrUnauthenticated
	case v.Role == auth.RoleAdmin:
		return v, nil
	case (v.Role == auth.RoleManager || v.Role == auth.RoleAgent) && slices.Contains(v.ProjectIDs, project):
		return v, nil
	}
	return nil, notFound()
}

// Protection is what any salesperson of a project may learn of one of its
// customers, whoever owns them (SPEC.md §3.1): whether the customer is
// theirs, in the public pool, or protected by someone else until when.
type Protection struct {
	// CustomerID is set when the customer is the caller's or in the pool:
	// one the caller may see. Of a customer protected by someone else the
	// caller learns only until when.
	CustomerID pulid.ID
	// Owner is the customer's owning agent (nil: none), set with
	// CustomerID: a claim pins it in its update, so that the audit of the
	// change of owner needs no read before it.
	Owner     *pulid.ID
	ProjectID pulid.ID
	Yours     bool
	InPool    bool
	// Until is when the protection ends; nil if there never was one.
	Until *time.Time
}

// attributionFields are all a protection is read from: never the phone, so
// that a probe is no read of personal data (nor audited as one).
var attributionFields = []string{customer.FieldID, customer.FieldProjectID, customer.FieldOwnerID, customer.FieldProtectedUntil}

func protectionOf(ctx context.Context, v *auth.Viewer, c *ent.Customer) *Protection {
	p := &Protection{ProjectID: c.ProjectID, Until: c.ProtectedUntil,
		Yours:  c.OwnerID != nil && *c.OwnerID == v.UserID,
		InPool: InPublicPool(c, clock.Now(ctx))}
	if p.Yours || p.InPool {
		p.CustomerID, p.Owner = c.ID, c.OwnerID
	}
	return p
}

// Registered is what a salesperson registering a phone in a project of
// theirs may learn of the customer of that project who already has it: the
// customer's protection. Customers of other projects are not looked at: a
// phone is one customer per project (判客 is per project), and the person's
// records elsewhere are no business of the registration.
type Registered struct {
	*Protection
	// The customer and its owner, whoever they are, for the record of a
	// refused registration (RecordRefusedRegistration); never told.
	customer pulid.ID
	owner    *pulid.ID
}

// PhoneTaken tells a salesperson of project whether phone (E.164) is
// already a customer's in that project (nil if not), and if so what they
// may learn of it: its protection. A customer of another project with the
// same phone makes no difference, not even in time: the lookup is the same
// one index probe on (phone, project) whether or not the phone is known
// elsewhere.
func PhoneTaken(ctx context.Context, client *ent.Client, project pulid.ID, phone string) (*Registered, error) {
	v, err := salesperson(ctx, project)
	if err != nil {
		return nil, err
	}
	c, err := client.Customer.Query().Where(customer.Phone(phone), customer.ProjectID(project)).
		Select(attributionFields...).Only(bypass(ctx))
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &Registered{Protection: protectionOf(ctx, v, c), customer: c.ID, owner: c.OwnerID}, nil
}

// The columns SelectPhoneHolder adds to a project's row.
const (
	holderID             = "phone_holder_id"
	holderOwnerID        = "phone_holder_owner_id"
	holderProtectedUntil = "phone_holder_protected_until"
)

// SelectPhoneHolder adds to a read of a project what PhoneTaken reads of
// the customer of that project who has phone (E.164): the same columns,
// NULL when nobody has it, by the same index probe on (phone, project). A
// registration then reads its project and probes the phone in one
// statement; PhoneHolder answers from the row. The project's own rules
// still decide whether the row is read at all. PostgreSQL only: SQLite's
// driver gives no type to a NULL of the joined columns (ent cannot scan
// it), and in process a second statement costs no round trip.
func SelectPhoneHolder(phone string) func(*sql.Selector) {
	return func(s *sql.Selector) {
		c := sql.Table(customer.Table).As("phone_holder")
		s.LeftJoin(c).OnP(sql.And(sql.ColumnsEQ(c.C(customer.FieldProjectID), s.C(project.FieldID)), sql.EQ(c.C(customer.FieldPhone), phone))).
			AppendSelectAs(c.C(customer.FieldID), holderID).
			AppendSelectAs(c.C(customer.FieldOwnerID), holderOwnerID).
			AppendSelectAs(c.C(customer.FieldProtectedUntil), holderProtectedUntil)
	}
}

// PhoneHolder is PhoneTaken's answer for p, read with SelectPhoneHolder.
func PhoneHolder(ctx context.Context, p *ent.Project) (*Registered, error) {
	v, err := salesperson(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	id, err := Selected[string](p.Value(holderID))
	if err != nil || id == nil {
		return nil, err
	}
	owner, err := Selected[string](p.Value(holderOwnerID))
	if err != nil {
		return nil, err
	}
	until, err := Selected[time.Time](p.Value(holderProtectedUntil))
	if err != nil {
		return nil, err
	}
	c := &ent.Customer{ID: pulid.ID(*id), ProjectID: p.ID, ProtectedUntil: until}
	if owner != nil {
		o := pulid.ID(*owner)
		c.OwnerID = &o
	}
	return &Registered{Protection: protectionOf(ctx, v, c), customer: c.ID, owner: c.OwnerID}, nil
}

// Selected scans a column read beside a row (a Modify's AppendSelectAs,
// got with the entity's Value) as a T; nil: NULL.
func Selected[T any](v ent.Value, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	var n stdsql.Null[T]
	if err := n.Scan(v); err != nil {
		return nil, err
	}
	if !n.Valid {
		return nil, nil
	}
	return &n.V, nil
}

// CustomerProtection tells a salesperson the protection of a customer of
// one of their projects, whether or not they may see the customer (an agent
// who lost the race for a pool customer hears until when it is taken, not
// that it never existed). Outside their projects the customer does not exist.
func CustomerProtection(ctx context.Context, client *ent.Client, id pulid.ID) (*Protection, error) {
	if auth.FromContext(ctx) == nil {
		return nil, ErrUnauthenticated
	}
	c, err := client.Customer.Query().Where(customer.ID(id)).Select(attributionFields...).Only(bypass(ctx))
	if err != nil {
		return nil, err
	}
	v, err := salesperson(ctx, c.ProjectID)
	if err != nil {
		return nil, err
	}
	return protectionOf(ctx, v, c), nil
}

// InPersonVisitBefore tells whoever may see a customer whether the customer
// came in person before t, with whichever agent: the server decides first
// visit or revisit from the whole history, of which an agent sees only its
// own part.
func InPersonVisitBefore(ctx context.Context, client *ent.Client, customerID pulid.ID, t time.Time) (bool, error) {
	seen, err := client.Customer.Query().Where(customer.ID(customerID)).Exist(ctx)
	if err != nil {
		return false, err
	}
	if !seen {
		return false, notFound()
	}
	return inPersonVisitBefore(ctx, client, customerID, t)
}

func inPersonVisitBefore(ctx context.Context, client *ent.Client, customerID pulid.ID, t time.Time) (bool, error) {
	return client.Visit.Query().
		Where(visit.CustomerID(customerID), inPersonBefore(t)).
		Exist(bypass(ctx))
}

// inPersonBefore is a visit in person before t.
func inPersonBefore(t time.Time) predicate.Visit {
	return visit.And(visit.KindIn(visit.KindFIRST_VISIT, visit.KindREVISIT), visit.OccurredAtLT(t))
}

// inPersonBeforeColumn is the column SelectInPersonVisitBefore adds.
const inPersonBeforeColumn = "in_person_visit_before"

// SelectInPersonVisitBefore is InPersonVisitBefore asked inside a read of
// customers (a Modify of a customer query), for each customer the read
// returns, so that a caller reading the customer anyway (LogVisit) asks it
// in the same statement; InPersonVisitBeforeOf reads the answer. The
// customers are those the customer's privacy rules let through (what
// InPersonVisitBefore checks first); the visits are counted past their
// rules, as InPersonVisitBefore counts them, and only one bit of them comes
// back.
func SelectInPersonVisitBefore(t time.Time) func(*sql.Selector) {
	return func(s *sql.Selector) {
		v := sql.Table(visit.Table)
		sub := sql.Select(v.C(visit.FieldID)).From(v)
		sub.Where(sql.ColumnsEQ(sub.C(visit.FieldCustomerID), s.C(customer.FieldID)))
		inPersonBefore(t)(sub)
		s.AppendSelectExprAs(sql.Exists(sub), inPersonBeforeColumn)
	}
}

// InPersonVisitBeforeOf is the answer of SelectInPersonVisitBefore for a
// customer read with it.
func InPersonVisitBeforeOf(c *ent.Customer) (bool, error) {
	v, err := c.Value(inPersonBeforeColumn)
	if err != nil {
		return false, err
	}
	var b stdsql.NullBool
	if err := b.Scan(v); err != nil {
		return false, err
	}
	return b.Bool, nil
}

// HoldCapRefused reports whether err is PostgreSQL refusing a hold beyond
// an agent's MaxHolds: the trigger units_hold_cap (migration
// 20261130130000_units_hold_cap.sql), which locks the holder's user row and
// counts their holds, with a snapshot taken after the lock, in the statement
// that holds. It words its refusal as a check constraint's.
func HoldCapRefused(err error) bool {
	return sqlgraph.IsCheckConstraintError(err) && strings.Contains(err.Error(), `"units_hold_cap"`)
}

// LockHolds serialises the holds of the calling salesperson on SQLite: it
// touches their own user row (its updated_at, nothing else), which takes
// the write lock until the transaction ends, so that two concurrent holds of
// one agent cannot both count two live ones. PostgreSQL needs no statement
// for it: HoldCapRefused.
func LockHolds(ctx context.Context, client *ent.Client) error {
	v := auth.FromContext(ctx)
	if v == nil || v.UserID == "" || (v.Role != auth.RoleAgent && v.Role != auth.RoleManager) {
		return apperr.New(apperr.Forbidden, "only agents and managers hold units")
	}
	return client.User.Update().Where(user.ID(v.UserID)).SetUpdatedAt(clock.Now(ctx)).Exec(bypass(ctx))
}

// LiveHolds counts the calling salesperson's own holds (rule Holding: live
// or pending a manager's approval), in any project
// (a hold outlives the agent's move to another project until it lapses).
func LiveHolds(ctx context.Context, client *ent.Client) (int, error) {
	v := auth.FromContext(ctx)
	if v == nil || v.UserID == "" {
		return 0, ErrUnauthenticated
	}
	return client.Unit.Query().Where(unit.HeldByID(v.UserID), Holding(clock.Now(ctx))).Count(bypass(ctx))
}

// Bought tells whoever may see both a customer and a unit whether the
// customer bought it (a contracted deal): a homeowner about themself, staff
// filing a complaint for a customer of theirs, even when another agent made
// the sale. Anyone else hears false.
func Bought(ctx context.Context, client *ent.Client, unitID, customerID pulid.ID) (bool, error) {
	if auth.FromContext(ctx) == nil {
		return false, ErrUnauthenticated
	}
	for _, seen := range []func() (bool, error){
		func() (bool, error) { return client.Customer.Query().Where(customer.ID(customerID)).Exist(ctx) },
		func() (bool, error) { return client.Unit.Query().Where(unit.ID(unitID)).Exist(ctx) },
	} {
		if ok, err := seen(); err != nil || !ok {
			return false, err
		}
	}
	return client.Deal.Query().
		Where(deal.UnitID(unitID), deal.CustomerID(customerID), deal.StageEQ(deal.StageCONTRACTED)).
		Exist(bypass(ctx))
}

// IssueActivationCode keeps the hash of a homeowner's activation code,
// written when a manager (or an admin) hands over a delivered unit they
// see, for the buyer of its contracted deal. Activation codes are otherwise
// the server's alone: nobody reads them, and nobody else makes one.
func IssueActivationCode(ctx context.Context, client *ent.Client, unitID pulid.ID, codeHash string, expires time.Time) error {
	v := auth.FromContext(ctx)
	if v == nil {
		return ErrUnauthenticated
	}
	if v.Role != auth.RoleManager && v.Role != auth.RoleAdmin && v.Role != auth.RoleSystem {
		return apperr.New(apperr.Forbidden, "only a manager delivers a unit")
	}
	d, err := client.Deal.Query().
		Where(deal.UnitID(unitID), deal.StageEQ(deal.StageCONTRACTED), deal.HasUnitWith(unit.StatusEQ(unit.StatusDELIVERED))).
		Only(ctx)
	if err != nil {
		return err
	}
	return client.ActivationCode.Create().SetCodeHash(codeHash).SetCustomerID(d.CustomerID).
		SetUnitID(unitID).SetExpiresAt(expires).Exec(bypass(ctx))
}

// The failures of ActivateHomeowner.
var (
	// ErrActivationCode answers a code that is unknown, used or expired, alike.
	ErrActivationCode = errors.New("activation code not valid, used, or expired")
	// ErrHasLogin answers a good code of a homeowner who already has a login.
	ErrHasLogin = errors.New("the homeowner already has a login")
)

// ActivateHomeowner opens the login of the homeowner an activation code was
// made for: the code is the caller's only credential, good once, until it
// expires. It spends the code and creates the login (role OWNER, the code's
// customer, their name) with the password that password() validates and
// hashes, called only once the code is known to be good; nothing else is
// read or written, and the caller learns only whether the code was good.
func ActivateHomeowner(ctx context.Context, client *ent.Client, codeHash, login string, password func() (string, error)) (*ent.User, error) {
	sys := bypass(ctx)
	ac, err := client.ActivationCode.Query().Where(activationcode.CodeHash(codeHash)).Only(sys)
	if ent.IsNotFound(err) {
		return nil, ErrActivationCode
	}
	if err != nil {
		return nil, err
	}
	if ac.UsedAt != nil || !clock.Now(ctx).Before(ac.ExpiresAt) {
		return nil, ErrActivationCode
	}
	hash, err := password()
	if err != nil {
		return nil, err
	}
	has, err := client.User.Query().Where(user.CustomerID(ac.CustomerID)).Exist(sys)
	if err != nil {
		return nil, err
	}
	if has {
		return nil, ErrHasLogin
	}
	// Spend the code only if nobody did in between.
	n, err := client.ActivationCode.Update().Where(activationcode.ID(ac.ID), activationcode.UsedAtIsNil()).
		SetUsedAt(clock.Now(ctx)).Save(sys)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, ErrActivationCode
	}
	name, err := client.Customer.Query().Where(customer.ID(ac.CustomerID)).Select(customer.FieldName).String(sys)
	if err != nil {
		return nil, err
	}
	return client.User.Create().SetName(name).SetLogin(login).SetPasswordHash(hash).
		SetRole(user.RoleOWNER).SetCustomerID(ac.CustomerID).Save(sys)
}

// PhotoByLink reads the one complaint photo a signed photo link names. The
// caller (GET /photos/{id}) has checked the link's signature and expiry; the
// server signs links only in answers to viewers who may see the photo, and
// an image view (an <img>, a phone's image cache) cannot send their token.
func PhotoByLink(ctx context.Context, client *ent.Client, id pulid.ID) (*ent.ComplaintPhoto, error) {
	return client.ComplaintPhoto.Query().Where(complaintphoto.ID(id)).Only(bypass(ctx))
}
