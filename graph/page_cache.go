package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/statement"
)

// A page of customers is what an agent's phone asks most (a customer found
// by phone suffix), and building its statement through ent (the where
// input's predicates, the privacy filter, the field collection, the folded
// visits, then the rendering) was about a sixth of the processor time of
// the request, for the same text every time: for one viewer and one
// selection, only the values the filter compares with and the time change.
// So the statement is kept, rendered, per viewer and shape, with the places
// of those values in its arguments, and later pages of that shape run it
// with their own values (ent's AllOf: the privacy policy and interceptors
// still apply, as to any read).
//
// The shape is everything the text may depend on: the viewer (as the fold's
// subquery cache and rule's rendered filters, it assumes that the read
// rules decide by the viewer and by the time only as an argument), the
// field in the operation's document (its selection and literal arguments;
// gqlgen keeps parsed documents, and a kept entry keeps its field alive, so
// the pointer names it), the page size and order, which filter fields are
// set (and each list's length; values that are not strings are part of the
// shape), and every variable of the operation except the filter's.
//
// A statement is learned from the second page of its shape (a shape seen
// once costs nothing more: a filter on a time that changes with every
// page makes a shape per page): ent builds and runs it as always (its
// text and arguments recorded on the way), then builds it once more with
// stand-ins, not run: a unique marker for each
// string the filter compares with and a time of its own for the clock.
// Only if the two texts are the same and each argument is either the same
// in both or exactly a stand-in in the second and the real value in the
// first is the statement kept; and only if it was the page's one statement
// (no COUNT, no edge loaded after it). Otherwise the shape is kept as one
// that goes ent's way every time (a filter that wraps its value,
// `nameContains`, or a selection that loads an edge).

// maxPages bounds the shapes kept, the least recently used dropped first
// (a busy server has a few per active user; a filter on a time that
// changes with every page makes one per page, seen once).
const maxPages = 4096

// pageCache is safe for concurrent use.
type pageCache struct {
	m *lru.Cache[pageKey, *pageStatement]
	// marker starts every stand-in string: random per process, so no
	// value a client sends is taken for one.
	marker string
	// standInNow is the clock of the stand-in build.
	standInNow time.Time
}

func newPageCache() *pageCache {
	var b [8]byte
	_, _ = rand.Read(b[:])
	m, err := lru.New[pageKey, *pageStatement](maxPages)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &pageCache{
		m:          m,
		marker:     "\x01page-" + hex.EncodeToString(b[:]) + "-",
		standInNow: time.Date(1901, 2, 3, 4, 5, 6, 7_080_900, time.UTC),
	}
}

type pageKey struct {
	field *ast.Field
	shape string
}

// pageStatement is a page's statement, its arguments made of constants,
// the filter's values and the time. A nil *pageStatement kept for a shape
// says that its pages go ent's way.
type pageStatement struct {
	text string
	args []pageArg
}

type pageArgKind uint8

const (
	argConstant pageArgKind = iota
	argValue                // the filter's value numbered value
	argNow                  // the clock's time
)

type pageArg struct {
	kind     pageArgKind
	value    int
	constant any
}

// seenOnce is kept for a shape seen once and not learned yet.
var seenOnce = &pageStatement{}

// argsFor returns the statement's arguments for a page with the filter's
// values and the time now.
func (p *pageStatement) argsFor(values []any, now time.Time) []any {
	args := make([]any, len(p.args))
	for i, a := range p.args {
		switch a.kind {
		case argConstant:
			args[i] = a.constant
		case argValue:
			args[i] = values[a.value]
		case argNow:
			args[i] = now
		}
	}
	return args
}

func (c *pageCache) get(k pageKey) (p *pageStatement, known bool) { return c.m.Get(k) }

func (c *pageCache) put(k pageKey, p *pageStatement) { c.m.Add(k, p) }

