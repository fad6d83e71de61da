package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// ListingChange is one line of the portals' change log (listingChanges): a
// listing that changed (UPSERT) or left the portals' view (REMOVE). Written
// in the transaction of the change by the hooks of package listing, never
// updated but for its sequence, which the sequencer gives it once its
// transaction has committed (listing.Sequence), so that a poller reading in
// sequence order never skips a line that commits late.
type ListingChange struct{ ent.Schema }

// Fields of the ListingChange.
func (ListingChange) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id").Immutable().
			Comment("insertion order: within one listing, the order of its changes"),
		field.Int64("seq").Optional().Nillable().
			Comment("the public sequence, in commit-visibility order; NULL until sequenced"),
		field.String("listing_id").GoType(pulid.ID("")).Immutable().
			Comment("the listing's id: its unit's"),
		field.String("project_id").GoType(pulid.ID("")).Immutable().
			Comment("the listing's project: a portal limited to some projects reads only theirs"),
		field.Enum("kind").Values("UPSERT", "REMOVE").Immutable(),
		field.Time("at").Immutable().
			Comment("when the change was made (the request's clock)"),
	}
}

// Indexes of the ListingChange: the pollers' reads by sequence (all, or of
// a portal's projects) and the sequencer's of the lines not yet sequenced.
func (ListingChange) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("seq").Unique(),
		index.Fields("project_id", "seq"),
		// The sequencer's lines still to number: few, among many numbered.
		index.Fields("id").Annotations(entsql.IndexWhere("seq IS NULL")).StorageKey("listingchange_unnumbered"),
	}
}

// Annotations of the ListingChange: the GraphQL type is graph/listings.graphql's.
func (ListingChange) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of the ListingChange: see package rule. Lines are written by the
// listing hooks under a decision of their own, never by a client.
func (ListingChange) Policy() ent.Policy {
	return rule.Policy(rule.FilterListingChanges())
}
