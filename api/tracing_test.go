package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/user"
)

// tracedHandler is env's API with tracing on, its spans going to tp.
func tracedHandler(env *apitest.Env, tp trace.TracerProvider) http.Handler {
	now := func() time.Time { return env.Now() }
	return api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, UploadDir: env.Uploads}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(env.Log, nil)), Signer: env.Signer,
		Sessions: auth.NewSessions(env.Client, env.Signer, time.Hour, now), APIKeys: auth.NewAPIKeys(env.Client, now),
		Now: now, Hub: env.Hub, Photos: env.Photos, Tracer: tp,
	})
}

// recordSpans returns a provider whose spans the returned recorder keeps.
func recordSpans() (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), rec
}

// tracedPost sends a GraphQL request through h with the given headers.
func tracedPost(t *testing.T, h http.Handler, query string, vars map[string]any, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func spanAttr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// spanTrees indexes spans by id and by parent.
type spanTrees struct {
	spans    []sdktrace.ReadOnlySpan
	byID     map[trace.SpanID]sdktrace.ReadOnlySpan
	children map[trace.SpanID][]sdktrace.ReadOnlySpan
}

func indexSpans(spans []sdktrace.ReadOnlySpan) spanTrees {
	tr := spanTrees{spans: spans, byID: map[trace.SpanID]sdktrace.ReadOnlySpan{}, children: map[trace.SpanID][]sdktrace.ReadOnlySpan{}}
	for _, s := range spans {
		tr.byID[s.SpanContext().SpanID()] = s
		tr.children[s.Parent().SpanID()] = append(tr.children[s.Parent().SpanID()], s)
	}
	return tr
}

func (tr spanTrees) kind(k trace.SpanKind) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tr.spans {
		if s.SpanKind() == k {
			out = append(out, s)
		}
	}
	return out
}

func (tr spanTrees) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tr.spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// server returns the request's span, failing unless there is exactly one.
func (tr spanTrees) server(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	srv := tr.kind(trace.SpanKindServer)
	if len(srv) != 1 {
		t.Fatalf("%d server spans, want 1: %s", len(srv), tr)
	}
	return srv[0]
}

func (tr spanTrees) String() string {
	var b strings.Builder
	for _, s := range tr.spans {
		fmt.Fprintf(&b, "\n  %s %q parent %s", s.SpanContext().SpanID(), s.Name(), s.Parent().SpanID())
	}
	return b.String()
}

const tracedListing = `query Listing($p: ID!, $lo: Money!, $hi: Money!) {
  units(first: 5, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $lo, listPriceLT: $hi}, orderBy: [{field: LIST_PRICE}]) {
    pageInfo { hasNextPage endCursor }
    edges { node { id number listPrice bedrooms project { name } } }
  }
}`

