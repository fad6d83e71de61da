package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/live"
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

// The pages of a project's units the cache answers too (answers.go): the
// available units a phone lists, which a lapsed hold enters (with an alias,
// a fragment and what only staff see of a hold); all of them, with a
// cursor and totalCount; and a portal's listings.
const (
	unitsAvailableQuery = `query($p: ID!) { units(first: 20, where: {projectID: $p, status: AVAILABLE}, orderBy: [{field: LIST_PRICE}]) {
  edges { node { ...unit price: listPrice project { name } } } pageInfo { hasNextPage endCursor } } }
fragment unit on Unit { id number status heldByID holdExpiresAt }`
	unitsAllQuery = `query($p: ID!) { units(first: 3, where: {projectID: $p}) {
  totalCount edges { cursor node { id number status published listPrice building { name } } } pageInfo { hasNextPage endCursor } } }`
	listingsPageQuery = `query($p: ID!) { listings(first: 20, where: {projectIds: [$p]}, orderBy: [{field: LIST_PRICE}]) {
  totalCount edges { cursor node { id number status standardStatus listPrice modifiedAt project { name } building { name } } } } }`
)

// cachedQueries are the queries each actor asks of both handlers.
var cachedQueries = []string{gridCacheQuery, gridHolderQuery, unitsAvailableQuery, unitsAllQuery, listingsPageQuery}

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
	switch actor {
	case "portal":
		return "X-API-Key", w.PortalKey
	case "portalB":
		return "X-API-Key", limitedKey(t, w, "pB")
	case "portalAB":
		return "X-API-Key", limitedKey(t, w, "pA", "pB")
	}
	tok, _, err := w.Env.Signer.Issue(w.Viewers[actor])
	if err != nil {
		t.Fatal(err)
	}
	return "Authorization", "Bearer " + tok
}

// limitedKeys are the portal keys limited to some projects of a world,
// by world and project labels, dropped when the test ends.
var limitedKeys sync.Map // limitedKey → string

type limitedKeyOf struct {
	w        *apitest.World
	projects string
}

// limitedKey returns the X-API-Key of a portal whose key is limited to the
// projects labelled, made on first use in a test.
func limitedKey(t *testing.T, w *apitest.World, projects ...string) string {
	t.Helper()
	id := limitedKeyOf{w, strings.Join(projects, ",")}
	if k, ok := limitedKeys.Load(id); ok {
		return k.(string)
	}
	ctx := apitest.System()
	limit, budget, restore := 100000, 1_000_000, 100_000
	k, err := account.CreateAPIKey(ctx, w.Env.Client, account.NewAPIKey{Name: "limited to " + id.projects,
		RateLimitPerMinute: &limit, CostBudget: &budget, CostRestoreRate: &restore})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]pulid.ID, len(projects))
	for i, p := range projects {
		ids[i] = w.ID(p)
	}
	w.Env.Client.APIKey.UpdateOneID(k.APIKey.ID).SetProjectIds(ids).ExecX(ctx)
	limitedKeys.Store(id, k.Key)
	t.Cleanup(func() { limitedKeys.Delete(id) })
	return k.Key
}

// sameAnswers asks the grid of project p, as each actor, of the cached
// handler and of ref, and fails unless the answers are the same.
func sameAnswers(t *testing.T, w *apitest.World, cached, ref http.Handler, step string, p pulid.ID) {
	t.Helper()
	if d := gridDiff(t, w, cached, ref, p); d != "" {
		t.Fatalf("%s: %s", step, d)
	}
}

// soonSameAnswers is sameAnswers for a change made by another process,
// which hears of it through PostgreSQL a moment later.
func soonSameAnswers(t *testing.T, w *apitest.World, cached, ref http.Handler, step string, p pulid.ID) {
	t.Helper()
	d := gridDiff(t, w, cached, ref, p)
	for deadline := time.Now().Add(10 * time.Second); d != "" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		d = gridDiff(t, w, cached, ref, p)
	}
	if d != "" {
		t.Fatalf("%s: %s", step, d)
	}
}

// gridDiff returns the first difference between the answers of cached and
// ref to each actor's grid queries, or "".
func gridDiff(t *testing.T, w *apitest.World, cached, ref http.Handler, p pulid.ID) string {
	t.Helper()
	// portalB's key is limited to pB: asked after the portal's, it must not
	// be answered what the portal may see of pA. portalAB's, limited to
	// both, sees what the portal sees.
	for _, actor := range []string{"A1", "A2", "MA", "admin", "portal", "portalB", "portalAB", "H1", "B1"} {
		name, value := credentials(t, w, actor)
		for _, q := range cachedQueries {
			vars := map[string]any{"p": p}
			// Twice: the second may be answered from the first.
			for range 2 {
				codeGot, got := post(t, cached, name, value, q, vars)
				codeWant, want := post(t, ref, name, value, q, vars)
				if codeGot != codeWant || !bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Errors, want.Errors) ||
					!bytes.Equal(sansAvailable(got.Extensions), sansAvailable(want.Extensions)) ||
					!bytes.Contains(got.Extensions, []byte(`"cost":{"requested":`)) {
					return fmt.Sprintf("%s: cached %d %s %s %s\nwant %d %s %s %s", actor,
						codeGot, got.Data, got.Errors, got.Extensions, codeWant, want.Data, want.Errors, want.Extensions)
				}
			}
		}
	}
	return ""
}

