package sales

import (
	"context"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/apperr"
	"estatecrm/audit"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/ent/user"
	"estatecrm/idempotency"
	"estatecrm/money"
	"estatecrm/phone"
	"estatecrm/rule"
)

// Registration is the input of RegisterCustomer (报备).
type Registration struct {
	ProjectID       pulid.ID
	Name            string
	Phone           string
	Source          customer.Source
	Gender          *customer.Gender
	AgeBand         *customer.AgeBand
	Purpose         *customer.Purpose
	BudgetMin       *money.Fen
	BudgetMax       *money.Fen
	ContactConsent  *bool
	ConsentChannels []schematype.ContactChannel
	Notes           *string
	// The rest of the profile (issue 11; see profile.go).
	Occupation      *string
	FamilyStructure *customer.FamilyStructure
	WantedBedrooms  []int
	WantedAreaMin   *float64
	WantedAreaMax   *float64
	FocusFactors    []schematype.FocusFactor
	Tags            []string
	ReferredBy      *pulid.ID
}

// RulePublicPool is the attribution of a customer whose protection lapsed:
// any agent of the project may claim them. The others are the customer's
// attribution_rule: REGISTERED, CLAIMED, REASSIGNED.
const RulePublicPool = "PUBLIC_POOL"

// RegisterCustomer registers a walk-in for the calling agent, who owns and
// protects them for the project's protection days. A phone is one customer
// per project: the person may be a customer of another project too, which
// the registration neither minds nor tells. In the project, a customer
// protected by another agent is a CONFLICT that says until when and nothing
// else, and the refusal is kept in the customer's attribution history
// through records, a client outside the request's transaction (which the
// refusal rolls back); one in the public pool is claimed.
func RegisterCustomer(ctx context.Context, client *ent.Client, records rule.Records, in Registration, now time.Time) (*ent.Customer, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	e164, err := phone.Normalize(in.Phone)
	if err != nil {
		return nil, apperr.Input("input.phone", "%s", err.Error())
	}
	if !ent.IDOfType(in.ProjectID, project.Table) {
		return nil, apperr.Input("input.projectId", "not the ID of a project")
	}
	prof, err := registrationProfile(ctx, client, in)
	if err != nil {
		return nil, err
	}
	// The caller may not see the customer who has the phone, yet must learn
	// that it is taken, and whether they may take it.
	p, taken, err := projectAndPhone(ctx, client, in.ProjectID, e164)
	switch {
	case err != nil:
		return nil, err
	case taken == nil:
	case taken.Yours:
		return client.Customer.Get(ctx, taken.CustomerID) // already theirs: nothing to do
	case taken.InPool:
		return inTx(ctx, client, func(ctx context.Context, client *ent.Client) (*ent.Customer, error) {
			return claim(ctx, client, taken.Protection, p, v.UserID, now)
		})
	default:
		if err := rule.RecordRefusedRegistration(ctx, records, taken, idempotency.KeyOf(ctx), now); err != nil {
			return nil, err
		}
		return nil, protectedConflict(taken.Protection)
	}
	until := protection(p, now)
	consent := in.ContactConsent != nil && *in.ContactConsent
	// create is the new customer's INSERT by client: the transaction's
	// when there is consent to record too, whose customer is then that
	// transaction's (inTx unwraps it).
	create := func(client *ent.Client) *ent.CustomerCreate {
		c := client.Customer.Create().
			SetProjectID(p.ID).SetName(in.Name).SetPhone(e164).SetSource(in.Source).
			SetNillableGender(in.Gender).SetNillableAgeBand(in.AgeBand).SetNillablePurpose(in.Purpose).
			SetNillableBudgetMin(in.BudgetMin).SetNillableBudgetMax(in.BudgetMax).
			SetNillableNotes(in.Notes).SetConsentChannels(in.ConsentChannels).
			SetOwnerID(v.UserID).SetOwnedSince(now).SetProtectedUntil(until).SetLastContactAt(now).
			SetCreatedAt(now). // the domain clock: the sales funnel counts leads by it (package report)
			SetAttributionRule(customer.AttributionRuleREGISTERED)
		prof.set(c)
		if consent {
			c.SetContactConsent(true).SetConsentAt(now)
		}
		return c
	}
	change := rule.OwnerChange{ProjectID: p.ID, Kind: attributionevent.KindREGISTERED, To: &v.UserID, ProtectedUntil: until, At: now}
	if !consent {
		return createWithHistory(ctx, client, create(client), change) // one statement on PostgreSQL
	}
	return inTx(ctx, client, func(ctx context.Context, client *ent.Client) (*ent.Customer, error) {
		created, err := createWithHistory(ctx, client, create(client), change)
		if err != nil {
			return nil, err
		}
		return created, registrationConsent(ctx, client, created, now)
	})
}

