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
type NoIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = NoIntrospection{}

// ExtensionName implements graphql.HandlerExtension.
func (NoIntrospection) ExtensionName() string { return "NoIntrospection" }

// Validate implements graphql.HandlerExtension.
func (NoIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (NoIntrospection) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	f := introspects(rc.Doc, rc.Operation.SelectionSet, map[string]bool{})
	if f == nil {
		return nil
	}
	e := gqlerror.Wrap(apperr.New(apperr.Forbidden, "introspection is disabled on this server; the schema is published as schema.graphql"))
	errcode.Set(e, errcode.ValidationFailed) // refused like a document that fails validation: nothing runs
	if f.Position != nil {
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	return e
}

// introspects returns the first __schema or __type field of the root
// selection set, fragments included: they are fields of the query root only.
func introspects(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool) *ast.Field {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return s
			}
		case *ast.InlineFragment:
			if f := introspects(doc, s.SelectionSet, seen); f != nil {
				return f
			}
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			def := s.Definition
			if def == nil && doc != nil {
				def = doc.Fragments.ForName(s.Name)
			}
			if def != nil {
				if f := introspects(doc, def.SelectionSet, seen); f != nil {
					return f
				}
			}
		}
	}
	return nil
}
