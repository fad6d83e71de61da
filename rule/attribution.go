package rule

// A customer's attribution history (判客 record) and the other records of
// the same person (Customer.sameAs): who may read them, and the named
// writers of the history (issue 11, parts 3 and 5).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/privacy"
	"estatecrm/ent/schema/pulid"
)

// FilterAttributionEvents: the managers of the customer's project read its
// attribution history (admins pass AllowIfAdmin). Nobody else does, not
// even the owning agent: the history is the evidence a manager settles a
// dispute between agents (撞单) with, and it names the colleagues who tried
// to register the customer or held them before; an agent's own standing is
// Customer.attribution.
func FilterAttributionEvents() privacy.QueryRule {
	return privacy.AttributionEventQueryRuleFunc(func(ctx context.Context, q *ent.AttributionEventQuery) error {
		if v := auth.FromContext(ctx); v.Role == auth.RoleManager {
			q.Where(attributionevent.ProjectIDIn(v.ProjectIDs...))
		} else {
			q.Where(none)
		}
		return privacy.Allow
	})
}

// OwnerChange is a change of a customer's owner, for its history.
type OwnerChange struct {
	CustomerID, ProjectID pulid.ID
	Kind                  attributionevent.Kind
	// From is the owner before (nil: none); To the owner after.
	From, To       *pulid.ID
	ProtectedUntil time.Time
	At             time.Time
}

// RecordOwnerChange writes c into the customer's attribution history,
// through client (the change's own transaction), with the viewer as who
// did it. The workflows that change an owner (package sales) call it once
// their update succeeded; the history is otherwise written by nobody.
func RecordOwnerChange(ctx context.Context, client *ent.Client, c OwnerChange) error {
	create, err := ownerChange(ctx, client, c)
	if err != nil {
		return err
	}
	return create.Exec(bypass(ctx))
}

// OwnerChangeStatements returns the statements RecordOwnerChange would run
// to write c, without running them, for the caller to run in its
// transaction, all of them, with the change itself (as data-modifying CTEs
// of the customer's INSERT: one round trip, not two).
func OwnerChangeStatements(ctx context.Context, client *ent.Client, c OwnerChange) ([]sql.Querier, error) {
	create, err := ownerChange(ctx, client, c)
	if err != nil {
		return nil, err
	}
	_, stmts, err := create.SQLInsert(bypass(ctx))
	return stmts, err
}

// ownerChange builds the history's line for c, if the viewer sells in its
// project.
func ownerChange(ctx context.Context, client *ent.Client, c OwnerChange) (*ent.AttributionEventCreate, error) {
	v, err := salesperson(ctx, c.ProjectID)
	if err != nil {
		return nil, err
	}
	return client.AttributionEvent.Create().
		SetCustomerID(c.CustomerID).SetProjectID(c.ProjectID).SetKind(c.Kind).
		SetNillableFromID(c.From).SetNillableToID(c.To).SetNillableActorID(actor(v)).
		SetAt(c.At.UTC()).SetProtectedUntil(c.ProtectedUntil.UTC()), nil
}

func actor(v *auth.Viewer) *pulid.ID {
	if v.UserID == "" {
		return nil
	}
	return &v.UserID
}

// Records is where what must outlive a refused request is written: the
// refused registrations (RecordRefusedRegistration).
type Records struct {
	// Client writes outside the request's transaction.
	Client *ent.Client
	// Logger reports a record that could not be written once the request's
	// transaction had ended, when nobody is left to tell; nil means
	// slog.Default().
	Logger *slog.Logger
}

// RecordRefusedRegistration writes into the history of the customer r is
// about that the viewer tried to register their phone at now and was
// refused (r: what PhoneTaken answered, a customer protected by another).
//
// The refusal rolls back the request's transaction, so the record is
// written through records, a client outside it, once that transaction has
// ended: nothing the refused request did survives but this line. If that
// write fails, the refusal stands and the failure is logged (one line at
// error level, without the customer or the phone). Without a transaction
// in ctx (registerCustomer alone on PostgreSQL: graph/tx.go) it is written
// at once, and a failure is logged likewise. requestKey is the
// request's Idempotency-Key (empty if none): a retry with the same key is
// the same attempt and is recorded once.
func RecordRefusedRegistration(ctx context.Context, records Records, r *Registered, requestKey string, now time.Time) error {
	v := auth.FromContext(ctx)
	if v == nil {
		return ErrUnauthenticated
	}
	if r == nil || r.customer == "" || r.Yours || r.InPool {
		return nil // nothing was refused
	}
	create := records.Client.AttributionEvent.Create().
		SetCustomerID(r.customer).SetProjectID(r.ProjectID).SetKind(attributionevent.KindREGISTRATION_REFUSED).
		SetNillableFromID(r.owner).SetNillableActorID(actor(v)).SetAt(now.UTC()).SetNillableProtectedUntil(r.Until)
	if requestKey != "" {
		sum := sha256.Sum256([]byte(requestKey))
		create.SetRequestKey(hex.EncodeToString(sum[:]))
	}
	write := func() error {
		err := create.Exec(bypass(context.WithoutCancel(ctx)))
		if ent.IsConstraintError(err) {
			return nil // a retry of a refusal already recorded
		}
		return err
	}
	// After the transaction, the request is being answered: a failure
	// here is the operator's to see, not the caller's.
	writeAfter := func(ctx context.Context) {
		if err := write(); err != nil {
			logger := records.Logger
			if logger == nil {
				logger = slog.Default()
			}
			logger.LogAttrs(ctx, slog.LevelError, "refused registration not recorded in the attribution history",
				slog.String("err", err.Error()))
		}
	}
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		writeAfter(ctx)
		return nil
	}
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Rollback(ctx, tx)
			writeAfter(ctx)
			return err
		})
	})
	// A caller that commits in spite of the refusal still gets its record.
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			writeAfter(ctx)
			return nil
		})
	})
	return nil
}

