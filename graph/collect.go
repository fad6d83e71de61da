package graph

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// collectFields is graphql.CollectFields for the generated executor
// (graph/gen rewrites its calls): the fields of an object's selection set
// that satisfy its type. gqlgen collects them again in every request, its
// cache being the operation's, and keys each call by a hash it allocates:
// 3–4% of a phone lookup's CPU. The request keeps what it collected last
// (fieldsMemo.recent: a list's objects, each of the same selection, ask
// for the same fields; a lookup in the document's sync.Maps below cost
// about 100 ns, for each object), and the document what it collected for
// any request (collectDocFields).
func (ec *executionContext) collectFields(sel ast.SelectionSet, satisfies []string) []graphql.CollectedField {
	if len(sel) == 0 || len(satisfies) == 0 {
		return graphql.CollectFields(ec.OperationContext, sel, satisfies)
	}
	k := recentKey{sel: &sel[0], n: len(sel), satisfies: &satisfies[0], ns: len(satisfies)}
	if fields, ok := ec.fields.seen(k); ok {
		return fields
	}
	fields := ec.collectDocFields(sel, satisfies)
	ec.fields.keep(k, fields)
	return fields
}

// collectDocFields collects as collectFields does, from the document's
// fields: what it collects depends only on the document unless a @skip,
// @include or @defer makes it depend on the variables, so for a document
// without them in the QueryCache the fields of each of its selection sets
// are collected once, for every request that sends it (docFields), and
// read without a lock.
func (ec *executionContext) collectDocFields(sel ast.SelectionSet, satisfies []string) []graphql.CollectedField {
	d := ec.docFields()
	if d == nil {
		return graphql.CollectFields(ec.OperationContext, sel, satisfies)
	}
	set, ok := d.sets.Load(&sel[0])
	if !ok || set.(selectionSet).n != len(sel) {
		// A selection set made for the request (one a fold took a field
		// out of), not the document's: gqlgen's way, not kept.
		return graphql.CollectFields(ec.OperationContext, sel, satisfies)
	}
	k := collectedKey{set: set.(selectionSet).id, satisfies: &satisfies[0], n: len(satisfies)}
	if fields, ok := d.collected.Load(k); ok {
		return fields.([]graphql.CollectedField)
	}
	fields, kept := d.collected.LoadOrStore(k, graphql.CollectFields(ec.OperationContext, sel, satisfies))
	if !kept {
		// The selection sets of the fields kept are the ones the objects
		// below are marshalled with (gqlgen gathers each field's into a
		// set of its own): theirs are kept too.
		for _, f := range fields.([]graphql.CollectedField) {
			d.add(f.Selections)
		}
	}
	return fields.([]graphql.CollectedField)
}

// docFields returns the operation's document's collected fields, nil when
// they depend on the variables.
func (ec *executionContext) docFields() *docFields {
	if d := ec.fields.doc.Load(); d != nil {
		return d.(*docFields)
	}
	d := fieldsOf(ec.OperationContext.Doc)
	ec.fields.doc.Store(d)
	return d
}

// docFields holds what graphql.CollectFields returned for one document.
type docFields struct {
	// sets numbers the document's selection sets, and those of the fields
	// collected from them, by their first selection.
	sets sync.Map // *ast.Selection → selectionSet
	n    atomic.Int64
	// collected holds the fields of a set for the types of an object
	// (the executor's package-level implementors, by address).
	collected sync.Map // collectedKey → []graphql.CollectedField
	// args holds the arguments of its fields as their resolvers take them,
	// or false for a field whose arguments are decoded in each request
	// (typedArguments).
	args sync.Map // *ast.Field → map[string]any or false
}

type selectionSet struct{ id, n int }

func (d *docFields) add(set ast.SelectionSet) {
	if len(set) > 0 {
		d.sets.LoadOrStore(&set[0], selectionSet{id: int(d.n.Add(1)), n: len(set)})
	}
}

type collectedKey struct {
	set       int
	satisfies *string
	n         int
}

// QueryCache is gqlgen's cache of parsed documents (handler.Server.
// SetQueryCache) that also holds each document's collected fields
// (docFields), and forgets them with the document.
type QueryCache struct {
	docs     *lru.Cache[string, *ast.QueryDocument]
	watchers []DocumentWatcher
}

// DocumentWatcher keeps something of each document a QueryCache holds (the
// operations guard.Memo remembers), from Remember until Forget.
type DocumentWatcher interface {
	Remember(*ast.QueryDocument)
	Forget(*ast.QueryDocument)
}

