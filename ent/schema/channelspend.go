package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/money"
	"estatecrm/rule"
)

// ChannelSpend is what a project spent on one source channel (online ads, a
// portal, an event…) over whole days, entered by a manager
// (setChannelSpend), so that channelMix can show a cost per contract. The
// days are kept as day numbers (days since 1970-01-01 in the company's zone)
// beside the dates: the overlap with a dashboard's period is then integer
// arithmetic, the same on SQLite and PostgreSQL.
type ChannelSpend struct{ ent.Schema }

// Mixin of the ChannelSpend.
func (ChannelSpend) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("SP"), TimeMixin{}}
}

// Fields of the ChannelSpend.
func (ChannelSpend) Fields() []ent.Field {
	return []ent.Field{
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		field.Enum("channel").
			Values("WALK_IN", "REFERRAL", "ONLINE_AD", "SOCIAL", "PORTAL", "EVENT", "HOTLINE", "OTHER").
			Immutable().
			Comment("a customer source channel"),
		field.Int("from_day").Immutable().Comment("first day, as days since 1970-01-01 in the company's zone"),
		field.Int("to_day").Immutable().Comment("last day, included"),
		field.Int64("amount").GoType(money.Fen(0)).Min(0),
		field.String("entered_by_id").GoType(pulid.ID("")).Optional().Nillable().
			Comment("who entered or last changed it"),
	}
}

// Indexes of the ChannelSpend: one amount per project, channel and days
// (entering it again replaces it).
func (ChannelSpend) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("project_id", "channel", "from_day", "to_day").Unique(),
	}
}

// Annotations of the ChannelSpend: read through graph/report.graphql.
func (ChannelSpend) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the ChannelSpend: see package rule.
func (ChannelSpend) Policy() ent.Policy {
	return rule.Policy(rule.FilterChannelSpends(), rule.AllowManagerChannelSpendWrites())
}
