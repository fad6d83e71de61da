package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/auth"
	"estatecrm/ent/schema/pulid"
	"estatecrm/graph/arguments"
)

// answer is a root field that gridCache may answer: its key, the project
// whose grid version decides it, and whether its answer lasts until the
// next lapse of a hold of the project the viewer can see (probe: a page of
// units, which a lapsed hold may enter) or of a hold among the units the
// field loaded (the grid, which shows them all).
type answer struct {
	key     string
	project pulid.ID
	probe   bool
}

// answerShape is what of a root field's answer the cache may hold.
type answerShape struct {
	// typ is the type of the field's value.
	typ   string
	probe bool
	// project returns the one project the field's arguments confine its
	// answer to, and false when they do not or when they ask for something
	// no grid version follows.
	project func(args map[string]any) (string, bool)
	// fields are the fields an answer may hold, by type; child is the type
	// of each object field among them. Every value among them changes only
	// by a write of a unit, a building or a project, or by a hold lapsing;
	// none takes an argument, and none depends on the viewer beyond
	// viewerScope.
	fields map[string][]string
	child  map[string]string
}

var answerShapes = map[string]*answerShape{
	"salesGrid": {typ: "SalesGrid", project: argument("projectId"), fields: gridFields, child: gridChild},
	"units":     {typ: "UnitConnection", probe: true, project: unitsOfOneProject, fields: unitPageFields, child: unitPageChild},
	"listings":  {typ: "ListingConnection", probe: true, project: listingsOfOneProject, fields: listingPageFields, child: listingPageChild},
}

