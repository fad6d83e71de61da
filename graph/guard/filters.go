package guard

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/graph/arguments"
	"estatecrm/rule"
)

// Filters are the `where` and `orderBy` arguments entgql generates: inputs
// named *WhereInput and lists of *Order. They reach the database as SQL, so
// their size is bounded here (Limits: MaxListItems, MaxFilterDepth,
// MaxFilterTerms) and who may filter on what is checked (FilterAccess),
// whether they are written in the document or sent as variables.

// isFilter reports whether an argument of type t is a filter or an order.
func isFilter(t *ast.Type) bool {
	name := t.Name()
	return strings.HasSuffix(name, "WhereInput") || strings.HasSuffix(name, "Order")
}

// argMeasure is what the arguments of an operation's fields hold: the
// first argument over a limit, and the filter with the most terms (named
// when the operation's terms are over the limit).
type argMeasure struct {
	limits Limits
	err    *gqlerror.Error
	// largest is where the filter with the most terms is; most its terms.
	largest argSite
	most    int
}

// argSite is an argument in the document, for a refusal to point at.
type argSite struct {
	pos  *ast.Position
	path []string
}

func (s argSite) field() string { return strings.Join(s.path, ".") }

// refuse returns a BAD_USER_INPUT error naming the argument at s.
func (a *argMeasure) refuse(s argSite, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Wrap(apperr.Input(s.field(), format, args...))
	errcode.Set(e, errcode.ValidationFailed) // answered like any document refused (see refuse)
	if s.pos != nil {
		e.Locations = []gqlerror.Location{{Line: s.pos.Line, Column: s.pos.Column}}
	}
	return e
}

// argTerms checks the arguments of f against the limits, recording the
// first one over a limit, and returns the terms of its filters.
func (w *walker) argTerms(f *ast.Field) int {
	a := w.args
	if a == nil || a.err != nil || len(f.Arguments) == 0 || f.Definition == nil {
		return 0
	}
	values := arguments.Of(w.ctx, f, w.vars)
	terms := 0
	for _, def := range f.Definition.Arguments {
		v := values[def.Name]
		if v == nil {
			continue
		}
		site := argSite{pos: f.Position, path: []string{def.Name}}
		if arg := f.Arguments.ForName(def.Name); arg != nil && arg.Position != nil {
			site.pos = arg.Position
		}
		filter := isFilter(def.Type)
		n := a.value(v, &site, filter, 0)
		if a.err != nil {
			return 0
		}
		if filter {
			terms = add(terms, n)
			if n > a.most {
				a.most, a.largest = n, argSite{pos: site.pos, path: []string{def.Name}}
			}
		}
	}
	return terms
}

// value walks v, found at s, and returns its terms: the scalars it holds,
// each item of a list counted. A list longer than MaxListItems, or a filter
// nesting objects deeper than MaxFilterDepth, stops the walk there.
func (a *argMeasure) value(v any, s *argSite, filter bool, depth int) int {
	switch v := v.(type) {
	case nil:
		return 0
	case []any:
		if l := a.limits.MaxListItems; l > 0 && len(v) > l {
			a.err = a.refuse(*s, "%s has %d items; the most is %d", s.field(), len(v), l)
			return 0
		}
		n := 0
		for i, e := range v {
			s.path = append(s.path, strconv.Itoa(i))
			n = add(n, a.value(e, s, filter, depth))
			s.path = s.path[:len(s.path)-1]
			if a.err != nil {
				return 0
			}
		}
		return n
	case map[string]any:
		depth++
		if l := a.limits.MaxFilterDepth; filter && l > 0 && depth > l {
			a.err = a.refuse(*s, "%s nests deeper than %d", s.path[0], l)
			if s.path[0] == "variables" {
				a.err = a.refuse(*s, "%s nests deeper than %d", strings.Join(s.path[:2], "."), l)
			}
			return 0
		}
		n := 0
		var buf [8]string
		for _, k := range sortedKeys(v, buf[:0]) {
			s.path = append(s.path, k)
			n = add(n, a.value(v[k], s, filter, depth))
			s.path = s.path[:len(s.path)-1]
			if a.err != nil {
				return 0
			}
		}
		return n
	}
	return 1
}