// One request makes one trace: the request's span with its request id, a
// span for each resolver that ran statements (and for no other field), and
// the statements' spans under them.
func TestTraceOfOneRequest(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 3, 4)
	_, agent := env.User(t, user.RoleAGENT, "agent.hz1", p)
	token, _, err := env.Signer.Issue(agent)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := recordSpans()
	h := tracedHandler(env, tp)

	res := tracedPost(t, h, tracedListing, map[string]any{"p": p.ID, "lo": "3000000", "hi": "4000000"},
		"Authorization", "Bearer "+token, "X-Request-Id", "trace-test-1")
	if res.Code != http.StatusOK || strings.Contains(res.Body.String(), `"errors"`) {
		t.Fatalf("listing: %d %s", res.Code, res.Body)
	}
	tr := indexSpans(rec.Ended())
	srv := tr.server(t)
	if id, _ := spanAttr(srv, "request_id"); id.AsString() != "trace-test-1" {
		t.Errorf("request span's request_id = %q, want the request's id trace-test-1", id.AsString())
	}
	if srv.Name() != "query Listing" || srv.Parent().IsValid() {
		t.Errorf("request span %q with parent %v, want the root span named query Listing", srv.Name(), srv.Parent())
	}
	if st, _ := spanAttr(srv, "http.response.status_code"); st.AsInt64() != 200 {
		t.Errorf("request span's status code %v", st)
	}
	for _, s := range tr.spans {
		if s.SpanContext().TraceID() != srv.SpanContext().TraceID() {
			t.Errorf("span %q is in trace %s, the request in %s", s.Name(), s.SpanContext().TraceID(), srv.SpanContext().TraceID())
		}
	}
	units := tr.named("Query.units")
	if len(units) != 1 || units[0].Parent().SpanID() != srv.SpanContext().SpanID() {
		t.Fatalf("want one Query.units span under the request's: %s", tr)
	}
	if path, _ := spanAttr(units[0], "graphql.field.path"); path.AsString() != "units" {
		t.Errorf("Query.units's path %q", path.AsString())
	}
	// Its statements hang from it; the project's name came with the units
	// (eager loading), so Unit.project ran none and has no span.
	var selects int
	for _, s := range tr.children[units[0].SpanContext().SpanID()] {
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("under Query.units: %s span %q", s.SpanKind(), s.Name())
		}
		if s.Name() == "SELECT units" {
			selects++
			text, _ := spanAttr(s, "db.query.text")
			if !strings.Contains(text.AsString(), "FROM") || strings.Contains(text.AsString(), "3000000") {
				t.Errorf("statement text %q: want the SQL without its values", text.AsString())
			}
			if sys, _ := spanAttr(s, "db.system.name"); sys.AsString() != map[string]string{"postgres": "postgresql", "sqlite3": "sqlite"}[env.DB.Dialect] {
				t.Errorf("db.system.name %q on %s", sys.AsString(), env.DB.Dialect)
			}
		}
	}
	if selects == 0 {
		t.Errorf("no SELECT units under Query.units: %s", tr)
	}
	for _, s := range tr.kind(trace.SpanKindInternal) {
		if len(tr.children[s.SpanContext().SpanID()]) == 0 {
			t.Errorf("resolver span %q has no statement: only resolvers that touch the database get one", s.Name())
		}
	}
	if len(tr.named("Unit.project")) != 0 || len(tr.named("Unit.number")) != 0 {
		t.Errorf("spans for fields read from loaded rows: %s", tr)
	}
	// Every statement is under the request, directly (authentication) or
	// through a resolver.
	for _, s := range tr.kind(trace.SpanKindClient) {
		parent, ok := tr.byID[s.Parent().SpanID()]
		if !ok || parent.SpanKind() == trace.SpanKindClient {
			t.Errorf("statement %q hangs from %v, not the request or a resolver", s.Name(), s.Parent().SpanID())
		}
	}
	// The request's log line leads to its trace.
	if !strings.Contains(env.Log.String(), `"trace_id":"`+srv.SpanContext().TraceID().String()+`"`) {
		t.Errorf("the request's log line has no trace_id %s: %s", srv.SpanContext().TraceID(), env.Log)
	}
}

