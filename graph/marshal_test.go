package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/sales"
)

// elementsRoot is the real resolver root with the two resolvers the tests
// need replaced: nodes(ids:) answers customers held in memory, and
// Customer.churnRisk / attribution fail for the customer fail names.
type elementsRoot struct {
	*Resolver
	customers []ent.Noder
	fail      pulid.ID
	panics    bool

	mu      sync.Mutex
	offMain int // resolver calls that ran on another goroutine than the request's
	calls   []pulid.ID
}

func (r *elementsRoot) Query() QueryResolver       { return elementsQuery{&queryResolver{r.Resolver}, r} }
func (r *elementsRoot) Customer() CustomerResolver { return elementsCustomer{r} }

type elementsQuery struct {
	*queryResolver
	root *elementsRoot
}

func (q elementsQuery) Nodes(context.Context, []pulid.ID) ([]ent.Noder, error) {
	return q.root.customers, nil
}

// Customers answers the same customers as a connection.
func (q elementsQuery) Customers(context.Context, *entgql.Cursor[pulid.ID], *int, *entgql.Cursor[pulid.ID], *int, []*ent.CustomerOrder, *ent.CustomerWhereInput) (*ent.CustomerConnection, error) {
	conn := &ent.CustomerConnection{TotalCount: len(q.root.customers)}
	for _, n := range q.root.customers {
		conn.Edges = append(conn.Edges, &ent.CustomerEdge{Node: n.(*ent.Customer)})
	}
	return conn, nil
}

type elementsCustomer struct{ root *elementsRoot }

// seen records a call, and whether it runs on the goroutine serving the
// request: that goroutine's stack holds the test that called ServeHTTP.
func (c elementsCustomer) seen(obj *ent.Customer) {
	c.root.mu.Lock()
	defer c.root.mu.Unlock()
	c.root.calls = append(c.root.calls, obj.ID)
	if !strings.Contains(string(debug.Stack()), "graph.serveElements(") {
		c.root.offMain++
	}
}

func (c elementsCustomer) Attribution(_ context.Context, obj *ent.Customer) (*sales.Attribution, error) {
	c.seen(obj)
	return &sales.Attribution{}, nil
}

// SameAs is not under test here.
func (c elementsCustomer) SameAs(context.Context, *ent.Customer) ([]*ent.Customer, error) {
	return nil, nil
}

// Visits is not under test here: the real resolver's.
func (c elementsCustomer) Visits(ctx context.Context, obj *ent.Customer, after *entgql.Cursor[pulid.ID], first *int, before *entgql.Cursor[pulid.ID], last *int, orderBy []*ent.VisitOrder) (*ent.VisitConnection, error) {
	return (&customerResolver{c.root.Resolver}).Visits(ctx, obj, after, first, before, last, orderBy)
}

func (c elementsCustomer) ConsentHistory(_ context.Context, obj *ent.Customer) ([]*ent.ConsentEvent, error) {
	c.seen(obj)
	return nil, nil
}

func (c elementsCustomer) ChurnRisk(_ context.Context, obj *ent.Customer) (bool, error) {
	c.seen(obj)
	if obj.ID != c.root.fail {
		return false, nil
	}
	if c.root.panics {
		panic("churn model exploded")
	}
	return false, apperr.New(apperr.Conflict, "no churn figure for this customer")
}

type elementsAnswer struct {
	Data struct {
		Nodes []*struct {
			ID        string
			ChurnRisk *bool
		}
	}
	Errors []struct {
		Message    string
		Path       []any
		Extensions struct{ Code string }
	}
}

// serveElements asks nodes(ids:) for five customers, the third of which
// fails, through the generated executor, on the test's goroutine.
func serveElements(t *testing.T, panics bool) (*elementsRoot, elementsAnswer) {
	t.Helper()
	return serveQuery(t, panics, `{"query":"{ nodes(ids: [\"CU1\",\"CU2\",\"CU3\",\"CU4\",\"CU5\"]) { id ... on Customer { attribution { protectedUntil } churnRisk } } }"}`)
}

// serveQuery posts q to the generated executor over the elementsRoot.
func serveQuery(t *testing.T, panics bool, q string) (*elementsRoot, elementsAnswer) {
	t.Helper()
	root := &elementsRoot{Resolver: &Resolver{}, panics: panics}
	for _, id := range []pulid.ID{"CU1", "CU2", "CU3", "CU4", "CU5"} {
		root.customers = append(root.customers, &ent.Customer{ID: id})
	}
	root.fail = "CU3"
	var out elementsAnswer
	if err := json.Unmarshal(serveRoot(t, root, q), &out); err != nil {
		t.Fatal(err)
	}
	return root, out
}

