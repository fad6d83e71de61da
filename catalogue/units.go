package catalogue

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"estatecrm/apperr"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/money"
	"estatecrm/rule"
)

// NewUnit is one unit to enter in a building: where it is, what it is and
// its first list price. It is entered AVAILABLE and not published.
type NewUnit struct {
	BuildingID  pulid.ID
	Floor       int
	Number      string
	Bedrooms    int
	LivingRooms int
	Bathrooms   int
	GrossArea   float64
	NetArea     float64
	Orientation unit.Orientation
	Decoration  unit.Decoration
	ListPrice   money.Fen
}

// UnitGrid is the input of CreateUnits: a building's units the way a
// sales-control sheet (销控表) is first entered, every floor of a range
// repeating the same stacks (the flats at one position of every floor).
type UnitGrid struct {
	BuildingID pulid.ID
	FromFloor  int
	ToFloor    int
	// SkipFloors are floors of the range without units (a refuge floor 避难层,
	// a missing 4th or 13th).
	SkipFloors []int
	Stacks     []*UnitStack
}

// UnitStack is one flat type at one position of every floor: the unit on
// floor f is numbered f followed by Suffix (floor 18, suffix "01": 1801)
// and listed at BasePrice + (f − FromFloor) × FloorIncrement.
type UnitStack struct {
	Suffix         string
	Bedrooms       int
	LivingRooms    int
	Bathrooms      int
	GrossArea      float64
	NetArea        float64
	Orientation    unit.Orientation
	Decoration     *unit.Decoration
	BasePrice      money.Fen
	FloorIncrement *money.Fen
}

// UnitChange is the input of UpdateUnit: the description of a unit. Its
// price, status and publication are the sales office's, changed elsewhere.
type UnitChange struct {
	ID          pulid.ID
	Floor       *int
	Number      *string
	Bedrooms    *int
	LivingRooms *int
	Bathrooms   *int
	GrossArea   *float64
	NetArea     *float64
	Orientation *unit.Orientation
	Decoration  *unit.Decoration
}

// Limits of one call.
const (
	maxStacks   = 50
	maxNewUnits = 10_000
	// batchSize keeps one INSERT well under SQLite's and PostgreSQL's
	// limits on bound parameters (15 a unit).
	batchSize = 500
)

