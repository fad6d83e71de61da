package sales

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/money"
	"estatecrm/rule"
)

// Limits of a customer's profile (客户画像), checked before anything is
// written, each refusal naming its input field.
const (
	maxNameRunes       = 50
	maxOccupationRunes = 50
	maxNotesRunes      = 2000
	maxTags            = 20
	maxTagRunes        = 20
	maxBedrooms        = 10
	maxWantedArea      = 10000 // m²
)

// ProfileChange is the input of UpdateCustomer: a field left out stays as
// it is; a field sent as null is cleared (a gender back to UNKNOWN; a name
// cannot be cleared).
type ProfileChange struct {
	CustomerID      pulid.ID
	Name            graphql.Omittable[*string]
	Gender          graphql.Omittable[*customer.Gender]
	AgeBand         graphql.Omittable[*customer.AgeBand]
	Occupation      graphql.Omittable[*string]
	FamilyStructure graphql.Omittable[*customer.FamilyStructure]
	Purpose         graphql.Omittable[*customer.Purpose]
	BudgetMin       graphql.Omittable[*money.Fen]
	BudgetMax       graphql.Omittable[*money.Fen]
	WantedBedrooms  graphql.Omittable[[]int]
	WantedAreaMin   graphql.Omittable[*float64]
	WantedAreaMax   graphql.Omittable[*float64]
	FocusFactors    graphql.Omittable[[]schematype.FocusFactor]
	Tags            graphql.Omittable[[]string]
	Notes           graphql.Omittable[*string]
	// ReferredBy is a customer's ID or a homeowner's user ID (老带新).
	ReferredBy graphql.Omittable[*pulid.ID]
}

// profileColumns are what UpdateCustomer reads of the customer before the
// change: never the phone, so that the read is no read of it.
var profileColumns = []string{
	customer.FieldID, customer.FieldProjectID, customer.FieldOwnerID, customer.FieldBudgetMin,
	customer.FieldBudgetMax, customer.FieldWantedAreaMin, customer.FieldWantedAreaMax,
}

