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
	"os"
	"testing"
	"time"

	"estatecrm/api"
	"estatecrm/auth"
	"estatecrm/cost"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/live"
	"estatecrm/storage"
	"estatecrm/storage/s3test"
	"estatecrm/webhook"
)

// Env is one test's server.
type Env struct {
	DB      *database.DB
	Client  *ent.Client
	Counter *dbtest.Counter
	// Checks counts the statements of the revocation checks, which Counter
	// leaves out: a test of what an operation costs should not see whether
	// its caller's session was in the cache.
	Checks  *dbtest.Counter
	Handler http.Handler
	Signer  *auth.Signer
	// Now is the clock of sessions and tokens; tests may move it.
	Now func() time.Time
	// Log holds what the server logged.
	Log *bytes.Buffer
	Hub *live.Hub
	// Photos is the photo store: a directory of its own, or a bucket of its
	// own on an S3 server in the test's process when TEST_BLOB_STORE=s3.
	Photos storage.Store
	// S3 is that server (nil for a directory): a test stops it or cuts
	// its uploads off to see the store fail.
	S3 *s3test.Server
	// Uploads is where uploads in flight are kept.
	Uploads string
	// Sockets are the handler's open WebSockets (closed by Sockets.Shutdown,
	// as the server does on SIGTERM).
	Sockets *api.Sockets
}