// inTx runs fn in the transaction of ctx, or, when ctx has none, in one of
// its own, committed when fn succeeds. registerCustomer runs without the
// request's transaction on PostgreSQL when it is alone in its operation
// (graph/tx.go), because a new customer is one statement
// (createWithHistory); a claim and a registration with consent write more
// than one, which must commit together.
func inTx(ctx context.Context, client *ent.Client, fn func(context.Context, *ent.Client) (*ent.Customer, error)) (*ent.Customer, error) {
	if ent.TxFromContext(ctx) != nil {
		return fn(ctx, client)
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return nil, err
	}
	c, err := fn(ent.NewContext(ent.NewTxContext(ctx, tx), tx.Client()), tx.Client())
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return c.Unwrap(), nil
}

// projectAndPhone reads the project of a registration and probes whether
// its phone is taken there (rule.PhoneTaken). On PostgreSQL it is one
// statement, the probe riding on the project's read as a LEFT JOIN (one
// round trip less per registration); SQLite, in process, has no round trip
// to save, and its driver cannot type a NULL of a joined column.
func projectAndPhone(ctx context.Context, client *ent.Client, id pulid.ID, phone string) (*ent.Project, *rule.Registered, error) {
	if client.Dialect() != dialect.Postgres {
		p, err := client.Project.Get(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		taken, err := rule.PhoneTaken(ctx, client, p.ID, phone)
		return p, taken, err
	}
	p, err := client.Project.Query().Where(project.ID(id)).Modify(rule.SelectPhoneHolder(phone)).Only(ctx)
	if err != nil {
		return nil, nil, err
	}
	taken, err := rule.PhoneHolder(ctx, p)
	return p, taken, err
}

// createWithHistory saves the customer c and the first line of their
// attribution history, change (its customer: the one created). On
// PostgreSQL both INSERTs (and those of c's edges) go as one statement,
// the others riding on the history's INSERT as data-modifying CTEs: one
// round trip instead of two, which at 50 phones registering is CPU of both
// processes that each write waits for. PostgreSQL checks the history's
// foreign key to the customer at the end of the statement, once both rows
// are in; the statement is atomic, inside a transaction or not. The
// INSERTs are built by ent (SQLInsert: defaults, validators, hooks,
// privacy), as Save builds them.
func createWithHistory(ctx context.Context, client *ent.Client, c *ent.CustomerCreate, change rule.OwnerChange) (*ent.Customer, error) {
	if client.Dialect() != dialect.Postgres {
		created, err := c.Save(ctx)
		if err != nil {
			return nil, err
		}
		change.CustomerID = created.ID
		return created, rule.RecordOwnerChange(ctx, client, change)
	}
	created, inserts, err := c.SQLInsert(ctx)
	if err != nil {
		return nil, err
	}
	change.CustomerID = created.ID
	history, err := rule.OwnerChangeStatements(ctx, client, change)
	if err != nil {
		return nil, err
	}
	if err := execAsOne(ctx, client, append(inserts, history...)); err != nil {
		return nil, err
	}
	return created, nil
}

// ClaimCustomer takes a customer of the public pool (公客池) for the calling
// agent. Of any number of agents claiming one customer at once, one wins.
func ClaimCustomer(ctx context.Context, client *ent.Client, id pulid.ID, now time.Time) (*ent.Customer, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	// An agent who lost the race for a pool customer no longer sees them,
	// yet should hear CONFLICT (taken until …), not that they never existed.
	// Outside the viewer's projects, they do not exist.
	pr, err := rule.CustomerProtection(ctx, client, id)
	if err != nil {
		return nil, err
	}
	p, err := client.Project.Get(ctx, pr.ProjectID)
	if err != nil {
		return nil, err
	}
	return claim(ctx, client, pr, p, v.UserID, now)
}

// claim gives a customer of project p whose protection has lapsed to agent;
// pr is what the caller learnt of them. The update re-checks the lapse in
// its WHERE clause, so that of two concurrent claims exactly one changes the
// row; it also pins the owner pr saw, so that the audit of the change of
// owner and the attribution history are written from it without reading
// the row again.
func claim(ctx context.Context, client *ent.Client, pr *rule.Protection, p *ent.Project, agent pulid.ID, now time.Time) (*ent.Customer, error) {
	id := pr.CustomerID
	if id == "" { // protected by someone else: nothing to claim
		return nil, protectedConflict(pr)
	}
	until := protection(p, now)
	for from, retried := pr.Owner, false; ; retried = true {
		owner := customer.OwnerIDIsNil()
		if from != nil {
			owner = customer.OwnerID(*from)
		}
		n, err := client.Customer.Update().Where(customer.ID(id), rule.PublicPool(now), owner).
			SetOwnerID(agent).SetOwnedSince(now).SetProtectedUntil(until).
			SetAttributionRule(customer.AttributionRuleCLAIMED).
			Save(audit.ChangingOwner(ctx, audit.OwnerChange{CustomerID: id, ProjectID: pr.ProjectID, From: from}))
		if err != nil {
			return nil, err
		}
		if n > 0 {
			err := rule.RecordOwnerChange(ctx, client, rule.OwnerChange{CustomerID: id, ProjectID: pr.ProjectID,
				Kind: attributionevent.KindCLAIMED, From: from, To: &agent, ProtectedUntil: until, At: now})
			if err != nil {
				return nil, err
			}
			return client.Customer.Get(ctx, id)
		}
		cur, err := rule.CustomerProtection(ctx, client, id)
		if err != nil {
			return nil, err
		}
		// Still in the pool, yet another owner than the one seen (a
		// manager's change in between): once more, pinned to the owner
		// now; a second race is lost.
		if retried || !cur.InPool {
			return nil, protectedConflict(cur)
		}
		from = cur.Owner
	}
}

// protectedConflict says until when a customer is protected, and nothing else.
func protectedConflict(p *rule.Protection) error {
	until := "further notice"
	if p.Until != nil {
		until = p.Until.UTC().Format(time.RFC3339)
	}
	return &apperr.Error{Code: apperr.Conflict, Field: "input.phone",
		Message: "this customer is registered to another agent and protected until " + until}
}

// ReassignCustomer gives a customer to another agent of the project (a
// manager's act); the new owner is protected from now on.
func ReassignCustomer(ctx context.Context, client *ent.Client, id, agentID pulid.ID, now time.Time) (*ent.Customer, error) {
	c, err := client.Customer.Query().Where(customer.ID(id)).WithProject().Only(ctx)
	if err != nil {
		return nil, err
	}
	ok, err := client.User.Query().
		Where(user.ID(agentID), user.RoleEQ(user.RoleAGENT), user.Active(true), user.HasProjectsWith(project.ID(c.ProjectID))).
		Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Input("input.agentId", "not an active agent of the customer's project")
	}
	until := protection(c.Edges.Project, now)
	err = client.Customer.UpdateOneID(id).
		SetOwnerID(agentID).SetOwnedSince(now).SetProtectedUntil(until).
		SetAttributionRule(customer.AttributionRuleREASSIGNED).
		Exec(ctx)
	if err != nil {
		return nil, err
	}
	err = rule.RecordOwnerChange(ctx, client, rule.OwnerChange{CustomerID: id, ProjectID: c.ProjectID,
		Kind: attributionevent.KindREASSIGNED, From: c.OwnerID, To: &agentID, ProtectedUntil: until, At: now})
	if err != nil {
		return nil, err
	}
	return client.Customer.Get(ctx, id)
}

