package catalogue

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"estatecrm/apperr"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/ent/unit"
)

// NewProject is the input of CreateProject. Nil fields take the schema's
// defaults (status PLANNING, 30 protection days, 30 hold minutes, a 3%
// agent discount cap).
type NewProject struct {
	Name               string
	City               string
	District           *string
	Address            *string
	Latitude           *float64
	Longitude          *float64
	Status             *project.Status
	PresalePermit      *string
	LaunchDate         *time.Time
	DeliveryDate       *time.Time
	Amenities          []*schematype.Amenity
	ProtectionDays     *int
	HoldMinutes        *int
	AgentDiscountCapBp *int
}

// ProjectChange is the input of UpdateProject: nil fields stay as they are;
// a non-nil Amenities replaces the list (empty clears it).
type ProjectChange struct {
	ID                 pulid.ID
	Name               *string
	City               *string
	District           *string
	Address            *string
	Latitude           *float64
	Longitude          *float64
	Status             *project.Status
	PresalePermit      *string
	LaunchDate         *time.Time
	DeliveryDate       *time.Time
	Amenities          []*schematype.Amenity
	ProtectionDays     *int
	HoldMinutes        *int
	AgentDiscountCapBp *int
}

// CreateProject creates a project (an admin's act; the rules refuse anyone
// else). It is not published: portals see it once it is. Like every
// creation here it is dated by the clock of ctx.
func CreateProject(ctx context.Context, client *ent.Client, in NewProject) (*ent.Project, error) {
	in.Name, in.City = strings.TrimSpace(in.Name), strings.TrimSpace(in.City)
	if err := checkProject(projectFields{
		name: &in.Name, city: &in.City, district: in.District, address: in.Address,
		lat: in.Latitude, lng: in.Longitude, permit: in.PresalePermit,
		launch: in.LaunchDate, delivery: in.DeliveryDate, amenities: in.Amenities,
		protection: in.ProtectionDays, hold: in.HoldMinutes, capBp: in.AgentDiscountCapBp,
	}); err != nil {
		return nil, err
	}
	now := clock.Now(ctx)
	c := client.Project.Create().SetCreatedAt(now).SetUpdatedAt(now).
		SetName(in.Name).SetCity(in.City).
		SetNillableDistrict(trimmed(in.District)).SetNillableAddress(trimmed(in.Address)).
		SetNillableLatitude(in.Latitude).SetNillableLongitude(in.Longitude).
		SetNillableStatus(in.Status).SetNillablePresalePermit(trimmed(in.PresalePermit)).
		SetNillableLaunchDate(utc(in.LaunchDate)).SetNillableDeliveryDate(utc(in.DeliveryDate)).
		SetNillableProtectionDays(in.ProtectionDays).SetNillableHoldMinutes(in.HoldMinutes).
		SetNillableAgentDiscountCapBp(in.AgentDiscountCapBp)
	if in.Amenities != nil {
		c.SetAmenities(amenities(in.Amenities))
	}
	return c.Save(ctx)
}