// numberPattern is a door number: letters, digits and dashes (A-1801).
var (
	numberPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z-]{0,19}$`)
	suffixPattern = regexp.MustCompile(`^[0-9A-Za-z]{1,4}$`)
)

// CreateUnits enters a building's units floor by floor and stack by stack
// (an admin's or the project's manager's act). Every number must be new in
// the building: a clash is a BAD_USER_INPUT naming the stack, and nothing
// is created. The units come back by floor, then stack.
func CreateUnits(ctx context.Context, client *ent.Client, in UnitGrid) ([]*ent.Unit, error) {
	b, err := client.Building.Get(ctx, in.BuildingID)
	if err != nil {
		return nil, err
	}
	switch {
	case in.FromFloor < 1:
		return nil, apperr.Input("input.fromFloor", "floors start at 1")
	case in.ToFloor < in.FromFloor:
		return nil, apperr.Input("input.toFloor", "the range ends below where it starts")
	case in.ToFloor > b.Floors:
		return nil, apperr.Input("input.toFloor", "building %s has %d floors", b.Name, b.Floors)
	case len(in.Stacks) == 0:
		return nil, apperr.Input("input.stacks", "give at least one stack")
	case len(in.Stacks) > maxStacks:
		return nil, apperr.Input("input.stacks", "at most %d stacks", maxStacks)
	}
	for i, f := range in.SkipFloors {
		if f < in.FromFloor || f > in.ToFloor {
			return nil, apperr.Input(fmt.Sprintf("input.skipFloors.%d", i), "floor %d is not in the range", f)
		}
	}
	suffixes := map[string]int{}
	for i, s := range in.Stacks {
		field := fmt.Sprintf("input.stacks.%d", i)
		if s == nil {
			return nil, apperr.Input(field, "a stack cannot be null")
		}
		if !suffixPattern.MatchString(s.Suffix) {
			return nil, apperr.Input(field+".suffix", "a suffix is 1 to 4 letters or digits, like 01")
		}
		if j, dup := suffixes[s.Suffix]; dup {
			return nil, apperr.Input(field+".suffix", "stack %d has the suffix %s too", j, s.Suffix)
		}
		suffixes[s.Suffix] = i
		if s.BasePrice <= 0 {
			return nil, apperr.Input(field+".basePrice", "a list price is above zero")
		}
	}
	var units []NewUnit
	var stackOf []int // the stack of each unit, to name the field of a clash
	for f := in.FromFloor; f <= in.ToFloor; f++ {
		if slices.Contains(in.SkipFloors, f) {
			continue
		}
		for i, s := range in.Stacks {
			d := unit.DecorationBARE
			if s.Decoration != nil {
				d = *s.Decoration
			}
			price := s.BasePrice
			if s.FloorIncrement != nil {
				price += money.Fen(f-in.FromFloor) * *s.FloorIncrement
			}
			u := NewUnit{BuildingID: b.ID, Floor: f, Number: fmt.Sprintf("%d%s", f, s.Suffix),
				Bedrooms: s.Bedrooms, LivingRooms: s.LivingRooms, Bathrooms: s.Bathrooms,
				GrossArea: s.GrossArea, NetArea: s.NetArea, Orientation: s.Orientation, Decoration: d, ListPrice: price}
			if col, msg := checkUnit(&u); col != "" {
				if col == "listPrice" {
					return nil, apperr.Input(fmt.Sprintf("input.stacks.%d.floorIncrement", i), "on floor %d: %s", f, msg)
				}
				if col == "number" {
					col = "suffix"
				}
				return nil, apperr.Input(fmt.Sprintf("input.stacks.%d.%s", i, col), "%s", msg)
			}
			units = append(units, u)
			stackOf = append(stackOf, i)
		}
	}
	if len(units) > maxNewUnits {
		return nil, apperr.Input("input.stacks", "at most %d units in one call", maxNewUnits)
	}
	taken, err := takenNumbers(ctx, client, []pulid.ID{b.ID})
	if err != nil {
		return nil, err
	}
	for i, u := range units {
		if taken[numberKey{b.ID, u.Number}] {
			return nil, apperr.Input(fmt.Sprintf("input.stacks.%d.suffix", stackOf[i]),
				"unit %s already exists in building %s; nothing was created", u.Number, b.Name)
		}
	}
	return AddUnits(rule.WithBuildingsRead(ctx, b), client, b.ProjectID, units)
}

// AddUnits writes units of a project, already checked by the caller (their
// numbers new in their buildings), in a few statements, created at the
// clock of ctx. CreateUnits, ImportUnits and the demo seed enter units
// through it. The units come back in the order given. A caller that has
// read the buildings passes them in ctx (rule.WithBuildingsRead), or each
// unit's building is read again to check the unit lies inside it.
func AddUnits(ctx context.Context, client *ent.Client, projectID pulid.ID, units []NewUnit) ([]*ent.Unit, error) {
	now := clock.Now(ctx)
	out := make([]*ent.Unit, 0, len(units))
	for start := 0; start < len(units); start += batchSize {
		batch := units[start:min(start+batchSize, len(units))]
		bs := make([]*ent.UnitCreate, len(batch))
		for i, u := range batch {
			bs[i] = client.Unit.Create().
				SetProjectID(projectID).SetBuildingID(u.BuildingID).
				SetFloor(u.Floor).SetNumber(u.Number).
				SetBedrooms(u.Bedrooms).SetLivingRooms(u.LivingRooms).SetBathrooms(u.Bathrooms).
				SetGrossArea(u.GrossArea).SetNetArea(u.NetArea).
				SetOrientation(u.Orientation).SetDecoration(u.Decoration).
				SetListPrice(u.ListPrice).
				SetCreatedAt(now).SetUpdatedAt(now)
		}
		rows, err := client.Unit.CreateBulk(bs...).Save(ctx)
		if err != nil {
			if ent.IsConstraintError(err) { // a number taken meanwhile
				return nil, apperr.Input("input", "a unit number is already taken in its building; nothing was created")
			}
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// UpdateUnit changes a unit's description (an admin's, or its project's
// manager's). A unit with a live deal (reserved, contracted, delivered)
// keeps the description it was sold with: CONFLICT.
func UpdateUnit(ctx context.Context, client *ent.Client, in UnitChange) (*ent.Unit, error) {
	old, err := client.Unit.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	u := NewUnit{BuildingID: old.BuildingID, Floor: old.Floor, Number: old.Number,
		Bedrooms: old.Bedrooms, LivingRooms: old.LivingRooms, Bathrooms: old.Bathrooms,
		GrossArea: old.GrossArea, NetArea: old.NetArea, Orientation: old.Orientation,
		Decoration: old.Decoration, ListPrice: old.ListPrice}
	set(&u.Floor, in.Floor)
	set(&u.Number, in.Number)
	set(&u.Bedrooms, in.Bedrooms)
	set(&u.LivingRooms, in.LivingRooms)
	set(&u.Bathrooms, in.Bathrooms)
	set(&u.GrossArea, in.GrossArea)
	set(&u.NetArea, in.NetArea)
	set(&u.Orientation, in.Orientation)
	set(&u.Decoration, in.Decoration)
	if col, msg := checkUnit(&u); col != "" {
		return nil, apperr.Input("input."+col, "%s", msg)
	}
	if in.Floor != nil {
		b, err := client.Building.Get(ctx, old.BuildingID)
		if err != nil {
			return nil, err
		}
		if u.Floor > b.Floors {
			return nil, apperr.Input("input.floor", "building %s has %d floors", b.Name, b.Floors)
		}
	}
	if u.Number != old.Number {
		taken, err := client.Unit.Query().
			Where(unit.BuildingID(old.BuildingID), unit.Number(u.Number), unit.IDNEQ(old.ID)).Exist(ctx)
		if err != nil {
			return nil, err
		}
		if taken {
			return nil, apperr.Input("input.number", "unit %s already exists in this building", u.Number)
		}
	}
	sold := []unit.Status{unit.StatusRESERVED, unit.StatusCONTRACTED, unit.StatusDELIVERED}
	if slices.Contains(sold, old.Status) {
		return nil, apperr.New(apperr.Conflict, "a unit with a deal keeps the description it was sold with")
	}
	saved, err := client.Unit.UpdateOneID(old.ID).Where(unit.StatusNotIn(sold...)).
		SetFloor(u.Floor).SetNumber(u.Number).
		SetBedrooms(u.Bedrooms).SetLivingRooms(u.LivingRooms).SetBathrooms(u.Bathrooms).
		SetGrossArea(u.GrossArea).SetNetArea(u.NetArea).
		SetOrientation(u.Orientation).SetDecoration(u.Decoration).
		Save(ctx)
	switch {
	case ent.IsNotFound(err): // reserved meanwhile
		return nil, apperr.New(apperr.Conflict, "a unit with a deal keeps the description it was sold with")
	case ent.IsConstraintError(err):
		return nil, apperr.Input("input.number", "unit %s already exists in this building", u.Number)
	}
	return saved, err
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// checkUnit checks a unit's description and price; it returns the field at
// fault (floor, number, bedrooms, livingRooms, bathrooms, grossArea,
// netArea, orientation, decoration, listPrice) and why, or "".
func checkUnit(u *NewUnit) (field, msg string) {
	switch {
	case u.Floor < 1 || u.Floor > 200:
		return "floor", "a floor is between 1 and 200"
	case !numberPattern.MatchString(u.Number):
		return "number", fmt.Sprintf("%q is no door number: up to 20 letters, digits or dashes", u.Number)
	case u.Bedrooms < 0 || u.Bedrooms > 10:
		return "bedrooms", "between 0 and 10 bedrooms"
	case u.LivingRooms < 0 || u.LivingRooms > 5:
		return "livingRooms", "between 0 and 5 living rooms"
	case u.Bathrooms < 0 || u.Bathrooms > 6:
		return "bathrooms", "between 0 and 6 bathrooms"
	case !(u.GrossArea > 0 && u.GrossArea <= 10000):
		return "grossArea", "a gross area is above 0 and at most 10000 m²"
	case !(u.NetArea > 0 && u.NetArea <= 10000):
		return "netArea", "a net area is above 0 and at most 10000 m²"
	case u.NetArea > u.GrossArea:
		return "netArea", "the net area (套内) cannot exceed the gross area (建筑)"
	case unit.OrientationValidator(u.Orientation) != nil:
		return "orientation", fmt.Sprintf("%q is no orientation", u.Orientation)
	case unit.DecorationValidator(u.Decoration) != nil:
		return "decoration", fmt.Sprintf("%q is no decoration", u.Decoration)
	case u.ListPrice <= 0:
		return "listPrice", "a list price is above zero"
	}
	return "", ""
}

type numberKey struct {
	building pulid.ID
	number   string
}

// takenNumbers is the numbers the buildings' units already have.
func takenNumbers(ctx context.Context, client *ent.Client, buildings []pulid.ID) (map[numberKey]bool, error) {
	var rows []struct {
		BuildingID pulid.ID `json:"building_id"`
		Number     string   `json:"number"`
	}
	err := client.Unit.Query().Where(unit.BuildingIDIn(buildings...)).
		Select(unit.FieldBuildingID, unit.FieldNumber).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	taken := make(map[numberKey]bool, len(rows))
	for _, r := range rows {
		taken[numberKey{r.BuildingID, r.Number}] = true
	}
	return taken, nil
}

// buildingsOf is the buildings of a project by name.
func buildingsOf(ctx context.Context, client *ent.Client, projectID pulid.ID) (map[string]*ent.Building, error) {
	bs, err := client.Building.Query().Where(building.ProjectID(projectID)).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*ent.Building, len(bs))
	for _, b := range bs {
		out[b.Name] = b
	}
	return out, nil
}
