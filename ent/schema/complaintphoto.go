package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"estatecrm/ent/schema/gqlselect"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// ComplaintPhoto is a photo attached to a complaint, kept in file storage
// under a random key.
type ComplaintPhoto struct{ ent.Schema }

// Mixin of the ComplaintPhoto.
func (ComplaintPhoto) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("PH")}
}

// Fields of the ComplaintPhoto.
func (ComplaintPhoto) Fields() []ent.Field {
	return []ent.Field{
		field.String("complaint_id").GoType(pulid.ID("")).Immutable(),
		field.String("storage_key").NotEmpty().Immutable().Unique().
			Annotations(entgql.Skip()),
		field.String("content_type").NotEmpty().Immutable(),
		field.Int64("size_bytes").NonNegative().Immutable(),
		field.String("sha256").NotEmpty().MaxLen(64).Immutable(),
		field.Bool("location_removed").Default(false).Immutable().
			Comment("the JPEG's EXIF GPS data was blanked before it was stored"),
		field.Bool("location_flagged").Default(false).Immutable().
			Comment("the image carries EXIF or XMP we did not rewrite (any non-JPEG's, a JPEG's we could not blank): it may hold where it was taken"),
		field.Int("width").Optional().Nillable().Immutable(),
		field.Int("height").Optional().Nillable().Immutable(),
		field.Time("created_at").Default(now).Immutable(),
	}
}

// Edges of the ComplaintPhoto.
func (ComplaintPhoto) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("complaint", Complaint.Type).Ref("photos").
			Field("complaint_id").Unique().Required().Immutable().
			Annotations(noWhere),
	}
}

// Policy of the ComplaintPhoto: see package rule.
func (ComplaintPhoto) Policy() ent.Policy {
	return rule.Policy(rule.FilterComplaintPhotos(), rule.AllowComplaintPhotoWrites())
}

// Interceptors of the ComplaintPhoto.
func (ComplaintPhoto) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{photosInUploadOrder()}
}

// Annotations of the ComplaintPhoto.
func (ComplaintPhoto) Annotations() []schema.Annotation {
	return []schema.Annotation{
		// The photo's URL is made from its ID alone.
		gqlselect.Fields{"url": nil},
	}
}
