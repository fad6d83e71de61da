package api

import (
	"bytes"
	"container/list"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/live"
	"estatecrm/sales"
)

// DefaultGridCacheBytes bounds the answers the sales-grid cache keeps: a
// 600-unit grid as a phone asks for it is about 100 KB, so this keeps a few
// hundred (projects × viewer scopes × selections) within a small share of
// the 150 MB the server may use.
const DefaultGridCacheBytes = 24 << 20

// gridCache serves Query.salesGrid from the JSON of an earlier answer, while
// nothing the answer shows has changed (issue 10: most of a grid request's
// CPU is GraphQL marshalling, not the three statements). An answer is kept
// under a key of everything that decides it:
//
//   - the project;
//   - the viewer's scope: the role, and for staff the projects in their
//     token, which is all the privacy rules and masks of the fields below
//     look at (rule.UnitsVisibleTo, BuildingsVisibleTo, ProjectsVisibleTo;
//     maskHolds and maskProjectRules look at rule.IsStaff); so two agents of
//     the same projects get the same answer, and share it;
//   - the selection: the fields asked for, after fragments and @skip/@include,
//     by alias and name; only selections of fields in gridFields are cached,
//     scalars of the grid's units, buildings and project whose every change
//     is a write of a unit, building or project (or the deletion of the
//     person a hold names); anything else (who holds a unit, its deals) runs
//     as usual, uncached.
//
// An answer is served while its project's grid version (live.Hub.GridVersion,
// moved by every such write, in this process at commit and in the others by
// NOTIFY) is the one it was built at, and no hold among its units has lapsed
// since (the domain clock); homeowners, whose grid depends on their deals,
// are never served from it. Errors are never cached. The cache holds at most
// maxBytes of answers, least recently used dropped first.
//
// Everything around the field still runs per request: authentication and
// revocation, limits and extensions.cost, metrics; the field itself is
// refused before the cache is asked when the viewer could not see the
// project.
type gridCache struct {
	client   *ent.Client
	hub      *live.Hub
	maxBytes int

	mu      sync.Mutex
	entries map[string]*list.Element // of *gridEntry
	lru     list.List                // most recently used first
	size    int
	// building holds the key of every answer being built, so that the
	// requests that miss together wait for one build (the moment after a
	// hold, 50 phones would otherwise all load the grid at once).
	building map[string]*gridBuild
}

type gridEntry struct {
	key     string
	json    []byte
	version uint64
	// built and lapse bound the domain clock's times at which the answer is
	// the one the field gives: from when it was built (a clock moved back
	// might see a hold not yet lapsed) to the first hold lapse (zero: none).
	built, lapse time.Time
}

type gridBuild struct {
	done  chan struct{}
	entry *gridEntry // nil when the build failed
}

func newGridCache(client *ent.Client, hub *live.Hub, maxBytes int) *gridCache {
	return &gridCache{client: client, hub: hub, maxBytes: maxBytes,
		entries: map[string]*list.Element{}, building: map[string]*gridBuild{}}
}

var _ interface {
	graphql.HandlerExtension
	graphql.RootFieldInterceptor
} = (*gridCache)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*gridCache) ExtensionName() string { return "SalesGridCache" }

// Validate implements graphql.HandlerExtension.
func (*gridCache) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptRootField implements graphql.RootFieldInterceptor.
func (c *gridCache) InterceptRootField(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	key, projectID, ok := c.key(ctx)
	if !ok {
		return next(ctx)
	}
	for {
		now := clock.Now(ctx)
		version, ok := c.hub.GridVersion(c.client, projectID)
		if !ok {
			return next(ctx)
		}
		c.mu.Lock()
		if e := c.lookUp(key, version, now); e != nil {
			c.mu.Unlock()
			return rawJSON(e.json)
		}
		b, waiting := c.building[key]
		if !waiting {
			b = &gridBuild{done: make(chan struct{})}
			c.building[key] = b
		}
		c.mu.Unlock()
		if !waiting {
			return c.build(ctx, next, key, projectID, version, b)
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			return next(ctx)
		}
		if b.entry == nil { // the build failed: this request runs the field itself
			return next(ctx)
		}
		// Look again: the answer built is served only if still current.
	}
}

// build runs the field, keeps its answer if it has no error, and answers it.
func (c *gridCache) build(ctx context.Context, next graphql.RootResolver, key string, projectID pulid.ID, version uint64, b *gridBuild) graphql.Marshaler {
	defer func() {
		c.mu.Lock()
		delete(c.building, key)
		c.mu.Unlock()
		close(b.done)
	}()
	lctx, lapse := sales.NoteLapse(ctx)
	m := next(lctx)
	if m == nil || m == graphql.Null || fieldFailed(ctx) {
		return m
	}
	var buf bytes.Buffer
	m.MarshalGQL(&buf)
	e := &gridEntry{key: key, json: buf.Bytes(), version: version, built: clock.Now(ctx), lapse: *lapse}
	c.mu.Lock()
	c.store(e)
	c.mu.Unlock()
	b.entry = e
	return rawJSON(e.json)
}

// fieldFailed reports whether the root field in ctx has an error in the
// response so far (its own, or one of a field under it).
func fieldFailed(ctx context.Context) bool {
	alias := graphql.GetRootFieldContext(ctx).Field.Alias
	for _, err := range graphql.GetErrors(ctx) {
		if len(err.Path) > 0 {
			if name, ok := err.Path[0].(ast.PathName); ok && string(name) == alias {
				return true
			}
		}
	}
	return false
}

