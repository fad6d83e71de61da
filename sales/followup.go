package sales

import (
	"context"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
)

// ChurnPolicy is how many days a customer of each grade may go without
// contact before the agent is warned; D (invalid) is never warned about.
type ChurnPolicy struct{ A, B, C int }

// DefaultChurn is A 3 days (ready within a month), B 7, C 30.
func DefaultChurn() ChurnPolicy { return ChurnPolicy{A: 3, B: 7, C: 30} }

// Risk reports whether a customer has gone without contact longer than
// their grade allows.
func (p ChurnPolicy) Risk(c *ent.Customer, now time.Time) bool {
	days := map[customer.Grade]int{customer.GradeA: p.A, customer.GradeB: p.B, customer.GradeC: p.C}[c.Grade]
	if days == 0 || c.Stage == customer.StageLOST || c.Stage == customer.StageOWNER {
		return false
	}
	last := c.CreatedAt
	if c.LastContactAt != nil {
		last = *c.LastContactAt
	}
	return now.Sub(last) > time.Duration(days)*24*time.Hour
}

// FollowUps are an agent's follow-ups of one day in the company's zone.
type FollowUps struct {
	Date    string
	Due     []*ent.Customer
	Overdue []*ent.Customer
}

// maxFollowUps bounds each list: a day's work, not an export.
const maxFollowUps = 100

// MyFollowUps returns the calling agent's customers due for a follow-up on
// date (YYYY-MM-DD in zone; today if nil), and those overdue before it.
func MyFollowUps(ctx context.Context, client *ent.Client, date *string, zone *time.Location, now time.Time) (*FollowUps, error) {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	case v.UserID == "":
		return nil, apperr.New(apperr.Forbidden, "follow-ups are a user's")
	}
	day := now.In(zone)
	if date != nil {
		d, err := time.ParseInLocation(time.DateOnly, *date, zone)
		if err != nil {
			return nil, apperr.Input("date", "a date is written YYYY-MM-DD")
		}
		day = d
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, zone)
	end := start.AddDate(0, 0, 1)
	mine := client.Customer.Query().Where(customer.OwnerID(v.UserID), customer.StageNotIn(customer.StageLOST, customer.StageOWNER))
	due, err := mine.Clone().
		Where(customer.NextFollowUpAtGTE(start.UTC()), customer.NextFollowUpAtLT(end.UTC())).
		Order(ent.Asc(customer.FieldNextFollowUpAt)).Limit(maxFollowUps).All(ctx)
	if err != nil {
		return nil, err
	}
	overdue, err := mine.Clone().
		Where(customer.NextFollowUpAtLT(start.UTC())).
		Order(ent.Asc(customer.FieldNextFollowUpAt)).Limit(maxFollowUps).All(ctx)
	if err != nil {
		return nil, err
	}
	return &FollowUps{Date: start.Format(time.DateOnly), Due: due, Overdue: overdue}, nil
}