var _ graphql.Cache[*ast.QueryDocument] = (*QueryCache)(nil)

// NewQueryCache holds the last size documents used, and tells watchers
// which they are.
func NewQueryCache(size int, watchers ...DocumentWatcher) *QueryCache {
	c := &QueryCache{watchers: watchers}
	docs, err := lru.NewWithEvict(size, func(_ string, doc *ast.QueryDocument) { c.forget(doc) })
	if err != nil {
		panic(err) // only for a size below 1
	}
	c.docs = docs
	return c
}

// Get implements graphql.Cache.
func (c *QueryCache) Get(_ context.Context, query string) (*ast.QueryDocument, bool) {
	return c.docs.Get(query)
}

// Add implements graphql.Cache: gqlgen adds a document once it is valid.
// Two requests that parsed the same query at once add two documents: the
// first stays, and the second's fields are not kept (its request collects
// them gqlgen's way), so that no document replaced without an eviction is
// remembered for ever.
func (c *QueryCache) Add(_ context.Context, query string, doc *ast.QueryDocument) {
	c.remember(doc)
	if found, _ := c.docs.ContainsOrAdd(query, doc); found {
		c.forget(doc)
	}
}

func (c *QueryCache) remember(doc *ast.QueryDocument) {
	remember(doc)
	for _, w := range c.watchers {
		w.Remember(doc)
	}
}

func (c *QueryCache) forget(doc *ast.QueryDocument) {
	forget(doc)
	for _, w := range c.watchers {
		w.Forget(doc)
	}
}

// documents holds the docFields of the documents in a QueryCache (nil for
// one whose fields depend on the variables).
var documents = struct {
	sync.RWMutex
	of map[*ast.QueryDocument]*docFields
}{of: map[*ast.QueryDocument]*docFields{}}

func remember(doc *ast.QueryDocument) {
	d := newDocFields(doc)
	documents.Lock()
	defer documents.Unlock()
	documents.of[doc] = d
}

func forget(doc *ast.QueryDocument) {
	documents.Lock()
	defer documents.Unlock()
	delete(documents.of, doc)
}

// fieldsOf returns the docFields of doc, nil when it is not in a QueryCache
// (gqlgen's collection then).
func fieldsOf(doc *ast.QueryDocument) *docFields {
	documents.RLock()
	defer documents.RUnlock()
	return documents.of[doc]
}

// newDocFields numbers the selection sets of doc, or returns nil if a
// directive in it decides what is collected.
func newDocFields(doc *ast.QueryDocument) *docFields {
	d := &docFields{}
	variable := false
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		d.add(set)
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				variable = variable || decides(s.Directives)
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				variable = variable || decides(s.Directives)
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				variable = variable || decides(s.Directives)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		variable = variable || decides(f.Directives)
		walk(f.SelectionSet)
	}
	if variable {
		return nil
	}
	return d
}

// decides reports whether a directive among ds decides what
// graphql.CollectFields collects.
func decides(ds ast.DirectiveList) bool {
	for _, d := range ds {
		switch d.Name {
		case "skip", "include", "defer":
			return true
		}
	}
	return false
}

// fieldsMemo is the executionContext's field graph/gen adds for
// collectFields: the document's collected fields and the request's recent
// collections.
type fieldsMemo struct {
	doc atomic.Value // *docFields, nil for a document not kept
	// recent[:n] is what the request collected: written under mu (root
	// fields may run at once), each entry before n counts it, and read
	// without a lock.
	mu     sync.Mutex
	n      atomic.Int32
	recent [maxRecent]recentFields
}

// maxRecent bounds the request's collections kept: an object type's
// selection is one entry (a phone lookup has 7), and the entries are part
// of every request's executionContext.
const maxRecent = 12

type recentKey struct {
	sel       *ast.Selection
	n         int
	satisfies *string
	ns        int
}

type recentFields struct {
	key    recentKey
	fields []graphql.CollectedField
}

func (m *fieldsMemo) seen(k recentKey) ([]graphql.CollectedField, bool) {
	for i := range m.n.Load() {
		if m.recent[i].key == k {
			return m.recent[i].fields, true
		}
	}
	return nil, false
}

func (m *fieldsMemo) keep(k recentKey, fields []graphql.CollectedField) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.n.Load(); n < maxRecent {
		m.recent[n] = recentFields{k, fields}
		m.n.Store(n + 1)
	}
}