// lookUp returns the current answer under key, if any, dropping a stale one.
// c.mu is held.
func (c *gridCache) lookUp(key string, version uint64, now time.Time) *gridEntry {
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*gridEntry)
	if e.version != version || now.Before(e.built) || (!e.lapse.IsZero() && !now.Before(e.lapse)) {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	return e
}

// store keeps e, dropping the least recently used answers beyond maxBytes.
// c.mu is held.
func (c *gridCache) store(e *gridEntry) {
	if len(e.json) > c.maxBytes {
		return
	}
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.size += len(e.json)
	for c.size > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *gridCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*gridEntry)
	delete(c.entries, e.key)
	c.size -= len(e.json)
}

// rawJSON writes an answer kept as JSON.
type rawJSON []byte

func (r rawJSON) MarshalGQL(w io.Writer) { _, _ = w.Write(r) }

// key returns the cache key of the root field in ctx, and false when the
// field is not one the cache answers.
func (c *gridCache) key(ctx context.Context) (string, pulid.ID, bool) {
	rc := graphql.GetRootFieldContext(ctx)
	if rc == nil || rc.Field.Name != "salesGrid" || !graphql.HasOperationContext(ctx) {
		return "", "", false
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return "", "", false
	}
	id, ok := rc.Field.ArgumentMap(oc.Variables)["projectId"].(string)
	if !ok {
		return "", "", false
	}
	projectID := pulid.ID(id)
	scope, ok := viewerScope(auth.FromContext(ctx), projectID)
	if !ok {
		return "", "", false
	}
	var k strings.Builder
	k.WriteString(id)
	k.WriteByte(0)
	k.WriteString(scope)
	k.WriteByte(0)
	if !selectionKey(&k, oc, rc.Field.Selections, "SalesGrid") {
		return "", "", false
	}
	return k.String(), projectID, true
}

// viewerScope names what of a grid a viewer may see, and false for a viewer
// whose answer is not cached: no viewer (refused anyway), the system, a
// homeowner (their units are those of their deals, which no grid version
// follows), staff asking for a project not theirs (refused before any cache).
func viewerScope(v *auth.Viewer, projectID pulid.ID) (string, bool) {
	if v == nil {
		return "", false
	}
	switch v.Role {
	case auth.RoleAdmin, auth.RolePortal:
		return string(v.Role), true
	case auth.RoleManager, auth.RoleAgent:
		if !slices.Contains(v.ProjectIDs, projectID) {
			return "", false
		}
		ids := make([]string, len(v.ProjectIDs))
		for i, id := range v.ProjectIDs {
			ids[i] = string(id)
		}
		slices.Sort(ids)
		return string(v.Role) + ":" + strings.Join(ids, ","), true
	}
	return "", false
}

// gridFields are the fields a cached answer may hold, by type: the grid's
// own structure, and the scalars of its units, buildings and project (with
// the unit's and building's project and building, which are the grid's
// own). Every value among them changes only by a write of a unit, a
// building or a project, or by a hold lapsing; none takes an argument, and
// none depends on the viewer beyond viewerScope.
var gridFields = map[string][]string{
	"SalesGrid":         {"project", "buildings", "statusCounts"},
	"SalesGridBuilding": {"building", "floors"},
	"SalesGridFloor":    {"floor", "units"},
	"UnitStatusCount":   {"status", "count"},
	"Unit": {"id", "createdAt", "updatedAt", "projectID", "buildingID", "floor", "number",
		"bedrooms", "livingRooms", "bathrooms", "grossArea", "netArea", "orientation", "decoration",
		"listPrice", "status", "published", "holdExpiresAt", "heldByID", "heldForID", "project", "building"},
	"Building": {"id", "createdAt", "updatedAt", "projectID", "name", "floors", "unitsPerFloor", "project"},
	"Project": {"id", "createdAt", "updatedAt", "name", "city", "district", "address", "latitude", "longitude",
		"status", "presalePermit", "launchDate", "deliveryDate", "amenities", "published",
		"protectionDays", "holdMinutes", "agentDiscountCapBp"},
}

// gridChild is the type of each object field of gridFields.
var gridChild = map[string]string{
	"SalesGrid.project": "Project", "SalesGrid.buildings": "SalesGridBuilding", "SalesGrid.statusCounts": "UnitStatusCount",
	"SalesGridBuilding.building": "Building", "SalesGridBuilding.floors": "SalesGridFloor",
	"SalesGridFloor.units": "Unit",
	"Unit.project":         "Project", "Unit.building": "Building",
	"Building.project": "Project",
}

// implementors are the type conditions a fragment on each type may have.
var implementors = map[string][]string{
	"SalesGrid": {"SalesGrid"}, "SalesGridBuilding": {"SalesGridBuilding"}, "SalesGridFloor": {"SalesGridFloor"},
	"UnitStatusCount": {"UnitStatusCount"},
	"Unit":            {"Unit", "Node"}, "Building": {"Building", "Node"}, "Project": {"Project", "Node"},
}

// selectionKey writes the shape of an answer (each field by alias and name,
// in order, after fragments and directives) and reports whether every field
// is in gridFields.
func selectionKey(k *strings.Builder, oc *graphql.OperationContext, sel ast.SelectionSet, typ string) bool {
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
		if !slices.Contains(gridFields[typ], f.Name) {
			return false
		}
		if child, ok := gridChild[typ+"."+f.Name]; ok && !selectionKey(k, oc, f.Selections, child) {
			return false
		}
	}
	k.WriteByte('}')
	return true
}
