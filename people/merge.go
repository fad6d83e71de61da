package people

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/apperr"
	"estatecrm/audit"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
	"estatecrm/rule"
)

// MergeInput is the input of Merge.
type MergeInput struct {
	// Keep is the record that stays; Merge the duplicate merged into it.
	Keep, Merge pulid.ID
	// DryRun: say what would move and who would own, changing nothing.
	DryRun bool
}

// OwnerRule is how Merge decided who owns the merged customer (SPEC.md
// §3.1: the earliest valid registration, that is protection, wins).
type OwnerRule string

// The rules, in the order Merge tries them.
const (
	// SameOwner: both records had the same owning agent (or none).
	SameOwner OwnerRule = "SAME_OWNER"
	// OnlyProtected: only one record was protected by its agent now; a
	// lapsed registration gives no claim.
	OnlyProtected OwnerRule = "ONLY_PROTECTED"
	// EarliestProtected: both were protected; the earlier registration
	// (when its agent took the customer) wins.
	EarliestProtected OwnerRule = "EARLIEST_PROTECTED"
	// EarliestRegistration: neither was protected; the earlier
	// registration's agent stays the owner, lapsed: the customer is in the
	// public pool until a contact or a claim, as before.
	EarliestRegistration OwnerRule = "EARLIEST_REGISTRATION"
)

// Moved counts what moves from the merged record to the kept one.
type Moved struct {
	Visits, Deals, Complaints, ConsentEvents, AttributionEvents, Referrals, HeldUnits, ActivationCodes int
	// Surveys sent to the merged record, and its holds as the sales funnel
	// counts them (unit_holds).
	Surveys, Holds int
	// Login: the merged record's homeowner login becomes the kept one's.
	Login bool
}

// Merged is what Merge did, or with DryRun would do.
type Merged struct {
	// Customer is the kept record as it is after the merge (with DryRun,
	// as it is now), as the viewer reads it.
	Customer *ent.Customer
	MergedID pulid.ID
	DryRun   bool
	Moved    Moved
	// Owner is the owning agent after the merge (nil: none), by OwnerRule,
	// which OwnerReason explains in words.
	Owner          *ent.User
	OwnerRule      OwnerRule
	OwnerReason    string
	ProtectedUntil *time.Time
}

// moves are the references to a customer that a merge moves, by table and
// column, with the count each reports under.
var moves = []struct {
	table, column string
	count         func(*Moved) *int
}{
	{"visits", "customer_id", func(m *Moved) *int { return &m.Visits }},
	{"deals", "customer_id", func(m *Moved) *int { return &m.Deals }},
	{"complaints", "customer_id", func(m *Moved) *int { return &m.Complaints }},
	{"consent_events", "customer_id", func(m *Moved) *int { return &m.ConsentEvents }},
	{"attribution_events", "customer_id", func(m *Moved) *int { return &m.AttributionEvents }},
	{"customers", "referred_by_id", func(m *Moved) *int { return &m.Referrals }},
	{"units", "held_for_id", func(m *Moved) *int { return &m.HeldUnits }},
	{"activation_codes", "customer_id", func(m *Moved) *int { return &m.ActivationCodes }},
	{"surveys", "customer_id", func(m *Moved) *int { return &m.Surveys }},
	{"unit_holds", "customer_id", func(m *Moved) *int { return &m.Holds }},
}

