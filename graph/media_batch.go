package graph

import (
	"context"
	"reflect"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
	"estatecrm/ent"
	entmedia "estatecrm/ent/media"
	"estatecrm/ent/schema/pulid"
	"estatecrm/media"
)

// Project.media, Project.layoutMedia and Building.media for a page of
// projects or buildings in one statement (SPEC.md §6: statements per
// request independent of result size): the first item asked about reads
// the media of every project (building) of the list it is in, the list
// its field context leads up to, and the others take their share. The
// buildings of a page of projects count as one list.

// mediaBatch is a request's answers so far, by the list and the field.
type mediaBatch struct {
	mu   sync.Mutex
	done map[mediaBatchKey]*mediaLoad
}

// mediaBatchKey names one field (by its place in the query and its
// arguments) over one list of parents.
type mediaBatchKey struct {
	list   *graphql.FieldContext
	field  string
	kind   string
	layout string
}

type mediaLoad struct {
	once sync.Once
	each map[pulid.ID][]*ent.Media
	ids  map[pulid.ID]bool
	err  error
}

type mediaBatchCtxKey struct{}

// withMediaBatch gives a request its batch (see batched).
func withMediaBatch(ctx context.Context) context.Context {
	return context.WithValue(ctx, mediaBatchCtxKey{}, &mediaBatch{done: map[mediaBatchKey]*mediaLoad{}})
}

// nearestList returns the nearest list above fc (a field context whose
// result is a list or a connection, whatever it lists) and its objects.
func nearestList(fc *graphql.FieldContext) (*graphql.FieldContext, []any) {
	for ; fc != nil; fc = fc.Parent {
		if fc.Result == nil || !isList(fc.Result) {
			continue
		}
		var items []any
		switch r := fc.Result.(type) {
		case *ent.ProjectConnection:
			for _, e := range r.Edges {
				items = append(items, e.Node)
			}
		case []*ent.ProjectEdge:
			for _, e := range r {
				items = append(items, e.Node)
			}
		case []*ent.Project:
			for _, p := range r {
				items = append(items, p)
			}
		case *ent.BuildingConnection:
			for _, e := range r.Edges {
				items = append(items, e.Node)
			}
		case []*ent.BuildingEdge:
			for _, e := range r {
				items = append(items, e.Node)
			}
		case []*ent.Building:
			for _, b := range r {
				items = append(items, b)
			}
		case []ent.Noder:
			for _, n := range r {
				items = append(items, n)
			}
		}
		return fc, items
	}
	return nil, nil
}

// siblings returns the list the object being resolved is in and the IDs
// of the objects of that list that pick picks out (the projects, or the
// buildings); nil when it is in no list.
func siblings(ctx context.Context, pick func(any) (pulid.ID, bool)) (*graphql.FieldContext, string, []pulid.ID) {
	list, items := nearestList(graphql.GetFieldContext(ctx))
	return list, "", pickAll(items, pick)
}

// buildingSiblings is siblings for a building, which takes in its cousins
// too: in a page of projects, each with a page of buildings, the buildings
// of every project of the page (entgql's field collection loaded them with
// the projects, under the alias of their field).
func buildingSiblings(ctx context.Context) (*graphql.FieldContext, string, []pulid.ID) {
	list, items := nearestList(graphql.GetFieldContext(ctx))
	if list == nil {
		return nil, "", nil
	}
	conn := list
	if _, ok := list.Result.([]*ent.BuildingEdge); ok {
		conn = list.Parent
	}
	if conn != nil && conn.Parent != nil {
		_, isConn := conn.Result.(*ent.BuildingConnection)
		_, ofProject := conn.Parent.Result.(*ent.Project)
		if outer, projects := nearestList(conn.Parent); isConn && ofProject && outer != nil {
			var ids []pulid.ID
			for _, it := range projects {
				p, ok := it.(*ent.Project)
				if !ok || p == nil {
					continue
				}
				bs, err := p.NamedBuildings(conn.Field.Alias)
				if err != nil { // not loaded with the project: its list alone
					return list, "", pickAll(items, pickBuilding)
				}
				for _, b := range bs {
					ids = append(ids, b.ID)
				}
			}
			return outer, conn.Field.Alias, ids
		}
	}
	return list, "", pickAll(items, pickBuilding)
}

