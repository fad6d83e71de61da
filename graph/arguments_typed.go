package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// typedArguments is decode(ctx, argumentsOf(ctx, field, ec.Variables)), the
// field's arguments as its resolver takes them: graph/gen makes every field
// context take them here. A field of a kept document (docFields) whose
// arguments name no variable and are all of plain types (constantArguments)
// decodes to the same values in every request, so they are decoded once
// and shared, read only, by every request sending the document: a phone's
// `visits(first: 5, orderBy: …)` was decoded again for every customer of
// every page (2.4% of a lookup's CPU). Where inputs are never kept: their
// fields' resolvers read the viewer and the clock (rule.ScopeEdge,
// rule.StatusReads).
func (ec *executionContext) typedArguments(ctx context.Context, field graphql.CollectedField, decode func(context.Context, map[string]any) (map[string]any, error)) (map[string]any, error) {
	d := ec.docFields()
	if d == nil || field.Field == nil || len(field.Arguments) == 0 {
		return decode(ctx, argumentsOf(ctx, field, ec.Variables))
	}
	if args, ok := d.args.Load(field.Field); ok {
		if args, ok := args.(map[string]any); ok {
			return args, nil
		}
		return decode(ctx, argumentsOf(ctx, field, ec.Variables)) // not kept
	}
	args, err := decode(ctx, argumentsOf(ctx, field, ec.Variables))
	switch {
	case err != nil:
	case constantArguments(parsedSchema, field.Field):
		d.args.Store(field.Field, args)
	default:
		d.args.Store(field.Field, false)
	}
	return args, err
}

// constantArguments reports whether f's arguments decode to the same values
// whatever the request: no variable in them, and each given (or with a
// default) of a scalar, an enum or an ordering input (XOrder: a field and
// a direction), lists of them included, none of which has a resolver.
func constantArguments(schema *ast.Schema, f *ast.Field) bool {
	if f.Definition == nil {
		return false
	}
	used := map[string]bool{}
	for _, a := range f.Arguments {
		variablesOf(a.Value, used)
	}
	if len(used) > 0 {
		return false
	}
	for _, a := range f.Definition.Arguments {
		if a.DefaultValue == nil && f.Arguments.ForName(a.Name) == nil {
			continue // absent: nil, whatever its type
		}
		def := schema.Types[elementName(a.Type)]
		switch {
		case def == nil:
			return false
		case def.Kind == ast.Scalar && def.Name != "Upload", def.Kind == ast.Enum:
		case def.Kind == ast.InputObject && strings.HasSuffix(def.Name, "Order") && plainOrder(schema, def):
		default:
			return false
		}
	}
	return true
}

// plainOrder reports whether an ordering input holds only enums and scalars.
func plainOrder(schema *ast.Schema, def *ast.Definition) bool {
	for _, f := range def.Fields {
		if k := schema.Types[elementName(f.Type)]; k == nil || (k.Kind != ast.Enum && k.Kind != ast.Scalar) {
			return false
		}
	}
	return true
}

// elementName is the name of t's type, or of its elements' for a list.
func elementName(t *ast.Type) string {
	for t.Elem != nil {
		t = t.Elem
	}
	return t.NamedType
}
