package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
)

// A request over a limit is refused before anything runs: one coded error,
// no data, no SQL, and nothing of the request echoed back.
func refused(t *testing.T, env *apitest.Env, res *apitest.Response, status int, message, sent string) {
	t.Helper()
	e := res.OnlyError(t)
	if e.Code() != "BAD_USER_INPUT" {
		t.Fatalf("want BAD_USER_INPUT, got %.300s", res.Body)
	}
	if res.Status != status {
		t.Fatalf("want HTTP %d, got %d: %.300s", status, res.Status, res.Body)
	}
	if !strings.Contains(e.Message, message) {
		t.Fatalf("message %q should say %q", e.Message, message)
	}
	if len(res.Data) > 0 && string(res.Data) != "null" {
		t.Fatalf("a refused request returned data: %.300s", res.Data)
	}
	if n := env.Counter.Count(); n != 0 {
		t.Fatalf("a refused request ran %d SQL statements", n)
	}
	if sent != "" && strings.Contains(string(res.Body), sent) {
		t.Fatalf("the response echoes the request: %.300s", res.Body)
	}
}

// allowed fails if the limits refused res. Errors from running it (an
// anonymous request once authentication is in) are not the limits' concern.
func allowed(t *testing.T, res *apitest.Response) {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("want HTTP 200, got %d: %.300s", res.Status, res.Body)
	}
	for _, e := range res.Errors {
		if c := e.Code(); c == "BAD_USER_INPUT" || c == "INTERNAL" {
			t.Fatalf("refused: %.300s", res.Body)
		}
	}
}

// nested returns a query on projects whose deepest field, __typename, is
// depth deep, with page sizes of 1 so that only its depth matters.
func nested(depth int) string {
	path := []string{"projects(first: 1)", "edges", "node"}
	for cycle := []string{"units(first: 1)", "edges", "node", "project"}; len(path) < depth-1; {
		path = append(path, cycle[(len(path)-3)%len(cycle)])
	}
	q := "__typename"
	for i := len(path) - 1; i >= 0; i-- {
		q = path[i] + " { " + q + " }"
	}
	return "{ " + q + " }"
}

func aliased(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&b, "t%d: __typename ", i)
	}
	return b.String() + "}"
}

func directed(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for range n {
		b.WriteString("__typename @include(if: true) ")
	}
	return b.String() + "}"
}

const (
	bigPages   = `{ projects(first: 100) { edges { node { units(first: 100) { edges { node { id } } } } } } }`
	smallPages = `{ projects(first: 10) { edges { node { units(first: 20) { edges { node { id } } } } } } }`
)

func TestQueryLimits(t *testing.T) {
	env := apitest.New(t)
	env.Project(t, "滨江·云玺", 1, 2, 2)
	for _, tc := range []struct {
		name, ok, over, message string
	}{
		{"depth", nested(10), nested(11), "query depth 11 is over the limit of 10"},
		{"aliases", aliased(15), aliased(16), "16 aliases are over the limit of 15"},
		{"directives", directed(50), directed(51), "51 directives are over the limit of 50"},
		// projects 1 + 100 × (edges 1 + node 1 + units (1 + 100 × 3)); 1 + 10 × (2 + 1 + 20 × 3).
		{"cost", smallPages, bigPages, "query cost 30301 is over the limit of 5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allowed(t, env.Query(t, tc.ok, nil))
			env.Counter.Reset()
			res := env.Query(t, tc.over, nil)
			refused(t, env, res, http.StatusOK, tc.message, tc.over) // GraphQL over HTTP: a refused document is 200 for application/json
			if e := res.Errors[0]; e.Extensions["field"] != nil {
				t.Fatalf("a limit names no input field: %s", res.Body)
			}
		})
	}
}

func TestCostIsReported(t *testing.T) {
	env := apitest.New(t)
	env.Project(t, "滨江·云玺", 1, 2, 2)
	cost := func(res *apitest.Response) string {
		t.Helper()
		var out struct {
			Extensions struct{ Cost json.RawMessage }
		}
		if err := json.Unmarshal(res.Body, &out); err != nil {
			t.Fatal(err)
		}
		return string(out.Extensions.Cost)
	}
	res := env.Query(t, smallPages, nil)
	allowed(t, res)
	if got := cost(res); got != `{"requested":631,"limit":5000}` {
		t.Fatalf("extensions.cost = %s: %s", got, res.Body)
	}
	res = env.Query(t, bigPages, nil)
	if got := cost(res); got != `{"requested":30301,"limit":5000}` {
		t.Fatalf("a refused request should report its cost too, got %s", got)
	}
}

// Fragments each spreading the next twice expand to 2⁶⁰ fields in a
// 600-token document: measuring them must not expand them.
func TestFragmentBombIsRefusedQuickly(t *testing.T) {
	env := apitest.New(t)
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range 60 {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	b.WriteString("fragment F60 on Query { __typename }\n")
	env.Counter.Reset()
	done := make(chan *apitest.Response, 1)
	go func() { done <- env.Query(t, b.String(), nil) }()
	select {
	case res := <-done:
		refused(t, env, res, http.StatusOK, "query cost over", "fragment")
	case <-time.After(10 * time.Second):
		t.Fatal("not answered in 10s: is guard.Install called before srv.Use(guard.PageSize{…})?")
	}
}

func TestDocumentAndRequestLimits(t *testing.T) {
	env := apitest.New(t)
	get := func(query string) *apitest.Response {
		return env.Do(t, httptest.NewRequest(http.MethodGet, "/query?query="+url.QueryEscape(query), nil))
	}
	for _, tc := range []struct {
		name    string
		send    func() *apitest.Response
		status  int
		message string
		sent    string
	}{
		{"too many tokens", func() *apitest.Response { return env.Query(t, directed(2000), nil) },
			http.StatusOK, "exceeded token limit of 1000", "@include"},
		{"body over 1 MiB", func() *apitest.Response {
			return env.Post(t, "application/json", []byte(`{"query":"{ __typename }","x":"`+strings.Repeat("x", 2<<20)+`"}`))
		}, http.StatusRequestEntityTooLarge, "larger than", "xxxx"},
		{"batch", func() *apitest.Response {
			return env.Post(t, "application/json", []byte(`[{"query":"{ a: __typename }"},{"query":"{ b: __typename }"}]`))
		}, http.StatusBadRequest, "could not be decoded", "__typename"},
		{"form", func() *apitest.Response {
			return env.Post(t, "application/x-www-form-urlencoded", []byte("query="+url.QueryEscape("{ __typename }")))
		}, http.StatusUnsupportedMediaType, "application/json", "__typename"},
		// Limits refuses it, for a request that came through guard.GET, and
		// GraphQL over HTTP says 405.
		{"mutation over GET", func() *apitest.Response { return get("mutation { __typename }") },
			http.StatusMethodNotAllowed, "mutation", "__typename"},
		{"no query", func() *apitest.Response { return env.Post(t, "application/json", []byte(`{"variables":{}}`)) },
			http.StatusBadRequest, "needs a query", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env.Counter.Reset()
			refused(t, env, tc.send(), tc.status, tc.message, tc.sent)
		})
	}
	if strings.Contains(env.Log.String(), "panic") {
		t.Fatalf("a refusal panicked: %.500s", env.Log.String())
	}
	// A method no transport takes gets a code too.
	env.Counter.Reset()
	req := httptest.NewRequest(http.MethodPut, "/query", strings.NewReader(`{"query":"{ __typename }"}`))
	req.Header.Set("Content-Type", "application/json")
	refused(t, env, env.Do(t, req), http.StatusMethodNotAllowed, "only GET and POST", "__typename")
}
