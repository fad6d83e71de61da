package rule

import (
	"context"
	"errors"
	"slices"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/privacy"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
)

// profileWriteFields are a customer's profile, consent and referral: what
// only the owning agent, the project's managers and admins change (issue
// 11). Another agent of the project, even of a public-pool customer they
// may read and claim, does not.
var profileWriteFields = []string{
	customer.FieldName, customer.FieldGender, customer.FieldAgeBand, customer.FieldOccupation,
	customer.FieldFamilyStructure, customer.FieldPurpose, customer.FieldBudgetMin, customer.FieldBudgetMax,
	customer.FieldWantedBedrooms, customer.FieldWantedAreaMin, customer.FieldWantedAreaMax,
	customer.FieldFocusFactors, customer.FieldTags, customer.FieldNotes, customer.FieldReferredByID,
	customer.FieldContactConsent, customer.FieldConsentAt, customer.FieldConsentChannels,
}

// LimitProfileWrites narrows an agent's update that writes a customer's
// profile, consent or referrer to the customers it owns: the rows of the
// public pool that AllowStaffCustomerWrites also lets an agent update (to
// claim them) are not found by it. It decides nothing itself (Skip): the
// rules after it still apply, with this predicate added.
func LimitProfileWrites() privacy.MutationRule {
	return privacy.CustomerMutationRuleFunc(func(ctx context.Context, m *ent.CustomerMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleAgent || !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) {
			return privacy.Skip
		}
		writes := func(f string) bool {
			_, set := m.Field(f)
			return set || m.FieldCleared(f)
		}
		if slices.ContainsFunc(profileWriteFields, writes) || m.ReferredByCleared() {
			m.Where(customer.OwnerID(v.UserID))
		}
		return privacy.Skip
	})
}

// FilterConsentEvents: whoever reads a customer in full reads their
// consent history — a manager of the customer's project, the owning
// agent, the homeowner themself; an agent looking at the public pool, a
// portal, nobody else.
func FilterConsentEvents() privacy.QueryRule {
	return privacy.ConsentEventQueryRuleFunc(func(ctx context.Context, q *ent.ConsentEventQuery) error {
		v := auth.FromContext(ctx)
		switch v.Role {
		case auth.RoleManager:
			q.Where(consentevent.HasCustomerWith(customer.ProjectIDIn(v.ProjectIDs...)))
		case auth.RoleAgent:
			q.Where(consentevent.HasCustomerWith(customer.OwnerID(v.UserID)))
		case auth.RoleOwner:
			q.Where(consentevent.CustomerID(v.CustomerID))
		default:
			q.Where(none)
		}
		return privacy.Allow
	})
}

// AllowConsentRecords lets a manager record the consent of a customer of
// their projects, and an agent of a customer it owns, under their own
// name. The history is a record: nobody but an admin changes a line of it.
func AllowConsentRecords() privacy.MutationRule {
	return privacy.ConsentEventMutationRuleFunc(func(ctx context.Context, m *ent.ConsentEventMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || (v.Role != auth.RoleManager && v.Role != auth.RoleAgent) || !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		if by, ok := m.RecordedByID(); !ok || by != v.UserID {
			return privacy.Denyf("consent is recorded under the recorder's own name")
		}
		id, _ := m.CustomerID()
		scope := customer.ProjectIDIn(v.ProjectIDs...)
		if v.Role == auth.RoleAgent {
			scope = customer.And(scope, customer.OwnerID(v.UserID))
		}
		ok, err := m.Client().Customer.Query().Where(customer.ID(id), scope).Exist(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return privacy.Denyf("not a customer whose consent you record")
		}
		return privacy.Allow
	})
}

// ErrNoReferrer answers a referrer that is no customer and no homeowner,
// whatever else the ID may be.
var ErrNoReferrer = errors.New("no customer or homeowner has this ID")

// Referrer tells staff naming who referred a customer (老带新) whether id
// is a customer of the developer (any project) or a homeowner's login,
// and returns the customer record it stands for. The referrer is usually
// one the caller may not read (another agent's customer, a homeowner): the
// caller learns that the ID names one, nothing of who; reads of the
// referral go through the rules as any other.
func Referrer(ctx context.Context, client *ent.Client, id pulid.ID) (pulid.ID, error) {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return "", ErrUnauthenticated
	case v.Role != auth.RoleAdmin && v.Role != auth.RoleManager && v.Role != auth.RoleAgent && v.Role != auth.RoleSystem:
		return "", apperr.New(apperr.Forbidden, "only staff record a referral")
	}
	sys := bypass(ctx)
	switch {
	case ent.IDOfType(id, customer.Table):
		ok, err := client.Customer.Query().Where(customer.ID(id)).Exist(sys)
		switch {
		case err != nil:
			return "", err
		case !ok:
			return "", ErrNoReferrer
		}
		return id, nil
	case ent.IDOfType(id, user.Table):
		ids, err := client.User.Query().
			Where(user.ID(id), user.RoleEQ(user.RoleOWNER), user.CustomerIDNotNil()).
			Select(user.FieldCustomerID).Strings(sys)
		switch {
		case err != nil:
			return "", err
		case len(ids) != 1:
			return "", ErrNoReferrer
		}
		return pulid.ID(ids[0]), nil
	}
	return "", ErrNoReferrer
}