// Merge merges the duplicate record in.Merge into in.Keep (a manager of
// their project or an admin; rule.Steward): the merged record's visits,
// deals, complaints, consent and attribution history, referrals, held
// units, activation codes and homeowner login move to the kept one; the
// kept one's empty profile fields are filled from the merged one (its own
// values win; tags are joined, notes appended); the owner is decided by
// the attribution rule (OwnerRule) and a change of owner is written to the
// attribution history and audited; then the merged record is deleted (its
// phone, unique per project, goes with it; the audit events of the merge,
// one on each ID, say where it went). The two records must be of one
// project (a customer belongs to one project: records of one person in two
// projects stay apart, CONFLICT on mergeId), not erased, and not both
// homeowner logins. With DryRun nothing changes and the answer says what
// would move and who would own.
func Merge(ctx context.Context, client *ent.Client, in MergeInput, now time.Time) (*Merged, error) {
	if err := customerID("input.keep", in.Keep); err != nil {
		return nil, err
	}
	if err := customerID("input.merge", in.Merge); err != nil {
		return nil, err
	}
	if in.Keep == in.Merge {
		return nil, apperr.Input("input.merge", "a record cannot be merged into itself")
	}
	cs, sys, err := rule.Steward(ctx, client, in.Keep, in.Merge)
	if err != nil {
		return nil, err
	}
	keep, merge := cs[0], cs[1]
	switch {
	case keep.ProjectID != merge.ProjectID:
		return nil, conflict("input.merge", "the records are of two projects: a customer belongs to one project, and one person's records in two projects stay apart")
	case rule.Erased(keep):
		return nil, conflict("input.keep", "the customer's data was erased")
	case rule.Erased(merge):
		return nil, conflict("input.merge", "the customer's data was erased")
	}
	out := &Merged{MergedID: merge.ID, DryRun: in.DryRun}
	pg := client.Dialect() == dialect.Postgres
	for _, m := range moves {
		q := "SELECT COUNT(*) FROM " + m.table + " WHERE " + m.column + " = ?"
		args := []any{string(merge.ID)}
		if m.table == "customers" {
			q += " AND id <> ?"
			args = append(args, string(keep.ID))
		}
		n, err := count(sys, client, pg, q, args...)
		if err != nil {
			return nil, err
		}
		*m.count(&out.Moved) = n
	}
	logins, err := client.User.Query().Where(user.CustomerIDIn(keep.ID, merge.ID)).All(sys)
	if err != nil {
		return nil, err
	}
	switch {
	case len(logins) > 1:
		return nil, conflict("input.merge", "both records have a homeowner login: one person cannot keep two")
	case len(logins) == 1 && logins[0].CustomerID != nil && *logins[0].CustomerID == merge.ID:
		out.Moved.Login = true
	}
	winner, ownerRule, why := decideOwner(keep, merge, now)
	out.OwnerRule, out.OwnerReason = ownerRule, why
	owner, protected := winner.OwnerID, maxTime(keep.ProtectedUntil, merge.ProtectedUntil)
	if ownerRule != SameOwner {
		protected = winner.ProtectedUntil
	}
	out.ProtectedUntil = protected
	if !in.DryRun {
		if err := apply(ctx, sys, client, pg, keep, merge, winner, protected, out, now); err != nil {
			return nil, err
		}
	}
	if out.Customer, err = client.Customer.Get(ctx, keep.ID); err != nil {
		return nil, err
	}
	if owner != nil {
		// As the viewer: a manager sees the agents of their project.
		if out.Owner, err = client.User.Get(ctx, *owner); ent.IsNotFound(err) {
			err = nil
		}
	}
	return out, err
}