// The scalars of units, buildings and projects as the grid and the pages of
// units show them.
var (
	unitScalars = []string{"id", "createdAt", "updatedAt", "projectID", "buildingID", "floor", "number",
		"bedrooms", "livingRooms", "bathrooms", "grossArea", "netArea", "orientation", "decoration",
		"listPrice", "status", "published", "holdExpiresAt", "heldByID", "heldForID", "project", "building"}
	buildingScalars = []string{"id", "createdAt", "updatedAt", "projectID", "name", "floors", "unitsPerFloor", "project"}
	projectScalars  = []string{"id", "createdAt", "updatedAt", "name", "city", "district", "address", "latitude", "longitude",
		"status", "presalePermit", "launchDate", "deliveryDate", "amenities", "published",
		"protectionDays", "holdMinutes", "agentDiscountCapBp"}
	pageInfo = []string{"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}
)

var gridFields = map[string][]string{
	"SalesGrid":         {"project", "buildings", "statusCounts"},
	"SalesGridBuilding": {"building", "floors"},
	"SalesGridFloor":    {"floor", "units"},
	"UnitStatusCount":   {"status", "count"},
	"Unit":              unitScalars, "Building": buildingScalars, "Project": projectScalars,
}

var gridChild = map[string]string{
	"SalesGrid.project": "Project", "SalesGrid.buildings": "SalesGridBuilding", "SalesGrid.statusCounts": "UnitStatusCount",
	"SalesGridBuilding.building": "Building", "SalesGridBuilding.floors": "SalesGridFloor",
	"SalesGridFloor.units": "Unit",
	"Unit.project":         "Project", "Unit.building": "Building",
	"Building.project": "Project",
}

var unitPageFields = map[string][]string{
	"UnitConnection": {"edges", "pageInfo", "totalCount"},
	"UnitEdge":       {"node", "cursor"},
	"PageInfo":       pageInfo,
	"Unit":           unitScalars, "Building": buildingScalars, "Project": projectScalars,
}

var unitPageChild = map[string]string{
	"UnitConnection.edges": "UnitEdge", "UnitConnection.pageInfo": "PageInfo", "UnitEdge.node": "Unit",
	"Unit.project": "Project", "Unit.building": "Building", "Building.project": "Project",
}

// A listing's media are left out: media change without a grid version.
var listingPageFields = map[string][]string{
	"ListingConnection": {"edges", "pageInfo", "totalCount"},
	"ListingEdge":       {"node", "cursor"},
	"PageInfo":          pageInfo,
	"Listing": {"id", "project", "building", "floor", "number", "bedrooms", "livingRooms", "bathrooms",
		"grossArea", "netArea", "orientation", "decoration", "listPrice", "status", "standardStatus", "modifiedAt"},
	"ListingProject":  {"id", "name", "city", "district", "address", "latitude", "longitude", "status"},
	"ListingBuilding": {"id", "name"},
}

var listingPageChild = map[string]string{
	"ListingConnection.edges": "ListingEdge", "ListingConnection.pageInfo": "PageInfo", "ListingEdge.node": "Listing",
	"Listing.project": "ListingProject", "Listing.building": "ListingBuilding",
}

// implementorsIn returns the type conditions a fragment on each type of the
// shapes may have, read from the schema: the type, and every interface and
// union it belongs to. A fragment on a type condition missing here would
// be left out of the selection key while the field answers it, and two
// selections would share an answer.
func implementorsIn(s *ast.Schema) (map[string][]string, error) {
	out := map[string][]string{}
	for _, shape := range answerShapes {
		for typ := range shape.fields {
			def := s.Types[typ]
			if def == nil {
				return nil, fmt.Errorf("answer cache: no type %s in the schema", typ)
			}
			names := []string{typ}
			for _, i := range s.GetImplements(def) {
				names = append(names, i.Name)
			}
			out[typ] = names
		}
	}
	return out, nil
}

// argument is the project named by a field's argument.
func argument(name string) func(map[string]any) (string, bool) {
	return func(args map[string]any) (string, bool) {
		id, ok := args[name].(string)
		return id, ok
	}
}

// unitsOfOneProject is the project of units(where: {projectID: …}) whose
// filter looks at the units' own columns only: an edge's (hasDeals,
// hasHoldsWith, …) would read rows that no grid version follows.
func unitsOfOneProject(args map[string]any) (string, bool) {
	where, ok := args["where"].(map[string]any)
	if !ok {
		return "", false
	}
	id, ok := where["projectID"].(string)
	return id, ok && ownColumns(where)
}

// ownColumns reports whether a UnitWhereInput filters on the unit's own
// columns only, in and/or/not too.
func ownColumns(where map[string]any) bool {
	for name, v := range where {
		switch name {
		case "and", "or":
			list, ok := v.([]any)
			if !ok {
				if v != nil {
					return false
				}
				continue
			}
			for _, w := range list {
				if w, ok := w.(map[string]any); !ok || !ownColumns(w) {
					return false
				}
			}
		case "not":
			if w, ok := v.(map[string]any); (ok && !ownColumns(w)) || (!ok && v != nil) {
				return false
			}
		default:
			if strings.HasPrefix(name, "has") {
				return false
			}
		}
	}
	return true
}

// listingsOfOneProject is the project of listings(where: {projectIds: [one]}).
// Every filter of listings is on the unit, its building or its project.
func listingsOfOneProject(args map[string]any) (string, bool) {
	where, ok := args["where"].(map[string]any)
	if !ok {
		return "", false
	}
	ids, ok := where["projectIds"].([]any)
	if !ok || len(ids) != 1 {
		return "", false
	}
	id, ok := ids[0].(string)
	return id, ok
}

// maxKeyBytes bounds a cached answer's key: the arguments are in it, and
// nothing else bounds a filter's strings but the request's size.
const maxKeyBytes = 4 << 10

// answerable returns the answer the cache may give for the root field in
// ctx, and false when the field is not one it answers.
func (c *gridCache) answerable(ctx context.Context) (answer, bool) {
	rc := graphql.GetRootFieldContext(ctx)
	if rc == nil || !graphql.HasOperationContext(ctx) {
		return answer{}, false
	}
	shape := answerShapes[rc.Field.Name]
	if shape == nil {
		return answer{}, false
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return answer{}, false
	}
	args := arguments.Of(ctx, rc.Field.Field, oc.Variables)
	id, ok := shape.project(args)
	if !ok {
		return answer{}, false
	}
	projectID := pulid.ID(id)
	scope, ok := viewerScope(auth.FromContext(ctx), projectID)
	if !ok {
		return answer{}, false
	}
	var k strings.Builder
	k.Grow(256)
	for _, part := range []string{rc.Field.Name, id, scope} {
		k.WriteString(part)
		k.WriteByte(0)
	}
	if !writeArgument(&k, args) {
		return answer{}, false
	}
	k.WriteByte(0)
	if !selectionKey(&k, oc, rc.Field.Selections, shape, c.implementors, shape.typ) || k.Len() > maxKeyBytes {
		return answer{}, false
	}
	return answer{key: k.String(), project: projectID, probe: shape.probe}, true
}

// writeArgument writes v, an argument's value (as ast.Value.Value and the
// request's JSON variables make it), so that two values write the same text
// exactly when they are the same: strings quoted, a map's keys sorted. It
// is encoding/json's text without its reflection (a fifth of what finding
// a page's key allocated), and false for a value of another type, which
// is then not cached.
func writeArgument(k *strings.Builder, v any) bool {
	var b [64]byte
	switch v := v.(type) {
	case nil:
		k.WriteString("null")
	case string:
		k.Write(strconv.AppendQuote(b[:0], v))
	case json.Number:
		k.WriteString(string(v))
	case bool:
		k.Write(strconv.AppendBool(b[:0], v))
	case int:
		k.Write(strconv.AppendInt(b[:0], int64(v), 10))
	case int64:
		k.Write(strconv.AppendInt(b[:0], v, 10))
	case float64:
		k.Write(strconv.AppendFloat(b[:0], v, 'g', -1, 64))
	case []any:
		k.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				k.WriteByte(',')
			}
			if !writeArgument(k, e) {
				return false
			}
		}
		k.WriteByte(']')
	case map[string]any:
		var small [8]string
		keys := small[:0]
		for key := range v {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		k.WriteByte('{')
		for i, key := range keys {
			if i > 0 {
				k.WriteByte(',')
			}
			k.Write(strconv.AppendQuote(b[:0], key))
			k.WriteByte(':')
			if !writeArgument(k, v[key]) {
				return false
			}
		}
		k.WriteByte('}')
	default:
		return false
	}
	return true
}

