package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/ent"
	"estatecrm/ent/unit"
	"estatecrm/graph/arguments"
	"estatecrm/rule"
)

// unitFilter is Query.units' filter: where's conditions, and, when the
// order is on columns a lapse of a hold leaves alone, the mark that the
// query reads the units table as stored (rule.StoredReadsAgree). A
// UnitWhereInput reads status and the hold's expiry only through
// rule.StatusReads and rule.ExpiryReads (its input-field resolvers) and
// offers no condition on the holder, so its rows and their order are the
// same on the table as stored; the Unit interceptor fixes a lapsed hold's
// fields up after the read. A listing is then one plain read of units,
// not two (rule.UnitsAsRead).
func unitFilter(where *ent.UnitWhereInput, orderBy []*ent.UnitOrder) func(*ent.UnitQuery) (*ent.UnitQuery, error) {
	return func(q *ent.UnitQuery) (*ent.UnitQuery, error) {
		q, err := where.Filter(q)
		if err != nil || !rule.UnitOrderReadsStored(orderBy) {
			return q, err
		}
		return q.Where(rule.StoredReadsAgree()), nil
	}
}

// wantsAvailableOnly reports whether the units field's where asks, at its
// top level, for status AVAILABLE: a condition of the whole statement
// (rule.StatusReads, through the field's input resolver), not one inside an
// or or a not. Read from the arguments as sent, because the where input
// keeps its status only as a predicate.
func wantsAvailableOnly(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil || !graphql.HasOperationContext(ctx) {
		return false
	}
	where, _ := arguments.Of(ctx, fc.Field.Field, graphql.GetOperationContext(ctx).Variables)["where"].(map[string]any)
	status, _ := where["status"].(string)
	return status == unit.StatusAVAILABLE.String()
}