func apply(ctx, sys context.Context, client *ent.Client, pg bool, keep, merge, winner *ent.Customer, protected *time.Time, out *Merged, now time.Time) error {
	// The kept record's own reference to the merged one goes first: it
	// would point at itself.
	upd := client.Customer.UpdateOneID(keep.ID)
	if keep.ReferredByID != nil && *keep.ReferredByID == merge.ID {
		upd.ClearReferredByID()
		if merge.ReferredByID != nil && *merge.ReferredByID != keep.ID {
			upd.SetReferredByID(*merge.ReferredByID)
		}
	}
	fillProfile(upd, keep, merge)
	ownerChanged := !samePtr(keep.OwnerID, winner.OwnerID)
	if ownerChanged {
		upd.SetNillableOwnerID(winner.OwnerID).SetNillableOwnedSince(winner.OwnedSince).
			SetNillableAttributionRule(winner.AttributionRule)
		if winner.OwnerID == nil {
			upd.ClearOwnerID()
		}
	}
	upd.SetNillableProtectedUntil(protected)
	if err := upd.Exec(sys); err != nil {
		return err
	}
	for _, m := range moves {
		q := "UPDATE " + m.table + " SET " + m.column + " = ? WHERE " + m.column + " = ?"
		args := []any{string(keep.ID), string(merge.ID)}
		if m.table == "customers" {
			q += " AND id <> ?"
			args = append(args, string(keep.ID))
		}
		if _, err := client.ExecContext(sys, rebind(pg, q), args...); err != nil {
			return err
		}
	}
	if out.Moved.Login {
		if _, err := client.ExecContext(sys, rebind(pg, "UPDATE users SET customer_id = ? WHERE customer_id = ?"), string(keep.ID), string(merge.ID)); err != nil {
			return err
		}
	}
	if _, err := client.ExecContext(sys, rebind(pg, "DELETE FROM customers WHERE id = ?"), string(merge.ID)); err != nil {
		return err
	}
	if ownerChanged {
		until := now
		if protected != nil {
			until = *protected
		}
		if err := rule.RecordOwnerChange(ctx, client, rule.OwnerChange{CustomerID: keep.ID, ProjectID: keep.ProjectID,
			Kind: attributionevent.KindREASSIGNED, From: keep.OwnerID, To: winner.OwnerID, ProtectedUntil: until, At: now}); err != nil {
			return err
		}
	}
	m := out.Moved
	detail := fmt.Sprintf("merged %s: visits %d, deals %d, complaints %d, consent events %d, attribution events %d, referrals %d, held units %d, activation codes %d, login %v; owner %s by %s",
		merge.ID, m.Visits, m.Deals, m.Complaints, m.ConsentEvents, m.AttributionEvents, m.Referrals, m.HeldUnits, m.ActivationCodes, m.Login, idOrNone(winner.OwnerID), out.OwnerRule)
	return audit.Record(ctx, client,
		audit.Event{Action: audit.CustomerMerge, ObjectID: keep.ID, ProjectID: keep.ProjectID, Detail: detail},
		audit.Event{Action: audit.CustomerMerge, ObjectID: merge.ID, ProjectID: keep.ProjectID, Detail: mergedInto + string(keep.ID)})
}

// mergedInto starts the detail of the merge event on the merged record's
// ID, followed by the kept one's: Export follows it.
const mergedInto = "into "

// decideOwner applies the attribution rule to the two records: the one
// whose registration is valid (protected now) wins; of two valid ones, or
// of two lapsed ones, the earlier registration.
func decideOwner(keep, merge *ent.Customer, now time.Time) (*ent.Customer, OwnerRule, string) {
	if samePtr(keep.OwnerID, merge.OwnerID) {
		return keep, SameOwner, "both records were owned by " + idOrNone(keep.OwnerID) + "; the later protection of the two is kept"
	}
	valid := func(c *ent.Customer) bool { return c.OwnerID != nil && !rule.InPublicPool(c, now) }
	since := func(c *ent.Customer) time.Time {
		if c.OwnedSince != nil {
			return *c.OwnedSince
		}
		return c.CreatedAt
	}
	earlier := keep
	if since(merge).Before(since(keep)) {
		earlier = merge
	}
	switch vk, vm := valid(keep), valid(merge); {
	case vk != vm:
		w := keep
		if vm {
			w = merge
		}
		return w, OnlyProtected, fmt.Sprintf("only %s was protected (by %s until %s); the other's registration had lapsed", w.ID, idOrNone(w.OwnerID), w.ProtectedUntil.UTC().Format(time.RFC3339))
	case vk:
		return earlier, EarliestProtected, fmt.Sprintf("both were protected; %s was registered first (by %s at %s)", earlier.ID, idOrNone(earlier.OwnerID), since(earlier).UTC().Format(time.RFC3339))
	}
	return earlier, EarliestRegistration, fmt.Sprintf("neither was protected; %s was registered first (by %s at %s) and stays in the public pool until a contact or a claim", earlier.ID, idOrNone(earlier.OwnerID), since(earlier).UTC().Format(time.RFC3339))
}

