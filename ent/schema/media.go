package schema

import (
	"context"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/apperr"
	gen "estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/hook"
	"estatecrm/ent/schema/gqlselect"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// Media is a photo or a floor plan (户型图) of a project, of one of its
// buildings, or of one of its layouts (the bedrooms-livingRooms-bathrooms
// code its units carry, "3-2-2"), kept in file storage under a random key.
// The file never changes: a new picture is a new item, so its URL can be
// cached for good (it carries the content's hash).
type Media struct{ ent.Schema }

// Mixin of the Media.
func (Media) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("MD"), TimeMixin{}}
}

// Fields of the Media.
func (Media) Fields() []ent.Field {
	return []ent.Field{
		field.String("project_id").GoType(pulid.ID("")).Immutable().
			Comment("the project the item belongs to, also for a building's or a layout's: the rules and the publication are the project's"),
		field.String("building_id").GoType(pulid.ID("")).Optional().Nillable().Immutable(),
		field.String("layout").Optional().Nillable().Immutable().MaxLen(20).
			Comment(`the layout code of the units it shows, bedrooms-livingRooms-bathrooms ("3-2-2"); none for a project's or a building's item`),
		field.Enum("kind").Values("PHOTO", "FLOOR_PLAN").Immutable(),
		field.String("caption").Default("").Validate(maxRunes(200)).SchemaType(varchar(200)),
		field.Int("position").NonNegative().Default(0).
			Comment("order among the items of the same place and kind, from 0"),
		field.String("storage_key").NotEmpty().Immutable().Unique().
			Annotations(entgql.Skip()),
		field.String("content_type").NotEmpty().Immutable(),
		field.Int64("size_bytes").NonNegative().Immutable(),
		field.String("sha256").NotEmpty().MaxLen(64).Immutable(),
		field.Int("width").Immutable(),
		field.Int("height").Immutable(),
	}
}

// Edges of the Media: to its project and building, which anyone who sees
// the item may see (a published project's).
func (Media) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("project", Project.Type).Field("project_id").Unique().Required().Immutable().
			Annotations(noWhere),
		// A building that has media is not deleted from under them.
		edge.To("building", Building.Type).Field("building_id").Unique().Immutable().
			Annotations(noWhere, entsql.OnDelete(entsql.NoAction)),
	}
}

// Indexes of the Media: the items of a project, of a building, of a
// project's layout, each in order.
func (Media) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("project_id", "layout", "position"),
		index.Fields("building_id", "position"),
	}
}

// Annotations of the Media: reached through Project.media, Building.media,
// Project.layoutMedia and node(id:); no where input, no generated mutations.
func (Media) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipWhereInput, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
		// The URL is made from the ID and the content's hash.
		gqlselect.Fields{"url": {"sha256"}},
	}
}

// Hooks of the Media.
func (Media) Hooks() []ent.Hook {
	return []ent.Hook{checkMediaPlace}
}

// checkMediaPlace keeps an item in one place: a building of its own
// project, or a layout, or the project itself, never two of them.
var checkMediaPlace = hook.On(func(next ent.Mutator) ent.Mutator {
	return hook.MediaFunc(func(ctx context.Context, m *gen.MediaMutation) (gen.Value, error) {
		bid, hasBuilding := m.BuildingID()
		_, hasLayout := m.Layout()
		if hasBuilding && hasLayout {
			return nil, apperr.Input("layout", "an item is of a building or of a layout, not both")
		}
		if hasBuilding {
			pid, _ := m.ProjectID()
			// Read through the writer's own rules: a building they cannot see
			// is no place for their item.
			ok, err := m.Client().Building.Query().Where(building.ID(bid), building.ProjectID(pid)).Exist(ctx)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, apperr.Input("buildingId", "no such building in the project")
			}
		}
		return next.Mutate(ctx, m)
	})
}, ent.OpCreate)

// Policy of the Media: see rule.MediaPolicy.
func (Media) Policy() ent.Policy {
	return rule.MediaPolicy()
}
