package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"estatecrm/internal/loadgen"
	"estatecrm/money"
	"estatecrm/seed"
)

// The GraphQL of the requests, as a phone and a portal send them. The
// visits' orderBy is written as a list: written as a single object (which
// GraphQL coerces to a list) the real server ignored it on this nested edge
// and answered oldest first, which the check against the baseline caught
// (fixed since: TestNestedOrderByOfOneObject).
const (
	qListings = `query($p: ID!, $min: Money!, $max: Money!) { units(first: 20, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $min, listPriceLTE: $max}, orderBy: [{field: LIST_PRICE}]) { edges { node { id number floor bedrooms grossArea listPrice project { name } } } } }`
	// The portals' feed: the same page of the same units, through listings.
	qFeed    = `query($p: ID!, $min: Money!, $max: Money!) { listings(first: 20, where: {projectIds: [$p], standardStatus: [ACTIVE], priceMin: $min, priceMax: $max}, orderBy: [{field: LIST_PRICE}]) { edges { node { id number floor bedrooms grossArea listPrice project { name } } } } }`
	qPhone   = `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id name phone visits(first: 5, orderBy: [{field: OCCURRED_AT, direction: DESC}]) { edges { node { kind occurredAt notes } } } } } } }`
	qGrid    = `query($p: ID!) { salesGrid(projectId: $p) { statusCounts { status count } buildings { building { name } floors { floor units { id number status bedrooms grossArea listPrice } } } } }`
	qVisit   = `mutation($c: ID!, $at: Time!) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at, notes: "bench"}) { visit { id } } }`
	qHold    = `mutation($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { id status } } }`
	qRelease = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id status } } }`
	qLogin   = `mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`
)

// The writes of the sales floor.
const (
	qRegister = `mutation($p: ID!, $n: String!, $ph: String!) { registerCustomer(input: {projectId: $p, name: $n, phone: $ph, source: WALK_IN}) { customer { id name } } }`
	qReserve  = `mutation($u: ID!, $c: ID!) { reserveUnit(input: {unitId: $u, customerId: $c, deposit: "50000.00", paymentMethod: MORTGAGE}) { deal { id stage price } } }`
	qCancel   = `mutation($d: ID!) { cancelDeal(input: {dealId: $d, reason: "bench"}) { deal { id stage } } }`
	// A tour: in person, two units shown; first visit or revisit is the
	// server's call.
	qTour = `mutation($c: ID!, $at: Time!, $u: [ID!]) { logVisit(input: {customerId: $c, kind: IN_PERSON, occurredAt: $at, unitIds: $u, touchpoints: [SAND_TABLE, SHOW_FLAT], notes: "bench"}) { visit { id kind } } }`
)

// agent is the demo agent whose phone sends the reads, logged in to the
// real server, with what its requests need, read from the scratch database.
type agent struct {
	login    string
	real     *loadgen.Client
	id       string
	project  string
	suffixes []string // last four digits of phones of their customers with visits
}

// floorAgent is a bench agent (addBenchStaff) logged in to the real server:
// one write client's phone.
type floorAgent struct {
	benchAgent
	real *loadgen.Client
}

// priceRange is a listing's filter: the middle of a project's asking prices.
type priceRange struct{ project, min, max string }

// fixtures is what the requests ask about.
type fixtures struct {
	reader  *agent        // sends the reads compared with the baseline
	floor   []*floorAgent // floor[i] sends write client i's requests
	manager *loadgen.Client
	staff   priceRange
	portal  priceRange
	// portals are the API keys of the portals, one per read client
	// (portalKeys).
	portals []string
	grid    string // the project of the sales grid (see addGridProject)
	gridLen int
}

func loadFixtures(ctx context.Context, db *sql.DB, realURL, grid string, staff *benchStaff, hc *http.Client) (*fixtures, error) {
	f := &fixtures{grid: grid}
	a := &agent{login: agentLogin}
	if err := db.QueryRowContext(ctx, `SELECT u.id, min(up.project_id) FROM users u JOIN user_projects up ON up.user_id = u.id
		WHERE u.login = $1 AND up.project_id <> $2 GROUP BY u.id`, agentLogin, grid).Scan(&a.id, &a.project); err != nil {
		return nil, fmt.Errorf("the demo agent %s is not in the seeded data: %w", agentLogin, err)
	}
	if err := column(ctx, db, &a.suffixes, `SELECT DISTINCT c.phone_last4 FROM customers c WHERE c.owner_id = $1 AND EXISTS (SELECT 1 FROM visits v WHERE v.customer_id = c.id) ORDER BY 1`, a.id); err != nil {
		return nil, err
	}
	if len(a.suffixes) == 0 {
		return nil, fmt.Errorf("the demo agent %s owns no customer with visits", a.login)
	}
	var err error
	if a.real, err = login(realURL, hc, a.login); err != nil {
		return nil, err
	}
	f.reader = a
	// The floor logs in through the API, as phones do (one password check
	// each).
	for _, b := range staff.agents {
		c, err := login(realURL, hc, b.login)
		if err != nil {
			return nil, err
		}
		f.floor = append(f.floor, &floorAgent{benchAgent: b, real: c})
	}
	if f.manager, err = login(realURL, hc, staff.manager); err != nil {
		return nil, err
	}
	if f.staff, err = prices(ctx, db, a.project, false); err != nil {
		return nil, err
	}
	var published string
	if err := db.QueryRowContext(ctx, `SELECT p.id FROM projects p WHERE p.published
		ORDER BY (SELECT count(*) FROM units u WHERE u.project_id = p.id AND u.published AND u.status = 'AVAILABLE') DESC, p.id LIMIT 1`).Scan(&published); err != nil {
		return nil, fmt.Errorf("no published project for the portal: %w", err)
	}
	if f.portal, err = prices(ctx, db, published, true); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM units WHERE project_id = $1`, f.grid).Scan(&f.gridLen); err != nil {
		return nil, err
	}
	return f, continueWalkIns(ctx, db, f.grid)
}