// SameAs narrows q to the other records of the person customer id is (the
// same phone, in other projects), for managers and admins: the customer
// rules then keep a manager to the projects they manage. Nobody else learns
// that a person is a customer elsewhere (判客 is per project): agents,
// homeowners and portals get no row, whatever they may see otherwise (an
// agent owning the person in two projects included). SameAsEach answers it
// for a page of customers in one statement (what Customer.sameAs uses).
func SameAs(ctx context.Context, q *ent.CustomerQuery, id pulid.ID) *ent.CustomerQuery {
	v := auth.FromContext(ctx)
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem, auth.RoleManager:
	default:
		return q.Where(none)
	}
	return q.Where(func(s *sql.Selector) {
		// The phone is found by the ID in SQL: the caller reads no phone
		// (nor is audited for one) to ask. A manager asks only about a
		// customer they see (of a project of theirs).
		t := sql.Table(customer.Table).As("same_person")
		phone := sql.Select(t.C(customer.FieldPhone)).From(t).Where(sql.EQ(t.C(customer.FieldID), string(id)))
		if v.Role == auth.RoleManager {
			customer.ProjectIDIn(v.ProjectIDs...)(phone)
		}
		s.Where(sql.And(sql.In(s.C(customer.FieldPhone), phone), sql.NEQ(s.C(customer.FieldID), string(id))))
	}).Order(ent.Asc(customer.FieldID))
}

// samePersonKey names the column SameAsEach adds to each row: the smallest
// id of the customers with the row's phone, which tells the records of one
// person apart without reading the phone.
const samePersonKey = "same_person_key"

// SameAsEach answers SameAs for every customer of ids in one statement (a
// page of customers asks about all of its own at once), under the same
// rules: for a manager, the records of the projects they manage, of a
// customer of theirs; for an admin, all; for anyone else, none, and no
// statement runs. q shapes the records read (their fields and edges); the
// answer has an entry, possibly empty, for each id the viewer may ask
// about, each oldest first.
func SameAsEach(ctx context.Context, q *ent.CustomerQuery, ids []pulid.ID) (map[pulid.ID][]*ent.Customer, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return nil, ErrUnauthenticated
	}
	out := make(map[pulid.ID][]*ent.Customer, len(ids))
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem, auth.RoleManager:
	default:
		return out, nil
	}
	if len(ids) == 0 {
		return out, nil
	}
	asked := make([]any, len(ids))
	for i, id := range ids {
		asked[i] = string(id)
	}
	// The rows are the records of the persons asked about, those asked
	// about included (a manager reads them, being of their projects): each
	// carries its person's key, so that the records of each one asked about
	// are the others with its key. The phones stay in SQL, neither read nor
	// audited.
	q.Where(func(s *sql.Selector) {
		t := sql.Table(customer.Table).As("same_person")
		phone := sql.Select(t.C(customer.FieldPhone)).From(t).Where(sql.In(t.C(customer.FieldID), asked...))
		if v.Role == auth.RoleManager {
			customer.ProjectIDIn(v.ProjectIDs...)(phone)
		}
		s.Where(sql.In(s.C(customer.FieldPhone), phone))
	}).Modify(func(s *sql.Selector) {
		k := sql.Table(customer.Table).As("same_key")
		key := sql.Select(sql.Min(k.C(customer.FieldID))).From(k).
			Where(sql.ColumnsEQ(k.C(customer.FieldPhone), s.C(customer.FieldPhone)))
		s.AppendSelectExprAs(key, samePersonKey)
	})
	rows, err := q.Order(ent.Asc(customer.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	keyOf := make(map[pulid.ID]string, len(rows))
	byKey := make(map[string][]*ent.Customer)
	for _, c := range rows {
		if key := personKey(c); key != "" {
			keyOf[c.ID] = key
			byKey[key] = append(byKey[key], c)
		}
	}
	for _, id := range ids {
		key, ok := keyOf[id]
		if !ok {
			continue // not one the viewer may ask about
		}
		same := []*ent.Customer{}
		for _, c := range byKey[key] {
			if c.ID != id {
				same = append(same, c)
			}
		}
		out[id] = same
	}
	return out, nil
}

func personKey(c *ent.Customer) string {
	v, _ := c.Value(samePersonKey)
	if p, ok := v.(*sql.UnknownType); ok && p != nil {
		v = *p
	}
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}
