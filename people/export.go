package people

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"estatecrm/audit"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
	"estatecrm/rule"
)

// ExportInput is the input of ExportData.
type ExportInput struct {
	CustomerID pulid.ID
	// Reason is why the manager takes a copy (the person's request, a
	// regulator's…): required, like a reveal's, and audited with it.
	Reason string
}

// Export is one person's data as a JSON document (PIPL: the right to a copy).
type Export struct {
	FileName    string
	ContentType string
	// Document is the JSON text, to be saved as FileName.
	Document string
}

// document is what Export writes: every row held about the person, as
// stored (ent's JSON of each row; no password or code hash, which ent
// never marshals).
type document struct {
	Format            string                  `json:"format"`
	ExportedAt        time.Time               `json:"exportedAt"`
	ExportedBy        pulid.ID                `json:"exportedBy"`
	Customer          *ent.Customer           `json:"customer"`
	Login             *ent.User               `json:"login,omitempty"`
	ConsentHistory    []*ent.ConsentEvent     `json:"consentHistory"`
	AttributionEvents []*ent.AttributionEvent `json:"attributionHistory"`
	Visits            []*ent.Visit            `json:"visits"`
	Deals             []*ent.Deal             `json:"deals"`
	Complaints        []*ent.Complaint        `json:"complaints"`
	Surveys           []*ent.Survey           `json:"surveys"`
	AuditEvents       []*ent.AuditEvent       `json:"auditEvents"`
}

// ExportFormat names the document's layout, for whoever reads it later.
const ExportFormat = "estatecrm.customer-export.v1"

// ExportData returns everything held about the customer id as one JSON
// document: the profile (the full phone), the homeowner login (no
// password), consent and attribution history, visits (with the units
// shown), deals, complaints (with their timeline, internal notes included:
// they are held about the person, and their photos' metadata; the photos
// themselves are served by GET /photos/{id}), and the audit events about
// the customer (and about records merged into it). A manager of the
// customer's project or an admin (rule.Steward), who says why: the export
// is audited (customer.export, the reason as its detail, as a reveal's), in
// the request's transaction. The whole document is a bigger disclosure than
// one phone, so it is not taken without a reason on record either; a
// missing, blank or overlong reason is BAD_USER_INPUT on input.reason,
// checked before anything is read.
func ExportData(ctx context.Context, client *ent.Client, in ExportInput, now time.Time) (*Export, error) {
	id := in.CustomerID
	if err := customerID("input.customerId", id); err != nil {
		return nil, err
	}
	why, err := reason("input.reason", in.Reason)
	if err != nil {
		return nil, err
	}
	cs, sys, err := rule.Steward(ctx, client, id)
	if err != nil {
		return nil, err
	}
	c := cs[0]
	doc := document{Format: ExportFormat, ExportedAt: now.UTC(), Customer: c}
	if v := auth.FromContext(ctx); v != nil {
		doc.ExportedBy = v.UserID
	}
	if doc.Login, err = client.User.Query().Where(user.CustomerID(id)).Only(sys); ent.IsNotFound(err) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if doc.ConsentHistory, err = client.ConsentEvent.Query().Where(consentevent.CustomerID(id)).
		Order(ent.Asc(consentevent.FieldCreatedAt), ent.Asc(consentevent.FieldID)).All(sys); err != nil {
		return nil, err
	}
	if doc.AttributionEvents, err = client.AttributionEvent.Query().Where(attributionevent.CustomerID(id)).All(sys); err != nil {
		return nil, err
	}
	if doc.Visits, err = client.Visit.Query().Where(visit.CustomerID(id)).WithUnitsShown(func(q *ent.UnitQuery) {
		q.Select("id")
	}).Order(ent.Asc(visit.FieldOccurredAt), ent.Asc(visit.FieldID)).All(sys); err != nil {
		return nil, err
	}
	if doc.Deals, err = client.Deal.Query().Where(deal.CustomerID(id)).Order(ent.Asc(deal.FieldReservedAt)).All(sys); err != nil {
		return nil, err
	}
	if doc.Complaints, err = client.Complaint.Query().Where(complaint.CustomerID(id)).
		WithEvents().WithPhotos().Order(ent.Asc(complaint.FieldCreatedAt)).All(sys); err != nil {
		return nil, err
	}
	if doc.Surveys, err = client.Survey.Query().Where(survey.CustomerID(id)).Order(ent.Asc(survey.FieldCreatedAt), ent.Asc(survey.FieldID)).All(sys); err != nil {
		return nil, err
	}
	// The audit events about the customer, and about the records merged
	// into it (Merge's event on a merged ID says "into <kept ID>").
	merged, err := client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerMerge), auditevent.Detail(mergedInto+string(id))).
		Select(auditevent.FieldObjectID).Strings(sys)
	if err != nil {
		return nil, err
	}
	if doc.AuditEvents, err = client.AuditEvent.Query().Where(auditevent.ObjectIDIn(append(merged, string(id))...)).
		Order(ent.Asc(auditevent.FieldCreatedAt), ent.Asc(auditevent.FieldID)).All(sys); err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := audit.Record(ctx, client, audit.Event{Action: audit.CustomerExport, ObjectID: id, ProjectID: c.ProjectID,
		Detail: why}); err != nil {
		return nil, err
	}
	name := "customer-" + strings.ToLower(string(id)) + "-" + now.UTC().Format("20060102T150405Z") + ".json"
	return &Export{FileName: name, ContentType: "application/json", Document: string(body)}, nil
}
