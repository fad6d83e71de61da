package guard

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
	"estatecrm/graph/arguments"
)

// Limits bounds what one GraphQL request may ask of the server. The operation
// is measured after validation and before any resolver runs, and a request
// over a limit is refused with BAD_USER_INPUT naming the limit and its value.
//
// The defaults (DefaultLimits) are graphql-armor's, with page sizes counted
// the way GitHub and Shopify do. A zero field takes its default; a negative
// one turns that limit off.
type Limits struct {
	// MaxDepth bounds how deeply fields nest: `{ a { b } }` is 2 deep.
	// Fragments count where they are spread. __typename counts like any
	// field; __schema and __type do not count, nor anything under them
	// (GraphiQL's own introspection query is 13 deep, and gqlparser's
	// MaxIntrospectionDepth rule already bounds introspection).
	MaxDepth int
	// MaxAliases bounds the fields written with an alias other than their
	// name. A fragment's aliases count each time it is spread.
	MaxAliases int
	// MaxDirectives bounds the directives written anywhere in the document,
	// each counted once where it is written.
	MaxDirectives int
	// MaxCost bounds the cost of the operation: each field costs 1; a
	// connection multiplies the cost of its edges and nodes by its page size
	// (totalCount and pageInfo are paid once), and a list taking
	// `first`/`last` multiplies its whole selection; MaxPageSize when no
	// page size is given.
	MaxCost int
	// MaxTokens bounds the tokens gqlgen's parser reads before giving up,
	// which bounds the work of parsing and validation; Install sets it.
	MaxTokens int
	// MaxListItems bounds every list in an argument, written in the
	// document or sent as a variable (`nameIn`, `or`, `ids`): each item is
	// a bind parameter or a clause, and PostgreSQL takes at most 65,535.
	MaxListItems int
	// MaxFilterDepth bounds how deeply a filter (a *WhereInput argument)
	// nests: `{not: {or: [{hasUnitsWith: {…}}]}}` is 4 deep.
	MaxFilterDepth int
	// MaxFilterTerms bounds the terms of an operation's filters and orders:
	// each value they hold counts one, each item of a list too. Each term
	// also costs 1, multiplied like the field that takes it (see MaxCost).
	MaxFilterTerms int
	// Memo, when set, remembers the operations this and the other walkers
	// passed (see Memo); Install gives FilterAccess the same one.
	Memo *Memo
}

// DefaultLimits returns the limits every public GraphQL endpoint should have.
func DefaultLimits() Limits {
	return Limits{MaxDepth: 10, MaxAliases: 15, MaxDirectives: 50, MaxCost: 5000, MaxTokens: 1000,
		MaxListItems: MaxPageSize, MaxFilterDepth: 6, MaxFilterTerms: 200}
}

// Install sets srv's parser token limit, turns off "did you mean" suggestions
// (they reveal the schema to someone probing it), and adds l, which measures
// each operation, reports its cost in extensions.cost and refuses it when it
// is over a limit, and FilterAccess, which refuses a filter or an order on
// a field the viewer may not read. It also adds a last transport that
// answers a request no other transport takes (a form POST, a PUT) with a
// coded error instead of gqlgen's bare "transport not supported". Add GET
// in place of gqlgen's transport.GET so that a mutation sent with GET is
// refused with a code too.
//
// Call it after AddTransport, so that the last transport stays last, and
// before any other Use: l must measure an operation before PageSize walks it
// (PageSize follows every fragment spread, so a small document of fragments
// each spreading the next twice would keep it busy for hours, where l refuses
// it for its cost), and l's response interceptor must run before
// entgql.Transactioner's (see InterceptResponse).
func Install(srv *handler.Server, l Limits) {
	l = l.withDefaults()
	srv.SetParserTokenLimit(max(l.MaxTokens, 0)) // gqlgen's 0 means no limit
	srv.SetDisableSuggestion(true)
	for _, e := range Extensions(l) {
		srv.Use(e)
	}
	srv.AddTransport(unsupported{})
}