// Every actor gets from the cache the answer the field gives, after each
// kind of change a grid shows; and the cache does answer.
func TestGridCacheAnswersAsTheField(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ref := uncached(env)
	pA := w.ID("pA")
	sameAnswers(t, w, env.Handler, ref, "at first", pA)
	sameAnswers(t, w, env.Handler, ref, "pB at first", w.ID("pB"))
	// A key limited to projects that include pA reads its listings (from
	// the cache by now).
	if code, got := post(t, env.Handler, "X-API-Key", limitedKey(t, w, "pA", "pB"), listingsPageQuery, map[string]any{"p": pA}); code != http.StatusOK || !bytes.Contains(got.Data, []byte(`"number"`)) {
		t.Fatalf("a key limited to pA and pB: %d %s %s", code, got.Data, got.Errors)
	}

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
	for _, q := range []string{unitsAvailableQuery, unitsAllQuery, listingsPageQuery} {
		post(t, env.Handler, name, value, q, map[string]any{"p": pA})
		env.Counter.Reset()
		post(t, env.Handler, name, value, q, map[string]any{"p": pA})
		if n := env.Counter.Count(); n != 0 {
			t.Fatalf("a repeated page ran %d statements; want it from the cache: %s", n, q)
		}
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

// A change made through one server process reaches the grid answers of
// another, on PostgreSQL, through LISTEN/NOTIFY: a hold (the status hook) and
// a price (the grid hooks).
func TestGridCacheAcrossServers(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share changes through PostgreSQL; set TEST_DATABASE_URL")
	}
	a := apitest.New(t)
	w := a.World(t)
	b := a.Second(t)
	ref := uncached(a)
	pA := w.ID("pA")
	sameAnswers(t, w, b.Handler, ref, "at first", pA)

	name, value := credentials(t, w, "A1")
	b.Counter.Reset()
	post(t, b.Handler, name, value, gridCacheQuery, map[string]any{"p": pA})
	if n := b.Counter.Count(); n != 0 {
		t.Fatalf("a repeated grid ran %d statements on server B; want it from the cache", n)
	}

	code, res := post(t, a.Handler, name, value, holdMutation, map[string]any{"u": w.ID("uFree"), "c": w.ID("cA1")})
	if code != http.StatusOK || len(res.Errors) > 0 {
		t.Fatalf("hold: %d %s", code, res.Errors)
	}
	sameAnswers(t, w, a.Handler, ref, "server A after its own hold", pA)
	soonSameAnswers(t, w, b.Handler, ref, "server B after a hold through A", pA)

	a.Client.Unit.UpdateOneID(w.ID("uFree")).SetListPrice(money.Yuan(4_321_000)).ExecX(apitest.System())
	soonSameAnswers(t, w, b.Handler, ref, "server B after a price change through A", pA)
}

// A process whose listener loses PostgreSQL may miss a change: while it is
// away the grid is not answered from the cache, and nothing kept from before
// is answered after it is back.
func TestGridCacheForgetsWhatItMayHaveMissed(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("the listener of several server processes is PostgreSQL's; set TEST_DATABASE_URL")
	}
	a := apitest.New(t)
	w := a.World(t)
	ref := uncached(a)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := a.Hub.Listen(ctx, a.DB.URL); err != nil { // A announces its changes
		t.Fatal(err)
	}

	// Server B: its own connections, and a listener behind a proxy that
	// the test takes down.
	db, err := database.Open(ctx, a.DB.URL, database.Pool{MaxOpen: 5, MaxIdle: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	counter := dbtest.NewCounter(db.Driver)
	client := database.NewClient(counter)
	proxy, listenURL := dbtest.ProxyURL(t, a.DB.URL)
	hub := live.NewHub()
	if err := hub.Listen(ctx, listenURL); err != nil {
		t.Fatal(err)
	}
	hub.Install(client)
	// B's hub reads the outbox through the proxy too.
	hubDB, err := database.Open(ctx, listenURL, database.Pool{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hubDB.Close() })
	if err := hub.Start(ctx, hubDB.Client()); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return a.Now() }
	b := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: client, DB: db.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: a.Signer, APIKeys: auth.NewAPIKeys(client, now), Now: now, Hub: hub,
		// Revocation checks on a client of their own: counter counts the grid's statements.
		Revoked: auth.NewRevocations(database.NewClient(db.Driver), 0, now),
	})
	pA := w.ID("pA")
	sameAnswers(t, w, b, ref, "at first", pA)
	name, value := credentials(t, w, "A1")
	counter.Reset()
	post(t, b, name, value, gridCacheQuery, map[string]any{"p": pA})
	if n := counter.Count(); n != 0 {
		t.Fatalf("a repeated grid ran %d statements on server B; want it from the cache", n)
	}

	proxy.Down()
	awaitCond(t, "B's listener to notice", func() bool { _, ok := hub.GridVersion(client, pA); return !ok })
	a.Client.Unit.UpdateOneID(w.ID("uFree")).SetListPrice(money.Yuan(4_321_000)).ExecX(apitest.System())
	sameAnswers(t, w, b, ref, "while B's listener is away", pA)
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	awaitCond(t, "B's listener to be back", func() bool { _, ok := hub.GridVersion(client, pA); return ok })
	sameAnswers(t, w, b, ref, "after B's listener is back", pA)
}

func awaitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Credentials are checked on every request, whatever the cache holds: a
// deactivated agent is refused, and an agent moved off the project (a token
// with other projects) gets NOT_FOUND, as without the cache.
func TestGridCacheChecksTheViewerEachTime(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ref := uncached(env)
	pA := w.ID("pA")
	sameAnswers(t, w, env.Handler, ref, "at first", pA)

	moved := *w.Viewers["A2"]
	moved.ProjectIDs = []pulid.ID{w.ID("pB")}
	tok, _, err := env.Signer.Issue(&moved)
	if err != nil {
		t.Fatal(err)
	}
	code, got := post(t, env.Handler, "Authorization", "Bearer "+tok, gridCacheQuery, map[string]any{"p": pA})
	if code != http.StatusOK || !bytes.Contains(got.Errors, []byte(`"NOT_FOUND"`)) || string(got.Data) != "null" {
		t.Fatalf("an agent moved off the project: %d %s %s", code, got.Data, got.Errors)
	}

	name, value := credentials(t, w, "A1")
	env.Client.User.UpdateOneID(w.ID("A1")).SetActive(false).ExecX(apitest.System())
	start := time.Now()
	env.Now = func() time.Time { return time.Now().Add(auth.DefaultRevocationTTL + time.Since(start)) }
	code, got = post(t, env.Handler, name, value, gridCacheQuery, map[string]any{"p": pA})
	if code != http.StatusUnauthorized || !bytes.Contains(got.Errors, []byte(`"UNAUTHENTICATED"`)) {
		t.Fatalf("a deactivated agent: %d %s %s", code, got.Data, got.Errors)
	}
}

// availableFigure is the portal's currentlyAvailable in an answer's
// extensions.
var availableFigure = regexp.MustCompile(`"currentlyAvailable":[0-9.e+-]+`)

// sansAvailable is an answer's extensions (or body) without the figure of
// currentlyAvailable, which two answers of the same cost may report
// differently on PostgreSQL: the process leases the key's budget
// (cost.Leasing) and reports the shared bucket as last seen, restored
// since, plus what it holds.
func sansAvailable(b []byte) []byte {
	return availableFigure.ReplaceAll(b, []byte(`"currentlyAvailable":_`))
}

// A page is kept only when asked for again: the first time it runs as
// without the cache (no probe of the next hold lapse), the second also
// probes and keeps the answer, the third is answered from it.
func TestPageCacheKeepsWhatIsAskedAgain(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	name, value := credentials(t, w, "A1")
	vars := map[string]any{"p": w.ID("pA")}
	var counts []int64
	for range 3 {
		env.Counter.Reset()
		code, res := post(t, env.Handler, name, value, unitsAvailableQuery, vars)
		if code != http.StatusOK || len(res.Errors) > 0 {
			t.Fatalf("%d %s", code, res.Errors)
		}
		counts = append(counts, env.Counter.Count())
	}
	if counts[0] == 0 || counts[1] != counts[0]+1 || counts[2] != 0 {
		t.Fatalf("statements of the first, second and third ask: %v; want n, n+1 (the probe), 0", counts)
	}

	// A filter through an edge reads rows no grid version follows: never
	// kept, also behind an and: null.
	const throughEdge = `query($p: ID!) { units(first: 5, where: {projectID: $p, and: null, hasBuildingWith: {nameNEQ: "x"}}) { edges { node { id } } } }`
	for i := range 3 {
		env.Counter.Reset()
		code, res := post(t, env.Handler, name, value, throughEdge, vars)
		if code != http.StatusOK || len(res.Errors) > 0 {
			t.Fatalf("%d %s", code, res.Errors)
		}
		if env.Counter.Count() == 0 {
			t.Fatalf("ask %d of a page filtered through an edge was answered from the cache", i+1)
		}
	}
}

// A fragment on an interface the type implements is part of the answer's
// key: a page asked with one more field through "... on Node" is not the
// page asked without it.
func TestPageCacheFollowsFragmentsOnInterfaces(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	name, value := credentials(t, w, "A1")
	vars := map[string]any{"p": w.ID("pA")}
	const plain = `query($p: ID!) { units(first: 5, where: {projectID: $p}) { edges { node { number } } } }`
	const viaNode = `query($p: ID!) { units(first: 5, where: {projectID: $p}) { edges { node { number ... on Node { id } } } } }`
	for range 3 {
		post(t, env.Handler, name, value, plain, vars)
	}
	_, got := post(t, env.Handler, name, value, viaNode, vars)
	if !bytes.Contains(got.Data, []byte(`"id"`)) {
		t.Fatalf("the page with a fragment on Node was answered without it: %s", got.Data)
	}
}
