package sales

import (
	"context"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/rule"
)

// maxConsentNoteRunes bounds the note of a consent event.
const maxConsentNoteRunes = 500

// maxConsentHistory is how many events Customer.consentHistory shows.
const maxConsentHistory = 100

// ConsentChange is the input of SetContactConsent.
type ConsentChange struct {
	CustomerID pulid.ID
	// Consent: true gives (or changes) the consent, by Channels; false
	// withdraws it.
	Consent  bool
	Channels []schematype.ContactChannel
	// Note says how it was given or withdrawn (a signed form, a call…).
	Note *string
}

// SetContactConsent records that a customer gave, changed or withdrew
// their consent to be contacted (PIPL): a new line of their consent
// history, now, under the caller's name, and the customer's current
// consent fields set from it. Whoever may change the customer's profile
// may (UpdateCustomer); a customer the caller may not read is NOT_FOUND.
func SetContactConsent(ctx context.Context, client *ent.Client, in ConsentChange, now time.Time) (*ent.Customer, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return nil, rule.ErrUnauthenticated
	}
	if !ent.IDOfType(in.CustomerID, customer.Table) {
		return nil, apperr.Input("input.customerId", "not the ID of a customer")
	}
	c, err := client.Customer.Query().Where(customer.ID(in.CustomerID)).
		Select(customer.FieldID, customer.FieldProjectID, customer.FieldOwnerID, customer.FieldContactConsent).Only(ctx)
	if err != nil {
		return nil, err
	}
	channels := uniq(in.Channels)
	switch {
	case in.Consent && len(channels) == 0:
		return nil, apperr.Input("input.channels", "consent is given by at least one channel")
	case !in.Consent && len(channels) > 0:
		return nil, apperr.Input("input.channels", "a withdrawal of consent has no channels")
	}
	if in.Note != nil {
		if err := checkText("input.note", *in.Note, maxConsentNoteRunes, true); err != nil {
			return nil, err
		}
	}
	kind := consentevent.KindWITHDRAWN
	switch {
	case in.Consent && c.ContactConsent:
		kind = consentevent.KindCHANGED
	case in.Consent:
		kind = consentevent.KindGIVEN
	}
	upd := client.Customer.UpdateOneID(c.ID).SetContactConsent(in.Consent).SetConsentAt(now)
	if in.Consent {
		upd.SetConsentChannels(channels)
	} else {
		upd.ClearConsentChannels()
	}
	switch err := upd.Exec(ctx); {
	case ent.IsNotFound(err):
		return nil, apperr.New(apperr.Forbidden, "only the owning agent or a manager of the project records a customer's consent")
	case err != nil:
		return nil, err
	}
	if err := recordConsent(ctx, client, c.ID, kind, in.Consent, channels, in.Note, now); err != nil {
		return nil, err
	}
	return client.Customer.Get(ctx, c.ID)
}

// recordConsent writes one line of a customer's consent history, under
// the caller's name.
func recordConsent(ctx context.Context, client *ent.Client, id pulid.ID, kind consentevent.Kind, consent bool,
	channels []schematype.ContactChannel, note *string, now time.Time) error {
	e := client.ConsentEvent.Create().SetCustomerID(id).SetKind(kind).SetConsent(consent).
		SetNillableNote(note).SetCreatedAt(now)
	if len(channels) > 0 {
		e.SetChannels(channels)
	}
	if v := auth.FromContext(ctx); v != nil && v.UserID != "" {
		e.SetRecordedByID(v.UserID)
	}
	return e.Exec(ctx)
}

// registrationConsent starts the consent history of a customer just
// registered with their consent.
func registrationConsent(ctx context.Context, client *ent.Client, c *ent.Customer, now time.Time) error {
	if !c.ContactConsent {
		return nil
	}
	return recordConsent(ctx, client, c.ID, consentevent.KindGIVEN, true, c.ConsentChannels, nil, now)
}

// ConsentHistory is a customer's consent history, newest first (at most
// the latest 100), as far as the caller may read it: whoever reads the
// customer in full (rule.FilterConsentEvents). It is what field collection
// loads for a page of customers in one statement (the gqlselect.Edges of
// ent/schema/customer.go: same order, same limit); this query answers a
// customer that was not collected, such as a mutation's payload.
func ConsentHistory(ctx context.Context, c *ent.Customer) ([]*ent.ConsentEvent, error) {
	return c.QueryConsentEvents().
		Order(ent.Desc(consentevent.FieldCreatedAt), ent.Desc(consentevent.FieldID)).
		Limit(maxConsentHistory).All(ctx)
}
