package rule

// The person behind customer records (issue 13: duplicates, PIPL): who may
// merge two records, export or erase a person's data, or reveal a phone.

import (
	"context"
	"slices"
	"strings"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
)

// ErasedPhonePrefix starts the placeholder an erased customer's phone is
// replaced with (people.Erase): "erased-" and the tail of the customer's
// ID, unique, so that a phone stays one customer per project, and no
// number anyone could call or match.
const ErasedPhonePrefix = "erased-"

// Erased reports whether c (read with its phone) was erased.
func Erased(c *ent.Customer) bool { return strings.HasPrefix(c.Phone, ErasedPhonePrefix) }

// ErasedPhone is the placeholder of an erased customer's phone: at most
// the 20 characters of the column.
func ErasedPhone(id pulid.ID) string {
	s := string(id)
	if len(s) > 13 {
		s = s[len(s)-13:]
	}
	return ErasedPhonePrefix + s
}

// ErrNotSteward refuses a person's workflow (merge, export, erasure, a
// phone's reveal) to anyone but a manager or an admin.
var ErrNotSteward = apperr.New(apperr.Forbidden, "only a manager of the customer's project or an admin may")

// Steward checks that the viewer of ctx may act for the person behind
// customers ids as a whole (merge them, export or erase their data, reveal
// their phone): an admin, or a manager who sees every one of them, that is
// a manager of each one's project. A customer the viewer may not see is
// NOT_FOUND, as any read answers; anyone else is FORBIDDEN before anything
// is read. It returns the customers, in the order of ids, with their
// phones as stored, and a context in which the caller's statements about
// these customers run past the rules: the named bypass of these workflows,
// which touch rows (visits of other agents, audit events without a
// project) that no rule lets a manager write.
func Steward(ctx context.Context, client *ent.Client, ids ...pulid.ID) ([]*ent.Customer, context.Context, error) {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return nil, nil, ErrUnauthenticated
	case v.Role != auth.RoleAdmin && v.Role != auth.RoleManager:
		return nil, nil, ErrNotSteward
	}
	// As the viewer: their rules decide which of the customers exist.
	seen, err := client.Customer.Query().Where(customer.IDIn(ids...)).IDs(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		if !slices.Contains(seen, id) {
			return nil, nil, notFound()
		}
	}
	sys := bypass(ctx)
	rows, err := client.Customer.Query().Where(customer.IDIn(ids...)).All(sys)
	if err != nil {
		return nil, nil, err
	}
	// The rows above are masked for the viewer (maskPhones): the stored
	// phones are read beside them, unmasked, for the workflow alone.
	var phones []struct {
		ID    pulid.ID `json:"id"`
		Phone string   `json:"phone"`
	}
	if err := client.Customer.Query().Where(customer.IDIn(ids...)).
		Select(customer.FieldID, customer.FieldPhone).Scan(sys, &phones); err != nil {
		return nil, nil, err
	}
	out := make([]*ent.Customer, len(ids))
	for i, id := range ids {
		for _, c := range rows {
			if c.ID == id {
				out[i] = c
			}
		}
		for _, p := range phones {
			if p.ID == id {
				out[i].Phone = p.Phone
			}
		}
		if v.Role == auth.RoleManager && !slices.Contains(v.ProjectIDs, out[i].ProjectID) {
			return nil, nil, notFound()
		}
	}
	return out, sys, nil
}