// serveRoot posts q to the generated executor over root and returns the
// answer.
func serveRoot(t *testing.T, root *elementsRoot, q string) []byte {
	t.Helper()
	srv := handler.New(NewExecutableSchema(Config{Resolvers: root}))
	srv.AddTransport(transport.POST{})
	srv.SetErrorPresenter(ErrorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv.SetRecoverFunc(func(context.Context, any) error { return errors.New("internal error") })
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(q))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	t.Logf("%s", rec.Body)
	return rec.Body.Bytes()
}

// An error in the third element of a list names that element's index in
// its path, and makes that element null (churnRisk is non-null, a node is
// nullable), the others answered; a panic there does the same as INTERNAL.
// Every element's resolvers run in order on the goroutine serving the
// request (no goroutine per element, nor per resolver field).
func TestListElementErrorPath(t *testing.T) {
	for _, tc := range []struct {
		name   string
		panics bool
		code   string
	}{{"error", false, "CONFLICT"}, {"panic", true, "INTERNAL"}} {
		t.Run(tc.name, func(t *testing.T) {
			root, out := serveElements(t, tc.panics)
			if len(out.Errors) != 1 {
				t.Fatalf("%d errors, want 1: %+v", len(out.Errors), out.Errors)
			}
			e := out.Errors[0]
			if want := []any{"nodes", float64(2), "churnRisk"}; !equalPath(e.Path, want) || e.Extensions.Code != tc.code {
				t.Errorf("error %+v, want path %v and code %s", e, want, tc.code)
			}
			if len(out.Data.Nodes) != 5 {
				t.Fatalf("%d nodes, want 5", len(out.Data.Nodes))
			}
			for i, n := range out.Data.Nodes {
				if i == 2 {
					if n != nil {
						t.Errorf("nodes[2] = %+v, want null: its non-null churnRisk failed", n)
					}
					continue
				}
				if n == nil || n.ID != string(root.customers[i].(*ent.Customer).ID) {
					t.Errorf("nodes[%d] = %+v, want %s", i, n, root.customers[i].(*ent.Customer).ID)
				}
			}
			if root.offMain != 0 {
				t.Errorf("%d of %d resolver calls ran on another goroutine than the request's", root.offMain, len(root.calls))
			}
			want := []pulid.ID{"CU1", "CU1", "CU2", "CU2", "CU3", "CU3", "CU4", "CU4", "CU5", "CU5"}
			if !equalIDs(root.calls, want) {
				t.Errorf("resolver calls %v, want %v", root.calls, want)
			}
		})
	}
}

// Fields read from a struct field of their object (a connection's edges,
// an edge's node) keep their place in the path of an error below them,
// and a null below a non-null field stops at the nullable node.
func TestStructFieldsInErrorPath(t *testing.T) {
	_, out := serveQuery(t, false, `{"query":"{ customers(first: 5) { totalCount edges { node { id churnRisk } } } }"}`)
	if len(out.Errors) != 1 {
		t.Fatalf("%d errors, want 1: %+v", len(out.Errors), out.Errors)
	}
	if want := []any{"customers", "edges", float64(2), "node", "churnRisk"}; !equalPath(out.Errors[0].Path, want) {
		t.Errorf("error path %v, want %v", out.Errors[0].Path, want)
	}
}

// A Float! that JSON cannot hold (a NaN area, which no write lets in) is an
// error at the field's path and a null, which makes its unit null; the
// other unit's area is written as it is. The area is read without a field
// context, which only the NaN makes (graph/gen's reportsNull).
func TestFloatThatJSONCannotHoldIsAnError(t *testing.T) {
	root := &elementsRoot{Resolver: &Resolver{}, customers: []ent.Noder{
		&ent.Unit{ID: "UN1", GrossArea: 89.25}, &ent.Unit{ID: "UN2", GrossArea: math.NaN()},
	}}
	var out struct {
		Data struct {
			Nodes []*struct{ GrossArea *float64 }
		}
		Errors []struct{ Path []any }
	}
	if err := json.Unmarshal(serveRoot(t, root, `{"query":"{ nodes(ids: [\"UN1\",\"UN2\"]) { ... on Unit { grossArea } } }"}`), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Data.Nodes) != 2 || out.Data.Nodes[0] == nil || out.Data.Nodes[0].GrossArea == nil || *out.Data.Nodes[0].GrossArea != 89.25 {
		t.Fatalf("nodes %+v, want the first unit's area 89.25", out.Data.Nodes)
	}
	if out.Data.Nodes[1] != nil {
		t.Errorf("the unit of a NaN area is %+v, want null", out.Data.Nodes[1])
	}
	if len(out.Errors) != 1 || !equalPath(out.Errors[0].Path, []any{"nodes", float64(1), "grossArea"}) {
		t.Errorf("errors %+v, want one at nodes.1.grossArea", out.Errors)
	}
}