// Extensions are the extensions Install adds to a server, in order (the
// api package checks that none intercepts fields: graph/gen).
func Extensions(l Limits) []graphql.HandlerExtension {
	return []graphql.HandlerExtension{l, &FilterAccess{Memo: l.Memo}}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.MaxDepth, &d.MaxDepth}, {&l.MaxAliases, &d.MaxAliases}, {&l.MaxDirectives, &d.MaxDirectives},
		{&l.MaxCost, &d.MaxCost}, {&l.MaxTokens, &d.MaxTokens},
		{&l.MaxListItems, &d.MaxListItems}, {&l.MaxFilterDepth, &d.MaxFilterDepth}, {&l.MaxFilterTerms, &d.MaxFilterTerms},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return l
}

// Cost is what an operation costs and what it may cost, as reported in
// extensions.cost.
type Cost struct {
	Requested int `json:"requested"`
	// Limit is MaxCost, or 0 when cost is not limited.
	Limit int `json:"limit,omitempty"`
}

// costStat names the Cost in an operation's graphql.Stats.
const costStat = "guard.cost"

// CostOf returns the cost Limits computed for the operation of ctx, for
// instance for a rate limiter that charges by cost.
func CostOf(ctx context.Context) (Cost, bool) {
	if !graphql.HasOperationContext(ctx) {
		return Cost{}, false
	}
	c, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(costStat).(Cost)
	return c, ok
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.ResponseInterceptor
} = Limits{}

// ExtensionName implements graphql.HandlerExtension.
func (Limits) ExtensionName() string { return "Limits" }

// Validate implements graphql.HandlerExtension.
func (Limits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator: it
// measures the operation and refuses it when it is over a limit, when it
// is not a query and came through GET, or when it is a subscription and
// came through POST.
func (l Limits) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil || rc.Doc == nil {
		return nil
	}
	if rc.Operation.Operation != ast.Query && viaGET(ctx) {
		return refuse(rc.Operation.Position, "a %s cannot be sent with GET; use POST", rc.Operation.Operation)
	}
	if rc.Operation.Operation == ast.Subscription && viaHTTP(ctx) {
		// Run over POST, a subscription would answer one event, and a
		// stream ended by an error would find no WebSocket to carry it.
		return refuse(rc.Operation.Position, "a subscription needs a WebSocket (graphql-transport-ws on /query); it cannot be sent with POST")
	}
	l = l.withDefaults()
	memo := l.Memo.of(rc)
	if memo != nil {
		if cost := memo.cost.Load(); cost != nil {
			rc.Stats.SetExtension(costStat, Cost{Requested: *cost, Limit: max(l.MaxCost, 0)})
			return nil
		}
	}
	err := l.measure(ctx, rc)
	if err == nil && memo != nil {
		cost := rc.Stats.GetExtension(costStat).(Cost).Requested
		memo.cost.Store(&cost)
	}
	return err
}

// measure measures rc's operation, records its cost and refuses it when it
// is over a limit.
func (l Limits) measure(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	m, dirs, args := measureDocument(ctx, rc.Doc, rc.Operation, rc.Variables, l)
	rc.Stats.SetExtension(costStat, Cost{Requested: m.cost, Limit: max(l.MaxCost, 0)})
	switch {
	case args.err != nil:
		// First: an argument over a limit is what makes the cost too high too.
		return args.err
	case l.MaxFilterTerms > 0 && m.terms > l.MaxFilterTerms:
		return args.refuse(args.largest, "%s filter terms are over the limit of %d", count(m.terms), l.MaxFilterTerms)
	case l.MaxDepth > 0 && m.depth > l.MaxDepth:
		return refuse(m.deepest, "query depth %d is over the limit of %d", m.depth, l.MaxDepth)
	case l.MaxAliases > 0 && m.aliases > l.MaxAliases:
		return refuse(rc.Operation.Position, "%s aliases are over the limit of %d", count(m.aliases), l.MaxAliases)
	case l.MaxDirectives > 0 && dirs.n > l.MaxDirectives:
		return refuse(dirs.over, "%s directives are over the limit of %d", count(dirs.n), l.MaxDirectives)
	case l.MaxCost > 0 && m.cost > l.MaxCost:
		return refuse(rc.Operation.Position, "query cost %s is over the limit of %d", count(m.cost), l.MaxCost)
	}
	return nil
}