// UpdateProject changes a project: an admin any, a manager their own.
func UpdateProject(ctx context.Context, client *ent.Client, in ProjectChange) (*ent.Project, error) {
	p, err := client.Project.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		in.Name = trimmed(in.Name)
	}
	if in.City != nil {
		in.City = trimmed(in.City)
	}
	// Dates are checked against each other as they will be after the change.
	launch, delivery := in.LaunchDate, in.DeliveryDate
	if launch == nil {
		launch = p.LaunchDate
	}
	if delivery == nil {
		delivery = p.DeliveryDate
		if launch != nil && delivery != nil && delivery.Before(*launch) {
			return nil, apperr.Input("input.launchDate", "the launch cannot come after the delivery (%s)", delivery.UTC().Format(time.DateOnly))
		}
	}
	if err := checkProject(projectFields{
		name: in.Name, city: in.City, district: in.District, address: in.Address,
		lat: in.Latitude, lng: in.Longitude, permit: in.PresalePermit,
		launch: launch, delivery: delivery, amenities: in.Amenities,
		protection: in.ProtectionDays, hold: in.HoldMinutes, capBp: in.AgentDiscountCapBp,
	}); err != nil {
		return nil, err
	}
	u := client.Project.UpdateOneID(p.ID).
		SetNillableName(in.Name).SetNillableCity(in.City).
		SetNillableDistrict(trimmed(in.District)).SetNillableAddress(trimmed(in.Address)).
		SetNillableLatitude(in.Latitude).SetNillableLongitude(in.Longitude).
		SetNillableStatus(in.Status).SetNillablePresalePermit(trimmed(in.PresalePermit)).
		SetNillableLaunchDate(utc(in.LaunchDate)).SetNillableDeliveryDate(utc(in.DeliveryDate)).
		SetNillableProtectionDays(in.ProtectionDays).SetNillableHoldMinutes(in.HoldMinutes).
		SetNillableAgentDiscountCapBp(in.AgentDiscountCapBp)
	if in.Amenities != nil {
		u.SetAmenities(amenities(in.Amenities))
	}
	return u.Save(ctx)
}

// projectFields are the fields of a project to check, nil where not given.
type projectFields struct {
	name, city, district, address, permit *string
	lat, lng                              *float64
	launch, delivery                      *time.Time
	amenities                             []*schematype.Amenity
	protection, hold, capBp               *int
}

func checkProject(f projectFields) error {
	if err := checkName("input.name", f.name, 100); err != nil {
		return err
	}
	if err := checkName("input.city", f.city, 50); err != nil {
		return err
	}
	for _, t := range []struct {
		field string
		v     *string
		max   int
	}{{"input.district", f.district, 50}, {"input.address", f.address, 200}, {"input.presalePermit", f.permit, 100}} {
		if err := checkText(t.field, t.v, t.max); err != nil {
			return err
		}
	}
	if f.lat != nil && (*f.lat < -90 || *f.lat > 90) {
		return apperr.Input("input.latitude", "a latitude lies between -90 and 90")
	}
	if f.lng != nil && (*f.lng < -180 || *f.lng > 180) {
		return apperr.Input("input.longitude", "a longitude lies between -180 and 180")
	}
	if f.launch != nil && f.delivery != nil && f.delivery.Before(*f.launch) {
		return apperr.Input("input.deliveryDate", "delivery cannot come before the launch")
	}
	if len(f.amenities) > 50 {
		return apperr.Input("input.amenities", "at most 50 amenities")
	}
	for i, a := range f.amenities {
		field := fmt.Sprintf("input.amenities.%d", i)
		if a == nil {
			return apperr.Input(field, "an amenity cannot be null")
		}
		name := strings.TrimSpace(a.Name)
		if err := checkName(field+".name", &name, 50); err != nil {
			return err
		}
		if a.DistanceMeters < 0 || a.DistanceMeters > 100_000 {
			return apperr.Input(field+".distanceMeters", "a distance is between 0 and 100000 metres")
		}
	}
	for _, r := range []struct {
		field    string
		v        *int
		min, max int
	}{
		{"input.protectionDays", f.protection, 1, 365},
		{"input.holdMinutes", f.hold, 1, 24 * 60},
		{"input.agentDiscountCapBp", f.capBp, 0, 10000},
	} {
		if r.v != nil && (*r.v < r.min || *r.v > r.max) {
			return apperr.Input(r.field, "must be between %d and %d", r.min, r.max)
		}
	}
	return nil
}

// NewBuilding is the input of CreateBuilding.
type NewBuilding struct {
	ProjectID pulid.ID
	Name      string
	// Floors above ground; units lie on floors 1..Floors.
	Floors int
	// UnitsPerFloor is how many flats a floor has (4 if nil).
	UnitsPerFloor *int
}

// BuildingChange is the input of UpdateBuilding: nil fields stay as they are.
type BuildingChange struct {
	ID            pulid.ID
	Name          *string
	Floors        *int
	UnitsPerFloor *int
}

