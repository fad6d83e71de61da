package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"entgo.io/ent/privacy"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
)

// The key of a page's shape (page_cache.go): the viewer, the field, the
// page size and order, the where input's fields set, and the variables the
// field uses outside its where argument; and the where input with
// stand-ins for its strings.

// key returns the cache key of a first page of size first, in order, with
// the filter where, for the viewer and field in ctx, and the values the
// filter compares with (its strings, in order); ok is false when the page
// must go ent's way (a privacy decision in ctx, no viewer, a filter the key
// cannot describe).
func (c *pageCache) key(ctx context.Context, first int, order string, where *ent.CustomerWhereInput) (k pageKey, values []any, ok bool) {
	if _, decided := privacy.DecisionFromContext(ctx); decided {
		return pageKey{}, nil, false
	}
	v := auth.FromContext(ctx)
	fc := graphql.GetFieldContext(ctx)
	if v == nil || fc == nil || fc.Field.Field == nil || !graphql.HasOperationContext(ctx) {
		return pageKey{}, nil, false
	}
	var b strings.Builder
	b.Grow(192)
	writeViewer(&b, v)
	writeField(&b, strconv.Itoa(first))
	writeField(&b, order)
	if where != nil {
		if values, ok = whereShape(&b, reflect.ValueOf(where).Elem()); !ok {
			return pageKey{}, nil, false
		}
	}
	if !writeVariables(&b, fc.Field.Field, graphql.GetOperationContext(ctx).Variables) {
		return pageKey{}, nil, false
	}
	return pageKey{field: fc.Field.Field, shape: b.String()}, values, true
}

// writeField writes s prefixed with its length: no two lists of fields
// write the same key, whatever they hold.
func writeField(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

// writeViewer writes everything a read rule decides by: the viewer's role,
// user, customer record, API key and projects.
func writeViewer(b *strings.Builder, v *auth.Viewer) {
	writeField(b, string(v.Role))
	writeField(b, string(v.UserID))
	writeField(b, string(v.CustomerID))
	writeField(b, string(v.APIKeyID))
	for _, list := range [][]pulid.ID{v.ProjectIDs, v.PortalProjects} {
		writeField(b, strconv.Itoa(len(list)))
		for _, id := range list {
			writeField(b, string(id))
		}
	}
}

// writeVariables writes the operation's variables that the field uses
// outside its where argument (a page size, the visits' order, a
// directive's condition), with their values; ok is false for a value it
// cannot write.
func writeVariables(b *strings.Builder, f *ast.Field, vars map[string]any) bool {
	if len(vars) == 0 {
		return true
	}
	used := map[string]bool{}
	for _, a := range f.Arguments {
		if a.Name != "where" {
			variablesOf(a.Value, used)
		}
	}
	directivesVariables(f.Directives, used)
	selectionVariables(f.SelectionSet, used, 0)
	names := make([]string, 0, len(used))
	for name := range used {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		j, err := json.Marshal(vars[name])
		if err != nil {
			return false
		}
		writeField(b, name)
		writeField(b, string(j))
	}
	return true
}

func variablesOf(v *ast.Value, used map[string]bool) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable {
		used[v.Raw] = true
	}
	for _, c := range v.Children {
		variablesOf(c.Value, used)
	}
}

func directivesVariables(ds ast.DirectiveList, used map[string]bool) {
	for _, d := range ds {
		for _, a := range d.Arguments {
			variablesOf(a.Value, used)
		}
	}
}

// selectionVariables adds the variables of set's fields, fragments and
// directives (depth bounds a fragment that spreads itself, which
// validation refuses anyway).
func selectionVariables(set ast.SelectionSet, used map[string]bool, depth int) {
	if depth > 64 {
		return
	}
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			for _, a := range s.Arguments {
				variablesOf(a.Value, used)
			}
			directivesVariables(s.Directives, used)
			selectionVariables(s.SelectionSet, used, depth+1)
		case *ast.InlineFragment:
			directivesVariables(s.Directives, used)
			selectionVariables(s.SelectionSet, used, depth+1)
		case *ast.FragmentSpread:
			directivesVariables(s.Directives, used)
			if s.Definition != nil {
				directivesVariables(s.Definition.Directives, used)
				selectionVariables(s.Definition.SelectionSet, used, depth+1)
			}
		}
	}
}

// whereKind is how a field of a where input enters a page's key.
type whereKind uint8

const (
	whereString  whereKind = iota // a string compared with: a value of the page
	whereStrings                  // a list of them: its length in the key, each a value
	whereScalar                   // anything else of one value or a list: its value in the key
	whereOpaque                   // an input nested (not, and, or, hasXWith) or predicates: never kept
)

