package pulid

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

// MixinWithPrefix returns a mixin whose id field is a new ID with the prefix.
func MixinWithPrefix(prefix string) *Mixin {
	if len(prefix) != PrefixLen {
		panic("pulid: a prefix has exactly two characters: " + prefix)
	}
	return &Mixin{prefix: prefix}
}

// Mixin gives a schema a prefixed ULID id.
type Mixin struct {
	mixin.Schema
	prefix string
}

// Fields provides the id field.
func (m Mixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			GoType(ID("")).
			MaxLen(idLen).
			DefaultFunc(func() ID { return MustNew(m.prefix) }).
			Immutable(),
	}
}

// Annotation carries the prefix of a type into code generation.
type Annotation struct {
	Prefix string
}

// Name implements schema.Annotation.
func (Annotation) Name() string { return "PULID" }

// Annotations returns the prefix annotation.
func (m Mixin) Annotations() []schema.Annotation {
	return []schema.Annotation{Annotation{Prefix: m.prefix}}
}
