package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

// gridCacheQuery asks for fields each role sees differently: the project's
// hold minutes and who holds a unit (staff only), unpublished units (not
// portals), and a __typename and an alias.
const gridCacheQuery = `query($p: ID!) { g: salesGrid(projectId: $p) {
  __typename
  project { id name published holdMinutes }
  statusCounts { status count }
  buildings { building { id name } floors { floor units { ...cell } } }
} }
fragment cell on Unit { id number status price: listPrice published heldByID heldForID holdExpiresAt }`

// gridHolderQuery asks for the customer a unit is held for, which differs
// between two agents of one project (A2 may not see A1's customer): the
// cache leaves it to the field.
const gridHolderQuery = `query($p: ID!) { salesGrid(projectId: $p) {
  buildings { floors { units { id status heldFor { id name } heldBy { id } } } } } }`

// uncached returns a handler over env's database and hub that keeps no grid
// answers: what each answer must equal.
func uncached(env *apitest.Env) http.Handler {
	now := func() time.Time { return env.Now() }
	return api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, GridCacheBytes: -1}, api.Deps{
		Client:   env.Client,
		DB:       env.DB.SQL,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer:   env.Signer,
		Sessions: auth.NewSessions(env.Client, env.Signer, time.Hour, now),
		APIKeys:  auth.NewAPIKeys(env.Client, now),
		Now:      now,
		Hub:      env.Hub,
	})
}

// gridAnswer is what of an answer must not depend on the cache.
type gridAnswer struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions json.RawMessage `json:"extensions"`
}

// post sends query as the holder of header (name: value) to h.
func post(t *testing.T, h http.Handler, name, value, query string, vars map[string]any) (int, gridAnswer) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(name, value)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var a gridAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("not JSON: %s", rec.Body)
	}
	return rec.Code, a
}

// credentials returns the header an actor of w sends, issued at the
// current clock (tokens expire when a test moves it).
func credentials(t *testing.T, w *apitest.World, actor string) (string, string) {
	t.Helper()
	if actor == "portal" {
		return "X-API-Key", w.PortalKey
	}
	tok, _, err := w.Env.Signer.Issue(w.Viewers[actor])
	if err != nil {
		t.Fatal(err)
	}
	return "Authorization", "Bearer " + tok
}

// sameAnswers asks the grid of project p, as each actor, of the cached
// handler and of ref, and fails unless the answers are the same.
func sameAnswers(t *testing.T, w *apitest.World, cached, ref http.Handler, step string, p pulid.ID) {
	t.Helper()
	for _, actor := range []string{"A1", "A2", "MA", "admin", "portal", "H1", "B1"} {
		name, value := credentials(t, w, actor)
		for _, q := range []string{gridCacheQuery, gridHolderQuery} {
			vars := map[string]any{"p": p}
			// Twice: the second may be answered from the first.
			for range 2 {
				codeGot, got := post(t, cached, name, value, q, vars)
				codeWant, want := post(t, ref, name, value, q, vars)
				if codeGot != codeWant || !bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Errors, want.Errors) ||
					!bytes.Equal(got.Extensions, want.Extensions) || !bytes.Contains(got.Extensions, []byte(`"cost":{"requested":`)) {
					t.Fatalf("%s, %s: cached %d %s %s %s\nwant %d %s %s %s", step, actor,
						codeGot, got.Data, got.Errors, got.Extensions, codeWant, want.Data, want.Errors, want.Extensions)
				}
			}
		}
	}
}

// Every actor gets from the cache the answer the field gives, after each
// kind of change a grid shows; and the cache does answer.
func TestGridCacheAnswersAsTheField(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ref := uncached(env)
	pA := w.ID("pA")
	sameAnswers(t, w, env.Handler, ref, "at first", pA)

	// A second handler over the same client and hub (a second api.New in
	// one process) sees the changes made through the first at once.
	now := func() time.Time { return env.Now() }
	twin := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: env.Signer, APIKeys: auth.NewAPIKeys(env.Client, now), Now: now, Hub: env.Hub,
	})
	sameAnswers(t, w, twin, ref, "twin at first", pA)

	// The cache answers: a repeated grid reads nothing from the database.
	name, value := credentials(t, w, "A1")
	post(t, env.Handler, name, value, gridCacheQuery, map[string]any{"p": pA})
	env.Counter.Reset()
	post(t, env.Handler, name, value, gridCacheQuery, map[string]any{"p": pA})
	if n := env.Counter.Count(); n != 0 {
		t.Fatalf("a repeated grid ran %d statements; want it from the cache", n)
	}

	// A1 holds a unit: A1 reads it at once (the same process), A2 sees the
	// unit held but not for whom.
	code, res := post(t, env.Handler, name, value, holdMutation, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA1")})
	if code != http.StatusOK || len(res.Errors) > 0 {
		t.Fatalf("hold: %d %s", code, res.Errors)
	}
	sameAnswers(t, w, env.Handler, ref, "after a hold", pA)
	sameAnswers(t, w, twin, ref, "twin after a hold", pA)

	ctx := apitest.System()
	env.Client.Unit.UpdateOneID(w.ID("uFree")).SetListPrice(money.Yuan(4_321_000)).ExecX(ctx)
	sameAnswers(t, w, env.Handler, ref, "after a price change", pA)
	sameAnswers(t, w, twin, ref, "twin after a price change", pA)

	// A status change alone, not through a sales workflow: the status hook
	// announces it.
	env.Client.Unit.UpdateOneID(w.ID("uUnpub")).SetStatus(unit.StatusRESERVED).ExecX(ctx)
	sameAnswers(t, w, env.Handler, ref, "after a status change", pA)

	env.Client.Unit.UpdateOneID(w.ID("uR")).SetPublished(false).ExecX(ctx)
	sameAnswers(t, w, env.Handler, ref, "after a unit is unpublished", pA)

	env.Client.Building.UpdateOneID(w.ID("bA")).SetName("新1栋").ExecX(ctx)
	sameAnswers(t, w, env.Handler, ref, "after a building is renamed", pA)

	env.Client.Project.UpdateOneID(w.ID("pA")).SetHoldMinutes(45).ExecX(ctx)
	sameAnswers(t, w, env.Handler, ref, "after the project's rules change", pA)

	env.Client.Project.UpdateOneID(w.ID("pA")).SetPublished(false).ExecX(ctx)
	sameAnswers(t, w, env.Handler, ref, "after the project is unpublished", pA)
	env.Client.Project.UpdateOneID(w.ID("pA")).SetPublished(true).ExecX(ctx)
	sameAnswers(t, w, env.Handler, ref, "after the project is published again", pA)

	// The holds lapse by themselves: uHeld's at the world's time + 30
	// minutes, uFree's 30 minutes after it was held.
	start := time.Now()
	env.Now = func() time.Time { return time.Now().Add(46*time.Minute + time.Since(start)) }
	sameAnswers(t, w, env.Handler, ref, "after the holds lapse", pA)
	sameAnswers(t, w, twin, ref, "twin after the holds lapse", pA)
}
