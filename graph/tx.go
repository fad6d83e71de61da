package graph

import (
	"context"
	"slices"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/ent"
)

// sessionFields run outside the mutation transaction: a failed login must
// still count against the account, and a replayed refresh token must still
// revoke its family, although the request fails (and a request transaction
// would roll them back). They write through their own client.
var sessionFields = []string{"login", "refreshToken", "logout"}

// ownTxFields open their transaction themselves when they are alone in the
// operation: submitComplaint stores its photos first, so that a 90 MB upload
// does not hold a transaction (on SQLite, the write lock) while it streams.
var ownTxFields = []string{"submitComplaint"}

// Transactioner runs each mutation in one transaction, committed only when
// the whole response has no error.
type Transactioner struct{ entgql.Transactioner }

// NewTransactioner returns the transactioner over client.
func NewTransactioner(client *ent.Client) Transactioner {
	return Transactioner{entgql.Transactioner{
		TxOpener: client,
		SkipTxFunc: func(op *ast.OperationDefinition) bool {
			return entgql.SkipIfHasFields(sessionFields...)(op) || alone(op, ownTxFields...)
		},
	}}
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

// InterceptResponse implements graphql.ResponseInterceptor. A request
// refused before it had an operation (an undecodable body) has nothing to
// run in a transaction; entgql's would panic on it.
func (t Transactioner) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	return t.Transactioner.InterceptResponse(ctx, next)
}

// db returns the request's transactional client, or the plain client when the
// operation runs without one.
func (r *Resolver) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return r.client
}
