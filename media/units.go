package media

import (
	"context"
	"slices"

	"estatecrm/ent"
	"estatecrm/ent/media"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
)

// OfUnits returns the published media of each unit of a page of units (a
// listing's media): its project's own, then its building's, then its
// layout's, each in the order of their positions, photos before floor
// plans. Only items of published projects are returned, whoever asks; the
// viewer's rules apply besides. One statement for the whole page.
//
// The units must have been read with their project, building, bedrooms,
// living rooms and bathrooms.
func OfUnits(ctx context.Context, client *ent.Client, units []*ent.Unit) (map[pulid.ID][]*ent.Media, error) {
	out := make(map[pulid.ID][]*ent.Media, len(units))
	if len(units) == 0 {
		return out, nil
	}
	var projects, buildings []pulid.ID
	var layouts []string
	for _, u := range units {
		projects = append(projects, u.ProjectID)
		buildings = append(buildings, u.BuildingID)
		layouts = append(layouts, UnitLayout(u))
	}
	projects, buildings, layouts = uniq(projects), uniq(buildings), uniq(layouts)
	items, err := client.Media.Query().Where(
		media.ProjectIDIn(projects...),
		media.HasProjectWith(project.Published(true)),
		media.Or(
			media.BuildingIDIn(buildings...),
			media.And(media.BuildingIDIsNil(), media.Or(media.LayoutIsNil(), media.LayoutIn(layouts...))),
		),
	).Order(ent.Asc(media.FieldPosition), ent.Asc(media.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		layout := UnitLayout(u)
		var own []*ent.Media
		for _, rank := range []func(*ent.Media) bool{
			func(m *ent.Media) bool { return m.BuildingID == nil && m.Layout == nil },
			func(m *ent.Media) bool { return m.BuildingID != nil && *m.BuildingID == u.BuildingID },
			func(m *ent.Media) bool { return m.BuildingID == nil && m.Layout != nil && *m.Layout == layout },
		} {
			for _, kind := range []media.Kind{media.KindPHOTO, media.KindFLOOR_PLAN} {
				for _, m := range items {
					if m.ProjectID == u.ProjectID && m.Kind == kind && rank(m) {
						own = append(own, m)
					}
				}
			}
		}
		out[u.ID] = own
	}
	return out, nil
}

// uniq sorts s and drops repeats.
func uniq[T ~string](s []T) []T {
	slices.Sort(s)
	return slices.Compact(s)
}
