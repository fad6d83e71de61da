package schema

import (
	"context"
	"slices"
	"strings"

	gen "estatecrm/ent"

	"estatecrm/audit"
	"estatecrm/auth"
	"estatecrm/ent/customer"
	"estatecrm/ent/hook"
)

// profileFields are the personal data of a customer's profile, and
// consentFields their consent to be contacted: a change of either is
// audited (SPEC.md §2), naming the fields changed, never their values.
var (
	profileFields = []string{
		customer.FieldName, customer.FieldGender, customer.FieldAgeBand, customer.FieldOccupation,
		customer.FieldFamilyStructure, customer.FieldPurpose, customer.FieldBudgetMin, customer.FieldBudgetMax,
		customer.FieldWantedBedrooms, customer.FieldWantedAreaMin, customer.FieldWantedAreaMax,
		customer.FieldFocusFactors, customer.FieldTags, customer.FieldNotes, customer.FieldReferredByID,
	}
	consentFields = []string{customer.FieldContactConsent, customer.FieldConsentAt, customer.FieldConsentChannels}
)

// touched returns the fields of among that m sets or clears, in among's order.
func touched(m *gen.CustomerMutation, among []string) []string {
	var out []string
	for _, f := range among {
		if _, set := m.Field(f); set || m.FieldCleared(f) {
			out = append(out, f)
		}
	}
	return out
}

// auditProfile records every update of a customer's profile or consent,
// in the update's transaction: customer.profile.change naming the fields
// written, customer.consent.change. A registration is no change.
func auditProfile(next gen.Mutator) gen.Mutator {
	return hook.CustomerFunc(func(ctx context.Context, m *gen.CustomerMutation) (gen.Value, error) {
		if m.Op().Is(gen.OpCreate) {
			return next.Mutate(ctx, m)
		}
		profile, consent := touched(m, profileFields), touched(m, consentFields)
		if m.ReferredByCleared() && !slices.Contains(profile, customer.FieldReferredByID) {
			profile = append(profile, customer.FieldReferredByID)
		}
		if len(profile) == 0 && len(consent) == 0 {
			return next.Mutate(ctx, m)
		}
		var before []*gen.Customer // a bulk update's rows, for their ids and projects
		if !m.Op().Is(gen.OpUpdateOne) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			before, err = m.Client().Customer.Query().Where(customer.IDIn(ids...)).
				Select(customer.FieldID, customer.FieldProjectID).All(auth.SystemContext(ctx))
			if err != nil {
				return nil, err
			}
		}
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return nil, err
		}
		if c, ok := v.(*gen.Customer); ok {
			before = []*gen.Customer{c}
		}
		names := make([]string, len(profile))
		for i, f := range profile {
			names[i] = graphName(f)
		}
		var events []audit.Event
		for _, c := range before {
			if len(profile) > 0 {
				events = append(events, audit.Event{Action: audit.CustomerProfileChange, ObjectID: c.ID,
					ProjectID: c.ProjectID, Detail: strings.Join(names, ", ")})
			}
			if len(consent) > 0 {
				events = append(events, audit.Event{Action: audit.CustomerConsentChange, ObjectID: c.ID,
					ProjectID: c.ProjectID, Detail: consentDetail(m)})
			}
		}
		return v, audit.Record(ctx, m.Client(), events...)
	})
}

// graphName is the name a client knows a profile field by.
func graphName(f string) string {
	if f == customer.FieldReferredByID {
		return "referredBy"
	}
	parts := strings.Split(f, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// consentDetail says what became of the consent: given (with its channels)
// or withdrawn; the channels are no personal data.
func consentDetail(m *gen.CustomerMutation) string {
	given, ok := m.ContactConsent()
	if ok && !given {
		return "withdrawn"
	}
	chans, _ := m.ConsentChannels()
	names := make([]string, len(chans))
	for i, c := range chans {
		names[i] = string(c)
	}
	slices.Sort(names)
	return "given: " + strings.Join(names, ", ")
}
