package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/visit"
	"estatecrm/live"
	"estatecrm/storage"
)

const logVisitQuery = `mutation($c: ID!, $at: Time!) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at}) { visit { id kind } } }`

// serverAt returns a second server over env's database, reached through
// rawURL (a proxy), sharing env's token key: env sets up, it is tested.
func serverAt(t *testing.T, env *apitest.Env, rawURL string) *apitest.Env {
	t.Helper()
	db, err := database.Open(context.Background(), rawURL, database.Pool{MaxOpen: 10, MaxIdle: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	client := database.NewClient(db.Driver)
	hub := live.NewHub()
	hub.Install(client)
	photos, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner(apitest.Key, 15*time.Minute, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := &apitest.Env{DB: db, Client: client, Signer: signer, Now: time.Now, Hub: hub, Photos: photos, Log: env.Log}
	srv.Handler = api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, UploadDir: t.TempDir()},
		api.Deps{
			Client: client, DB: db.SQL, Logger: slog.New(slog.NewJSONHandler(env.Log, nil)), Signer: signer,
			Sessions: auth.NewSessions(client, signer, 24*time.Hour, time.Now), APIKeys: auth.NewAPIKeys(client, time.Now),
			Hub: hub, Photos: photos,
		})
	return srv
}

// lockVisits holds a lock that makes every INSERT into visits wait, until
// the returned release: a mutation in flight, for as long as a test needs.
func lockVisits(t *testing.T, db *sql.DB) (release func()) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE visits IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

// waitingInserts returns the backends of the test's database that wait
// for the lock of lockVisits, once there are n of them.
func waitingInserts(t *testing.T, db *sql.DB, n int) []int {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rows, err := db.Query(`SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO "visits"%'`)
		if err != nil {
			t.Fatal(err)
		}
		var pids []int
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		rows.Close()
		if len(pids) >= n {
			return pids
		}
	}
	t.Fatalf("fewer than %d logVisit waiting for the lock", n)
	return nil
}

func countVisits(t *testing.T, env *apitest.Env, customerID pulid.ID) int {
	t.Helper()
	n, err := env.Client.Visit.Query().Where(visit.CustomerID(customerID)).Count(apitest.System())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A logVisit whose database backend is terminated mid-mutation (an
// administrator, a failover) answers UNAVAILABLE, and its retry with the
// same key runs, once.
func TestKilledRequestFreesItsIdempotencyKey(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("terminates a PostgreSQL backend")
	}
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	vars := map[string]any{"c": customers[0].ID, "at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)}

	release := lockVisits(t, env.DB.SQL)
	first := make(chan *apitest.Response, 1)
	go func() { first <- postWithKey(t, env, viewers[0], "visit-killed", logVisitQuery, vars) }()
	pid := waitingInserts(t, env.DB.SQL, 1)[0]
	if _, err := env.DB.SQL.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	if e := (<-first).OnlyError(t); e.Code() != "UNAVAILABLE" {
		t.Fatalf("a request whose backend was terminated: %+v, want UNAVAILABLE", e)
	}
	release()

	retry := postWithKey(t, env, viewers[0], "visit-killed", logVisitQuery, vars)
	if len(retry.Errors) != 0 {
		t.Fatalf("the retry of a killed request: %s", retry.Body)
	}
	if again := postWithKey(t, env, viewers[0], "visit-killed", logVisitQuery, vars); string(again.Body) != string(retry.Body) {
		t.Fatalf("a second retry answered %s, the first %s", again.Body, retry.Body)
	}
	if n := countVisits(t, env, customers[0].ID); n != 1 {
		t.Fatalf("%d visits, want 1", n)
	}
}

// The database goes away for 2 s (a restart) under mutations in flight:
// they and every request meanwhile answer UNAVAILABLE, /readyz says 503;
// afterwards each retry with its key runs exactly once, although the server
// could not release the keys while the database was gone.
func TestDatabaseRestartLeavesNoKeyStuck(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("cuts a TCP connection to PostgreSQL")
	}
	env := apitest.New(t)
	proxy, rawURL := dbtest.ProxyURL(t, env.DB.URL)
	srv := serverAt(t, env, rawURL)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	const n = 4
	viewers, customers := agentsWithCustomers(t, env, p, n+1)
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	key := func(i int) string { return fmt.Sprintf("visit-restart-%d", i) }
	vars := func(i int) map[string]any { return map[string]any{"c": customers[i].ID, "at": at} }

	release := lockVisits(t, env.DB.SQL)
	answers := make(chan *apitest.Response, n)
	for i := range n {
		go func() { answers <- postWithKey(t, srv, viewers[i], key(i), logVisitQuery, vars(i)) }()
	}
	waitingInserts(t, env.DB.SQL, n)

	down := time.Now()
	proxy.Down()
	for range n {
		if e := (<-answers).OnlyError(t); e.Code() != "UNAVAILABLE" {
			t.Fatalf("a mutation in flight when the database went away: %+v, want UNAVAILABLE", e)
		}
	}
	if e := postWithKey(t, srv, viewers[n], key(n), logVisitQuery, vars(n)).OnlyError(t); e.Code() != "UNAVAILABLE" {
		t.Fatalf("a mutation while the database is away: %+v, want UNAVAILABLE", e)
	}
	if e := srv.As(t, viewers[n]).Query(t, `{ me { name } }`, nil).OnlyError(t); e.Code() != "UNAVAILABLE" {
		t.Fatalf("a query while the database is away: %+v, want UNAVAILABLE", e)
	}
	if code := readyz(srv); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while the database is away: %d", code)
	}
	release() // the backends of the dropped connections end without committing
	time.Sleep(time.Until(down.Add(2 * time.Second)))
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	if code := readyz(srv); code != http.StatusOK {
		t.Fatalf("/readyz once the database is back: %d", code)
	}

	// Every retry runs; those whose claim could not be released wait for its lease.
	bodies := make([]string, n+1)
	var wg sync.WaitGroup
	for i := range n + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = string(postWithKey(t, srv, viewers[i], key(i), logVisitQuery, vars(i)).Body)
		}()
	}
	wg.Wait()
	for i := range n + 1 {
		if strings.Contains(bodies[i], `"errors"`) {
			t.Fatalf("retry %d after the restart: %s", i, bodies[i])
		}
		if again := postWithKey(t, srv, viewers[i], key(i), logVisitQuery, vars(i)); string(again.Body) != bodies[i] {
			t.Fatalf("a second retry answered %s, the first %s", again.Body, bodies[i])
		}
		if c := countVisits(t, env, customers[i].ID); c != 1 {
			t.Fatalf("customer %d has %d visits, want 1", i, c)
		}
	}
}

func readyz(env *apitest.Env) int {
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code
}
