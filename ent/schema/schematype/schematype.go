// Package schematype holds the small closed sets and structures stored inside
// JSON columns (a customer's focus factors, a visit's touchpoints, a
// project's amenities). Each set is a GraphQL enum of its own.
package schematype

import (
	"io"
	"slices"
	"strconv"

	"estatecrm/apperr"
)

// FocusFactor is what a buyer cares most about.
type FocusFactor string

// FocusFactors lists the valid focus factors.
var FocusFactors = []FocusFactor{"SCHOOL", "TRANSPORT", "ENVIRONMENT", "PRICE", "PROPERTY_MANAGEMENT", "LAYOUT", "DEVELOPER_BRAND", "COMMERCE", "HOSPITAL"}

// Touchpoint is a place in the sales office a visitor was shown.
type Touchpoint string

// Touchpoints lists the valid touchpoints.
var Touchpoints = []Touchpoint{"RECEPTION", "SAND_TABLE", "SHOW_FLAT", "CONSTRUCTION_SITE", "NEGOTIATION_AREA", "VIDEO_ROOM", "ONLINE_VR"}

// ContactChannel is a way a customer consented to be contacted (PIPL).
type ContactChannel string

// ContactChannels lists the valid contact channels.
var ContactChannels = []ContactChannel{"PHONE", "SMS", "WECHAT", "EMAIL"}

// AmenityKind is the kind of a place near a project.
type AmenityKind string

// AmenityKinds lists the valid amenity kinds.
var AmenityKinds = []AmenityKind{"METRO", "SCHOOL", "HOSPITAL", "MALL", "PARK"}

// Amenity is a place near a project and how far it is.
type Amenity struct {
	Kind           AmenityKind `json:"kind"`
	Name           string      `json:"name"`
	DistanceMeters int         `json:"distanceMeters"`
}

func unmarshal[T ~string](dst *T, v any, valid []T, what string) error {
	s, ok := v.(string)
	if !ok || !slices.Contains(valid, T(s)) {
		return apperr.Input("", "%v is not a valid %s", v, what)
	}
	*dst = T(s)
	return nil
}

func marshal(w io.Writer, s string) { _, _ = io.WriteString(w, strconv.Quote(s)) }

// MarshalGQL implements graphql.Marshaler.
func (f FocusFactor) MarshalGQL(w io.Writer) { marshal(w, string(f)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (f *FocusFactor) UnmarshalGQL(v any) error {
	return unmarshal(f, v, FocusFactors, "FocusFactor")
}

// MarshalGQL implements graphql.Marshaler.
func (t Touchpoint) MarshalGQL(w io.Writer) { marshal(w, string(t)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (t *Touchpoint) UnmarshalGQL(v any) error {
	return unmarshal(t, v, Touchpoints, "Touchpoint")
}

// MarshalGQL implements graphql.Marshaler.
func (c ContactChannel) MarshalGQL(w io.Writer) { marshal(w, string(c)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (c *ContactChannel) UnmarshalGQL(v any) error {
	return unmarshal(c, v, ContactChannels, "ContactChannel")
}

// MarshalGQL implements graphql.Marshaler.
func (k AmenityKind) MarshalGQL(w io.Writer) { marshal(w, string(k)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (k *AmenityKind) UnmarshalGQL(v any) error {
	return unmarshal(k, v, AmenityKinds, "AmenityKind")
}
