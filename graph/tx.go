package graph

import (
	"context"
	"fmt"
	"slices"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/ent"
	"estatecrm/idempotency"
)

// sessionFields run outside the mutation transaction: a failed login must
// still count against the account, and a replayed refresh token must still
// revoke its family, although the request fails (and a request transaction
// would roll them back). They write through their own client.
var sessionFields = []string{"login", "refreshToken", "logout"}

// ownTxFields open their transaction themselves when they are alone in the
// operation: submitComplaint stores its photos first, so that a 90 MB upload
// does not hold a transaction (on SQLite, the write lock) while it streams;
// uploadMedia stores its file first likewise.
var ownTxFields = []string{"submitComplaint", "uploadMedia"}

// oneStatementFields, on PostgreSQL, write in one statement after reads that
// take no lock: holdUnit and releaseHold the update of the unit, with the
// rows it entails riding on it (package ride; the cap on an agent's holds is
// the update's trigger's: rule.HoldCapRefused), logVisit the update of the
// customer with the visit's rows riding on it, in a statement that fails
// unless the customer changed (sales.LogVisit), registerCustomer the INSERT
// of a new customer with their first line of attribution history riding on
// it (a claim of a customer of the public pool and a registration with
// consent write more, in a transaction sales.RegisterCustomer opens for
// them). The statement's own transaction is then the mutation's, and under
// READ COMMITTED a read before it sees what it would see inside one: alone
// in an operation and sent without an Idempotency-Key (whose answer is
// stored in the mutation's transaction), they run without the request's,
// which saves BEGIN and COMMIT, two round trips of four (issue 10). A field
// added here must keep to one write statement, or open a transaction for a
// path that writes more: two statements would no longer be one change.
var oneStatementFields = []string{"holdUnit", "releaseHold", "logVisit", "registerCustomer"}

// Transactioner runs each mutation in one transaction, committed only when
// the whole response has no error.
type Transactioner struct {
	entgql.Transactioner
	// oneStatement is whether oneStatementFields are one statement: on
	// PostgreSQL, not on SQLite (no riders, no trigger).
	oneStatement bool
}

// NewTransactioner returns the transactioner over client.
func NewTransactioner(client *ent.Client) Transactioner {
	return Transactioner{Transactioner: entgql.Transactioner{
		TxOpener: client,
		SkipTxFunc: func(op *ast.OperationDefinition) bool {
			return entgql.SkipIfHasFields(sessionFields...)(op) || alone(op, ownTxFields...)
		},
	}, oneStatement: client.Dialect() == dialect.Postgres}
}

// skipTx reports whether the operation runs without the request's
// transaction.
func (t Transactioner) skipTx(oc *graphql.OperationContext) bool {
	op := oc.Operation
	if op == nil || op.Operation != ast.Mutation || t.SkipTxFunc(op) {
		return true
	}
	return t.oneStatement && alone(op, oneStatementFields...) && oc.Headers.Get(idempotency.Header) == ""
}

// alone reports whether op is a single root field, one of fields. Two
// submitComplaint in one operation share the request's transaction, so that
// one refused rolls both back.
func alone(op *ast.OperationDefinition, fields ...string) bool {
	if len(op.SelectionSet) != 1 {
		return false
	}
	f, ok := op.SelectionSet[0].(*ast.Field)
	return ok && slices.Contains(fields, f.Name)
}

// InterceptResponse implements graphql.ResponseInterceptor, as entgql's
// does, with two differences: a request refused before it had an operation
// (an undecodable body) has nothing to run in a transaction (entgql's would
// panic on it), and a transaction that cannot begin or commit answers
// through the error presenter (entgql's puts the driver's words, without a
// code, in the answer), so a database that is gone is UNAVAILABLE.
func (t Transactioner) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	if t.skipTx(graphql.GetOperationContext(ctx)) {
		return next(ctx) // only mutations run in a transaction
	}
	txCtx, tx, err := t.OpenTx(ctx)
	if err != nil {
		return failed(ctx, fmt.Errorf("cannot create transaction: %w", err))
	}
	defer func() {
		if r := recover(); r != nil {
			_ = tx.Rollback()
			panic(r)
		}
	}()
	resp := next(txCtx)
	if len(resp.Errors) > 0 {
		_ = tx.Rollback()
		return &graphql.Response{Errors: resp.Errors}
	}
	if err := tx.Commit(); err != nil {
		return failed(ctx, fmt.Errorf("cannot commit transaction: %w", err))
	}
	return resp
}

// failed answers err alone, as the error presenter shows it.
func failed(ctx context.Context, err error) *graphql.Response {
	graphql.AddError(ctx, err)
	return &graphql.Response{Errors: graphql.GetErrors(ctx)}
}

// db returns the request's transactional client, or the plain client when the
// operation runs without one.
func (r *Resolver) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return r.client
}
