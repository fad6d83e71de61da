package guard

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
)

// NoIntrospection refuses, before anything runs, an operation that asks for
// __schema or __type, with FORBIDDEN saying introspection is off. Use it
// where extension.Introspection is not used: gqlgen would otherwise run the
// operation and fail the field with an error the presenter can only call
// INTERNAL, logged as an error, for what is a plain refusal.
type NoIntrospection struct {
	// Memo, when set, remembers the operations that passed (see Memo).
	Memo *Memo
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = NoIntrospection{}

// ExtensionName implements graphql.HandlerExtension.
func (NoIntrospection) ExtensionName() string { return "NoIntrospection" }

// Validate implements graphql.HandlerExtension.
func (NoIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (n NoIntrospection) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	memo := n.Memo.of(rc)
	if memo != nil && memo.introspection.Load() {
		return nil
	}
	f := introspects(rc.Doc, rc.Operation.SelectionSet)
	if f == nil {
		if memo != nil {
			memo.introspection.Store(true)
		}
		return nil
	}
	e := gqlerror.Wrap(apperr.New(apperr.Forbidden, "introspection is disabled on this server; the schema is published as schema.graphql"))
	errcode.Set(e, errcode.ValidationFailed) // refused like a document that fails validation: nothing runs
	if f.Position != nil {
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	return e
}

// introspects returns the first __schema or __type field of the operation,
// fragments included (validation has kept them to the query root).
func introspects(doc *ast.QueryDocument, set ast.SelectionSet) *ast.Field {
	var found *ast.Field
	_ = eachField(doc, set, func(f *ast.Field) *gqlerror.Error {
		if f.Name == "__schema" || f.Name == "__type" {
			found = f
			return errFound
		}
		return nil
	})
	return found
}

// errFound ends a walk that found what it looked for.
var errFound = &gqlerror.Error{}