// salesperson returns the viewer if it can own customers: an agent or a
// manager (the owner of a customer is whoever sells to them).
func salesperson(ctx context.Context) (*auth.Viewer, error) {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	case v.Role != auth.RoleAgent && v.Role != auth.RoleManager:
		return nil, apperr.New(apperr.Forbidden, "only agents and managers take customers")
	}
	return v, nil
}

func protection(p *ent.Project, now time.Time) time.Time {
	days := 30
	if p.ProtectionDays != nil {
		days = *p.ProtectionDays
	}
	return now.Add(time.Duration(days) * 24 * time.Hour)
}

// Attribution explains who owns a customer and why.
type Attribution struct {
	Owner          *ent.User
	Since          *time.Time
	ProtectedUntil *time.Time
	InPublicPool   bool
	Rule           string
}

// AttributionOf explains a customer's attribution as of now.
func AttributionOf(ctx context.Context, c *ent.Customer, now time.Time) (*Attribution, error) {
	a := &Attribution{Since: c.OwnedSince, ProtectedUntil: c.ProtectedUntil}
	a.InPublicPool = rule.InPublicPool(c, now)
	owner, err := c.Owner(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	a.Owner = owner
	switch {
	case a.InPublicPool:
		a.Rule = RulePublicPool
	case c.AttributionRule != nil:
		a.Rule = string(*c.AttributionRule)
	default:
		a.Rule = string(customer.AttributionRuleREGISTERED)
	}
	return a, nil
}