// whereField is a field of a where input: how it enters a page's key, and
// where it lies in the struct.
type whereField struct {
	kind whereKind
	// offset and word: a pointer, a slice or a bool at offset is unset
	// when its first word (a pointer's, a slice's data) or byte is zero;
	// whereShape reads that instead of asking reflect for each of the
	// input's few hundred fields (most of them unset), which was most of
	// the key's cost. Other fields are asked.
	offset uintptr
	word   int // 8: a pointer or a slice; 1: a bool; 0: ask reflect
}

var (
	whereFieldsOf sync.Map // reflect.Type -> []whereField, one per field
	timeType      = reflect.TypeFor[time.Time]()
)

func whereFields(t reflect.Type) []whereField {
	if k, ok := whereFieldsOf.Load(t); ok {
		return k.([]whereField)
	}
	scalar := func(t reflect.Type) bool {
		switch t.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			return true
		}
		return t == timeType
	}
	fields := make([]whereField, t.NumField())
	for i := range fields {
		f := t.Field(i)
		ft := f.Type
		fields[i].offset = f.Offset
		switch ft.Kind() {
		case reflect.Pointer, reflect.Slice:
			fields[i].word = int(unsafe.Sizeof(uintptr(0)))
		case reflect.Bool:
			fields[i].word = 1
		}
		switch {
		case !f.IsExported():
			fields[i].kind = whereOpaque
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.String:
			fields[i].kind = whereString
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			fields[i].kind = whereStrings
		case scalar(ft), ft.Kind() == reflect.Pointer && scalar(ft.Elem()), ft.Kind() == reflect.Slice && scalar(ft.Elem()):
			fields[i].kind = whereScalar
		default:
			fields[i].kind = whereOpaque
		}
	}
	whereFieldsOf.Store(t, fields)
	return fields
}

// set reports whether field i of w, at base, is set (not its zero value).
func (f *whereField) set(w reflect.Value, base unsafe.Pointer, i int) bool {
	switch f.word {
	case 1:
		return *(*byte)(unsafe.Add(base, f.offset)) != 0
	case int(unsafe.Sizeof(uintptr(0))):
		return *(*uintptr)(unsafe.Add(base, f.offset)) != 0
	}
	return !w.Field(i).IsZero()
}

// whereShape writes which fields of the where input w (addressable) are
// set (a list's length, a value that is not a string) and returns the
// strings, in order; ok is false if a field set is one the key cannot
// describe.
func whereShape(b *strings.Builder, w reflect.Value) (values []any, ok bool) {
	base := w.Addr().UnsafePointer()
	fields := whereFields(w.Type())
	for i := range fields {
		field := &fields[i]
		if !field.set(w, base, i) {
			continue
		}
		f := w.Field(i)
		writeField(b, strconv.Itoa(i))
		switch field.kind {
		case whereString:
			values = append(values, f.Elem().Interface())
		case whereStrings:
			writeField(b, strconv.Itoa(f.Len()))
			for j := 0; j < f.Len(); j++ {
				values = append(values, f.Index(j).Interface())
			}
		case whereScalar:
			if f.Kind() == reflect.Pointer {
				f = f.Elem()
			}
			writeField(b, fmt.Sprint(f.Interface()))
		default:
			return nil, false
		}
	}
	return values, true
}

// standIn returns a copy of where with each string it compares with
// replaced by a stand-in (the marker and its number), and the stand-ins in
// the order of whereShape's values.
func (c *pageCache) standIn(where *ent.CustomerWhereInput) (*ent.CustomerWhereInput, []any, bool) {
	if where == nil {
		return nil, nil, true
	}
	w := reflect.ValueOf(where).Elem()
	out := reflect.New(w.Type())
	out.Elem().Set(w)
	var standIns []any
	next := func(t reflect.Type) reflect.Value {
		v := reflect.New(t).Elem()
		v.SetString(c.marker + strconv.Itoa(len(standIns)))
		standIns = append(standIns, v.Interface())
		return v
	}
	for i, field := range whereFields(w.Type()) {
		f := w.Field(i)
		if f.IsZero() {
			continue
		}
		switch field.kind {
		case whereString:
			p := reflect.New(f.Type().Elem())
			p.Elem().Set(next(f.Type().Elem()))
			out.Elem().Field(i).Set(p)
		case whereStrings:
			list := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			for j := 0; j < f.Len(); j++ {
				list.Index(j).Set(next(f.Type().Elem()))
			}
			out.Elem().Field(i).Set(list)
		case whereOpaque:
			return nil, nil, false
		}
	}
	return out.Interface().(*ent.CustomerWhereInput), standIns, true
}