// viewerScope names what of a project a viewer may see, and false for a
// viewer whose answer is not cached: no viewer (refused anyway), the
// system, a homeowner (their units are those of their deals, which no grid
// version follows), staff asking for a project not theirs and a portal for
// one its key is not limited to (the field answers them, uncached).
func viewerScope(v *auth.Viewer, projectID pulid.ID) (string, bool) {
	if v == nil {
		return "", false
	}
	switch v.Role {
	case auth.RoleAdmin:
		return string(v.Role), true
	case auth.RolePortal:
		// A key limited to some projects sees nothing of the others: its
		// answers are its own, not an unlimited key's.
		if len(v.PortalProjects) > 0 && !slices.Contains(v.PortalProjects, projectID) {
			return "", false
		}
		return string(v.Role) + ":" + sortedIDs(v.PortalProjects), true
	case auth.RoleManager, auth.RoleAgent:
		if !slices.Contains(v.ProjectIDs, projectID) {
			return "", false
		}
		return string(v.Role) + ":" + sortedIDs(v.ProjectIDs), true
	}
	return "", false
}

func sortedIDs(ids []pulid.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// selectionKey writes the shape of an answer (each field by alias and name,
// in order, after fragments and directives) and reports whether every field
// is one the shape may hold.
func selectionKey(k *strings.Builder, oc *graphql.OperationContext, sel ast.SelectionSet, shape *answerShape, implementors map[string][]string, typ string) bool {
	k.WriteByte('{')
	for _, f := range graphql.CollectFields(oc, sel, implementors[typ]) {
		if len(f.Arguments) > 0 {
			return false
		}
		k.WriteString(f.Alias)
		k.WriteByte(':')
		k.WriteString(f.Name)
		k.WriteByte(' ')
		if f.Name == "__typename" {
			continue
		}
		if !slices.Contains(shape.fields[typ], f.Name) {
			return false
		}
		if child, ok := shape.child[typ+"."+f.Name]; ok && !selectionKey(k, oc, f.Selections, shape, implementors, child) {
			return false
		}
	}
	k.WriteByte('}')
	return true
}