// InterceptResponse implements graphql.ResponseInterceptor: it reports the
// operation's cost in extensions.cost.
//
// gqlgen answers a body it cannot decode (a JSON array, a batch) with no
// operation context, and entgql.Transactioner's interceptor panics without
// one, turning a 400 into "internal error"; an empty one is supplied for the
// interceptors after this one.
func (l Limits) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(graphql.WithOperationContext(ctx, &graphql.OperationContext{}))
	}
	if c, ok := CostOf(ctx); ok {
		graphql.RegisterExtension(ctx, "cost", c)
	}
	return next(ctx)
}

// refuse returns a BAD_USER_INPUT error at pos. It is marked as a failed
// validation too, so that gqlgen answers it with the HTTP status of any other
// document it refuses (200 for application/json, 400 for application/graphql-response+json);
// the error presenter keeps the code of the wrapped apperr.Error.
func refuse(pos *ast.Position, format string, a ...any) *gqlerror.Error {
	e := gqlerror.Wrap(apperr.Input("", format, a...))
	errcode.Set(e, errcode.ValidationFailed)
	if pos != nil {
		e.Locations = []gqlerror.Location{{Line: pos.Line, Column: pos.Column}}
	}
	return e
}

// count prints a count that may have saturated.
func count(n int) string {
	if n >= saturated {
		return fmt.Sprintf("over %d", saturated)
	}
	return fmt.Sprint(n)
}

// saturated caps counts, which grow exponentially with nested fragments and
// page sizes.
const saturated = math.MaxInt32

func add(a, b int) int { return min(a+b, saturated) }

func mul(a, b int) int {
	if a != 0 && b > saturated/a {
		return saturated
	}
	return min(a*b, saturated)
}

// measure is what a selection set asks for, with its fragments expanded.
type measure struct {
	depth   int
	deepest *ast.Position // a field at depth
	aliases int
	cost    int
	terms   int // of filters and orders (MaxFilterTerms)
}

func (m *measure) add(o measure) {
	if o.depth > m.depth {
		m.depth, m.deepest = o.depth, o.deepest
	}
	m.aliases = add(m.aliases, o.aliases)
	m.cost = add(m.cost, o.cost)
	m.terms = add(m.terms, o.terms)
}

// directives counts the directives written in a document and finds the
// first one over the limit.
type directives struct {
	n, limit int
	over     *ast.Position
}

func (d *directives) add(list ast.DirectiveList) {
	for _, dir := range list {
		d.n++
		if d.n == d.limit+1 {
			d.over = dir.Position
		}
	}
}

// walker measures each fragment once, however often it is spread, so that
// measuring takes time linear in the document while the measure is that of
// the operation with its fragments expanded. Because every node is visited
// once, the directives it counts are those written in the document.
type walker struct {
	ctx       context.Context // for arguments
	vars      map[string]any
	doc       *ast.QueryDocument
	fragments map[string]measure
	visiting  map[string]bool
	dirs      directives
	// args measures the arguments of the operation's fields (filters.go);
	// nil while the rest of the document, which does not run, is walked.
	args *argMeasure
}

