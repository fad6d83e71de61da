package rule

import (
	"context"
	"slices"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
)

// The catalogue (projects, buildings, units) is an admin's to set up; a
// manager keeps the catalogue of their own projects (issue 11): updates a
// project, creates and updates its buildings, creates its units and changes
// their description. Agents, homeowners and portals change none of it.

// AllowManagerProjectUpdates lets a manager update their own projects; only
// an admin creates one. Updates are filtered: another project is not found.
func AllowManagerProjectUpdates() privacy.MutationRule {
	return privacy.ProjectMutationRuleFunc(func(ctx context.Context, m *ent.ProjectMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleManager || !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) {
			return privacy.Skip
		}
		m.Where(project.IDIn(v.ProjectIDs...))
		return privacy.Allow
	})
}

// AllowManagerBuildingWrites lets a manager create buildings in their
// projects and update them there.
func AllowManagerBuildingWrites() privacy.MutationRule {
	return privacy.BuildingMutationRuleFunc(func(ctx context.Context, m *ent.BuildingMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleManager {
			return privacy.Skip
		}
		switch {
		case m.Op().Is(ent.OpCreate):
			if pid, ok := m.ProjectID(); !ok || !slices.Contains(v.ProjectIDs, pid) {
				return privacy.Denyf("not a project of yours")
			}
			return privacy.Allow
		case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
			m.Where(building.ProjectIDIn(v.ProjectIDs...))
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowManagerUnitCreates lets a manager create units in their projects
// (the unit's building must be of the same project: a schema hook checks).
func AllowManagerUnitCreates() privacy.MutationRule {
	return privacy.UnitMutationRuleFunc(func(ctx context.Context, m *ent.UnitMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleManager || !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		if pid, ok := m.ProjectID(); !ok || !slices.Contains(v.ProjectIDs, pid) {
			return privacy.Denyf("not a project of yours")
		}
		return privacy.Allow
	})
}

// unitDescription lists the fields that describe a unit: the catalogue's,
// not the sales workflows'.
var unitDescription = []string{
	unit.FieldFloor, unit.FieldNumber, unit.FieldBedrooms, unit.FieldLivingRooms, unit.FieldBathrooms,
	unit.FieldGrossArea, unit.FieldNetArea, unit.FieldOrientation, unit.FieldDecoration,
}

// DenyNonManagerUnitDescriptionWrites refuses an agent (or anyone but a
// manager, an admin or the system) a change of a unit's description: the
// rule that lets staff write units (AllowStaffUnitWrites) is for the sales
// workflows, which change status and holds.
func DenyNonManagerUnitDescriptionWrites() privacy.MutationRule {
	return privacy.UnitMutationRuleFunc(func(ctx context.Context, m *ent.UnitMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role == auth.RoleManager || v.Role == auth.RoleAdmin || v.Role == auth.RoleSystem {
			return privacy.Skip
		}
		for _, f := range unitDescription {
			if _, ok := m.Field(f); ok {
				return privacy.Denyf("only a manager or an admin changes a unit's description")
			}
		}
		if len(m.AddedFields()) > 0 {
			return privacy.Denyf("only a manager or an admin changes a unit's description")
		}
		return privacy.Skip
	})
}

type buildingsReadKey struct{}

// WithBuildingsRead returns a context that carries buildings the caller has
// just read from the database in this request (the catalogue reads the
// buildings it enters units into), so that the hook keeping a unit inside
// its building uses them instead of reading the building again for every
// unit: 600 new units are two INSERTs, not 600 SELECTs besides. A caller
// must pass rows as read, never ones it made up.
func WithBuildingsRead(ctx context.Context, bs ...*ent.Building) context.Context {
	m := make(map[pulid.ID]*ent.Building, len(bs))
	for _, b := range bs {
		m[b.ID] = b
	}
	return context.WithValue(ctx, buildingsReadKey{}, m)
}

// BuildingRead returns the building id that WithBuildingsRead put in ctx, if any.
func BuildingRead(ctx context.Context, id pulid.ID) (*ent.Building, bool) {
	m, _ := ctx.Value(buildingsReadKey{}).(map[pulid.ID]*ent.Building)
	b, ok := m[id]
	return b, ok
}
