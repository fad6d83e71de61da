package guard_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// server is a handler over a schema with a mutation, wired as the API is,
// that counts the operations it runs.
func server(t *testing.T) (http.Handler, *atomic.Int32) {
	t.Helper()
	s := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { a: Int } type Mutation { b: Int } type Subscription { c: Int }`})
	var ran atomic.Int32
	srv := handler.New(&graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return s },
		ExecFunc: func(context.Context) graphql.ResponseHandler {
			ran.Add(1)
			return graphql.OneShot(&graphql.Response{Data: []byte(`{}`)})
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(guard.GET{})
	srv.AddTransport(guard.POST{})
	srv.SetErrorPresenter(graph.ErrorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	guard.Install(srv, guard.DefaultLimits())
	return srv, &ran
}

type answer struct {
	status int
	code   string
	msg    string
}

func serve(t *testing.T, h http.Handler, r *http.Request) answer {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var out struct {
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("not JSON: %s", rec.Body)
	}
	a := answer{status: rec.Code}
	if len(out.Errors) > 0 {
		a.code, a.msg = out.Errors[0].Extensions.Code, out.Errors[0].Message
	}
	return a
}

func TestTransports(t *testing.T) {
	h, ran := server(t)
	get := func(q string, op ...string) *http.Request {
		v := url.Values{"query": {q}, "operationName": op}
		return httptest.NewRequest(http.MethodGet, "/?"+v.Encode(), nil)
	}
	post := func(contentType, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		return r
	}
	put := httptest.NewRequest(http.MethodPut, "/", strings.NewReader(`{"query":"{ a }"}`))
	put.Header.Set("Content-Type", "application/json")
	for _, tc := range []struct {
		name string
		req  *http.Request
		want answer
		runs bool
	}{
		{"query over GET", get("{ a }"), answer{status: 200}, true},
		{"mutation over POST", post("application/json", `{"query":"mutation { b }"}`), answer{status: 200}, true},
		{"mutation over GET", get("mutation { b }"),
			answer{405, "BAD_USER_INPUT", "a mutation cannot be sent with GET; use POST"}, false},
		{"named mutation over GET", get("query Q { a } mutation M { b }", "M"),
			answer{405, "BAD_USER_INPUT", "a mutation cannot be sent with GET; use POST"}, false},
		{"subscription over POST", post("application/json", `{"query":"subscription { c }"}`),
			answer{200, "BAD_USER_INPUT", "a subscription needs a WebSocket (graphql-transport-ws on /query); it cannot be sent with POST"}, false},
		{"form", post("application/x-www-form-urlencoded", "query=%7B+a+%7D"),
			answer{415, "BAD_USER_INPUT", "a POST body must be application/json"}, false},
		{"PUT", put, answer{405, "BAD_USER_INPUT", "only GET and POST requests are allowed"}, false},
		{"two operations, none named", post("application/json", `{"query":"query Q { a } query R { a }"}`),
			answer{200, "BAD_USER_INPUT", "the document has 2 operations: name the one to run in operationName"}, false},
		{"an operation not in the document", post("application/json", `{"query":"query Q { a }","operationName":"R"}`),
			answer{200, "BAD_USER_INPUT", `the document has no operation named "R"`}, false},
		{"token limit", post("application/json", `{"query":"{`+strings.Repeat(" a", 1000)+` }"}`),
			answer{200, "BAD_USER_INPUT", "exceeded token limit of 1000"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran.Store(0)
			if got := serve(t, h, tc.req); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got := ran.Load() == 1; got != tc.runs {
				t.Fatalf("ran: %v, want %v", got, tc.runs)
			}
		})
	}
}

// The status codes of the GraphQL over HTTP spec: with application/json
// (or no Accept) a request that is a GraphQL request is answered 200 even
// when its document, variables or limits refuse it; with
// application/graphql-response+json that is 400, without "data"; a request
// that is not a GraphQL request (no query, not JSON) is 400 either way.
func TestGraphQLOverHTTPStatus(t *testing.T) {
	h, ran := server(t)
	const jsonType, gqlResponse = "application/json", "application/graphql-response+json"
	for _, tc := range []struct {
		name, accept, body string
		status             int
		runs               bool
	}{
		{"runs", jsonType, `{"query":"{ a }"}`, 200, true},
		{"runs, graphql-response", gqlResponse, `{"query":"{ a }"}`, 200, true},
		{"parse error", jsonType, `{"query":"{ a "}`, 200, false},
		{"parse error, no Accept", "", `{"query":"{ a "}`, 200, false},
		{"parse error, any type", "*/*", `{"query":"{ a "}`, 200, false},
		{"parse error, graphql-response", gqlResponse, `{"query":"{ a "}`, 400, false},
		{"parse error, graphql-response preferred", gqlResponse + ", application/json;q=0.9", `{"query":"{ a "}`, 400, false},
		{"validation error", jsonType, `{"query":"{ nope }"}`, 200, false},
		{"validation error, graphql-response", gqlResponse, `{"query":"{ nope }"}`, 400, false},
		{"variable error", jsonType, `{"query":"query($n: Int!) { a @include(if: true) }","variables":{"n":"x"}}`, 200, false},
		{"variable error, graphql-response", gqlResponse, `{"query":"query($n: Int!) { a @include(if: true) }","variables":{"n":"x"}}`, 400, false},
		{"no query", jsonType, `{"variables":{}}`, 400, false},
		{"no query, graphql-response", gqlResponse, `{"query":"  "}`, 400, false},
		{"not JSON", jsonType, `{"query":`, 400, false},
		{"a batch", gqlResponse, `[{"query":"{ a }"}]`, 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran.Store(0)
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			if tc.accept != "" {
				r.Header.Set("Accept", tc.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := ran.Load() == 1; got != tc.runs {
				t.Fatalf("ran: %v, want %v", got, tc.runs)
			}
			var out map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			wantType := "application/json"
			if strings.HasPrefix(tc.accept, gqlResponse) {
				wantType = gqlResponse
			}
			if got := rec.Header().Get("Content-Type"); got != wantType {
				t.Fatalf("Content-Type %q, want %q", got, wantType)
			}
			if _, hasData := out["data"]; tc.status >= 400 && wantType == gqlResponse && hasData {
				t.Fatalf("a %d graphql-response+json answer carries data: %s", tc.status, rec.Body)
			}
			if !tc.runs && len(out["errors"]) == 0 {
				t.Fatalf("refused without an error: %s", rec.Body)
			}
		})
	}
}

// A body api's limitBody read whole is decoded from its bytes; one read
// from already is decoded from where it stands, as any reader would be.
func TestPOSTDecodesABodyReadWhole(t *testing.T) {
	h, ran := server(t)
	post := func(body io.ReadCloser) answer {
		r := httptest.NewRequest(http.MethodPost, "/query", nil)
		r.Body = body
		r.Header.Set("Content-Type", "application/json")
		return serve(t, h, r)
	}
	doc := []byte(`{"query": "{ a }"}`)
	if a := post(guard.NewBody(doc)); a.status != http.StatusOK || a.code != "" || ran.Load() != 1 {
		t.Fatalf("a body read whole: %+v, %d ran", a, ran.Load())
	}
	// The first two bytes read, the rest is no JSON object.
	partly := guard.NewBody(doc)
	if _, err := partly.Read(make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	if a := post(partly); a.code != "BAD_USER_INPUT" || ran.Load() != 1 {
		t.Fatalf("a body read from: %+v, %d ran", a, ran.Load())
	}
}