// fillProfile fills the kept record's empty profile fields from the merged
// one: the kept record's own values win.
func fillProfile(upd *ent.CustomerUpdateOne, keep, merge *ent.Customer) {
	if keep.Gender == customer.GenderUNKNOWN && merge.Gender != customer.GenderUNKNOWN {
		upd.SetGender(merge.Gender)
	}
	if keep.AgeBand == nil {
		upd.SetNillableAgeBand(merge.AgeBand)
	}
	if keep.Occupation == nil {
		upd.SetNillableOccupation(merge.Occupation)
	}
	if keep.FamilyStructure == nil {
		upd.SetNillableFamilyStructure(merge.FamilyStructure)
	}
	if keep.Purpose == nil {
		upd.SetNillablePurpose(merge.Purpose)
	}
	if keep.BudgetMin == nil && keep.BudgetMax == nil && (merge.BudgetMin != nil || merge.BudgetMax != nil) {
		upd.SetNillableBudgetMin(merge.BudgetMin).SetNillableBudgetMax(merge.BudgetMax)
	}
	if keep.WantedAreaMin == nil && keep.WantedAreaMax == nil {
		upd.SetNillableWantedAreaMin(merge.WantedAreaMin).SetNillableWantedAreaMax(merge.WantedAreaMax)
	}
	if len(keep.WantedBedrooms) == 0 && len(merge.WantedBedrooms) > 0 {
		upd.SetWantedBedrooms(merge.WantedBedrooms)
	}
	if len(keep.FocusFactors) == 0 && len(merge.FocusFactors) > 0 {
		upd.SetFocusFactors(merge.FocusFactors)
	}
	if len(merge.Tags) > 0 {
		tags := slices.Clone(keep.Tags)
		for _, t := range merge.Tags {
			if !slices.Contains(tags, t) && len(tags) < 20 {
				tags = append(tags, t)
			}
		}
		upd.SetTags(tags)
	}
	if n := strings.TrimSpace(merge.Notes); n != "" && !strings.Contains(keep.Notes, n) {
		notes := n
		if keep.Notes != "" {
			notes = keep.Notes + "\n" + n
		}
		upd.SetNotes(notes)
	}
	if merge.LastContactAt != nil && (keep.LastContactAt == nil || merge.LastContactAt.After(*keep.LastContactAt)) {
		upd.SetLastContactAt(*merge.LastContactAt)
	}
	if keep.NextFollowUpAt == nil && merge.NextFollowUpAt != nil {
		upd.SetNextFollowUpAt(*merge.NextFollowUpAt).SetNextFollowUpAction(merge.NextFollowUpAction)
	}
	if stageRank(merge.Stage) > stageRank(keep.Stage) {
		upd.SetStage(merge.Stage)
	}
	if merge.Grade < keep.Grade { // A is the best
		upd.SetGrade(merge.Grade)
	}
	if merge.ConsentAt != nil && (keep.ConsentAt == nil || merge.ConsentAt.After(*keep.ConsentAt)) {
		upd.SetContactConsent(merge.ContactConsent).SetConsentAt(*merge.ConsentAt).SetConsentChannels(merge.ConsentChannels)
	}
}

// stageRank orders the lifecycle: a lost customer is behind every other stage.
func stageRank(s customer.Stage) int {
	return slices.Index([]customer.Stage{customer.StageLOST, customer.StageLEAD, customer.StageVISITED,
		customer.StageNEGOTIATING, customer.StageRESERVED, customer.StageCONTRACTED, customer.StageOWNER}, s)
}

func samePtr(a, b *pulid.ID) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func idOrNone(id *pulid.ID) string {
	if id == nil {
		return "none"
	}
	return string(*id)
}

func maxTime(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil || a.After(*b):
		return a
	}
	return b
}

// count runs a COUNT(*) query.
func count(ctx context.Context, client *ent.Client, pg bool, q string, args ...any) (int, error) {
	rows, err := client.QueryContext(ctx, rebind(pg, q), args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}