// continueWalkIns numbers registerCustomer's phones after those an earlier
// run on the same database (-db) registered in the grid project: from 1
// again, every registration would be refused as the earlier run's
// protected customer.
func continueWalkIns(ctx context.Context, db *sql.DB, grid string) error {
	var last int64
	err := db.QueryRowContext(ctx, `SELECT coalesce(max(substr(phone, 7)::bigint), 0) FROM customers
		WHERE project_id = $1 AND phone LIKE '+86147%'`, grid).Scan(&last)
	walkIns.Store(last)
	return err
}

// login logs a user in with the demo password and returns their client.
func login(realURL string, hc *http.Client, name string) (*loadgen.Client, error) {
	c := &loadgen.Client{URL: realURL, HTTP: hc}
	var out struct{ Login struct{ AccessToken string } }
	if err := c.Do(qLogin, map[string]any{"l": name, "p": seed.DemoPassword}, &out); err != nil {
		return nil, fmt.Errorf("log in %s: %w", name, err)
	}
	c.Token = out.Login.AccessToken
	return c, nil
}

// at returns the fixtures with every client sending to realURL.
func (f *fixtures) at(realURL string) *fixtures {
	g := *f
	move := func(c *loadgen.Client) *loadgen.Client { d := *c; d.URL = realURL; return &d }
	r := *f.reader
	r.real = move(f.reader.real)
	g.reader = &r
	g.floor = make([]*floorAgent, len(f.floor))
	for i, a := range f.floor {
		b := *a
		b.real = move(a.real)
		g.floor[i] = &b
	}
	g.manager = move(f.manager)
	return &g
}