// An edge read from its object's getter that fails (here customers whose
// project was not loaded, with no client to load it: a panic) is an
// INTERNAL error at the edge of each, which is null, and so is each node
// it made invalid (project is non-null).
func TestEdgeGetterFailureInPath(t *testing.T) {
	_, out := serveQuery(t, false, `{"query":"{ nodes(ids: [\"CU1\"]) { id ... on Customer { project { name } } } }"}`)
	if len(out.Errors) != 5 || len(out.Data.Nodes) != 5 {
		t.Fatalf("%d errors and %d nodes, want 5 and 5 (the test's nodes answers five): %+v", len(out.Errors), len(out.Data.Nodes), out)
	}
	for i, e := range out.Errors {
		if want := []any{"nodes", float64(i), "project"}; !equalPath(e.Path, want) || e.Extensions.Code != "INTERNAL" {
			t.Errorf("error %+v, want INTERNAL at %v", e, want)
		}
		if out.Data.Nodes[i] != nil {
			t.Errorf("nodes[%d] = %+v, want null", i, out.Data.Nodes[i])
		}
	}
}

// An @defer fragment under an object is answered in place, in the one
// response: nothing resolves on its own any more, so nothing is deferred.
func TestDeferAnsweredInPlace(t *testing.T) {
	_, out := serveQuery(t, false, `{"query":"{ nodes(ids: [\"CU1\"]) { id ... on Customer @defer { churnRisk } } }"}`)
	if len(out.Data.Nodes) != 5 || out.Data.Nodes[0] == nil || out.Data.Nodes[0].ChurnRisk == nil {
		t.Fatalf("got %+v, want the deferred churnRisk in the answer", out)
	}
}

// A panic while marshalling one element, outside any field's own recovery,
// makes that element null with an error at its index; the others are
// marshalled.
func TestMarshalInOrderRecoversElement(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, func(context.Context, any) error {
		return errors.New("internal error")
	})
	ctx = graphql.WithOperationContext(ctx, &graphql.OperationContext{RecoverFunc: func(context.Context, any) error {
		return errors.New("internal error")
	}})
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "units"}}})
	var order []int
	ret := marshalInOrder(ctx, 4, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		order = append(order, i)
		if i == 2 {
			panic("boom")
		}
		return graphql.MarshalInt(i)
	})
	if ret[2] != graphql.Null || ret[0] == graphql.Null || ret[3] == graphql.Null {
		t.Errorf("elements %v, want the third null only", ret)
	}
	if !equalInts(order, []int{0, 1, 2, 3}) {
		t.Errorf("marshalled %v, want 0 1 2 3 in order", order)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || errs[0].Path.String() != "units[2]" {
		t.Errorf("errors %v, want one at units[2]", errs)
	}
}

// The executor is generated by graph/gen: no list of objects marshalled
// with a goroutine per element, and no field of a non-root object resolved
// on a goroutine of its own. A `go tool gqlgen` run in place of
// `go generate ./graph` brings them back.
func TestGeneratedInOrder(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	generated := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "// Code generated by github.com/99designs/gqlgen, DO NOT EDIT.") {
			continue
		}
		generated++
		for _, call := range []string{"MarshalSliceConcurrently(", ".ResolveConcurrently(", ".Concurrently(", "NewDeferredGroup("} {
			if n := strings.Count(string(b), call); n > 0 {
				t.Errorf("%s calls %s %d times", f, call, n)
			}
		}
		if n := strings.Count(string(b), "marshalInOrder("); n == 0 {
			t.Errorf("%s never calls marshalInOrder", f)
		}
	}
	if generated == 0 {
		t.Fatal("no gqlgen-generated file in graph/")
	}
}

func equalPath(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func equalIDs(a, b []pulid.ID) bool { return strings.Join(ids(a), ",") == strings.Join(ids(b), ",") }

func ids(s []pulid.ID) []string {
	out := make([]string, len(s))
	for i, id := range s {
		out[i] = string(id)
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