// UpdateCustomer changes a customer's profile: the owning agent, a manager
// of the customer's project or an admin (the privacy rules decide; another
// agent, even of a public-pool customer it may read, is FORBIDDEN). A
// customer the caller may not read is NOT_FOUND; bad input is
// BAD_USER_INPUT naming the field, and nothing changes.
func UpdateCustomer(ctx context.Context, client *ent.Client, in ProfileChange) (*ent.Customer, error) {
	if auth.FromContext(ctx) == nil {
		return nil, rule.ErrUnauthenticated
	}
	if !ent.IDOfType(in.CustomerID, customer.Table) {
		return nil, apperr.Input("input.customerId", "not the ID of a customer")
	}
	c, err := client.Customer.Query().Where(customer.ID(in.CustomerID)).Select(profileColumns...).Only(ctx)
	if err != nil {
		return nil, err
	}
	upd := client.Customer.UpdateOneID(c.ID)
	if v, set := in.Name.ValueOK(); set {
		if v == nil {
			return nil, apperr.Input("input.name", "a customer's name cannot be cleared")
		}
		if err := checkName("input.name", *v); err != nil {
			return nil, err
		}
		upd.SetName(*v)
	}
	if v, set := in.Gender.ValueOK(); set {
		if v == nil {
			upd.SetGender(customer.GenderUNKNOWN)
		} else {
			upd.SetGender(*v)
		}
	}
	setOrClear(in.AgeBand, upd.SetNillableAgeBand, upd.ClearAgeBand)
	if v, set := in.Occupation.ValueOK(); set {
		if v == nil || *v == "" {
			upd.ClearOccupation()
		} else if err := checkText("input.occupation", *v, maxOccupationRunes, false); err != nil {
			return nil, err
		} else {
			upd.SetOccupation(*v)
		}
	}
	setOrClear(in.FamilyStructure, upd.SetNillableFamilyStructure, upd.ClearFamilyStructure)
	setOrClear(in.Purpose, upd.SetNillablePurpose, upd.ClearPurpose)
	// Ranges are checked against what stays stored of them.
	lo, hi := c.BudgetMin, c.BudgetMax
	if v, sent := setOrClear(in.BudgetMin, upd.SetNillableBudgetMin, upd.ClearBudgetMin); sent {
		lo = v
	}
	if v, sent := setOrClear(in.BudgetMax, upd.SetNillableBudgetMax, upd.ClearBudgetMax); sent {
		hi = v
	}
	if err := checkBudget(lo, hi); err != nil {
		return nil, err
	}
	if v, set := in.WantedBedrooms.ValueOK(); set {
		rooms, err := checkBedrooms(v)
		if err != nil {
			return nil, err
		}
		if len(rooms) == 0 {
			upd.ClearWantedBedrooms()
		} else {
			upd.SetWantedBedrooms(rooms)
		}
	}
	areaLo, areaHi := c.WantedAreaMin, c.WantedAreaMax
	if v, sent := setOrClear(in.WantedAreaMin, upd.SetNillableWantedAreaMin, upd.ClearWantedAreaMin); sent {
		areaLo = v
	}
	if v, sent := setOrClear(in.WantedAreaMax, upd.SetNillableWantedAreaMax, upd.ClearWantedAreaMax); sent {
		areaHi = v
	}
	if err := checkArea(areaLo, areaHi); err != nil {
		return nil, err
	}
	if v, set := in.FocusFactors.ValueOK(); set {
		if f := uniq(v); len(f) == 0 {
			upd.ClearFocusFactors()
		} else {
			upd.SetFocusFactors(f)
		}
	}
	if v, set := in.Tags.ValueOK(); set {
		tags, err := checkTags(v)
		if err != nil {
			return nil, err
		}
		if len(tags) == 0 {
			upd.ClearTags()
		} else {
			upd.SetTags(tags)
		}
	}
	if v, set := in.Notes.ValueOK(); set {
		if v == nil || *v == "" {
			upd.ClearNotes()
		} else if err := checkText("input.notes", *v, maxNotesRunes, true); err != nil {
			return nil, err
		} else {
			upd.SetNotes(*v)
		}
	}
	if v, set := in.ReferredBy.ValueOK(); set {
		if v == nil {
			upd.ClearReferredBy()
		} else {
			ref, err := referrer(ctx, client, *v)
			if err != nil {
				return nil, err
			}
			if ref == c.ID {
				return nil, apperr.Input("input.referredBy", "a customer cannot refer themself")
			}
			upd.SetReferredByID(ref)
		}
	}
	// The rules narrow the update to the rows the caller may change: a
	// customer they read but may not change is not found by it.
	switch err := upd.Exec(ctx); {
	case ent.IsNotFound(err):
		return nil, apperr.New(apperr.Forbidden, "only the owning agent or a manager of the project changes a customer's profile")
	case err != nil:
		return nil, err
	}
	return client.Customer.Get(ctx, c.ID)
}

// profile is the part of a registration beyond what registration always
// took, checked, ready to be set on the new customer.
type profile struct {
	occupation      string
	familyStructure *customer.FamilyStructure
	wantedBedrooms  []int
	areaMin         *float64
	areaMax         *float64
	focusFactors    []schematype.FocusFactor
	tags            []string
	referredBy      *pulid.ID
}

// registrationProfile checks the profile fields of a registration (its
// name is left to the schema's validator, as registration always did).
func registrationProfile(ctx context.Context, client *ent.Client, in Registration) (*profile, error) {
	p := &profile{familyStructure: in.FamilyStructure, areaMin: in.WantedAreaMin, areaMax: in.WantedAreaMax,
		focusFactors: uniq(in.FocusFactors)}
	if in.Occupation != nil {
		if err := checkText("input.occupation", *in.Occupation, maxOccupationRunes, false); err != nil {
			return nil, err
		}
		p.occupation = *in.Occupation
	}
	if in.Notes != nil {
		if err := checkText("input.notes", *in.Notes, maxNotesRunes, true); err != nil {
			return nil, err
		}
	}
	if err := checkBudget(in.BudgetMin, in.BudgetMax); err != nil {
		return nil, err
	}
	if err := checkArea(in.WantedAreaMin, in.WantedAreaMax); err != nil {
		return nil, err
	}
	var err error
	if p.wantedBedrooms, err = checkBedrooms(in.WantedBedrooms); err != nil {
		return nil, err
	}
	if p.tags, err = checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.ReferredBy != nil {
		ref, err := referrer(ctx, client, *in.ReferredBy)
		if err != nil {
			return nil, err
		}
		p.referredBy = &ref
	}
	return p, nil
}