// listeningHub makes the first server's hub and a new one for the second
// listen on PostgreSQL; they must, before either announces anything.
func (e *Env) listeningHub(t testing.TB, first *live.Hub) *live.Hub {
	t.Helper()
	if e.DB.Dialect != "postgres" {
		t.Fatal("two servers share changes through PostgreSQL only")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	second := live.NewHub()
	for _, h := range []*live.Hub{first, second} {
		if err := h.Listen(ctx, e.DB.URL); err != nil {
			t.Fatal(err)
		}
	}
	return second
}

// Key signs the test server's tokens.
var Key = []byte("apitest-key-apitest-key-apitest-key!")

// Admin is the viewer Env.Query runs as.
var Admin = &auth.Viewer{UserID: "US01ARZ3NDEKTSV4RRFFQ69G5FAV", Role: auth.RoleAdmin}

// New starts a handler over a new, migrated database.
func New(t testing.TB) *Env {
	t.Helper()
	db := dbtest.Open(t)
	photos, s3 := NewStore(t)
	env := newEnv(t, db, live.NewHub(), photos, s3)
	// Admin is a real row, so what it does can be audited under its id.
	env.Client.User.Create().SetID(Admin.UserID).SetName("admin").SetLogin("test.admin").SetRole("ADMIN").
		ExecX(System())
	return env
}

// Second returns another server over the same database and blob store, as
// a second process of the deployment would be; on PostgreSQL both announce unit changes through NOTIFY and
// listen for them, so a subscriber of either sees a change made through
// the other.
func (e *Env) Second(t testing.TB) *Env {
	t.Helper()
	return e.SecondWith(t, database.Pool{MaxOpen: 10, MaxIdle: 10})
}

// SecondWith is Second with a pool of its own size (database.Pool{}: no
// bound, and so no first-come first-served line in front of it).
func (e *Env) SecondWith(t testing.TB, pool database.Pool) *Env {
	t.Helper()
	db, err := database.Open(context.Background(), e.DB.URL, pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newEnv(t, db, e.listeningHub(t, e.Hub), e.Photos, e.S3)
}

func newEnv(t testing.TB, db *database.DB, hub *live.Hub, photos storage.Store, s3 *s3test.Server) *Env {
	t.Helper()
	counter := dbtest.NewCounter(db.Driver)
	client := database.NewClient(counter)
	hub.Install(client)
	// The hub reads the outbox on a client of its own: Counter counts what
	// requests run, not the hub's reads in the background.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := hub.Start(ctx, database.NewClient(db.Driver)); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	checks := dbtest.NewCounter(db.Driver)
	env := &Env{DB: db, Client: client, Counter: counter, Checks: checks, Log: &log, Now: time.Now, Hub: hub, Photos: photos, S3: s3, Uploads: t.TempDir(), Sockets: api.NewSockets()}
	now := func() time.Time { return env.Now() }
	signer, err := auth.NewSigner(Key, 15*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	env.Signer = signer
	env.Handler = api.New(api.Config{
		GraphiQL:       true,
		Introspection:  true,
		RequestTimeout: 30 * time.Second,
		MaxBodyBytes:   1 << 20,
		UploadDir:      env.Uploads,
		// Sockets ask often; the answers come from the Revocations cache,
		// whose TTL runs on the test's clock.
		SocketRecheck: 50 * time.Millisecond,
		// Webhook receivers are the tests' own httptest servers.
		WebhookHosts: webhook.Allowlist{"127.0.0.1"},
	}, api.Deps{
		Client:   client,
		DB:       db.SQL,
		Logger:   slog.New(slog.NewJSONHandler(&log, nil)),
		Signer:   signer,
		Sessions: auth.NewSessions(client, signer, 30*24*time.Hour, now),
		APIKeys:  auth.NewAPIKeys(client, now),
		// As the server: on PostgreSQL the budgets are in the database,
		// shared with a Second server's.
		Costs:  costStore(t, db),
		Now:    now,
		Hub:    hub,
		Photos: photos,
		// The default TTL, on the test's clock: a test sees a revocation by
		// moving Now past it.
		Revoked: auth.NewRevocations(database.NewClient(checks), 0, now),
		Sockets: env.Sockets,
	})
	return env
}

// StoreEnv names the environment variable that puts the tests' blobs on
// S3 (TEST_BLOB_STORE=s3): a gofakes3 server in the test's process, a
// bucket per test, objects in memory; s3proc runs the server in a child
// process keeping the objects on disk (for benchmarks of memory; the
// package's TestMain must call s3test.ServeIfChild). Unset or dir, they are
// in a directory per test.
const StoreEnv = "TEST_BLOB_STORE"

// NewStore returns a new, empty blob store of the kind StoreEnv says, and
// its S3 server if it is one.
func NewStore(t testing.TB) (storage.Store, *s3test.Server) {
	t.Helper()
	switch kind := os.Getenv(StoreEnv); kind {
	case "", "dir":
		d, err := storage.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d, nil
	case "s3":
		srv := s3test.Start(t)
		return srv.Store(t), srv
	case "s3proc": // for benchmarks of memory: the server in a process of its own
		srv := s3test.StartProcess(t, t.TempDir())
		return srv.Store(t), srv
	default:
		t.Fatalf("%s=%q: want dir, s3 or s3proc", StoreEnv, kind)
		return nil, nil
	}
}

// Blobs lists every blob in the store.
func (e *Env) Blobs(t testing.TB) []string {
	t.Helper()
	keys, err := e.Photos.KeysBefore(context.Background(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func costStore(t testing.TB, db *database.DB) cost.Store {
	if db.Dialect == "postgres" {
		// As the server keeps them (server/main.go): leased per process.
		leases := cost.NewLeasing(cost.NewPostgres(db.SQL), 0)
		t.Cleanup(func() { leases.Close(context.Background()) })
		return leases
	}
	return cost.NewMemory()
}

// Caller sends requests with one set of credentials.
type Caller struct {
	env     *Env
	headers http.Header
}

// As returns a caller with an access token for v.
func (e *Env) As(t testing.TB, v *auth.Viewer) *Caller {
	t.Helper()
	tok, _, err := e.Signer.Issue(v)
	if err != nil {
		t.Fatal(err)
	}
	return e.WithHeader("Authorization", "Bearer "+tok)
}

// WithHeader returns a caller that sends one extra header (a raw token, an API key).
func (e *Env) WithHeader(name, value string) *Caller {
	h := http.Header{}
	h.Set(name, value)
	return &Caller{env: e, headers: h}
}

// With returns a copy of the caller that also sends the header name (an
// Idempotency-Key).
func (c *Caller) With(name, value string) *Caller {
	h := c.headers.Clone()
	h.Set(name, value)
	return &Caller{env: c.env, headers: h}
}

// Anonymous returns a caller without credentials.
func (e *Env) Anonymous() *Caller { return &Caller{env: e, headers: http.Header{}} }

// Query posts a GraphQL request as the caller.
func (c *Caller) Query(t testing.TB, query string, vars map[string]any) *Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return c.Post(t, "application/json", body)
}

// Post sends a raw POST /query as the caller.
func (c *Caller) Post(t testing.TB, contentType string, body []byte) *Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range c.headers {
		req.Header[k] = v
	}
	return c.env.Do(t, req)
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

// Query posts a GraphQL request as an admin.
func (e *Env) Query(t testing.TB, query string, vars map[string]any) *Response {
	t.Helper()
	return e.As(t, Admin).Query(t, query, vars)
}

// Post sends a raw POST /query as an admin.
func (e *Env) Post(t testing.TB, contentType string, body []byte) *Response {
	t.Helper()
	return e.As(t, Admin).Post(t, contentType, body)
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
