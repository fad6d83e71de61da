// Package apitest drives the real HTTP handler in-process over a database of
// the test's own (see dbtest), for black-box tests of the API.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"estatecrm/api"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
)

// Env is one test's server.
type Env struct {
	DB      *database.DB
	Client  *ent.Client
	Counter *dbtest.Counter
	Handler http.Handler
	// Log holds what the server logged.
	Log *bytes.Buffer
}

// New starts a handler over a new, migrated database.
func New(t testing.TB) *Env {
	t.Helper()
	db := dbtest.Open(t)
	counter := dbtest.NewCounter(db.Driver)
	client := ent.NewClient(ent.Driver(counter))
	var log bytes.Buffer
	h := api.New(api.Config{
		GraphiQL:       true,
		Introspection:  true,
		RequestTimeout: 30 * time.Second,
		MaxBodyBytes:   1 << 20,
	}, api.Deps{Client: client, DB: db.SQL, Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	return &Env{DB: db, Client: client, Counter: counter, Handler: h, Log: &log}
}

// System returns a context acting as the server itself, for fixtures.
func System() context.Context { return auth.SystemContext(context.Background()) }

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns extensions.code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Field returns extensions.field.
func (e Error) Field() string { s, _ := e.Extensions["field"].(string); return s }

// Response is a decoded GraphQL response.
type Response struct {
	Status int
	Body   []byte
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Decode unmarshals data into v, failing the test on errors.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %s", r.Body)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// OnlyError returns the single error of the response, failing otherwise.
func (r *Response) OnlyError(t testing.TB) Error {
	t.Helper()
	if len(r.Errors) != 1 {
		t.Fatalf("want exactly one error, got %s", r.Body)
	}
	return r.Errors[0]
}

// Query posts a GraphQL request as JSON.
func (e *Env) Query(t testing.TB, query string, vars map[string]any) *Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return e.Post(t, "application/json", body)
}

// Post sends a raw POST /query.
func (e *Env) Post(t testing.TB, contentType string, body []byte) *Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return e.Do(t, req)
}

// Do serves req and decodes the answer.
func (e *Env) Do(t testing.TB, req *http.Request) *Response {
	t.Helper()
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	out := &Response{Status: res.StatusCode, Body: b}
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("response is not JSON: %s", b)
		}
	}
	return out
}
