package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/graph/arguments"
)

// argumentsOf is a field's arguments with the operation's variables, made
// once per field of the document for the request (arguments.Of): graph/
// gen makes each field's context take them here instead of converting them
// again (ArgumentMap) for each row of a list (a customer's visits).
func argumentsOf(ctx context.Context, f graphql.CollectedField, vars map[string]any) map[string]any {
	return arguments.Of(ctx, f.Field, vars)
}