// CreateBuilding adds a building to a project: an admin to any, a manager
// to their own. Its name is unique in the project.
func CreateBuilding(ctx context.Context, client *ent.Client, in NewBuilding) (*ent.Building, error) {
	p, err := client.Project.Get(ctx, in.ProjectID)
	if err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := checkBuilding(&in.Name, &in.Floors, in.UnitsPerFloor); err != nil {
		return nil, err
	}
	if err := nameFree(ctx, client, p.ID, "", in.Name); err != nil {
		return nil, err
	}
	now := clock.Now(ctx)
	return client.Building.Create().SetProjectID(p.ID).SetName(in.Name).SetFloors(in.Floors).
		SetNillableUnitsPerFloor(in.UnitsPerFloor).SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
}

// UpdateBuilding renames a building or changes its floors; it cannot lose
// a floor that has units.
func UpdateBuilding(ctx context.Context, client *ent.Client, in BuildingChange) (*ent.Building, error) {
	b, err := client.Building.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	name := trimmed(in.Name)
	if err := checkBuilding(name, in.Floors, in.UnitsPerFloor); err != nil {
		return nil, err
	}
	if name != nil && *name != b.Name {
		if err := nameFree(ctx, client, b.ProjectID, b.ID, *name); err != nil {
			return nil, err
		}
	}
	if in.Floors != nil && *in.Floors < b.Floors {
		top, err := client.Unit.Query().Where(unit.BuildingID(b.ID), unit.FloorGT(*in.Floors)).
			Order(ent.Desc(unit.FieldFloor)).First(ctx)
		switch {
		case err == nil:
			return nil, apperr.Input("input.floors", "building %s has units on floor %d", b.Name, top.Floor)
		case !ent.IsNotFound(err):
			return nil, err
		}
	}
	return client.Building.UpdateOneID(b.ID).SetNillableName(name).SetNillableFloors(in.Floors).
		SetNillableUnitsPerFloor(in.UnitsPerFloor).Save(ctx)
}

func checkBuilding(name *string, floors, perFloor *int) error {
	if err := checkName("input.name", name, 50); err != nil {
		return err
	}
	if floors != nil && (*floors < 1 || *floors > 200) {
		return apperr.Input("input.floors", "a building has 1 to 200 floors")
	}
	if perFloor != nil && (*perFloor < 1 || *perFloor > 50) {
		return apperr.Input("input.unitsPerFloor", "a floor has 1 to 50 units")
	}
	return nil
}

// nameFree refuses a building name another building of the project has.
func nameFree(ctx context.Context, client *ent.Client, projectID, self pulid.ID, name string) error {
	q := client.Building.Query().Where(building.ProjectID(projectID), building.Name(name))
	if self != "" {
		q.Where(building.IDNEQ(self))
	}
	taken, err := q.Exist(ctx)
	if err != nil {
		return err
	}
	if taken {
		return apperr.Input("input.name", "the project already has a building named %s", name)
	}
	return nil
}

// checkName requires a non-blank name of at most max characters, without
// control characters (PostgreSQL refuses a NUL).
func checkName(field string, s *string, max int) error {
	if s == nil {
		return nil
	}
	if strings.TrimFunc(*s, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }) == "" {
		return apperr.Input(field, "cannot be blank")
	}
	return checkText(field, s, max)
}

// checkText allows at most max characters of valid UTF-8 and no control
// characters.
func checkText(field string, s *string, max int) error {
	if s == nil {
		return nil
	}
	if !utf8.ValidString(*s) || strings.IndexFunc(*s, unicode.IsControl) >= 0 {
		return apperr.Input(field, "holds a control character or is not UTF-8")
	}
	if utf8.RuneCountInString(*s) > max {
		return apperr.Input(field, "at most %d characters", max)
	}
	return nil
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func amenities(as []*schematype.Amenity) []schematype.Amenity {
	out := make([]schematype.Amenity, len(as))
	for i, a := range as {
		out[i] = schematype.Amenity{Kind: a.Kind, Name: strings.TrimSpace(a.Name), DistanceMeters: a.DistanceMeters}
	}
	return out
}
