package guard_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/graph"
	"estatecrm/graph/guard"
)

func TestTextRefusesNUL(t *testing.T) {
	s := gqlparser.MustLoadSchema(&ast.Source{Input: `
type Query { a(s: String, l: [String], in: In): Int, b: B }
type B { c(s: String): Int }
input In { notes: String, tags: [String], deep: In }`})
	var ran atomic.Int32
	srv := handler.New(&graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return s },
		ExecFunc: func(context.Context) graphql.ResponseHandler {
			ran.Add(1)
			return graphql.OneShot(&graphql.Response{Data: []byte(`{}`)})
		},
	})
	srv.AddTransport(transport.POST{})
	srv.SetErrorPresenter(graph.ErrorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	guard.Install(srv, guard.DefaultLimits())
	srv.Use(guard.Text{})

	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		field       string // "" when it runs
	}{
		{"clean literal", `{ a(s: "王伟 \n") }`, nil, ""},
		{"clean variables", `query($in: In) { a(in: $in) }`, map[string]any{"in": map[string]any{"notes": "ok", "tags": []any{"x"}}}, ""},
		{"literal", `{ a(s: "x\u0000y") }`, nil, "s"},
		{"literal in an input object", `{ a(in: {notes: "ok", deep: {tags: ["a", "b\u0000"]}}) }`, nil, "in.deep.tags.1"},
		{"variable", `query($s: String) { a(s: $s) }`, map[string]any{"s": "\x00"}, "s"},
		{"variable inside a literal", `query($s: String) { a(in: {notes: $s}) }`, map[string]any{"s": "a\x00"}, "in.notes"},
		{"input object variable", `query($in: In) { a(in: $in) }`, map[string]any{"in": map[string]any{"notes": "ok", "deep": map[string]any{"notes": "\x00"}}}, "in.deep.notes"},
		{"list variable", `query($l: [String]) { a(l: $l) }`, map[string]any{"l": []any{"a", "b", "\x00"}}, "l.2"},
		{"nested field in a fragment", `{ b { ...F } } fragment F on B { c(s: "\u0000") }`, nil, "s"},
		{"inline fragment", `{ ... on Query { b { c(s: "\u0000") } } }`, nil, "s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran.Store(0)
			body, _ := json.Marshal(map[string]any{"query": tc.query, "variables": tc.vars})
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, r)
			var out struct {
				Errors []struct {
					Message    string
					Extensions struct{ Code, Field string }
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			if tc.field == "" {
				if len(out.Errors) > 0 || ran.Load() != 1 {
					t.Fatalf("refused a clean request: %s", rec.Body)
				}
				return
			}
			if len(out.Errors) != 1 || out.Errors[0].Extensions.Code != "BAD_USER_INPUT" || out.Errors[0].Extensions.Field != tc.field {
				t.Fatalf("want BAD_USER_INPUT on %s, got %s", tc.field, rec.Body)
			}
			if !strings.Contains(out.Errors[0].Message, "NUL") || strings.Contains(rec.Body.String(), `\u0000`) {
				t.Fatalf("the message should name the NUL and not echo it: %s", rec.Body)
			}
			if ran.Load() != 0 {
				t.Fatal("the refused operation ran")
			}
		})
	}
}