// A mutation's statements run in its transaction: BEGIN and COMMIT under
// the request, the INSERT under the mutation's resolver; no span says the
// phone or the name that were registered, whatever the attribute.
func TestTraceOfAMutationHoldsNoPersonalData(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	_, agent := env.User(t, user.RoleAGENT, "agent.hz1", p)
	token, _, err := env.Signer.Issue(agent)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := recordSpans()
	h := tracedHandler(env, tp)
	// With an Idempotency-Key the mutation runs in the request's transaction
	// on PostgreSQL too (alone without one it runs in none: graph/tx.go).
	res := tracedPost(t, h, registerMutation, map[string]any{"p": p.ID, "name": "欧阳娜娜", "phone": "139 1234 5678"},
		"Authorization", "Bearer "+token, "X-Request-Id", "register-1", // no random id that might hold the digits
		"Idempotency-Key", "register-key-1")
	if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), "+8613912345678") {
		t.Fatalf("register: %d %s", res.Code, res.Body)
	}
	// The customer read back by phone suffix, the parameter of a filter.
	res = tracedPost(t, h, `query($d: String!) { customers(first: 5, where: {phoneLast4: $d}) { edges { node { name phone } } } }`,
		map[string]any{"d": "5678"}, "Authorization", "Bearer "+token, "X-Request-Id", "lookup-1")
	if !strings.Contains(res.Body.String(), "欧阳娜娜") {
		t.Fatalf("customers: %s", res.Body)
	}
	spans := rec.Ended()
	tr := indexSpans(spans)
	mut := tr.named("Mutation.registerCustomer")
	if len(mut) != 1 {
		t.Fatalf("want one Mutation.registerCustomer span: %s", tr)
	}
	var server sdktrace.ReadOnlySpan
	for _, s := range tr.kind(trace.SpanKindServer) {
		if s.SpanContext().TraceID() == mut[0].SpanContext().TraceID() {
			server = s
		}
	}
	if server == nil || mut[0].Parent().SpanID() != server.SpanContext().SpanID() {
		t.Fatalf("Mutation.registerCustomer is not under its request: %s", tr)
	}
	under := func(parent sdktrace.ReadOnlySpan, name string) bool {
		for _, s := range tr.children[parent.SpanContext().SpanID()] {
			if s.Name() == name {
				return true
			}
		}
		return false
	}
	// On PostgreSQL the customer's INSERT is a data-modifying CTE of the
	// attribution history's (sales.createWithHistory): a "WITH" span.
	insertsCustomer := false
	for _, s := range tr.children[mut[0].SpanContext().SpanID()] {
		for _, kv := range s.Attributes() {
			insertsCustomer = insertsCustomer || s.Name() == "INSERT customers" ||
				s.Name() == "WITH" && strings.Contains(kv.Value.Emit(), `INSERT INTO "customers"`)
		}
	}
	if !under(server, "BEGIN") || !under(server, "COMMIT") || !insertsCustomer {
		t.Errorf("want BEGIN and COMMIT under the request, the INSERT of customers under the resolver: %s", tr)
	}
	for _, s := range spans {
		seen := []string{s.Name(), s.Status().Description}
		for _, kv := range s.Attributes() {
			seen = append(seen, kv.Value.Emit())
		}
		for _, e := range s.Events() {
			seen = append(seen, e.Name)
			for _, kv := range e.Attributes {
				seen = append(seen, kv.Value.Emit())
			}
		}
		for _, v := range seen {
			for _, secret := range []string{"13912345678", "1234 5678", "欧阳娜娜", "5678"} {
				if strings.Contains(v, secret) {
					t.Errorf("span %q says %q: %q", s.Name(), secret, v)
				}
			}
		}
	}
}

// A request that comes with a W3C traceparent continues the caller's trace.
func TestTraceContinuesTheCallersTrace(t *testing.T) {
	env := apitest.New(t)
	_, agent := env.User(t, user.RoleAGENT, "agent.hz1")
	token, _, err := env.Signer.Issue(agent)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := recordSpans()
	res := tracedPost(t, tracedHandler(env, tp), `query Me { me { name } }`, nil, "Authorization", "Bearer "+token,
		"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if res.Code != http.StatusOK {
		t.Fatalf("me: %d %s", res.Code, res.Body)
	}
	srv := indexSpans(rec.Ended()).server(t)
	if got := srv.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id %s, want the caller's", got)
	}
	if got := srv.Parent(); got.SpanID().String() != "00f067aa0ba902b7" || !got.IsRemote() {
		t.Errorf("parent %v, want the caller's span 00f067aa0ba902b7", got)
	}
}