func pickAll(items []any, pick func(any) (pulid.ID, bool)) []pulid.ID {
	var ids []pulid.ID
	for _, it := range items {
		if id, ok := pick(it); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// isList reports whether a field's result is a list or a connection.
func isList(v any) bool {
	t := reflect.TypeOf(v)
	return t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer && strings.HasSuffix(t.Elem().Name(), "Connection")
}

// batchedMedia answers for parent id out of the answers for its whole list,
// loaded once with load; alone without a batch or a list.
func batchedMedia(ctx context.Context, id pulid.ID, list *graphql.FieldContext, path string, ids []pulid.ID, layout *string, kind *entmedia.Kind,
	load func(ids []pulid.ID) (map[pulid.ID][]*ent.Media, error),
) ([]*ent.Media, error) {
	b, _ := ctx.Value(mediaBatchCtxKey{}).(*mediaBatch)
	alone := func() ([]*ent.Media, error) {
		each, err := load([]pulid.ID{id})
		return orEmpty(each, err, id)
	}
	if b == nil || list == nil || len(ids) < 2 {
		return alone()
	}
	key := mediaBatchKey{list: list, field: path + "." + graphql.GetFieldContext(ctx).Field.Alias}
	if kind != nil {
		key.kind = kind.String()
	}
	if layout != nil {
		key.layout = *layout
	}
	b.mu.Lock()
	l := b.done[key]
	if l == nil {
		l = &mediaLoad{}
		b.done[key] = l
	}
	b.mu.Unlock()
	l.once.Do(func() {
		l.ids = make(map[pulid.ID]bool, len(ids))
		for _, i := range ids {
			l.ids[i] = true
		}
		l.each, l.err = load(ids)
	})
	if !l.ids[id] { // not of the list after all
		return alone()
	}
	return orEmpty(l.each, l.err, id)
}

func orEmpty(each map[pulid.ID][]*ent.Media, err error, id pulid.ID) ([]*ent.Media, error) {
	if err != nil {
		return nil, err
	}
	if each[id] == nil {
		return []*ent.Media{}, nil
	}
	return each[id], nil
}

func pickProject(v any) (pulid.ID, bool) {
	p, ok := v.(*ent.Project)
	if !ok || p == nil {
		return "", false
	}
	return p.ID, true
}

func pickBuilding(v any) (pulid.ID, bool) {
	b, ok := v.(*ent.Building)
	if !ok || b == nil {
		return "", false
	}
	return b.ID, true
}

// projectMedia answers Project.media and Project.layoutMedia.
func (r *Resolver) projectMedia(ctx context.Context, obj *ent.Project, layout *string, kind *entmedia.Kind) ([]*ent.Media, error) {
	if layout != nil {
		l, err := media.ParseLayout(*layout)
		if err != nil {
			return nil, apperr.Input("layout", "%s", err)
		}
		layout = &l
	}
	list, path, ids := siblings(ctx, pickProject)
	return batchedMedia(ctx, obj.ID, list, path, ids, layout, kind, func(ids []pulid.ID) (map[pulid.ID][]*ent.Media, error) {
		return media.OfProjects(ctx, r.db(ctx), ids, layout, kind)
	})
}

// buildingMedia answers Building.media.
func (r *Resolver) buildingMedia(ctx context.Context, obj *ent.Building, kind *entmedia.Kind) ([]*ent.Media, error) {
	list, path, ids := buildingSiblings(ctx)
	return batchedMedia(ctx, obj.ID, list, path, ids, nil, kind, func(ids []pulid.ID) (map[pulid.ID][]*ent.Media, error) {
		return media.OfBuildings(ctx, r.db(ctx), ids, kind)
	})
}
