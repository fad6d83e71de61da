package people

import (
	"context"

	"estatecrm/audit"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// RevealInput is the input of RevealPhone.
type RevealInput struct {
	CustomerID pulid.ID
	Reason     string
}

// Reveal is a full phone shown once to a manager or an admin.
type Reveal struct {
	Customer *ent.Customer
	Phone    string
}

// RevealPhone shows a manager of the customer's project, or an admin, the
// customer's full phone, which every other read shows them masked
// (rule.MaySeePhone), and records that they read it and why
// (customer.phone.reveal, the reason as its detail, visible to the
// project's managers), in the request's transaction. An erased customer
// has no phone to reveal (CONFLICT).
func RevealPhone(ctx context.Context, client *ent.Client, in RevealInput) (*Reveal, error) {
	id := in.CustomerID
	if err := customerID("input.customerId", id); err != nil {
		return nil, err
	}
	why, err := reason("input.reason", in.Reason)
	if err != nil {
		return nil, err
	}
	cs, _, err := rule.Steward(ctx, client, id)
	if err != nil {
		return nil, err
	}
	c := cs[0]
	if rule.Erased(c) {
		return nil, conflict("input.customerId", "the customer's data was erased")
	}
	if err := audit.Record(ctx, client, audit.Event{Action: audit.CustomerPhoneReveal, ObjectID: c.ID, ProjectID: c.ProjectID, Detail: why}); err != nil {
		return nil, err
	}
	// The customer as the viewer reads it: phone masked.
	shown, err := client.Customer.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Reveal{Customer: shown, Phone: c.Phone}, nil
}
