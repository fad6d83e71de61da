package rule

import (
	"context"

	"entgo.io/ent/dialect/sql"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/project"
	"estatecrm/ent/unit"
)

// A filter or an order is a read (SPEC.md §3.4): `where: {id: X,
// priceGTE: P}` answers whether X's price is at least P, so thirty such
// queries find a price the payload masks, and `orderBy: PRICE` places it
// among prices the viewer reads. So a viewer may filter and order only by
// fields it reads on every row it sees, and an edge filter (hasUnitsWith)
// looks only at rows the viewer may see (ScopeEdge, ScopeHas).

// Access is how much of a field a viewer reads.
type Access int

const (
	// ReadNone: the field is masked on every row the viewer sees.
	ReadNone Access = iota
	// ReadSome: the field is masked on some of the rows the viewer sees,
	// decided row by row (another agent's deal terms).
	ReadSome
	// ReadAll: the field reads as stored on every row the viewer sees.
	ReadAll
)

// masked lists, by entity and field, the fields that the masks in
// ent/schema hide from some viewers, with how much of each a viewer reads.
// The masks decide row by row with the functions these entries are written
// with (IsStaff, MaySeeDealTerms, MaySeePhone); a field not listed reads as
// stored for everyone who may see its row.
var masked = map[string]map[string]func(*auth.Viewer) Access{
	ent.TypeCustomer: {
		customer.FieldPhone: phoneAccess,
	},
	ent.TypeDeal: {
		deal.FieldPrice:      dealTermsAccess,
		deal.FieldDiscountBp: dealTermsAccess,
		deal.FieldDeposit:    dealTermsAccess,
	},
	ent.TypeProject: {
		project.FieldProtectionDays:     staffAccess,
		project.FieldHoldMinutes:        staffAccess,
		project.FieldAgentDiscountCapBp: staffAccess,
	},
	ent.TypeUnit: {
		unit.FieldHoldExpiresAt: staffAccess,
		unit.FieldHeldByID:      staffAccess,
		unit.FieldHeldForID:     staffAccess,
	},
}

// staffAccess: the sales-office rules and holds are the staff's (maskProjectRules, maskHolds).
func staffAccess(v *auth.Viewer) Access {
	if IsStaff(v) {
		return ReadAll
	}
	return ReadNone
}

// dealTermsAccess follows MaySeeDealTerms: an agent reads the terms of the
// deals it made, not of another agent's deal of its customer.
func dealTermsAccess(v *auth.Viewer) Access {
	if role(v) == auth.RoleAgent {
		return ReadSome
	}
	return ReadAll
}

// phoneAccess follows MaySeePhone: staff read the phones of the customers
// they own, masked all others (a manager's and an admin's too: a full
// phone is an audited reveal); a homeowner sees only themself.
func phoneAccess(v *auth.Viewer) Access {
	switch role(v) {
	case auth.RoleSystem, auth.RoleOwner:
		return ReadAll
	case auth.RoleAdmin, auth.RoleManager, auth.RoleAgent:
		return ReadSome
	}
	return ReadNone
}

// FieldAccess returns how much of entity's field (ent's names: "Deal",
// "price") v reads on the rows it may see.
func FieldAccess(v *auth.Viewer, entity, field string) Access {
	if f, ok := masked[entity][field]; ok {
		return f(v)
	}
	return ReadAll
}

// MayFilter reports whether v may filter or order entity's rows by field:
// only by a field it reads on every row it sees. Anything less would let
// it learn, one comparison at a time, what the mask hides.
func MayFilter(v *auth.Viewer, entity, field string) bool {
	return FieldAccess(v, entity, field) == ReadAll
}

// ScopeEdge makes the where inputs of an edge filter (hasUnitsWith: […])
// match only rows the viewer of ctx may see, by adding visible (e.g.
// UnitsVisibleTo) to each: the edge's query is a subquery that privacy
// does not see. The GraphQL layer calls it where the input is decoded.
func ScopeEdge[W interface{ AddPredicates(...P) }, P ~func(*sql.Selector)](ctx context.Context, with []W, visible func(*auth.Viewer) P) []W {
	p := visible(auth.FromContext(ctx))
	for _, w := range with {
		w.AddPredicates(p)
	}
	return with
}

// ScopeHas adds to w the predicate of `hasX: has` scoped like ScopeEdge:
// whether the row has an X the viewer of ctx may see. edge is the entity's
// HasXWith (e.g. project.HasUnitsWith). A nil has adds nothing.
func ScopeHas[W interface{ AddPredicates(...P) }, P, Q ~func(*sql.Selector)](ctx context.Context, w W, has *bool, edge func(...Q) P, visible func(*auth.Viewer) Q) {
	if has == nil {
		return
	}
	p := edge(visible(auth.FromContext(ctx)))
	if !*has {
		p = P(sql.NotPredicates(p))
	}
	w.AddPredicates(p)
}