// set puts the profile on a new customer.
func (p *profile) set(c *ent.CustomerCreate) {
	c.SetNillableFamilyStructure(p.familyStructure).
		SetNillableWantedAreaMin(p.areaMin).SetNillableWantedAreaMax(p.areaMax).
		SetNillableReferredByID(p.referredBy)
	if p.occupation != "" {
		c.SetOccupation(p.occupation)
	}
	if len(p.wantedBedrooms) > 0 {
		c.SetWantedBedrooms(p.wantedBedrooms)
	}
	if len(p.focusFactors) > 0 {
		c.SetFocusFactors(p.focusFactors)
	}
	if len(p.tags) > 0 {
		c.SetTags(p.tags)
	}
}

// referrer resolves who referred a customer (rule.Referrer): any customer
// of the developer, or a homeowner by their login.
func referrer(ctx context.Context, client *ent.Client, id pulid.ID) (pulid.ID, error) {
	ref, err := rule.Referrer(ctx, client, id)
	if errors.Is(err, rule.ErrNoReferrer) {
		return "", apperr.Input("input.referredBy", "not the ID of a customer or of a homeowner")
	}
	return ref, err
}

// checkName: a name people read in lists, as the schema's validator wants it.
func checkName(field, s string) error {
	if strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }) == "" {
		return apperr.Input(field, "a name cannot be blank")
	}
	return checkText(field, s, maxNameRunes, false)
}

// checkText limits a text to n characters; only notes may hold line breaks.
func checkText(field, s string, n int, lines bool) error {
	if !utf8.ValidString(s) {
		return apperr.Input(field, "not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > n {
		return apperr.Input(field, "longer than %d characters", n)
	}
	bad := func(r rune) bool { return unicode.IsControl(r) && !(lines && (r == '\n' || r == '\r' || r == '\t')) }
	if strings.IndexFunc(s, bad) >= 0 {
		return apperr.Input(field, "holds a control character")
	}
	return nil
}

func checkBudget(lo, hi *money.Fen) error {
	switch {
	case lo != nil && *lo < 0:
		return apperr.Input("input.budgetMin", "a budget cannot be negative")
	case hi != nil && *hi < 0:
		return apperr.Input("input.budgetMax", "a budget cannot be negative")
	case lo != nil && hi != nil && *lo > *hi:
		return apperr.Input("input.budgetMax", "the budget maximum is below the minimum")
	}
	return nil
}

func checkArea(lo, hi *float64) error {
	for _, a := range []struct {
		field string
		v     *float64
	}{{"input.wantedAreaMin", lo}, {"input.wantedAreaMax", hi}} {
		if a.v != nil && (*a.v <= 0 || *a.v > maxWantedArea) {
			return apperr.Input(a.field, "an area is more than 0 and at most %d m²", maxWantedArea)
		}
	}
	if lo != nil && hi != nil && *lo > *hi {
		return apperr.Input("input.wantedAreaMax", "the area maximum is below the minimum")
	}
	return nil
}

// checkBedrooms returns the layouts wanted, by bedrooms, sorted, once each.
func checkBedrooms(rooms []int) ([]int, error) {
	for i, r := range rooms {
		if r < 0 || r > maxBedrooms {
			return nil, apperr.Input(fmt.Sprintf("input.wantedBedrooms.%d", i), "bedrooms are from 0 to %d", maxBedrooms)
		}
	}
	out := slices.Clone(rooms)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// checkTags returns the tags trimmed, once each, in the order given.
func checkTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		t = strings.TrimSpace(t)
		field := fmt.Sprintf("input.tags.%d", i)
		if t == "" {
			return nil, apperr.Input(field, "a tag cannot be blank")
		}
		if err := checkText(field, t, maxTagRunes, false); err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, apperr.Input("input.tags", "at most %d tags", maxTags)
	}
	return out, nil
}

// uniq keeps the first of each value, in order.
func uniq[T comparable](s []T) []T {
	out := make([]T, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// setOrClear applies a nullable input field to an update: a value sets
// it, null clears it, and a field not sent leaves it as it is. It returns
// what was sent and whether anything was.
func setOrClear[T, R any](o graphql.Omittable[*T], set func(*T) R, clear func() R) (*T, bool) {
	v, sent := o.ValueOK()
	switch {
	case !sent:
	case v == nil:
		clear()
	default:
		set(v)
	}
	return v, sent
}