// customersPage answers Query.customers from the statement kept for its
// shape, or as Paginate does (learning the statement where it can).
func (r *Resolver) customersPage(ctx context.Context, after *ent.Cursor, first *int, before *ent.Cursor, last *int, orderBy []*ent.CustomerOrder, where *ent.CustomerWhereInput) (*ent.CustomerConnection, error) {
	paginate := func(ctx context.Context, where *ent.CustomerWhereInput) (*ent.CustomerQuery, *ent.CustomerConnection, error) {
		q := r.client.Customer.Query()
		conn, err := q.Paginate(r.foldLatestVisits(ctx, q), after, first, before, last, ent.WithCustomerOrder(orderBy), ent.WithCustomerFilter(where.Filter))
		return q, conn, err
	}
	c := r.pages
	if after != nil || before != nil || last != nil || first == nil {
		_, conn, err := paginate(ctx, where)
		return conn, err
	}
	var order strings.Builder
	for _, o := range orderBy {
		if o != nil && o.Field != nil {
			order.WriteString(o.Field.String() + " " + o.Direction.String() + ",")
		}
	}
	key, values, ok := c.key(ctx, *first, order.String(), where)
	if !ok {
		_, conn, err := paginate(ctx, where)
		return conn, err
	}
	now := clock.Now(ctx)
	s, known := c.get(key)
	if s != nil && s != seenOnce {
		nodes, err := r.client.Customer.Query().AllOf(ctx, s.text, s.argsFor(values, now))
		if err != nil {
			return nil, err
		}
		if conn, ok, err := ent.CustomerPageOf(ctx, nodes, *first, ent.WithCustomerOrder(orderBy)); ok || err != nil {
			return conn, err
		}
	}
	if known && s != seenOnce {
		_, conn, err := paginate(ctx, where)
		return conn, err
	}
	if !known {
		// A shape is learned the second time it is seen: one seen once
		// (a filter on a time that changes with every page) costs no
		// second build.
		c.put(key, seenOnce)
		_, conn, err := paginate(ctx, where)
		return conn, err
	}
	// One clock for the page's statement, whose time is then known.
	ctx = clock.NewContext(ctx, func() time.Time { return now })
	recorded, log := statement.Record(ctx)
	q, conn, err := paginate(recorded, where)
	if err != nil {
		return conn, err
	}
	if q.LoadsEdges() {
		c.put(key, nil)
		return conn, nil
	}
	standIn, values2, ok := c.standIn(where)
	if !ok {
		c.put(key, nil)
		return conn, nil
	}
	dry, dryLog := statement.Dry(clock.NewContext(ctx, func() time.Time { return c.standInNow }))
	if _, _, err := paginate(dry, standIn); !errors.Is(err, statement.ErrDry) {
		c.put(key, nil)
		return conn, nil
	}
	c.put(key, c.learn(log.Statements(), dryLog.Statements(), values, values2, now))
	return conn, nil
}

// learn returns the statement of a page from the statements its build ran
// (real, with the filter's values and the time now) and those its build
// with stand-ins sent (standIn, with the stand-in values and time), or nil
// if it cannot be kept.
func (c *pageCache) learn(real, standIn []statement.Statement, values, standIns []any, now time.Time) *pageStatement {
	if len(real) != 1 || len(standIn) != 1 {
		return nil
	}
	r, s := real[0], standIn[0]
	if r.Text != s.Text || len(r.Args) != len(s.Args) || strings.Contains(r.Text, c.marker) {
		return nil
	}
	p := &pageStatement{text: r.Text, args: make([]pageArg, len(r.Args))}
	for i, a := range s.Args {
		switch {
		case isStandInNow(a, c.standInNow):
			if t, ok := r.Args[i].(time.Time); !ok || !t.Equal(now) {
				return nil
			}
			p.args[i] = pageArg{kind: argNow}
		case c.isStandIn(a):
			k := slices.IndexFunc(standIns, func(v any) bool { return reflect.DeepEqual(v, a) })
			if k < 0 || !reflect.DeepEqual(r.Args[i], values[k]) {
				return nil
			}
			p.args[i] = pageArg{kind: argValue, value: k}
		default:
			if !reflect.DeepEqual(r.Args[i], a) || c.mentions(a) {
				return nil
			}
			p.args[i] = pageArg{kind: argConstant, constant: a}
		}
	}
	return p
}

func isStandInNow(a any, at time.Time) bool {
	t, ok := a.(time.Time)
	return ok && t.Equal(at)
}

// isStandIn reports whether a is a stand-in string as it was made (of a
// string kind, the marker and a number).
func (c *pageCache) isStandIn(a any) bool {
	v := reflect.ValueOf(a)
	return v.IsValid() && v.Kind() == reflect.String && strings.HasPrefix(v.String(), c.marker)
}

// mentions reports whether a holds a stand-in in any form (a value the
// filter wraps: "%" + value + "%").
func (c *pageCache) mentions(a any) bool {
	return strings.Contains(fmt.Sprint(a), c.marker)
}

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