// prices picks the 20th to 80th percentile of a project's available asking
// prices: a filter that leaves more than one page.
func prices(ctx context.Context, db *sql.DB, project string, published bool) (priceRange, error) {
	var lo, hi sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT percentile_disc(0.2) WITHIN GROUP (ORDER BY list_price), percentile_disc(0.8) WITHIN GROUP (ORDER BY list_price)
		FROM units WHERE project_id = $1 AND status = 'AVAILABLE' AND (published OR NOT $2)`, project, published).Scan(&lo, &hi)
	if err != nil || !lo.Valid {
		return priceRange{}, fmt.Errorf("no available unit in project %s (%v)", project, err)
	}
	return priceRange{project: project, min: money.Fen(lo.Int64).String(), max: money.Fen(hi.Int64).String()}, nil
}

func column(ctx context.Context, db *sql.DB, into *[]string, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*into = append(*into, s)
	}
	return rows.Err()
}

// step is one GraphQL request of a request kind, by client i; its
// statements are counted on their own.
type step struct {
	name string
	send func(i int) (json.RawMessage, error)
}

// request is one kind of request, sent to the real server (one or more
// steps in turn) and, where the baseline serves it, to the baseline, by
// client i.
type request struct {
	name     string
	clients  int
	steps    []step
	baseline func(i int) (json.RawMessage, error) // nil: not served by the baseline
	results  [2]loadgen.Result                    // real, baseline
	// SQL statements per request: the real server's, of which BEGIN and
	// COMMIT, and the baseline's; and the real server's per step.
	stmts, txctl, bg, baseStmts float64
	stepStmts, stepTx, stepBg   []float64
	// hwm is the real server's peak RSS (VmHWM, KiB) after its last run of
	// this request: the request whose run raises it is what sets the peak.
	hwm int64
	// serverCPU, clientCPU and pgCPU are the processor time of the real
	// server, of this command and of PostgreSQL during the real server's
	// timed runs.
	serverCPU, clientCPU, pgCPU time.Duration
	// baseCPU and basePGCPU are the processor time of this command (the
	// baseline serves in it, beside the clients) and of PostgreSQL during
	// the baseline's timed runs.
	baseCPU, basePGCPU time.Duration
	// timing is set while the real server's timed runs go on: a request of
	// several steps then keeps each step's latency in stepLat (under mu),
	// so that a mutation is judged by its own p99, not its pair's.
	timing  atomic.Bool
	mu      sync.Mutex
	stepLat [][]time.Duration
}

// real sends the request's steps in turn to the real server as client i.
func (r *request) real(i int) (json.RawMessage, error) {
	var out json.RawMessage
	for k, s := range r.steps {
		var err error
		t := time.Now()
		if out, err = s.send(i); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if len(r.steps) > 1 && r.timing.Load() {
			d := time.Since(t)
			r.mu.Lock()
			if r.stepLat == nil {
				r.stepLat = make([][]time.Duration, len(r.steps))
			}
			r.stepLat[k] = append(r.stepLat[k], d)
			r.mu.Unlock()
		}
	}
	return out, nil
}

// walkIns numbers the phones that registerCustomer registers, across the
// timed and the counted servers (they share the database): +86147…, which
// neither the seed, -scale nor the floor's customers use.
var walkIns atomic.Int64

// requests builds the benchmark's requests.
func requests(f *fixtures, o options, realURL, baseURL string, hc *http.Client) []*request {
	a := f.reader
	// Read client i is portal i (its own key), on both servers.
	portals := make([]*loadgen.Client, len(f.portals))
	basePortals := make([]*loadgen.Client, len(f.portals))
	for i, key := range f.portals {
		portals[i] = &loadgen.Client{URL: realURL, APIKey: key, HTTP: hc}
		basePortals[i] = &loadgen.Client{APIKey: key, HTTP: hc}
	}
	portal := func(i int) *loadgen.Client { return portals[i%len(portals)] }
	basePortal := func(i int) *loadgen.Client { return basePortals[i%len(basePortals)] }
	baseAgent := &loadgen.Client{Token: a.real.Token, HTTP: hc}
	listing := func(p priceRange) map[string]any { return map[string]any{"p": p.project, "min": p.min, "max": p.max} }
	body := func(vars map[string]any) []byte { b, _ := json.Marshal(map[string]any{"variables": vars}); return b }
	// The real server and the baseline each go through the suffixes in the
	// same order, so the first request of each (the one checked) is the same.
	var n, nReal, nBase, nRangeReal, nRangeBase atomic.Int64
	fresh := func(p priceRange, i int64) map[string]any {
		lo, _ := money.Parse(p.min)
		return map[string]any{"p": p.project, "min": (lo + money.Fen(i)).String(), "max": p.max}
	}
	suffix := func(i int) map[string]any { return map[string]any{"d": a.suffixes[i%len(a.suffixes)]} }
	// Write client i is bench agent i's phone: its own customers, its own
	// unit (so that no hold waits for another's), its own holds (at most 3
	// per agent), as on a sales floor (addBenchStaff makes one agent per
	// write client).
	floor := func(i int) *floorAgent { return f.floor[i%len(f.floor)] }
	one := func(name string, send func(int) (json.RawMessage, error)) []step {
		return []step{{name, send}}
	}
	hold := step{"holdUnit", func(i int) (json.RawMessage, error) {
		g := floor(i)
		return g.real.Raw(qHold, map[string]any{"u": g.unit, "c": g.customers[0]})
	}}
	// The deal each client reserved last, for the manager to cancel.
	deals := make([]string, len(f.floor))
	return append([]*request{
		{name: "listings (agent)", clients: o.clients,
			steps:    one("listings", func(int) (json.RawMessage, error) { return a.real.Raw(qListings, listing(f.staff)) }),
			baseline: func(int) (json.RawMessage, error) { return baseAgent.Post(baseURL+"/listings", body(listing(f.staff))) }},
		// The same page with a new price range each time (the minimum a
		// fen higher): no answer is asked for twice, so the server's answer
		// cache (api/answers.go) never serves one; the stack's own cost.
		{name: "listings (agent, a new range each time)", clients: o.clients,
			steps: one("listings", func(int) (json.RawMessage, error) {
				return a.real.Raw(qListings, fresh(f.staff, nRangeReal.Add(1)))
			}),
			baseline: func(int) (json.RawMessage, error) {
				return baseAgent.Post(baseURL+"/listings", body(fresh(f.staff, nRangeBase.Add(1))))
			}},
		{name: "listings (portal)", clients: o.clients,
			steps: one("listings", func(i int) (json.RawMessage, error) { return portal(i).Raw(qListings, listing(f.portal)) }),
			baseline: func(i int) (json.RawMessage, error) {
				return basePortal(i).Post(baseURL+"/listings", body(listing(f.portal)))
			}},
		{name: "listing feed (portal)", clients: o.clients,
			steps: one("listings", func(i int) (json.RawMessage, error) { return portal(i).Raw(qFeed, listing(f.portal)) }),
			baseline: func(i int) (json.RawMessage, error) {
				return basePortal(i).Post(baseURL+"/feed", body(listing(f.portal)))
			}},
		{name: "customer by phone", clients: o.clients,
			steps: one("customers", func(int) (json.RawMessage, error) { return a.real.Raw(qPhone, suffix(int(nReal.Add(1)))) }),
			baseline: func(int) (json.RawMessage, error) {
				return baseAgent.Post(baseURL+"/customers", body(suffix(int(nBase.Add(1)))))
			}},
		{name: fmt.Sprintf("sales grid (%d units)", f.gridLen), clients: o.write,
			steps: one("salesGrid", func(int) (json.RawMessage, error) { return a.real.Raw(qGrid, map[string]any{"p": f.grid}) })},
		{name: "logVisit", clients: o.write,
			steps: one("logVisit", func(i int) (json.RawMessage, error) {
				g := floor(i)
				return g.real.Raw(qVisit, map[string]any{"c": g.customers[int(n.Add(1))%len(g.customers)], "at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)})
			})},
		{name: "logVisit (in person, 2 units)", clients: o.write,
			steps: one("logVisit", func(i int) (json.RawMessage, error) {
				g := floor(i)
				return g.real.Raw(qTour, map[string]any{"c": g.customers[int(n.Add(1))%len(g.customers)], "at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
					"u": []string{g.unit, floor(i + 1).unit}})
			})},
		{name: "holdUnit+releaseHold", clients: o.write,
			steps: []step{hold, {"releaseHold", func(i int) (json.RawMessage, error) {
				return floor(i).real.Raw(qRelease, map[string]any{"u": floor(i).unit})
			}}}},
		{name: "registerCustomer", clients: o.write,
			steps: one("registerCustomer", func(i int) (json.RawMessage, error) {
				k := walkIns.Add(1)
				return floor(i).real.Raw(qRegister, map[string]any{"p": f.grid, "n": fmt.Sprintf("来访%d", k), "ph": fmt.Sprintf("147%08d", k)})
			})},
		{name: "hold+reserveUnit+cancelDeal", clients: o.write,
			steps: []step{hold, {"reserveUnit", func(i int) (json.RawMessage, error) {
				g := floor(i)
				data, err := g.real.Raw(qReserve, map[string]any{"u": g.unit, "c": g.customers[0]})
				if err != nil {
					return nil, err
				}
				var out struct {
					ReserveUnit struct{ Deal struct{ ID string } }
				}
				if err := json.Unmarshal(data, &out); err != nil {
					return nil, err
				}
				deals[i%len(deals)] = out.ReserveUnit.Deal.ID
				return data, nil
			}}, {"cancelDeal (manager)", func(i int) (json.RawMessage, error) {
				return f.manager.Raw(qCancel, map[string]any{"d": deals[i%len(deals)]})
			}}}},
	}, dashRequests(f, o)...) // the dashboards: dash_sales.go, dash_service.go
}

// check sends request 0 of r to both servers and compares the answers,
// decoded (so that number formatting does not count), order included.
func check(r *request) error {
	want, err := r.real(0)
	if err != nil {
		return fmt.Errorf("%s: the real server: %w", r.name, err)
	}
	got, err := r.baseline(0)
	if err != nil {
		return fmt.Errorf("%s: the baseline: %w", r.name, err)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return err
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Errorf("%s: %w\nreal:     %.600s\nbaseline: %.600s", r.name, errMismatch, want, got)
	}
	return nil
}