// measureDocument measures op, its arguments, and counts the directives of
// the whole doc.
func measureDocument(ctx context.Context, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, l Limits) (measure, directives, *argMeasure) {
	args := &argMeasure{limits: l}
	w := &walker{ctx: ctx, vars: vars, doc: doc, fragments: map[string]measure{}, visiting: map[string]bool{},
		dirs: directives{limit: l.MaxDirectives}, args: args}
	m := w.operation(op)
	w.args = nil
	// The rest of the document only adds its directives: it was parsed and
	// validated, but does not run.
	for _, o := range doc.Operations {
		if o != op {
			w.operation(o)
		}
	}
	for _, f := range doc.Fragments {
		w.fragment(f.Name, f)
	}
	return m, w.dirs, args
}

func (w *walker) operation(op *ast.OperationDefinition) measure {
	w.dirs.add(op.Directives)
	for _, v := range op.VariableDefinitions {
		w.dirs.add(v.Directives)
	}
	return w.set(op.SelectionSet)
}

func (w *walker) set(set ast.SelectionSet) measure {
	var m measure
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			w.dirs.add(s.Directives)
			m.add(w.field(s))
		case *ast.InlineFragment:
			w.dirs.add(s.Directives)
			m.add(w.set(s.SelectionSet))
		case *ast.FragmentSpread:
			w.dirs.add(s.Directives)
			m.add(w.fragment(s.Name, s.Definition))
		}
	}
	return m
}

func (w *walker) field(f *ast.Field) measure {
	sub := w.set(f.SelectionSet)
	terms := w.argTerms(f)
	m := measure{aliases: sub.aliases, cost: add(add(1, terms), w.pagedCost(f, sub.cost)), terms: add(sub.terms, terms)}
	if f.Alias != "" && f.Alias != f.Name {
		m.aliases = add(m.aliases, 1)
	}
	if f.Name == "__schema" || f.Name == "__type" {
		return m // introspection does not count for depth
	}
	m.depth, m.deepest = sub.depth+1, sub.deepest
	if sub.depth == 0 {
		m.deepest = f.Position
	}
	return m
}

func (w *walker) fragment(name string, def *ast.FragmentDefinition) measure {
	if m, ok := w.fragments[name]; ok {
		return m
	}
	if w.visiting[name] {
		return measure{} // a cycle: the validator refuses them; this only ends the walk
	}
	if def == nil {
		if def = w.doc.Fragments.ForName(name); def == nil {
			return measure{}
		}
	}
	w.visiting[name] = true
	w.dirs.add(def.Directives)
	m := w.set(def.SelectionSet)
	delete(w.visiting, name)
	w.fragments[name] = m
	return m
}

// pagedCost is the cost of f's selection, sub, with its page size applied:
// to the edges and nodes of a connection, to the whole of a paged list.
func (w *walker) pagedCost(f *ast.Field, sub int) int {
	n := w.pageSize(f)
	if n == 1 || f.Definition == nil || !strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
		return mul(n, sub)
	}
	var once int // what is not per item: totalCount, pageInfo
	for _, sel := range f.SelectionSet {
		if c, ok := sel.(*ast.Field); ok && c.Name != "edges" && c.Name != "nodes" {
			once = add(once, w.field(c).cost)
		}
	}
	return add(once, mul(n, max(sub-once, 0)))
}

// pageSize is the factor a field multiplies the cost of its selection by:
// the larger of `first` and `last` for a connection or a list that takes
// them, MaxPageSize if it is given neither (PageSize refuses that for a
// connection), and 1 for any other field.
func (w *walker) pageSize(f *ast.Field) int {
	d := f.Definition
	if d == nil || d.Type == nil {
		return 1
	}
	paged := d.Arguments.ForName("first") != nil || d.Arguments.ForName("last") != nil
	if !strings.HasSuffix(d.Type.Name(), "Connection") && !(d.Type.Elem != nil && paged) {
		return 1
	}
	args := arguments.Of(w.ctx, f, w.vars)
	first, hasFirst := intArg(args, "first")
	last, hasLast := intArg(args, "last")
	if !hasFirst && !hasLast {
		return MaxPageSize
	}
	return max(first, last, 0)
}