// Errors are recorded by their code, never their message: a refusal
// inside GraphQL on the request's and the resolver's spans, one before it
// (a bad token) on the request's.
func TestTraceRecordsErrorCodes(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	other := env.Project(t, "西湖·雅苑", 1, 1, 1)
	_, agent := env.User(t, user.RoleAGENT, "agent.hz1", p)
	token, _, err := env.Signer.Issue(agent)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := recordSpans()
	h := tracedHandler(env, tp)

	// With an Idempotency-Key, in the request's transaction on PostgreSQL too
	// (graph/tx.go), which the refusal rolls back.
	res := tracedPost(t, h, registerMutation, map[string]any{"p": other.ID, "name": "王伟", "phone": "13800138000"},
		"Authorization", "Bearer "+token, "Idempotency-Key", "register-key-2")
	var body struct {
		Errors []apitest.Error
	}
	if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
		t.Fatalf("register in another project: %s", res.Body)
	}
	code := body.Errors[0].Code()
	tr := indexSpans(rec.Ended())
	srv := tr.server(t)
	if et, _ := spanAttr(srv, "error.type"); et.AsString() != code || srv.Status().Code != codes.Error || srv.Status().Description != code {
		t.Errorf("request span: error.type %q, status %v; want %s", et.AsString(), srv.Status(), code)
	}
	if cs, _ := spanAttr(srv, "graphql.error.codes"); len(cs.AsStringSlice()) != 1 || cs.AsStringSlice()[0] != code {
		t.Errorf("graphql.error.codes %v, want [%s]", cs.AsStringSlice(), code)
	}
	mut := tr.named("Mutation.registerCustomer")
	if len(mut) != 1 {
		t.Fatalf("want a span of the resolver, which looked the project up: %s", tr)
	}
	if et, _ := spanAttr(mut[0], "error.type"); et.AsString() != code || mut[0].Status().Code != codes.Error {
		t.Errorf("resolver span: error.type %q, status %v; want %s", et.AsString(), mut[0].Status(), code)
	}
	if !tr.has("ROLLBACK") || tr.has("COMMIT") {
		t.Errorf("a refused mutation rolls back: %s", tr)
	}

	rec.Reset()
	res = tracedPost(t, h, `{ me { name } }`, nil, "Authorization", "Bearer not-a-token")
	if res.Code != http.StatusUnauthorized {
		t.Fatalf("bad token: %d %s", res.Code, res.Body)
	}
	srv = indexSpans(rec.Ended()).server(t)
	if et, _ := spanAttr(srv, "error.type"); et.AsString() != "UNAUTHENTICATED" {
		t.Errorf("bad token: request span error.type %q, want UNAUTHENTICATED", et.AsString())
	}
	if st, _ := spanAttr(srv, "http.response.status_code"); st.AsInt64() != http.StatusUnauthorized {
		t.Errorf("bad token: status code %v", st)
	}
}

func (tr spanTrees) has(name string) bool { return len(tr.named(name)) > 0 }

// With tracing off there are no spans, even for a request that comes with
// a traceparent and with a global provider installed (nothing in the
// server uses the global one), and the log line has no trace id.
func TestTracingOffMakesNoSpans(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	_, agent := env.User(t, user.RoleAGENT, "agent.hz1", p)
	token, _, err := env.Signer.Issue(agent)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := recordSpans()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	res := tracedPost(t, env.Handler, tracedListing, map[string]any{"p": p.ID, "lo": "3000000", "hi": "4000000"},
		"Authorization", "Bearer "+token, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if res.Code != http.StatusOK || strings.Contains(res.Body.String(), `"errors"`) {
		t.Fatalf("listing: %d %s", res.Code, res.Body)
	}
	res = tracedPost(t, env.Handler, registerMutation, map[string]any{"p": p.ID, "name": "王伟", "phone": "13800138000"}, "Authorization", "Bearer "+token)
	if res.Code != http.StatusOK || strings.Contains(res.Body.String(), `"errors"`) {
		t.Fatalf("register: %d %s", res.Code, res.Body)
	}
	if n := len(rec.Started()); n != 0 {
		t.Errorf("tracing off: %d spans", n)
	}
	if strings.Contains(env.Log.String(), "trace_id") {
		t.Errorf("tracing off: a log line with a trace id: %s", env.Log)
	}
}