var _ graphql.OperationParameterMutator = Limits{}

// MutateOperationParameters implements graphql.OperationParameterMutator:
// it refuses variables holding a list longer than MaxListItems, or objects
// nested deeper than MaxFilterDepth, before gqlparser coerces them to their
// types, which takes a second of CPU for a megabyte of filter. Every
// variable is some argument's value, bounded the same way once the
// operation is known (MutateOperationContext), so this refuses nothing that
// would run; the refusal names the variable's path (variables.w.or).
func (l Limits) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	l = l.withDefaults()
	a := &argMeasure{limits: l}
	var buf [8]string
	for _, name := range sortedKeys(p.Variables, buf[:0]) {
		a.value(p.Variables[name], &argSite{path: []string{"variables", name}}, true, 0)
		if a.err != nil {
			return a.err
		}
	}
	return nil
}

// FilterAccess refuses, before anything runs, an operation that filters or
// orders by a field its viewer may not read on every row it sees
// (rule.MayFilter): a `where` or `orderBy` anywhere in it, on a root
// connection or an edge, written in the document or sent as a variable. The
// refusal is FORBIDDEN with extensions.field naming the argument's path
// (where.and.0.priceGTE, orderBy.0.field). Edge filters (hasUnitsWith) are
// not refused but scoped to the rows the viewer may see where they are
// decoded (rule.ScopeEdge).
//
// The entity of a filter is its input's name without WhereInput or Order;
// the field is the where field without its operator, or the order field, in
// ent's snake case: entgql's names, and the schema's convention that an
// order field is named after its column (LIST_PRICE, list_price), which
// guard's tests check.
type FilterAccess struct {
	// Memo, when set, remembers what each operation filters on (see Memo).
	Memo   *Memo
	schema *ast.Schema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &FilterAccess{}

// ExtensionName implements graphql.HandlerExtension.
func (*FilterAccess) ExtensionName() string { return "FilterAccess" }

// Validate implements graphql.HandlerExtension: it keeps the schema, whose
// input types say what each where field filters on.
func (a *FilterAccess) Validate(s graphql.ExecutableSchema) error {
	a.schema = s.Schema()
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (a *FilterAccess) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	v := auth.FromContext(ctx)
	if rc.Operation == nil || a.schema == nil || v == nil || v.Role == auth.RoleAdmin || v.Role == auth.RoleSystem {
		return nil // an admin reads everything; no viewer reads nothing, and privacy says so
	}
	memo := a.Memo.of(rc)
	if memo != nil {
		// The same fields as before; whether this viewer may filter on them
		// is asked again. A refusal is walked, to name its argument.
		if uses := memo.filters.Load(); uses != nil && mayFilterAll(v, *uses) {
			return nil
		}
	}
	w := accessWalker{ctx: ctx, schema: a.schema, viewer: v, vars: rc.Variables}
	err := eachField(rc.Doc, rc.Operation.SelectionSet, w.field)
	if err == nil && memo != nil {
		uses := w.uses
		memo.filters.Store(&uses)
	}
	return err
}

// accessWalker checks the filters and orders of each field (eachField).
type accessWalker struct {
	ctx    context.Context // for arguments
	schema *ast.Schema
	viewer *auth.Viewer
	vars   map[string]any
	uses   []filterUse // every field asked about, for the Memo
}

// may reports whether the viewer may filter entity's rows by field, and
// notes that the operation does.
func (w *accessWalker) may(entity, field string) bool {
	w.uses = append(w.uses, filterUse{entity, field})
	return rule.MayFilter(w.viewer, entity, field)
}

func (w *accessWalker) field(f *ast.Field) *gqlerror.Error {
	if f.Definition == nil || len(f.Arguments) == 0 {
		return nil
	}
	var values map[string]any
	for _, def := range f.Definition.Arguments {
		if !isFilter(def.Type) {
			continue
		}
		if values == nil {
			values = arguments.Of(w.ctx, f, w.vars)
		}
		site := argSite{pos: f.Position, path: []string{def.Name}}
		if arg := f.Arguments.ForName(def.Name); arg != nil && arg.Position != nil {
			site.pos = arg.Position
		}
		name := def.Type.Name()
		var err *gqlerror.Error
		if entity, ok := strings.CutSuffix(name, "WhereInput"); ok {
			err = w.where(values[def.Name], entity, w.schema.Types[name], &site)
		} else {
			err = w.order(values[def.Name], strings.TrimSuffix(name, "Order"), &site)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// items returns v as a list: GraphQL takes a single value for a list.
func items(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// where checks the where input v of entity, of type def, found at s.
func (w *accessWalker) where(v any, entity string, def *ast.Definition, s *argSite) *gqlerror.Error {
	m, ok := v.(map[string]any)
	if !ok || def == nil {
		return nil
	}
	var buf [8]string
	for _, k := range sortedKeys(m, buf[:0]) {
		if m[k] == nil {
			continue
		}
		s.path = append(s.path, k)
		var err *gqlerror.Error
		switch fd := def.Fields.ForName(k); {
		case fd == nil:
			// The validator refuses unknown fields before this runs.
		case w.isInput(fd.Type):
			// and, or, not: this input again; an edge (hasUnitsWith): its own.
			sub := w.schema.Types[fd.Type.Name()]
			err = w.list(m[k], strings.TrimSuffix(sub.Name, "WhereInput"), sub, s)
		case !w.may(entity, snake(baseField(def, k))):
			err = forbid(*s, "filtering %s by %s is not allowed: the field is not readable here", entity, k)
		}
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// list checks a list of where inputs (or, and, hasUnitsWith), or one.
func (w *accessWalker) list(v any, entity string, def *ast.Definition, s *argSite) *gqlerror.Error {
	l, isList := v.([]any)
	if !isList {
		return w.where(v, entity, def, s)
	}
	for i, e := range l {
		s.path = append(s.path, strconv.Itoa(i))
		err := w.where(e, entity, def, s)
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// order checks the orders v of entity, found at s.
func (w *accessWalker) order(v any, entity string, s *argSite) *gqlerror.Error {
	_, isList := v.([]any)
	for i, e := range items(v) {
		o, _ := e.(map[string]any)
		f, _ := o["field"].(string)
		if f == "" || w.may(entity, strings.ToLower(f)) {
			continue
		}
		site := argSite{pos: s.pos, path: append(slices.Clone(s.path), "field")}
		if isList {
			site.path = append(slices.Clone(s.path), strconv.Itoa(i), "field")
		}
		return forbid(site, "ordering %s by %s is not allowed: the field is not readable here", entity, f)
	}
	return nil
}

func (w *accessWalker) isInput(t *ast.Type) bool {
	d := w.schema.Types[t.Name()]
	return d != nil && d.Kind == ast.InputObject
}

// forbid returns a FORBIDDEN error naming the argument at s.
func forbid(s argSite, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Wrap(&apperr.Error{Code: apperr.Forbidden, Field: s.field(), Message: fmt.Sprintf(format, args...)})
	if s.pos != nil {
		e.Locations = []gqlerror.Location{{Line: s.pos.Line, Column: s.pos.Column}}
	}
	return e
}

// predicateSuffixes are entgql's where operators, longest first.
var predicateSuffixes = []string{"ContainsFold", "EqualFold", "HasPrefix", "HasSuffix", "Contains",
	"NotNil", "IsNil", "NotIn", "NEQ", "GTE", "LTE", "GT", "LT", "In"}

// baseField is the field a where field filters on: its name without the
// operator, when the input has that field too (entgql gives every field its
// EQ form under its own name); else the name itself.
func baseField(def *ast.Definition, name string) string {
	for _, suf := range predicateSuffixes {
		if base, ok := strings.CutSuffix(name, suf); ok && base != "" && def.Fields.ForName(base) != nil {
			return base
		}
	}
	return name
}

// snake turns a GraphQL field name into ent's: discountBp → discount_bp,
// projectID → project_id, phoneLast4 → phone_last4.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sortedKeys returns m's keys in order, appended to keys (a buffer on the
// caller's stack: most inputs have a few fields, and slices.Sorted made a
// slice on the heap for each). The walkers visit an input's fields in one
// order, so that the same one is refused first every time.
func sortedKeys(m map[string]any, keys []string) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
