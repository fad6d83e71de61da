package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
)

// cachedServer is an executor with a QueryCache over the elementsRoot's
// two customers; post returns its answer to a body.
type cachedServer struct {
	srv   *handler.Server
	cache *QueryCache
}

func newCachedServer(size int) cachedServer {
	root := &elementsRoot{Resolver: &Resolver{}}
	for _, id := range []string{"CU1", "CU2"} {
		root.customers = append(root.customers, &ent.Customer{ID: pulid.ID(id), Name: "n" + id})
	}
	s := cachedServer{srv: handler.New(NewExecutableSchema(Config{Resolvers: root})), cache: NewQueryCache(size)}
	s.srv.AddTransport(transport.POST{})
	s.srv.SetQueryCache(s.cache)
	s.srv.SetErrorPresenter(ErrorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return s
}

func (s cachedServer) post(body string) string {
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.srv.ServeHTTP(rec, req)
	return rec.Body.String()
}

func body(query string, vars map[string]any) string {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return string(b)
}

// The fields of a document's selection sets are collected once and serve
// every request sending it: what is kept answers the next request (here a
// customer's fields, emptied, answer an empty customer).
func TestFieldsCollectedOncePerDocument(t *testing.T) {
	const q = `{ nodes(ids: ["CU1","CU2"]) { id ... on Customer { name } } }`
	s := newCachedServer(10)
	first, second := s.post(body(q, nil)), s.post(body(q, nil))
	if first != second || !strings.Contains(first, `"name":"nCU2"`) {
		t.Fatalf("answers %s and %s, want the same two customers", first, second)
	}
	doc, ok := s.cache.Get(context.Background(), q)
	if !ok {
		t.Fatal("the document is not in the cache")
	}
	f := fieldsOf(doc)
	if f == nil {
		t.Fatal("the document's fields are not kept")
	}
	kept := 0
	f.collected.Range(func(k, _ any) bool {
		kept++
		if *k.(collectedKey).satisfies == "Customer" {
			f.collected.Store(k, []graphql.CollectedField{})
		}
		return true
	})
	if kept != 2 { // the root's, a customer's
		t.Fatalf("%d selection sets' fields kept, want 2", kept)
	}
	if third := s.post(body(q, nil)); !strings.Contains(third, `"nodes":[{},{}]`) {
		t.Errorf("third answer %s, want the kept (emptied) fields of each customer", third)
	}
}

// A document whose @include reads a variable is collected in each request:
// the field is there when the variable says so, and only then.
func TestFieldsOfADirectiveFollowTheVariables(t *testing.T) {
	const q = `query($x: Boolean!) { nodes(ids: ["CU1"]) { id ... on Customer { name @include(if: $x) } } }`
	s := newCachedServer(10)
	for i, want := range []bool{true, false, true} {
		answer := s.post(body(q, map[string]any{"x": want}))
		if got := strings.Contains(answer, `"name"`); got != want || !strings.Contains(answer, `"id":"CU1"`) {
			t.Errorf("answer %d %s: name there %v, want %v", i, answer, got, want)
		}
	}
}

// A document the cache evicts is forgotten with its fields.
func TestEvictedDocumentsAreForgotten(t *testing.T) {
	c := NewQueryCache(1)
	a, b := parsed(t, `{ nodes(ids: []) { id } }`), parsed(t, `{ node(id: "x") { id } }`)
	c.Add(context.Background(), "a", a)
	c.Add(context.Background(), "b", b)
	documents.RLock()
	_, hasA := documents.of[a]
	_, hasB := documents.of[b]
	documents.RUnlock()
	if hasA || !hasB {
		t.Errorf("after evicting a: a kept %v, b kept %v; want false, true", hasA, hasB)
	}
}

// A selection set made for a request (not one of the document's) is not a
// key of the document's fields, nor is a document with @skip kept at all.
func TestOnlyTheDocumentsSelectionSets(t *testing.T) {
	doc := parsed(t, `{ nodes(ids: []) { id ... on Customer { name } } }`)
	d := newDocFields(doc)
	if d == nil || d.n.Load() != 3 { // root, nodes, the fragment
		t.Fatalf("docFields %+v, want 3 selection sets", d)
	}
	made := append(ast.SelectionSet{}, doc.Operations[0].SelectionSet...)
	if _, ok := d.sets.Load(&made[0]); ok {
		t.Error("a copy of a selection set found among the document's")
	}
	if newDocFields(parsed(t, `query($s: Boolean!) { nodes(ids: []) { id @skip(if: $s) } }`)) != nil {
		t.Error("a document with @skip kept")
	}
}

func parsed(t *testing.T, q string) *ast.QueryDocument {
	t.Helper()
	doc, err := gqlparser.LoadQuery(NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema(), q)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// A second document added for a query the cache holds (two requests that
// parsed it at once) leaves the first in place, and is not remembered.
func TestASecondDocumentOfAQueryIsNotKept(t *testing.T) {
	c := NewQueryCache(10)
	const q = `{ nodes(ids: []) { id } }`
	first, second := parsed(t, q), parsed(t, q)
	c.Add(context.Background(), q, first)
	c.Add(context.Background(), q, second)
	if got, _ := c.Get(context.Background(), q); got != first {
		t.Error("the second document replaced the first")
	}
	if fieldsOf(first) == nil || fieldsOf(second) != nil {
		t.Errorf("kept: first %v, second %v; want the first only", fieldsOf(first) != nil, fieldsOf(second) != nil)
	}
}

// A request keeps what it collected for a selection and a type: another
// type's (an interface's implementors) or another length of the same
// selection is not taken for it, and past maxRecent nothing more is kept.
// Root fields may collect at once (run with -race).
func TestRequestKeepsItsCollectedFields(t *testing.T) {
	var m fieldsMemo
	sel := ast.SelectionSet{&ast.Field{Alias: "a"}, &ast.Field{Alias: "b"}}
	customer, unit := []string{"Customer", "Node"}, []string{"Unit", "Node"}
	fields := func(alias string) []graphql.CollectedField {
		return []graphql.CollectedField{{Field: &ast.Field{Alias: alias}}}
	}
	k := recentKey{sel: &sel[0], n: 2, satisfies: &customer[0], ns: 2}
	if _, ok := m.seen(k); ok {
		t.Fatal("seen before kept")
	}
	m.keep(k, fields("customer"))
	for name, other := range map[string]recentKey{
		"another type":   {sel: &sel[0], n: 2, satisfies: &unit[0], ns: 2},
		"a shorter set":  {sel: &sel[0], n: 1, satisfies: &customer[0], ns: 2},
		"another set":    {sel: &sel[1], n: 1, satisfies: &customer[0], ns: 2},
		"fewer of types": {sel: &sel[0], n: 2, satisfies: &customer[0], ns: 1},
	} {
		if f, ok := m.seen(other); ok {
			t.Errorf("%s: seen %v", name, f)
		}
	}
	if f, ok := m.seen(k); !ok || f[0].Alias != "customer" {
		t.Errorf("kept %v %v", f, ok)
	}

	var wg sync.WaitGroup
	sets := make([]ast.SelectionSet, 2*maxRecent)
	for i := range sets {
		sets[i] = ast.SelectionSet{&ast.Field{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.keep(recentKey{sel: &sets[i][0], n: 1, satisfies: &unit[0], ns: 2}, fields(fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	kept := 0
	for i := range sets {
		if f, ok := m.seen(recentKey{sel: &sets[i][0], n: 1, satisfies: &unit[0], ns: 2}); ok {
			kept++
			if f[0].Alias != fmt.Sprint(i) {
				t.Errorf("set %d: kept %v", i, f)
			}
		}
	}
	if kept != maxRecent-1 {
		t.Errorf("kept %d more, want %d", kept, maxRecent-1)
	}
}
